"""The neural tangent kernel at finite width against its infinite-width limit (notebook 03).

What the claim checks of notebook 03 assert, and what its figures draw:

* the reproduction of Jacot et al. (2018), Fig. 1: per width, ``FIG1_SEEDS`` networks
  trained side by side (one ``train(..., batch=True)`` call that records the kernel at every
  record through ``measure``) plus more seeds at initialisation (``fig1_width_data``);
* the distance of the empirical kernel to the analytic one, and the spread across seeds,
  against width (``limit_distance``: theory ``N^-1/2``; predicate ``claim_limit_distance``);
* the relative kernel change during training against width (``kernel_change``; predicate
  ``claim_kernel_change``);
* the two readings of "similar response to weight perturbations" (``nudge_response``,
  ``perturbation_responses``, ``similarity_experiment``; predicates ``claim_nudge`` and
  ``claim_perturbation_covariance``: the covariance of ``PERTURBATION_DIRECTIONS`` random
  responses against the whole kernel row);
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
from jax.flatten_util import ravel_pytree
import numpy as np

from .. import _validate
from .._memory import release_compiled_programs
from ..data import circle_points
from ..kernels import analytic_ntk, empirical_ntk
from ..measure import ClaimCheck, PowerLawFit, claim, fit_power_law, relative_distance
from ..models import MLP
from ..training import log_record_steps, train

FIG1_WIDTHS = (64, 256, 1024)
FIG1_SEEDS = 10  # trained networks per width (as in Jacot et al.)
SPREAD_SEEDS = 30  # networks per width at initialisation, for the distance and spread claim check
N_GAMMA = 61  # angles in [-pi, pi]; the middle one is gamma = 0, i.e. x0 itself
N_TRAIN = 8
FIG1_LR = 0.4
FIG1_STEPS = 30
FIG1_RECORD_STEPS = tuple(int(k) for k in log_record_steps(FIG1_STEPS, 12))  # log-spaced records (time slider)
PERTURBATION_DIRECTIONS = 10_000  # random weight directions: enough to resolve the kernel row to about 1%


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

    times : (T,) recorded gradient-flow times ``lr * step`` (log-spaced steps ``FIG1_RECORD_STEPS``).
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
    record_steps: tuple = FIG1_RECORD_STEPS,
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
            record_steps=np.asarray(record_steps),
            measure=measure,
        )
        rows.append(np.asarray(traj.measurements[0]))
        train_kernels.append(np.asarray(traj.measurements[1]))
        losses.append(np.asarray(traj.loss))
    rows = np.asarray(rows)
    init_rows = [*rows[:, 0], *(np.asarray(measure(model.init(seed))[0]) for seed in range(seeds, spread_seeds))]
    # Each width is trained once (the result is cached): its programs are not needed again, and
    # the next width's compilation would otherwise stack on top of them (notebook 03's peak).
    release_compiled_programs(force=True)
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
    rows : (W, S, G) the measured rows ``K(x0, x(gamma))``; limit : (G,) ``K_inf(x0, x(gamma))``
        (what ``claim_limit_distance`` recomputes everything from).
    """

    widths: np.ndarray
    rows: np.ndarray
    limit: np.ndarray
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
    rows = np.asarray([fig1_width_data(w).init_rows for w in widths])
    distances, mean_distance, spread = _distance_and_spread(rows, limit)
    return LimitDistance(
        widths=np.asarray(widths),
        rows=rows,
        limit=limit,
        distances=distances,
        mean_distance=mean_distance,
        distance_fit=fit_power_law(widths, mean_distance),
        spread=spread,
        spread_fit=fit_power_law(widths, spread),
    )


class BootstrapExponents(NamedTuple):
    """Bootstrap over seeds of the two exponents of ``LimitDistance``.

    distance, spread : (B,) the exponents of each resample (seeds drawn with replacement, per width).
    distance_std, spread_std : their standard deviations: the uncertainty from the finite number of
    seeds, which the residual scatter of a three-point fit (``PowerLawFit.stderr``) does not show.
    """

    distance: np.ndarray
    spread: np.ndarray
    distance_std: float
    spread_std: float


def bootstrap_exponents(result: LimitDistance, resamples: int = 200, seed: int = 0) -> BootstrapExponents:
    """Resample the seeds of ``result.rows`` (with replacement, independently per width) and refit both exponents."""
    rng = np.random.default_rng(seed)
    widths, rows = result.widths, np.asarray(result.rows)
    n_seeds = rows.shape[1]
    distance, spread = [], []
    for _ in range(_validate.positive_int(resamples, "resamples", minimum=2)):
        picked = np.stack([width_rows[rng.integers(0, n_seeds, n_seeds)] for width_rows in rows])
        _, mean_distance, spr = _distance_and_spread(picked, result.limit)
        distance.append(fit_power_law(widths, mean_distance).exponent)
        spread.append(fit_power_law(widths, spr).exponent)
    distance, spread = np.asarray(distance), np.asarray(spread)
    return BootstrapExponents(distance, spread, float(distance.std(ddof=1)), float(spread.std(ddof=1)))


def _distance_and_spread(rows, limit):
    """Per width: the relative distance of every seed's row to the limit (W, S), its mean (W,), the spread (W,)."""
    distances = np.asarray([[relative_distance(row, limit) for row in width_rows] for width_rows in rows])
    spread = np.asarray([float(np.mean(np.std(width_rows, axis=0, ddof=1))) for width_rows in rows])
    return distances, distances.mean(axis=1), spread


LIMIT_EXPONENT_TOLERANCE = 0.1  # |exponent + 1/2|: the fit's stderr is 0.01, the small-width correction about 0.05


def claim_limit_distance(result: LimitDistance) -> ClaimCheck:
    """The empirical kernel converges to the analytic one: distance and spread both fall like ``N^-1/2``.

    Recomputed from ``result.rows`` and ``result.limit``: the mean relative distance to
    ``K_inf`` must fall at every width step and its exponent, like that of the spread across
    seeds, must be within ``LIMIT_EXPONENT_TOLERANCE`` of -1/2. A kernel that converges to
    something else (e.g. 1.15 K_inf) has a distance that levels off at 0.15 and fails.
    """
    _, mean_distance, spread = _distance_and_spread(result.rows, result.limit)
    distance_fit = fit_power_law(result.widths, mean_distance)
    spread_fit = fit_power_law(result.widths, spread)
    falls = bool(np.all(np.diff(mean_distance) < 0))
    holds = (
        falls
        and abs(distance_fit.exponent + 0.5) <= LIMIT_EXPONENT_TOLERANCE
        and abs(spread_fit.exponent + 0.5) <= LIMIT_EXPONENT_TOLERANCE
    )
    return claim(
        "the empirical NTK converges to the analytic one (distance to K_inf and spread across seeds ~ N^-1/2)",
        measured=f"distance exponent {distance_fit}, spread exponent {spread_fit}, "
        f"distance {mean_distance[0]:.3g} -> {mean_distance[-1]:.3g}",
        predicted=f"both exponents -0.5 +/- {LIMIT_EXPONENT_TOLERANCE}, distance falling at every width",
        holds=holds,
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
def kernel_change_per_seed(width: int) -> np.ndarray:
    """``||K_t - K_0||_F / ||K_0||_F`` on the training set, per seed and record: (S, T), one width."""
    K = fig1_width_data(width).train_kernels  # (S, T, n, n)
    return np.asarray([[relative_distance(K_t, K_s[0]) for K_t in K_s] for K_s in K])


@functools.cache
def kernel_change(widths=FIG1_WIDTHS) -> KernelChange:
    """``||K_t - K_0||_F / ||K_0||_F`` on the training set for the Fig. 1 runs, with its power law in width."""
    widths = _check_widths(widths)
    per_seed = np.asarray([kernel_change_per_seed(w) for w in widths])
    curves = per_seed.mean(axis=1)  # (W, T)
    return KernelChange(
        widths=np.asarray(widths),
        times=fig1_width_data(widths[0]).times,
        per_seed=per_seed,
        curves=curves,
        final=curves[:, -1],
        fit=fit_power_law(widths, curves[:, -1]),
    )


CHANGE_EXPONENT_RANGE = (-1.3, -0.4)  # at least as fast as Lee et al.'s N^-1/2 (one stderr of slack), not N^-2


def claim_kernel_change(result: KernelChange) -> ClaimCheck:
    """The kernel moves less during training as the width grows, with an exponent between the bound and -1.

    Recomputed from ``result.per_seed``: the mean final change must fall by at least 4x over the
    widths and its exponent lie in ``CHANGE_EXPONENT_RANGE``: no slower than Lee et al.'s
    ``N^-1/2`` (within about one standard error) and nowhere near the post's ``N^-2``. For ReLU
    Lee et al.'s theorem does not apply (it needs a smooth activation); notebook 06 measures erf.
    """
    final = result.per_seed.mean(axis=1)[:, -1]
    fit = fit_power_law(result.widths, final)
    low, high = CHANGE_EXPONENT_RANGE
    return claim(
        "the relative kernel change during training shrinks with width",
        measured=f"exponent {fit}, change {final[0]:.3g} -> {final[-1]:.3g}",
        predicted=f"exponent in ({low}, {high}): accepts both Lee et al.'s bound -0.5 (smooth activations) and "
        "Hanin & Nica's depth/width, -1 (ReLU); three widths cannot tell them apart; rejects the post's count -2",
        holds=final[-1] < final[0] / 4 and low < fit.exponent < high,
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


RESPONSE_BATCH = 100  # random directions per vectorised batch: bounds the jvp's (batch, n, width) intermediates (500: 180 MB more, no faster)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _random_tangents(model, params, x, num, key):
    # One normal draw of all P parameters, cut into the layers' shapes: a draw per layer would
    # compile the generator once per layer shape (3.4 s and 90 MB for the picture model,
    # against 1.2 s and 35 MB).
    flat, unravel = ravel_pytree(params)

    def one(k):
        delta = unravel(jax.random.normal(k, flat.shape, dtype=flat.dtype))
        return jax.jvp(lambda p: model.apply(p, x), (params,), (delta,))[1]

    return jax.lax.map(one, jax.random.split(key, num), batch_size=RESPONSE_BATCH)


def perturbation_responses(model: MLP, params, x, num: int = PERTURBATION_DIRECTIONS, seed: int = 0) -> np.ndarray:
    """First-order responses of f at the inputs ``x`` to ``num`` random weight directions.

    Draws ``delta ~ N(0, I)`` in parameter space (direction ``i`` from the key
    ``jax.random.split(PRNGKey(seed), num)[i]``, one normal vector of all P parameters, laid
    out as ``jax.flatten_util.ravel_pytree(params)`` orders them) and
    returns ``J(x) delta`` by ``jax.jvp``, shape (num, n): one row per perturbation, one
    column per input. Over the random directions the covariance of two columns is exactly
    ``K(x_i, x_j)``, because ``E[(J_i . delta)(J_j . delta)] = J_i . J_j``.
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
    nudge_mismatch : ``max |nudge_change - k_row| / max |k_row|``; eps : the step size;
    nudge_change_small : (G,) the same change per unit step for a step ``eps / 10`` (first order
    in eps: its mismatch is 10 times smaller, which ``claim_nudge`` checks);
    responses_x0 : (num,) and responses_grid : (num, G) the responses of f at x0 and on the
    grid to ``num`` random directions (what ``claim_perturbation_covariance`` reads);
    near, far : ``PairResponse`` at two single angles (the scatter plots).
    """

    gammas: np.ndarray
    k_row: np.ndarray
    nudge_change: np.ndarray
    nudge_mismatch: float
    eps: float
    responses_x0: np.ndarray
    responses_grid: np.ndarray
    near: PairResponse
    far: PairResponse
    nudge_change_small: np.ndarray


def response_covariance(responses_x0, responses_grid):
    """The sample covariance ``mean(a * b)`` of the responses at x0 with those on the grid, and its standard error."""
    products = np.asarray(responses_x0)[:, None] * np.asarray(responses_grid)
    return products.mean(axis=0), products.std(axis=0, ddof=1) / np.sqrt(products.shape[0])


@functools.cache
def similarity_experiment(
    model: MLP = PICTURE_MODEL,
    seed: int = 0,
    near: float = 0.3,
    far: float = 2.5,
    num: int = PERTURBATION_DIRECTIONS,
    eps: float = 1e-3,
) -> Similarity:
    """One network ``model.init(seed)``: a nudge along ``grad f(x0)`` and ``num`` random directions.

    The nudge changes f on the whole circle (the 61 angles of ``fig1_angles``) by ``eps K(x, x0)``; the responses of
    f to the random directions are taken at ``x0``, at the angles ``near`` and ``far`` and on
    the whole grid (one ``perturbation_responses`` call with ``seed``); their covariance with
    the response at ``x0`` is ``K(x0, x)``.
    """
    if not isinstance(model, MLP) or model.in_dim != 2:
        raise ValueError("model must be a course_utils.MLP with in_dim=2 (inputs on the unit circle)")
    params = model.init(_validate.positive_int(seed, "seed", minimum=0))
    gammas, grid = fig1_angles()
    df, k_row = nudge_response(model, params, fig1_reference_point(), grid, eps=eps)
    df_small, _ = nudge_response(model, params, fig1_reference_point(), grid, eps=eps / NUDGE_RATIO)
    angles = np.array([0.0, near, far])
    pair_points = circle_points(angles)
    responses = perturbation_responses(model, params, np.concatenate([pair_points, grid]), num=num, seed=seed)
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
        eps=float(eps),
        responses_x0=responses[:, 0],
        responses_grid=responses[:, 3:],
        near=pairs[0],
        far=pairs[1],
        nudge_change_small=df_small,
    )


NUDGE_RATIO = 10.0  # the second nudge is eps / NUDGE_RATIO
NUDGE_RATIO_WINDOW = (5.0, 20.0)  # first order in eps: the mismatch shrinks 10x (0 order: 1x, 2nd order: 100x)


def claim_nudge(result: Similarity) -> ClaimCheck:
    """A step ``eps`` along ``grad f(x0)`` changes f by ``eps K(x, x0)`` up to an O(eps) error.

    Two steps, ``eps`` and ``eps / 10``: the relative mismatch ``max |change / eps - K| / max K``
    must shrink by a factor in ``NUDGE_RATIO_WINDOW`` (about 10: the error is first order in eps,
    from the curvature of f). A wrong kernel (e.g. 1.15 K) leaves a mismatch that does not
    shrink with eps (ratio about 1) and fails.
    """
    scale = np.max(np.abs(result.k_row))
    mismatch = float(np.max(np.abs(result.nudge_change - result.k_row)) / scale)
    small = float(np.max(np.abs(result.nudge_change_small - result.k_row)) / scale)
    ratio = mismatch / small if small > 0 else np.inf
    low, high = NUDGE_RATIO_WINDOW
    return claim(
        "a nudge along grad f(x0) moves f everywhere by eps K(x, x0), up to an O(eps) error",
        measured=f"max |change / eps - K(x, x0)| / max K = {mismatch:.3g} at eps = {result.eps:g}, "
        f"{small:.3g} at eps = {result.eps / NUDGE_RATIO:g}: ratio {ratio:.3g}",
        predicted=f"ratio {NUDGE_RATIO:g} (first order in eps), accepted in ({low:g}, {high:g})",
        holds=low < ratio < high,
    )


Z_LIMIT = 4.5  # largest |z| allowed over the 61 correlated angles (a 4.5-sigma excursion: odds about 1e-3)
RESOLUTION = 0.05  # the Monte Carlo error of the row must be below 5% of the kernel, so a 15% error shows


def claim_perturbation_covariance(result: Similarity) -> ClaimCheck:
    """The covariance of the random responses is the kernel, on the whole row ``K(x0, x(gamma))``.

    Holds when (a) the experiment resolves the row: its Monte Carlo error
    ``||stderr|| / ||K row||`` is below ``RESOLUTION`` (400 directions do not: they cannot tell
    a covariance of 0 from 0.2), and (b) the sample covariance is within ``Z_LIMIT`` standard
    errors of the kernel at every angle. A kernel off by 15%, or responses at two inputs that
    are independent (covariance 0), fail.
    """
    cov, stderr = response_covariance(result.responses_x0, result.responses_grid)
    noise = float(np.linalg.norm(stderr) / np.linalg.norm(result.k_row))
    z = float(np.max(np.abs(cov - result.k_row) / stderr))
    return claim(
        f"the covariance of the responses to {len(result.responses_x0)} random directions is K(x0, x) on the whole circle",
        measured=f"relative distance {relative_distance(cov, result.k_row):.3g}, largest |z| {z:.2g}, "
        f"Monte Carlo error {noise:.3g}",
        predicted=f"|z| < {Z_LIMIT} at all {len(cov)} angles, with a Monte Carlo error below {RESOLUTION}",
        holds=noise < RESOLUTION and z < Z_LIMIT,
    )


# ---------------------------------------------------------------------- the two computations, and the kernel's properties
class KernelAgreement(NamedTuple):
    """The structured NTK against the Jacobian reference on one network: pairs ``(structured, jacobian)``.

    pairs : list of ``(structured, jacobian)`` kernel matrices (a square and a rectangular one);
    num_params : the network's parameter count.
    """

    pairs: list
    num_params: int


@functools.cache
def agreement_experiment(width: int = 256, depth: int = 3, seed: int = 3) -> KernelAgreement:
    """``empirical_ntk`` both ways on ``MLP(2, width, depth, sw2=2, sb2=0.1).init(seed)``: 20 Gaussian inputs and 7 more."""
    model = MLP(in_dim=2, width=width, depth=depth, sw2=2.0, sb2=0.1)
    params = model.init(seed)
    xa = jax.random.normal(jax.random.PRNGKey(1), (20, 2), dtype=jnp.float64)
    xb = jax.random.normal(jax.random.PRNGKey(2), (7, 2), dtype=jnp.float64)
    pairs = [
        (
            np.asarray(empirical_ntk(model, params, x1, x2)),
            np.asarray(empirical_ntk(model, params, x1, x2, method="jacobian")),
        )
        for x1, x2 in [(xa, None), (xa, xb)]
    ]
    return KernelAgreement(pairs, model.num_params)


ROUND_OFF = 1e-12


def claim_structured_matches_jacobian(result: KernelAgreement) -> ClaimCheck:
    """The per-layer formula and ``J J^T`` agree to round-off (relative ``ROUND_OFF``) on every pair."""
    worst = max(float(np.max(np.abs(fast - ref)) / np.max(np.abs(ref))) for fast, ref in result.pairs)
    return claim(
        f"the structured NTK equals J J^T ({result.num_params} parameters)",
        measured=f"largest relative difference {worst:.2g}",
        predicted=f"0 up to round-off (below {ROUND_OFF:g})",
        holds=worst < ROUND_OFF,
    )


def claim_symmetric_psd(K) -> ClaimCheck:
    """A kernel matrix computed with ``x2 = x1`` passed twice is symmetric and has no negative eigenvalue (to round-off)."""
    K = np.asarray(K, dtype=np.float64)
    asymmetry = float(np.max(np.abs(K - K.T)) / np.max(np.abs(K)))
    eigenvalues = np.linalg.eigvalsh(0.5 * (K + K.T))
    return claim(
        "sanity check (true by construction, K = J J^T): the NTK matrix is symmetric and positive semi-definite",
        measured=f"relative asymmetry {asymmetry:.2g}, eigenvalues {eigenvalues[0]:.3g} .. {eigenvalues[-1]:.3g}",
        predicted="asymmetry 0 (below 1e-14), every eigenvalue >= 0 (above -1e-12 lambda_max)",
        holds=asymmetry < 1e-14 and eigenvalues[0] > -1e-12 * eigenvalues[-1],
    )


class ArccosMonteCarlo(NamedTuple):
    """Monte Carlo estimates of ``kappa1 = E[relu(u) relu(v)]`` and ``kappa0 = E[relu'(u) relu'(v)]``.

    correlations : (C,); kappa1, kappa0 : (C,) the sample means; stderr1, stderr0 : (C,) their
    standard errors; samples : pairs (u, v) per correlation.
    """

    correlations: np.ndarray
    kappa1: np.ndarray
    kappa0: np.ndarray
    stderr1: np.ndarray
    stderr0: np.ndarray
    samples: int


@functools.cache
def arccos_monte_carlo(
    correlations=(-0.9, -0.5, 0.0, 0.5, 0.9), samples: int = 1_000_000, seed: int = 0
) -> ArccosMonteCarlo:
    """``samples`` Gaussian pairs of unit variance per correlation, drawn in order from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    k1, k0, s1, s0 = [], [], [], []
    for c in correlations:
        z = rng.standard_normal((2, samples))
        u, v = z[0], c * z[0] + np.sqrt(1 - c**2) * z[1]
        a, b = np.maximum(u, 0) * np.maximum(v, 0), ((u > 0) & (v > 0)).astype(np.float64)
        k1.append(a.mean())
        k0.append(b.mean())
        s1.append(a.std(ddof=1) / np.sqrt(samples))
        s0.append(b.std(ddof=1) / np.sqrt(samples))
    return ArccosMonteCarlo(np.asarray(correlations), *(np.asarray(v) for v in (k1, k0, s1, s0)), samples)


def claim_arccos(result: ArccosMonteCarlo) -> ClaimCheck:
    """The arc-cosine formulas equal the Monte Carlo means within 4.5 standard errors at every correlation."""
    kappa1, kappa0 = arccos_kernels(result.correlations)
    z = np.concatenate([(result.kappa1 - kappa1) / result.stderr1, (result.kappa0 - kappa0) / result.stderr0])
    return claim(
        "the arc-cosine formulas kappa1, kappa0 are the ReLU Gaussian expectations",
        measured=f"largest |z| {np.max(np.abs(z)):.2g} over {len(z)} estimates of {result.samples} samples each",
        predicted="|z| < 4.5 everywhere",
        holds=np.max(np.abs(z)) < 4.5,
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
    "CHANGE_EXPONENT_RANGE",
    "FIG1_LR",
    "FIG1_RECORD_STEPS",
    "FIG1_SEEDS",
    "FIG1_STEPS",
    "FIG1_WIDTHS",
    "LIMIT_EXPONENT_TOLERANCE",
    "N_GAMMA",
    "N_TRAIN",
    "PERTURBATION_DIRECTIONS",
    "PICTURE_MODEL",
    "RESOLUTION",
    "RESPONSE_BATCH",
    "ROUND_OFF",
    "SPREAD_SEEDS",
    "Z_LIMIT",
    "ArccosMonteCarlo",
    "Fig1Data",
    "KernelAgreement",
    "KernelChange",
    "LimitDistance",
    "PairResponse",
    "Similarity",
    "agreement_experiment",
    "arccos_kernels",
    "arccos_monte_carlo",
    "claim_arccos",
    "claim_kernel_change",
    "claim_limit_distance",
    "claim_nudge",
    "claim_perturbation_covariance",
    "claim_structured_matches_jacobian",
    "claim_symmetric_psd",
    "fig1_analytic_row",
    "fig1_angles",
    "fig1_kernels",
    "fig1_model",
    "fig1_reference_point",
    "fig1_training_set",
    "fig1_width_data",
    "kernel_change",
    "kernel_change_per_seed",
    "limit_distance",
    "nudge_response",
    "perturbation_responses",
    "response_covariance",
    "similarity_experiment",
]
