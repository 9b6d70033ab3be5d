"""Notebook 02's figures: drive the side-by-side demo, check what it drew; the static plots."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from widget_driver import assert_no_leak, sweep

import course_utils as cu
from course_utils.experiments import lazy_training
from course_utils.figures import nb02 as figures


def check(demo):
    """The drawn data are the recorded run at the slider values."""
    drawn = demo.drawn
    run = lazy_training.side_by_side(demo.width)
    k = cu.widgets.nearest_index(run.times, demo.time)
    assert drawn["width"] == demo.width and drawn["time"] == run.times[k]
    np.testing.assert_allclose(drawn["f0"], run.net_grid[0, 0])
    np.testing.assert_allclose(drawn["net"], run.net_grid[0, k])
    np.testing.assert_allclose(drawn["lin"], run.lin_grid[0, k])
    np.testing.assert_allclose(drawn["gap"], run.gap[0, max(k, 1)])
    np.testing.assert_allclose(drawn["rel_change"], run.rel_change[0, max(k, 1)])


def test_side_by_side_controls_and_data():
    demo = figures.side_by_side_demo()
    assert set(demo.controls) == {"width", "time"}
    redraws, moves = sweep(demo, "width", rounds=2, check=check)
    assert redraws == moves >= 2 * len(lazy_training.DEMO_WIDTHS) - 1
    redraws, moves = sweep(demo, "time", rounds=1, check=check)
    assert redraws == moves > 30
    assert_no_leak(demo, events=200)


def test_side_by_side_shows_the_first_width_then_fills_in_the_rest():
    demo = figures.side_by_side_demo()
    first = lazy_training.DEMO_WIDTHS[0]
    assert demo.drawn["widths_in"] == (first,) and len(demo.pending) == len(lazy_training.DEMO_WIDTHS) - 1
    check(demo)
    draws = demo.draw_count
    assert demo.finish() == len(lazy_training.DEMO_WIDTHS) - 1
    assert demo.draw_count == draws + 1 and demo.drawn["widths_in"] == lazy_training.DEMO_WIDTHS
    assert demo.finish() == 0 and demo.draw_count == draws + 1  # nothing left, nothing redrawn
    check(demo)
    # the side panels hold every width's curve inside their limits (nothing off the axes)
    (x_low, x_high), (y_low, y_high) = demo.axes[1].get_xlim(), demo.axes[1].get_ylim()
    for width in lazy_training.DEMO_WIDTHS:
        run = lazy_training.side_by_side(width)
        assert x_low <= run.times[1] and run.times[-1] <= x_high
        assert y_low <= run.gap[0, 1:].min() and run.gap[0, 1:].max() <= y_high


def test_side_by_side_draws_a_direct_computation():
    """The curves at width 64 equal training the network and its linearization directly."""
    demo = figures.side_by_side_demo()
    width = 64
    run = lazy_training.side_by_side(width)
    k = len(run.times) - 5
    demo.set(width=width)
    demo.set(time=float(run.times[k]))

    model = cu.MLP(in_dim=2, width=width, depth=1, sb2=0.0)
    params0 = model.init(lazy_training.SEEDS[0])
    _, X, y = cu.interval_problem()
    _, grid = lazy_training.grid_inputs()
    steps = np.rint(run.times / lazy_training.LR).astype(int)[: k + 1]
    f_lin = cu.linearize(model.apply, params0)
    net = cu.train(model.apply, params0, X, y, lr=lazy_training.LR, steps=int(steps[-1]), record_steps=steps)
    lin = cu.train(f_lin, params0, X, y, lr=lazy_training.LR, steps=int(steps[-1]), record_steps=steps)
    net_T, lin_T = np.asarray(model.apply(net.params, grid)), np.asarray(f_lin(lin.params, grid))
    np.testing.assert_allclose(demo.drawn["net"], net_T, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(demo.drawn["lin"], lin_T, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(demo.drawn["gap"], np.sqrt(np.mean((net_T - lin_T) ** 2)), rtol=1e-6)
    # The selected width's curve is highlighted in both time panels.
    position = lazy_training.DEMO_WIDTHS.index(width)
    lines = demo.axes[1].lines
    assert lines[position].get_linewidth() > lines[(position + 1) % len(lazy_training.DEMO_WIDTHS)].get_linewidth()


def test_static_figures():
    result = lazy_training.width_sweep(widths=(16, 64))
    for fig in (figures.plot_sweep(result), figures.plot_weight_paths((16, 64)), figures.plot_chords((16,))):
        assert len(fig.axes) >= 1 and fig.dpi >= 100
        for ax in fig.axes:
            assert ax.get_ylabel(), "every panel has a y label"
        plt.close(fig)
    with pytest.raises(ValueError, match="width_sweep"):
        figures.plot_sweep("not a sweep")


def test_mean_field_figure_draws_the_sweeps():
    mean_field = lazy_training.mean_field_sweep(widths=(64, 256))
    sweep = lazy_training.width_sweep(widths=(16, 64))
    fig = figures.plot_mean_field(mean_field, sweep)
    drawn = fig.plotted
    np.testing.assert_allclose(drawn["lambda_mf"], mean_field.lambda_max0)
    # The NTK kernel is the mean-field one times N (same seeds): recompute at N = 64.
    model = lazy_training.two_layer(64)
    _, X, _ = cu.interval_problem()
    lam = [np.linalg.eigvalsh(np.asarray(cu.empirical_ntk(model, model.init(s), X)))[-1] for s in lazy_training.SEEDS]
    np.testing.assert_allclose(drawn["lambda_ntk"][0], np.mean(lam), rtol=1e-9)
    np.testing.assert_allclose(drawn["move_ntk"], sweep.move_net / np.sqrt(3 * sweep.widths))
    run = lazy_training.side_by_side(64)
    np.testing.assert_allclose(drawn["fit_ntk"][1], np.mean([lazy_training.time_to_fit(run.times, l) for l in run.net_loss]))
    assert all(ax.get_ylabel() and ax.get_legend() for ax in fig.axes)
    plt.close(fig)
    with pytest.raises(ValueError, match="mean_field_sweep"):
        figures.plot_mean_field(sweep, sweep)
