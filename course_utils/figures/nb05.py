"""Notebook 05's figures: the spectral filter, the circle spectrum, spectral bias, early stopping, learning-rate transfer.

The numbers come from ``course_utils.experiments.spectrum`` and ``.parameterizations``; every
draw function returns the arrays it plotted (``demo.drawn``) so tests can compare them with a
direct computation.
"""

from __future__ import annotations

import math

import numpy as np

from ..experiments import parameterizations, spectrum
from ..kernels import as_numpy
from .interactive import (
    OKABE_ITO,
    InteractiveFigure,
    course_style,
    log_times,
    nearest_index,
    plain_log_ticks,
    round_times,
    set_time_marker,
    staged_draw,
    static_figure,
    steps_slider,
    width_colours,
)

BLUE, ORANGE, GREEN, VERMILLION, PURPLE = OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2], OKABE_ITO[3], OKABE_ITO[4]
FILTER_TIMES = round_times(log_times(1e-3, 1e3, 41))
SPECTRUM_N = 64
SPECTRUM_TIMES = round_times(log_times(1e-3, 1e3, 41))
GENERALIZATION_TIMES = round_times(log_times(1e-3, 1e4, 41))


def _default_width(widths, preferred: int = 1024):
    widths = [int(w) for w in widths]
    return preferred if preferred in widths else None  # None: the slider's middle value


# ---------------------------------------------------------------------- 1. the filter at work
def filter_demo(widths=spectrum.WIDTHS, times=FILTER_TIMES) -> InteractiveFigure:
    """Spectral filtering on the eigenbasis of the empirical NTK, with width and time controls.

    Left: the filter ``1 - exp(-lam t)`` against eigenvalue (one marker per eigenvalue of K).
    Middle: components ``u_k . y`` of the target (grey) and of the learned function (bars).
    Right: the learned function on the circle. ``drawn``: ``lam``, ``kept``, ``components``,
    ``function``.
    """
    data = spectrum.filter_problem()
    for w in widths:
        spectrum.filter_flow(int(w))
    lam_grid = np.geomspace(1e-4, 1e3, 200)
    y = as_numpy(data.y)
    dense_angles = as_numpy(data.dense_angles)
    art = {}

    def build(axes, n):
        ax = axes[0]
        (art["curve"],) = ax.semilogx(lam_grid, np.zeros_like(lam_grid), color="0.6", lw=1)
        (art["marks"],) = ax.semilogx(np.ones(n), np.zeros(n), "o", ms=4, color=BLUE)
        art["vline"] = ax.axvline(1.0, color=VERMILLION, ls=":", lw=1)
        ax.set_xlim(lam_grid[0], lam_grid[-1])
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("eigenvalue lambda_k")
        ax.set_ylabel("fraction kept")
        ax.set_title("kept: 1 - exp(-lambda t); dotted: 1/t")
        ax = axes[1]
        idx = np.arange(n)
        art["target_bars"] = ax.bar(idx, np.zeros(n), color="0.8", label="target u_k.y")
        art["bars"] = ax.bar(idx, np.zeros(n), width=0.5, color=BLUE, label="learned")
        top = max(float(np.max(np.abs(y @ as_numpy(spectrum.filter_flow(int(w)).flow.eigenvectors)))) for w in widths)
        ax.set_ylim(-1.08 * top, 1.08 * top)  # one range for every width
        ax.set_xlabel("eigen-direction k (fast -> slow)")
        ax.set_ylabel("component on u_k")
        ax.set_title("components on the eigenbasis")
        ax.legend(loc="lower right")
        ax = axes[2]
        ax.plot(dense_angles, as_numpy(data.y_dense), color="0.6", lw=1, label="target")
        (art["fn"],) = ax.plot(dense_angles, np.zeros(len(dense_angles)), color=BLUE, label="learned")
        ax.plot(as_numpy(data.angles), y, "k.", ms=5)
        ax.set_xlim(dense_angles[0], dense_angles[-1])
        ax.set_ylim(-2.3, 2.3)
        ax.set_xlabel("angle gamma")
        ax.set_ylabel("f(gamma)")
        ax.legend(loc="lower right")

    def full(axes, width):  # the width's eigenbasis; the artists are made once, on the first call
        kf = spectrum.filter_flow(int(width))
        lam = as_numpy(kf.flow.eigenvalues)
        art.update(lam=lam, comp=y @ as_numpy(kf.flow.eigenvectors), predictor=kf.predictor)
        if "curve" not in art:
            build(axes, len(lam))
        art["marks"].set_xdata(np.maximum(lam, 1e-4))
        for rect, height in zip(art["target_bars"], art["comp"]):
            rect.set_height(height)

    def update(axes, time, width):
        kept = spectrum.spectral_filter(art["lam"], time)
        art["curve"].set_ydata(spectrum.spectral_filter(lam_grid, time))
        art["marks"].set_ydata(kept)
        set_time_marker(art["vline"], 1.0 / time if time > 0 else 0.0)
        components = kept * art["comp"]
        for rect, height in zip(art["bars"], components):
            rect.set_height(height)
        function = as_numpy(art["predictor"](time))
        art["fn"].set_ydata(function)
        axes[2].set_title(f"width {width}, t = {time:.3g}")
        return {"lam": art["lam"], "kept": kept, "components": components, "function": function}

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=list(times), ncols=3,
                             figsize=(10.5, 3.1), width=_default_width(widths), time=float(times[len(times) // 2]))


# ---------------------------------------------------------------------- 2. the spectrum on the circle
@course_style()
def spectrum_figure(decay: spectrum.SpectrumDecay | None = None):
    """Static figure: analytic NTK eigenvalue against frequency (log-log), with and without bias (left),
    and ``k^2 lambda_k`` (right), whose plateaus count the kinks of the kernel function."""
    d = spectrum.spectrum_decay() if decay is None else decay
    ks = d.ks
    sel = (ks >= d.fit_range[0]) & (ks <= d.fit_range[1])
    even = ks % 2 == 0
    fig, axes = static_figure(1, 2, figsize=(10.0, 3.6))
    ax = axes[0]
    floor = 1e-6 * d.without_bias[0]
    _ = ax.loglog(ks, d.with_bias, "o-", ms=3, color=BLUE, label=f"sb2 = {spectrum.SB2}: all frequencies")
    _ = ax.loglog(ks[even], d.without_bias[even], "s", ms=4, mfc="none", color=ORANGE, label="sb2 = 0, even k")
    _ = ax.loglog(ks[~even], np.maximum(np.abs(d.without_bias[~even]), floor), "x", color=VERMILLION,
                  label="sb2 = 0, odd k: 0, drawn at the floor 1e-6 lambda_1")
    _ = ax.axhline(floor, color=VERMILLION, ls=":", lw=0.8)
    _ = ax.loglog(ks[sel], d.fit.predict(ks[sel]), "k--", lw=1, label=f"fit over k = {d.fit_range[0]}..{d.fit_range[1]}")
    ax.set_xlabel("frequency k")
    ax.set_ylabel("eigenvalue lambda_k of K on the grid")
    ax.set_title(f"fitted exponent {d.fit}")
    ax.legend(loc="lower left")
    plain_log_ticks(ax)
    ax = axes[1]
    _ = ax.semilogx(ks[even], ks[even] ** 2 * d.with_bias[even], "o", ms=4, color=BLUE, label=f"sb2 = {spectrum.SB2}, even k")
    _ = ax.semilogx(ks[~even], ks[~even] ** 2 * d.with_bias[~even], "^", ms=4, mfc="none", color=BLUE,
                    label=f"sb2 = {spectrum.SB2}, odd k")
    _ = ax.semilogx(ks[even], ks[even] ** 2 * d.without_bias[even], "s", ms=4, mfc="none", color=ORANGE, label="sb2 = 0, even k")
    _ = ax.semilogx(ks[~even], ks[~even] ** 2 * d.without_bias[~even], "x", color=VERMILLION, label="sb2 = 0, odd k")
    ax.set_xlabel("frequency k")
    ax.set_ylabel("k^2 lambda_k")
    ax.set_title("plateaus: two kinks (no bias, even k), one (bias)")
    ax.legend(loc="center right")
    plain_log_ticks(ax, "x")
    fig.tight_layout()
    return fig


def spectrum_demo(widths=spectrum.WIDTHS, times=SPECTRUM_TIMES, n: int = SPECTRUM_N) -> InteractiveFigure:
    """Eigenvalue against frequency on the circle (analytic line, empirical dots), and the fraction
    ``1 - exp(-lam_k t)`` of each frequency learned by time t. ``drawn``: ``ks``, ``empirical``
    (eigenvalues, clipped at 0), ``learned`` (empirical), ``learned_analytic``."""
    ks = np.arange(1, n // 2 + 1)
    lam_inf = spectrum.circle_spectrum(ks, n=n)
    for w in widths:
        spectrum.empirical_circle_kernel(int(w), n)
    art = {}

    def build(axes):
        ax = axes[0]
        ax.loglog(ks, lam_inf, "-", color="0.3", lw=1.5, label="infinite width")
        (art["spectrum"],) = ax.loglog(ks, np.ones(len(ks)), "o", ms=3, color=BLUE, label="the chosen width")
        every = np.concatenate([lam_inf] + [spectrum.fourier_eigenvalues(spectrum.empirical_circle_kernel(int(w), n), ks)
                                           for w in widths])
        every = every[every > 1e-8]
        ax.set_xlim(ks[0] / 1.2, ks[-1] * 1.2)
        ax.set_ylim(every.min() / 2, every.max() * 2)  # one range for every width
        ax.set_xlabel("frequency k")
        ax.set_ylabel("eigenvalue")
        ax.legend()
        ax = axes[1]
        (art["inf"],) = ax.semilogx(ks, np.zeros(len(ks)), "-", color="0.3", lw=1.5, label="infinite width")
        (art["emp"],) = ax.semilogx(ks, np.zeros(len(ks)), "o", ms=3, color=BLUE, label="the chosen width")
        ax.set_xlim(ks[0] / 1.2, ks[-1] * 1.2)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("frequency k")
        ax.set_ylabel("fraction learned 1 - exp(-lambda_k t)")
        ax.legend()

    def full(axes, width):  # the width's spectrum; the artists are made once, on the first call
        lam_emp = np.maximum(spectrum.fourier_eigenvalues(spectrum.empirical_circle_kernel(int(width), n), ks), 0.0)
        art["lam_emp"] = lam_emp
        if "spectrum" not in art:
            build(axes)
        art["spectrum"].set_ydata(np.maximum(lam_emp, 1e-8))
        axes[0].set_title(f"NTK spectrum on the circle, width {width}")

    def update(axes, time, width):
        learned_inf = spectrum.spectral_filter(lam_inf, time)
        learned = spectrum.spectral_filter(art["lam_emp"], time)
        art["inf"].set_ydata(learned_inf)
        art["emp"].set_ydata(learned)
        axes[1].set_title(f"fraction learned by t = {time:.3g}")
        return {"ks": ks, "empirical": art["lam_emp"], "learned": learned, "learned_analytic": learned_inf}

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=list(times), ncols=2,
                             figsize=(9.0, 3.2), width=_default_width(widths), time=1.0)


# ---------------------------------------------------------------------- 3. spectral bias
def spectral_bias_demo(widths=spectrum.WIDTHS) -> InteractiveFigure:
    """The low frequency arrives before the high one: the network of each width (seed 0) against
    its own initial kernel and the infinite-width kernel.

    Left: the network's function at time t and the infinite-width kernel prediction; right: the
    learned amplitude of each frequency over time (network solid, own K_0 dotted, infinite width
    dashed). ``drawn``: ``index`` (the record shown), ``network`` (the function on the dense grid),
    ``kernel``, ``amplitudes`` and ``own_kernel`` (the curves, records 1..T).
    """
    for w in widths:
        spectrum.bias_runs(int(w))
    run0 = spectrum.bias_runs(int(widths[0]))
    times = round_times(run0.times)
    curve_t = run0.times[1:]
    theory = spectrum.bias_kernel_amplitudes(curve_t, run0.lr)
    dense_angles = run0.dense_angles
    target = sum(np.cos(k * dense_angles) for k in spectrum.BIAS_FREQS)
    art = {}

    def build(axes):
        ax = axes[0]
        ax.plot(dense_angles, target, color="0.7", lw=1, label="target")
        (art["kern"],) = ax.plot(dense_angles, np.zeros_like(target), "k--", lw=1, label="kernel (infinite width)")
        (art["net"],) = ax.plot(dense_angles, np.zeros_like(target), color=BLUE, label="network")
        ax.set_xlim(dense_angles[0], dense_angles[-1])
        ax.set_ylim(-2.3, 2.6)
        ax.set_xlabel("angle gamma")
        ax.set_ylabel("f(gamma)")
        ax.legend(loc="lower right", ncol=3)
        ax = axes[1]
        art["amplitude"], art["own"] = [], []
        for j, (k, colour) in enumerate(zip(spectrum.BIAS_FREQS, (BLUE, VERMILLION))):
            art["amplitude"].append(ax.semilogx(curve_t, np.zeros_like(curve_t), color=colour, label=f"k = {k} network")[0])
            art["own"].append(ax.semilogx(curve_t, np.zeros_like(curve_t), ":", color=colour, lw=1.5,
                                          label=f"k = {k} own K_0")[0])
            ax.semilogx(curve_t, theory[:, j], "--", color=colour, lw=1, label=f"k = {k} infinite width")
        art["vline"] = ax.axvline(1.0, color="0.4", ls=":", lw=1)
        ax.set_xlim(curve_t[0], curve_t[-1])
        ax.set_ylim(-0.05, 1.1)
        ax.set_xlabel("time t")
        ax.set_ylabel("learned amplitude of cos(k gamma)")
        ax.legend(loc="upper left", ncol=2)

    def full(axes, width):  # the width's runs; the artists are made once, on the first call
        run = spectrum.bias_runs(int(width))
        art["run"] = run
        if "net" not in art:
            build(axes)
        for j in range(len(spectrum.BIAS_FREQS)):
            art["amplitude"][j].set_ydata(run.amplitudes[0, 1:, j])
            art["own"][j].set_ydata(run.own_kernel[0, 1:, j])
        axes[1].set_title(f"N = {width}, seed 0")

    def update(axes, time, width):
        run = art["run"]
        i = nearest_index(run.times, time)
        kept = spectrum.bias_kernel_amplitudes([run.times[i]], run.lr)[0]
        kernel = sum(a * np.cos(k * dense_angles) for k, a in zip(spectrum.BIAS_FREQS, kept))
        art["kern"].set_ydata(kernel)
        art["net"].set_ydata(run.dense[0, i])
        set_time_marker(art["vline"], time)
        axes[0].set_title(f"network N = {width} at t = {time:.3g}")
        return {"index": i, "network": run.dense[0, i], "kernel": kernel, "amplitudes": run.amplitudes[0, 1:],
                "own_kernel": run.own_kernel[0, 1:]}

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=times, ncols=2, figsize=(10.0, 3.4),
                             width=_default_width(widths), time=times[len(times) // 2])


# ---------------------------------------------------------------------- 4. convergence time against frequency
@course_style()
def convergence_figure(result: spectrum.ConvergenceTimes | None = None):
    """Static log-log figure of measured and predicted convergence times against frequency, each parity."""
    r = spectrum.convergence_times() if result is None else result
    freqs = r.freqs
    even = freqs % 2 == 0
    fig, axes = static_figure(1, 1, figsize=(6.4, 3.6))
    ax = axes[0]
    _ = ax.loglog(freqs, r.predicted, "k--", lw=1, label="kernel prediction (infinite width)")
    _ = ax.loglog(freqs[even], r.measured[even], "o", color=BLUE,
                  label=f"network, even k (exponent {r.measured_fit.exponent:.3g}; kernel {r.predicted_fit.exponent:.3g})")
    _ = ax.loglog(freqs[~even], r.measured[~even], "^", color=ORANGE,
                  label=f"network, odd k (exponent {r.odd_measured_fit.exponent:.3g}; kernel {r.odd_predicted_fit.exponent:.3g})")
    sel = freqs >= r.fit_from
    ref = r.predicted[sel][-1] * (freqs[sel] / freqs[sel][-1]) ** 2.0
    _ = ax.loglog(freqs[sel], ref, ":", color=VERMILLION, label="slope 2 (Basri et al. 2019)")
    plain_log_ticks(ax, "x", ticks=[int(k) for k in freqs])
    plain_log_ticks(ax, "y")
    ax.set_xlabel("frequency k")
    ax.set_ylabel("time for the residual to fall to 1/e")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------- 5. generalization
def generalization_demo(widths=spectrum.WIDTHS, times=GENERALIZATION_TIMES) -> InteractiveFigure:
    """Train and test error over time, early stopping, the learned function at time t and the
    t -> infinity kernel interpolant. ``drawn``: ``function`` (test grid), ``curve_times``,
    ``train_err``, ``test_err``, ``limit``."""
    data = spectrum.generalization_problem()
    for w in widths:
        spectrum.generalization_run(int(w))
    analytic = spectrum.generalization_run(math.inf)
    ta, yt = as_numpy(data.dense_angles), as_numpy(data.y_dense)
    art = {}

    def build(axes, g):
        ax = axes[0]
        ax.plot(ta, yt, color="0.6", lw=1, label="clean target")
        (art["limit"],) = ax.plot(ta, g.limit, "--", color=ORANGE, lw=1, label="t -> infinity (interpolant)")
        (art["fn"],) = ax.plot(ta, np.zeros_like(ta), color=BLUE, label="learned at time t")
        ax.plot(as_numpy(data.angles), as_numpy(data.y), "k.", ms=6, label="noisy training data")
        ax.set_xlim(ta[0], ta[-1])
        ax.set_ylim(-2.5, 2.5)
        ax.set_xlabel("angle gamma")
        ax.set_ylabel("f(gamma)")
        ax.legend(loc="lower left")
        ax = axes[1]
        ct = g.curve_times
        (art["train"],) = ax.loglog(ct, g.train_err, color=BLUE, label="train error")
        (art["test"],) = ax.loglog(ct, g.test_err, color=VERMILLION, label="test error")
        ax.loglog(ct, analytic.test_err, ":", color="0.5", lw=1, label="test, infinite width")
        art["limit_err"] = ax.axhline(g.limit_err, color=ORANGE, ls="--", lw=1, label="interpolant test error")
        (art["best"],) = ax.plot(g.best_time, g.best_test_err, "v", color="k", ms=6, label="early stopping")
        art["vline"] = ax.axvline(1.0, color="0.4", ls=":", lw=1)
        ax.set_xlim(ct[0], ct[-1])
        ax.set_xlabel("time t")
        ax.set_ylim(1e-4, 5)
        ax.set_ylabel("mean squared error")
        ax.legend(loc="lower left")

    def full(axes, width):  # the width's run; the artists are made once, on the first call
        g = spectrum.generalization_run(int(width))
        art["g"] = g
        if "fn" not in art:
            build(axes, g)
        art["limit"].set_ydata(g.limit)
        art["train"].set_data(g.curve_times, g.train_err)
        art["test"].set_data(g.curve_times, g.test_err)
        art["limit_err"].set_ydata([g.limit_err, g.limit_err])
        art["best"].set_data([g.best_time], [g.best_test_err])
        axes[1].set_title(f"train and test error, width {width}")

    def update(axes, time, width):
        g = art["g"]
        function = as_numpy(g.kernel.predictor(time))
        art["fn"].set_ydata(function)
        set_time_marker(art["vline"], time)
        axes[0].set_title(f"width {width}, t = {time:.3g}")
        return {"function": function, "curve_times": g.curve_times, "train_err": g.train_err,
                "test_err": g.test_err, "limit": g.limit}

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=list(times), ncols=2,
                             figsize=(9.5, 3.3), width=_default_width(widths), time=1.0)


# ---------------------------------------------------------------------- 6. learning-rate transfer
NAMES = {"standard": "standard (SP)", "ntk": "NTK parameterization", "mup": "muP"}
PARAMETERIZATION_COLOURS = {"standard": VERMILLION, "ntk": BLUE, "mup": GREEN}


def lr_transfer_demo(widths=parameterizations.WIDTHS, steps=parameterizations.RECORDED_STEPS) -> InteractiveFigure:
    """Loss after a number of **steps** against learning rate, for every width, under SP, NTK and muP.

    The steps control counts gradient-descent steps (the learning rate varies along the x axis,
    so ``lr x steps`` differs from curve to curve); diverged learning rates are left out. The
    width control marks that width's edge of stability ``2 / lambda_max`` of its initial kernel
    (black, dotted) and draws its curve bold, with markers. ``drawn``: ``{parameterization: {width: (lrs,
    losses)}}`` of the plotted (finite) points, ``edge`` (``{parameterization: 2 / lambda_max}`` of
    the chosen width) and ``steps``.
    """
    scales = {par: parameterizations.kernel_scale(par, tuple(int(w) for w in widths)) for par in parameterizations.PARAMETERIZATIONS}
    for par in parameterizations.PARAMETERIZATIONS:
        for w in widths:
            parameterizations.lr_sweep(par, int(w))
    colours = width_colours(widths)

    art = {}

    def build(axes):
        for ax, par in zip(axes, parameterizations.PARAMETERIZATIONS):
            for w in widths:
                colour = colours[int(w)]
                art[par, int(w)] = ax.loglog([], [], "-", ms=3, lw=1.2, color=colour, label=f"N = {w}")[0]
                art[par, int(w), "best"] = ax.plot([], [], "*", ms=9, color=colour)[0]
            art[par, "edge"] = ax.axvline(1.0, color="k", ls=":", lw=1.5, label="2 / lambda_max, chosen N")
            lrs = parameterizations.LEARNING_RATES[par]
            ax.set_xlim(lrs[0] / 1.5, lrs[-1] * 1.5)
            ax.set_ylim(1e-4, 30)
            ax.set_xlabel("learning rate")
            ax.set_ylabel("training loss")
        axes[-1].legend(loc="upper right")
        plain_log_ticks(axes)

    def draw(axes, width, steps):
        # The artists are made once; a move gives them new data and restyles the chosen width.
        if not art:
            build(axes)
        drawn = {"steps": int(steps), "edge": {}}
        for ax, par in zip(axes, parameterizations.PARAMETERIZATIONS):
            drawn[par] = {}
            for w in widths:
                sweep = parameterizations.lr_sweep(par, int(w))
                losses = sweep.loss[:, int(steps)]
                finite = np.isfinite(losses)
                chosen = int(w) == int(width)
                line = art[par, int(w)]
                line.set_data(sweep.learning_rates[finite], losses[finite])
                line.set_marker("o" if chosen else "None")
                line.set_linewidth(2.0 if chosen else 1.2)
                best = art[par, int(w), "best"]
                if finite.any():
                    j = int(np.argmin(losses))
                    best.set_data([sweep.learning_rates[j]], [losses[j]])
                else:
                    best.set_data([], [])
                drawn[par][int(w)] = (sweep.learning_rates[finite], losses[finite])
            lam = scales[par].lambda_max[list(scales[par].widths).index(int(width))]
            edge = 2.0 / lam
            drawn["edge"][par] = edge
            art[par, "edge"].set_xdata([edge, edge])
            ax.set_title(f"{NAMES[par]}: N = {width}, {int(steps)} steps")
        return drawn

    return InteractiveFigure(draw, widths=list(widths), extra={"steps": steps_slider(steps, steps[-1])}, ncols=3,
                             figsize=(12.0, 3.5), width=_default_width(widths))


# ---------------------------------------------------------------------- bonus: the coordinate check
def coordinate_check_demo(steps=tuple(range(1, parameterizations.COORD_STEPS + 1))) -> InteractiveFigure:
    """Yang et al.'s coordinate check: per-coordinate size against width after a number of **steps**.

    Left: rms of the change ``h_s - h_0`` of the hidden pre-activations; right: rms of the output
    ``f``; one line per parameterization, each trained with the learning rate ``1 / lambda_max`` of
    its width-64 network at every width. Width is the x axis, so there is no width control.
    ``drawn``: ``{parameterization: (widths, change, output)}`` at the chosen steps, ``steps`` and
    ``ylims`` (one y range per panel, the same at every step).
    """
    checks = {par: parameterizations.coordinate_check(par) for par in parameterizations.PARAMETERIZATIONS}
    widths = next(iter(checks.values())).widths
    art = {}

    def setup(axes):
        # One y range per panel for every step, so a step move shows the sizes growing (and the
        # lines move by set_data alone: no axes rebuilt, no autoscaling on a log axis).
        ranges = ([c.change for c in checks.values()], [c.output[:, 1:] for c in checks.values()])
        for ax, values in zip(axes, ranges):
            positive = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values])
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_ylim(positive.min() / 2, positive.max() * 2)
        for par in checks:
            for k, ax in enumerate(axes):
                (art[(par, k)],) = ax.plot(widths, np.ones(len(widths)), "o-", color=PARAMETERIZATION_COLOURS[par],
                                           label=NAMES[par])
        axes[0].plot(widths, 0.05 * (widths / widths[0]) ** -0.5, "k:", lw=1, label="slope -1/2")
        axes[0].set_ylabel("rms of h_s - h_0 (per coordinate)")
        art["title0"] = axes[0].set_title("")
        axes[1].set_ylabel("rms of the output f")
        art["title1"] = axes[1].set_title("")
        for ax in axes:
            ax.set_xlabel("width N")
            ax.legend(loc="upper left")
            plain_log_ticks(ax, "x", ticks=[int(w) for w in widths])
            plain_log_ticks(ax, "y")

    def draw(axes, steps):
        if not art:
            setup(axes)
        s = int(steps)
        drawn = {"steps": s}
        for par, c in checks.items():
            change, output = c.change[:, s - 1], c.output[:, s]
            art[(par, 0)].set_ydata(change)
            art[(par, 1)].set_ydata(output)
            drawn[par] = (c.widths, change, output)
        art["title0"].set_text(f"change of the hidden features after {s} steps")
        art["title1"].set_text(f"output after {s} steps")
        drawn["ylims"] = (axes[0].get_ylim(), axes[1].get_ylim())
        return drawn

    return InteractiveFigure(draw, widths=None, extra={"steps": steps_slider(list(steps), steps[-1])}, ncols=2,
                             figsize=(10.0, 3.5))
