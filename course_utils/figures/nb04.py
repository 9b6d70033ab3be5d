"""Notebook 04's figures: the kernel prediction against real gradient descent, and discrete steps.

The numbers come from ``course_utils.experiments.gradient_flow``; this module only draws.
"""

from __future__ import annotations

import numpy as np

from ..experiments import gradient_flow as gf
from .interactive import OKABE_ITO, InteractiveFigure, multiple_slider, nearest_index, plain_log_ticks

NET, KERNEL, DISCRETE = OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2]  # blue, orange, bluish green


MODES_FLOOR = 1e-6  # the bottom of the flow demo's residual-per-direction axis


def flow_demo(widths=gf.FLOW_WIDTHS, width: int | None = None, time: float | None = None) -> InteractiveFigure:
    """Closed-form kernel prediction against real gradient descent, with width and time controls.

    Left: the residual ``|U^T (f - y)|`` along each eigenvector of the network's ``K0`` (the
    prediction decays as ``exp(-lambda_k t)``). Middle: the fitted function on the circle.
    Right: the training loss over time with the bound ``1/2 exp(-2 lambda_min t) ||r(0)||^2``.
    A time move evaluates the ``GradientFlow`` (no ``eigh``) and indexes the recorded run.

    The draw returns ``{"width", "time", "t0_modes", "kernel_modes", "net_modes", "net_fn",
    "kernel_fn", "loss_times", "net_loss", "kernel_loss", "bound", "kernel_below", "net_below"}``
    (the plotted arrays; the masks flag the directions whose residual is below ``MODES_FLOOR``,
    drawn on the floor as triangles).
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
        state["kernel_floor"] = ax_modes.plot(
            [], [], color=KERNEL, marker="v", mfc="none", ms=8, ls="none", label=f"prediction below {MODES_FLOOR:g}"
        )[0]
        state["net_floor"] = ax_modes.plot(
            [], [], color=NET, marker="v", ms=4, ls="none", label=f"network below {MODES_FLOOR:g}"
        )[0]
        ax_modes.set_yscale("log")
        ax_modes.set_ylim(MODES_FLOOR / 3, 1e4)  # headroom above 1 for the legend
        plain_log_ticks(ax_modes, "y", ticks=[1e-6, 1e-4, 1e-2, 1])
        ax_modes.set_xticks([1, 4, 8, 12, 16])
        ax_modes.set_xlabel("eigendirection k (fast to slow)")
        ax_modes.set_ylabel("|U^T (f - y)|_k")
        ax_modes.legend(loc="upper center", ncol=2, frameon=False, fontsize=8, columnspacing=0.8, handletextpad=0.3)

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
        ax_fn.set_ylabel("f(x)")
        ax_fn.legend(frameon=False, loc="upper center", ncol=2)

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
        ax_loss.legend(frameon=False, loc="lower left")
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
        for name in ["net_fn", "kernel_fn"]:
            state[name].set_ydata(drawn[name])
        kernel_below = drawn["kernel_modes"] < MODES_FLOOR
        net_below = drawn["net_modes"] < MODES_FLOOR
        drawn["kernel_below"], drawn["net_below"] = kernel_below, net_below
        state["kernel_modes"].set_ydata(np.maximum(drawn["kernel_modes"], MODES_FLOOR))  # the line runs along the floor
        state["net_modes"].set_data(modes[~net_below], drawn["net_modes"][~net_below])
        state["kernel_floor"].set_data(modes[kernel_below], np.full(int(kernel_below.sum()), MODES_FLOOR))
        state["net_floor"].set_data(modes[net_below], np.full(int(net_below.sum()), MODES_FLOOR))
        state["now"].set_xdata([time, time])
        axes[0].set_title(f"residual per eigendirection, t = {time:.3g}")
        axes[1].set_title(f"fitted function, N = {width}")
        axes[2].set_title("training loss (dotted: the bound)")
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


def _floored(values, low, high):
    """Values clipped into ``[low, high]`` for a log axis, and masks of those that were below / above it."""
    values = np.asarray(values, dtype=np.float64)
    below, above = values < low, ~(values <= high)  # NaN and inf count as above
    return np.clip(np.nan_to_num(values, nan=high, posinf=high), low, high), below, above


NORM_RANGE = (1e-4, 1e4)  # y range of the left panel of the discrete demo
FACTOR_RANGE = (1e-8, 1e8)  # y range of its right panel


def discrete_demo(time: float | None = None, lr: float = 0.9, width: int = gf.DISCRETE_WIDTH) -> InteractiveFigure:
    """Discrete gradient steps on the linear model against the flow, with a time and an lr control.

    The kernel is that of the width-``width`` network (``gf.DISCRETE_WIDTH``; every width gives
    the same picture up to a few percent in ``2/lambda_max``, so the demo has no width control).
    The lr control offers ``LR_FACTORS`` in units of ``2/lambda_max``.
    Left: ``||r_k||`` of ``r_{k+1} = (I - lr K0) r_k`` at times ``lr k`` and the flow's ``||r(t)||``.
    Right: how much of each eigendirection is left at time t: ``|1 - lr lambda_k|^(t / lr)``
    (discrete) against ``exp(-lambda_k t)`` (flow). Values beyond a panel's log range are
    drawn at its edge as open triangles (pointing down: below the range; up: above it).

    The draw returns ``{"width", "time", "lr_factor", "lr", "steps", "step_times",
    "discrete_norms", "flow_times", "flow_norms", "discrete_modes", "flow_modes",
    "norms_below", "norms_above", "discrete_below", "discrete_above", "flow_below"}``
    (the masks say which plotted values sit on an edge of the axis).
    """
    width = int(width)
    gf.flow_width_data(width)
    for f in gf.LR_FACTORS:
        gf.discrete_run(width, f)
    times = list(gf.DISCRETE_TIMES)
    fine = np.linspace(0.0, times[-1], 300)
    n = gf.N_TRAIN
    modes = np.arange(1, n + 1)
    state: dict = {}

    def build(axes):
        ax, ax_modes = axes
        state["discrete"] = ax.plot([0, 1], [1, 1], color=DISCRETE, marker=".", ms=4, lw=1, label="discrete steps")[0]
        state["discrete_edge"] = ax.plot(
            [], [], color=DISCRETE, marker="^", mfc="none", ls="none", label=f"above {NORM_RANGE[1]:g} (off scale)"
        )[0]
        state["flow"] = ax.plot(fine, np.ones_like(fine), color=KERNEL, ls="--", label="gradient flow")[0]
        state["now"] = ax.axvline(0.0, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(*NORM_RANGE)
        plain_log_ticks(ax, "y", ticks=[1e-4, 1e-2, 1, 1e2, 1e4])
        ax.set_xlim(0, times[-1])
        ax.set_xlabel("time t = lr x steps")
        ax.set_ylabel("||r||")
        ax.legend(frameon=False, loc="upper left")
        state["discrete_modes"] = ax_modes.plot(
            modes, np.ones(n), color=DISCRETE, marker="s", ls="none", label="|1 - lr lam_k|^steps"
        )[0]
        state["flow_modes"] = ax_modes.plot(
            modes, np.ones(n), color=KERNEL, marker="o", mfc="none", ls="none", label="exp(-lam_k t)"
        )[0]
        state["discrete_floor"] = ax_modes.plot(
            [], [], color=DISCRETE, marker="v", ls="none", label=f"discrete below {FACTOR_RANGE[0]:g} (floored)"
        )[0]
        state["flow_floor"] = ax_modes.plot(
            [],
            [],
            color=KERNEL,
            marker="v",
            mfc="none",
            ms=9,
            ls="none",
            label=f"flow below {FACTOR_RANGE[0]:g} (floored)",
        )[0]
        state["ceiling"] = ax_modes.plot(
            [], [], color=DISCRETE, marker="^", mfc="none", ls="none", label=f"above {FACTOR_RANGE[1]:g} (off scale)"
        )[0]
        ax_modes.axhline(1.0, color="0.6", lw=0.8)
        ax_modes.set_yscale("log")
        ax_modes.set_ylim(FACTOR_RANGE[0] / 3, FACTOR_RANGE[1] * 1e4)  # headroom for the legend
        plain_log_ticks(ax_modes, "y", ticks=[1e-8, 1e-4, 1, 1e4, 1e8])
        ax_modes.set_xticks([1, 4, 8, 12, 16])
        ax_modes.set_xlabel("eigendirection k (fast to slow)")
        ax_modes.set_ylabel("factor left at time t")
        ax_modes.legend(frameon=False, loc="upper left", ncol=2, fontsize=8)

    def draw(axes, time, lr):
        if not state:
            build(axes)
        d = gf.flow_width_data(width)
        run = gf.discrete_run(width, float(lr))
        lam = np.asarray(d.flow.eigenvalues)
        steps = round(time / run.lr)
        with np.errstate(over="ignore"):
            discrete_modes = np.abs(1 - run.lr * lam) ** steps
        flow_modes = np.exp(-lam * time)
        norms = np.linalg.norm(run.residuals, axis=1)
        shown_norms, norms_below, norms_above = _floored(norms, *NORM_RANGE)
        shown_discrete, discrete_below, discrete_above = _floored(discrete_modes, *FACTOR_RANGE)
        shown_flow, flow_below, _ = _floored(flow_modes, *FACTOR_RANGE)
        drawn = {
            "width": width,
            "time": time,
            "lr_factor": float(lr),
            "lr": run.lr,
            "steps": steps,
            "step_times": run.step_times,
            "discrete_norms": norms,
            "flow_times": fine,
            "flow_norms": np.linalg.norm(np.asarray(d.flow.residual_coefficients(fine)), axis=1),
            "discrete_modes": discrete_modes,
            "flow_modes": flow_modes,
            "norms_below": norms_below,
            "norms_above": norms_above,
            "discrete_below": discrete_below,
            "discrete_above": discrete_above,
            "flow_below": flow_below,
        }
        inside = ~norms_above
        state["discrete"].set_data(run.step_times[inside], norms[inside])
        state["discrete_edge"].set_data(run.step_times[norms_above][:1], shown_norms[norms_above][:1])
        state["flow"].set_ydata(drawn["flow_norms"])
        state["now"].set_xdata([time, time])
        state["discrete_modes"].set_data(
            modes[~(discrete_below | discrete_above)], shown_discrete[~(discrete_below | discrete_above)]
        )
        state["flow_modes"].set_data(modes[~flow_below], shown_flow[~flow_below])
        state["discrete_floor"].set_data(modes[discrete_below], np.full(int(discrete_below.sum()), FACTOR_RANGE[0]))
        state["flow_floor"].set_data(modes[flow_below], np.full(int(flow_below.sum()), FACTOR_RANGE[0]))
        state["ceiling"].set_data(modes[discrete_above], np.full(int(discrete_above.sum()), FACTOR_RANGE[1]))
        axes[0].set_title(f"N = {width}: lr = {run.lr:.3g} ({lr:g} x 2/lambda_max)")
        axes[1].set_title(f"per eigendirection after {steps} steps (t = {time:.3g})")
        return drawn

    lr_control = multiple_slider(
        gf.LR_FACTORS,
        lr,
        description="lr",
        unit="2/lambda_max",
        tooltip="learning rate as a multiple of the critical value 2 / lambda_max of the kernel",
    )
    return InteractiveFigure(
        draw,
        times=times,
        time=times[-1] if time is None else time,
        extra={"lr": lr_control},
        expensive=(),
        ncols=2,
        figsize=(10.0, 3.6),
        title="Discrete gradient steps: stable below lr = 2 / lambda_max, divergent above",
    )


__all__ = ["discrete_demo", "flow_demo"]
