"""Finite width: how the NTK drifts during training, and how the drift shrinks with width.

A two-layer network in NTK parameterization (``sb2 = 0.1``), ReLU or erf, is trained by
full-batch gradient descent (``cu.train``, lr 0.08, 250 steps, t = 20) on 16 random circle
points with the target ``cos(gamma) + 0.5 cos(2 gamma)`` (``cu.circle_problem(1, 16)``). The
empirical NTK on the training inputs is measured at about 30 log-spaced records inside the
compiled run; the drift is ``||K_t - K_0||_F / ||K_0||_F``, averaged over ``SEEDS`` (8 seeds
per width, widths 64 to 16384).

Expected: about N^-1 for the smooth erf (perturbation theory: every unit's first-order change
has a random sign). For ReLU a heuristic: the units whose pre-activation sits within
O(N^-1/2) of the kink at some training input (a fraction O(N^-1/2) of them) can switch on or
off; each switch changes that unit's O(1/N) share of the kernel by O(1/N), with a random sign,
so the ``N^1/2`` switches add up to ``N^1/4 / N = N^-3/4``. Only if they all pushed the same way
would the sum be ``N^-1/2`` (the coherent worst case, the rate of Lee et al.'s bound). The
switching fraction is measured too (``switched_fraction``, heuristic N^-1/2).

Predicates: ``claim_smooth_drift`` (erf exponent -1), ``claim_relu_drift`` (ReLU exponent
-3/4, distinguishable from -1/2 and -1), ``claim_switching`` (fraction of switched units
about N^-1/2).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from .._memory import release_compiled_programs
from ..data import circle_problem
from ..kernels import as_numpy, empirical_ntk
from ..measure import ClaimCheck, PowerLawFit, claim, fit_power_law
from ..models import MLP
from ..training import log_record_steps, train

DATA_SEED = 1  # cu.circle_problem(DATA_SEED, N_TRAIN)
N_TRAIN = 16
LR = 0.08
STEPS = 250
SB2 = 0.1
WIDTHS = (64, 256, 1024, 4096, 16384)
SEEDS = tuple(range(8))
ACTIVATIONS = ("relu", "erf")
RECORD_STEPS = tuple(int(s) for s in log_record_steps(STEPS, 31))
SMOOTH_EXPONENT = -1.0  # erf: perturbation theory
RELU_EXPONENT = -0.75  # ReLU: random-sign switching heuristic
COHERENT_EXPONENT = -0.5  # ReLU: all switches pushing the same way (the rate of Lee et al.'s bound)
SWITCH_EXPONENT = -0.5  # fraction of units within O(N^-1/2) of the kink
EXPONENT_TOLERANCE = 0.1  # below half the gap (0.25) between the three candidate exponents
SWITCH_TOLERANCE = 0.1


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


def switched_units(net: MLP, params0, params1, x) -> np.ndarray:
    """Fraction of hidden units whose pre-activation changed sign at one or more inputs ``x`` between
    ``params0`` and ``params1`` (single runs, not batches): a ReLU unit crossing its kink."""
    h0 = net.forward(params0, x)[0][0]
    h1 = net.forward(params1, x)[0][0]
    return float(jnp.mean(jnp.any((h0 > 0) != (h1 > 0), axis=0)))


@functools.cache
def _switched_batch(net: MLP):
    """``switched_units`` for every run of a batch at once, in one compiled program per model."""

    def one(params0, params1, x):
        h0 = net.forward(params0, x)[0][0]
        h1 = net.forward(params1, x)[0][0]
        return jnp.mean(jnp.any((h0 > 0) != (h1 > 0), axis=0))

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)))


@functools.cache
def initial_params(width: int, seeds: tuple = SEEDS):
    """``model(activation, width).init_many(seeds)``: the same draw for ReLU and erf (the initialisation
    does not depend on the activation), made once per width."""
    return model("relu", int(width)).init_many(seeds)


SEED_WIDTH_PER_CALL = 32768  # seeds x width trained in one compiled call (see seed_groups)


def seed_groups(width: int) -> list[tuple]:
    """``SEEDS`` in the groups that ``drift_runs`` trains together: all eight up to width 4096, two
    at a time at 16384. A call holds its (seeds, 16 inputs, width) activations several times over,
    for the training step and for the kernel measured inside it: at width 16384 the eight seeds
    together took 250 MB above the process, more than a notebook's share of a student's pod.
    A seed's run does not depend on the others in its batch."""
    per_call = max(2, min(len(SEEDS), SEED_WIDTH_PER_CALL // int(width)))
    return [tuple(SEEDS[i:i + per_call]) for i in range(0, len(SEEDS), per_call)]


class DriftRuns(NamedTuple):
    """Kernel drift of one (activation, width) from every seed of ``SEEDS``.

    times : (T,) record times ``lr * step``.
    drift : (S, T) ``||K_t - K_0||_F / ||K_0||_F`` per seed.
    mean_drift : (T,) its average over the seeds.
    switched : (S,) fraction of hidden units whose sign changed at a training input (``switched_units``).
    """

    times: np.ndarray
    drift: np.ndarray
    mean_drift: np.ndarray
    switched: np.ndarray


def drift_runs(activation: str, width: int) -> DriftRuns:
    """Train ``model(activation, width)`` from ``model.init_many(SEEDS)`` in one ``cu.train`` call and
    measure the kernel drift at ``RECORD_STEPS`` and the switched units at the end (cached: each
    (activation, width) trains once; only the small result arrays are kept)."""
    _validate.choice(activation, ACTIVATIONS, "activation")
    width = _validate.positive_int(width, "width")
    return _drift_runs(str(activation), int(width))


@functools.cache
def _drift_runs(activation: str, width: int) -> DriftRuns:
    net = model(activation, width)
    _, x, y = training_problem()
    kernels, switched = [], []
    for seeds in seed_groups(width):
        params0 = initial_params(width, seeds)
        traj = train(net.apply, params0, x, y, lr=LR, steps=STEPS, record_steps=np.asarray(RECORD_STEPS),
                     measure=_kernel_measure(net), batch=True)
        kernels.append(as_numpy(traj.measurements))  # (seeds, T, n, n)
        switched.append(as_numpy(_switched_batch(net)(params0, traj.params, x)))
    K, switched = np.concatenate(kernels), np.concatenate(switched)
    drift = np.linalg.norm(K - K[:, :1], axis=(2, 3)) / np.linalg.norm(K[:, 0], axis=(1, 2))[:, None]
    release_compiled_programs(force=True)  # every (activation, width) trains once: its programs are not needed again
    return DriftRuns(np.asarray(traj.times, dtype=np.float64), drift, drift.mean(axis=0), switched)


class DriftSweep(NamedTuple):
    """Kernel drift against width for one activation.

    widths : (W,).  times : (T,).
    drift : (W, T) seed-averaged drift at every record.
    final_per_seed : (W, S) the drift at the end of training (t = 20), every seed.
    final : (W,) its seed average.
    fit : ``cu.fit_power_law(widths, final)``: the measured exponent.
    switched : (W, S) fraction of units that crossed the kink (meaningful for ReLU).
    """

    widths: np.ndarray
    times: np.ndarray
    drift: np.ndarray
    final_per_seed: np.ndarray
    final: np.ndarray
    fit: PowerLawFit
    switched: np.ndarray


def drift_sweep(activation: str, widths=WIDTHS) -> DriftSweep:
    """``drift_runs(activation, w)`` for every width, and the power law fitted to the final drift (cached:
    the demo and the claim check share one sweep)."""
    return _drift_sweep(str(activation), tuple(int(w) for w in widths))


@functools.cache
def _drift_sweep(activation: str, widths: tuple) -> DriftSweep:
    runs = [drift_runs(activation, w) for w in widths]
    drift = np.asarray([r.mean_drift for r in runs])
    per_seed = np.asarray([r.drift[:, -1] for r in runs])
    final = per_seed.mean(axis=1)
    return DriftSweep(np.asarray(widths), runs[0].times, drift, per_seed, final, fit_power_law(widths, final),
                      np.asarray([r.switched for r in runs]))


def drift_exponents(activation: str, widths=WIDTHS) -> np.ndarray:
    """Exponents of the fitted power law at every record time after t = 0 (``nan`` at t = 0), shape (T,)."""
    sweep = drift_sweep(activation, tuple(int(w) for w in widths))
    exponents = [np.nan] + [fit_power_law(sweep.widths, np.maximum(sweep.drift[:, i], 1e-300)).exponent
                            for i in range(1, len(sweep.times))]
    return np.asarray(exponents)


def final_drift_fit(sweep: DriftSweep) -> PowerLawFit:
    """The power law of the seed-averaged final drift against width, recomputed from ``final_per_seed``."""
    return fit_power_law(sweep.widths, np.asarray(sweep.final_per_seed).mean(axis=1))


def claim_smooth_drift(sweep: DriftSweep) -> ClaimCheck:
    """erf: the final drift falls at every width step with exponent ``-1 +/- EXPONENT_TOLERANCE``."""
    final = np.asarray(sweep.final_per_seed).mean(axis=1)
    fit = final_drift_fit(sweep)
    return claim(
        "erf (smooth): the kernel drift falls like N^-1",
        measured=f"exponent {fit}, drift {final[0]:.3g} -> {final[-1]:.3g}",
        predicted=f"{SMOOTH_EXPONENT:g} +/- {EXPONENT_TOLERANCE}",
        holds=np.all(np.diff(final) < 0) and abs(fit.exponent - SMOOTH_EXPONENT) <= EXPONENT_TOLERANCE,
    )


def claim_relu_drift(sweep: DriftSweep) -> ClaimCheck:
    """ReLU: the drift exponent is within ``EXPONENT_TOLERANCE`` of the random-sign -3/4, and more than
    two standard errors away from both the coherent -1/2 and the smooth -1 (so the data tell them apart)."""
    final = np.asarray(sweep.final_per_seed).mean(axis=1)
    fit = final_drift_fit(sweep)
    apart = all(abs(fit.exponent - e) > max(2 * fit.stderr, EXPONENT_TOLERANCE) for e in (COHERENT_EXPONENT, SMOOTH_EXPONENT))
    return claim(
        "ReLU: the kernel drift falls like N^-3/4 (random-sign switching), not N^-1/2 nor N^-1",
        measured=f"exponent {fit}, drift {final[0]:.3g} -> {final[-1]:.3g}",
        predicted=f"{RELU_EXPONENT:g} +/- {EXPONENT_TOLERANCE} (heuristic); coherent worst case {COHERENT_EXPONENT:g}, "
        f"smooth {SMOOTH_EXPONENT:g}",
        holds=np.all(np.diff(final) < 0) and abs(fit.exponent - RELU_EXPONENT) <= EXPONENT_TOLERANCE and apart,
    )


def claim_switching(sweep: DriftSweep) -> ClaimCheck:
    """ReLU: the fraction of units that cross the kink during training falls like ``N^-1/2``
    (within ``SWITCH_TOLERANCE``): the premise of the -3/4 heuristic."""
    fraction = np.asarray(sweep.switched).mean(axis=1)
    if not np.all(fraction > 0):  # no unit crossed at some width: nothing to fit
        return claim("ReLU: a fraction ~N^-1/2 of the units crosses the kink during training",
                     measured=f"fractions {', '.join(f'{f:.3g}' for f in fraction)} (zero somewhere)",
                     predicted=f"{SWITCH_EXPONENT:g} +/- {SWITCH_TOLERANCE}", holds=False)
    fit = fit_power_law(sweep.widths, fraction)
    return claim(
        "ReLU: a fraction ~N^-1/2 of the units crosses the kink during training",
        measured=f"exponent {fit}, fraction {fraction[0]:.3g} -> {fraction[-1]:.3g}",
        predicted=f"{SWITCH_EXPONENT:g} +/- {SWITCH_TOLERANCE}",
        holds=abs(fit.exponent - SWITCH_EXPONENT) <= SWITCH_TOLERANCE,
    )
