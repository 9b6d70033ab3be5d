"""The loss landscape of a two-layer ReLU net (notebook 01): symmetries, barriers, seeds vs width.

The network is ``f(x) = W2 relu(W1 [x, 1])`` in NTK parameterization, i.e.
``MLP(in_dim=2, width=N, depth=1, sb2=0)`` fed with the 1-D inputs of ``interval_problem``
augmented by a constant feature 1 (so ``W1`` carries the first-layer offset). Every random
draw takes a fixed seed; every network is evaluated by ``model.forward`` / ``model.apply``
and trained by the one trainer, ``train(..., batch=True)`` over seeds.

Public names
------------
Settings: N_POINTS, LR, STEPS, N_RECORDS, SEED_WIDTHS, N_SEEDS, SEEDS, THRESHOLD,
SEGMENT_WIDTHS, PLANE_UV.
Model and symmetries: two_layer, loss, rescale, permute_hidden, interpolate,
segment_losses, plane_losses, one_unit_loss.
Seeds over width: SeedRuns, seed_runs, seed_params, trained_params, stuck_runs,
success_fraction, SuccessSweep, success_sweep.
Barriers: permutations_for, SegmentRun, segment_runs, BarrierSweep, barrier_sweep,
half_scale_loss.
Stalled runs: StallDiagnosis, stall_diagnosis, stall_kinds, edge_run_fates.
Claim checks (predicates returning ``ClaimCheck``): RescalingTest, rescaling_test,
claim_rescaling_invariance, claim_gradient_rescaling, claim_barrier, claim_success_grows,
claim_stationary_runs_are_affine, claim_stalls_oscillate_at_edge.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import interval_problem
from ..kernels import analytic_nngp, empirical_ntk
from ..measure import ClaimCheck, claim, fit_power_law
from ..models import MLP
from ..training import log_record_steps, run_slice, train

# ---------------------------------------------------------------- settings of the notebook
N_POINTS = 8  # training points, equally spaced in [-1, 1]
LR = 0.05  # learning rate of every run (lr * lambda_max ~ 0.8 < 2: stable)
STEPS = 5000  # so the runs end at gradient-flow time T = LR * STEPS = 250
N_RECORDS = 40  # log-spaced records of every run (the time control's values)
SEED_WIDTHS = (16, 32, 64, 128, 256)  # widths N of the seeds sweep
N_SEEDS = 20  # random initializations per width
SEEDS = tuple(range(N_SEEDS))  # run i starts from two_layer(N).init(SEEDS[i])
THRESHOLD = 1e-3  # "near-zero" training loss (initial losses are about 1 to 40)
SEGMENT_WIDTHS = (16, 32, 64, 128, 256)  # widths of the barrier sweep
PLANE_UV = np.round(np.linspace(-0.3, 1.3, 33), 12)  # contains 0, 0.5 and 1 exactly
RESCALINGS = (0.25, 0.5, 2.0, 3.0, 4.0)  # 3 is not a power of two: real round-off  # the factors c of the rescaling claim check
TAIL_STEPS = 20  # the last steps of a stalled run recorded one by one
STATIONARY_GRADIENT = 1e-4  # a stalled run with a smaller gradient norm has stopped
MAX_SLOW_CRAWLS = 1  # stalled runs that neither stopped nor oscillate at the edge (seed 8 at width 16)
BARRIER_TREND = 0.25  # the barrier heights may not fall faster with N than N^-0.25
HALF_SCALE_FACTOR = 2.0  # midpoint losses within this factor of the half-scale random net
EDGE_TOLERANCE = 0.05  # |eta lambda_max - 2| below this: at the edge of stability
FLIP_FRACTION = 0.9  # a period-2 oscillation flips sign at (nearly) every step
LONG_STEPS = 10 * STEPS  # how long the stall diagnosis follows the runs further


# ---------------------------------------------------------------- model
def two_layer(width: int, activation: str = "relu") -> MLP:
    """The two-layer network ``f = W2 phi(W1 [x, 1])`` of the notebook (NTK parameterization, no bias)."""
    width = _validate.positive_int(width, "width")
    return MLP(in_dim=2, width=width, depth=1, activation=activation, sb2=0.0)


def loss(model: MLP, params, X, y):
    """Squared loss ``1/2 ||f(X) - y||^2`` (the course's convention, no 1/n); usable inside jit."""
    residual = model.forward(params, X)[1] - y
    return 0.5 * jnp.dot(residual, residual)


def _check_two_layer_params(params) -> None:
    if not isinstance(params, (list, tuple)) or len(params) != 2:
        raise ValueError("params must be the two layers [{'W', 'b'}, {'W', 'b'}] of a depth-1 MLP")
    for i, layer in enumerate(params):
        if not isinstance(layer, dict) or set(layer) != {"W", "b"}:
            raise ValueError(f"layer {i} of params must be a dict with keys 'W' and 'b'")
    m = jnp.shape(params[0]["W"])[-1]
    if jnp.shape(params[1]["W"])[-2:] != (m, 1) or jnp.shape(params[0]["b"])[-1] != m:
        raise ValueError(
            f"params do not describe one hidden layer: W1 {jnp.shape(params[0]['W'])}, "
            f"b1 {jnp.shape(params[0]['b'])}, W2 {jnp.shape(params[1]['W'])}"
        )


# ---------------------------------------------------------------- symmetries
def rescale(params, c):
    """Move the network along its rescaling symmetry: ``W1 -> W1 / c``, ``W2 -> c W2``.

    The first layer's bias is divided by ``c`` too, so for a ReLU network and ``c > 0`` the
    function is unchanged: ``c relu(z / c) = relu(z)`` (positive homogeneity). The read-out
    bias is untouched.
    """
    _check_two_layer_params(params)
    c = _validate.finite_float(c, "c")
    if c == 0.0:
        raise ValueError("c must be non-zero (c = 0 would erase the network)")
    first, second = params
    return [{"W": first["W"] / c, "b": first["b"] / c}, {"W": c * second["W"], "b": second["b"]}]


def _as_permutation(perm, m: int) -> np.ndarray:
    try:
        arr = np.asarray(perm)
    except (TypeError, ValueError) as err:
        raise ValueError(f"perm must be a permutation of 0..{m - 1}") from err
    if arr.shape != (m,) or not np.issubdtype(arr.dtype, np.integer) or not np.array_equal(np.sort(arr), np.arange(m)):
        raise ValueError(f"perm must be a permutation of 0..{m - 1} (an integer array of length {m}); got {perm!r}")
    return arr


def permute_hidden(params, perm):
    """Reorder the hidden units: new unit ``j`` is old unit ``perm[j]``.

    Columns of ``W1``, entries of ``b1`` and rows of ``W2`` are permuted together, so the
    network function is unchanged (a sum over hidden units does not care about their order).
    """
    _check_two_layer_params(params)
    m = jnp.shape(params[0]["W"])[-1]
    p = _as_permutation(perm, m)
    first, second = params
    return [{"W": first["W"][:, p], "b": first["b"][p]}, {"W": second["W"][p, :], "b": second["b"]}]


def interpolate(params_a, params_b, s):
    """The point ``(1 - s) theta_a + s theta_b`` on the straight segment between two parameter sets."""
    if jax.tree_util.tree_structure(params_a) != jax.tree_util.tree_structure(params_b):
        raise ValueError("params_a and params_b must have the same structure")
    return jax.tree_util.tree_map(lambda a, b: (1.0 - s) * a + s * b, params_a, params_b)


@functools.partial(jax.jit, static_argnums=0)
def _plane_losses(model, params_0, params_1, params_2, X, y, u, v):
    """Loss at ``theta_0 + u (theta_1 - theta_0) + v (theta_2 - theta_0)`` on the (v, u) grid."""

    def at(ui, vi):
        point = jax.tree_util.tree_map(lambda a, b, c: a + ui * (b - a) + vi * (c - a), params_0, params_1, params_2)
        return loss(model, point, X, y)

    return jax.vmap(lambda vi: jax.vmap(lambda ui: at(ui, vi))(u))(v)


def _checked_inputs(model, X, y, *params):
    if not isinstance(model, MLP):
        raise ValueError("model must be a course_utils.MLP")  # noqa: TRY004  (the course raises ValueError for bad input)
    X = _validate.as_inputs(X, model.in_dim, "X")
    y = _validate.as_vector(y, X.shape[0], "y")
    structure = jax.tree_util.tree_structure(params[0])
    if any(jax.tree_util.tree_structure(p) != structure for p in params[1:]):
        raise ValueError("params_a and params_b must have the same structure")
    for p in params:
        model.check_params(p)
    return X, y


def _as_coordinates(values, name: str) -> jnp.ndarray:
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if values.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of numbers")
    return jnp.asarray(values)


def segment_losses(model: MLP, params_a, params_b, X, y, s_values=PLANE_UV) -> np.ndarray:
    """Loss at ``(1 - s) theta_a + s theta_b`` for every ``s`` in ``s_values``: shape (len(s),).

    All ``s`` at once with ``model.forward`` (one compiled program per width).
    """
    X, y = _checked_inputs(model, X, y, params_a, params_b)
    s = _as_coordinates(s_values, "s_values")
    return np.asarray(_plane_losses(model, params_a, params_b, params_a, X, y, s, jnp.zeros(1))[0])


def plane_losses(model: MLP, params_0, params_1, params_2, X, y, u=PLANE_UV, v=PLANE_UV) -> np.ndarray:
    """Loss on the plane through three parameter sets: ``theta_0 + u (theta_1 - theta_0) + v (theta_2 - theta_0)``.

    Returns an array of shape (len(v), len(u)) (rows follow ``v``, as ``contour`` expects).
    The three points sit at (u, v) = (0, 0), (1, 0) and (0, 1).
    """
    X, y = _checked_inputs(model, X, y, params_0, params_1, params_2)
    u, v = _as_coordinates(u, "u"), _as_coordinates(v, "v")
    return np.asarray(_plane_losses(model, params_0, params_1, params_2, X, y, u, v))


def one_unit_loss(w, a, x: float = 1.0, y: float = 1.0):
    """Loss of a one-unit ReLU net on one point: ``1/2 (a relu(w x) - y)^2`` (broadcasts over w, a)."""
    w = np.asarray(w, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    return 0.5 * (a * np.maximum(w * x, 0.0) - y) ** 2


# ---------------------------------------------------------------- width and time: many seeds
class SeedRuns(NamedTuple):
    """What ``seed_runs`` records for one width (numpy arrays).

    times : (R,) recorded gradient-flow times.  losses : (n_seeds, R) training losses.
    first_history : the parameters of seed 0 at every record (list of layer dicts, leading R axis).
    final_params : every seed's parameters after the last step (layer dicts, leading seed axis).
    """

    times: np.ndarray
    losses: np.ndarray
    first_history: list
    final_params: list


@functools.cache
def seed_runs(width: int) -> SeedRuns:
    """Train ``two_layer(width)`` from every seed of ``SEEDS``; cached per width.

    One ``train(..., batch=True)`` call: the ``N_SEEDS`` initializations of ``init_many(SEEDS)``
    trained side by side (one compilation per width) for ``STEPS`` steps at ``LR``, recorded
    at about ``N_RECORDS`` log-spaced steps.
    """
    width = _validate.positive_int(width, "width")
    model = two_layer(width)
    _, X, y = interval_problem(N_POINTS)
    traj = train(
        model.apply, model.init_many(SEEDS), X, y, lr=LR, steps=STEPS,
        record_steps=log_record_steps(STEPS, N_RECORDS), record_params=True, batch=True,
    )
    as_numpy = functools.partial(jax.tree_util.tree_map, np.asarray)
    return SeedRuns(
        times=np.asarray(traj.times),
        losses=np.asarray(traj.loss),
        first_history=as_numpy(run_slice(traj.param_history, 0)),
        final_params=as_numpy(traj.params),
    )


def seed_params(width: int, seed_index: int):
    """The initial parameters of seed ``seed_index`` in ``seed_runs(width)``: ``two_layer(width).init(SEEDS[i])``."""
    seed_index = _validate.positive_int(seed_index, "seed_index", minimum=0)
    if seed_index >= N_SEEDS:
        raise ValueError(f"seed_index must be < {N_SEEDS}; got {seed_index}")
    return two_layer(width).init(SEEDS[seed_index])


def trained_params(width: int, seed_index: int = 0):
    """Parameters of seed ``seed_index`` of ``seed_runs(width)`` after training (as jax arrays)."""
    runs = seed_runs(_validate.positive_int(width, "width"))
    seed_index = _validate.positive_int(seed_index, "seed_index", minimum=0)
    if seed_index >= runs.losses.shape[0]:
        raise ValueError(f"seed_index must be < {runs.losses.shape[0]}; got {seed_index}")
    return jax.tree_util.tree_map(jnp.asarray, run_slice(runs.final_params, seed_index))


def stuck_runs(width: int, threshold: float = THRESHOLD):
    """The seeds of ``seed_runs(width)`` that ended above ``threshold``: one row per seed.

    Returns a list of ``(seed_index, final loss, gradient norm, residual f(X) - y)``; a tiny
    gradient norm with a positive loss means gradient descent stopped at a stationary point
    that is not a global minimum.
    """
    width = _validate.positive_int(width, "width")
    threshold = _validate.finite_float(threshold, "threshold", minimum=0.0, strict=True)
    runs = seed_runs(width)
    model = two_layer(width)
    _, X, y = interval_problem(N_POINTS)
    grad = jax.jit(jax.grad(lambda p: loss(model, p, X, y)))
    rows = []
    for i in np.flatnonzero(runs.losses[:, -1] >= threshold):
        p = trained_params(width, int(i))
        norm = float(np.sqrt(sum(float(jnp.sum(leaf**2)) for leaf in jax.tree_util.tree_leaves(grad(p)))))
        rows.append((int(i), float(runs.losses[i, -1]), norm, np.asarray(model.apply(p, X) - y)))
    return rows


def success_fraction(losses, threshold: float = THRESHOLD) -> np.ndarray:
    """Fraction of runs whose loss is below ``threshold``, at every record: (n_runs, R) -> (R,)."""
    threshold = _validate.finite_float(threshold, "threshold", minimum=0.0, strict=True)
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 2:
        raise ValueError(f"losses must have shape (n_runs, n_records); got {losses.shape}")
    return np.mean(losses < threshold, axis=0)


class SuccessSweep(NamedTuple):
    """The success rate of gradient descent over seeds, per width (numpy arrays).

    widths : (W,).  times : (R,) recorded times.  fractions : (W, R) fraction of the
    ``N_SEEDS`` runs below ``threshold`` at every record.  final : (W,) the fraction at the end.
    threshold : the loss counted as success.
    """

    widths: np.ndarray
    times: np.ndarray
    fractions: np.ndarray
    final: np.ndarray
    threshold: float


def success_sweep(widths=SEED_WIDTHS, threshold: float = THRESHOLD) -> SuccessSweep:
    """Success fraction over seeds at every width of ``widths`` (from ``seed_runs``, cached)."""
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    threshold = _validate.finite_float(threshold, "threshold", minimum=0.0, strict=True)
    return _success_sweep(widths, threshold)


@functools.cache
def _success_sweep(widths: tuple, threshold: float) -> SuccessSweep:
    fractions = np.array([success_fraction(seed_runs(w).losses, threshold) for w in widths])
    return SuccessSweep(np.asarray(widths), seed_runs(widths[0]).times, fractions, fractions[:, -1], threshold)


# ---------------------------------------------------------------- width and time: the barrier
def permutations_for(width: int, seed: int = 0):
    """The two fixed hidden-unit permutations P and Q used for a width (seeded, deterministic)."""
    width = _validate.positive_int(width, "width", minimum=3)
    rng = np.random.default_rng(1000 + seed)
    p = rng.permutation(width)
    while np.array_equal(p, np.arange(width)):  # an identity would not move the network
        p = rng.permutation(width)
    q = rng.permutation(width)
    while np.array_equal(q, np.arange(width)) or np.array_equal(q, p):
        q = rng.permutation(width)
    return p, q


class SegmentRun(NamedTuple):
    """What ``segment_runs`` computes for one width (numpy arrays).

    times : (T,) the recorded times.  loss_path : (T,) the trained net's loss at those times.
    segment : (T, len(s)) loss at theta_t + s (P theta_t - theta_t), for s from -0.3 to 1.3
    (s = 0 and s = 1 are the two endpoints).  plane : (T, len(v), len(u)) loss on the plane
    through theta_t, P theta_t, Q theta_t.  s, u, v : the coordinates (all ``PLANE_UV``).
    """

    times: np.ndarray
    loss_path: np.ndarray
    segment: np.ndarray
    plane: np.ndarray
    s: np.ndarray
    u: np.ndarray
    v: np.ndarray


@functools.cache
def segment_runs(width: int) -> SegmentRun:
    """Loss between the trained net and its permuted copies, at every recorded time; cached per width.

    Uses seed 0 of ``seed_runs(width)`` (no new training): at every recorded time ``t``, the
    loss on the plane through ``theta_t``, ``P theta_t`` and ``Q theta_t`` (P, Q from
    ``permutations_for``); the row ``v = 0`` is the line through ``theta_t`` and ``P theta_t``.
    """
    width = _validate.positive_int(width, "width", minimum=3)
    model = two_layer(width)
    _, X, y = interval_problem(N_POINTS)
    runs = seed_runs(width)
    p, q = permutations_for(width)
    plane = []
    for k in range(len(runs.times)):  # one time at a time: a (33, 33, 8, N) array at most
        theta = run_slice(runs.first_history, k)
        plane.append(plane_losses(model, theta, permute_hidden(theta, p), permute_hidden(theta, q), X, y))
    plane = np.asarray(plane)
    row = int(np.flatnonzero(PLANE_UV == 0.0)[0])  # v = 0: the line theta_t -> P theta_t
    return SegmentRun(
        times=runs.times,
        loss_path=runs.losses[0],
        segment=plane[:, row, :],
        plane=plane,
        s=PLANE_UV.copy(),
        u=PLANE_UV.copy(),
        v=PLANE_UV.copy(),
    )


class BarrierSweep(NamedTuple):
    """At the end of training, per width (numpy arrays of shape (W,)): the loss at theta_T,
    at its permuted copy P theta_T, and at their midpoint."""

    widths: np.ndarray
    loss_start: np.ndarray
    loss_permuted: np.ndarray
    loss_midpoint: np.ndarray


def barrier_sweep(widths=SEGMENT_WIDTHS) -> BarrierSweep:
    """The barrier between permuted minima at every width (from ``segment_runs``, cached)."""
    widths = tuple(_validate.positive_int(w, "width", minimum=3) for w in widths)
    i0, i1, mid = (int(np.flatnonzero(PLANE_UV == value)[0]) for value in (0.0, 1.0, 0.5))
    ends = np.array([segment_runs(w).segment[-1, [i0, i1, mid]] for w in widths])
    return BarrierSweep(np.asarray(widths), ends[:, 0], ends[:, 1], ends[:, 2])


def half_scale_loss(model: MLP, X, y) -> float:
    """Expected loss of a fresh random network of half the output scale, ``1/2 ||y||^2 + tr(Sigma) / 8``.

    At the midpoint of two permuted copies, hidden unit j averages two (nearly) independent
    units: its incoming and outgoing weights are N(0, 1/2) instead of N(0, 1), so (ReLU being
    positively homogeneous) the midpoint is, in distribution, a fresh network with half the
    output. Its output has covariance ``Sigma / 4`` (``Sigma`` the NNGP kernel) and mean zero,
    whence the expected loss; nothing in it depends on the width.
    """
    sigma = np.asarray(analytic_nngp(model, X))
    y = np.asarray(y, dtype=np.float64)
    return float(0.5 * y @ y + np.trace(sigma) / 8.0)


# ---------------------------------------------------------------- stalled runs
class StallDiagnosis(NamedTuple):
    """Why the runs of ``seed_runs(width)`` that end above ``THRESHOLD`` stall (numpy arrays).

    width, lr, threshold : the setting.  seeds : (k,) indices of the stalled runs.
    tail_steps : (R,) the last ``TAIL_STEPS + 1`` steps, recorded one by one.
    tail_loss : (k, R) each stalled run's loss at those steps.
    top_residual : (k, R) the residual ``r = f(X) - y`` at those steps along the top
        eigenvector of the run's own empirical NTK at the end (one fixed vector per run).
    grad_norm : (k,) ``||grad L||`` at the end.  final_loss : (k,).
    lr_lambda_max : (k,) ``eta * lambda_max(K_T)`` of each run's own empirical NTK at the end
        (2 is the stability edge of gradient descent on the linearized model).
    flip_fraction : (k,) fraction of the last steps at which ``top_residual`` changes sign
        (1: a period-2 oscillation along the top eigenvector).
    oscillation_share : (k,) ``1/2 top_residual^2 / L`` at the end: the share of the loss
        that sits in the oscillating direction.
    step_gain : (k,) ``eta ||grad L||^2 / L``: the fraction of the loss one small, stable
        step would remove to first order (above 1: no crawl).
    line_gap : (k,) for the runs that stopped (``grad_norm < STATIONARY_GRADIENT``): the largest
        difference between the residual on the missed points and that of the best straight
        line through those points; NaN for the others.
    long_steps : int.  long_loss : (k,) the loss after ``long_steps`` steps of the same runs.
    """

    width: int
    lr: float
    threshold: float
    seeds: np.ndarray
    tail_steps: np.ndarray
    tail_loss: np.ndarray
    top_residual: np.ndarray
    grad_norm: np.ndarray
    final_loss: np.ndarray
    lr_lambda_max: np.ndarray
    flip_fraction: np.ndarray
    oscillation_share: np.ndarray
    step_gain: np.ndarray
    line_gap: np.ndarray
    long_steps: int
    long_loss: np.ndarray


@functools.cache
def _gradient_norm_measure(width: int):
    """``measure(params) -> ||grad L||`` for ``two_layer(width)`` (one function object per width)."""
    model = two_layer(width)
    _, X, y = interval_problem(N_POINTS)
    grad = jax.grad(lambda p: loss(model, p, X, y))

    def measure(params):
        return jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(grad(params))))

    return measure


def _line_gap(x, y, residual) -> float:
    missed = np.flatnonzero(np.abs(residual) > THRESHOLD)
    if missed.size < 2:
        return float("nan")
    A = np.column_stack([x[missed], np.ones(missed.size)])
    line = A @ np.linalg.lstsq(A, y[missed], rcond=None)[0]
    return float(np.max(np.abs(residual[missed] - (line - y[missed]))))


def stall_diagnosis(width: int = SEED_WIDTHS[0]) -> StallDiagnosis:
    """Diagnose the stalled runs of ``seed_runs(width)`` from data; cached per width.

    The same runs (``init_many(SEEDS)``, ``LR``, ``STEPS``) are trained again, recording each
    of the last ``TAIL_STEPS`` steps and the gradient norm there; at the end, each stalled
    run's own empirical NTK gives ``eta lambda_max`` and the top eigenvector along which the
    residual is followed; the runs are then continued to ``LONG_STEPS``.
    """
    return _stall_diagnosis(_validate.positive_int(width, "width"))


@functools.cache
def _stall_diagnosis(width: int) -> StallDiagnosis:
    model = two_layer(width)
    x, X, y = interval_problem(N_POINTS)
    runs = seed_runs(width)
    seeds = np.flatnonzero(runs.losses[:, -1] >= THRESHOLD)
    tail = np.arange(STEPS - TAIL_STEPS, STEPS + 1)
    init = model.init_many([SEEDS[i] for i in seeds])
    traj = train(model.apply, init, X, y, lr=LR, steps=STEPS, record_steps=tail,
                 measure=_gradient_norm_measure(width), batch=True)
    longer = train(model.apply, init, X, y, lr=LR, steps=LONG_STEPS, record_steps=[0, LONG_STEPS], batch=True)
    x, y = np.asarray(x[:, 0]), np.asarray(y)
    keep = np.isin(np.asarray(traj.steps), tail)  # step 0 is always recorded too: drop it
    outputs, tail_loss = np.asarray(traj.outputs)[:, keep], np.asarray(traj.loss)[:, keep]
    grad_norm = np.asarray(traj.measurements)[:, -1]
    lam, top, gaps = [], [], []
    for k in range(len(seeds)):
        eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(empirical_ntk(model, run_slice(traj.params, k), X)))
        lam.append(eigenvalues[-1])
        top.append((outputs[k] - y) @ eigenvectors[:, -1])
        stopped = grad_norm[k] < STATIONARY_GRADIENT
        gaps.append(_line_gap(x, y, outputs[k, -1] - y) if stopped else float("nan"))
    final_loss = tail_loss[:, -1]
    top = np.asarray(top)
    signs = np.sign(top)
    return StallDiagnosis(
        width=width, lr=LR, threshold=THRESHOLD, seeds=seeds, tail_steps=tail, tail_loss=tail_loss,
        top_residual=top, grad_norm=grad_norm, final_loss=final_loss,
        lr_lambda_max=LR * np.asarray(lam), flip_fraction=np.mean(signs[:, 1:] * signs[:, :-1] < 0, axis=1),
        oscillation_share=0.5 * top[:, -1] ** 2 / final_loss, step_gain=LR * grad_norm**2 / final_loss, line_gap=np.asarray(gaps),
        long_steps=LONG_STEPS, long_loss=np.asarray(longer.loss)[:, -1],
    )


def stall_kinds(diag: StallDiagnosis) -> list[str]:
    """Name each stalled run from the data: ``"stationary"`` (gradient below
    ``STATIONARY_GRADIENT``), ``"edge of stability"`` (``eta lambda_max`` within
    ``EDGE_TOLERANCE`` of 2 and the residual along the top eigenvector flipping sign at
    ``FLIP_FRACTION`` of the last steps or more: a period-2 oscillation), else ``"slow descent"``."""
    kinds = []
    for g, e, f in zip(diag.grad_norm, diag.lr_lambda_max, diag.flip_fraction):
        if g < STATIONARY_GRADIENT:
            kinds.append("stationary")
        elif abs(e - 2.0) < EDGE_TOLERANCE and f >= FLIP_FRACTION:
            kinds.append("edge of stability")
        else:
            kinds.append("slow descent")
    return kinds


# ---------------------------------------------------------------- claim checks (predicates)
class RescalingTest(NamedTuple):
    """The rescaling symmetry measured on one network (numpy arrays over ``cs``).

    cs : (C,) the factors c > 0.  relu_change, tanh_change : (C,) largest output change of the
    ReLU / tanh network under ``W1 -> W1 / c, W2 -> c W2``.  negative_change : the ReLU
    network's change at c = -1.  grad_ratio_W1, grad_ratio_W2 : (C,) ``|dL/dW| at the rescaled
    point / |dL/dW| at theta`` (theory c and 1/c).
    """

    cs: np.ndarray
    relu_change: np.ndarray
    tanh_change: np.ndarray
    negative_change: float
    grad_ratio_W1: np.ndarray
    grad_ratio_W2: np.ndarray


@functools.cache
def rescaling_test(width: int = 64, seed: int = 0, cs=RESCALINGS) -> RescalingTest:
    """Rescale ``two_layer(width).init(seed)`` by every c in ``cs``, as ReLU and as tanh network."""
    width = _validate.positive_int(width, "width")
    cs = tuple(_validate.finite_float(c, "c") for c in cs)
    model, tanh_model = two_layer(width), two_layer(width, activation="tanh")
    _, X, y = interval_problem(N_POINTS)
    params = model.init(seed)
    grad = jax.grad(lambda p: loss(model, p, X, y))
    g = grad(params)

    def change(m, p):
        return float(jnp.max(jnp.abs(m.apply(p, X) - m.apply(params, X))))

    relu, tanh, r1, r2 = [], [], [], []
    for c in cs:
        rescaled = rescale(params, c)
        relu.append(change(model, rescaled))
        tanh.append(change(tanh_model, rescaled))
        g_c = grad(rescaled)
        r1.append(float(jnp.linalg.norm(g_c[0]["W"]) / jnp.linalg.norm(g[0]["W"])))
        r2.append(float(jnp.linalg.norm(g_c[1]["W"]) / jnp.linalg.norm(g[1]["W"])))
    return RescalingTest(np.asarray(cs), np.asarray(relu), np.asarray(tanh), change(model, rescale(params, -1.0)),
                         np.asarray(r1), np.asarray(r2))


def claim_rescaling_invariance(test: RescalingTest) -> ClaimCheck:
    """ReLU outputs unchanged (< 1e-12) under every c > 0; tanh outputs and c = -1 change (> 1e-3)."""
    relu, tanh = np.max(test.relu_change), np.min(test.tanh_change)
    return claim(
        "a ReLU network is invariant under W1 -> W1/c, W2 -> c W2 (c > 0); tanh and c = -1 are not",
        measured=f"ReLU change <= {relu:.1e}, tanh change >= {tanh:.3g}, c = -1 change {test.negative_change:.3g}",
        predicted="ReLU change 0 (round-off, < 1e-12); tanh and c = -1 change visibly (> 1e-3)",
        holds=relu < 1e-12 and tanh > 1e-3 and test.negative_change > 1e-3,
    )


def claim_gradient_rescaling(test: RescalingTest) -> ClaimCheck:
    """The gradients scale by exactly c (first layer) and 1/c (second layer), to 1e-9."""
    err1 = np.max(np.abs(test.grad_ratio_W1 / test.cs - 1.0))
    err2 = np.max(np.abs(test.grad_ratio_W2 * test.cs - 1.0))
    return claim(
        "rescaling multiplies |dL/dW1| by c and |dL/dW2| by 1/c",
        measured=f"largest relative deviation {max(err1, err2):.1e} over c = {', '.join(f'{c:g}' for c in test.cs)}",
        predicted="ratios c and 1/c exactly (deviation < 1e-9)",
        holds=err1 < 1e-9 and err2 < 1e-9,
    )


def claim_barrier(barriers: BarrierSweep, y, half_scale: float | None = None) -> ClaimCheck:
    """At every width the permuted copies have the same loss (to 1e-9) and the midpoint is
    above the chord by more than a tenth of ``1/2 ||y||^2`` (the loss of predicting zero).

    With three widths or more, the barrier must also not shrink with width: the power-law
    exponent of the heights against N is above ``-BARRIER_TREND`` (a shrinking 1/sqrt(N)
    would give -1/2). With ``half_scale`` (``half_scale_loss``: the expected loss of a fresh
    random network of half the output scale), every midpoint loss must lie within a factor
    ``HALF_SCALE_FACTOR`` of it (one seed per width: the midpoints fluctuate around it).
    """
    y = np.asarray(y, dtype=np.float64)
    scale = 0.5 * float(y @ y)
    widths = np.asarray(barriers.widths)
    chord = 0.5 * (barriers.loss_start + barriers.loss_permuted)
    heights = barriers.loss_midpoint - chord
    same = np.all(np.abs(barriers.loss_start - barriers.loss_permuted) <= 1e-9 * np.maximum(barriers.loss_start, 1e-12))
    holds = bool(same) and bool(np.all(heights > 0.1 * scale))
    where = "at every width" if len(widths) > 1 else f"at width {int(widths[0])}"
    measured = (f"barrier heights {', '.join(f'{h:.3g}' for h in heights)} at "
                f"{'widths' if len(widths) > 1 else 'width'} {', '.join(str(int(w)) for w in widths)}")
    predicted = f"> {0.1 * scale:.3g} (a tenth of the zero predictor's loss {scale:.3g}) with equal ends"
    if len(widths) >= 3:
        trend = fit_power_law(widths.astype(float), np.maximum(heights, 1e-12))
        measured += f"; trend with N: exponent {trend}"
        predicted += f"; no shrinking with N (exponent > {-BARRIER_TREND})"
        holds = holds and trend.exponent > -BARRIER_TREND
    if half_scale is not None:
        ratio = np.asarray(barriers.loss_midpoint) / half_scale
        measured += f"; midpoint / half-scale random net {ratio.min():.2f} to {ratio.max():.2f}"
        predicted += f"; midpoint within a factor {HALF_SCALE_FACTOR:g} of the half-scale random net ({half_scale:.3g})"
        holds = holds and bool(np.all((ratio > 1 / HALF_SCALE_FACTOR) & (ratio < HALF_SCALE_FACTOR)))
    return claim(
        f"the midpoint of two permuted trained networks is far above the chord, {where}",
        measured=measured,
        predicted=predicted,
        holds=holds,
    )


def claim_success_grows(sweep: SuccessSweep) -> ClaimCheck:
    """Narrow networks often fail (<= 30% succeed), the widest succeed (>= 90%), and the rate
    never drops by more than one seed in ten from one width to the next."""
    final = np.asarray(sweep.final)
    monotone = bool(np.all(np.diff(final) >= -0.1))
    return claim(
        "the fraction of seeds that reach near-zero loss grows with width",
        measured=", ".join(f"{f:.0%} at N = {int(w)}" for w, f in zip(sweep.widths, final)),
        predicted="expected (not a theorem): <= 30% at the narrowest, >= 90% at the widest, no drop with width",
        holds=final[0] <= 0.3 and final[-1] >= 0.9 and monotone,
    )


def claim_stationary_runs_are_affine(diag: StallDiagnosis) -> ClaimCheck:
    """The runs that stopped (gradient < ``STATIONARY_GRADIENT``) are a straight line over the
    points they miss: their residual there equals the best line's to 2e-3 (residuals ~0.05-0.1);
    at least three such runs."""
    stopped = diag.grad_norm < STATIONARY_GRADIENT
    gaps = diag.line_gap[stopped]
    worst = float(np.max(gaps)) if gaps.size else float("nan")
    return claim(
        "the runs that stopped at a positive loss are affine across the points they miss",
        measured=f"{int(stopped.sum())} stopped runs; residual minus the straight-line fit's <= {worst:.1e}",
        predicted="equal to the straight-line fit (< 2e-3) in every stopped run, at least 3 of them",
        holds=stopped.sum() >= 3 and bool(np.all(gaps < 2e-3)),
    )


def claim_stalls_oscillate_at_edge(diag: StallDiagnosis) -> ClaimCheck:
    """Every stalled run, classified by ``stall_kinds``: each one has either stopped (gradient
    below ``STATIONARY_GRADIENT``) or oscillates at the edge of stability (``eta lambda_max``
    of its own kernel within ``EDGE_TOLERANCE`` of 2, the residual along the top eigenvector
    flipping sign at ``FLIP_FRACTION`` of the last steps or more), except at most
    ``MAX_SLOW_CRAWLS`` slow crawl(s); at least one run at the edge; and every slow crawl,
    followed to ``LONG_STEPS``, ends (to 1e-3 relative) at a loss at which some run stopped:
    it crawls into a trap."""
    kinds = np.asarray(stall_kinds(diag))
    stopped, edge, slow = (kinds == "stationary"), (kinds == "edge of stability"), (kinds == "slow descent")
    trap_losses = np.asarray(diag.final_loss)[stopped]
    trapped = [bool(trap_losses.size) and bool(np.min(np.abs(trap_losses - long) / trap_losses) < 1e-3)
               for long in np.asarray(diag.long_loss)[slow]]
    slow_text = ", ".join(
        f"seed {int(s)}: gradient {g:.1e}, eta lambda_max {e:.2f}, after {diag.long_steps} steps {l:.3g}"
        for s, g, e, l in zip(diag.seeds[slow], diag.grad_norm[slow], diag.lr_lambda_max[slow], diag.long_loss[slow]))
    return claim(
        f"every stalled run has stopped or oscillates at the edge of stability, except at most "
        f"{MAX_SLOW_CRAWLS} slow crawl into a trap",
        measured=f"{len(kinds)} stalled runs: {int(stopped.sum())} stopped, {int(edge.sum())} at the edge "
                 f"(eta lambda_max {_range_text(diag.lr_lambda_max[edge])}), {int(slow.sum())} slow crawl"
                 + (f" ({slow_text})" if slow.any() else ""),
        predicted=f"stopped (gradient < {STATIONARY_GRADIENT:g}) or at the edge (eta lambda_max = 2 +/- {EDGE_TOLERANCE}, "
                  f"flips at >= {FLIP_FRACTION:.0%} of the steps); at most {MAX_SLOW_CRAWLS} slow crawl, ending at a "
                  "stopped run's loss",
        holds=bool(edge.sum() >= 1) and int(slow.sum()) <= MAX_SLOW_CRAWLS and all(trapped),
    )


def _range_text(values) -> str:
    values = np.asarray(values)
    return f"{values.min():.3f} to {values.max():.3f}" if values.size else "none"


def edge_run_fates(diag: StallDiagnosis, rtol: float = 1e-3) -> list[str]:
    """Where each stalled run is after ``LONG_STEPS`` steps, from ``diag.long_loss``:
    ``"below threshold"``, ``"at a stopped run's loss"`` (within ``rtol`` of the final loss of
    a run that stopped), or ``"elsewhere"``."""
    stopped = np.asarray(diag.final_loss)[np.asarray(diag.grad_norm) < STATIONARY_GRADIENT]
    fates = []
    for long in np.asarray(diag.long_loss):
        if long < diag.threshold:
            fates.append("below threshold")
        elif stopped.size and np.min(np.abs(stopped - long) / stopped) < rtol:
            fates.append("at a stopped run's loss")
        else:
            fates.append("elsewhere")
    return fates


__all__ = [
    "EDGE_TOLERANCE",
    "FLIP_FRACTION",
    "LONG_STEPS",
    "LR",
    "BARRIER_TREND",
    "HALF_SCALE_FACTOR",
    "MAX_SLOW_CRAWLS",
    "N_POINTS",
    "N_RECORDS",
    "N_SEEDS",
    "PLANE_UV",
    "RESCALINGS",
    "SEEDS",
    "SEED_WIDTHS",
    "SEGMENT_WIDTHS",
    "STATIONARY_GRADIENT",
    "STEPS",
    "TAIL_STEPS",
    "THRESHOLD",
    "BarrierSweep",
    "RescalingTest",
    "SeedRuns",
    "SegmentRun",
    "StallDiagnosis",
    "SuccessSweep",
    "barrier_sweep",
    "claim_barrier",
    "edge_run_fates",
    "claim_gradient_rescaling",
    "claim_rescaling_invariance",
    "claim_stalls_oscillate_at_edge",
    "claim_stationary_runs_are_affine",
    "claim_success_grows",
    "half_scale_loss",
    "interpolate",
    "loss",
    "one_unit_loss",
    "permutations_for",
    "permute_hidden",
    "plane_losses",
    "rescale",
    "rescaling_test",
    "seed_params",
    "seed_runs",
    "segment_losses",
    "segment_runs",
    "stall_diagnosis",
    "stall_kinds",
    "stuck_runs",
    "success_fraction",
    "success_sweep",
    "trained_params",
    "two_layer",
]
