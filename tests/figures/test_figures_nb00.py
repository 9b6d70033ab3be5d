"""Drive the tour figure of notebook 00 through every width and time."""

import numpy as np
from widget_driver import assert_no_leak, sweep

from course_utils.experiments import tour
from course_utils.figures import nb00 as figures
from course_utils.figures.interactive import nearest_index


def check(demo):
    run = tour.tour_run(demo.width)
    index = nearest_index(run.times, demo.time)
    drawn = demo.drawn
    assert drawn["width"] == demo.width and drawn["time"] == run.times[index]
    np.testing.assert_allclose(drawn["network_grid"], run.network_grid[0, index])
    np.testing.assert_allclose(drawn["kernel_grid"], run.kernel_grid[0, index])
    np.testing.assert_allclose(drawn["network_loss"], run.network_loss[0, 1:])
    np.testing.assert_allclose(drawn["kernel_loss"], run.kernel_loss[0, 1:])
    # and the figure shows them: the lines were given this move's data
    lines = {line.get_label(): line for line in demo.axes[0].lines}  # the function panel
    np.testing.assert_array_equal(lines["network"].get_ydata(), drawn["network_grid"])
    np.testing.assert_array_equal(lines["kernel prediction"].get_ydata(), drawn["kernel_grid"])


def test_tour_controls():
    demo = figures.tour_demo()
    assert set(demo.controls) == {"width", "time"}
    check(demo)
    # shown with N = 16 alone; the other widths are the stages its display runs (here: the first move)
    assert [label for label, _ in demo.pending] == [f"N = {w}" for w in tour.TOUR_WIDTHS[1:]]
    redraws, moves = sweep(demo, "width", rounds=2, check=check)
    assert redraws == moves == 2 * len(tour.TOUR_WIDTHS) - 1
    redraws, moves = sweep(demo, "time", rounds=2, check=check)
    assert redraws == moves > 40
    assert_no_leak(demo, events=200)


def test_tour_draws_what_the_network_computes():
    import course_utils as cu

    demo = figures.tour_demo()
    demo.set(width=64)
    demo.set(time=0.0)
    model = tour.tour_model(64)
    params = model.init(cu.key(tour.SEEDS[0]))
    grid = cu.circle_points(tour.tour_run(64).grid_angles)
    np.testing.assert_allclose(demo.drawn["network_grid"], model.apply(params, grid), rtol=1e-12)
    np.testing.assert_allclose(demo.drawn["kernel_grid"], demo.drawn["network_grid"], rtol=1e-12)
