"""The neural tangent kernel at finite width against its infinite-width limit (notebook 03).

What the claim checks of notebook 03 assert, and what its figures draw:

* the reproduction of Jacot et al. (2018), Fig. 1: per width, ``FIG1_SEEDS`` networks
  trained side by side (one ``train(..., batch=True)`` call that records the kernel at every
  record through ``measure``) plus more seeds at initialisation (``fig1_width_data``);
* the distance of the empirical kernel to the analytic one, and the spread across seeds,
  against width (``limit_distance``: theory ``N^-1/2``);
* the relative kernel change during training against width (``kernel_change``);
* the two readings of "similar response to weight perturbations" (``nudge_response``,
  ``perturbation_responses``, ``similarity_experiment``);
* the ReLU's arc-cosine expectations, written out for the notebook's Monte Carlo check
  (``arccos_kernels``).

Set-up of the Fig. 1 reproduction. Jacot et al. count the read-out layer, so their depth 4
is ``MLP(depth=3)`` here; ReLU, NTK parameterization, ``sw2 = 1`` and ``sb2 = 0.01`` (their
beta = 0.1); inputs on the unit circle, ``x0 = (1, 0)``, ``x(gamma) = (cos gamma, sin gamma)``.
Training fits ``f*(x) = x1 x2`` on a few Gaussian inputs by full-batch gradient descent on
``1/2 ||f - y||^2``. Seed ``s`` is ``fig1_model(N).init(s)``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import circle_points
from ..kernels import analytic_ntk, empirical_ntk
from ..measure import PowerLawFit, fit_power_law, relative_distance
from ..models import MLP
from ..training import train

FIG1_WIDTHS = (64, 256, 1024)
FIG1_SEEDS = 10  # trained networks per width (as in Jacot et al.)
SPREAD_SEEDS = 30  # networks per width at initialisation, for the distance and spread claim check
N_GAMMA = 61  # angles in [-pi, pi]; the middle one is gamma = 0, i.e. x0 itself
N_TRAIN = 8
FIG1_LR = 0.4
FIG1_STEPS = 30
FIG1_RECORD_EVERY = 5


def fig1_model(width: int) -> MLP:
    """The network of Jacot et al. (2018), Fig. 1 at width N: 3 hidden ReLU layers, sw2 = 1, sb2 = 0.01."""
    width = _validate.positive_int(width, "width")
    return MLP(in_dim=2, width=width, depth=3, activation="relu", parameterization="ntk", sw2=1.0, sb2=0.01)


def fig1_angles(n_gamma: int = N_GAMMA):
    """Angles ``gamma`` in [-pi, pi] (odd count, so gamma = 0 is the middle one) and their circle points."""
    n_gamma = _validate.positive_int(n_gamma, "n_gamma", minimum=3)
    if n_gamma % 2 == 0:
        raise ValueError(f"n_gamma must be odd so that gamma = 0 is on the grid; got {n_gamma}")
    gammas = np.linspace(-np.pi, np.pi, n_gamma)
    gammas[n_gamma // 2] = 0.0
    return gammas, circle_points(gammas)


def fig1_reference_point():
    """``x0 = (1, 0)``, the input every plotted kernel row starts from: shape (1, 2)."""
    return circle_points(np.zeros(1))


def fig1_training_set(n: int = N_TRAIN, seed: int = 3):
    """``n`` inputs drawn from N(0, I_2) and targets ``y = x1 * x2`` (the regression task of Jacot et al.)."""
    n = _validate.positive_int(n, "n")
    x = jax.random.normal(jax.random.PRNGKey(seed), (n, 2), dtype=jnp.float64)
    return x, x[:, 0] * x[:, 1]


def fig1_analytic_row() -> np.ndarray:
    """The infinite-width ``K(x0, x(gamma))`` of the Fig. 1 architecture on the ``fig1_angles`` grid."""
    _, grid = fig1_angles()
    return np.asarray(analytic_ntk(fig1_model(1), fig1_reference_point(), grid))[0]


class Fig1Data(NamedTuple):
    """Everything the Fig. 1 demo and the claim checks need at one width N (numpy arrays).

    times : (T,) recorded gradient-flow times ``lr * step``.
    rows : (S, T, G) ``K(x0, x(gamma))`` of each trained seed at each recorded time.
    train_kernels : (S, T, n, n) the kernel on the training inputs at each recorded time.
    loss : (S, T) training loss ``1/2 ||f - y||^2``.
    init_rows : (S_all, G) ``K(x0, x(gamma))`` at initialisation of seeds 0 .. S_all - 1
        (the first S are the trained ones).
    """

    width: int
    times: np.ndarray
    rows: np.ndarray
    train_kernels: np.ndarray
    loss: np.ndarray
    init_rows: np.ndarray


@functools.cache
def fig1_kernels(model: MLP):
    """The ``measure`` function of the Fig. 1 runs for ``model`` (one object per model, so compiles are reused).

    ``measure(params) -> (row, K_train)``: ``K(x0, x(gamma))`` on the ``fig1_angles`` grid and
    the kernel on the training inputs, both by ``empirical_ntk``.
    """
    _, grid = fig1_angles()
    x0 = fig1_reference_point()
    x_train, _ = fig1_training_set()

    def measure(params):
        return empirical_ntk(model, params, x0, grid)[0], empirical_ntk(model, params, x_train)

    return measure


@functools.cache
def fig1_width_data(
    width: int,
    seeds: int = FIG1_SEEDS,
    spread_seeds: int = SPREAD_SEEDS,
    lr: float = FIG1_LR,
    steps: int = FIG1_STEPS,
    record_every: int = FIG1_RECORD_EVERY,
) -> Fig1Data:
    """Train seeds ``0 .. seeds - 1`` of width ``width`` and record their NTK at every record; cached.

    Each seed is one ``train(..., measure=fig1_kernels(model))`` call: the kernel is evaluated
    inside the compiled run, no parameter history is kept. (Seeds run one after another, not
    with ``batch=True``: on a laptop CPU the vmapped run of 10 width-1024 networks took 3.5x
    longer and 1.6x the memory of the loop.) Seeds ``seeds .. spread_seeds - 1`` are only
    evaluated at initialisation.
    """
    width = _validate.positive_int(width, "width")
    seeds = _validate.positive_int(seeds, "seeds")
    spread_seeds = _validate.positive_int(spread_seeds, "spread_seeds")
    if spread_seeds < seeds:
        raise ValueError(f"spread_seeds ({spread_seeds}) must be >= seeds ({seeds})")
    model = fig1_model(width)
    measure = fig1_kernels(model)
    x_train, y_train = fig1_training_set()
    rows, train_kernels, losses = [], [], []
    for seed in range(seeds):
        traj = train(
            model.apply,
            model.init(seed),
            x_train,
            y_train,
            lr=lr,
            steps=steps,
            record_every=record_every,
            measure=measure,
        )
        rows.append(np.asarray(traj.measurements[0]))
        train_kernels.append(np.asarray(traj.measurements[1]))
        losses.append(np.asarray(traj.loss))
    rows = np.asarray(rows)
    init_rows = [*rows[:, 0], *(np.asarray(measure(model.init(seed))[0]) for seed in range(seeds, spread_seeds))]
    return Fig1Data(
        width=width,
        times=np.asarray(traj.times),
        rows=rows,
        train_kernels=np.asarray(train_kernels),
        loss=np.asarray(losses),
        init_rows=np.asarray(init_rows),
    )


def _check_widths(widths) -> tuple[int, ...]:
    widths = tuple(int(w) for w in widths)
    if len(widths) < 2 or any(w < 1 for w in widths):
        raise ValueError(f"need at least two widths >= 1 to fit a power law; got {widths}")
    return widths


class LimitDistance(NamedTuple):
    """How far the kernel at initialisation is from its infinite-width limit, per width.

    distances : (W, S) ``relative_distance(K(x0, .), K_inf(x0, .))`` over the Fig. 1 angles,
        for seeds 0 .. S - 1 (seed s is ``fig1_model(N).init(s)``).
    mean_distance : (W,) its mean over the seeds; ``distance_fit`` its power law in N.
    spread : (W,) standard deviation across seeds of ``K(x0, x(gamma))``, averaged over gamma;
        ``spread_fit`` its power law in N (theory for both exponents: -1/2).
    """

    widths: np.ndarray
    distances: np.ndarray
    mean_distance: np.ndarray
    distance_fit: PowerLawFit
    spread: np.ndarray
    spread_fit: PowerLawFit


@functools.cache
def limit_distance(widths=FIG1_WIDTHS) -> LimitDistance:
    """Distance to the analytic kernel and spread across ``SPREAD_SEEDS`` seeds at initialisation, per width."""
    widths = _check_widths(widths)
    limit = fig1_analytic_row()
    distances, spread = [], []
    for w in widths:
        rows = fig1_width_data(w).init_rows
        distances.append([relative_distance(row, limit) for row in rows])
        spread.append(float(np.mean(np.std(rows, axis=0, ddof=1))))
    distances, spread = np.asarray(distances), np.asarray(spread)
    mean_distance = distances.mean(axis=1)
    return LimitDistance(
        widths=np.asarray(widths),
        distances=distances,
        mean_distance=mean_distance,
        distance_fit=fit_power_law(widths, mean_distance),
        spread=spread,
        spread_fit=fit_power_law(widths, spread),
    )


class KernelChange(NamedTuple):
    """Relative change of the kernel on the training inputs during training, per width.

    per_seed : (W, S, T) ``relative_distance(K_t, K_0)`` of each trained seed at each record.
    curves : (W, T) its mean over the seeds; ``final`` (W,) the mean at the end of training;
    fit : the power law of ``final`` in N.
    """

    widths: np.ndarray
    times: np.ndarray
    per_seed: np.ndarray
    curves: np.ndarray
    final: np.ndarray
    fit: PowerLawFit


@functools.cache
def kernel_change(widths=FIG1_WIDTHS) -> KernelChange:
    """``||K_t - K_0||_F / ||K_0||_F`` on the training set for the Fig. 1 runs, with its power law in width."""
    widths = _check_widths(widths)
    per_seed = []
    for w in widths:
        K = fig1_width_data(w).train_kernels  # (S, T, n, n)
        per_seed.append([[relative_distance(K_t, K_s[0]) for K_t in K_s] for K_s in K])
    per_seed = np.asarray(per_seed)
    curves = per_seed.mean(axis=1)
    return KernelChange(
        widths=np.asarray(widths),
        times=fig1_width_data(widths[0]).times,
        per_seed=per_seed,
        curves=curves,
        final=curves[:, -1],
        fit=fit_power_law(widths, curves[:, -1]),
    )


# ---------------------------------------------------------------------- "similar response" experiments
PICTURE_MODEL = MLP(in_dim=2, width=512, depth=1, sw2=2.0, sb2=0.1)


def _check_mlp(model) -> None:
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")  # noqa: TRY004  (the course raises ValueError for bad input)


def nudge_response(model: MLP, params, x0, xs, eps: float = 1e-3):
    """Move the weights a small step ``eps`` along ``grad f(x0)`` and see how f changes everywhere.

    Returns ``(df, K)``: ``df = (f(xs; theta + eps grad f(x0)) - f(xs; theta)) / eps`` and
    ``K = K(xs, x0)``. To first order in ``eps`` they are equal: pushing the output up at
    ``x0`` moves it at ``x`` by ``eps K(x, x0)``.
    """
    _check_mlp(model)
    model.check_params(params)
    x0 = _validate.as_inputs(x0, model.in_dim, "x0")
    if x0.shape[0] != 1:
        raise ValueError(f"x0 must be a single input of shape (1, {model.in_dim}); got {tuple(x0.shape)}")
    xs = _validate.as_inputs(xs, model.in_dim, "xs")
    eps = _validate.finite_float(eps, "eps", minimum=0.0, strict=True)
    return np.asarray(_nudge(model, params, x0, xs, eps)), np.asarray(empirical_ntk(model, params, xs, x0))[:, 0]


@functools.partial(jax.jit, static_argnums=0)
def _nudge(model, params, x0, xs, eps):
    grad = jax.grad(lambda p: model.forward(p, x0)[1][0])(params)
    moved = jax.tree_util.tree_map(lambda p, g: p + eps * g, params, grad)
    return (model.forward(moved, xs)[1] - model.forward(params, xs)[1]) / eps


@functools.partial(jax.jit, static_argnums=(0, 3))
def _random_tangents(model, params, x, num, key):
    leaves, treedef = jax.tree_util.tree_flatten(params)

    def one(k):
        keys = jax.random.split(k, len(leaves))
        delta = [jax.random.normal(kk, leaf.shape, dtype=leaf.dtype) for kk, leaf in zip(keys, leaves)]
        delta = jax.tree_util.tree_unflatten(treedef, delta)
        return jax.jvp(lambda p: model.forward(p, x)[1], (params,), (delta,))[1]

    return jax.vmap(one)(jax.random.split(key, num))


def perturbation_responses(model: MLP, params, x, num: int = 400, seed: int = 0) -> np.ndarray:
    """First-order responses of f at the inputs ``x`` to ``num`` random weight directions.

    Draws ``delta ~ N(0, I)`` in parameter space and returns ``J(x) delta`` with shape
    (num, n): one row per perturbation, one column per input. Over the random directions the
    covariance of two columns is exactly ``K(x_i, x_j)``, because
    ``E[(J_i . delta)(J_j . delta)] = J_i . J_j``.
    """
    _check_mlp(model)
    model.check_params(params)
    x = _validate.as_inputs(x, model.in_dim, "x")
    num = _validate.positive_int(num, "num", minimum=2)
    seed = _validate.positive_int(seed, "seed", minimum=0)
    return np.asarray(_random_tangents(model, params, x, num, jax.random.PRNGKey(seed)))


class PairResponse(NamedTuple):
    """Responses at ``x0`` and one other input to random weight directions, against the kernel.

    angle : the other input's angle; responses : (num, 2) the responses at x0 and at it;
    sample_cov : their mean product (the directions have mean zero); stderr : its standard
    error; kernel : ``K(x0, x)``; kernel_corr / sample_corr : the normalised kernel and the
    sample correlation.
    """

    angle: float
    responses: np.ndarray
    sample_cov: float
    stderr: float
    kernel: float
    kernel_corr: float
    sample_corr: float


class Similarity(NamedTuple):
    """The two pictures of "similar response to weight perturbations" (``similarity_experiment``).

    gammas : (G,) angles of the circle grid; k_row : (G,) ``K(x(gamma), x0)``;
    nudge_change : (G,) the change of f per unit step along ``grad f(x0)``;
    nudge_mismatch : ``max |nudge_change - k_row| / max |k_row|``; near, far : ``PairResponse``.
    """

    gammas: np.ndarray
    k_row: np.ndarray
    nudge_change: np.ndarray
    nudge_mismatch: float
    near: PairResponse
    far: PairResponse


@functools.cache
def similarity_experiment(
    model: MLP = PICTURE_MODEL, seed: int = 0, near: float = 0.3, far: float = 2.5, num: int = 400, eps: float = 1e-3
) -> Similarity:
    """One network ``model.init(seed)``: a nudge along ``grad f(x0)`` and ``num`` random directions.

    The nudge changes f on the whole circle by ``eps K(x, x0)``; the responses of f at ``x0``
    and at the inputs at angles ``near`` and ``far`` have covariance ``K(x0, x)``.
    """
    if not isinstance(model, MLP) or model.in_dim != 2:
        raise ValueError("model must be a course_utils.MLP with in_dim=2 (inputs on the unit circle)")
    params = model.init(_validate.positive_int(seed, "seed", minimum=0))
    gammas = np.linspace(-np.pi, np.pi, 181)
    df, k_row = nudge_response(model, params, fig1_reference_point(), circle_points(gammas), eps=eps)
    angles = np.array([0.0, near, far])
    pair_points = circle_points(angles)
    responses = perturbation_responses(model, params, pair_points, num=num, seed=seed)
    K_pairs = np.asarray(empirical_ntk(model, params, pair_points))
    pairs = []
    for j in (1, 2):
        a, b = responses[:, 0], responses[:, j]
        pairs.append(
            PairResponse(
                angle=float(angles[j]),
                responses=responses[:, [0, j]],
                sample_cov=float(np.mean(a * b)),
                stderr=float(np.std(a * b, ddof=1) / np.sqrt(len(a))),
                kernel=float(K_pairs[0, j]),
                kernel_corr=float(K_pairs[0, j] / np.sqrt(K_pairs[0, 0] * K_pairs[j, j])),
                sample_corr=float(np.corrcoef(a, b)[0, 1]),
            )
        )
    return Similarity(
        gammas=gammas,
        k_row=k_row,
        nudge_change=df,
        nudge_mismatch=float(np.max(np.abs(df - k_row)) / np.max(np.abs(k_row))),
        near=pairs[0],
        far=pairs[1],
    )


# ---------------------------------------------------------------------- arc-cosine kernels
def arccos_kernels(cos_angle):
    """The ReLU Gaussian expectations for unit-variance inputs with correlation ``cos_angle``.

    Returns ``(kappa1, kappa0)`` with ``kappa1 = E[relu(u) relu(v)] = (sin t + (pi - t) cos t) / (2 pi)``
    and ``kappa0 = E[relu'(u) relu'(v)] = (pi - t) / (2 pi)``, ``t = arccos(cos_angle)``
    (Cho & Saul 2009). For variances ``k11, k22`` multiply ``kappa1`` by ``sqrt(k11 k22)``.
    """
    c = np.asarray(cos_angle, dtype=np.float64)
    if not np.all(np.isfinite(c)) or np.any(np.abs(c) > 1 + 1e-12):
        raise ValueError("cos_angle must contain finite values in [-1, 1]")
    theta = np.arccos(np.clip(c, -1.0, 1.0))
    return (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi), (np.pi - theta) / (2 * np.pi)


__all__ = [
    "FIG1_LR",
    "FIG1_RECORD_EVERY",
    "FIG1_SEEDS",
    "FIG1_STEPS",
    "FIG1_WIDTHS",
    "N_GAMMA",
    "N_TRAIN",
    "PICTURE_MODEL",
    "SPREAD_SEEDS",
    "Fig1Data",
    "KernelChange",
    "LimitDistance",
    "PairResponse",
    "Similarity",
    "arccos_kernels",
    "fig1_analytic_row",
    "fig1_angles",
    "fig1_kernels",
    "fig1_model",
    "fig1_reference_point",
    "fig1_training_set",
    "fig1_width_data",
    "kernel_change",
    "limit_distance",
    "nudge_response",
    "perturbation_responses",
    "similarity_experiment",
]
