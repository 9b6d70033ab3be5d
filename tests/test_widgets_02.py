"""Drive notebook 02's side-by-side figure through every width and time."""

import jax
import numpy as np
from widget_driver import assert_no_leak, sweep

import course_utils as cu
from course_utils import nb02


def check(demo):
    run = nb02.pair_runs(demo.width)
    k = int(np.argmin(np.abs(run.times - demo.time)))
    ax0, ax1, ax2 = demo.axes[:3]
    f0_line, net_line, lin_line = ax0.lines[0], ax0.lines[1], ax0.lines[2]
    np.testing.assert_allclose(f0_line.get_ydata(), run.net_grid[0, 0])
    np.testing.assert_allclose(net_line.get_ydata(), run.net_grid[0, k])
    np.testing.assert_allclose(lin_line.get_ydata(), run.lin_grid[0, k])
    position = nb02.DEMO_WIDTHS.index(demo.width)
    np.testing.assert_allclose(ax1.lines[position].get_ydata(), run.gap[0, 1:])
    np.testing.assert_allclose(ax2.lines[position].get_ydata(), run.rel_change[0, 1:])
    assert ax1.lines[position].get_linewidth() > ax1.lines[(position + 1) % len(nb02.DEMO_WIDTHS)].get_linewidth()


def test_side_by_side_controls_and_data():
    demo = nb02.side_by_side_demo()
    assert set(demo.controls) == {"width", "time"}
    redraws, moves = sweep(demo, "width", rounds=2, check=check)
    assert redraws == moves >= 2 * len(nb02.DEMO_WIDTHS) - 1
    redraws, moves = sweep(demo, "time", rounds=1, check=check)
    assert redraws == moves > 30
    assert_no_leak(demo, events=200)


def test_side_by_side_draws_a_direct_computation():
    demo = nb02.side_by_side_demo()
    width = 64
    run = nb02.pair_runs(width)
    k = len(run.times) - 5
    demo.set(width=width)
    demo.set(time=float(run.times[k]))

    model = nb02.two_layer(width)
    params0 = nb02.seed_params(width, 0)
    _, X, y = nb02.dataset()
    _, grid = nb02.grid_inputs()
    steps = np.rint(run.times / nb02.LR).astype(int)[: k + 1]
    f_lin = cu.linearize(model.apply, params0)
    net = cu.train(model.apply, params0, X, y, lr=nb02.LR, steps=int(steps[-1]), record_steps=steps)
    lin = cu.train(f_lin, params0, X, y, lr=nb02.LR, steps=int(steps[-1]), record_steps=steps)
    net_line, lin_line = demo.axes[0].lines[1], demo.axes[0].lines[2]
    np.testing.assert_allclose(net_line.get_ydata(), model.apply(net.params, grid), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(lin_line.get_ydata(), f_lin(lin.params, grid), rtol=1e-6, atol=1e-9)
    gap = np.sqrt(np.mean((np.asarray(model.apply(net.params, grid)) - np.asarray(f_lin(lin.params, grid))) ** 2))
    np.testing.assert_allclose(demo.axes[1].lines[nb02.DEMO_WIDTHS.index(width)].get_ydata()[k - 1], gap, rtol=1e-6)
    assert jax.tree_util.tree_structure(net.params) == jax.tree_util.tree_structure(params0)
