"""Depth: the infinite-width NTK depends on depth, and its normalised form flattens.

ReLU networks with ``sw2 = 2``, ``sb2 = 0`` and L hidden layers, inputs on the unit circle.
The limit kernel's diagonal is exactly ``L + 1``; the normalised kernel
``K(x, x') / sqrt(K(x, x) K(x', x'))`` tends to a constant away from ``x' = x`` as L grows, its
spread over the angles in [pi/4, pi] shrinking like 1/L. Also: the empirical NTK of one random
network on a coarser grid (width against depth), and kernel gradient flow with the depth-L
limit kernel on 8 random circle points (``cu.circle_problem(6, 8)``).

Predicates: ``claim_depth_changes_kernel`` (diagonal ``L + 1``, the shape changes with depth) and
``claim_depth_flattens`` (the far spread of the normalised kernel falls like 1/L).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import circle_grid, circle_problem
from ..flow import GradientFlow
from ..kernels import analytic_ntk, as_numpy, empirical_ntk
from ..measure import ClaimCheck, claim
from ..models import MLP

DEPTHS = (1, 2, 4, 8, 16)
WIDTHS = (32, 128, 512)  # widths of the empirical kernels drawn against the limit
PROFILE_N = 512  # points of the circle grid for the limit kernel
EMPIRICAL_N = 64  # points of the circle grid for the empirical kernel
TRAIN_SEED = 6  # cu.circle_problem(TRAIN_SEED, N_TRAIN)
N_TRAIN = 8
FAR_START = math.pi / 4


def model(depth: int, width: int = 1) -> MLP:
    """The ReLU network of this experiment (``sw2 = 2``, ``sb2 = 0``, NTK parameterization)."""
    return MLP(in_dim=2, width=int(width), depth=int(depth))


def normalise_kernel(K) -> np.ndarray:
    """``K[i, j] / sqrt(K[i, i] K[j, j])``: the kernel's cosine similarity (ones on the diagonal)."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square matrix; got shape {K.shape}")
    d = np.diag(K)
    if np.any(d <= 0):
        raise ValueError("the diagonal of K must be positive to normalise it")
    return K / np.sqrt(np.outer(d, d))


@functools.cache
def training_problem():
    """The 8 training points of the flow: ``(angles, x, y) = cu.circle_problem(6, 8)``."""
    return circle_problem(TRAIN_SEED, N_TRAIN)


@functools.cache
def _limit_kernel(depth: int) -> np.ndarray:
    """The limit NTK of ``depth`` on [8 training points; 512-point grid]: one call (one compile) per depth."""
    _, x_train, _ = training_problem()
    _, x_grid = circle_grid(PROFILE_N)
    return as_numpy(analytic_ntk(model(depth), jnp.concatenate([x_train, x_grid])))


def analytic_depth_kernel(depth: int, n: int = PROFILE_N) -> np.ndarray:
    """Infinite-width NTK ``cu.analytic_ntk`` of a depth-``depth`` ReLU net on the ``n``-point circle grid."""
    depth = _validate.positive_int(depth, "depth")
    n = _validate.positive_int(n, "n")
    if n == PROFILE_N:
        return _limit_kernel(depth)[N_TRAIN:, N_TRAIN:]
    _, x = circle_grid(n)
    return as_numpy(analytic_ntk(model(depth), x))


class DepthSweep(NamedTuple):
    """The limit kernel against depth, on the 512-point circle grid.

    depths : (D,).  angles : (PROFILE_N,) grid angles.
    diagonal : (D,) ``K_L(x, x)`` (theory: ``L + 1``).
    profiles : (D, PROFILE_N) normalised profile ``K(x_0, x(gamma)) / sqrt(K(x_0, x_0) K(x, x))``.
    change_from_depth_1 : (D,) ``max |profile_L - profile_1|``.
    spread : (D,) standard deviation of the profile over the circle.
    far_spread : (D,) max minus min of the profile for angles in [pi/4, pi].
    local_slopes : (D - 1,) slopes of ``log far_spread`` against ``log L`` between neighbouring depths.
    """

    depths: np.ndarray
    angles: np.ndarray
    diagonal: np.ndarray
    profiles: np.ndarray
    change_from_depth_1: np.ndarray
    spread: np.ndarray
    far_spread: np.ndarray
    local_slopes: np.ndarray


def depth_summary(K) -> tuple[float, np.ndarray, float, float]:
    """``(diagonal K[0, 0], normalised profile row 0, its std, its spread for angles in [pi/4, pi])`` of a
    kernel on the equally spaced circle grid."""
    K = np.asarray(K, dtype=np.float64)
    profile = normalise_kernel(K)[0]
    angles = 2 * np.pi * np.arange(K.shape[0]) / K.shape[0]
    far = profile[(angles >= FAR_START) & (angles <= math.pi)]
    return float(K[0, 0]), profile, float(np.std(profile)), float(far.max() - far.min())


@functools.cache
def depth_sweep(depths=DEPTHS) -> DepthSweep:
    """Diagonal, normalised profile and its spreads of the limit NTK at every depth in ``depths``."""
    depths = tuple(int(d) for d in depths)
    summaries = [depth_summary(analytic_depth_kernel(d)) for d in depths]
    diagonal = np.asarray([s[0] for s in summaries])
    profiles = np.asarray([s[1] for s in summaries])
    base = depth_summary(analytic_depth_kernel(1))[1]
    far = np.asarray([s[3] for s in summaries])
    return DepthSweep(
        depths=np.asarray(depths),
        angles=2 * np.pi * np.arange(PROFILE_N) / PROFILE_N,
        diagonal=diagonal,
        profiles=profiles,
        change_from_depth_1=np.max(np.abs(profiles - base), axis=1),
        spread=np.asarray([s[2] for s in summaries]),
        far_spread=far,
        local_slopes=np.diff(np.log(far)) / np.diff(np.log(np.asarray(depths, dtype=float))),
    )


@functools.cache
def empirical_depth_profile(depth: int, width: int, seed: int = 0) -> np.ndarray:
    """Normalised empirical NTK profile ``K(x_0, x_j) / sqrt(K_00 K_jj)`` of ``model(depth, width).init(seed)``
    on the 64-point circle grid."""
    net = model(depth, width)
    _, x = circle_grid(EMPIRICAL_N)
    return normalise_kernel(as_numpy(empirical_ntk(net, net.init(int(seed)), x)))[0]


class DepthRegression(NamedTuple):
    """Kernel gradient flow (from f = 0) with the depth-L limit NTK on the 8 training points.

    times : (T,).  angles : (PROFILE_N,) grid angles.
    predictions : (T, PROFILE_N) the learned function on the grid at every time.
    train_angles, y : (8,) the training set.
    """

    times: np.ndarray
    angles: np.ndarray
    predictions: np.ndarray
    train_angles: np.ndarray
    y: np.ndarray


@functools.cache
def depth_regression(depth: int, times: tuple) -> DepthRegression:
    """``cu.GradientFlow`` with the depth-``depth`` limit kernel, evaluated on the grid at ``times`` (a tuple)."""
    angles, _, y = training_problem()
    K = _limit_kernel(int(depth))
    n = N_TRAIN
    flow = GradientFlow(K[:n, :n], y, jnp.zeros(n))
    times = np.asarray(times, dtype=np.float64)
    predictions = as_numpy(flow.predict(times, K[n:, :n], jnp.zeros(PROFILE_N)))
    return DepthRegression(times, 2 * np.pi * np.arange(PROFILE_N) / PROFILE_N, predictions, as_numpy(angles),
                           as_numpy(y))


# ---------------------------------------------------------------------- claim predicates
DEEP_LIMIT = 0.25  # the normalised ReLU NTK away from x' = x as L -> infinity (Bonus of notebook 06)
FLATTENING_TOLERANCE = 0.15  # on the local slope of the far spread at the largest depths (theory -1)


def claim_depth_changes_kernel(sweep: DepthSweep) -> ClaimCheck:
    """The limit kernel depends on depth: ``K_L(x, x) = L + 1`` (to 1e-9) and the normalised profile of
    depth 4 differs from depth 1's by more than 0.2 (recomputed from ``sweep.profiles``)."""
    depths = np.asarray(sweep.depths, dtype=float)
    change = np.max(np.abs(np.asarray(sweep.profiles) - np.asarray(sweep.profiles)[0]), axis=1)
    k = list(np.asarray(sweep.depths)).index(4) if 4 in list(sweep.depths) else min(2, len(depths) - 1)
    diagonal_ok = np.allclose(sweep.diagonal, depths + 1.0, rtol=1e-9, atol=0)
    return claim(
        "the infinite-width NTK depends on depth (diagonal L + 1, the shape changes)",
        measured=f"diagonal {', '.join(f'{v:.6g}' for v in sweep.diagonal)}; "
        f"max |profile_4 - profile_1| = {change[k]:.3g}",
        predicted="diagonal L + 1 exactly; a profile change > 0.2 by depth 4 (the post: 'the same regardless of depth')",
        holds=diagonal_ok and change[k] > 0.2,
    )


def claim_depth_flattens(sweep: DepthSweep) -> ClaimCheck:
    """The normalised kernel flattens: its spread over angles in [pi/4, pi] falls at every depth, with a
    local slope against L within ``FLATTENING_TOLERANCE`` of -1 between the two largest depths
    (recomputed from ``sweep.profiles``)."""
    angles = np.asarray(sweep.angles)
    part = np.asarray(sweep.profiles)[:, (angles >= FAR_START) & (angles <= math.pi)]
    far = part.max(axis=1) - part.min(axis=1)
    slopes = np.diff(np.log(far)) / np.diff(np.log(np.asarray(sweep.depths, dtype=float)))
    return claim(
        "the normalised limit NTK flattens with depth, its far spread ~ 1/L",
        measured=f"far spread {far[0]:.3g} -> {far[-1]:.3g}; local slopes {', '.join(f'{s:.2f}' for s in slopes)}",
        predicted=f"falls at every depth, last local slope -1 +/- {FLATTENING_TOLERANCE}",
        holds=np.all(np.diff(far) < 0) and abs(slopes[-1] + 1) <= FLATTENING_TOLERANCE,
    )
