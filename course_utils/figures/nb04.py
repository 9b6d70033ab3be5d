"""Notebook 04's figures: the kernel prediction against real gradient descent, and discrete steps.

The numbers come from ``course_utils.experiments.gradient_flow``; this module only draws.
"""

from __future__ import annotations

import numpy as np

from ..experiments import gradient_flow as gf
from .interactive import OKABE_ITO, InteractiveFigure, multiple_slider, nearest_index, plain_log_ticks

NET, KERNEL, DISCRETE = OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[3]


def flow_demo(widths=gf.FLOW_WIDTHS, width: int | None = None, time: float | None = None) -> InteractiveFigure:
    """Closed-form kernel prediction against real gradient descent, with width and time controls.

    Left: the residual ``|U^T (f - y)|`` along each eigenvector of the network's ``K0`` (the
    prediction decays as ``exp(-lambda_k t)``). Middle: the fitted function on the circle.
    Right: the training loss over time with the bound ``1/2 exp(-2 lambda_min t) ||r(0)||^2``.
    A time move evaluates the ``GradientFlow`` (no ``eigh``) and indexes the recorded run.

    The draw returns ``{"width", "time", "t0_modes", "kernel_modes", "net_modes", "net_fn",
    "kernel_fn", "loss_times", "net_loss", "kernel_loss", "bound"}`` (the plotted arrays).
    """
    widths = tuple(int(w) for w in widths)
    data = {w: gf.flow_width_data(w) for w in widths}  # precompute every offered width now
    angles, _, y, grid_angles, _ = gf.flow_problem()
    y = np.asarray(y)
    times = list(gf.FLOW_TIMES)
    fine = np.concatenate([[0.0], np.geomspace(1e-3, gf.T_END, 200)])
    modes = np.arange(1, len(angles) + 1)
    state: dict = {}

    def build(axes):
        ax_modes, ax_fn, ax_loss = axes
        ones = np.ones_like(modes, float)
        state["t0"] = ax_modes.plot(modes, ones, color="0.7", marker=".", lw=0.8, label="t = 0")[0]
        state["kernel_modes"] = ax_modes.plot(
            modes, ones, color=KERNEL, marker="o", mfc="none", lw=1.2, label="kernel prediction"
        )[0]
        state["net_modes"] = ax_modes.plot(modes, ones, color=NET, marker="x", ls="none", label="trained network")[0]
        ax_modes.set_yscale("log")
        ax_modes.set_ylim(1e-6, 10)
        plain_log_ticks(ax_modes, "y", ticks=[1e-6, 1e-4, 1e-2, 1])
        ax_modes.set_xticks([1, 4, 8, 12, 16])
        ax_modes.set_xlabel("eigendirection k (fast to slow)")
        ax_modes.set_ylabel("|U^T (f - y)|_k")
        ax_modes.legend(fontsize=8, loc="lower right", framealpha=0.85)

        ax_fn.plot(grid_angles, gf.target_on(grid_angles), color="0.6", lw=1, label="target")
        ax_fn.plot(angles, y, "k.", label="training points")
        state["net_fn"] = ax_fn.plot(grid_angles, grid_angles * 0, color=NET, lw=1.5, label="network")[0]
        state["kernel_fn"] = ax_fn.plot(
            grid_angles, grid_angles * 0, color=KERNEL, lw=1.5, ls="--", label="kernel prediction"
        )[0]
        every = np.concatenate([d.net_grid.ravel() for d in data.values()] + [y])
        ax_fn.set_ylim(max(float(every.min()), -4.0) - 0.2, min(float(every.max()), 4.0) + 0.2)
        ax_fn.set_xlim(0, 2 * np.pi)
        ax_fn.set_xticks([0, np.pi, 2 * np.pi], ["0", "pi", "2 pi"])
        ax_fn.set_xlabel("angle on the circle")
        ax_fn.legend(fontsize=8, frameon=False, loc="upper center", ncol=2)

        state["net_loss"] = ax_loss.plot([0, 1], [1, 1], color=NET, lw=1.5, label="network")[0]
        state["kernel_loss"] = ax_loss.plot(
            fine, np.ones_like(fine), color=KERNEL, lw=1.2, ls="--", label="kernel prediction"
        )[0]
        state["bound"] = ax_loss.plot(
            fine, np.ones_like(fine), color="0.4", lw=1, ls=":", label="bound exp(-2 lam_min t)"
        )[0]
        state["now"] = ax_loss.axvline(0.0, color="k", lw=0.8)
        from matplotlib.ticker import NullLocator

        ax_loss.set_xscale("symlog", linthresh=0.01)
        ax_loss.set_yscale("log")
        ax_loss.set_xlim(0, gf.T_END)
        ax_loss.set_ylim(1e-8, 30)
        ax_loss.set_xticks([0, 0.01, 0.1, 1, 10, 100], ["0", "0.01", "0.1", "1", "10", "100"])
        ax_loss.xaxis.set_minor_locator(NullLocator())
        plain_log_ticks(ax_loss, "y", ticks=[1e-8, 1e-6, 1e-4, 1e-2, 1])
        ax_loss.set_xlabel("time t")
        ax_loss.set_ylabel("loss 1/2 ||f - y||^2")
        ax_loss.legend(fontsize=8, frameon=False, loc="lower left")
        state["width"] = None

    def draw(axes, width, time):
        if not state:
            build(axes)
        d = data[width]
        k = nearest_index(times, time)
        U = np.asarray(d.flow.eigenvectors)
        if state["width"] != width:  # per-width lines: change only when the width does
            state["t0"].set_ydata(np.abs(np.asarray(d.flow.initial_residual_coefficients)))
            state["net_loss"].set_data(d.run_times, d.run_loss)
            state["kernel_loss"].set_ydata(np.asarray(d.flow.loss(fine)))
            r0_sq = float(np.sum(np.asarray(d.flow.initial_residual_coefficients) ** 2))
            state["bound"].set_ydata(0.5 * np.exp(-2 * float(d.flow.eigenvalues[-1]) * fine) * r0_sq)
            state["width"] = width
        drawn = {
            "width": width,
            "time": time,
            "t0_modes": np.asarray(state["t0"].get_ydata()),
            "kernel_modes": np.abs(np.asarray(d.flow.residual_coefficients(time))),
            "net_modes": np.abs((d.net_outputs[k] - y) @ U),
            "net_fn": d.net_grid[k],
            "kernel_fn": np.asarray(d.predictor(time)),
            "loss_times": fine,
            "net_loss": d.run_loss,
            "kernel_loss": np.asarray(state["kernel_loss"].get_ydata()),
            "bound": np.asarray(state["bound"].get_ydata()),
        }
        for name in ["kernel_modes", "net_modes", "net_fn", "kernel_fn"]:
            state[name].set_ydata(drawn[name])
        state["now"].set_xdata([time, time])
        axes[0].set_title(f"residual per eigendirection, t = {time:.3g}", fontsize=9)
        axes[1].set_title(f"fitted function, N = {width}", fontsize=9)
        axes[2].set_title("training loss (dotted: the bound)", fontsize=9)
        return drawn

    return InteractiveFigure(
        draw,
        widths=widths,
        times=times,
        width=widths[0] if width is None else width,
        time=1.0 if time is None else time,
        ncols=3,
        figsize=(11.0, 3.4),
        title="Kernel prediction (closed form) against real gradient descent",
    )


def discrete_demo(
    widths=gf.FLOW_WIDTHS, width: int | None = None, time: float | None = None, lr: float = 0.9
) -> InteractiveFigure:
    """Discrete gradient steps on the linear model against the flow, with width, time and lr controls.

    The lr control offers ``LR_FACTORS`` in units of ``2/lambda_max`` of the chosen width's K0.
    Left: ``||r_k||`` of ``r_{k+1} = (I - lr K0) r_k`` at times ``lr k`` and the flow's ``||r(t)||``.
    Right: how much of each eigendirection is left at time t: ``|1 - lr lambda_k|^(t / lr)``
    (discrete) against ``exp(-lambda_k t)`` (flow).

    The draw returns ``{"width", "time", "lr_factor", "lr", "steps", "step_times",
    "discrete_norms", "flow_times", "flow_norms", "discrete_modes", "flow_modes"}``.
    """
    widths = tuple(int(w) for w in widths)
    for w in widths:
        gf.flow_width_data(w)
        for f in gf.LR_FACTORS:
            gf.discrete_run(w, f)
    times = list(gf.DISCRETE_TIMES)
    fine = np.linspace(0.0, times[-1], 300)
    n = gf.N_TRAIN
    state: dict = {}

    def build(axes):
        ax, ax_modes = axes
        state["discrete"] = ax.plot([0, 1], [1, 1], color=DISCRETE, marker=".", ms=4, lw=1, label="discrete steps")[0]
        state["flow"] = ax.plot(fine, np.ones_like(fine), color=KERNEL, ls="--", label="gradient flow")[0]
        state["now"] = ax.axvline(0.0, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(1e-4, 1e4)
        plain_log_ticks(ax, "y", ticks=[1e-4, 1e-2, 1, 1e2, 1e4])
        ax.set_xlim(0, times[-1])
        ax.set_xlabel("time t = lr x steps")
        ax.set_ylabel("||r||")
        ax.legend(fontsize=8, frameon=False, loc="upper left")
        state["discrete_modes"] = ax_modes.plot(
            np.arange(1, n + 1), np.ones(n), color=DISCRETE, marker="s", ls="none", label="|1 - lr lam_k|^steps"
        )[0]
        state["flow_modes"] = ax_modes.plot(
            np.arange(1, n + 1), np.ones(n), color=KERNEL, marker="o", mfc="none", ls="none", label="exp(-lam_k t)"
        )[0]
        ax_modes.axhline(1.0, color="0.6", lw=0.8)
        ax_modes.set_yscale("log")
        ax_modes.set_ylim(1e-8, 1e8)
        plain_log_ticks(ax_modes, "y", ticks=[1e-8, 1e-4, 1, 1e4, 1e8])
        ax_modes.set_xticks([1, 4, 8, 12, 16])
        ax_modes.set_xlabel("eigendirection k (fast to slow)")
        ax_modes.set_ylabel("factor left at time t")
        ax_modes.legend(fontsize=8, frameon=False, loc="upper right")

    def draw(axes, width, time, lr):
        if not state:
            build(axes)
        d = gf.flow_width_data(width)
        run = gf.discrete_run(width, float(lr))
        lam = np.asarray(d.flow.eigenvalues)
        steps = round(time / run.lr)
        with np.errstate(over="ignore"):
            discrete_modes = np.abs(1 - run.lr * lam) ** steps
        drawn = {
            "width": width,
            "time": time,
            "lr_factor": float(lr),
            "lr": run.lr,
            "steps": steps,
            "step_times": run.step_times,
            "discrete_norms": np.linalg.norm(run.residuals, axis=1),
            "flow_times": fine,
            "flow_norms": np.linalg.norm(np.asarray(d.flow.residual_coefficients(fine)), axis=1),
            "discrete_modes": discrete_modes,
            "flow_modes": np.exp(-lam * time),
        }
        state["discrete"].set_data(drawn["step_times"], drawn["discrete_norms"])
        state["flow"].set_ydata(drawn["flow_norms"])
        state["now"].set_xdata([time, time])
        state["discrete_modes"].set_ydata(discrete_modes)
        state["flow_modes"].set_ydata(drawn["flow_modes"])
        axes[0].set_title(f"N = {width}: lr = {run.lr:.3g} ({lr:g} x 2/lambda_max)", fontsize=9)
        axes[1].set_title(f"per eigendirection after {steps} steps (t = {time:.3g})", fontsize=9)
        return drawn

    lr_control = multiple_slider(
        gf.LR_FACTORS,
        lr,
        description="lr",
        unit="2/lambda_max",
        tooltip="learning rate as a multiple of the critical value 2 / lambda_max of the chosen width's kernel",
    )
    return InteractiveFigure(
        draw,
        widths=widths,
        times=times,
        width=widths[-1] if width is None else width,
        time=times[-1] if time is None else time,
        extra={"lr": lr_control},
        ncols=2,
        figsize=(9.5, 3.4),
        title="Discrete gradient steps: stable below lr = 2 / lambda_max, divergent above",
    )


__all__ = ["discrete_demo", "flow_demo"]
