"""Notebook 07's figures: kernels against networks on the digits.

The numbers come from ``course_utils.experiments.real_data``; this module only draws. Every
draw returns the arrays it plotted (``demo.drawn``).
"""

from __future__ import annotations

import numpy as np

from ..experiments import real_data as rd
from .interactive import (
    OKABE_ITO,
    InteractiveFigure,
    choice_slider,
    course_style,
    nearest_index,
    plain_log_ticks,
    set_time_marker,
    static_figure,
    steps_slider,
    width_colours,
)

NET, KERNEL, MEAN = OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[7]
DEPTH_TIMES = tuple(float(t) for t in np.round(np.concatenate([[0.0], np.geomspace(0.1, 1e4, 25)]), 6))


def width_demo(widths=rd.WIDTHS, width: int | None = None, time: float | None = None) -> InteractiveFigure:
    """Trained networks against their kernel flow on the test digits, with width and time controls.

    Left: every test output (10 per image) of the seed-0 network against the prediction of
    ``GradientFlow(K_inf, y, f0)`` from the same network's f0, at time t. Right: test accuracy
    over time of both seeds' networks, their kernel flows, and the f0 = 0 kernel flow.
    Every width is trained when the demo is built (``rd.width_run``, cached: after the notebook's
    width sweep this costs nothing); a width or time move only indexes recorded arrays.

    The draw returns ``{"width", "time", "index", "net", "kernel", "distance", "times",
    "net_accuracy", "flow_accuracy", "kernel_accuracy"}``.
    """
    widths = tuple(int(w) for w in widths)
    runs = {w: rd.width_run(w) for w in widths}  # the sweep's runs: a width move never trains
    times = [float(t) for t in runs[widths[0]].times]  # the same at every width (lr from the limit kernel)
    state: dict = {}

    def build(axes):
        ax, ax_acc = axes
        state["scatter"] = ax.scatter(np.zeros(2), np.zeros(2), s=3, color=NET, alpha=0.4, label="test outputs")
        ax.plot([-0.6, 1.4], [-0.6, 1.4], color="0.4", lw=0.8, ls="--", label="network = kernel")
        ax.set_xlim(-0.6, 1.4)
        ax.set_ylim(-0.6, 1.4)
        ax.set_xlabel("kernel flow prediction (same f0)")
        ax.set_ylabel("trained network output")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        positive = [t for t in times if t > 0]
        state["net_acc"] = [ax_acc.plot(positive, positive, color=NET, lw=1.5, ls=ls, label=f"network, seed {s}")[0]
                            for s, ls in zip(rd.SEEDS, ["-", "-."])]
        state["flow_acc"] = ax_acc.plot(positive, positive, color=KERNEL, lw=1.2, ls="--", marker=".",
                                        label="kernel flow, same f0 (seed 0)")[0]
        state["kernel_acc"] = ax_acc.plot(positive, positive, color=MEAN, lw=1.0, ls=":", label="kernel flow, f0 = 0")[0]
        state["now"] = ax_acc.axvline(times[-1], color="k", lw=0.8)
        ax_acc.set_xscale("log")
        plain_log_ticks(ax_acc, "x")
        ax_acc.set_xlim(positive[0], positive[-1])
        ax_acc.set_ylim(0.0, 1.0)
        ax_acc.set_xlabel("time t = lr x steps")
        ax_acc.set_ylabel("test accuracy")
        ax_acc.legend(loc="lower right", fontsize=8, frameon=False)

    def draw(axes, width, time):
        if not state:
            build(axes)
        run = runs[width]
        k = nearest_index(run.times, time)
        drawn = {
            "width": width, "time": time, "index": k,
            "net": run.net_test[0, k].ravel(), "kernel": run.flow_test[0, k].ravel(),
            "distance": float(run.distance[0, k]), "times": run.times[1:],
            "net_accuracy": run.net_accuracy[:, 1:], "flow_accuracy": run.flow_accuracy[0, 1:],
            "kernel_accuracy": run.kernel_accuracy[1:],
        }
        state["scatter"].set_offsets(np.column_stack([drawn["kernel"], drawn["net"]]))
        for line, acc in zip(state["net_acc"], drawn["net_accuracy"]):
            line.set_data(drawn["times"], acc)
        state["flow_acc"].set_data(drawn["times"], drawn["flow_accuracy"])
        state["kernel_acc"].set_data(drawn["times"], drawn["kernel_accuracy"])
        set_time_marker(state["now"], time)
        axes[0].set_title(f"N = {width}, t = {time:.3g}: relative distance {drawn['distance']:.3f}", fontsize=9)
        axes[1].set_title(f"test accuracy (network {100 * run.net_accuracy[0, k]:.1f}%, "
                          f"kernel {100 * run.flow_accuracy[0, k]:.1f}%, f0 = 0: {100 * run.kernel_accuracy[k]:.1f}%)", fontsize=9)
        return drawn

    return InteractiveFigure(draw, widths=widths, times=times, width=widths[0] if width is None else width,
                             time=times[-1] if time is None else time, ncols=2, figsize=(10.0, 3.6),
                             title="Trained networks (NTK parameterization) against the limit kernel, test digits")


def depth_demo(depth: int = 1, time: float | None = None) -> InteractiveFigure:
    """The limit NTK at each depth: its normalised matrix on the training digits, and its test loss over time.

    Controls: **depth** L (the kernels of ``KERNEL_DEPTHS``) and **time** (the f0 = 0 kernel flow).
    Left: ``K(x,x')/sqrt(K(x,x)K(x',x'))`` on the 100 training images sorted by digit. Right: test
    loss of the kernel flow over time for every depth (the chosen one bold), marker at t.

    The draw returns ``{"depth", "time", "normalised", "times", "loss", "loss_now", "accuracy_now"}``.
    """
    data = rd.digits_split()
    order = np.argsort(data.labels_train, kind="stable")
    depths = list(rd.KERNEL_DEPTHS)
    times = DEPTH_TIMES
    curves = {L: rd.kernel_flow_curve(L, times) for L in depths}
    normalised = {L: rd.normalised_kernel(rd.limit_kernels(L)[0])[np.ix_(order, order)] for L in depths}
    colours = width_colours(depths)
    state: dict = {}

    def build(axes):
        ax, ax_loss = axes
        state["image"] = ax.imshow(normalised[depths[0]], vmin=-0.2, vmax=1.0, cmap="viridis", interpolation="nearest")
        ax.figure.colorbar(state["image"], ax=ax, label="normalised kernel")
        ax.set_xlabel("training image (sorted by digit)")
        ax.set_ylabel("training image (sorted by digit)")
        state["lines"] = {}
        for L in depths:
            state["lines"][L] = ax_loss.plot(times[1:], curves[L][0][1:], color=colours[L], lw=1.0, label=f"L = {L}")[0]
        state["now"] = ax_loss.axvline(times[-1], color="k", lw=0.8)
        ax_loss.set_xscale("log")
        ax_loss.set_yscale("log")
        plain_log_ticks(ax_loss, "both", )
        ax_loss.set_xlabel("time t")
        ax_loss.set_ylabel("test loss per image")
        ax_loss.legend(fontsize=8, frameon=False, ncol=2, loc="upper right")

    def draw(axes, depth, time):
        if not state:
            build(axes)
        loss, acc = curves[depth]
        k = nearest_index(times, time)
        state["image"].set_data(normalised[depth])
        for L, line in state["lines"].items():
            line.set_linewidth(2.5 if L == depth else 0.8)
        set_time_marker(state["now"], time)
        axes[0].set_title(f"normalised NTK, L = {depth}", fontsize=9)
        axes[1].set_title(f"L = {depth}, t = {time:.3g}: loss {loss[k]:.3f}, accuracy {100 * acc[k]:.1f}%", fontsize=9)
        return {"depth": depth, "time": time, "normalised": normalised[depth], "times": np.asarray(times),
                "loss": loss, "loss_now": float(loss[k]), "accuracy_now": float(acc[k])}

    depth_control = choice_slider(depths, depth, description="depth L",
                                  tooltip="hidden layers of the limit kernel", continuous=True)
    return InteractiveFigure(draw, times=times, time=times[-1] if time is None else time, extra={"depth": depth_control},
                             expensive=(), ncols=2, figsize=(10.0, 3.6),
                             title="The limit NTK of depth L on the digits: it flattens, and its test loss follows")


def feature_demo(steps: int | None = None) -> InteractiveFigure:
    """Lazy and feature-learning runs side by side, replayed by a **steps** control (learning rates differ).

    Left: test accuracy against steps for every run of ``FEATURE_RUNS``. Right: alignment of the
    current empirical NTK with the one-vs-rest targets. A marker shows the chosen record.

    The draw returns ``{"steps", "index", "names", "record_steps", "accuracy", "alignment"}``.
    """
    result = rd.feature_runs()
    record = [int(s) for s in result.steps]
    colours = dict(zip(result.names, OKABE_ITO))
    state: dict = {}

    def build(axes):
        ax, ax_align = axes
        shown = np.maximum(result.steps, 0.5)  # step 0 drawn at 0.5 on the log axis (marked in the label)
        for i, name in enumerate(result.names):
            ls = "-" if name.startswith("NTK") else "--"
            ax.plot(shown, result.test_accuracy[i], color=colours[name], ls=ls, marker=".", label=name)
            ax_align.plot(shown, result.alignment[i], color=colours[name], ls=ls, marker=".", label=name)
        state["markers"] = [a.axvline(record[-1], color="k", lw=0.8) for a in axes]
        for a in axes:
            a.set_xscale("log")
            plain_log_ticks(a, "x")
            a.set_xlabel("steps (step 0 drawn at 0.5)")
        ax.set_ylim(0, 1)
        ax.set_ylabel("test accuracy")
        ax_align.set_ylabel("kernel-target alignment")
        ax.legend(fontsize=8, frameon=False, loc="lower right")

    def draw(axes, steps):
        if not state:
            build(axes)
        k = nearest_index(record, steps)
        for marker in state["markers"]:
            marker.set_xdata([max(steps, 0.5)] * 2)
        axes[0].set_title(f"test accuracy after {steps} steps (learning rate after the name):\n" + ", ".join(
            f"{n.replace(', lr ', ' ')} {100 * a:.1f}%" for n, a in zip(result.names, result.test_accuracy[:, k])), fontsize=8)
        axes[1].set_title("alignment y^T K y / (||K|| ||y||^2), mean over digits", fontsize=9)
        return {"steps": steps, "index": k, "names": result.names, "record_steps": np.asarray(record),
                "accuracy": result.test_accuracy[:, k], "alignment": result.alignment[:, k]}

    return InteractiveFigure(draw, extra={"steps": steps_slider(record, steps)}, expensive=(), ncols=2,
                             figsize=(10.0, 3.6), title="Lazy (NTK) against feature-learning (muP, large lr) networks")


def learning_curve_demo(n: int | None = None) -> InteractiveFigure:
    """The learning curve of kernel regression: theory from the spectrum against measurement, with an **n** control.

    Left: population error against n (theory: a line over many n; measured: mean and every draw),
    marker at the chosen n. Right: per eigenmode, the target power ``vbar_k^2`` and what the
    theory says is still unlearnt at n, ``kappa^2 vbar_k^2 / ((n rho_k + kappa)^2 (1 - chi))``.

    The draw returns ``{"n", "sizes", "theory", "measured", "fine_n", "fine_theory", "power", "left"}``.
    """
    curve = rd.learning_curve()
    fine = np.unique(np.geomspace(5, curve.sizes[-1] * 1.5, 40).round())
    fine_theory = np.array([rd.theory_error(curve.spectrum, f)[0] for f in fine])
    modes = np.arange(1, len(curve.spectrum.eigenvalues) + 1)
    power = np.maximum(curve.spectrum.target_power, 1e-12)
    sizes = [int(s) for s in curve.sizes]
    state: dict = {}

    def build(axes):
        ax, ax_modes = axes
        ax.plot(fine, fine_theory, color=KERNEL, lw=1.5, label="theory (kappa equation)")
        for d in range(curve.measured.shape[1]):
            ax.plot(curve.sizes, curve.measured[:, d], ".", color=NET, alpha=0.3, ms=4,
                    label="measured, each training set" if d == 0 else None)
        ax.plot(curve.sizes, curve.measured_mean, "o", color=NET, mfc="none", label="measured, mean")
        state["now"] = ax.axvline(sizes[-1], color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_ticks(ax)
        ax.set_xlabel("training-set size n")
        ax.set_ylabel("population error E_g")
        ax.legend(fontsize=8, frameon=False, loc="lower left")
        ax_modes.plot(modes, power, color="0.6", lw=0.8, label="target power vbar_k^2")
        state["left"] = ax_modes.plot(modes, power, color=KERNEL, lw=1.2, label="still unlearnt at n")[0]
        ax_modes.set_xscale("log")
        ax_modes.set_yscale("log")
        ax_modes.set_ylim(1e-8, 1.0)
        plain_log_ticks(ax_modes, ticks=None)
        ax_modes.set_xlabel("eigenmode k (largest eigenvalue first)")
        ax_modes.set_ylabel("power per mode (floored at 1e-12)")
        ax_modes.legend(fontsize=8, frameon=False, loc="lower left")

    def draw(axes, n):
        if not state:
            build(axes)
        error, kappa, per_mode = rd.theory_error(curve.spectrum, n)
        left = np.maximum(per_mode, 1e-12)
        state["left"].set_ydata(left)
        state["now"].set_xdata([n, n])
        j = sizes.index(n)
        axes[0].set_title(f"n = {n}: theory {error:.3g}, measured {curve.measured_mean[j]:.3g}", fontsize=9)
        axes[1].set_title(f"kappa = {kappa:.3g}: modes with n rho_k >> kappa are learnt", fontsize=9)
        return {"n": n, "sizes": curve.sizes, "theory": curve.theory, "measured": curve.measured_mean,
                "fine_n": fine, "fine_theory": fine_theory, "power": power, "left": left, "error": error}

    control = choice_slider(sizes, sizes[-1] if n is None else n, description="n", tooltip="training-set size")
    return InteractiveFigure(draw, extra={"n": control}, expensive=(), ncols=2, figsize=(10.0, 3.6),
                             title="Learning curve of kernel regression on the digits: spectrum theory against measurement")


@course_style()
def width_plot() -> dict:
    """Static: relative distance of networks from their kernel flow against N (log-log, with the fit),
    and test accuracy of networks, kernel flows and kernel regression against N. Returns the data."""
    sweep = rd.width_sweep()
    fig, (ax, ax_acc) = static_figure(1, 2, (10.0, 3.4))
    for s, seed in enumerate(rd.SEEDS):
        ax.plot(sweep.widths, sweep.distance[:, s], "x", color=NET, label=f"seed {seed}")
    ax.plot(sweep.widths, sweep.mean_distance, "o-", color=NET, mfc="none", label="mean over seeds")
    ax.plot(sweep.widths, sweep.fit.predict(sweep.widths), color=KERNEL, ls="--", label=f"fit: exponent {sweep.fit}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    plain_log_ticks(ax, ticks=None)
    ax.set_xticks(sweep.widths, [str(w) for w in sweep.widths])
    ax.set_xlabel("width N")
    ax.set_ylabel("||f_net - f_kernel|| / ||f_kernel|| (test)")
    ax.legend(fontsize=8, frameon=False)
    ax_acc.plot(sweep.widths, sweep.net_accuracy.mean(axis=1), "o-", color=NET, label="networks (seed mean)")
    ax_acc.plot(sweep.widths, sweep.flow_accuracy.mean(axis=1), "s--", color=KERNEL, mfc="none", label="kernel flow, same f0")
    ax_acc.axhline(sweep.kernel_accuracy, color=MEAN, ls=":", label="kernel flow, f0 = 0")
    ax_acc.axhline(sweep.ntk.accuracy, color=OKABE_ITO[2], ls="-.", label="NTK regression (t = inf)")
    ax_acc.axhline(sweep.nngp.accuracy, color=OKABE_ITO[4], ls="--", label="NNGP regression")
    ax_acc.set_xscale("log", base=2)
    ax_acc.set_xticks(sweep.widths, [str(w) for w in sweep.widths])
    ax_acc.set_xlabel("width N")
    ax_acc.set_ylabel("test accuracy")
    ax_acc.legend(fontsize=8, frameon=False, loc="lower right")
    fig.tight_layout()
    return {"widths": sweep.widths, "distance": sweep.distance, "fit": sweep.fit,
            "net_accuracy": sweep.net_accuracy, "flow_accuracy": sweep.flow_accuracy}


@course_style()
def depth_plot() -> dict:
    """Static: test accuracy and test loss against depth for the limit NTK and NNGP and the trained networks."""
    kernels, nets = rd.depth_kernels(), rd.depth_networks()
    fig, (ax, ax_loss) = static_figure(1, 2, (10.0, 3.4))
    for a, key, label in [(ax, "accuracy", "test accuracy"), (ax_loss, "loss", "test loss per image")]:
        a.plot(kernels.depths, getattr(kernels, f"ntk_{key}"), "o-", color=KERNEL, label="NTK regression")
        a.plot(kernels.depths, getattr(kernels, f"nngp_{key}"), "s--", color=OKABE_ITO[4], mfc="none", label="NNGP regression")
        a.plot(nets.depths, getattr(nets, f"net_{key}"), "x-", color=NET, label=f"trained networks, N = {nets.width}")
        a.plot(nets.depths, getattr(nets, f"own_kernel_{key}"), "d-", color=OKABE_ITO[3], mfc="none", lw=1.0,
               label="their own kernel prediction (same f0, same step)")
        a.plot(nets.depths, getattr(nets, f"kernel_{key}"), "d:", color=MEAN, mfc="none", label="kernel prediction from f0 = 0")
        a.set_xscale("log")
        a.set_xticks(kernels.depths, [str(d) for d in kernels.depths])
        a.minorticks_off()
        a.set_xlabel("hidden layers L")
        a.set_ylabel(label)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    fig.tight_layout()
    return {"depths": kernels.depths, "ntk_accuracy": kernels.ntk_accuracy, "ntk_loss": kernels.ntk_loss,
            "network_depths": nets.depths, "net_accuracy": nets.net_accuracy, "own_kernel_accuracy": nets.own_kernel_accuracy}


__all__ = ["depth_demo", "depth_plot", "feature_demo", "learning_curve_demo", "width_demo", "width_plot"]
