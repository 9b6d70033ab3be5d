"""Gradient flow as a linear ODE, against real gradient descent (notebook 04).

The set-up: 16 equally spaced points on the unit circle, the target
``cos(g) + 0.5 cos(2 g) + 0.5 cos(4 g)`` and a one-hidden-layer ReLU network
(``MLP(in_dim=2, depth=1, sw2=2, sb2=0.1)``, NTK parameterization). For every width N, one
network is trained by full-batch gradient descent (``train``) and compared with the
closed-form kernel prediction built from *its own* kernel and outputs at initialisation
(``GradientFlow``: one ``eigh`` per width). The network is compared with gradient descent on
its linear model with the same two-phase schedule (``kernel_descent``: ``GradientFlow(...,
lr=)`` per phase), so that the discretisation is not charged to the finite width; the exact
flow differs from that by a floor of about 0.003 at every width (``FlowData.flow_floor``).

Gradient descent approximates the flow when ``lr * lambda_max`` is small. The run therefore
uses two learning rates: ``LR_EARLY`` until ``T_SWITCH`` (the fast directions converge
there), then ``LR_LATE`` (only slow directions are left, for which ``LR_LATE * lambda`` is
small). Its records contain every time the slider offers (``FLOW_TIMES``).

What the claim checks assert, each through a predicate ``claim_*(result) -> ClaimCheck``:
the output velocity ``-K r`` (``output_velocity``, ``claim_output_velocity``), the closed form
against a numerical ODE solve (``ode_comparison``, ``claim_closed_form_matches_ode``), the gap
between network and prediction per width (``prediction_gap``, ``claim_prediction_gap``), the
convergence bound on the trained networks with their own ``K0`` (``bound_check``,
``claim_bound_on_networks``), and the discrete recursion on both sides of ``2 / lambda_max``
(``stability_edge``, ``claim_stability_edge``; ``discrete_run`` for the demo).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import circle_grid, circle_points, fourier_target
from ..flow import GradientFlow, discrete_residuals
from ..kernels import empirical_ntk
from ..measure import ClaimCheck, PowerLawFit, claim, fit_power_law, top_eigenvalue
from ..models import MLP
from ..training import train

FLOW_WIDTHS = (64, 256, 1024, 4096)
BOUND_WIDTHS = (16, 32, *FLOW_WIDTHS)  # the bound is also tried on narrower networks than the demo offers
WIDE = 1024  # from this width on the trained network is claimed to obey the bound
DISCRETE_WIDTH = 4096  # the kernel of the discrete-steps demo
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
EDGE_FACTORS = (0.95, 1.05)  # just below and just above the stability edge
EDGE_STEPS = 300


def flow_model(width: int) -> MLP:
    """The network of notebook 04: one hidden ReLU layer of N = ``width`` units, sw2 = 2, sb2 = 0.1."""
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


@functools.cache
def grid_outputs(model: MLP):
    """The ``measure`` function that records ``model`` on the plotting grid (one object per model)."""
    *_, grid = flow_problem()

    def measure(params):
        return model.forward(params, grid)[1]

    return measure


class Descent(NamedTuple):
    """A two-phase gradient-descent run (``two_phase_descent``), records joined.

    times : (T,) gradient-flow times; outputs : (T, n); loss : (T,);
    measurements : what ``measure`` returned at every record (T axis first), or None.
    """

    times: np.ndarray
    outputs: np.ndarray
    loss: np.ndarray
    measurements: object


def two_phase_descent(apply_fn, params, x, y, measure=None) -> Descent:
    """Full-batch gradient descent with ``LR_EARLY`` until ``T_SWITCH``, then ``LR_LATE`` until ``T_END``.

    Two ``train`` calls; records every ``EARLY_SPACING`` in time during the first phase and
    every ``LATE_SPACING`` after it (the switch time appears once). ``measure`` is passed to
    ``train`` (e.g. ``grid_outputs(model)``).
    """
    if not callable(apply_fn):
        raise ValueError("apply_fn must be a function apply_fn(params, x)")  # noqa: TRY004  (the course raises ValueError for bad input)
    early = train(
        apply_fn,
        params,
        x,
        y,
        lr=LR_EARLY,
        steps=round(T_SWITCH / LR_EARLY),
        record_every=round(EARLY_SPACING / LR_EARLY),
        measure=measure,
    )
    late = train(
        apply_fn,
        early.params,
        x,
        y,
        lr=LR_LATE,
        steps=round((T_END - T_SWITCH) / LR_LATE),
        record_every=round(LATE_SPACING / LR_LATE),
        measure=measure,
    )
    measured = None
    if measure is not None:
        measured = np.concatenate([np.asarray(early.measurements), np.asarray(late.measurements)[1:]])
    return Descent(
        times=np.concatenate([early.times, T_SWITCH + late.times[1:]]),
        outputs=np.concatenate([np.asarray(early.outputs), np.asarray(late.outputs)[1:]]),
        loss=np.concatenate([np.asarray(early.loss), np.asarray(late.loss)[1:]]),
        measurements=measured,
    )


def slider_records(run_times) -> np.ndarray:
    """Indices of the records of a ``two_phase_descent`` run at the slider times ``FLOW_TIMES``."""
    run_times = np.asarray(run_times, dtype=np.float64)
    index = np.searchsorted(run_times, np.asarray(FLOW_TIMES) - 1e-9)
    if np.any(index >= len(run_times)) or not np.allclose(run_times[np.minimum(index, len(run_times) - 1)], FLOW_TIMES):
        raise ValueError("the run's records do not contain every slider time FLOW_TIMES")
    return index


class FlowData(NamedTuple):
    """One width of the flow demo: the network's kernel at initialisation and its real training run.

    ``flow`` is the ``GradientFlow`` of the network's own ``K0`` and ``f0``; ``K_star`` (m, n) and
    ``f0_star`` (m,) are the kernel and outputs on the plotting grid at initialisation and
    ``predictor = flow.predictor(K_star, f0_star)``; ``net_outputs`` (T, n) and ``net_grid`` (T, m)
    the trained network on the training set and the grid at the slider times ``FLOW_TIMES``;
    ``run_times`` / ``run_loss`` every recorded time and loss.
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
    kernel_outputs: np.ndarray
    kernel_grid: np.ndarray
    flow_floor: float


def kernel_descent(K, y, f0, times, K_star=None, f0_star=None):
    """Gradient descent on the linear model ``f0 + J0 (theta - theta0)`` with the two-phase schedule, in closed form.

    ``GradientFlow(K, y, f0, lr=LR_EARLY)`` up to ``T_SWITCH``, then ``GradientFlow(K, y, f_switch,
    lr=LR_LATE)`` from the first phase's outputs (and, with ``K_star`` (m, n) and ``f0_star`` (m,),
    the same on other inputs). Returns the outputs (T, n) at ``times``, or ``(outputs, outputs_star)``.
    This is what a network that stayed exactly linear would do under ``two_phase_descent``.
    """
    times, _ = _validate.times(times, "times")
    y = jnp.asarray(y)
    early, late = times[times <= T_SWITCH], times[times > T_SWITCH]
    first = GradientFlow(K, y, f0, lr=LR_EARLY)
    switch = first.outputs(np.array([T_SWITCH]))[0]
    second = GradientFlow(K, y, switch, lr=LR_LATE)
    outputs = np.concatenate([np.asarray(first.outputs(early)), np.asarray(second.outputs(late - T_SWITCH))])
    if K_star is None:
        return outputs
    switch_star = first.predict(np.array([T_SWITCH]), K_star, f0_star)[0]
    star = np.concatenate([np.asarray(first.predict(early, K_star, f0_star)),
                           np.asarray(second.predict(late - T_SWITCH, K_star, switch_star))])
    return outputs, star


@functools.cache
def flow_width_data(width: int, seed: int = FLOW_SEED) -> FlowData:
    """Kernel prediction and real gradient descent for ``flow_model(width).init(seed)`` (cached).

    One structured NTK on the training set and one between grid and training set, one ``eigh``
    (inside ``GradientFlow``), one two-phase training run that records the grid outputs, and
    ``kernel_descent`` (the same schedule on the linear model) on the training set and the grid;
    ``flow_floor`` is the largest ``|kernel_descent - flow|`` on the training set (discretisation only).
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
    run = two_phase_descent(model.apply, params, x, y, measure=grid_outputs(model))
    index = slider_records(run.times)
    times = np.asarray(FLOW_TIMES)
    kernel_out, kernel_grid = kernel_descent(K0, y, f0, times, K_star, f0_star)
    return FlowData(
        width=width,
        K0=np.asarray(K0),
        f0=np.asarray(f0),
        flow=flow,
        K_star=np.asarray(K_star),
        f0_star=np.asarray(f0_star),
        predictor=flow.predictor(K_star, f0_star),
        net_outputs=run.outputs[index],
        net_grid=run.measurements[index],
        run_times=run.times,
        run_loss=run.loss,
        kernel_outputs=kernel_out,
        kernel_grid=kernel_grid,
        flow_floor=float(np.max(np.abs(kernel_out - np.asarray(flow.outputs(times))))),
    )


def _check_widths(widths, minimum: int = 1) -> tuple[int, ...]:
    widths = tuple(int(w) for w in widths)
    if len(widths) < minimum or any(w < 1 for w in widths):
        raise ValueError(f"widths must be at least {minimum} integers >= 1; got {widths}")
    return widths


class PredictionGap(NamedTuple):
    """Largest distance between the trained network and its kernel prediction, per width.

    The kernel prediction is gradient descent on the network's linear model with the same
    schedule (``kernel_descent``); flow_floor : (W,) how far that is from the exact flow.
    train_gap : (W,) ``max |f_net(t, x_i) - f_flow(t, x_i)|`` over the slider times and training
    inputs; grid_gap : (W,) the same on the plotting grid; residual_scale : (W,) ``max |f0 - y|``;
    fit : the power law of ``train_gap`` in N; net_outputs and kernel_outputs : (W, T, n) the
    trained network and its kernel prediction on the training inputs at the slider times (what
    ``claim_prediction_gap`` reads).
    """

    widths: np.ndarray
    net_outputs: np.ndarray
    kernel_outputs: np.ndarray
    train_gap: np.ndarray
    grid_gap: np.ndarray
    residual_scale: np.ndarray
    fit: PowerLawFit
    flow_floor: np.ndarray


@functools.cache
def prediction_gap(widths=FLOW_WIDTHS) -> PredictionGap:
    """The gap between network and kernel prediction for every width (at least two, for the fit)."""
    widths = _check_widths(widths, minimum=2)
    times = np.asarray(FLOW_TIMES)
    train_gap, grid_gap, scale, net, kernel, floor = [], [], [], [], [], []
    for w in widths:
        d = flow_width_data(w)
        net.append(d.net_outputs)
        kernel.append(d.kernel_outputs)
        floor.append(d.flow_floor)
        train_gap.append(float(np.max(np.abs(net[-1] - kernel[-1]))))
        grid_gap.append(float(np.max(np.abs(d.net_grid - d.kernel_grid))))
        scale.append(float(np.max(np.abs(d.f0 - np.asarray(d.flow.y)))))
    return PredictionGap(
        widths=np.asarray(widths),
        net_outputs=np.asarray(net),
        kernel_outputs=np.asarray(kernel),
        train_gap=np.asarray(train_gap),
        grid_gap=np.asarray(grid_gap),
        residual_scale=np.asarray(scale),
        fit=fit_power_law(widths, train_gap),
        flow_floor=np.asarray(floor),
    )


GAP_TOLERANCE = (
    0.05  # the widest network's largest gap; initial residuals are up to 2-3, the gap at N = 4096 about 0.02
)
GAP_EXPONENT, GAP_EXPONENT_TOLERANCE = -0.5, 0.15  # the gap's decay with width (Lee et al. 2019: N^-1/2)


def claim_prediction_gap(result: PredictionGap) -> ClaimCheck:
    """A wide network stays within ``GAP_TOLERANCE`` of its own kernel prediction, and the gap shrinks like ``N^-1/2``.

    Recomputed from ``result.net_outputs`` and ``result.kernel_outputs``: the widest network's
    largest gap must be below ``GAP_TOLERANCE`` and the fitted exponent of the gap in N within
    ``GAP_EXPONENT_TOLERANCE`` of ``GAP_EXPONENT``. A prediction that runs at twice the speed,
    or a gap that does not shrink (or shrinks like 1/N), fails.
    """
    gaps = np.max(np.abs(result.net_outputs - result.kernel_outputs), axis=(1, 2))
    fit = fit_power_law(result.widths, gaps)
    return claim(
        f"the N = {result.widths[-1]} network follows its kernel prediction, and the gap shrinks with width",
        measured=f"largest gap {gaps[-1]:.3g} at N = {result.widths[-1]} ({gaps[0]:.3g} at N = {result.widths[0]}), "
        f"exponent {fit}",
        predicted=f"below {GAP_TOLERANCE}; exponent {GAP_EXPONENT:g} (+/- {GAP_EXPONENT_TOLERANCE})",
        holds=bool(gaps[-1] < GAP_TOLERANCE and abs(fit.exponent - GAP_EXPONENT) < GAP_EXPONENT_TOLERANCE),
    )


def bound_ratios(flow: GradientFlow, times) -> np.ndarray:
    """``||r(t)||^2 / (exp(-2 lambda_min t) ||r(0)||^2)`` of the closed-form flow at each time (the bound says <= 1)."""
    if not isinstance(flow, GradientFlow):
        raise ValueError(f"flow must be a course_utils.GradientFlow; got {type(flow).__name__}")  # noqa: TRY004  (the course raises ValueError for bad input)
    times, _ = _validate.times(times, "times")
    residual_sq = np.sum(np.asarray(flow.residual_coefficients(times)) ** 2, axis=1)
    r0_sq = float(np.sum(np.asarray(flow.initial_residual_coefficients) ** 2))
    lam_min = float(flow.eigenvalues[-1])
    return residual_sq / (np.exp(-2 * lam_min * times) * r0_sq)


class BoundCheck(NamedTuple):
    """The convergence bound ``||r(t)||^2 <= exp(-2 lambda_min t) ||r(0)||^2`` per width, ``lambda_min`` of the network's own K0.

    times : (T,) the slider times t > 0; kernel_ratio : (W, T) left side / right side for the
    closed-form prediction (<= 1 by construction); network_ratio : (W, T) the same for the
    trained network's residual; lambda_min : (W,) the smallest eigenvalue of each K0;
    network_residual_sq : (W, T) ``||r_net(t)||^2`` and initial_residual_sq : (W,) ``||r(0)||^2``;
    kernel_residual_sq : (W, T) ``||r(t)||^2`` of gradient descent on the network's linear model
    with the same schedule (``kernel_descent``) (what ``claim_bound_on_networks`` recomputes from).
    """

    widths: np.ndarray
    times: np.ndarray
    network_residual_sq: np.ndarray
    initial_residual_sq: np.ndarray
    kernel_residual_sq: np.ndarray
    kernel_ratio: np.ndarray
    network_ratio: np.ndarray
    lambda_min: np.ndarray


@functools.cache
def bound_check(widths=BOUND_WIDTHS) -> BoundCheck:
    """The convergence bound on the kernel prediction and on the trained network, for every width."""
    widths = _check_widths(widths)
    times = np.asarray(FLOW_TIMES[1:])
    kernel_ratio, network_ratio, lam_min, net_sq, init_sq, kernel_sq = [], [], [], [], [], []
    for w in widths:
        d = flow_width_data(w)
        y = np.asarray(d.flow.y)
        lam = float(d.flow.eigenvalues[-1])
        r0_sq = float(np.sum((d.f0 - y) ** 2))
        residual_sq = np.sum((d.net_outputs[1:] - y) ** 2, axis=1)
        kernel_ratio.append(bound_ratios(d.flow, times))
        network_ratio.append(residual_sq / (np.exp(-2 * lam * times) * r0_sq))
        lam_min.append(lam)
        net_sq.append(residual_sq)
        init_sq.append(r0_sq)
        kernel_sq.append(np.sum((d.kernel_outputs[1:] - y) ** 2, axis=1))
    return BoundCheck(
        widths=np.asarray(widths),
        times=times,
        network_residual_sq=np.asarray(net_sq),
        initial_residual_sq=np.asarray(init_sq),
        kernel_residual_sq=np.asarray(kernel_sq),
        kernel_ratio=np.asarray(kernel_ratio),
        network_ratio=np.asarray(network_ratio),
        lambda_min=np.asarray(lam_min),
    )


LATE_TIME = 10.0  # from here on the bound is not met trivially: at early times every network equals its kernel
LOSS_FACTOR = 4.0  # the late-time loss of a wide network stays within this factor of its kernel's (geometric mean)


def claim_bound_on_networks(result: BoundCheck, wide: int = WIDE) -> ClaimCheck:
    """The trained networks of width >= ``wide`` obey the bound, and at late times their loss tracks their kernel's.

    Two parts, recomputed from the recorded squared residuals, for every width >= ``wide``:
    ``||r_net(t)||^2 <= exp(-2 lambda_min t) ||r(0)||^2`` at every time (``lambda_min`` of that
    network's own ``K0``), and at ``t >= LATE_TIME`` the geometric mean of ``||r_net||^2 /
    ||r_kernel||^2`` (the kernel: gradient descent on the linear model, same schedule) lies within
    a factor ``LOSS_FACTOR``. The bound alone cannot tell a network from a slower one (a network
    training at half the speed of its kernel still obeys it); the second part can: a network at
    half (or twice) the speed fails, and so does a residual that breaks the bound (e.g. one
    compared with the rate ``4 lambda_min`` of the norm confused with the squared norm).
    The narrower networks are reported, not asserted (nothing protects them).
    """
    ratio = result.network_residual_sq / (
        np.exp(-2 * result.lambda_min[:, None] * result.times[None]) * result.initial_residual_sq[:, None]
    )
    late = result.times >= LATE_TIME
    if not np.any(late):
        raise ValueError(f"no time >= {LATE_TIME} in the experiment")
    worst = ratio.max(axis=1)
    late_worst = ratio[:, late].max(axis=1)
    tracking = np.exp(np.mean(np.log(result.network_residual_sq[:, late] / result.kernel_residual_sq[:, late]), axis=1))
    is_wide = result.widths >= wide
    if not np.any(is_wide):
        raise ValueError(f"no width >= {wide} in the experiment")
    narrow = ", ".join(f"N = {w}: {r:.3g}" for w, r in zip(result.widths[~is_wide], tracking[~is_wide]))
    wide_text = ", ".join(f"N = {w}: bound ratio {b:.3g} (t >= {LATE_TIME:g}: {lb:.3g}), loss / kernel's {q:.3g}"
                          for w, b, lb, q in zip(result.widths[is_wide], worst[is_wide], late_worst[is_wide], tracking[is_wide]))
    holds = bool(np.all(worst[is_wide] <= 1.0) and np.all(np.abs(np.log(tracking[is_wide])) < np.log(LOSS_FACTOR)))
    return claim(
        f"trained networks of width >= {wide} obey the convergence bound and, late, train like their kernel",
        measured=f"{wide_text} (loss / kernel's, narrower, not asserted: {narrow or 'none'})",
        predicted=f"bound ratio ||r(t)||^2 / (exp(-2 lambda_min t) ||r(0)||^2) <= 1 at every time; "
        f"late (t >= {LATE_TIME:g}) loss / kernel's loss within a factor {LOSS_FACTOR:g} (geometric mean)",
        holds=holds,
    )


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
    solved = solve_ivp(
        lambda t, f: -K @ (f - y), (0.0, float(times[-1])), f0, t_eval=times, method="DOP853", rtol=rtol, atol=atol
    )
    if not solved.success:
        raise RuntimeError(f"solve_ivp failed: {solved.message}")
    return solved.y.T


class OdeComparison(NamedTuple):
    """The closed-form flow of one network's ``K0`` against scipy's ODE solve: times (T,), closed_form and numerical (T, n)."""

    width: int
    times: np.ndarray
    closed_form: np.ndarray
    numerical: np.ndarray


@functools.cache
def ode_comparison(width: int = 1024) -> OdeComparison:
    """``GradientFlow(K0, y, f0).outputs`` against ``ode_reference`` at the slider times, for ``flow_width_data(width)``."""
    d = flow_width_data(_validate.positive_int(width, "width"))
    times = np.asarray(FLOW_TIMES)
    closed = np.asarray(d.flow.outputs(times))
    return OdeComparison(int(width), times, closed, ode_reference(d.K0, d.flow.y, d.f0, times))


ODE_TOLERANCE = 1e-8  # the solver runs at rtol 1e-12; outputs are of order 1


def claim_closed_form_matches_ode(result: OdeComparison) -> ClaimCheck:
    """The eigendecomposition solution equals a numerical solve of ``df/dt = -K0 (f - y)`` at every time."""
    difference = float(np.max(np.abs(result.closed_form - result.numerical)))
    return claim(
        "the closed form exp(-K0 t) solves the linear ODE",
        measured=f"largest difference from the DOP853 solve {difference:.2g}",
        predicted=f"0 up to the solver's tolerance (below {ODE_TOLERANCE})",
        holds=difference < ODE_TOLERANCE,
    )


class OutputVelocity(NamedTuple):
    """``d yhat / dt`` by a central difference along ``-grad L`` (``measured``) against ``-K r`` (``predicted``), shape (n,)."""

    width: int
    eps: float
    measured: np.ndarray
    predicted: np.ndarray


@functools.cache
def output_velocity(width: int = 1024, eps: float = 1e-5) -> OutputVelocity:
    """Move ``flow_model(width).init(FLOW_SEED)`` by ``-+eps grad L`` and compare the output velocity with ``-K0 r``."""
    model = flow_model(width)
    eps = _validate.finite_float(eps, "eps", minimum=0.0, strict=True)
    _, x, y, _, _ = flow_problem()
    params = model.init(FLOW_SEED)
    grad = jax.jit(jax.grad(lambda p: 0.5 * jnp.sum((model.apply(p, x) - y) ** 2)))(params)

    def step(size):
        return jax.tree_util.tree_map(lambda p, g: p - size * g, params, grad)

    measured = (model.apply(step(eps), x) - model.apply(step(-eps), x)) / (2 * eps)
    predicted = -empirical_ntk(model, params, x) @ (model.apply(params, x) - y)
    return OutputVelocity(int(width), float(eps), np.asarray(measured), np.asarray(predicted))


VELOCITY_TOLERANCE = 1e-6  # relative; the central difference is accurate to O(eps^2) = 1e-10


def claim_output_velocity(result: OutputVelocity) -> ClaimCheck:
    """The outputs move with velocity ``-K r`` under gradient flow (the chain rule), to ``VELOCITY_TOLERANCE``."""
    error = float(np.max(np.abs(result.measured - result.predicted)) / np.max(np.abs(result.predicted)))
    return claim(
        "under gradient flow the outputs move with velocity -K r",
        measured=f"relative difference {error:.2g}",
        predicted=f"0 up to the finite step (below {VELOCITY_TOLERANCE})",
        holds=error < VELOCITY_TOLERANCE,
    )


def critical_lr(K) -> float:
    """``2 / lambda_max(K)``: gradient descent on the linear model is stable below it, divergent above."""
    lam_max = top_eigenvalue(K)
    if lam_max <= 0:
        raise ValueError("K has no positive eigenvalue")
    return 2.0 / lam_max


class DiscreteRun(NamedTuple):
    """Gradient descent on the linear model: ``lr``, ``step_times = lr k`` (K+1,) and ``residuals`` (K+1, n)."""

    lr: float
    step_times: np.ndarray
    residuals: np.ndarray


def discrete_run(width: int, factor: float, horizon: float = DISCRETE_TIMES[-1]) -> DiscreteRun:
    """``r_{k+1} = (I - lr K0) r_k`` with ``lr = factor * 2 / lambda_max`` up to time ``horizon`` (cached).

    Uses the kernel ``K0`` and residual of ``flow_width_data(width)``.
    """
    width = _validate.positive_int(width, "width")
    factor = _validate.finite_float(factor, "factor", minimum=0.0, strict=True)
    horizon = _validate.finite_float(horizon, "horizon", minimum=0.0, strict=True)
    return _discrete_run(width, factor, horizon)


@functools.cache
def _discrete_run(width, factor, horizon):
    d = flow_width_data(width)
    lr = factor * critical_lr(d.K0)
    steps = math.ceil(horizon / lr)
    residuals = np.asarray(discrete_residuals(d.K0, d.f0 - np.asarray(d.flow.y), lr, steps))
    return DiscreteRun(lr, lr * np.arange(steps + 1), residuals)


class StabilityEdge(NamedTuple):
    """The discrete recursion at learning rates ``factors x 2 / lambda_max``, per width.

    critical_lr : (W,) ``2 / lambda_max`` of each K0; growth : (W, F) ``||r_steps|| / ||r_0||``;
    monotone : (W, F) whether ``||r_k||`` never increased; norms : (W, F, steps + 1) ``||r_k||``
    (what ``claim_stability_edge`` reads).
    """

    widths: np.ndarray
    factors: np.ndarray
    steps: int
    norms: np.ndarray
    critical_lr: np.ndarray
    growth: np.ndarray
    monotone: np.ndarray


@functools.cache
def stability_edge(widths=FLOW_WIDTHS, factors=EDGE_FACTORS, steps: int = EDGE_STEPS) -> StabilityEdge:
    """``steps`` steps of ``r_{k+1} = (I - lr K0) r_k`` from each network's own ``K0`` and residual."""
    widths = _check_widths(widths)
    factors = tuple(_validate.finite_float(f, "factor", minimum=0.0, strict=True) for f in factors)
    steps = _validate.positive_int(steps, "steps")
    critical, growth, monotone, all_norms = [], [], [], []
    for w in widths:
        d = flow_width_data(w)
        r0 = d.f0 - np.asarray(d.flow.y)
        critical.append(critical_lr(d.K0))
        norms = [np.linalg.norm(discrete_residuals(d.K0, r0, f * critical[-1], steps), axis=1) for f in factors]
        growth.append([n[-1] / n[0] for n in norms])
        monotone.append([bool(np.all(np.diff(n) <= 1e-12)) for n in norms])
        all_norms.append(norms)
    return StabilityEdge(
        widths=np.asarray(widths),
        factors=np.asarray(factors),
        steps=steps,
        norms=np.asarray(all_norms),
        critical_lr=np.asarray(critical),
        growth=np.asarray(growth),
        monotone=np.asarray(monotone),
    )


BLOW_UP = 1e3  # growth of ||r|| over the run that counts as divergence


def claim_stability_edge(result: StabilityEdge) -> ClaimCheck:
    """Below ``2 / lambda_max`` the residual never grows and shrinks; above it, it blows up (by more than ``BLOW_UP``).

    Read from ``result.norms`` per factor: a factor < 1 must give a monotone decrease, a factor
    > 1 a growth above ``BLOW_UP``, at every width. A run whose "critical" learning rate is
    wrong (e.g. 1 / lambda_max) fails.
    """
    norms = np.asarray(result.norms)
    growth = norms[..., -1] / norms[..., 0]
    never_up = np.all(np.diff(norms, axis=-1) <= 1e-12 * norms[..., :1], axis=-1)
    below = np.asarray(result.factors) < 1
    above = np.asarray(result.factors) > 1
    holds = bool(np.any(below) and np.any(above))
    holds = holds and np.all(never_up[:, below]) and np.all(growth[:, below] < 1) and np.all(growth[:, above] > BLOW_UP)
    return claim(
        "gradient descent on the linear model is stable below lr = 2 / lambda_max and diverges above",
        measured=f"after {result.steps} steps ||r|| / ||r_0|| from {growth[:, below].min():.3g} to "
        f"{growth[:, below].max():.3g} below (monotone: {bool(np.all(never_up[:, below]))}), "
        f"from {growth[:, above].min():.3g} above",
        predicted=f"below: monotone decrease; above: growth beyond {BLOW_UP:g}",
        holds=holds,
    )


__all__ = [
    "BLOW_UP",
    "BOUND_WIDTHS",
    "DISCRETE_TIMES",
    "DISCRETE_WIDTH",
    "EDGE_FACTORS",
    "EDGE_STEPS",
    "FLOW_SEED",
    "FLOW_TIMES",
    "FLOW_WIDTHS",
    "GAP_TOLERANCE",
    "LR_EARLY",
    "LATE_TIME",
    "LOSS_FACTOR",
    "GAP_EXPONENT",
    "GAP_EXPONENT_TOLERANCE",
    "LR_FACTORS",
    "LR_LATE",
    "N_GRID",
    "N_TRAIN",
    "ODE_TOLERANCE",
    "T_END",
    "T_SWITCH",
    "VELOCITY_TOLERANCE",
    "WIDE",
    "BoundCheck",
    "Descent",
    "DiscreteRun",
    "FlowData",
    "OdeComparison",
    "OutputVelocity",
    "PredictionGap",
    "StabilityEdge",
    "bound_check",
    "bound_ratios",
    "claim_bound_on_networks",
    "claim_closed_form_matches_ode",
    "claim_output_velocity",
    "claim_prediction_gap",
    "claim_stability_edge",
    "critical_lr",
    "discrete_run",
    "flow_model",
    "flow_problem",
    "flow_width_data",
    "grid_outputs",
    "kernel_descent",
    "ode_comparison",
    "ode_reference",
    "output_velocity",
    "prediction_gap",
    "slider_records",
    "stability_edge",
    "target_on",
    "two_phase_descent",
]
