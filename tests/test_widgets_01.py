"""Drive notebook 01's two figures through every width and time, and check what they draw."""

import jax.numpy as jnp
import numpy as np
from widget_driver import assert_no_leak, sweep

import course_utils as cu
from course_utils import nb01


def _index(times, t):
    return int(np.argmin(np.abs(np.asarray(times) - t)))


# ---------------------------------------------------------------- seeds demo
def check_seeds(demo):
    runs = nb01.seed_runs(demo.width)
    k = _index(runs.times, demo.time)
    ax0, ax1 = demo.axes[:2]
    faint, bold = ax0.collections[0], ax0.collections[1]
    segments = faint.get_segments()
    assert len(segments) == nb01.N_SEEDS
    np.testing.assert_allclose(segments[5][:, 1], runs.losses[5, 1:])
    assert all(len(seg) == k for seg in bold.get_segments())
    fractions = ax1.lines[1].get_ydata()
    expected = [nb01.success_fraction(nb01.seed_runs(w).losses)[k] for w in nb01.SEED_WIDTHS]
    np.testing.assert_allclose(fractions, expected)
    below = int(np.sum(runs.losses[:, k] < nb01.THRESHOLD))
    assert ax0.get_title().startswith(f"width {demo.width}: {below}/{nb01.N_SEEDS}")


def test_seeds_demo_controls_and_data():
    demo = nb01.seeds_demo()
    assert set(demo.controls) == {"width", "time"}
    redraws, moves = sweep(demo, "width", rounds=2, check=check_seeds)
    assert redraws == moves >= 2 * len(nb01.SEED_WIDTHS) - 1
    redraws, moves = sweep(demo, "time", rounds=1, check=check_seeds)
    assert redraws == moves > 30
    assert_no_leak(demo, events=200)


def test_seeds_demo_draws_a_direct_training_run():
    demo = nb01.seeds_demo()
    demo.set(width=32)
    demo.set(time=float(nb01.seed_runs(32).times[-1]))
    model = nb01.two_layer(32)
    _, X, y = nb01.dataset()
    runs = nb01.seed_runs(32)
    steps = np.rint(runs.times / nb01.LR).astype(int)
    params = nb01.seed_params(32, 7)
    direct = cu.train(model.apply, params, X, y, lr=nb01.LR, steps=nb01.STEPS, record_steps=steps)
    drawn = demo.axes[0].collections[0].get_segments()[7][:, 1]
    np.testing.assert_allclose(drawn, direct.loss[1:], rtol=1e-6, atol=1e-12)


# ---------------------------------------------------------------- segment demo
def check_segment(demo):
    run = nb01.segment_runs(demo.width)
    k = _index(run.times, demo.time)
    line, chord = demo.axes[0].lines[0], demo.axes[0].lines[1]
    np.testing.assert_allclose(line.get_ydata(), run.segment[k])
    i0, i1 = list(run.s).index(0.0), list(run.s).index(1.0)
    np.testing.assert_allclose(chord.get_ydata(), [run.segment[k, i0], run.segment[k, i1]])


def test_segment_demo_controls_and_data():
    demo = nb01.segment_demo()
    assert set(demo.controls) == {"width", "time"}
    redraws, moves = sweep(demo, "width", rounds=2, check=check_segment)
    assert redraws == moves >= 2 * len(nb01.SEGMENT_WIDTHS) - 1
    redraws, moves = sweep(demo, "time", rounds=1, check=check_segment)
    assert redraws == moves > 30
    assert_no_leak(demo, events=200)
    # the contour plot is redrawn in place: one colorbar, no pile-up of contour sets
    assert len(demo.fig.axes) == 3
    assert len(demo.axes[1].collections) <= 2


def test_segment_demo_draws_a_direct_computation():
    demo = nb01.segment_demo()
    run = nb01.segment_runs(128)
    k = len(run.times) // 2
    demo.set(width=128)
    demo.set(time=float(run.times[k]))
    model = nb01.two_layer(128)
    _, X, y = nb01.dataset()
    history = nb01.seed_runs(128).first_history
    theta = [{name: jnp.asarray(leaf[k]) for name, leaf in layer.items()} for layer in history]
    perm, _ = nb01.permutations_for(128)
    direct = nb01.segment_losses(model, theta, nb01.permute_hidden(theta, perm), X, y, run.s)
    np.testing.assert_allclose(demo.axes[0].lines[0].get_ydata(), direct, rtol=1e-9, atol=1e-12)
