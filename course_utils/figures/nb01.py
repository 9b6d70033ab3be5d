"""Notebook 01's figures: the one-unit landscape, the seeds demo and the barrier demo.

The numbers come from ``course_utils.experiments.landscape``; this module only draws them.
"""

from __future__ import annotations

import numpy as np

from ..experiments.landscape import (
    PLANE_UV,
    SEED_WIDTHS,
    SEGMENT_WIDTHS,
    THRESHOLD,
    one_unit_loss,
    seed_runs,
    segment_runs,
    stall_diagnosis,
    stall_kinds,
    success_sweep,
)
from .interactive import OKABE_ITO, InteractiveFigure, course_style, nearest_index, plain_log_ticks, static_figure
from .interactive import filling_stages

# Success and failure differ in colour (Okabe-Ito blue vs vermillion, safe for colour-blind
# readers) and in line style (solid vs dashed), so the meaning never rests on colour alone.
SUCCESS_COLOUR, FAILURE_COLOUR = OKABE_ITO[0], OKABE_ITO[3]
SUCCESS_STYLE, FAILURE_STYLE = "solid", "dashed"
SEGMENT_COLOUR = OKABE_ITO[3]
PLANE_LEVELS = np.linspace(-4.0, 1.5, 23)  # colour range of log10 loss in the plane panel


@course_style()
def plot_one_unit_landscape():
    """Static figure: the loss of ``a relu(w)`` on the point (1, 1), and along a chord of two minima.

    Left: contours over (w, a). The global minima form the hyperbola ``a w = 1`` (w > 0), a
    curve, not a convex set; for ``w < 0`` the unit is dead and the loss is a flat plateau.
    Right: the loss along the straight segment between the minima (0.5, 2) and (2, 0.5).
    Returns the pyplot figure (show it with ``plt.show()``); ``fig.drawn`` holds the plotted arrays.
    """
    fig, (ax0, ax1) = static_figure(1, 2, figsize=(8.6, 3.4))
    w = np.linspace(-1.5, 3.0, 181)
    a = np.linspace(-1.0, 3.0, 161)
    L = one_unit_loss(w[None, :], a[:, None])
    cs = ax0.contourf(w, a, np.log10(L + 1e-4), levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax0, label="log10(loss + 1e-4)")
    ww = np.linspace(1 / 3.0, 3.0, 100)
    _ = ax0.plot(ww, 1 / ww, "w--", lw=1.2, label="global minima a w = 1")
    pa, pb = np.array([0.5, 2.0]), np.array([2.0, 0.5])
    _ = ax0.plot([pa[0], pb[0]], [pa[1], pb[1]], "-", color=SEGMENT_COLOUR, lw=1.5, label="chord")
    _ = ax0.plot(*0.5 * (pa + pb), "o", color=SEGMENT_COLOUR)
    ax0.axvspan(-1.5, 0.0, color="white", alpha=0.15)
    ax0.text(-1.4, 1.6, "dead unit:\nflat\nplateau", color="white")
    ax0.set_xlabel("first-layer weight w")
    ax0.set_ylabel("output weight a")
    ax0.legend(loc="lower right")
    ax0.set_title("loss of a relu(w x) on (x, y) = (1, 1)")
    s = np.linspace(0, 1, 101)
    path = (1 - s)[:, None] * pa + s[:, None] * pb
    segment = one_unit_loss(path[:, 0], path[:, 1])
    _ = ax1.plot(s, segment, "-", color=SEGMENT_COLOUR, label="loss on the segment")
    _ = ax1.plot([0, 1], [0, 0], "k--", lw=1, label="chord (convexity bound)")
    ax1.set_xlabel("s  (0: (0.5, 2),  1: (2, 0.5))")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax1.set_title("between two global minima")
    fig.tight_layout()
    fig.drawn = {"w": w, "a": a, "loss": L, "s": s, "segment": segment}
    return fig


# ---------------------------------------------------------------- seeds demo
def seeds_demo(widths=SEED_WIDTHS, threshold: float = THRESHOLD) -> InteractiveFigure:
    """Width and time demo: does gradient descent reach near-zero loss from every seed?

    Left: the training loss of every seed at the chosen width (bold up to the chosen time;
    solid blue: below ``threshold`` at that time, dashed vermillion: above; a legend says so). Right: the fraction of seeds
    below the threshold at the chosen time, for every width. All runs are computed when the
    demo is built; the time control only indexes the recordings.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter, NullLocator

    sweep = success_sweep(widths, threshold)
    widths, threshold = tuple(int(w) for w in sweep.widths), sweep.threshold
    runs = {w: seed_runs(w) for w in widths}
    times = sweep.times
    art = {}

    def setup(axes):
        ax0, ax1 = axes
        ax0.set_xscale("log")
        ax0.set_yscale("log")
        plain_log_ticks(ax0)
        ax0.set_xlim(times[1], times[-1])
        ax0.set_ylim(1e-8, 50.0)
        ax0.set_xlabel(r"time t = $\eta$ x steps")
        ax0.set_ylabel(r"training loss $\frac{1}{2}\|f - y\|^2$")
        ax0.axhline(threshold, color="k", ls="-.", lw=0.9)
        art["faint"] = ax0.add_collection(LineCollection([], lw=0.7, alpha=0.3))
        art["bold"] = ax0.add_collection(LineCollection([], lw=1.3))
        art["now0"] = ax0.axvline(times[-1], color="0.4", lw=0.8)
        art["title0"] = ax0.set_title("")
        ax0.legend(
            handles=[
                Line2D([], [], color=SUCCESS_COLOUR, ls=SUCCESS_STYLE, label=f"below {threshold:g} at t"),
                Line2D([], [], color=FAILURE_COLOUR, ls=FAILURE_STYLE, label="above it"),
                Line2D([], [], color="k", ls="-.", lw=0.9, label=f"threshold {threshold:g}"),
            ],
            loc="lower left",
        )
        ax1.set_xscale("log", base=2)
        ax1.set_xticks(widths, [str(w) for w in widths])
        ax1.xaxis.set_minor_formatter(NullFormatter())
        ax1.xaxis.set_minor_locator(NullLocator())
        ax1.set_xlim(widths[0] / 1.5, widths[-1] * 1.5)
        ax1.set_ylim(-0.03, 1.03)
        ax1.set_xlabel("width N (hidden units)")
        ax1.set_ylabel(f"fraction of seeds with loss < {threshold:g}")
        ax1.set_title("success rate of gradient descent")
        ax1.plot(widths, sweep.final, "o--", color="0.7", label=f"at the end, t = {times[-1]:.3g}")
        (art["frac"],) = ax1.plot(widths, sweep.final, "o-", color=OKABE_ITO[0], label="at the chosen t")
        (art["ring"],) = ax1.plot([], [], "o", ms=11, mfc="none", mec="k")
        ax1.legend(loc="upper left")

    def draw(axes, width, time):
        if not art:
            setup(axes)
        run = runs[width]
        k = nearest_index(run.times, time)
        below = run.losses[:, k] < threshold
        colours = np.where(below[:, None], np.array([to_rgba(SUCCESS_COLOUR)]), np.array([to_rgba(FAILURE_COLOUR)]))
        t = run.times[1:]
        faint = [np.column_stack([t, L[1:]]) for L in run.losses]
        bold = [np.column_stack([t[:k], L[1 : k + 1]]) for L in run.losses]
        styles = [SUCCESS_STYLE if b else FAILURE_STYLE for b in below]
        for name, segments in (("faint", faint), ("bold", bold)):
            art[name].set_segments(segments)
            art[name].set_color(colours)
            art[name].set_linestyle(styles)
        art["now0"].set_xdata([max(time, times[1])] * 2)
        art["now0"].set_visible(time > 0)
        title = f"width {width}: {int(below.sum())}/{len(below)} seeds below {threshold:g} at t = {time:.3g}"
        art["title0"].set_text(title)
        fractions = sweep.fractions[:, k]
        art["frac"].set_ydata(fractions)
        art["ring"].set_data([width], [fractions[widths.index(width)]])
        return {
            "width": width,
            "time": float(run.times[k]),
            "losses": [segment[:, 1] for segment in faint],
            "bold_lengths": [len(segment) for segment in bold],
            "below": below,
            "linestyles": styles,
            "fractions": fractions,
            "title": title,
        }

    return InteractiveFigure(
        draw,
        widths=widths,
        times=times,
        width=widths[len(widths) // 2],
        time=float(times[-1]),
        ncols=2,
        figsize=(8.6, 3.3),
        title="Gradient descent from many random seeds",
    )


# ---------------------------------------------------------------- barrier demo
def segment_demo(widths=SEGMENT_WIDTHS) -> InteractiveFigure:
    """Width and time demo: the loss between a trained net and its hidden-unit permutations.

    Left: loss along the straight line from ``theta_t`` (s = 0) to ``P theta_t`` (s = 1), with
    the chord a convex function would have to stay under. Right: log10 of the loss on the
    plane through ``theta_t``, ``P theta_t`` and ``Q theta_t``. The time control picks the
    training time ``t`` of the endpoints (seed 0 of the seeds demo's runs). Width 64 is
    computed before the figure shows, the other widths while it fills in (stages).
    """
    widths = tuple(int(w) for w in widths)
    shown = 64 if 64 in widths else widths[0]
    runs = {shown: segment_runs(shown)}  # the other widths: stages, computed once it shows
    offered = runs[shown].times
    i0, i1, mid = (int(np.flatnonzero(PLANE_UV == value)[0]) for value in (0.0, 1.0, 0.5))
    half = 0.5 * (PLANE_UV[1] - PLANE_UV[0])  # pixel centres sit on the grid points
    art = {}

    def setup(axes):
        ax0, ax1 = axes
        ax0.set_xlim(PLANE_UV[0], PLANE_UV[-1])
        ax0.set_xlabel("s   (0: theta_t,  1: P theta_t)")
        ax0.set_ylabel("training loss")
        (art["line"],) = ax0.plot(PLANE_UV, np.zeros_like(PLANE_UV), color=SEGMENT_COLOUR, label="loss on the line")
        (art["chord"],) = ax0.plot([0, 1], [0, 0], "k--", lw=1, label="chord (convexity bound)")
        (art["ends"],) = ax0.plot([0, 1], [0, 0], "k^", ms=7)
        (art["mid"],) = ax0.plot([0.5], [0], "o", color=SEGMENT_COLOUR)
        ax0.legend(loc="upper right")
        art["title0"] = ax0.set_title("")
        art["plane"] = ax1.imshow(
            np.zeros((len(PLANE_UV), len(PLANE_UV))),
            extent=(PLANE_UV[0] - half, PLANE_UV[-1] + half, PLANE_UV[0] - half, PLANE_UV[-1] + half),
            origin="lower",
            cmap="viridis",
            vmin=PLANE_LEVELS[0],
            vmax=PLANE_LEVELS[-1],
            interpolation="bilinear",
            aspect="auto",
        )
        ax1.plot([0, 1, 0], [0, 0, 1], "w^", ms=7)
        for (a, b), name in zip([(0, 0), (1, 0), (0, 1)], ["theta", "P theta", "Q theta"]):
            ax1.annotate(name, (a, b), textcoords="offset points", xytext=(5, 5), color="white")
        # values outside the colour range are drawn at its ends; the pointed ends say so
        ax1.figure.colorbar(art["plane"], ax=ax1, extend="both",
                            label=f"log10 loss (clipped to {PLANE_LEVELS[0]:g}..{PLANE_LEVELS[-1]:g})")
        ax1.set_xlabel("u")
        ax1.set_ylabel("v")
        ax1.set_title("log10 loss on the plane of three copies")

    def draw(axes, width, time):
        ax0, _ = axes
        if not art:
            setup(axes)
        run = runs[width]
        k = nearest_index(run.times, time)
        seg = run.segment[k]
        chord = [seg[i0], seg[i1]]
        art["line"].set_ydata(seg)
        art["chord"].set_ydata(chord)
        art["ends"].set_ydata(chord)
        art["mid"].set_ydata([seg[mid]])
        ax0.set_ylim(0.0, max(1.1 * float(seg.max()), 0.1))  # the whole line, nothing clipped
        art["title0"].set_text(f"width {width}, t = {run.times[k]:.3g}: midpoint {seg[mid]:.3g}, ends {seg[i0]:.2g}")
        log_loss = np.clip(np.log10(run.plane[k] + 1e-12), PLANE_LEVELS[0], PLANE_LEVELS[-1])
        art["plane"].set_data(log_loss)
        return {"width": width, "time": float(run.times[k]), "segment": seg, "chord": chord, "log_plane": log_loss}

    return InteractiveFigure(
        draw,
        widths=widths,
        times=offered,
        width=shown,
        time=float(offered[-1]),
        ncols=2,
        figsize=(9.0, 3.4),
        title="Loss between permuted copies of a trained network",
        stages=filling_stages(runs, segment_runs, widths),
        show_stages=False,  # one width at a time: the others are for later moves
    )


# ---------------------------------------------------------------- stalled runs
KIND_STYLES = {  # marker and colour per kind of stalled run (shape and colour both differ)
    "stationary": ("o", OKABE_ITO[0]),
    "slow descent": ("s", OKABE_ITO[2]),
    "edge of stability": ("^", OKABE_ITO[3]),
}


@course_style()
def plot_stalled_runs(width: int = SEED_WIDTHS[0]):
    """Static figure: the data behind the diagnosis of the stalled runs at ``width``.

    Left: the loss over the last recorded steps of every stalled run that still moves,
    relative to its final value (a zigzag: period-2 oscillation). Right: ``eta lambda_max``
    of each stalled run's own empirical NTK at the end against its gradient norm, marker and
    colour by the kind ``stall_kinds`` gives it; the dashed line is the stability edge 2.
    Returns the figure; ``fig.drawn`` holds the plotted arrays.
    """
    diag = stall_diagnosis(width)
    kinds = stall_kinds(diag)
    fig, (ax0, ax1) = static_figure(1, 2, figsize=(8.6, 3.3))
    moving = [k for k, kind in enumerate(kinds) if kind == "edge of stability"]
    relative = diag.tail_loss[moving] / diag.tail_loss[moving, -1:]
    steps = diag.tail_steps
    for k, row in zip(moving, relative):
        ax0.plot(steps, row, "-", marker=".", lw=1, label=f"seed {int(diag.seeds[k])}")
    ax0.set_xlabel("step")
    ax0.set_ylabel("loss / final loss")
    ax0.set_title(f"width {width}: the last {len(steps) - 1} steps of the moving runs")
    ax0.legend(ncol=2, loc="upper right", fontsize=8)
    ax1.set_xscale("log")
    for kind, (marker, colour) in KIND_STYLES.items():
        sel = [k for k, name in enumerate(kinds) if name == kind]
        if sel:
            ax1.plot(diag.grad_norm[sel], diag.lr_lambda_max[sel], marker, color=colour, ms=7, ls="none",
                     label=f"{kind} ({len(sel)})")
    ax1.axhline(2.0, color="k", ls="--", lw=1, label=r"stability edge $\eta\lambda_{max} = 2$")
    plain_log_ticks(ax1, "x")
    ax1.set_xlabel(r"gradient norm $\|\nabla L\|$ at the end")
    ax1.set_ylabel(r"$\eta\,\lambda_{max}(K_T)$ of the run's own NTK")
    ax1.set_ylim(0.0, 2.4)
    ax1.set_title("where each stalled run ends")
    ax1.legend(loc="lower right")
    fig.tight_layout()
    fig.drawn = {"steps": steps, "relative_tail": relative, "grad_norm": diag.grad_norm,
                 "lr_lambda_max": diag.lr_lambda_max, "kinds": kinds}
    return fig


__all__ = ["plot_one_unit_landscape", "plot_stalled_runs", "seeds_demo", "segment_demo"]
