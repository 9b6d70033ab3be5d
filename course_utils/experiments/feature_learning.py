"""Lazy training vs feature learning: how far features and the kernel move, NTK parameterization vs muP.

A two-layer network (one hidden layer, ``sb2 = 0.1``) is trained by full-batch gradient
descent (``cu.train``, lr 0.08, 250 steps, so t = 20) on 16 random points of the unit circle
with the target ``cos(gamma) + 0.5 cos(2 gamma)`` (``cu.circle_problem(1, 16)``). At about 30
log-spaced records the run measures, inside the compiled scan, the empirical NTK on the
training inputs and the hidden features ``phi(h)`` on the training inputs and on a dense grid.

From these: the relative feature movement ``||Phi_t - Phi_0||_F / ||Phi_0||_F`` and the
relative kernel movement ``||K_t - K_0||_F / ||K_0||_F``. In NTK parameterization both vanish
as the width N grows (features like N^-1/2); under muP they stay of order one.

Predicates: ``claim_lazy_features`` (NTK parameterization: feature movement ~ N^-1/2) and
``claim_rich_features`` (muP: feature movement flat in width, kernel moving by order one).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import circle_grid, circle_problem
from ..kernels import as_numpy, empirical_ntk
from ..measure import ClaimCheck, claim, fit_power_law
from ..models import MLP, activation_fn
from ..training import log_record_steps, train

DATA_SEED = 1  # cu.circle_problem(DATA_SEED, N_TRAIN)
N_TRAIN = 16
LR = 0.08
STEPS = 250
SB2 = 0.1  # a small bias lets the (odd) erf network fit the even part of the target
WIDTHS = (64, 256, 1024, 4096)
SEEDS = (0, 1)
N_UNITS = 6  # hidden units drawn on the dense grid
DENSE_N = 128  # points of the dense circle grid on which those units are drawn
RECORD_STEPS = tuple(int(s) for s in log_record_steps(STEPS, 31))  # 0 and 30 log-spaced steps
PARAMETERIZATIONS = ("ntk", "mup")
WHAT = ("feature_change", "kernel_change")


def model(parameterization: str, width: int, activation: str = "relu") -> MLP:
    """The two-layer network of this experiment: ``cu.MLP(in_dim=2, width, ..., sb2=0.1)``."""
    return MLP(in_dim=2, width=int(width), depth=1, activation=activation, parameterization=parameterization, sb2=SB2)


@functools.cache
def training_problem():
    """The 16 training points: ``(angles, x, y) = cu.circle_problem(1, 16)``."""
    return circle_problem(DATA_SEED, N_TRAIN)


@functools.cache
def _measure_fn(net: MLP):
    """``measure(params)`` for ``cu.train``: the NTK on x, the features on x and the first units on a grid.

    Built once per model (lru_cache), so every call of ``cu.train`` gets the same function
    object and reuses its compiled program.
    """
    _, x, _ = training_problem()
    _, x_dense = circle_grid(DENSE_N)
    inputs = jnp.concatenate([x, x_dense])
    phi, _ = activation_fn(net.activation)
    n = x.shape[0]

    def measure(params):
        features = phi(net.forward(params, inputs)[0][0])  # (n + DENSE_N, width)
        return {
            "kernel": empirical_ntk(net, params, x),
            "features": features[:n],
            "units": features[n:, :N_UNITS],
        }

    return measure


class FeatureRuns(NamedTuple):
    """One configuration trained from every seed of ``SEEDS`` (S runs, T records).

    times : (T,) gradient-flow times ``lr * step`` of the records.
    feature_change : (S, T) ``||Phi_t - Phi_0||_F / ||Phi_0||_F`` (hidden features on the 16 inputs).
    kernel_change : (S, T) ``||K_t - K_0||_F / ||K_0||_F`` (empirical NTK on the 16 inputs).
    loss : (S, T) ``1/2 ||f - y||^2``.
    units : (S, T, DENSE_N, N_UNITS) the first hidden features on the dense grid.
    dense_angles : (DENSE_N,) angles of that grid.
    kernels : (S, T, n, n) the empirical NTK at every record.
    """

    times: np.ndarray
    feature_change: np.ndarray
    kernel_change: np.ndarray
    loss: np.ndarray
    units: np.ndarray
    dense_angles: np.ndarray
    kernels: np.ndarray


def feature_runs(parameterization: str, width: int, activation: str = "relu") -> FeatureRuns:
    """Train ``model(parameterization, width, activation)`` from every seed in one ``cu.train`` call.

    ``model.init_many(SEEDS)`` gives the initial parameters (run i equals ``model.init(SEEDS[i])``);
    gradient descent with lr 0.08 for 250 steps on ``training_problem()``, measured at
    ``RECORD_STEPS``. Returns a ``FeatureRuns``.
    """
    _validate.choice(parameterization, ("ntk", "standard", "mup"), "parameterization")
    width = _validate.positive_int(width, "width")
    # one cache entry per configuration, however the arguments were spelled (positional or default)
    return _feature_runs(str(parameterization), int(width), str(activation))


@functools.cache
def _feature_runs(parameterization: str, width: int, activation: str) -> FeatureRuns:
    net = model(parameterization, width, activation)
    _, x, y = training_problem()
    traj = train(net.apply, net.init_many(SEEDS), x, y, lr=LR, steps=STEPS, record_steps=np.asarray(RECORD_STEPS),
                 measure=_measure_fn(net), batch=True)
    K = as_numpy(traj.measurements["kernel"])  # (S, T, n, n)
    A = as_numpy(traj.measurements["features"])  # (S, T, n, width)
    feature_change = np.linalg.norm(A - A[:, :1], axis=(2, 3)) / np.linalg.norm(A[:, 0], axis=(1, 2))[:, None]
    kernel_change = np.linalg.norm(K - K[:, :1], axis=(2, 3)) / np.linalg.norm(K[:, 0], axis=(1, 2))[:, None]
    dense_angles, _ = circle_grid(DENSE_N)
    return FeatureRuns(
        times=np.asarray(traj.times, dtype=np.float64),
        feature_change=feature_change,
        kernel_change=kernel_change,
        loss=as_numpy(traj.loss),
        units=as_numpy(traj.measurements["units"]),
        dense_angles=as_numpy(dense_angles),
        kernels=K,
    )


class FeatureSweep(NamedTuple):
    """Movement at the end of training against width, for one configuration.

    widths : (W,).
    feature_change, kernel_change : (W, S) final values per width and seed.
    mean_feature_change, mean_kernel_change : (W,) their averages over the seeds.
    """

    widths: np.ndarray
    feature_change: np.ndarray
    kernel_change: np.ndarray
    mean_feature_change: np.ndarray
    mean_kernel_change: np.ndarray


def movement_sweep(parameterization: str, activation: str = "relu", widths=WIDTHS) -> FeatureSweep:
    """Final feature and kernel movement of ``feature_runs`` at every width (seeds ``SEEDS``)."""
    return _movement_sweep(str(parameterization), str(activation), tuple(int(w) for w in widths))


@functools.cache
def _movement_sweep(parameterization: str, activation: str, widths: tuple) -> FeatureSweep:
    runs = [feature_runs(parameterization, w, activation) for w in widths]
    features = np.asarray([r.feature_change[:, -1] for r in runs])
    kernels = np.asarray([r.kernel_change[:, -1] for r in runs])
    return FeatureSweep(np.asarray(widths), features, kernels, features.mean(axis=1), kernels.mean(axis=1))


# ---------------------------------------------------------------------- claim predicates
EXPONENT_TOLERANCE = 0.15  # on exponents -1/2 (NTK) and 0 (muP): a third of the gap between them
MUP_KERNEL_CHANGE = 0.3  # muP: the kernel moves by at least this fraction of its size at every width
NTK_KERNEL_CHANGE = 0.05  # NTK parameterization: at the largest width it moves by less than this


def claim_lazy_features(sweep: FeatureSweep) -> ClaimCheck:
    """NTK parameterization: the final feature movement (seed mean, recomputed from ``sweep.feature_change``)
    falls like ``N^-1/2`` (exponent within ``EXPONENT_TOLERANCE``) and the kernel moves by less than
    ``NTK_KERNEL_CHANGE`` at the largest width."""
    features = np.asarray(sweep.feature_change).mean(axis=1)
    kernels = np.asarray(sweep.kernel_change).mean(axis=1)
    fit = fit_power_law(sweep.widths, features)
    return claim(
        "NTK parameterization: hidden features freeze like N^-1/2",
        measured=f"exponent {fit}; kernel moves {kernels[-1]:.3g} at N = {int(sweep.widths[-1])}",
        predicted=f"-0.5 +/- {EXPONENT_TOLERANCE}; kernel change < {NTK_KERNEL_CHANGE}",
        holds=abs(fit.exponent + 0.5) <= EXPONENT_TOLERANCE and kernels[-1] < NTK_KERNEL_CHANGE,
    )


def claim_rich_features(sweep: FeatureSweep) -> ClaimCheck:
    """muP: the final feature movement is flat in width (exponent within ``EXPONENT_TOLERANCE`` of 0) and
    the kernel moves by more than ``MUP_KERNEL_CHANGE`` of its size at every width."""
    features = np.asarray(sweep.feature_change).mean(axis=1)
    kernels = np.asarray(sweep.kernel_change).mean(axis=1)
    fit = fit_power_law(sweep.widths, features)
    return claim(
        "muP: hidden features move by order one at every width, and so does the kernel",
        measured=f"exponent {fit}; kernel moves {kernels.min():.3g} to {kernels.max():.3g}",
        predicted=f"0 +/- {EXPONENT_TOLERANCE}; kernel change > {MUP_KERNEL_CHANGE} at every width",
        holds=abs(fit.exponent) <= EXPONENT_TOLERANCE and np.all(kernels > MUP_KERNEL_CHANGE),
    )
