"""The 30-second tour of notebook 00: a network against its infinite-width kernel prediction.

A two-layer ReLU network is trained by gradient descent on a dozen points on the unit
circle, at several widths N and from a few seeds. Next to every run, the infinite-width
prediction: gradient descent with the network's own learning rate on the linear model with
the analytic NTK (``GradientFlow(K, y, f0, lr=LR)``, closed form ``(1 - LR lambda)^k``),
started from the same network's outputs at initialization. Comparing with the continuous
flow ``exp(-K t)`` instead would add the discrete-versus-continuous difference of the linear
model (about 0.045 here, as large as the whole gap at N = 1024-4096) to the width effect. The wider the network, the closer its whole training
run lies on the kernel prediction.

Public names
------------
TOUR_WIDTHS, SEEDS, N_TRAIN, LR, STEPS, N_RECORDS, DATA_SEED, tour_target, tour_model,
tour_problem, TourRun, tour_run, TourGaps, tour_gaps, N_BOOTSTRAP, bootstrap_exponent_range,
THEORY_EXPONENT, EXPONENT_TOLERANCE, claim_network_follows_kernel.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import circle_points, random_circle
from ..flow import GradientFlow
from ..kernels import analytic_ntk
from ..measure import ClaimCheck, PowerLawFit, claim, fit_power_law
from ..models import MLP
from ..training import log_record_steps, train

TOUR_WIDTHS = (16, 64, 256, 1024, 4096)  # the widths N the tour offers
SEEDS = (1, 2, 3)  # initializations per width; the figure shows the first one
N_TRAIN = 12  # training points on the circle
DATA_SEED = 0  # seed of the training angles
LR = 0.01
STEPS = 20000  # so the runs end at t = LR * STEPS = 200
N_RECORDS = 41  # log-spaced records (the time control's values)
N_BOOTSTRAP = 1000  # resamplings of the seeds for the exponent's uncertainty
THEORY_EXPONENT = -0.5  # heuristic: kernel fluctuations and drift of size N^-1/2 (Lee et al. 2019
# prove a bound of this order for smooth activations against the network's own linearization)
EXPONENT_TOLERANCE = 0.2  # a fitted exponent within this of -1/2 counts as agreement


def tour_target(angles):
    """The function the tour fits on the circle: ``sin(gamma) + 0.5 cos(2 gamma)``.

    A numpy array (float64) for concrete angles: five JAX operations of a new shape would
    compile five small programs (about 0.2 s in a fresh kernel), and numpy's sin and cos give
    the same bits here. Traced angles (inside ``jax.jit``) get the same formula in ``jnp``.
    """
    xp = jnp if isinstance(angles, jax.core.Tracer) else np
    angles = xp.asarray(angles, dtype=xp.float64)
    return xp.sin(angles) + 0.5 * xp.cos(2 * angles)


def tour_model(width: int) -> MLP:
    """The tour's network: one hidden ReLU layer of ``width`` units in NTK parameterization, small biases."""
    width = _validate.positive_int(width, "width")
    return MLP(in_dim=2, width=width, depth=1, activation="relu", sw2=2.0, sb2=0.1)


def tour_problem():
    """The training set: ``(angles, x, y)`` with ``N_TRAIN`` random points on the circle and ``tour_target``."""
    angles, x = random_circle(DATA_SEED, N_TRAIN)
    return angles, x, tour_target(angles)


class TourRun(NamedTuple):
    """Everything the tour records for one width N and S seeds (numpy arrays).

    times : (T,) gradient-flow times of the records.
    grid_angles : (m,) angles of the evaluation grid.  train_angles, train_targets : (n,).
    network_grid, kernel_grid : (S, T, m) the trained networks and their analytic-NTK
        predictions on the grid (gradient descent on the linear model, step ``LR``).
    network_train, kernel_train : (S, T, n) the same on the training points.
    network_loss, kernel_loss : (S, T) training losses ``1/2 ||f - y||^2``.
    gaps : (S,) largest ``|f_network - f_kernel|`` over the run and the training points.
    """

    times: np.ndarray
    grid_angles: np.ndarray
    train_angles: np.ndarray
    train_targets: np.ndarray
    network_grid: np.ndarray
    kernel_grid: np.ndarray
    network_train: np.ndarray
    kernel_train: np.ndarray
    network_loss: np.ndarray
    kernel_loss: np.ndarray
    gaps: np.ndarray


def tour_run(width: int, seeds=SEEDS[:1], grid_size: int = 181) -> TourRun:
    """Train the tour network at ``width`` from every seed in ``seeds`` (one batched ``train``)
    and compute each run's kernel prediction; cached per argument. The default is the one
    run the figure shows. Seeds already trained together at this width (by ``tour_gaps``) are
    read from that batch instead of being trained again."""
    width = _validate.positive_int(width, "width")
    seeds = tuple(_validate.positive_int(int(s), "seed", minimum=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds must be a non-empty tuple of integers >= 0")
    grid_size = _validate.positive_int(grid_size, "grid_size", minimum=2)
    for trained, run in _trained.get((width, grid_size), ()):
        if set(seeds) <= set(trained):
            return _select_runs(run, [trained.index(s) for s in seeds])
    return _tour_run(width, seeds, grid_size)


_trained: dict = {}  # (width, grid_size) -> [(seeds, TourRun)], every batch trained so far


def _select_runs(run: TourRun, rows) -> TourRun:
    per_run = ("network_grid", "kernel_grid", "network_train", "kernel_train", "network_loss", "kernel_loss", "gaps")
    return run._replace(**{field: getattr(run, field)[rows] for field in per_run})


@functools.cache
def _tour_run(width: int, seeds: tuple, grid_size: int) -> TourRun:
    model = tour_model(width)
    train_angles, x, y = tour_problem()
    grid_angles = np.linspace(0.0, 2 * np.pi, grid_size)
    grid = circle_points(grid_angles)
    params = model.init_many(seeds)
    # The network on the grid is measured inside the training run, at every record: one
    # compiled program instead of two, and no parameter history is kept.
    traj = train(
        model.apply, params, x, y, lr=LR, steps=STEPS, record_steps=log_record_steps(STEPS, N_RECORDS),
        measure=lambda p: model.forward(p, grid)[1], batch=True,
    )
    network_grid = traj.measurements  # (S, T, m)
    # The infinite-width prediction starts from each network's own outputs at t = 0, so the
    # only difference left is that the kernel is the deterministic limit and never moves.
    K, K_grid = analytic_ntk(model, x), analytic_ntk(model, grid, x)
    # numpy from here: slicing JAX arrays would compile a small program per slice
    network_train, network_grid = np.asarray(traj.outputs), np.asarray(network_grid)
    kernel_grid, kernel_train, kernel_loss = [], [], []
    for i in range(len(seeds)):
        flow = GradientFlow(K, y, network_train[i, 0], lr=LR)  # the same discrete steps as the network
        kernel_train.append(flow.outputs(traj.times))
        kernel_loss.append(flow.loss(traj.times))
        kernel_grid.append(flow.predict(traj.times, K_grid, network_grid[i, 0]))
    kernel_train = np.asarray(kernel_train)
    run = TourRun(
        times=np.asarray(traj.times),
        grid_angles=np.asarray(grid_angles),
        train_angles=np.asarray(train_angles),
        train_targets=np.asarray(y),
        network_grid=np.asarray(network_grid),
        kernel_grid=np.asarray(kernel_grid),
        network_train=network_train,
        kernel_train=kernel_train,
        network_loss=np.asarray(traj.loss),
        kernel_loss=np.asarray(kernel_loss),
        gaps=np.max(np.abs(network_train - kernel_train), axis=(1, 2)),
    )
    _trained.setdefault((width, grid_size), []).append((seeds, run))
    return run


class TourGaps(NamedTuple):
    """The tour's claim: how far a network's run lies from its kernel prediction, per width.

    widths : (W,).  gaps : (W, S) largest ``|f_network - f_kernel|`` over the run and the
    training points, per seed.  mean_gaps : (W,) the mean over seeds.  fit : the power law
    ``mean_gap ~ N^exponent`` (``cu.fit_power_law``); heuristic: exponent about -1/2. Its
    ``stderr`` is the scatter of the five points about the line, not a sampling error.
    exponent_range : (2,) the 2.5% and 97.5% percentiles of the exponent over
        ``N_BOOTSTRAP`` resamplings of the seeds at every width (the sampling uncertainty).
    """

    widths: np.ndarray
    gaps: np.ndarray
    mean_gaps: np.ndarray
    fit: PowerLawFit
    exponent_range: np.ndarray


def tour_gaps(widths=TOUR_WIDTHS, seeds=SEEDS) -> TourGaps:
    """The gap between network and kernel prediction at every width, averaged over ``seeds``.

    All seeds of a width are trained together in one batch (``tour_run(width, seeds)``); the
    figure then reads its runs of the first seed from these batches.
    """
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must be a non-empty tuple of integers >= 0")
    return _tour_gaps(widths, seeds)


@functools.cache
def _tour_gaps(widths: tuple, seeds: tuple) -> TourGaps:
    gaps = np.asarray([tour_run(w, seeds).gaps for w in widths])
    mean_gaps = gaps.mean(axis=1)
    widths = np.asarray(widths)
    return TourGaps(widths, gaps, mean_gaps, fit_power_law(widths.astype(float), mean_gaps),
                    bootstrap_exponent_range(widths, gaps))


def bootstrap_exponent_range(widths, gaps, n_bootstrap: int | None = None, seed: int = 0) -> np.ndarray:
    """The 2.5% and 97.5% percentiles of the fitted exponent when, at every width, the seeds
    are resampled with replacement (``gaps`` is (W, S)); a fixed ``seed`` keeps it reproducible."""
    gaps = np.asarray(gaps, dtype=float)
    widths = np.asarray(widths, dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, gaps.shape[1], size=(N_BOOTSTRAP if n_bootstrap is None else n_bootstrap, *gaps.shape))
    means = np.take_along_axis(gaps[None], picks, axis=2).mean(axis=2)  # (B, W)
    exponents = [fit_power_law(widths, m).exponent for m in means]
    return np.percentile(exponents, [2.5, 97.5])


def claim_network_follows_kernel(gaps: TourGaps) -> ClaimCheck:
    """The tour's claim: averaged over seeds, the gap between a network and its kernel
    prediction shrinks at every step up in width, the widest is at least 3x closer than the
    narrowest, and the fitted exponent is within ``EXPONENT_TOLERANCE`` of -1/2."""
    mean = np.asarray(gaps.mean_gaps)
    exponent = gaps.fit.exponent
    return claim(
        "the wider the network, the closer its whole training run to the kernel prediction",
        measured=f"mean gap {mean[0]:.3g} at N = {int(gaps.widths[0])} down to {mean[-1]:.3g} at "
                 f"N = {int(gaps.widths[-1])}, slope {gaps.fit} (seed bootstrap 95%: "
                 f"{gaps.exponent_range[0]:.2f} to {gaps.exponent_range[1]:.2f})",
        predicted=f"shrinking at every width, slope {THEORY_EXPONENT} +/- {EXPONENT_TOLERANCE}",
        holds=bool(np.all(np.diff(mean) < 0)) and mean[-1] < mean[0] / 3
        and abs(exponent - THEORY_EXPONENT) <= EXPONENT_TOLERANCE,
    )


__all__ = [
    "DATA_SEED",
    "EXPONENT_TOLERANCE",
    "LR",
    "N_BOOTSTRAP",
    "N_RECORDS",
    "N_TRAIN",
    "SEEDS",
    "STEPS",
    "THEORY_EXPONENT",
    "TOUR_WIDTHS",
    "TourGaps",
    "TourRun",
    "bootstrap_exponent_range",
    "claim_network_follows_kernel",
    "tour_gaps",
    "tour_model",
    "tour_problem",
    "tour_run",
    "tour_target",
]
