"""Standard, NTK and muP parameterizations side by side: kernel scale and learning-rate transfer (notebook 05).

The task: a two-layer ReLU network (no bias) on 32 random circle points with the target
``cos g + 0.5 cos 2g`` (``data.circle_problem(4, 32)``). For each parameterization and width,
one ``train`` call runs a whole grid of learning rates side by side (``batch=True`` with one
learning rate per run, every run starting from ``model.init(seed)``).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .. import _validate
from ..data import circle_problem
from ..kernels import empirical_ntk
from ..measure import PowerLawFit, fit_power_law, top_eigenvalue
from ..models import MLP
from ..training import train

PARAMETERIZATIONS = ("standard", "ntk", "mup")
WIDTHS = (64, 256, 1024, 2048)  # widths of the learning-rate sweeps
LAMBDA_WIDTHS = (64, 256, 1024)  # widths of the kernel-scale measurement
STEPS = 128  # gradient-descent steps of every sweep
N_POINTS = 32
DIVERGED = 1e3  # a loss above this (or non-finite) counts as diverged
# Power-of-two learning-rate grids, each covering its parameterization's stable range at these widths.
LEARNING_RATES = {
    "standard": tuple(float(v) for v in 2.0 ** np.arange(-20, -3)),
    "ntk": tuple(float(v) for v in 2.0 ** np.arange(-12, 1)),
    "mup": tuple(float(v) for v in 2.0 ** np.arange(-12, 1)),
}
RECORDED_STEPS = (1, 2, 4, 8, 16, 32, 64, 128)  # step counts the demo's steps control offers


@functools.lru_cache(maxsize=None)
def transfer_problem():
    """``(x, y)``: 32 random circle points (seed 4) and the target ``cos g + 0.5 cos 2g``."""
    _, x, y = circle_problem(4, N_POINTS)
    return x, y


def two_layer_model(width: int, parameterization: str) -> MLP:
    """The network of the sweeps: two-layer ReLU, no bias, in the given parameterization."""
    _validate.choice(parameterization, PARAMETERIZATIONS, "parameterization")
    return MLP(in_dim=2, width=int(width), parameterization=parameterization, sb2=0.0)


class LearningRateSweep(NamedTuple):
    """Training-loss curves for a grid of learning rates at one width and parameterization."""

    learning_rates: np.ndarray  # (L,)
    loss: np.ndarray  # (L, steps + 1): loss after each step; inf from the step a run diverges on
    best_lr: float  # the learning rate with the lowest final loss


def mark_diverged(loss) -> np.ndarray:
    """``loss`` with every entry from a run's first non-finite or > ``DIVERGED`` value onwards set to inf."""
    loss = np.asarray(loss, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(loss) | (loss > DIVERGED)
    bad = np.maximum.accumulate(bad, axis=-1)  # once diverged, stay diverged
    return np.where(bad, np.inf, loss)


@functools.lru_cache(maxsize=None)
def lr_sweep(parameterization: str, width: int, steps: int = STEPS, seed: int = 0) -> LearningRateSweep:
    """Full-batch gradient descent on ``transfer_problem()`` for every learning rate of ``LEARNING_RATES[parameterization]``.

    One ``train(..., batch=True)`` call: every run starts from ``model.init(seed)`` and has its
    own learning rate; the loss is recorded at every step.
    """
    width = _validate.positive_int(width, "width")
    model = two_layer_model(width, parameterization)
    lrs = np.asarray(LEARNING_RATES[parameterization])
    x, y = transfer_problem()
    params = model.init_many([seed] * len(lrs))
    traj = train(model.apply, params, x, y, lr=lrs, steps=int(steps), record_every=1, batch=True)
    loss = mark_diverged(np.asarray(traj.loss))
    return LearningRateSweep(lrs, loss, float(lrs[int(np.argmin(loss[:, -1]))]))


def best_lrs(parameterization: str, widths=WIDTHS, step: int = STEPS) -> np.ndarray:
    """The learning rate (from the power-of-two grid) with the lowest loss after ``step`` steps, per width."""
    _validate.choice(parameterization, PARAMETERIZATIONS, "parameterization")
    out = []
    for w in widths:
        sweep = lr_sweep(parameterization, int(w))
        out.append(sweep.learning_rates[int(np.argmin(sweep.loss[:, int(step)]))])
    return np.asarray(out)


class TransferFit(NamedTuple):
    """Best learning rate against width for one parameterization, and the power law fitted to it."""

    widths: np.ndarray
    best_lr: np.ndarray
    fit: PowerLawFit  # best lr ~ width^exponent (theory: -1 standard, 0 NTK and muP)


@functools.lru_cache(maxsize=None)
def lr_transfer(parameterization: str, widths=WIDTHS) -> TransferFit:
    """How the best learning rate moves with the width, for one parameterization."""
    best = best_lrs(parameterization, widths)
    return TransferFit(np.asarray(widths), best, fit_power_law(np.asarray(widths, dtype=float), best))


class KernelScale(NamedTuple):
    """Largest eigenvalue of the empirical NTK at initialisation against width, for one parameterization."""

    widths: np.ndarray
    lambda_max: np.ndarray
    fit: PowerLawFit  # lambda_max ~ width^exponent (theory: 1 standard, 0 NTK and muP)


@functools.lru_cache(maxsize=None)
def kernel_scale(parameterization: str, widths=LAMBDA_WIDTHS, seed: int = 0) -> KernelScale:
    """``lambda_max`` of ``empirical_ntk`` at ``model.init(seed)`` on ``transfer_problem()``, per width.

    Standard parameterization: grows like the width (so the largest stable learning rate
    ``2 / lambda_max`` shrinks like 1 / width). NTK parameterization and muP: about constant.
    """
    x, _ = transfer_problem()
    lam = []
    for w in widths:
        model = two_layer_model(int(w), parameterization)
        lam.append(top_eigenvalue(empirical_ntk(model, model.init(seed), x)))
    lam = np.asarray(lam)
    return KernelScale(np.asarray(widths), lam, fit_power_law(np.asarray(widths, dtype=float), lam))
