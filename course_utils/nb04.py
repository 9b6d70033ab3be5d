"""Notebook 04, gradient flow as a linear ODE: the computations behind its figures and checks.

The set-up: 16 equally spaced points on the unit circle, the target
``cos(g) + 0.5 cos(2 g) + 0.5 cos(4 g)`` and a one-hidden-layer ReLU network
(``MLP(in_dim=2, depth=1, sw2=2, sb2=0.1)``, NTK parameterization). For every offered
width, one network is trained by real full-batch gradient descent (``course_utils.train``)
and compared with the closed-form kernel prediction built from *its own* kernel and outputs
at initialisation (``course_utils.GradientFlow``: one ``eigh`` per width).

Gradient descent approximates the flow when ``lr * lambda_max`` is small. The run
therefore uses two learning rates: ``LR_EARLY`` until ``T_SWITCH`` (the fast directions
converge there), then ``LR_LATE`` (only slow directions are left, for which
``LR_LATE * lambda`` is small). Both record the parameters on a grid of times that contains
every time the slider offers (``FLOW_TIMES``).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import ipywidgets
import jax
import jax.numpy as jnp
import numpy as np

from . import _validate, widgets
from .data import circle_grid, circle_points, fourier_target
from .exercises import check_function, solution
from .flow import GradientFlow, discrete_residuals
from .kernels import empirical_ntk
from .models import MLP
from .nb03 import freeze_layout
from .training import train

FLOW_WIDTHS = (64, 256, 1024, 4096)
FLOW_TIMES = (0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0)
FLOW_SEED = 0
N_TRAIN = 16
N_GRID = 181
FREQUENCIES = (1, 2, 4)
AMPLITUDES = (1.0, 0.5, 0.5)
LR_EARLY, EARLY_SPACING, T_SWITCH = 0.001, 0.01, 1.0
LR_LATE, LATE_SPACING, T_END = 0.05, 1.0, 100.0

DISCRETE_TIMES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0)
LR_FACTORS = (0.5, 0.9, 0.99, 1.01, 1.1, 1.5)  # learning rate as a multiple of 2 / lambda_max


def flow_model(width: int) -> MLP:
    """The network of notebook 04: one hidden ReLU layer of ``width`` units, sw2 = 2, sb2 = 0.1."""
    width = _validate.positive_int(width, "width")
    return MLP(in_dim=2, width=width, depth=1, activation="relu", parameterization="ntk", sw2=2.0, sb2=0.1)


def flow_problem(n: int = N_TRAIN, n_grid: int = N_GRID):
    """Training set and plotting grid on the unit circle.

    Returns ``(angles, x, y, grid_angles, grid)``: ``n`` equally spaced training angles, their
    points (n, 2) and targets ``sum_k a_k cos(k angle)``; ``n_grid`` angles in [0, 2 pi] and their points.
    """
    n = _validate.positive_int(n, "n")
    n_grid = _validate.positive_int(n_grid, "n_grid", minimum=2)
    angles, x = circle_grid(n)
    y = fourier_target(angles, FREQUENCIES, AMPLITUDES)
    grid_angles = np.linspace(0.0, 2 * np.pi, n_grid)
    return np.asarray(angles), x, y, grid_angles, circle_points(grid_angles)


def target_on(angles) -> np.ndarray:
    """The target function at the given angles."""
    return np.asarray(fourier_target(np.asarray(angles, dtype=np.float64), FREQUENCIES, AMPLITUDES))


def _time_index(recorded, wanted) -> list[int]:
    recorded = np.asarray(recorded, dtype=np.float64)
    index = []
    for t in wanted:
        k = int(np.argmin(np.abs(recorded - t)))
        if not math.isclose(recorded[k], t, rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError(f"time {t} is not on the recorded grid of the training run")
        index.append(k)
    return index


def two_phase_descent(apply_fn, params, x, y):
    """Full-batch gradient descent with ``LR_EARLY`` until ``T_SWITCH``, then ``LR_LATE`` until ``T_END``.

    Both phases are ``course_utils.train`` runs with ``record_params=True``; records are every
    ``EARLY_SPACING`` in time during the first phase and every ``LATE_SPACING`` after it.
    Returns ``(times, outputs, loss, param_history)`` over the joined records
    (the switch time appears once).
    """
    if not callable(apply_fn):
        raise ValueError("apply_fn must be a function apply_fn(params, x)")
    early = train(
        apply_fn,
        params,
        x,
        y,
        lr=LR_EARLY,
        steps=round(T_SWITCH / LR_EARLY),
        record_every=round(EARLY_SPACING / LR_EARLY),
        record_params=True,
    )
    late = train(
        apply_fn,
        early.params,
        x,
        y,
        lr=LR_LATE,
        steps=round((T_END - T_SWITCH) / LR_LATE),
        record_every=round(LATE_SPACING / LR_LATE),
        record_params=True,
    )
    times = np.concatenate([early.times, T_SWITCH + late.times[1:]])
    outputs = np.concatenate([np.asarray(early.outputs), np.asarray(late.outputs)[1:]])
    loss = np.concatenate([np.asarray(early.loss), np.asarray(late.loss)[1:]])
    history = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b[1:]]), early.param_history, late.param_history)
    return times, outputs, loss, history


class FlowData(NamedTuple):
    """One width of the flow demo: the network's kernel at initialisation and its real training run.

    ``flow`` is the ``GradientFlow`` of the network's own ``K0`` and ``f0``; ``K_star`` (m, n) and
    ``f0_star`` (m,) are the kernel and outputs on the plotting grid at initialisation;
    ``net_outputs`` (T, n) and ``net_grid`` (T, m) the trained network on the training set and the
    grid at the slider times ``FLOW_TIMES``; ``run_times`` / ``run_loss`` every recorded time and loss.
    """

    width: int
    K0: np.ndarray
    f0: np.ndarray
    flow: GradientFlow
    K_star: np.ndarray
    f0_star: np.ndarray
    predictor: object
    net_outputs: np.ndarray
    net_grid: np.ndarray
    run_times: np.ndarray
    run_loss: np.ndarray


@functools.partial(jax.jit, static_argnums=0)
def _outputs_along(model, history, x):
    """``model`` evaluated at ``x`` for every parameter set of a stacked history: (T, m)."""
    return jax.vmap(lambda p: model.forward(p, x)[1])(history)


@functools.cache
def flow_width_data(width: int, seed: int = FLOW_SEED) -> FlowData:
    """Kernel prediction and real gradient descent for the network of width ``width`` (cached per width).

    One structured NTK on the training set and one between grid and training set, one ``eigh``
    (inside ``GradientFlow``), one two-phase training run. Every later time is cheap.
    """
    width = _validate.positive_int(width, "width")
    seed = _validate.positive_int(seed, "seed", minimum=0)
    model = flow_model(width)
    _, x, y, _, grid = flow_problem()
    params = model.init(seed)
    K0 = empirical_ntk(model, params, x)
    f0 = model.apply(params, x)
    K_star = empirical_ntk(model, params, grid, x)
    f0_star = model.apply(params, grid)
    flow = GradientFlow(K0, y, f0)
    times, outputs, loss, history = two_phase_descent(model.apply, params, x, y)
    index = _time_index(times, FLOW_TIMES)
    selected = jax.tree_util.tree_map(lambda a: a[np.asarray(index)], history)
    net_grid = np.asarray(_outputs_along(model, selected, grid))
    return FlowData(
        width=width,
        K0=np.asarray(K0),
        f0=np.asarray(f0),
        flow=flow,
        K_star=np.asarray(K_star),
        f0_star=np.asarray(f0_star),
        predictor=flow.predictor(K_star, f0_star),
        net_outputs=outputs[index],
        net_grid=net_grid,
        run_times=times,
        run_loss=loss,
    )


def _fixed_log_ticks(axis, ticks) -> None:
    """Fixed major ticks with plain-text labels and no minor ticks on a log axis.

    Log axes otherwise place many ticks and typeset every label with mathtext on each
    redraw, which is most of the cost of a slider move.
    """
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
    axis.set_minor_locator(NullLocator())


def _check_widths(widths) -> tuple[int, ...]:
    widths = tuple(int(w) for w in widths)
    if not widths or any(w < 1 for w in widths):
        raise ValueError(f"widths must be a non-empty list of integers >= 1; got {widths}")
    return widths


def prediction_gap(widths=FLOW_WIDTHS) -> dict:
    """Largest distance between the trained network and the kernel prediction, per width.

    Over the slider times and the training inputs: ``max |f_net(t, x_i) - f_flow(t, x_i)|``; also the
    same on the plotting grid, the initial residual scale ``max |f0 - y|`` and the log-log slope
    of the training-set gap against width (None for a single width).
    """
    widths = _check_widths(widths)
    train_gap, grid_gap, scale = [], [], []
    for w in widths:
        d = flow_width_data(w)
        times = np.asarray(FLOW_TIMES)
        train_gap.append(float(np.max(np.abs(d.net_outputs - np.asarray(d.flow.outputs(times))))))
        grid_gap.append(float(np.max(np.abs(d.net_grid - np.asarray(d.predictor(times))))))
        scale.append(float(np.max(np.abs(d.f0 - np.asarray(d.flow.y)))))
    slope = None
    if len(widths) > 1:
        slope = float(np.polyfit(np.log(widths), np.log(train_gap), 1)[0])
    return {
        "widths": widths,
        "train_gap": np.asarray(train_gap),
        "grid_gap": np.asarray(grid_gap),
        "residual_scale": np.asarray(scale),
        "slope": slope,
    }


def bound_ratios(flow: GradientFlow, times) -> np.ndarray:
    """``||r(t)||^2 / (exp(-2 lambda_min t) ||r(0)||^2)`` at each time (the bound says <= 1)."""
    if not isinstance(flow, GradientFlow):
        raise ValueError(f"flow must be a course_utils.GradientFlow; got {type(flow).__name__}")
    times, _ = _validate.times(times, "times")
    residual_sq = np.sum(np.asarray(flow.residual_coefficients(times)) ** 2, axis=1)
    r0_sq = float(np.sum(np.asarray(flow.initial_residual_coefficients) ** 2))
    lam_min = float(flow.eigenvalues[-1])
    return residual_sq / (np.exp(-2 * lam_min * times) * r0_sq)


def ode_reference(K, y, f0, times, rtol: float = 1e-12, atol: float = 1e-14) -> np.ndarray:
    """Solve ``df/dt = -K (f - y)`` numerically (scipy ``solve_ivp``, DOP853); outputs (T, n) at ``times``."""
    from scipy.integrate import solve_ivp

    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square matrix; got shape {K.shape}")
    n = K.shape[0]
    y = np.asarray(_validate.as_vector(y, n, "y"))
    f0 = np.asarray(_validate.as_vector(f0, n, "f0"))
    times, _ = _validate.times(times, "times")
    if np.any(np.diff(times) < 0):
        raise ValueError("times must be sorted in increasing order")
    rtol = _validate.finite_float(rtol, "rtol", minimum=0.0, strict=True)
    atol = _validate.finite_float(atol, "atol", minimum=0.0, strict=True)
    if times[-1] == 0.0:
        return np.tile(f0, (len(times), 1))
    solution_ = solve_ivp(
        lambda t, f: -K @ (f - y),
        (0.0, float(times[-1])),
        f0,
        t_eval=times,
        method="DOP853",
        rtol=rtol,
        atol=atol,
    )
    if not solution_.success:
        raise RuntimeError(f"solve_ivp failed: {solution_.message}")
    return solution_.y.T


def critical_lr(K) -> float:
    """``2 / lambda_max(K)``: gradient descent on the linear model is stable below it, divergent above."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square matrix; got shape {K.shape}")
    lam_max = float(np.linalg.eigvalsh(0.5 * (K + K.T))[-1])
    if lam_max <= 0:
        raise ValueError("K has no positive eigenvalue")
    return 2.0 / lam_max


# ---------------------------------------------------------------------- demo 1: prediction vs training
def flow_demo(widths=FLOW_WIDTHS, width: int | None = None, time: float | None = None) -> widgets.InteractiveFigure:
    """Closed-form kernel prediction against real gradient descent, with width and time controls.

    Left: the residual ``|U^T (f - y)|`` along each eigenvector of the network's ``K0`` (the
    prediction decays as ``exp(-lambda_k t)``). Middle: the fitted function on the circle.
    Right: the training loss over time with the bound ``1/2 exp(-2 lambda_min t) ||r(0)||^2``.
    A time move evaluates the ``GradientFlow`` (no ``eigh``) and indexes the recorded run.

    Line ids: left ``"kernel_modes"``, ``"net_modes"``, ``"t0_modes"``; middle ``"target"``,
    ``"net_fn"``, ``"kernel_fn"``, ``"train_points"``; right ``"net_loss"``, ``"kernel_loss"``,
    ``"bound"``, ``"now"``.
    """
    widths = _check_widths(widths)
    data = {w: flow_width_data(w) for w in widths}  # precompute every offered width now
    angles, _, y, grid_angles, _ = flow_problem()
    y = np.asarray(y)
    times = list(FLOW_TIMES)
    fine = np.concatenate([[0.0], np.geomspace(1e-3, T_END, 200)])
    modes = np.arange(1, len(angles) + 1)
    state: dict = {}

    def build(axes):
        ax_modes, ax_fn, ax_loss = axes
        state["t0"] = ax_modes.plot(
            modes, np.ones_like(modes, float), color="0.7", marker=".", lw=0.8, gid="t0_modes", label="t = 0"
        )[0]
        state["kernel_modes"] = ax_modes.plot(
            modes,
            np.ones_like(modes, float),
            color="C1",
            marker="o",
            mfc="none",
            lw=1.2,
            gid="kernel_modes",
            label="kernel prediction",
        )[0]
        state["net_modes"] = ax_modes.plot(
            modes,
            np.ones_like(modes, float),
            color="C0",
            marker="x",
            ls="none",
            gid="net_modes",
            label="trained network",
        )[0]
        ax_modes.set_yscale("log")
        ax_modes.set_ylim(1e-6, 10)
        _fixed_log_ticks(ax_modes.yaxis, [1e-6, 1e-4, 1e-2, 1])
        ax_modes.set_xticks([1, 4, 8, 12, 16])
        ax_modes.set_xlabel("eigendirection k (fast to slow)")
        ax_modes.set_ylabel("|U^T (f - y)|_k")
        ax_modes.legend(fontsize=7, loc="lower right", framealpha=0.85)

        ax_fn.plot(grid_angles, target_on(grid_angles), color="0.6", lw=1, gid="target", label="target")
        ax_fn.plot(angles, y, "k.", gid="train_points", label="training points")
        state["net_fn"] = ax_fn.plot(grid_angles, grid_angles * 0, color="C0", lw=1.5, gid="net_fn", label="network")[0]
        state["kernel_fn"] = ax_fn.plot(
            grid_angles, grid_angles * 0, color="C1", lw=1.5, ls="--", gid="kernel_fn", label="kernel prediction"
        )[0]
        every = np.concatenate([d.net_grid.ravel() for d in data.values()] + [y])
        ax_fn.set_ylim(max(float(every.min()), -4.0) - 0.2, min(float(every.max()), 4.0) + 0.2)
        ax_fn.set_xlim(0, 2 * np.pi)
        ax_fn.set_xticks([0, np.pi, 2 * np.pi], ["0", "pi", "2 pi"])
        ax_fn.set_xlabel("angle on the circle")
        ax_fn.legend(fontsize=7, frameon=False, loc="upper center", ncol=2)

        state["net_loss"] = ax_loss.plot([0, 1], [1, 1], color="C0", lw=1.5, gid="net_loss", label="network")[0]
        state["kernel_loss"] = ax_loss.plot(
            fine, np.ones_like(fine), color="C1", lw=1.2, ls="--", gid="kernel_loss", label="kernel prediction"
        )[0]
        state["bound"] = ax_loss.plot(
            fine, np.ones_like(fine), color="0.4", lw=1, ls=":", gid="bound", label="bound exp(-2 lam_min t)"
        )[0]
        state["now"] = ax_loss.axvline(0.0, color="k", lw=0.8, gid="now")
        from matplotlib.ticker import NullLocator

        ax_loss.set_xscale("symlog", linthresh=0.01)
        ax_loss.set_yscale("log")
        ax_loss.set_xlim(0, T_END)
        ax_loss.set_ylim(1e-8, 30)
        ax_loss.set_xticks([0, 0.01, 0.1, 1, 10, 100], ["0", "0.01", "0.1", "1", "10", "100"])
        ax_loss.xaxis.set_minor_locator(NullLocator())
        _fixed_log_ticks(ax_loss.yaxis, [1e-8, 1e-6, 1e-4, 1e-2, 1])
        ax_loss.set_xlabel("time t")
        ax_loss.set_ylabel("loss 1/2 ||f - y||^2")
        state["width"] = None

    def draw(axes, width, time):
        if not state:
            build(axes)
        elif not state.get("frozen"):  # the first render has happened: fix its layout
            freeze_layout(axes[0].figure)
            state["frozen"] = True
        d = data[width]
        k = times.index(float(time))
        U = np.asarray(d.flow.eigenvectors)
        if state["width"] != width:  # per-width lines: change only when the width does
            state["t0"].set_ydata(np.abs(np.asarray(d.flow.initial_residual_coefficients)))
            state["net_loss"].set_data(d.run_times, d.run_loss)
            state["kernel_loss"].set_ydata(np.asarray(d.flow.loss(fine)))
            bound = (
                0.5
                * np.exp(-2 * float(d.flow.eigenvalues[-1]) * fine)
                * float(np.sum(np.asarray(d.flow.initial_residual_coefficients) ** 2))
            )
            state["bound"].set_ydata(bound)
            state["width"] = width
        state["kernel_modes"].set_ydata(np.abs(np.asarray(d.flow.residual_coefficients(time))))
        state["net_modes"].set_ydata(np.abs((d.net_outputs[k] - y) @ U))
        state["net_fn"].set_ydata(d.net_grid[k])
        state["kernel_fn"].set_ydata(np.asarray(d.predictor(time)))
        state["now"].set_xdata([time, time])
        axes[0].set_title(f"residual per eigendirection, t = {time:.3g}", fontsize=9)
        axes[1].set_title(f"fitted function, width {width}", fontsize=9)
        axes[2].set_title("training loss (dotted: the bound)", fontsize=9)

    return widgets.InteractiveFigure(
        draw,
        widths=widths,
        times=times,
        width=widths[0] if width is None else width,
        time=1.0 if time is None else time,
        ncols=3,
        figsize=(11.0, 3.4),
        title="Kernel prediction (closed form) against real gradient descent",
    )


# ---------------------------------------------------------------------- demo 2: discrete steps
def lr_slider(factors=LR_FACTORS, value: float = 0.9) -> ipywidgets.SelectionSlider:
    """A slider over learning rates given as multiples of the critical ``2 / lambda_max``."""
    factors = [float(f) for f in factors]
    if not factors or any(f <= 0 for f in factors):
        raise ValueError(f"factors must be positive numbers; got {factors}")
    return ipywidgets.SelectionSlider(
        options=[(f"{f:g} x 2/lam_max", f) for f in factors],
        value=float(value),
        description="lr",
        continuous_update=True,
        tooltip="learning rate as a multiple of the critical value 2 / lambda_max",
        style={"description_width": "initial"},
        layout=ipywidgets.Layout(width="420px"),
    )


def discrete_run(width: int, factor: float, horizon: float = DISCRETE_TIMES[-1]):
    """Gradient descent on the linear model, ``r_{k+1} = (I - lr K0) r_k``, with ``lr = factor * 2 / lambda_max``.

    Uses the kernel ``K0`` of ``flow_width_data(width)``. Returns ``(lr, step_times, residuals)``
    with ``step_times = lr * k`` up to ``horizon`` and ``residuals`` of shape (steps + 1, n).
    """
    factor = _validate.finite_float(factor, "factor", minimum=0.0, strict=True)
    horizon = _validate.finite_float(horizon, "horizon", minimum=0.0, strict=True)
    return _discrete_run(int(width), factor, horizon)


@functools.cache
def _discrete_run(width, factor, horizon):
    d = flow_width_data(width)
    lr = factor * critical_lr(d.K0)
    steps = math.ceil(horizon / lr)
    residuals = discrete_residuals(d.K0, d.f0 - np.asarray(d.flow.y), lr, steps)
    return lr, lr * np.arange(steps + 1), residuals


def discrete_demo(
    widths=FLOW_WIDTHS, width: int | None = None, time: float | None = None, lr: float = 0.9
) -> widgets.InteractiveFigure:
    """Discrete gradient steps on the linear model against the flow, with width, time and lr controls.

    Left: ``||r_k||`` of ``r_{k+1} = (I - lr K0) r_k`` at times ``lr k`` and the flow's ``||r(t)||``.
    Right: how much of each eigendirection is left at time t: ``|1 - lr lambda_k|^(t / lr)``
    (discrete) against ``exp(-lambda_k t)`` (flow). Line ids: ``"discrete"``, ``"flow"``, ``"now"``,
    ``"discrete_modes"``, ``"flow_modes"``.
    """
    widths = _check_widths(widths)
    for w in widths:
        flow_width_data(w)
        for f in LR_FACTORS:
            _discrete_run(w, f, DISCRETE_TIMES[-1])
    times = list(DISCRETE_TIMES)
    fine = np.linspace(0.0, times[-1], 300)
    state: dict = {}

    def build(axes):
        ax, ax_modes = axes
        state["discrete"] = ax.plot(
            [0, 1], [1, 1], color="C3", marker=".", ms=4, lw=1, gid="discrete", label="discrete steps"
        )[0]
        state["flow"] = ax.plot(fine, np.ones_like(fine), color="C1", ls="--", gid="flow", label="gradient flow")[0]
        state["now"] = ax.axvline(0.0, color="k", lw=0.8, gid="now")
        ax.set_yscale("log")
        ax.set_ylim(1e-4, 1e4)
        _fixed_log_ticks(ax.yaxis, [1e-4, 1e-2, 1, 1e2, 1e4])
        ax.set_xlim(0, times[-1])
        ax.set_xlabel("time t = lr x steps")
        ax.set_ylabel("||r||")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
        n = N_TRAIN
        state["discrete_modes"] = ax_modes.plot(
            np.arange(1, n + 1),
            np.ones(n),
            color="C3",
            marker="s",
            ls="none",
            gid="discrete_modes",
            label="|1 - lr lam_k|^steps",
        )[0]
        state["flow_modes"] = ax_modes.plot(
            np.arange(1, n + 1),
            np.ones(n),
            color="C1",
            marker="o",
            mfc="none",
            ls="none",
            gid="flow_modes",
            label="exp(-lam_k t)",
        )[0]
        ax_modes.axhline(1.0, color="0.6", lw=0.8)
        ax_modes.set_yscale("log")
        ax_modes.set_ylim(1e-8, 1e8)
        _fixed_log_ticks(ax_modes.yaxis, [1e-8, 1e-4, 1, 1e4, 1e8])
        ax_modes.set_xticks([1, 4, 8, 12, 16])
        ax_modes.set_xlabel("eigendirection k (fast to slow)")
        ax_modes.set_ylabel("factor left at time t")
        ax_modes.legend(fontsize=7, frameon=False, loc="upper right")

    def draw(axes, width, time, lr):
        if not state:
            build(axes)
        elif not state.get("frozen"):  # the first render has happened: fix its layout
            freeze_layout(axes[0].figure)
            state["frozen"] = True
        d = flow_width_data(width)
        step_lr, step_times, residuals = _discrete_run(width, float(lr), DISCRETE_TIMES[-1])
        norms = np.linalg.norm(residuals, axis=1)
        state["discrete"].set_data(step_times, norms)
        state["flow"].set_ydata(np.linalg.norm(np.asarray(d.flow.residual_coefficients(fine)), axis=1))
        state["now"].set_xdata([time, time])
        lam = np.asarray(d.flow.eigenvalues)
        steps = round(time / step_lr)
        with np.errstate(over="ignore"):
            state["discrete_modes"].set_ydata(np.abs(1 - step_lr * lam) ** steps)
        state["flow_modes"].set_ydata(np.exp(-lam * time))
        axes[0].set_title(f"width {width}: lr = {step_lr:.3g} ({lr:g} x 2/lam_max)", fontsize=9)
        axes[1].set_title(f"per eigendirection after {steps} steps (t = {time:.3g})", fontsize=9)

    return widgets.InteractiveFigure(
        draw,
        widths=widths,
        times=times,
        width=widths[-1] if width is None else width,
        time=times[-1] if time is None else time,
        extra={"lr": lr_slider(value=lr)},
        ncols=2,
        figsize=(9.5, 3.4),
        title="Discrete gradient steps: stable below lr = 2 / lambda_max, divergent above",
    )


# ---------------------------------------------------------------------- exercises
@solution("04.flow_residual")
def flow_residual(K, r0, t):
    # K is symmetric: K = U diag(lam) U^T with orthonormal U (numpy's eigh).
    lam, U = np.linalg.eigh(np.asarray(K, dtype=np.float64))
    # Coordinates of r0 in the eigenbasis; each decays independently at its own rate.
    coeffs = U.T @ np.asarray(r0, dtype=np.float64)
    # Back to the original basis: r(t) = U diag(exp(-lam t)) U^T r0 = exp(-K t) r0.
    return U @ (np.exp(-lam * t) * coeffs)


def _flow_cases():
    rng = np.random.default_rng(4)
    cases = []
    for n, t in [(3, 0.0), (5, 0.3), (6, 2.0), (4, 10.0)]:
        A = rng.normal(size=(n, n))
        cases.append((A @ A.T / n, rng.normal(size=n), t))
    return cases


def _expm_residual(K, r0, t):
    from scipy.linalg import expm

    return expm(-np.asarray(K) * t) @ np.asarray(r0)


def check_flow_residual(student_fn) -> bool:
    """Exercise 04.flow_residual: ``r(t) = exp(-K t) r0`` by eigendecomposition, vs scipy's ``expm``."""
    return check_function(
        student_fn,
        _expm_residual,
        _flow_cases(),
        rtol=1e-8,
        atol=1e-10,
        what="flow_residual(K, r0, t)",
        hint=(
            "Diagonalise K = U diag(lam) U^T (np.linalg.eigh), decay each coordinate U^T r0 "
            "by exp(-lam t), map back with U."
        ),
    )


@solution("04.time_to_tolerance")
def time_to_tolerance(K, eps):
    # The bound ||r(t)|| <= exp(-lam_min t) ||r(0)|| (square root of the squared version)
    # drops below eps ||r(0)|| once exp(-lam_min t) = eps, i.e. t = log(1/eps) / lam_min.
    lam_min = np.linalg.eigvalsh(np.asarray(K, dtype=np.float64))[0]
    return np.log(1.0 / eps) / lam_min


def check_time_to_tolerance(student_fn) -> bool:
    """Exercise 04.time_to_tolerance: the time after which the bound guarantees ``||r|| <= eps ||r(0)||``."""
    cases = [(K, eps) for (K, _, _), eps in zip(_flow_cases(), [0.1, 1e-3, 0.5, 1e-6])]
    return check_function(
        student_fn,
        lambda K, eps: np.log(1.0 / eps) / np.linalg.eigvalsh(K)[0],
        cases,
        rtol=1e-8,
        what="time_to_tolerance(K, eps)",
        hint=(
            "Take the square root of the bound: ||r(t)|| <= exp(-lambda_min t) ||r(0)||; "
            "solve exp(-lambda_min t) = eps."
        ),
    )


__all__ = [
    "FLOW_TIMES",
    "FLOW_WIDTHS",
    "bound_ratios",
    "check_flow_residual",
    "check_time_to_tolerance",
    "critical_lr",
    "discrete_demo",
    "discrete_run",
    "flow_demo",
    "flow_model",
    "flow_problem",
    "flow_residual",
    "flow_width_data",
    "lr_slider",
    "ode_reference",
    "prediction_gap",
    "target_on",
    "time_to_tolerance",
    "two_phase_descent",
]
