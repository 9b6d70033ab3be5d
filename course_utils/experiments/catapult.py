"""Large learning rates: lazy, catapult and divergent runs (Lewkowycz et al. 2020).

A two-layer ReLU network in NTK parameterization is trained by full-batch gradient descent
(``cu.train``) for 150 steps on 8 random circle points with the target
``cos(gamma) + 0.5 cos(2 gamma)`` (``cu.circle_problem(3, 8)``), at learning rates
``lr = multiple / lambda_0`` with ``lambda_0`` the top eigenvalue of the empirical NTK at
initialisation. All learning rates run side by side in one ``cu.train(..., batch=True)`` call
with an (M,) ``lr`` array; the top NTK eigenvalue is measured at every step inside the run.

Predicate: ``claim_phases`` (at one width: lazy runs below 2 / lambda_0 and a kernel pushed off
just above it, at 1.9 vs 2.2; in the catapult run at 3 / lambda_0 the loss spikes and the top
eigenvalue drops below ``2 / lr``; every run up to 3.5 / lambda_0 converges, every run from
4.5 / lambda_0 diverges within ``STEPS`` steps).
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
    # M copies of the same network (equal to net.init_many([seed] * M), without drawing it M times)
    batch = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (len(multiples),) + a.shape), params)
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
    its start) or ``"divergent"`` (it ends non-finite or above its start).

    The verdict is taken at the end of the recorded run (``STEPS`` steps): a run still above its
    starting loss then counts as divergent, so the upper edge found this way depends on the horizon."""
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
BELOW_EDGE, ABOVE_EDGE = 1.9, 2.2  # the grid points on either side of the lower edge 2 / lambda_0
LAST_STABLE, FIRST_DIVERGENT = 3.5, 4.5  # the upper edge lies between these (the prose: 3.5 to 4.5)
LAZY_EIGENVALUE_CHANGE = 0.05  # the lazy run's top eigenvalue moves by less than this (relative) ...
EDGE_EIGENVALUE_CHANGE = 0.1  # ... just below the edge by less than this, just above it by more
SPIKE = 2.0  # the catapult run's loss rises above SPIKE x its start ...
CONVERGED = 1e-2  # ... and ends below CONVERGED x its start


def phase_summary(runs: CatapultRuns) -> dict:
    """The numbers ``claim_phases`` judges, recomputed from ``runs.loss`` and ``runs.top_eigenvalue``."""
    multiples = tuple(float(m) for m in runs.multiples)
    lazy, cat, div, below, above = (multiple_index(m, multiples) for m in
                                    (LAZY_MULTIPLE, CATAPULT_MULTIPLE, DIVERGENT_MULTIPLE, BELOW_EDGE, ABOVE_EDGE))
    loss, top = np.asarray(runs.loss), np.asarray(runs.top_eigenvalue)
    phases = [classify_loss(loss[k]) for k in range(len(multiples))]
    stable = [m for m, p in zip(multiples, phases) if p != "divergent"]
    change = np.abs(top[:, -1] / runs.lam0 - 1)
    return {
        "lazy_rise": float(np.max(loss[lazy]) / loss[lazy, 0]),
        "lazy_eigenvalue_change": float(change[lazy]),
        "below_edge_rise": float(np.max(loss[below]) / loss[below, 0]),
        "below_edge_change": float(change[below]),
        "above_edge_change": float(change[above]),
        "above_edge_end": float(top[above, -1] * runs.lrs[above]),  # lr x final top eigenvalue
        "spike": float(np.max(loss[cat]) / loss[cat, 0]),
        "catapult_end": float(loss[cat, -1] / loss[cat, 0]),
        "catapult_eigenvalue": float(top[cat, -1]),
        "catapult_lr_eigenvalue": float(top[cat, -1] * runs.lrs[cat]),
        "two_over_lr": float(2.0 / runs.lrs[cat]),
        "divergent_end": float(loss[div, -1]),
        "max_stable": float(max(stable)) if stable else float("nan"),
        "stable_up_to_last": all(p != "divergent" for m, p in zip(multiples, phases) if m <= LAST_STABLE),
        "divergent_from_first": all(p == "divergent" for m, p in zip(multiples, phases) if m >= FIRST_DIVERGENT),
    }


def claim_phases(runs: CatapultRuns) -> ClaimCheck:
    """Three phases at one width, with both edges where the notebook says they are.

    Lazy: at ``1.5 / lambda_0`` the loss never rises and the top eigenvalue moves by less than 5%.
    Lower edge 2 / lambda_0: at 1.9 the loss never rises and the eigenvalue moves by less than 10%; at
    2.2 it moves by more than 10% and ends with ``lr x lambda_max < 2`` (the frozen kernel would diverge).
    Catapult: at ``3 / lambda_0`` the loss spikes above 2x its start, ends below 1% of it and the top
    eigenvalue ends below ``2 / lr``. Upper edge: every run up to ``3.5 / lambda_0`` converges, every run
    from ``4.5 / lambda_0`` (6 included) diverges, as judged by ``classify_loss`` after ``STEPS`` steps."""
    s = phase_summary(runs)
    holds = (
        s["lazy_rise"] <= 1.0 + 1e-12
        and s["lazy_eigenvalue_change"] < LAZY_EIGENVALUE_CHANGE
        and s["below_edge_rise"] <= 1.0 + 1e-12
        and s["below_edge_change"] < EDGE_EIGENVALUE_CHANGE
        and s["above_edge_change"] > EDGE_EIGENVALUE_CHANGE
        and s["above_edge_end"] < 2.0
        and s["spike"] > SPIKE
        and s["catapult_end"] < CONVERGED
        and s["catapult_eigenvalue"] < s["two_over_lr"]
        and not np.isfinite(s["divergent_end"])
        and s["stable_up_to_last"]
        and s["divergent_from_first"]
    )
    return claim(
        "lazy below 2/lambda_0, catapult above (loss spike, top eigenvalue pushed below 2/lr), divergence "
        f"between {LAST_STABLE:g}/lambda_0 and {FIRST_DIVERGENT:g}/lambda_0",
        measured=f"lazy (1.5): rise {s['lazy_rise']:.3g}, eigenvalue change {s['lazy_eigenvalue_change']:.2g}; "
        f"edge: change {s['below_edge_change']:.2g} at 1.9, {s['above_edge_change']:.2g} at 2.2 "
        f"(lr x lambda_end {s['above_edge_end']:.3g}); catapult (3): spike {s['spike']:.3g}x, end "
        f"{s['catapult_end']:.2g}x, top eigenvalue {runs.lam0:.3g} -> {s['catapult_eigenvalue']:.3g} "
        f"(2/lr = {s['two_over_lr']:.3g}, lr x lambda_end = {s['catapult_lr_eigenvalue']:.3g}); "
        f"largest stable {s['max_stable']:g}/lambda_0",
        predicted=f"rise <= 1, change < {LAZY_EIGENVALUE_CHANGE}; change < {EDGE_EIGENVALUE_CHANGE} at 1.9, "
        f"> {EDGE_EIGENVALUE_CHANGE} at 2.2 with lr x lambda_end < 2; spike > {SPIKE:g}x, end < {CONVERGED}x, "
        f"top eigenvalue < 2/lr; converges up to {LAST_STABLE:g}, diverges from {FIRST_DIVERGENT:g}",
        holds=holds,
    )
