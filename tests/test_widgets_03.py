"""In-kernel widget test of notebook 03's demo (Jacot et al. 2018, Fig. 1), driven like a student would."""

import numpy as np
import pytest
from widget_driver import assert_no_leak, option_values, sweep

import course_utils as cu
from course_utils import nb03


@pytest.fixture(scope="module")
def demo():
    figure = nb03.fig1_demo()  # the notebook's call: precomputes every offered width
    yield figure
    figure.close()


def _line(ax, gid):
    (line,) = [line for line in ax.lines if line.get_gid() == gid]
    return line


def _check_matches_cached_data(demo):
    data = nb03.fig1_width_data(demo.width)
    k = list(data.times).index(demo.time)
    ax, ax_change = demo.axes
    for i in range(nb03.FIG1_SEEDS):
        np.testing.assert_array_equal(_line(ax, f"seed{i}").get_ydata(), data.rows[i, k])
        assert _line(ax, f"seed{i}_t0").get_visible() == (k > 0)
    assert _line(ax_change, "now").get_xdata()[0] == demo.time
    assert _line(ax_change, f"change{demo.width}").get_linewidth() > 2


def test_controls_are_width_and_time(demo):
    assert set(demo.controls) == {"width", "time"}
    assert option_values(demo.controls["width"]) == list(nb03.FIG1_WIDTHS)
    times = option_values(demo.controls["time"])
    np.testing.assert_allclose(times, nb03.fig1_width_data(nb03.FIG1_WIDTHS[0]).times)


def test_sweeps_redraw_once_per_move_and_show_the_right_data(demo):
    seconds = []

    def check_and_time(figure):
        seconds.append(figure.last_draw_seconds)
        _check_matches_cached_data(figure)

    draws, moves = sweep(demo, "width", rounds=2, check=_check_matches_cached_data)
    assert draws == moves > 0
    for width in nb03.FIG1_WIDTHS:  # a time sweep at every width
        demo.set(width=width)
        draws, moves = sweep(demo, "time", rounds=2, check=check_and_time)
        assert draws == moves > 0
    # Timings are reported, never asserted (the machine may be shared).
    print(f"\nfig1_demo time move: median {1000 * np.median(seconds):.0f} ms, max {1000 * np.max(seconds):.0f} ms")


def test_figure_data_equal_a_direct_computation(demo):
    gammas, grid = nb03.fig1_angles()
    x0 = grid[len(gammas) // 2 :][:1]
    x, y = nb03.fig1_training_set()
    times = option_values(demo.controls["time"])
    ax = demo.axes[0]

    # The analytic limit.
    model = nb03.fig1_model(256)
    np.testing.assert_allclose(_line(ax, "limit").get_ydata(), cu.analytic_ntk(model, x0, grid)[0], rtol=1e-12)

    # Width 256 after 15 steps (the 4th recorded time): train seed 4 directly and compare.
    demo.set(width=256, time=times[3])
    traj = cu.train(model.apply, model.init(4), x, y, lr=nb03.FIG1_LR, steps=3 * nb03.FIG1_RECORD_EVERY)
    expected = cu.empirical_ntk(model, traj.params, x0, grid)[0]
    np.testing.assert_allclose(_line(ax, "seed4").get_ydata(), expected, rtol=1e-8, atol=1e-10)

    # Width 1024 at t = 0: the kernel of a fresh initialisation.
    demo.set(width=1024, time=0.0)
    wide = nb03.fig1_model(1024)
    expected = cu.empirical_ntk(wide, wide.init(7), x0, grid)[0]
    np.testing.assert_allclose(_line(ax, "seed7").get_ydata(), expected, rtol=1e-10, atol=1e-12)
    assert not _line(ax, "seed7_t0").get_visible()


def test_nothing_leaks(demo):
    growth = assert_no_leak(demo, events=200)
    print(f"\nfig1_demo memory growth over 200 time moves: {growth:.1f} MB")
