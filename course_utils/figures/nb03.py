"""Notebook 03's figures: the interactive Jacot et al. (2018) Fig. 1 and the "similar response" pictures.

The numbers come from ``course_utils.experiments.kernel_convergence``; this module only draws.
"""

from __future__ import annotations

import numpy as np

from ..experiments import kernel_convergence as kc
from . import interactive
from .interactive import OKABE_ITO, InteractiveFigure, nearest_index, width_colours


def fig1_demo(widths=kc.FIG1_WIDTHS, width: int | None = None, time: float | None = None) -> InteractiveFigure:
    """Jacot et al. (2018), Fig. 1, with a width control and a time control.

    Left: ``K(x0, x(gamma))`` for ``FIG1_SEEDS`` networks at the chosen width N and training
    time (blue), the same networks at t = 0 (grey, dotted, shown once t > 0) and the
    infinite-width limit (black). Right: relative kernel change on the training set against
    time (log-spaced records, a symlog time axis), for every width (the chosen one bold). The chosen
    width is computed before the figure shows and the others while it fills in (stages); after that
    a time move only swaps the y-data of existing lines.

    The draw returns ``{"width", "time", "gammas", "rows" (S, G), "rows_t0" (S, G),
    "t0_visible", "limit" (G,), "change_times", "change" (W, T): the widths in so far, in order,
    "bold_width", "ylims"}`` (``ylims``: the y range of each panel).
    """
    widths = tuple(int(w) for w in widths)
    shown = widths[0] if width is None else int(width)
    data = {shown: kc.fig1_width_data(shown)}  # the other widths: stages, computed once it shows
    gammas, _ = kc.fig1_angles()
    limit = kc.fig1_analytic_row()
    times = [float(t) for t in data[shown].times]
    colours = width_colours(widths)
    state: dict = {}

    def build(axes):
        ax, ax_change = axes
        n_seeds = data[shown].rows.shape[0]
        state["now"] = [ax.plot(gammas, limit, color=OKABE_ITO[0], lw=1.0, alpha=0.8)[0] for _ in range(n_seeds)]
        state["t0"] = [ax.plot(gammas, limit, color="0.55", lw=0.8, ls=":")[0] for _ in range(n_seeds)]
        ax.plot(gammas, limit, color="k", lw=2.2, label="infinite width")
        ax.plot([], [], color=OKABE_ITO[0], label=f"{n_seeds} seeds at time t")
        ax.plot([], [], color="0.55", ls=":", label="same seeds at t = 0")
        ax.set_xlim(-np.pi, np.pi)
        ax.set_xticks([-np.pi, -np.pi / 2, 0, np.pi / 2, np.pi], ["-pi", "-pi/2", "0", "pi/2", "pi"])
        ax.set_xlabel("gamma (angle between x0 and x)")
        ax.set_ylabel("K(x0, x(gamma))")
        ax.legend(loc="upper right", frameon=False)
        state["change"] = {}
        for w in widths:  # filled in by draw as each width comes in
            (line,) = ax_change.plot([], [], marker=".", color=colours[w], label=f"N = {w}")
            state["change"][w] = line
        state["vline"] = ax_change.axvline(times[-1], color="k", lw=0.8, ls="--")
        ax_change.set_xscale("symlog", linthresh=times[1])
        ax_change.set_xlim(0, times[-1] * 1.05)
        ticks = [0.0, times[1], 1.0, 10.0]
        ax_change.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax_change.set_xlabel("training time t = lr x steps (log scale above 0.4)")
        ax_change.set_ylabel("||K_t - K_0|| / ||K_0||")
        ax_change.set_title("kernel change on the training set")
        ax_change.legend(title="mean over 10 seeds", frameon=False)

    def draw(axes, width, time):
        if not state:
            build(axes)
        if len(state.get("ranged", ())) != len(data):  # a width came in: its curve, and a y range for all
            every_row = np.concatenate([d.rows.ravel() for d in data.values()] + [limit])
            low, high = float(every_row.min()), float(every_row.max())
            axes[0].set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
            for w in data:
                state["change"][w].set_data(times, kc.kernel_change_per_seed(w).mean(axis=0))
            every_change = np.concatenate([kc.kernel_change_per_seed(w).mean(axis=0) for w in data])
            axes[1].set_ylim(0.0, 1.05 * float(every_change.max()))
            state["ranged"] = tuple(data)
        d = data[width]
        k = nearest_index(times, time)
        for i, line in enumerate(state["now"]):
            line.set_ydata(d.rows[i, k])
        for i, line in enumerate(state["t0"]):
            line.set_ydata(d.rows[i, 0])
            line.set_visible(k > 0)
        for w, line in state["change"].items():
            line.set_linewidth(2.5 if w == width else 0.8)
            line.set_alpha(1.0 if w == width else 0.5)
        state["vline"].set_xdata([times[k], times[k]])
        axes[0].set_title(f"N = {width}, t = {times[k]:.3g} (mean loss {d.loss[:, k].mean():.3g})")
        return {
            "width": width,
            "time": times[k],
            "gammas": gammas,
            "rows": d.rows[:, k],
            "rows_t0": d.rows[:, 0],
            "t0_visible": k > 0,
            "limit": limit,
            "change_times": np.asarray(times),
            "change": np.array([kc.kernel_change_per_seed(w).mean(axis=0) for w in widths if w in data]),
            "bold_width": width,
            "ylims": (axes[0].get_ylim(), axes[1].get_ylim()),
        }

    return InteractiveFigure(
        draw,
        widths=widths,
        times=times,
        width=shown,
        time=times[-1] if time is None else time,
        ncols=2,
        figsize=(9.5, 3.4),
        title="Jacot et al. (2018), Fig. 1: the NTK of 10 random networks, before and after training",
        stages=interactive.filling_stages(data, kc.fig1_width_data, widths),
    )


@interactive.course_style()
def similarity_figure(result: kc.Similarity | None = None):
    """The two pictures of "similar response to weight perturbations", side by side (a static pyplot figure).

    Left: one small step of the weights along ``grad f(x0)`` changes f on the whole circle by
    ``eps K(x, x0)`` (measured change / eps against the kernel row), and the covariance of the
    responses to the random directions along the same row (with a band of 2 standard errors).
    Middle and right: the responses of f at ``x0`` and at a near or a far input to the random
    directions (the first 2000 drawn); their covariance is ``K(x0, x)``.
    ``result`` defaults to ``kernel_convergence.similarity_experiment()``.

    Returns ``(fig, result, drawn)`` with ``drawn = {"gammas", "k_row", "nudge_change",
    "covariance", "stderr"}``.
    """
    result = kc.similarity_experiment() if result is None else result
    covariance, stderr = kc.response_covariance(result.responses_x0, result.responses_grid)
    fig, axes = interactive.static_figure(1, 3, figsize=(11.0, 3.4))
    axes[0].plot(result.gammas, result.k_row, color="k", lw=2.5, label="K(x, x0)")
    axes[0].plot(
        result.gammas, result.nudge_change, color=OKABE_ITO[1], lw=1.2, ls="--", label="change of f / step size"
    )
    axes[0].fill_between(
        result.gammas, covariance - 2 * stderr, covariance + 2 * stderr, color=OKABE_ITO[0], alpha=0.25, lw=0
    )
    axes[0].plot(
        result.gammas,
        covariance,
        color=OKABE_ITO[0],
        lw=1.0,
        label=f"covariance of {len(result.responses_x0)} random responses",
    )
    axes[0].set_xlabel("gamma (angle of x)")
    axes[0].set_ylabel("K(x, x0) and its two readings")
    axes[0].set_title("a nudge at x0, and random nudges")
    axes[0].legend(frameon=False, loc="upper right")
    for ax, name, pair in [(axes[1], "near", result.near), (axes[2], "far", result.far)]:
        shown = pair.responses[:2000]
        ax.scatter(shown[:, 0], shown[:, 1], s=3, alpha=0.4, color=OKABE_ITO[0])
        ax.set_xlabel("response at x0")
        ax.set_ylabel(f"response at angle {pair.angle:g}")
        ax.set_title(f"{name}: correlation {pair.sample_corr:.2f} (kernel: {pair.kernel_corr:.2f})")
        ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    drawn = {
        "gammas": result.gammas,
        "k_row": result.k_row,
        "nudge_change": result.nudge_change,
        "covariance": covariance,
        "stderr": stderr,
    }
    return fig, result, drawn


__all__ = ["fig1_demo", "similarity_figure"]
