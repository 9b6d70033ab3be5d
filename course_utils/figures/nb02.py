"""Notebook 02's figures: the side-by-side demo and the static plots of the claim checks.

The numbers come from ``course_utils.experiments.lazy_training``; every draw returns the
arrays it plotted (``demo.drawn``), so tests compare the figure with a direct computation.

Public names: side_by_side_demo, plot_sweep, plot_weight_paths, plot_chords, plot_mean_field.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from ..data import interval_problem
from ..experiments import lazy_training
from ..measure import fit_power_law
from .interactive import (
    OKABE_ITO,
    InteractiveFigure,
    course_style,
    filling_stages,
    nearest_index,
    plain_log_ticks,
    static_figure,
    width_colours,
)

NETWORK_COLOUR, LINEAR_COLOUR = OKABE_ITO[0], OKABE_ITO[3]  # blue and vermillion
MEAN_FIELD_COLOUR = OKABE_ITO[2]  # bluish green

__all__ = ["plot_chords", "plot_mean_field", "plot_sweep", "plot_weight_paths", "side_by_side_demo"]


def side_by_side_demo(widths=lazy_training.DEMO_WIDTHS) -> InteractiveFigure:
    """Width and time demo: the network and its linearization, trained side by side.

    Left: both models on [-1, 1] at the chosen time (seed 0), with the training points and the
    function at initialisation. Middle: the gap ``rms(f - f_lin)`` over the grid against time,
    for every width. Right: the relative weight change ``||theta_t - theta_0|| / ||theta_0||``
    against time, for every width. The first width is trained before the figure shows; the others are trained
    as it fills in (staged, ``lazy_training.side_by_side``, cached).

    The draw returns ``{"width", "time", "x", "f0", "net", "lin", "gap", "rel_change", "widths_in"}``:
    the curves of the left panel, the marked values of the other two and the widths they hold.
    """
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    runs = {widths[0]: lazy_training.side_by_side(widths[0])}  # the rest: stages, below
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
        ax0.set_ylabel("output f(x)")
        ax0.legend(loc="lower right")
        art["title0"] = ax0.set_title("")
        panels = (
            (ax1, "gap", "rms of f - f_lin on [-1, 1]"),
            (ax2, "rel_change", "||theta_t - theta_0|| / ||theta_0||"),
        )
        for ax, key, ylabel in panels:
            art[key] = {}
            for w in widths:  # filled in by draw as each width's run comes in
                (art[key][w],) = ax.plot([], [], color=colours[w], label=f"N = {w}")
            art[key + "_now"] = ax.axvline(times[-1], color="0.4", lw=0.8)
            (art[key + "_dot"],) = ax.plot([], [], "ko", ms=5)
            ax.set_xscale("log")
            ax.set_yscale("log")
            plain_log_ticks(ax)
            ax.set_xlabel("time t")
            ax.set_ylabel(ylabel)
        for ax in (ax1, ax2):  # the curves come in with the stages: no autoscaling to wait for
            ax.set_xlim(times[1], times[-1])
        ax1.set_ylim(1e-5, 2.0)  # every recorded value lies inside these limits (nothing floored)
        ax2.set_ylim(1e-4, 2.0)
        ax1.set_title("network minus its linearization")
        ax2.set_title("how far the weights travel")
        ax1.legend(loc="lower right", title="width (both panels)")

    def draw(axes, width, time):
        if not art:
            setup(axes)
        run = runs[width]
        k = nearest_index(run.times, time)
        f0, net, lin = run.net_grid[0, 0], run.net_grid[0, k], run.lin_grid[0, k]
        art["f0"].set_ydata(f0)
        art["net"].set_ydata(net)
        art["lin"].set_ydata(lin)
        if art.get("limits_of") != width:  # one range per width (setting limits renders the whole figure)
            low = min(run.net_grid[0].min(), run.lin_grid[0].min(), y_train.min())
            high = max(run.net_grid[0].max(), run.lin_grid[0].max(), y_train.max())
            pad = 0.1 * (high - low)
            axes[0].set_ylim(low - pad, high + pad)
            art["limits_of"] = width
        art["title0"].set_text(f"N = {width}, t = {run.times[k]:.3g}: gap {run.gap[0, k]:.2g}")
        j = max(k, 1)  # the log-time panels start at the first record after t = 0
        marked = {}
        for key in ("gap", "rel_change"):
            for w, line in art[key].items():
                if w in runs and not len(line.get_xdata()):
                    line.set_data(times[1:], getattr(runs[w], key)[0, 1:])
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
            "widths_in": tuple(w for w in widths if w in runs),  # widths whose curves the side panels hold
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
        stages=filling_stages(runs, lazy_training.side_by_side, widths),
    )


# ---------------------------------------------------------------- static figures
@course_style()
def plot_sweep(sweep):
    """Static figure of the claim checks: relative weight change, the distance travelled (network
    and linearization), the largest single-weight move and the network-linearization gap against
    width, on log-log axes with fitted slopes and the theory's slope through the first point."""
    if not isinstance(sweep, lazy_training.WidthSweep):
        raise ValueError("sweep must be the result of lazy_training.width_sweep()")
    w = sweep.widths
    fig, axes = static_figure(1, 4, figsize=(13.0, 3.3))
    panels = [
        (sweep.rel_change, -0.5, "||theta_T - theta_0|| / ||theta_0||", "relative weight change"),
        (sweep.move_net, 0.0, "||theta_T - theta_0||", "distance travelled"),
        (sweep.max_move, -0.5, "max_i |theta_T,i - theta_0,i|", "the weight that moves most"),
        (sweep.gap, -0.5, "rms of f_T - f_lin,T on [-1, 1]", "network minus linearization"),
    ]
    for ax, (values, theory, ylabel, title) in zip(axes, panels):
        fit = fit_power_law(w, values)
        ax.loglog(w, values, "o", color=NETWORK_COLOUR, label="network (mean of seeds)")
        ax.loglog(w, fit.predict(w), "-", color=NETWORK_COLOUR, lw=1, label=f"fit: slope {fit.exponent:.2f}")
        if title == "distance travelled":
            lin = fit_power_law(w, sweep.move_lin)
            ax.loglog(w, sweep.move_lin, "s", color=LINEAR_COLOUR, label=f"linearization (slope {lin.exponent:.2f})")
            ax.set_ylim(1.0, 20.0)
        ax.loglog(w, values[0] * (w / w[0]) ** theory, "--", color="0.5", lw=1,
                  label="N^0 (flat)" if theory == 0 else "N^-1/2")
        plain_log_ticks(ax)
        ax.set_xlabel("width N")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    return fig


@course_style()
def plot_weight_paths(widths=(16, 4096)):
    """Static figure: how three single weights of seed 0 move during training, per width.

    Plots ``theta_i(t) - theta_i(0)`` for the weight that has moved most by the end, for
    ``W2[0]`` and for ``W1[0, 0]``; all weights start as N(0, 1) draws, so a move of 1 is
    the size of the weight itself.
    """
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    runs = [lazy_training.side_by_side(w) for w in widths]
    limit = 1.1 * max(np.max(np.abs(r.weight_paths)) for r in runs)
    fig, axes = static_figure(1, len(widths), figsize=(4.2 * len(widths), 3.1))
    labels = ("the weight that moves most", "W2[0] (an output weight)", "W1[0, 0] (an input weight)")
    for ax, w, run in zip(axes, widths, runs):
        for k, label in enumerate(labels):
            ax.plot(run.times[1:], run.weight_paths[1:, k], color=OKABE_ITO[k], label=label)
        ax.set_xscale("log")
        plain_log_ticks(ax, "x")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_ylim(-limit, limit)
        ax.set_xlabel("time t")
        ax.set_ylabel("theta_i(t) - theta_i(0)")
        ax.set_title(f"N = {w}")
    axes[0].legend()
    fig.tight_layout()
    return fig


@course_style()
def plot_chords(widths=(16, 4096)):
    """Static figure: loss along ``theta_0 -> theta_T`` for a narrow and a wide network."""
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    fig, axes = static_figure(1, len(widths), figsize=(4.2 * len(widths), 3.1))
    for ax, w in zip(axes, widths):
        chord = lazy_training.chord_losses(w)
        ax.plot(chord.s, chord.net_loss, color=NETWORK_COLOUR, lw=2, label="network")
        ax.plot(chord.s, chord.lin_loss, "--", color=LINEAR_COLOUR, label="linearization (a parabola)")
        ax.plot([0, 1], [chord.net_loss[0], chord.net_loss[-1]], ":", color="k", lw=1, label="chord")
        ax.set_xlabel("s   (0: theta_0,  1: theta_T)")
        ax.set_ylabel("training loss")
        ax.set_title(f"N = {w}")
        ax.legend()
    fig.tight_layout()
    return fig


@course_style()
def plot_mean_field(mean_field, sweep):
    """Static figure: the same network in the NTK parameterization and in the post's mean-field
    scaling (output times ``1/sqrt(N)``), against width: the top eigenvalue of ``K_0``, the flow
    time to fit (loss down to ``FIT_FRACTION`` of its start) and the typical single-weight move
    ``||theta_T - theta_0|| / sqrt(P)``.

    ``mean_field`` is ``lazy_training.mean_field_sweep()``, ``sweep`` is ``width_sweep()`` (its
    NTK fit times are read from ``side_by_side``). Returns the figure; ``fig.plotted`` holds the
    plotted arrays ``{"widths_mf", "widths_ntk", "lambda_mf", "lambda_ntk", "fit_mf", "fit_ntk",
    "move_mf", "move_ntk"}``.
    """
    if not isinstance(mean_field, lazy_training.MeanFieldSweep):
        raise ValueError("mean_field must be the result of lazy_training.mean_field_sweep()")
    if not isinstance(sweep, lazy_training.WidthSweep):
        raise ValueError("sweep must be the result of lazy_training.width_sweep()")
    w_mf, w_ntk = mean_field.widths, sweep.widths
    fit_ntk = np.array([
        np.mean([lazy_training.time_to_fit(run.times, loss) for loss in run.net_loss])
        for run in (lazy_training.side_by_side(int(w)) for w in w_ntk)
    ])
    plotted = {
        "widths_mf": w_mf,
        "widths_ntk": w_ntk,
        "lambda_mf": mean_field.lambda_max0,
        "lambda_ntk": mean_field.lambda_max0 * w_mf,  # K_NTK = N K_MF exactly, same seeds
        "fit_mf": mean_field.fit_time,
        "fit_ntk": fit_ntk,
        "move_mf": mean_field.typical_move,
        "move_ntk": sweep.move_net / np.sqrt(3 * w_ntk),
    }
    fig, axes = static_figure(1, 3, figsize=(11.5, 3.4))
    panels = [
        ("lambda", "lambda_max(K_0)", "kernel: O(1) vs O(1/N)", -1.0),
        ("fit", f"flow time t to reach {lazy_training.FIT_FRACTION:g} x L(0)", "time (= eta x steps) to fit", 1.0),
        ("move", "||theta_T - theta_0|| / sqrt(P)", "typical move of one weight", 0.0),
    ]
    for ax, (key, ylabel, title, mf_theory) in zip(axes, panels):
        ntk_w = w_mf if key == "lambda" else w_ntk
        mf, ntk = plotted[key + "_mf"], plotted[key + "_ntk"]
        ax.loglog(ntk_w, ntk, "o-", color=NETWORK_COLOUR, label=f"NTK (slope {fit_power_law(ntk_w, ntk).exponent:.2f})")
        ax.loglog(w_mf, mf, "s-", color=MEAN_FIELD_COLOUR,
                  label=f"mean-field (slope {fit_power_law(w_mf, mf).exponent:.2f})")
        ax.loglog(w_mf, mf[0] * (w_mf / w_mf[0]) ** mf_theory, "--", color="0.5", lw=1,
                  label={-1.0: "N^-1", 1.0: "N^1", 0.0: "N^0"}[mf_theory])
        plain_log_ticks(ax)
        ax.set_xlabel("width N")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.plotted = plotted
    return fig
