"""Notebook 00's figure: the 30-second tour, a network against its kernel prediction.

The numbers come from ``course_utils.experiments.tour``; this module only draws them.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..experiments.tour import SEEDS, TOUR_WIDTHS, tour_run, tour_target
from .interactive import OKABE_ITO, InteractiveFigure, filling_stages, nearest_index, plain_log_ticks

NETWORK_COLOUR, KERNEL_COLOUR = OKABE_ITO[0], OKABE_ITO[1]  # blue network, orange kernel
LOSS_FLOOR = 1e-8  # bottom of the loss axis (the smallest recorded loss is about 6e-8)


def draw_tour(axes, width, time) -> dict:
    """Draw the tour at one width and time (the figure's first seed); return the plotted arrays.

    The artists are made on the first call for these axes; later calls only give them new data
    (``set_data``), so a move redraws the curves and not the axes around them.
    """
    run = tour_run(width)
    index = nearest_index(run.times, time)
    marker = max(index, 1)  # the loss panel is log-log: t = 0 is off the axis
    left, right = axes
    art = _TOUR_ARTISTS.get(left)
    if art is None or art["network"].axes is None:  # first call, or the axes were cleared
        art = _TOUR_ARTISTS[left] = _build_tour(left, right, run)
    art["kernel"].set_ydata(run.kernel_grid[0, index])
    art["network"].set_ydata(run.network_grid[0, index])
    if art.get("width") != width:  # the loss curves change with the width only
        art["kernel_loss"].set_data(run.times[1:], run.kernel_loss[0, 1:])
        art["network_loss"].set_data(run.times[1:], run.network_loss[0, 1:])
        art["width"] = width
    art["now"].set_data([run.times[marker]], [run.network_loss[0, marker]])
    art["now_line"].set_xdata([run.times[marker]] * 2)
    left.set_title(f"width N = {width}, t = {run.times[index]:.3g}")
    right.set_title(f"training loss, width N = {width}")
    return {
        "width": width,
        "time": float(run.times[index]),
        "network_grid": run.network_grid[0, index],
        "kernel_grid": run.kernel_grid[0, index],
        "network_loss": run.network_loss[0, 1:],
        "kernel_loss": run.kernel_loss[0, 1:],
    }


_TOUR_ARTISTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # left axes -> its artists


def _build_tour(left, right, run) -> dict:
    art = {}
    left.clear()
    left.plot(run.grid_angles, tour_target(run.grid_angles), color="0.75", lw=3, label="target")
    (art["kernel"],) = left.plot(run.grid_angles, run.kernel_grid[0, 0], "--", color=KERNEL_COLOUR, lw=2,
                                 label="kernel prediction")
    (art["network"],) = left.plot(run.grid_angles, run.network_grid[0, 0], color=NETWORK_COLOUR, lw=1.5, label="network")
    left.plot(run.train_angles, run.train_targets, "o", color="k", ms=4, label="training points")
    left.set_xlim(0, 2 * np.pi)
    left.set_ylim(-2.2, 2.2)
    left.set_xlabel(r"angle $\gamma$ of the input on the circle")
    left.set_ylabel(r"output $f(x)$")
    left.legend(loc="lower left", ncol=2)

    right.clear()
    (art["kernel_loss"],) = right.loglog(run.times[1:], run.kernel_loss[0, 1:], "--", color=KERNEL_COLOUR, lw=2,
                                         label="kernel (infinite width)")
    (art["network_loss"],) = right.loglog(run.times[1:], run.network_loss[0, 1:], color=NETWORK_COLOUR, lw=1.5,
                                          label="network")
    (art["now"],) = right.plot(run.times[1], run.network_loss[0, 1], "o", color=NETWORK_COLOUR, ms=6)
    art["now_line"] = right.axvline(run.times[1], color="0.5", lw=1)
    right.set_xlim(run.times[1], run.times[-1])
    right.set_ylim(LOSS_FLOOR, 20)  # below every recorded loss: nothing is clipped
    right.set_xlabel(r"time t = $\eta$ x steps")
    right.set_ylabel(r"training loss $\frac{1}{2}\|f - y\|^2$")
    right.legend(loc="lower left")
    plain_log_ticks(right)
    return art


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
