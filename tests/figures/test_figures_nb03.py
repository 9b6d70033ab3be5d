"""Notebook 03's figures: the Fig. 1 demo driven like a student would, and the static pictures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from widget_driver import assert_no_leak, option_values, sweep

import course_utils as cu
from course_utils.experiments import kernel_convergence as kc
from course_utils.figures import nb03 as figures


@pytest.fixture(scope="module")
def demo():
    figure = figures.fig1_demo()  # the notebook's call: the first width at once, the others staged
    assert figure.drawn["change"].shape[0] == 1 and len(figure.pending) == len(kc.FIG1_WIDTHS) - 1
    figure.finish()  # what displaying it in the notebook does
    assert figure.drawn["change"].shape == (len(kc.FIG1_WIDTHS), len(kc.FIG1_RECORD_STEPS))
    np.testing.assert_array_equal(figure.drawn["change"], kc.kernel_change(kc.FIG1_WIDTHS).curves)
    (row_low, row_high), (change_low, change_high) = figure.drawn["ylims"]  # nothing clipped
    assert change_low <= figure.drawn["change"].min() and figure.drawn["change"].max() < change_high
    every_row = np.concatenate([kc.fig1_width_data(w).rows.ravel() for w in kc.FIG1_WIDTHS])
    assert row_low < every_row.min() and every_row.max() < row_high
    yield figure
    figure.close()


def _check_matches_cached_data(demo):
    data = kc.fig1_width_data(demo.width)
    k = cu.widgets.nearest_index(data.times, demo.time)
    assert abs(data.times[k] - demo.time) < 1e-9
    drawn = demo.drawn
    assert drawn["width"] == demo.width and drawn["time"] == data.times[k]
    np.testing.assert_array_equal(drawn["rows"], data.rows[:, k])
    np.testing.assert_array_equal(drawn["rows_t0"], data.rows[:, 0])
    assert drawn["t0_visible"] == (k > 0)
    assert drawn["bold_width"] == demo.width


def test_controls_are_width_and_time(demo):
    assert set(demo.controls) == {"width", "time"}
    assert option_values(demo.controls["width"]) == list(kc.FIG1_WIDTHS)
    times = option_values(demo.controls["time"])
    np.testing.assert_allclose(times, kc.fig1_width_data(kc.FIG1_WIDTHS[0]).times)
    # log-spaced: the ratio of neighbouring nonzero times is roughly constant, not their difference
    steps = np.asarray(kc.FIG1_RECORD_STEPS)
    assert steps[0] == 0 and steps[-1] == kc.FIG1_STEPS
    np.testing.assert_allclose(times, kc.FIG1_LR * steps, rtol=1e-12)
    assert np.diff(steps)[0] < np.diff(steps)[-1] / 2


def test_sweeps_redraw_once_per_move_and_show_the_right_data(demo):
    seconds = []

    def check_and_time(figure):
        seconds.append(figure.last_draw_seconds)
        _check_matches_cached_data(figure)

    draws, moves = sweep(demo, "width", rounds=2, check=_check_matches_cached_data)
    assert draws == moves > 0
    for width in kc.FIG1_WIDTHS:  # a time sweep at every width
        demo.set(width=width)
        draws, moves = sweep(demo, "time", rounds=2, check=check_and_time)
        assert draws == moves > 0
    # Timings are reported, never asserted (the machine may be shared).
    print(f"\nfig1_demo time move: median {1000 * np.median(seconds):.0f} ms, max {1000 * np.max(seconds):.0f} ms")


def test_figure_data_equal_a_direct_computation(demo):
    _, grid = kc.fig1_angles()
    x0 = kc.fig1_reference_point()
    x, y = kc.fig1_training_set()
    times = option_values(demo.controls["time"])

    # The analytic limit.
    model = kc.fig1_model(256)
    np.testing.assert_allclose(demo.drawn["limit"], cu.analytic_ntk(model, x0, grid)[0], rtol=1e-12)

    # Width 256 at the 4th recorded time: train seed 4 for that many steps directly and compare.
    demo.set(width=256, time=times[3])
    traj = cu.train(model.apply, model.init(4), x, y, lr=kc.FIG1_LR, steps=kc.FIG1_RECORD_STEPS[3])
    expected = cu.empirical_ntk(model, traj.params, x0, grid)[0]
    np.testing.assert_allclose(demo.drawn["rows"][4], expected, rtol=1e-8, atol=1e-10)

    # Width 1024 at t = 0: the kernel of a fresh initialisation.
    demo.set(width=1024, time=0.0)
    wide = kc.fig1_model(1024)
    expected = cu.empirical_ntk(wide, wide.init(7), x0, grid)[0]
    np.testing.assert_allclose(demo.drawn["rows"][7], expected, rtol=1e-10, atol=1e-12)
    assert not demo.drawn["t0_visible"]

    # The right panel: the relative kernel change of every width, from the training kernels.
    K = kc.fig1_width_data(64).train_kernels
    direct = np.mean(np.linalg.norm(K - K[:, :1], axis=(2, 3)) / np.linalg.norm(K[:, :1], axis=(2, 3)), axis=0)
    np.testing.assert_allclose(demo.drawn["change"][0], direct, rtol=1e-12)


def test_nothing_leaks(demo):
    growth = assert_no_leak(demo, events=200)
    print(f"\nfig1_demo memory growth over 200 time moves: {growth:.1f} MB")


def test_similarity_figure_draws_the_experiment():
    before = len(plt.get_fignums())
    result = kc.similarity_experiment(num=200)
    fig, returned, drawn = figures.similarity_figure(result)
    try:
        assert len(fig.axes) == 3 and returned is result
        np.testing.assert_array_equal(drawn["k_row"], result.k_row)
        np.testing.assert_array_equal(drawn["nudge_change"], result.nudge_change)
        direct = np.mean(result.responses_x0[:, None] * result.responses_grid, axis=0)
        np.testing.assert_allclose(drawn["covariance"], direct, rtol=1e-12)
        np.testing.assert_array_equal(fig.axes[1].collections[0].get_offsets(), result.near.responses)
    finally:
        plt.close(fig)
    assert len(plt.get_fignums()) == before
