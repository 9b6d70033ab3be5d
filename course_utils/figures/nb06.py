"""Notebook 06's interactive figures: lazy vs feature learning, depth, kernel drift, catapult.

Every number drawn comes from ``course_utils.experiments`` (``feature_learning``, ``depth``,
``kernel_drift``, ``catapult``); each draw function returns the arrays it drew (kept as
``demo.drawn``) so the widget tests can compare them with a direct computation.
"""

from __future__ import annotations

import functools

import numpy as np

from ..data import two_harmonic_target
from ..experiments import catapult, depth, feature_learning, kernel_drift
from ..kernels import as_numpy
from ..training import log_record_steps
from .interactive import (
    OKABE_ITO,
    InteractiveFigure,
    choice_slider,
    filling_stages,
    log_times,
    multiple_slider,
    nearest_index,
    round_times,
    set_time_marker,
    staged_draw,
    steps_slider,
    width_colours,
)

GREY = "0.45"


# ---------------------------------------------------------------------- 1. lazy vs feature learning
def lazy_demo(widths=feature_learning.WIDTHS) -> InteractiveFigure:
    """Six first-layer features over the circle at init (dotted) and at time t (solid), NTK parameterization
    and muP, and the relative feature movement over time at every width (seed 0; bold: the chosen width).

    N = 1024 is trained before the figure shows, the other widths while it fills in (stages).

    ``demo.drawn``: ``time_index``, ``units`` {parameterization: (128, 6)} and ``feature_change``
    {parameterization: {width: (T - 1,)}} (times after 0).
    """
    widths = [int(w) for w in widths]
    shown = 1024 if 1024 in widths else widths[0]

    def both_parameterizations(width):
        return {par: feature_learning.feature_runs(par, width) for par in feature_learning.PARAMETERIZATIONS}

    runs = {shown: both_parameterizations(shown)}  # the other widths: stages, computed once it shows
    record_times = runs[shown]["ntk"].times
    times = round_times(record_times)
    colours = width_colours(widths)
    art = {}

    def build(axes):
        for ax, par in zip(axes[:2], ("ntk", "mup")):
            art[par, "init"], art[par] = [], []
            for u in range(feature_learning.N_UNITS):
                colour = OKABE_ITO[u % len(OKABE_ITO)]
                art[par, "init"].append(ax.plot([], [], ":", color=colour, lw=1)[0])
                art[par].append(ax.plot([], [], "-", color=colour, lw=1.3)[0])
            ax.set_xlim(0, 2 * np.pi)
            ax.set_xlabel("angle gamma")
            ax.set_ylabel("hidden feature phi(h)")
        ax = axes[2]
        art["curves"], art["curve_lines"] = {}, {}
        for w in widths:
            for par, style in (("ntk", "-"), ("mup", "--")):
                art["curve_lines"][par, w] = ax.loglog([], [], style, color=colours[w], lw=1,
                                                       label=f"N = {w}" if par == "ntk" else None)[0]
        ax.plot([], [], "k-", label="NTK param.")
        ax.plot([], [], "k--", label="muP")
        art["marker"] = ax.axvline(1.0, color=GREY, ls=":", lw=1)
        ax.set_xlim(record_times[1], record_times[-1])
        ax.set_ylim(1e-4, 3)
        ax.set_xlabel("time t")
        ax.set_ylabel("||Phi_t - Phi_0|| / ||Phi_0||")
        ax.legend(loc="lower right", ncol=2)

    def full(axes, width):  # the width's features and the widths in so far; the artists are made once
        if "curves" not in art:
            build(axes)
        # one y range for every width, time and parameterization in, so that no feature is clipped
        top = max(float(np.max(run.units[0])) for pair in runs.values() for run in pair.values())
        bottom = min(float(np.min(run.units[0])) for pair in runs.values() for run in pair.values())
        margin = 0.05 * (top - bottom)
        if art.get("feature_range") != (bottom - margin, top + margin):
            art["feature_range"] = (bottom - margin, top + margin)
            for ax in axes[:2]:
                ax.set_ylim(*art["feature_range"])
        for ax, par, name in zip(axes[:2], ("ntk", "mup"), ("NTK parameterization", "muP")):
            run = runs[int(width)][par]
            for u, line in enumerate(art[par, "init"]):
                line.set_data(run.dense_angles, run.units[0, 0, :, u])
            for line in art[par]:
                line.set_xdata(run.dense_angles)
            ax.set_title(f"{name}, N = {width} (dotted: init)")
        for w in (w for w in widths if w in runs):
            bold = w == int(width)
            for par in ("ntk", "mup"):
                curve = runs[w][par].feature_change[0, 1:]
                line = art["curve_lines"][par, w]
                line.set_data(record_times[1:], curve)
                line.set_linewidth(2.2 if bold else 1)
                line.set_alpha(1.0 if bold else 0.5)
                art["curves"].setdefault(par, {})[w] = curve
        axes[2].set_title(f"feature movement (bold: N = {width})")

    def update(axes, time, width):
        i = nearest_index(record_times, time)
        units = {}
        for par in ("ntk", "mup"):
            units[par] = runs[int(width)][par].units[0, i]
            for u, line in enumerate(art[par]):
                line.set_ydata(units[par][:, u])
        set_time_marker(art["marker"], time)
        return {"time_index": i, "units": units, "feature_change": art["curves"]}

    stage = staged_draw(full, update)

    def draw(axes, time, width):
        if art.get("widths_in") != len(runs):  # a width came in: draw everything again
            stage.redraw_all()
            art["widths_in"] = len(runs)
        drawn = stage(axes, time, width=width)
        drawn["feature_range"] = art["feature_range"]
        return drawn

    return InteractiveFigure(draw, widths=widths, times=times, ncols=3, figsize=(11.5, 3.4),
                             width=shown, time=times[-1],
                             stages=filling_stages(runs, both_parameterizations, widths))


# ---------------------------------------------------------------------- 2. depth
DEPTH_TIMES = tuple(round_times(log_times(1e-3, 1e2, 36)))


def depth_slider(depths=depth.DEPTHS, value: int = 4):
    """The extra control of the depth demo: the number of hidden layers L (updates on release)."""
    return choice_slider([int(d) for d in depths], int(value), description="depth", continuous=False,
                         tooltip="number of hidden layers L")


def depth_demo(widths=depth.WIDTHS, depths=depth.DEPTHS, times=DEPTH_TIMES) -> InteractiveFigure:
    """The normalised limit NTK against angle for the chosen depth (black; grey: every depth) with the
    empirical kernel of one network of the chosen width, and the function the limit kernel learns by
    time t from 8 points. Empirical kernels and regressions are cached: the first depth and width's
    are computed before the figure shows, every other (depth, width)'s as it fills in (stages).

    ``demo.drawn``: ``limit`` (512,), ``empirical`` (64,), ``function`` (512,) and ``time_index``.
    """
    widths, depths, times = [int(w) for w in widths], [int(d) for d in depths], tuple(float(t) for t in times)
    sweep = depth.depth_sweep(tuple(depths))
    # The regression of a depth and the empirical kernel of a (depth, width) are cached in ``depth``.
    # The figure shows with those of the first depth and width; its stages then compute every other
    # (depth, width), so that no move of either control waits for a kernel.
    grid = 2 * np.pi * np.arange(depth.EMPIRICAL_N) / depth.EMPIRICAL_N
    art = {}

    def build(axes):
        ax = axes[0]
        greys = np.linspace(0.8, 0.35, len(depths))  # light: shallow, dark: deep
        for j, d in enumerate(depths):
            ax.plot(sweep.angles, sweep.profiles[j], color=str(greys[j]), lw=1, label=f"L = {d}")
        # the chosen depth, drawn over its grey line
        (art["limit_line"],) = ax.plot(sweep.angles, sweep.profiles[0], color="k", lw=2, label="chosen L, N = infinity")
        (art["empirical_line"],) = ax.plot(grid, np.zeros_like(grid), "o", ms=3, color=OKABE_ITO[0],
                                           label="chosen L, chosen N")
        ax.axhline(0.25, color=OKABE_ITO[3], ls=":", lw=1, label="1/4 (L -> infinity)")
        ax.set_xlim(sweep.angles[0], sweep.angles[-1])
        ax.set_ylim(-0.15, 1.05)
        ax.set_xlabel("angle between inputs")
        ax.set_ylabel("normalised NTK")
        ax.legend(loc="upper center", ncol=2, fontsize=8)
        ax = axes[1]
        reg = depth.depth_regression(int(depths[0]), times)
        ax.plot(reg.angles, as_numpy(two_harmonic_target(reg.angles)), color="0.7", lw=1, label="target")
        (art["fn"],) = ax.plot(reg.angles, reg.predictions[0], color=OKABE_ITO[0], label="learned")
        ax.plot(reg.train_angles, reg.y, "k.", ms=7)
        ax.set_xlim(reg.angles[0], reg.angles[-1])
        ax.set_ylim(-1.2, 1.9)
        ax.set_xlabel("angle gamma")
        ax.set_ylabel("f(gamma)")
        ax.legend(loc="upper center", ncol=2)

    def full(axes, width, depth_value):  # the chosen depth and width; the artists are made once
        if "fn" not in art:
            build(axes)
        k = depths.index(int(depth_value))
        art["limit"] = sweep.profiles[k]
        art["empirical"] = depth.empirical_depth_profile(int(depth_value), int(width))
        art["limit_line"].set_ydata(art["limit"])
        art["empirical_line"].set_ydata(art["empirical"])
        axes[0].set_title(f"normalised NTK, L = {depth_value}, N = {width} (grey: every depth)")
        art["regression"] = depth.depth_regression(int(depth_value), times)

    def update(axes, time, width, depth_value):
        reg = art["regression"]
        i = nearest_index(reg.times, time)
        art["fn"].set_ydata(reg.predictions[i])
        axes[1].set_title(f"limit-kernel regression, L = {depth_value}, t = {time:.3g}")
        return {"time_index": i, "limit": art["limit"], "empirical": art["empirical"], "function": reg.predictions[i]}

    stage = staged_draw(full, update)

    def draw(axes, time, width, depth):  # the control is called "depth"; the module is too
        return stage(axes, time, width=width, depth_value=depth)

    shown_width, slider = (128 if 128 in widths else widths[0]), depth_slider(depths)

    def prepare(depth_value, width):
        depth.empirical_depth_profile(depth_value, width)
        depth.depth_regression(depth_value, times)

    others = [(d, w) for w in widths for d in depths if (d, w) != (slider.value, shown_width)]
    return InteractiveFigure(draw, widths=widths, times=list(times), extra={"depth": slider},
                             expensive=("width", "depth"), ncols=2, figsize=(10.5, 3.8),
                             width=shown_width, time=times[-1], show_stages=False,
                             stages=[(f"L = {d}, N = {w}", functools.partial(prepare, d, w)) for d, w in others])


# ---------------------------------------------------------------------- 3. kernel drift
def drift_demo(widths=kernel_drift.WIDTHS) -> InteractiveFigure:
    """Left: the relative kernel drift ``||K_t - K_0|| / ||K_0||`` over time at the chosen width, every seed
    (thin) and their mean (thick), ReLU and erf. Right: the drift at the chosen time against width, every
    seed (dots) and the mean (line), with the fitted exponents and reference slopes -1/2, -3/4 and -1.

    ``demo.drawn``: ``time_index``, ``per_seed`` {activation: (S, T - 1) at the chosen width},
    ``drift`` {activation: (W,) seed means at the chosen time}, ``seeds`` {activation: (W, S)} and
    ``exponent`` {activation: float}.
    """
    widths = tuple(int(w) for w in widths)
    runs = {(act, w): kernel_drift.drift_runs(act, w) for act in kernel_drift.ACTIVATIONS for w in widths}
    sweeps = {act: kernel_drift.drift_sweep(act, widths) for act in kernel_drift.ACTIVATIONS}
    exponents = {act: kernel_drift.drift_exponents(act, widths) for act in kernel_drift.ACTIVATIONS}
    record_times = sweeps["relu"].times
    times = round_times(record_times)
    act_colours = {"relu": OKABE_ITO[0], "erf": OKABE_ITO[3]}
    w_arr = np.asarray(widths, dtype=float)
    smallest = min(float(np.min(r.drift[:, 1:])) for r in runs.values())
    floor = 10.0 ** np.floor(np.log10(smallest))  # below every drift after t = 0: nothing is floored
    art = {}

    def build(axes):
        ax = axes[0]
        for act, style in (("relu", "-"), ("erf", "--")):
            art[act, "seeds"] = [ax.loglog(record_times[1:], np.ones(len(record_times) - 1), style,
                                           color=act_colours[act], lw=0.7, alpha=0.4)[0] for _ in kernel_drift.SEEDS]
            art[act, "mean"] = ax.loglog(record_times[1:], np.ones(len(record_times) - 1), style, color=act_colours[act],
                                         lw=2.2, label=f"{act}: mean of {len(kernel_drift.SEEDS)} seeds (thin: each)")[0]
        art["marker"] = ax.axvline(1.0, color=GREY, ls=":", lw=1)
        ax.set_xlim(record_times[1], record_times[-1])
        ax.set_ylim(floor, 0.5)
        ax.set_xlabel("time t")
        ax.set_ylabel("||K_t - K_0|| / ||K_0||")
        ax.legend(loc="lower right")
        ax = axes[1]
        for act in kernel_drift.ACTIVATIONS:
            (art[act + "-seeds"],) = ax.loglog(np.repeat(w_arr, len(kernel_drift.SEEDS)),
                                               np.ones(len(w_arr) * len(kernel_drift.SEEDS)), ".", ms=3,
                                               color=act_colours[act], alpha=0.5)
            (art[act],) = ax.loglog(w_arr, np.ones_like(w_arr), "o-", color=act_colours[act], label=act)
        (art["selected"],) = ax.plot(w_arr[[0, 0]], [1.0, 1.0], "o", ms=11, mfc="none", color="k", label="chosen N")
        art["references"] = {}
        for slope, style in ((-0.5, ":"), (-0.75, "-"), (-1.0, "-.")):
            (art["references"][slope],) = ax.loglog(w_arr, np.ones_like(w_arr), style, color=GREY, lw=1,
                                                    label=f"slope {slope:g}")
        # the fitted exponents change with time: a text of their own, so the legend stays as it is
        art["slopes"] = ax.text(0.98, 0.97, "", transform=ax.transAxes, ha="right", va="top")
        ax.set_xlim(w_arr[0] / 1.3, w_arr[-1] * 1.3)
        ax.set_xlabel("width N")
        ax.set_ylabel("||K_t - K_0|| / ||K_0||")
        ax.set_ylim(floor, 0.5)
        ax.legend(loc="lower left", ncol=2)

    def full(axes, width):  # the width's runs; the artists are made once, on the first call
        if "marker" not in art:
            build(axes)
        per_seed = {}
        for act in ("relu", "erf"):
            run = runs[(act, int(width))]
            per_seed[act] = run.drift[:, 1:]
            for line, curve in zip(art[act, "seeds"], run.drift[:, 1:]):
                line.set_ydata(np.maximum(curve, floor))
            art[act, "mean"].set_ydata(np.maximum(run.mean_drift[1:], floor))
        art["per_seed"] = per_seed
        axes[0].set_title(f"kernel drift over time, N = {width}")
        j = widths.index(int(width))
        art["selected"].set_xdata(w_arr[[j, j]])
        art["j"] = j

    def update(axes, time, width):
        i = nearest_index(record_times, time)
        j = art["j"]
        slopes = []
        drawn = {"time_index": i, "per_seed": art["per_seed"], "drift": {}, "seeds": {}, "exponent": {}}
        for act in kernel_drift.ACTIVATIONS:
            seeds = np.asarray([runs[(act, w)].drift[:, i] for w in widths])  # (W, S)
            d = np.maximum(sweeps[act].drift[:, i], 1e-12)
            art[act + "-seeds"].set_ydata(np.maximum(seeds.ravel(), floor))
            art[act].set_ydata(d)
            drawn["drift"][act] = d
            drawn["seeds"][act] = seeds
            drawn["exponent"][act] = float(exponents[act][i])
            slopes.append(f"{act} {exponents[act][i]:.2f}")
        art["selected"].set_ydata([drawn["drift"]["relu"][j], drawn["drift"]["erf"][j]])
        middle = np.sqrt(drawn["drift"]["relu"][0] * drawn["drift"]["erf"][0])
        for slope, line in art["references"].items():
            line.set_ydata(middle * (w_arr / w_arr[0]) ** slope)
        art["slopes"].set_text("fitted slope: " + ", ".join(slopes) if i > 0 else "")
        set_time_marker(art["marker"], time)
        axes[1].set_title(f"drift at t = {time:.3g} against width")
        return drawn

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=times, ncols=2, figsize=(10.5, 3.8),
                             width=1024 if 1024 in widths else None, time=times[-1])


# ---------------------------------------------------------------------- 4. catapult
CATAPULT_STEPS = tuple(int(s) for s in log_record_steps(catapult.STEPS, 31))  # the steps control's values


def lr_slider(multiples=catapult.MULTIPLES, value: float = 3.0):
    """The extra control of the catapult demo: the learning rate in units of ``1 / lambda_0``."""
    return multiple_slider(multiples, value, description="lr", unit="1/lambda_0",
                           tooltip="learning rate in units of 1 / lambda_0 (top NTK eigenvalue at initialisation)")


def catapult_demo(widths=catapult.WIDTHS, steps=CATAPULT_STEPS) -> InteractiveFigure:
    """Loss and top NTK eigenvalue over the first ``steps`` of gradient descent at the chosen learning rate,
    and ``lr x final top eigenvalue`` against ``lr x lambda_0`` for every learning rate of this width.

    The run-length control counts gradient-descent **steps** (the learning rate changes with the
    ``lr`` control, so ``lr x steps`` would not compare runs). ``demo.drawn``: ``loss`` and
    ``top_eigenvalue`` (steps + 1,) up to the chosen step, and ``final`` (M,) ``lr x final top
    eigenvalue`` (inf where diverged). N = 1024 trains before the figure shows, the other widths
    while it fills in (stages). The artists are made once; a width or lr move only moves their data.
    """
    widths = [int(w) for w in widths]
    shown = 1024 if 1024 in widths else widths[0]
    runs_by_width = {shown: catapult.catapult_runs(shown)}  # the other widths: stages
    multiples = np.asarray(catapult.MULTIPLES)
    art = {}

    def setup(axes):
        ax = axes[0]
        (art["loss_all"],) = ax.semilogy([], [], color="0.8", lw=1)
        (art["loss_line"],) = ax.semilogy([], [], color=OKABE_ITO[0])
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_ylim(1e-8, 1e6)
        art["title_loss"] = ax.set_title("")
        ax = axes[1]
        (art["lam_all"],) = ax.plot([], [], color="0.8", lw=1)
        (art["lam_line"],) = ax.plot([], [], color=OKABE_ITO[0], label="top NTK eigenvalue")
        art["two_over_lr"] = ax.axhline(1.0, color=OKABE_ITO[3], ls="--", lw=1, label="2 / lr")
        art["lam0"] = ax.axhline(1.0, color=GREY, ls=":", lw=1, label="lambda_0")
        ax.set_xlabel("step")
        ax.set_ylabel("top NTK eigenvalue")
        art["title_lam"] = ax.set_title("")
        ax.legend(loc="upper right")
        ax = axes[2]
        ax.plot(multiples, multiples, ":", color=GREY, lw=1, label="kernel frozen")
        (art["final_ok"],) = ax.plot([], [], "o-", color=OKABE_ITO[0], label="after training")
        (art["final_diverged"],) = ax.plot([], [], "x", color=OKABE_ITO[3], ms=7, label="diverged")
        (art["chosen"],) = ax.plot([], [], "o", ms=11, mfc="none", color="k")
        ax.axhline(2.0, color=OKABE_ITO[3], ls="--", lw=1)
        ax.axvspan(0, 2, color=OKABE_ITO[5], alpha=0.12, label="lazy band")
        art["band"] = ax.axvspan(2, 3, color=OKABE_ITO[1], alpha=0.15, label="catapult band")
        ax.text(1.0, 0.2, "lazy", ha="center")
        art["band_text"] = ax.text(2.5, 0.2, "catapult", ha="center")
        ax.set_xlim(0.0, multiples[-1] + 0.3)
        ax.set_xlabel("lr x lambda_0")
        ax.set_ylabel("lr x final top eigenvalue")
        ax.set_title("after 150 steps, every lr")
        ax.legend(loc="upper left")

    def full(axes, width, lr):
        if not art:
            setup(axes)
        runs = runs_by_width[int(width)]
        i = catapult.multiple_index(lr)
        eta = runs.lrs[i]
        art["loss"], art["lam"], art["steps"] = runs.loss[i], runs.top_eigenvalue[i], runs.steps
        art["loss_all"].set_data(runs.steps, art["loss"])
        art["title_loss"].set_text(f"loss ({catapult.regime(int(width), lr)} run)")
        axes[0].set_xlim(runs.steps[0], runs.steps[-1])
        art["lam_all"].set_data(runs.steps, art["lam"])
        art["two_over_lr"].set_ydata([2.0 / eta] * 2)
        art["lam0"].set_ydata([runs.lam0] * 2)
        finite = art["lam"][np.isfinite(art["lam"])]
        axes[1].set_xlim(runs.steps[0], runs.steps[-1])
        axes[1].set_ylim(0, 1.1 * max(2.2 * runs.lam0, float(finite.max()) if finite.size else 0.0))
        art["title_lam"].set_text(f"N = {width}, lr = {lr:g} / lambda_0")
        final = runs.top_eigenvalue[:, -1] * runs.lrs
        ok = np.isfinite(final)
        art["final"] = final
        art["final_ok"].set_data(multiples[ok], final[ok])
        art["final_diverged"].set_data(multiples[~ok], np.full((~ok).sum(), 2.0))
        art["chosen"].set_data([lr], [final[i] if ok[i] else 2.0])
        axes[2].set_ylim(0.0, max([multiples[-1] + 0.3, *(1.05 * final[ok])]))
        edge = catapult.max_stable_multiple(int(width))
        art["band"].set_width(edge - 2.0)  # a Rectangle from x = 2 (matplotlib >= 3.9)
        art["band_text"].set_x(0.5 * (2 + edge))

    def update(axes, time, width, lr):
        s = int(time) + 1
        art["loss_line"].set_data(art["steps"][:s], art["loss"][:s])
        art["lam_line"].set_data(art["steps"][:s], art["lam"][:s])
        return {"loss": art["loss"][:s], "top_eigenvalue": art["lam"][:s], "final": art["final"]}

    stage = staged_draw(full, update)

    def draw(axes, steps, width, lr):  # the cheap control here counts steps, not time
        return stage(axes, steps, width=width, lr=lr)

    steps = [int(s) for s in steps]
    return InteractiveFigure(draw, widths=widths, extra={"steps": steps_slider(steps, steps[-1]), "lr": lr_slider()},
                             ncols=3, figsize=(11.5, 3.5), width=shown, show_stages=False,
                             stages=filling_stages(runs_by_width, catapult.catapult_runs, widths))
