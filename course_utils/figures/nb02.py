"""Notebook 02's figures: the side-by-side demo and the static plots of the claim checks.

The numbers come from ``course_utils.experiments.lazy_training``; every draw returns the
arrays it plotted (``demo.drawn``), so tests compare the figure with a direct computation.

Public names: side_by_side_demo, plot_sweep, plot_weight_paths, plot_chords.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from ..data import interval_problem
from ..experiments import lazy_training
from ..measure import fit_power_law
from .interactive import OKABE_ITO, InteractiveFigure, nearest_index, plain_log_ticks, width_colours

NETWORK_COLOUR, LINEAR_COLOUR = OKABE_ITO[0], OKABE_ITO[3]  # blue and vermillion

__all__ = ["plot_chords", "plot_sweep", "plot_weight_paths", "side_by_side_demo"]


def side_by_side_demo(widths=lazy_training.DEMO_WIDTHS) -> InteractiveFigure:
    """Width and time demo: the network and its linearization, trained side by side.

    Left: both models on [-1, 1] at the chosen time (seed 0), with the training points and the
    function at initialisation. Middle: the gap ``rms(f - f_lin)`` over the grid against time,
    for every width. Right: the relative weight change ``||theta_t - theta_0|| / ||theta_0||``
    against time, for every width. Every width is trained when the demo is built
    (``lazy_training.side_by_side``, cached).

    The draw returns ``{"width", "time", "x", "f0", "net", "lin", "gap", "rel_change"}``: the
    curves of the left panel and the marked values of the other two.
    """
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    runs = {w: lazy_training.side_by_side(w) for w in widths}
    times = runs[widths[0]].times
    x_grid, _ = lazy_training.grid_inputs()
    x_train, _, y_train = interval_problem()
    x_grid, x_train, y_train = np.asarray(x_grid), np.asarray(x_train[:, 0]), np.asarray(y_train)
    colours = width_colours(widths)
    art = {}

    def setup(axes):
        ax0, ax1, ax2 = axes
        (art["f0"],) = ax0.plot(x_grid, np.zeros_like(x_grid), ":", color="0.5", lw=1.2, label="network at t = 0")
        (art["net"],) = ax0.plot(x_grid, np.zeros_like(x_grid), color=NETWORK_COLOUR, lw=2.2, label="network f")
        (art["lin"],) = ax0.plot(
            x_grid, np.zeros_like(x_grid), "--", color=LINEAR_COLOUR, lw=1.6, label="linearization f_lin"
        )
        ax0.plot(x_train, y_train, "ko", ms=4, label="training points")
        ax0.set_xlabel("input x")
        ax0.legend(fontsize=8, loc="lower right")
        art["title0"] = ax0.set_title("", fontsize=9)
        panels = (
            (ax1, "gap", "rms of f - f_lin on [-1, 1]"),
            (ax2, "rel_change", "||theta_t - theta_0|| / ||theta_0||"),
        )
        for ax, key, ylabel in panels:
            art[key] = {}
            for w in widths:
                (art[key][w],) = ax.plot(times[1:], getattr(runs[w], key)[0, 1:], color=colours[w], label=f"N = {w}")
            art[key + "_now"] = ax.axvline(times[-1], color="0.4", lw=0.8)
            (art[key + "_dot"],) = ax.plot([], [], "ko", ms=5)
            ax.set_xscale("log")
            ax.set_yscale("log")
            plain_log_ticks(ax)
            ax.set_xlabel("time t")
            ax.set_ylabel(ylabel, fontsize=8)
        ax1.set_ylim(1e-5, 2.0)
        ax2.set_ylim(1e-4, 2.0)
        ax1.set_title("network minus its linearization", fontsize=9)
        ax2.set_title("how far the weights travel", fontsize=9)
        ax2.legend(fontsize=8, loc="lower right")

    def draw(axes, width, time):
        if not art:
            setup(axes)
        run = runs[width]
        k = nearest_index(run.times, time)
        f0, net, lin = run.net_grid[0, 0], run.net_grid[0, k], run.lin_grid[0, k]
        art["f0"].set_ydata(f0)
        art["net"].set_ydata(net)
        art["lin"].set_ydata(lin)
        low = min(run.net_grid[0].min(), run.lin_grid[0].min(), y_train.min())
        high = max(run.net_grid[0].max(), run.lin_grid[0].max(), y_train.max())
        pad = 0.1 * (high - low)
        axes[0].set_ylim(low - pad, high + pad)
        art["title0"].set_text(f"N = {width}, t = {run.times[k]:.3g}: gap {run.gap[0, k]:.2g}")
        j = max(k, 1)  # the log-time panels start at the first record after t = 0
        marked = {}
        for key in ("gap", "rel_change"):
            for w, line in art[key].items():
                line.set_linewidth(2.6 if w == width else 0.9)
                line.set_alpha(1.0 if w == width else 0.45)
            value = float(getattr(run, key)[0, j])
            art[key + "_now"].set_xdata([run.times[j]] * 2)
            art[key + "_dot"].set_data([run.times[j]], [value])
            marked[key] = value
        return {
            "width": width,
            "time": float(run.times[k]),
            "x": x_grid,
            "f0": f0,
            "net": net,
            "lin": lin,
            "gap": marked["gap"],
            "rel_change": marked["rel_change"],
        }

    return InteractiveFigure(
        draw,
        widths=widths,
        times=times,
        width=widths[0],
        time=float(times[len(times) * 2 // 3]),
        ncols=3,
        figsize=(11.0, 3.4),
        title="A network (solid) and its linearization (dashed), trained side by side",
    )


# ---------------------------------------------------------------- static figures
def plot_sweep(sweep):
    """Static figure of the claim checks: relative weight change, largest single-weight move,
    and the network-linearization gap against width, on log-log axes with fitted slopes."""
    import matplotlib.pyplot as plt

    if not isinstance(sweep, lazy_training.WidthSweep):
        raise ValueError("sweep must be the result of lazy_training.width_sweep()")
    w = sweep.widths
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.2))
    panels = [
        (sweep.rel_change, "||theta_T - theta_0|| / ||theta_0||", "relative weight change"),
        (sweep.max_move, "max_i |theta_T,i - theta_0,i|", "the weight that moves most"),
        (sweep.gap, "rms of f_T - f_lin,T on [-1, 1]", "network minus linearization"),
    ]
    for ax, (values, ylabel, title) in zip(axes, panels):
        fit = fit_power_law(w, values)
        ax.loglog(w, values, "o", color=NETWORK_COLOUR, label="measured (mean of seeds)")
        ax.loglog(w, fit.predict(w), "-", color=NETWORK_COLOUR, lw=1, label=f"fit: slope {fit.exponent:.2f}")
        ax.loglog(w, values[0] * (w / w[0]) ** -0.5, "--", color="0.5", lw=1, label="N^-1/2")
        plain_log_ticks(ax)
        ax.set_xlabel("width N")
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_weight_paths(widths=(16, 4096)):
    """Static figure: how three single weights of seed 0 move during training, per width.

    Plots ``theta_i(t) - theta_i(0)`` for the weight that has moved most by the end, for
    ``W2[0]`` and for ``W1[0, 0]``; all weights start as N(0, 1) draws, so a move of 1 is
    the size of the weight itself.
    """
    import matplotlib.pyplot as plt

    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    runs = [lazy_training.side_by_side(w) for w in widths]
    limit = 1.1 * max(np.max(np.abs(r.weight_paths)) for r in runs)
    fig, axes = plt.subplots(1, len(widths), figsize=(4.2 * len(widths), 3.0), sharey=True)
    axes = np.atleast_1d(axes)
    labels = ("the weight that moves most", "W2[0] (an output weight)", "W1[0, 0] (an input weight)")
    for ax, w, run in zip(axes, widths, runs):
        for k, label in enumerate(labels):
            ax.plot(run.times[1:], run.weight_paths[1:, k], color=OKABE_ITO[k], label=label)
        ax.set_xscale("log")
        plain_log_ticks(ax, "x")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_ylim(-limit, limit)
        ax.set_xlabel("time t")
        ax.set_title(f"N = {w}", fontsize=9)
    axes[0].set_ylabel("theta_i(t) - theta_i(0)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_chords(widths=(16, 4096)):
    """Static figure: loss along ``theta_0 -> theta_T`` for a narrow and a wide network."""
    import matplotlib.pyplot as plt

    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    fig, axes = plt.subplots(1, len(widths), figsize=(4.2 * len(widths), 3.0))
    for ax, w in zip(np.atleast_1d(axes), widths):
        chord = lazy_training.chord_losses(w)
        ax.plot(chord.s, chord.net_loss, color=NETWORK_COLOUR, lw=2, label="network")
        ax.plot(chord.s, chord.lin_loss, "--", color=LINEAR_COLOUR, label="linearization (a parabola)")
        ax.plot([0, 1], [chord.net_loss[0], chord.net_loss[-1]], ":", color="k", lw=1, label="chord")
        ax.set_xlabel("s   (0: theta_0,  1: theta_T)")
        ax.set_ylabel("training loss")
        ax.set_title(f"N = {w}", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
