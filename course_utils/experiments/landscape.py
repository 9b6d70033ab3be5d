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
Barriers: permutations_for, SegmentRun, segment_runs, BarrierSweep, barrier_sweep.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import interval_problem
from ..models import MLP
from ..training import log_record_steps, run_slice, train

# ---------------------------------------------------------------- settings of the notebook
N_POINTS = 8  # training points, equally spaced in [-1, 1]
LR = 0.05  # learning rate of every run (lr * lambda_max ~ 0.8 < 2: stable)
STEPS = 5000  # so the runs end at gradient-flow time T = LR * STEPS = 250
N_RECORDS = 40  # log-spaced records of every run (the time control's values)
SEED_WIDTHS = (16, 32, 64, 128, 256)  # widths N of the seeds sweep
N_SEEDS = 20  # random initialisations per width
SEEDS = tuple(range(N_SEEDS))  # run i starts from two_layer(N).init(SEEDS[i])
THRESHOLD = 1e-3  # "near-zero" training loss (initial losses are about 1 to 40)
SEGMENT_WIDTHS = (16, 32, 64, 128, 256)  # widths of the barrier sweep
PLANE_UV = np.round(np.linspace(-0.3, 1.3, 33), 12)  # contains 0, 0.5 and 1 exactly


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

    One ``train(..., batch=True)`` call: the ``N_SEEDS`` initialisations of ``init_many(SEEDS)``
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


__all__ = [
    "LR", "N_POINTS", "N_RECORDS", "N_SEEDS", "PLANE_UV", "SEEDS", "SEED_WIDTHS", "SEGMENT_WIDTHS", "STEPS",
    "THRESHOLD", "BarrierSweep", "SeedRuns", "SegmentRun", "SuccessSweep", "barrier_sweep", "interpolate", "loss",
    "one_unit_loss", "permutations_for", "permute_hidden", "plane_losses", "rescale", "seed_params", "seed_runs",
    "segment_losses", "segment_runs", "stuck_runs", "success_fraction", "success_sweep", "trained_params", "two_layer",
]
