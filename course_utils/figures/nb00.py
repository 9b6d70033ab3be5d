"""Notebook 00's figure: the 30-second tour, a network against its kernel prediction.

The numbers come from ``course_utils.experiments.tour``; this module only draws them.
"""

from __future__ import annotations

import numpy as np

from ..experiments.tour import SEEDS, TOUR_WIDTHS, tour_run, tour_target
from .interactive import OKABE_ITO, InteractiveFigure, filling_stages, nearest_index, plain_log_ticks

NETWORK_COLOUR, KERNEL_COLOUR = OKABE_ITO[0], OKABE_ITO[1]  # blue network, orange kernel
LOSS_FLOOR = 1e-8  # bottom of the loss axis (the smallest recorded loss is about 6e-8)


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
    left.set_ylabel(r"output $f(x)$")
    left.set_title(f"width N = {width}, t = {run.times[index]:.3g}")
    left.legend(loc="lower left", ncol=2)

    right.clear()
    right.loglog(run.times[1:], run.kernel_loss[0, 1:], "--", color=KERNEL_COLOUR, lw=2, label="kernel (infinite width)")
    right.loglog(run.times[1:], run.network_loss[0, 1:], color=NETWORK_COLOUR, lw=1.5, label=f"network, width {width}")
    right.plot(run.times[marker], run.network_loss[0, marker], "o", color=NETWORK_COLOUR, ms=6)
    right.axvline(run.times[marker], color="0.5", lw=1)
    right.set_xlabel(r"time t = $\eta$ x steps")
    right.set_ylabel(r"training loss $\frac{1}{2}\|f - y\|^2$")
    right.legend(loc="lower left")
    right.set_ylim(LOSS_FLOOR, 20)  # below every recorded loss: nothing is clipped
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

    Only the width shown first is trained before the figure shows (its first seed, a few
    seconds); the other widths are trained while the cell runs (stages), every seed of ``SEEDS``
    in one batch, which ``tour_gaps`` then reads instead of training them again (the shown width
    it trains again, with all its seeds). After that, every move only redraws.
    """
    widths = tuple(int(w) for w in widths)
    shown = {int(width): tour_run(width)}
    times = shown[int(width)].times
    return InteractiveFigure(
        draw_tour,
        widths=widths,
        times=times,
        width=width,
        time=times[len(times) // 4] if time is None else time,
        ncols=2,
        figsize=(9.0, 3.3),
        title="A network (solid) against its infinite-width kernel prediction (dashed)",
        stages=filling_stages(shown, lambda w: tour_run(w, SEEDS), widths),
        show_stages=False,  # one width at a time: the others are for later moves
    )


__all__ = ["draw_tour", "tour_demo"]
