"""Drive the tour figure of notebook 00 through every width and time."""

import numpy as np
from widget_driver import assert_no_leak, sweep

from course_utils import nb00


def check(demo):
    run = nb00.tour_run(demo.width)
    index = int(np.argmin(np.abs(run.times - demo.time)))
    left = demo.axes[0]
    kernel_line, network_line = left.lines[1], left.lines[2]
    np.testing.assert_allclose(network_line.get_ydata(), run.network_grid[index])
    np.testing.assert_allclose(kernel_line.get_ydata(), run.kernel_grid[index])
    np.testing.assert_allclose(demo.axes[1].lines[1].get_ydata(), run.network_loss[1:])


def test_tour_controls():
    demo = nb00.tour_demo()
    assert set(demo.controls) == {"width", "time"}
    redraws, moves = sweep(demo, "width", rounds=2, check=check)
    assert redraws == moves == 2 * len(nb00.TOUR_WIDTHS) - 1
    redraws, moves = sweep(demo, "time", rounds=2, check=check)
    assert redraws == moves > 40
    assert_no_leak(demo, events=200)
