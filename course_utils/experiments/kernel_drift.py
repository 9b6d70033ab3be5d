"""Finite width: how the NTK drifts during training, and how the drift shrinks with width.

A two-layer network in NTK parameterization (``sb2 = 0.1``), ReLU or erf, is trained by
full-batch gradient descent (``cu.train``, lr 0.08, 250 steps, t = 20) on 16 random circle
points with the target ``cos(gamma) + 0.5 cos(2 gamma)`` (``cu.circle_problem(1, 16)``). The
empirical NTK on the training inputs is measured at about 30 log-spaced records inside the
compiled run; the drift is ``||K_t - K_0||_F / ||K_0||_F``, averaged over two seeds.

Expected: about N^-1 for the smooth erf (perturbation theory), slower for ReLU (between N^-1
and the N^-1/2 of Lee et al.'s bound).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .. import _validate
from ..data import circle_problem
from ..kernels import as_numpy, empirical_ntk
from ..measure import PowerLawFit, fit_power_law
from ..models import MLP
from ..training import log_record_steps, train

DATA_SEED = 1  # cu.circle_problem(DATA_SEED, N_TRAIN)
N_TRAIN = 16
LR = 0.08
STEPS = 250
SB2 = 0.1
WIDTHS = (64, 256, 1024, 4096)
SEEDS = (0, 1)
ACTIVATIONS = ("relu", "erf")
RECORD_STEPS = tuple(int(s) for s in log_record_steps(STEPS, 31))


def model(activation: str, width: int) -> MLP:
    """The network of this experiment: ``cu.MLP(in_dim=2, width, activation=..., sb2=0.1)``, NTK parameterization."""
    return MLP(in_dim=2, width=int(width), depth=1, activation=activation, parameterization="ntk", sb2=SB2)


@functools.cache
def training_problem():
    """The 16 training points: ``(angles, x, y) = cu.circle_problem(1, 16)``."""
    return circle_problem(DATA_SEED, N_TRAIN)


@functools.cache
def _kernel_measure(net: MLP):
    """``measure(params) = cu.empirical_ntk(net, params, x)``; one function object per model."""
    _, x, _ = training_problem()

    def measure(params):
        return empirical_ntk(net, params, x)

    return measure


class DriftRuns(NamedTuple):
    """Kernel drift of one (activation, width) from every seed of ``SEEDS``.

    times : (T,) record times ``lr * step``.
    drift : (S, T) ``||K_t - K_0||_F / ||K_0||_F`` per seed.
    mean_drift : (T,) its average over the seeds.
    """

    times: np.ndarray
    drift: np.ndarray
    mean_drift: np.ndarray


@functools.cache
def drift_runs(activation: str, width: int) -> DriftRuns:
    """Train ``model(activation, width)`` from ``model.init_many(SEEDS)`` in one ``cu.train`` call and
    measure the kernel drift at ``RECORD_STEPS``."""
    _validate.choice(activation, ACTIVATIONS, "activation")
    width = _validate.positive_int(width, "width")
    net = model(activation, width)
    _, x, y = training_problem()
    traj = train(net.apply, net.init_many(SEEDS), x, y, lr=LR, steps=STEPS, record_steps=np.asarray(RECORD_STEPS),
                 measure=_kernel_measure(net), batch=True)
    K = as_numpy(traj.measurements)  # (S, T, n, n)
    drift = np.linalg.norm(K - K[:, :1], axis=(2, 3)) / np.linalg.norm(K[:, 0], axis=(1, 2))[:, None]
    return DriftRuns(np.asarray(traj.times, dtype=np.float64), drift, drift.mean(axis=0))


class DriftSweep(NamedTuple):
    """Mean kernel drift against width for one activation.

    widths : (W,).  times : (T,).
    drift : (W, T) seed-averaged drift at every record.
    final : (W,) the drift at the end of training (t = 20).
    fit : ``cu.fit_power_law(widths, final)``: the measured exponent.
    """

    widths: np.ndarray
    times: np.ndarray
    drift: np.ndarray
    final: np.ndarray
    fit: PowerLawFit


@functools.cache
def drift_sweep(activation: str, widths=WIDTHS) -> DriftSweep:
    """``drift_runs(activation, w)`` for every width, and the power law fitted to the final drift."""
    widths = tuple(int(w) for w in widths)
    runs = [drift_runs(activation, w) for w in widths]
    drift = np.asarray([r.mean_drift for r in runs])
    final = drift[:, -1]
    return DriftSweep(np.asarray(widths), runs[0].times, drift, final, fit_power_law(widths, final))


def drift_exponents(activation: str, widths=WIDTHS) -> np.ndarray:
    """Exponents of the fitted power law at every record time after t = 0 (``nan`` at t = 0), shape (T,)."""
    sweep = drift_sweep(activation, tuple(int(w) for w in widths))
    exponents = [np.nan] + [fit_power_law(sweep.widths, np.maximum(sweep.drift[:, i], 1e-300)).exponent
                            for i in range(1, len(sweep.times))]
    return np.asarray(exponents)
