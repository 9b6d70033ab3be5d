"""Notebook 00's figure: the 30-second tour, a network against its kernel prediction.

The numbers come from ``course_utils.experiments.tour``; this module only draws them.
"""

from __future__ import annotations

import numpy as np

from ..experiments.tour import TOUR_WIDTHS, tour_run, tour_target
from .interactive import OKABE_ITO, InteractiveFigure, nearest_index, plain_log_ticks

NETWORK_COLOUR, KERNEL_COLOUR = OKABE_ITO[0], OKABE_ITO[1]  # blue network, orange kernel


def draw_tour(axes, width, time) -> dict:
    """Draw the tour at one width and time (the figure's first seed); return the plotted arrays."""
    run = tour_run(width)
    index = nearest_index(run.times, time)
    marker = max(index, 1)  # the loss panel is log-log: t = 0 is off the axis
    left, right = axes
    left.clear()
    left.plot(run.grid_angles, tour_target(run.grid_angles), color="0.75", lw=3, label="target")
    left.plot(run.grid_angles, run.kernel_grid[0, index], "--", color=KERNEL_COLOUR, lw=2, label="kernel prediction")
    left.plot(run.grid_angles, run.network_grid[0, index], color=NETWORK_COLOUR, lw=1.5, label="network")
    left.plot(run.train_angles, run.train_targets, "o", color="k", ms=4, label="training points")
    left.set_xlim(0, 2 * np.pi)
    left.set_ylim(-2.2, 2.2)
    left.set_xlabel(r"angle $\gamma$ of the input on the circle")
    left.set_title(f"width {width}, t = {run.times[index]:.3g}", fontsize=10)
    left.legend(loc="lower left", fontsize=7, ncol=2)

    right.clear()
    right.loglog(run.times[1:], run.kernel_loss[0, 1:], "--", color=KERNEL_COLOUR, lw=2, label="kernel (infinite width)")
    right.loglog(run.times[1:], run.network_loss[0, 1:], color=NETWORK_COLOUR, lw=1.5, label=f"network, width {width}")
    right.plot(run.times[marker], run.network_loss[0, marker], "o", color=NETWORK_COLOUR, ms=6)
    right.axvline(run.times[marker], color="0.5", lw=1)
    right.set_xlabel("time t = learning rate x steps")
    right.set_ylabel(r"training loss $\frac{1}{2}\|f - y\|^2$")
    right.legend(fontsize=7, loc="lower left")
    right.set_ylim(1e-7, 20)
    plain_log_ticks(right)
    return {
        "width": width,
        "time": float(run.times[index]),
        "network_grid": run.network_grid[0, index],
        "kernel_grid": run.kernel_grid[0, index],
        "network_loss": run.network_loss[0, 1:],
        "kernel_loss": run.kernel_loss[0, 1:],
    }


def tour_demo(widths=TOUR_WIDTHS, width: int = 16, time: float | None = None) -> InteractiveFigure:
    """The tour figure: fitted function and loss curve, network against kernel prediction.

    Every offered width is trained once up front, so moving either control only redraws.
    """
    widths = tuple(int(w) for w in widths)
    for w in widths:
        tour_run(w)
    times = tour_run(widths[0]).times
    return InteractiveFigure(
        draw_tour,
        widths=widths,
        times=times,
        width=width,
        time=times[len(times) // 4] if time is None else time,
        ncols=2,
        figsize=(9.0, 3.3),
        title="A network (solid) against its infinite-width kernel prediction (dashed)",
    )


__all__ = ["draw_tour", "tour_demo"]
