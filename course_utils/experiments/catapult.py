"""Large learning rates: lazy, catapult and divergent runs (Lewkowycz et al. 2020).

A two-layer ReLU network in NTK parameterization is trained by full-batch gradient descent
(``cu.train``) for 150 steps on 8 random circle points with the target
``cos(gamma) + 0.5 cos(2 gamma)`` (``cu.circle_problem(3, 8)``), at learning rates
``lr = multiple / lambda_0`` with ``lambda_0`` the top eigenvalue of the empirical NTK at
initialisation. All learning rates run side by side in one ``cu.train(..., batch=True)`` call
with an (M,) ``lr`` array; the top NTK eigenvalue is measured at every step inside the run.

Predicate: ``claim_phases`` (a lazy, a catapult and a divergent run at one width; in the
catapult run the loss spikes and the top eigenvalue drops below ``2 / lr``).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import circle_problem
from ..kernels import as_numpy, empirical_ntk
from ..measure import ClaimCheck, claim
from ..models import MLP
from ..training import train

DATA_SEED = 3  # cu.circle_problem(DATA_SEED, N_TRAIN)
N_TRAIN = 8
STEPS = 150
WIDTHS = (256, 1024, 4096)
MULTIPLES = (0.5, 1.0, 1.5, 1.9, 2.2, 2.6, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0)  # lr x lambda_0
RECORD_STEPS = tuple(range(STEPS + 1))  # every step
DIVERGED_LOSS = 1e8  # a loss above this counts as diverged (and is stored as inf)
REGIMES = ("lazy", "catapult", "divergent")


def model(width: int) -> MLP:
    """The network of this experiment: ``cu.MLP(in_dim=2, width)`` (ReLU, NTK parameterization, sb2 = 0)."""
    return MLP(in_dim=2, width=int(width), depth=1)


@functools.cache
def training_problem():
    """The 8 training points: ``(angles, x, y) = cu.circle_problem(3, 8)``."""
    return circle_problem(DATA_SEED, N_TRAIN)


@functools.cache
def _top_eigenvalue_measure(net: MLP):
    """``measure(params)``: the top eigenvalue of the empirical NTK on the training inputs (one object per model)."""
    _, x, _ = training_problem()

    def measure(params):
        return jnp.linalg.eigvalsh(empirical_ntk(net, params, x))[-1]

    return measure


def multiple_index(multiple: float, multiples=MULTIPLES) -> int:
    """Position of ``multiple`` (a learning rate in units of ``1 / lambda_0``) in ``multiples``."""
    matches = [i for i, m in enumerate(multiples) if abs(m - float(multiple)) < 1e-12]
    if not matches:
        raise ValueError(f"multiple {multiple} is not one of {tuple(multiples)}")
    return matches[0]


class CatapultRuns(NamedTuple):
    """Gradient descent at every learning rate of ``MULTIPLES`` for one width (M runs, STEPS + 1 records).

    lam0 : top eigenvalue of the empirical NTK at initialisation.
    multiples : (M,) ``lr x lambda_0``.  lrs : (M,) the learning rates.
    steps : (T,) recorded steps (every step, 0 to STEPS).
    loss : (M, T) ``1/2 ||f - y||^2``; ``inf`` from the step a run diverges.
    top_eigenvalue : (M, T) top eigenvalue of the empirical NTK; ``inf`` once diverged.
    final_params : the parameters after the last step (numpy leaves with a leading M axis).
    """

    lam0: float
    multiples: np.ndarray
    lrs: np.ndarray
    steps: np.ndarray
    loss: np.ndarray
    top_eigenvalue: np.ndarray
    final_params: list


@functools.cache
def catapult_runs(width: int, seed: int = 0) -> CatapultRuns:
    """Train ``model(width).init(seed)`` at every ``lr = MULTIPLES / lambda_0``, in one ``cu.train`` call."""
    width = _validate.positive_int(width, "width")
    net = model(width)
    _, x, y = training_problem()
    params = net.init(int(seed))
    lam0 = float(jnp.linalg.eigvalsh(empirical_ntk(net, params, x))[-1])
    multiples = np.asarray(MULTIPLES)
    lrs = multiples / lam0
    batch = net.init_many([int(seed)] * len(multiples))  # M copies of the same network
    with np.errstate(over="ignore", invalid="ignore"):
        traj = train(net.apply, batch, x, y, lr=lrs, steps=STEPS, record_every=1,
                     measure=_top_eigenvalue_measure(net), batch=True)
        loss, top = as_numpy(traj.loss), as_numpy(traj.measurements)
        bad = ~np.isfinite(loss) | ~np.isfinite(top) | (np.nan_to_num(loss, nan=np.inf) > DIVERGED_LOSS)
    bad = np.maximum.accumulate(bad, axis=1)
    return CatapultRuns(
        lam0=lam0,
        multiples=multiples,
        lrs=lrs,
        steps=np.asarray(traj.steps),
        loss=np.where(bad, np.inf, loss),
        top_eigenvalue=np.where(bad, np.inf, top),
        final_params=jax.tree_util.tree_map(as_numpy, traj.params),
    )


def final_params(width: int, multiple: float, seed: int = 0):
    """The parameters after training at ``lr = multiple / lambda_0`` (one of ``MULTIPLES``)."""
    i = multiple_index(multiple)
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a[i]), catapult_runs(int(width), int(seed)).final_params)


def classify_loss(loss) -> str:
    """``"lazy"`` (the loss never rises above 1.5 x its start), ``"catapult"`` (it rises, then ends below
    its start) or ``"divergent"`` (it ends non-finite or above its start)."""
    loss = np.asarray(loss, dtype=np.float64)
    if not np.isfinite(loss[-1]) or loss[-1] > loss[0]:
        return "divergent"
    return "catapult" if loss.max() > 1.5 * loss[0] else "lazy"


def regime(width: int, multiple: float, seed: int = 0) -> str:
    """The regime of the run at ``lr = multiple / lambda_0``: one of ``REGIMES`` (``classify_loss``)."""
    return classify_loss(catapult_runs(int(width), int(seed)).loss[multiple_index(multiple)])


def max_stable_multiple(width: int, seed: int = 0) -> float:
    """Largest ``lr x lambda_0`` in ``MULTIPLES`` whose run does not diverge."""
    return max(m for m in MULTIPLES if regime(width, m, seed) != "divergent")


# ---------------------------------------------------------------------- claim predicate
LAZY_MULTIPLE, CATAPULT_MULTIPLE, DIVERGENT_MULTIPLE = 1.5, 3.0, 6.0
LAZY_EIGENVALUE_CHANGE = 0.05  # the lazy run's top eigenvalue moves by less than this (relative)
SPIKE = 2.0  # the catapult run's loss rises above SPIKE x its start ...
CONVERGED = 1e-2  # ... and ends below CONVERGED x its start


def phase_summary(runs: CatapultRuns) -> dict:
    """The numbers ``claim_phases`` judges, recomputed from ``runs.loss`` and ``runs.top_eigenvalue``."""
    lazy, cat, div = (multiple_index(m, tuple(runs.multiples)) for m in (LAZY_MULTIPLE, CATAPULT_MULTIPLE, DIVERGENT_MULTIPLE))
    loss, top = np.asarray(runs.loss), np.asarray(runs.top_eigenvalue)
    stable = [m for k, m in enumerate(runs.multiples) if classify_loss(loss[k]) != "divergent"]
    return {
        "lazy_rise": float(np.max(loss[lazy]) / loss[lazy, 0]),
        "lazy_eigenvalue_change": float(abs(top[lazy, -1] / runs.lam0 - 1)),
        "spike": float(np.max(loss[cat]) / loss[cat, 0]),
        "catapult_end": float(loss[cat, -1] / loss[cat, 0]),
        "catapult_eigenvalue": float(top[cat, -1]),
        "two_over_lr": float(2.0 / runs.lrs[cat]),
        "divergent_end": float(loss[div, -1]),
        "max_stable": float(max(stable)) if stable else float("nan"),
    }


def claim_phases(runs: CatapultRuns) -> ClaimCheck:
    """Three phases at one width: at ``1.5 / lambda_0`` the loss never rises and the top eigenvalue moves by
    less than 5%; at ``3 / lambda_0`` the loss spikes above 2x its start, ends below 1% of it and the top
    eigenvalue ends below ``2 / lr``; at ``6 / lambda_0`` the loss diverges; the largest stable multiple of
    the grid lies in (2, 12)."""
    s = phase_summary(runs)
    holds = (
        s["lazy_rise"] <= 1.0 + 1e-12
        and s["lazy_eigenvalue_change"] < LAZY_EIGENVALUE_CHANGE
        and s["spike"] > SPIKE
        and s["catapult_end"] < CONVERGED
        and s["catapult_eigenvalue"] < s["two_over_lr"]
        and not np.isfinite(s["divergent_end"])
        and 2.0 < s["max_stable"] < 12.0
    )
    return claim(
        "lazy below 2/lambda_0, catapult above (loss spike, top eigenvalue pushed below 2/lr), divergence beyond",
        measured=f"lazy: rise {s['lazy_rise']:.3g}, eigenvalue change {s['lazy_eigenvalue_change']:.2g}; catapult: spike "
        f"{s['spike']:.3g}x, end {s['catapult_end']:.2g}x, top eigenvalue {runs.lam0:.3g} -> {s['catapult_eigenvalue']:.3g} "
        f"(2/lr = {s['two_over_lr']:.3g}); 6/lambda_0: final loss {s['divergent_end']}; "
        f"largest stable {s['max_stable']:g}/lambda_0",
        predicted=f"rise <= 1, change < {LAZY_EIGENVALUE_CHANGE}; spike > {SPIKE}x, end < {CONVERGED}x, "
        "top eigenvalue < 2/lr; diverges; edge in (2, 12)/lambda_0",
        holds=holds,
    )
