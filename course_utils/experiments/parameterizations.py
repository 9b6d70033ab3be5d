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
from ..measure import ClaimCheck, PowerLawFit, claim, fit_power_law, top_eigenvalue
from ..models import MLP
from ..training import train

PARAMETERIZATIONS = ("standard", "ntk", "mup")
WIDTHS = (64, 256, 1024, 2048)  # widths of the learning-rate sweeps
LAMBDA_WIDTHS = (64, 256, 1024)  # widths of the kernel-scale measurement
STEPS = 128  # gradient-descent steps of every sweep
N_POINTS = 32
DIVERGED = 1e8  # a loss above this (or non-finite) counts as diverged: the criterion of notebook 06 too
# "stable" means "not diverged" by this criterion; a run that climbs above its initial loss and
# comes back down (the catapult of notebook 06) is stable.
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
    peak_loss: np.ndarray  # (L,) the largest loss of each run (inf if it diverged)


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
    return LearningRateSweep(lrs, loss, float(lrs[int(np.argmin(loss[:, -1]))]), loss.max(axis=1))


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


# ---------------------------------------------------------------------- claim checks on the sweeps
KERNEL_EXPONENTS = {"standard": 1.0, "ntk": 0.0, "mup": 0.0}  # lambda_max ~ N^exponent at initialisation
TRANSFER_EXPONENTS = {"standard": -1.0, "ntk": 0.0, "mup": 0.0}  # best lr ~ N^exponent


def claim_kernel_scale(parameterization: str, scale: KernelScale, tolerance: float = 0.2) -> ClaimCheck:
    """``lambda_max`` of the initial kernel grows like ``N`` under SP and is width-independent under NTK and muP."""
    theory = KERNEL_EXPONENTS[_validate.choice(parameterization, PARAMETERIZATIONS, "parameterization")]
    fit = fit_power_law(scale.widths.astype(float), scale.lambda_max)
    return claim(f"{parameterization}: lambda_max of K_0 ~ N^{theory:g}", measured=f"exponent {fit}",
                 predicted=f"{theory:g} (+/- {tolerance})", holds=abs(fit.exponent - theory) < tolerance)


TRANSFER_TOLERANCE = 0.1  # below 0.15, the exponent that a drop by one grid step (a factor 2) at N = 2048 gives


def claim_lr_transfer(parameterization: str, transfer: TransferFit, tolerance: float = TRANSFER_TOLERANCE) -> ClaimCheck:
    """The best learning rate falls like ``1/N`` under SP and stays put under NTK and muP.

    The grid is powers of two over widths 64..2048, so a best rate that drops by one grid step
    at the widest width gives an exponent of -0.15: the default tolerance (0.1) rejects it.
    """
    theory = TRANSFER_EXPONENTS[_validate.choice(parameterization, PARAMETERIZATIONS, "parameterization")]
    fit = fit_power_law(transfer.widths.astype(float), transfer.best_lr)
    return claim(f"{parameterization}: best learning rate ~ N^{theory:g}", measured=f"exponent {fit.exponent + 0.0:.2f}",
                 predicted=f"{theory:g} (+/- {tolerance})", holds=abs(fit.exponent - theory) < tolerance)


def last_stable_lr(sweep: LearningRateSweep, step: int = STEPS) -> float:
    """The largest learning rate of the grid whose run has not diverged (``DIVERGED``) by ``step``."""
    finite = np.isfinite(sweep.loss[:, int(step)])
    return float(np.max(sweep.learning_rates[finite])) if finite.any() else float("nan")


def last_monotone_lr(sweep: LearningRateSweep, step: int = STEPS) -> float:
    """The largest learning rate of the grid whose loss never rises above its initial value up to ``step``.

    Below the edge ``2 / lambda_max`` of the initial kernel the loss of a (nearly linear) network
    falls from the start; a run that first climbs (a catapult) or diverges is not monotone.
    """
    loss = sweep.loss[:, : int(step) + 1]
    with np.errstate(invalid="ignore"):
        ok = np.all(loss <= loss[:, :1] * (1 + 1e-9), axis=1)
    return float(np.max(sweep.learning_rates[ok])) if ok.any() else float("nan")


def claim_optimum_is_last_monotone(parameterization: str, sweeps, step: int = STEPS) -> ClaimCheck:
    """The "best" learning rate at every width is the largest one of the grid whose loss never rises.

    True under SP: its optimum is set by the edge of stability, which moves like ``1/N``. Not
    true under the NTK parameterization on this task (its optimum climbs first: a catapult, above
    the edge) nor under muP (its optimum lies inside the monotone range).
    """
    best = [float(s.learning_rates[int(np.argmin(s.loss[:, int(step)]))]) for s in sweeps]
    monotone = [last_monotone_lr(s, step) for s in sweeps]
    return claim(f"{parameterization}: the best learning rate is the largest one whose loss never rises",
                 measured="best " + ", ".join(f"{b:.3g}" for b in best),
                 predicted="largest monotone " + ", ".join(f"{v:.3g}" for v in monotone), holds=best == monotone)


# ---------------------------------------------------------------------- the coordinate check (Yang et al. 2022)
COORD_WIDTHS = (64, 256, 1024, 4096)
COORD_STEPS = 4  # "a few steps" of full-batch gradient descent
COORD_SEEDS = (0, 1, 2, 3)
COORD_BASE_WIDTH = 64  # the learning rate is tuned here (1 / lambda_max) and then held fixed
CHANGE_EXPONENTS = {"mup": 0.0, "ntk": -0.5}  # rms change of h after a few steps ~ N^exponent; standard: blows up


@functools.lru_cache(maxsize=None)
def hidden_measure(model: MLP):
    """``measure(params)``: the hidden pre-activations ``h`` (n, N) on ``transfer_problem()`` (for ``train``)."""
    x, _ = transfer_problem()

    def measure(params):
        return model.forward(params, x)[0][0]

    return measure


def coordinate_lr(parameterization: str) -> float:
    """The coordinate check's learning rate: ``1 / lambda_max`` of the width-64 kernel at init, for every width."""
    scale = kernel_scale(parameterization)
    return 1.0 / float(scale.lambda_max[list(scale.widths).index(COORD_BASE_WIDTH)])


class CoordinateCheck(NamedTuple):
    """Per-coordinate size of the hidden pre-activations and of their change during training, against width."""

    parameterization: str
    widths: np.ndarray  # (W,)
    lr: float  # the same at every width
    h_init: np.ndarray  # (W,) rms over seeds, inputs and units of h at initialisation
    change: np.ndarray  # (W, COORD_STEPS) rms of h_s - h_0 after s = 1..COORD_STEPS steps
    output: np.ndarray  # (W, COORD_STEPS + 1) rms of the network output f at s = 0..COORD_STEPS
    fit_change: PowerLawFit  # rms change after COORD_STEPS steps ~ N^exponent
    fit_init: PowerLawFit


def rms(a, axis=None):
    """Root mean square (the per-coordinate size of Yang et al.'s coordinate check)."""
    return np.sqrt(np.mean(np.square(np.asarray(a, dtype=np.float64)), axis=axis))


@functools.lru_cache(maxsize=None)
def coordinate_check(parameterization: str, widths=COORD_WIDTHS, steps: int = COORD_STEPS, seeds=COORD_SEEDS) -> CoordinateCheck:
    """Train every width with the same learning rate for a few steps and record the hidden features.

    One ``train(..., batch=True, measure=hidden_measure(model))`` call per width (every seed of
    ``seeds`` side by side), ``lr = coordinate_lr(parameterization)``.
    """
    _validate.choice(parameterization, PARAMETERIZATIONS, "parameterization")
    x, y = transfer_problem()
    lr = coordinate_lr(parameterization)
    h_init, change, output = [], [], []
    for w in widths:
        model = two_layer_model(int(w), parameterization)
        traj = train(model.apply, model.init_many(list(seeds)), x, y, lr=lr, steps=int(steps), record_every=1, batch=True,
                     measure=hidden_measure(model))
        h = np.asarray(traj.measurements)  # (S, steps + 1, n, N)
        h_init.append(rms(h[:, 0]))
        change.append([rms(h[:, s] - h[:, 0]) for s in range(1, int(steps) + 1)])
        output.append(rms(np.asarray(traj.outputs), axis=(0, 2)))
    widths = np.asarray(widths)
    h_init, change, output = np.asarray(h_init), np.asarray(change), np.asarray(output)
    return CoordinateCheck(parameterization, widths, float(lr), h_init, change, output,
                           fit_power_law(widths.astype(float), change[:, -1]), fit_power_law(widths.astype(float), h_init))


def claim_coordinate_check(check: CoordinateCheck, tolerance: float = 0.15, blow_up: float = 1.0) -> ClaimCheck:
    """After a few steps the rms change of ``h`` is O(1) under muP, ~``N^-1/2`` under NTK, grows under SP.

    The features at initialisation are O(1) in every parameterization (exponent within
    ``tolerance`` of 0); "grows" means an exponent above ``blow_up``.
    """
    widths = check.widths.astype(float)
    fit = fit_power_law(widths, check.change[:, -1])
    init = fit_power_law(widths, check.h_init)
    if check.parameterization == "standard":
        ok, predicted = fit.exponent > blow_up, f"blows up (exponent > {blow_up:g})"
    else:
        theory = CHANGE_EXPONENTS[check.parameterization]
        ok, predicted = abs(fit.exponent - theory) < tolerance, f"{theory:g} (+/- {tolerance})"
    return claim(f"{check.parameterization}: rms change of h after {check.change.shape[1]} steps ~ N^exponent",
                 measured=f"exponent {fit} (width exponent of rms h at init: {init.exponent + 0.0:.2f})",
                 predicted=f"{predicted}; width exponent of rms h at init: 0", holds=ok and abs(init.exponent) < tolerance)
