"""Notebook 06's exercises: normalise a kernel (2.1), the deep normalised limit 1/4 (Bonus B.1),
predict a run's phase from lr x lambda_0 (4.1).

Each check compares the student's answer with the reference on several cases and, when it is
wrong, recognises the usual slips (one-sided normalisation, a recursion that forgets a term,
the threshold of the lazy phase off by the factor 2, ...) and says which one it looks like.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..experiments import catapult, depth
from .checks import Verdict, check_function, report, solution


def _call(student_fn: Callable, what: str, *args):
    """``(result, None)`` or ``(None, verdict)`` when the student's function fails."""
    if not callable(student_fn):
        return None, report(False, f"{what} should be a function.")
    try:
        return student_fn(*args), None
    except NotImplementedError:
        return None, report(False, f"{what} still raises NotImplementedError: fill in the stub first.")
    except Exception as err:  # the student's code: report, do not crash the notebook
        return None, report(False, f"{what} raised {type(err).__name__}: {err}.")


def _matches(got, expected, rtol=1e-8) -> bool:
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    expected = np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(np.all(np.isfinite(got))) and np.allclose(got, expected, rtol=rtol, atol=1e-12)


# ---------------------------------------------------------------------- 2.1 normalise a kernel
@solution("06.normalise_kernel")
def normalise_kernel(K):
    # Cosine similarity of the feature vectors behind the kernel:
    # K_ij / (||phi(x_i)|| ||phi(x_j)||), where ||phi(x_i)||^2 = K_ii.
    K = np.asarray(K, dtype=np.float64)
    norms = np.sqrt(np.diag(K))
    return K / np.outer(norms, norms)


def check_normalise_kernel(student_fn: Callable) -> Verdict:
    """``student_fn(K)`` should return ``K_ij / sqrt(K_ii K_jj)``."""
    rng = np.random.default_rng(3)
    cases = []
    for n in (3, 5):
        A = rng.normal(size=(n, n + 2))
        cases.append(A @ A.T)
    cases.append(depth.analytic_depth_kernel(3, 16))
    slips = {
        "you divided by one diagonal entry only (K_ii): divide by sqrt(K_ii K_jj), both rows and columns":
            lambda K: K / np.diag(K)[:, None],
        "you divided by sqrt(K_ii) only: the column needs sqrt(K_jj) too": lambda K: K / np.sqrt(np.diag(K))[:, None],
        "you divided by the product K_ii K_jj without the square root": lambda K: K / np.outer(np.diag(K), np.diag(K)),
        "you divided by the largest entry: each entry needs its own pair of diagonal entries": lambda K: K / np.max(K),
    }
    for K in cases:
        got, failed = _call(student_fn, "normalise_kernel(K)", K)
        if failed is not None:
            return failed
        if _matches(got, depth.normalise_kernel(K)):
            continue
        for message, slip in slips.items():
            if _matches(got, slip(K)):
                return report(False, f"It looks as if {message}.")
        return check_function(student_fn, depth.normalise_kernel, [(K,)], rtol=1e-10, atol=1e-12,
                              what="normalise_kernel(K)",
                              hint="Divide each entry by the square roots of the two matching diagonal entries "
                              "(np.outer helps); the result has ones on its diagonal.")
    return report(True, f"normalise_kernel(K) agrees with the reference on all {len(cases)} kernels "
                  "(ones on the diagonal, entries in [-1, 1]).")


# ---------------------------------------------------------------------- B.1 the deep normalised limit
@solution("06.deep_normalised_ntk")
def deep_normalised_ntk(gamma, L):
    # Two unit inputs at angle gamma; ReLU with sw2 = 2, sb2 = 0, so every Sigma_l(x, x) = 1 and
    # Sigma_l(x, x') is the correlation rho_l of the two pre-activations.
    rho = np.cos(gamma)  # Sigma_1(x, x') = x . x'
    theta = rho  # Theta_1 = Sigma_1
    for _ in range(L):  # layers 2 .. L + 1
        angle = np.arccos(np.clip(rho, -1.0, 1.0))
        rho_dot = (np.pi - angle) / np.pi  # sw2 E[phi'(u) phi'(v)]
        rho = (np.sqrt(max(1.0 - rho**2, 0.0)) + (np.pi - angle) * rho) / np.pi  # sw2 E[phi(u) phi(v)]
        theta = rho + rho_dot * theta  # Theta_{l+1} = Sigma_{l+1} + sw2 E[phi' phi'] Theta_l
    return theta / (L + 1)  # Theta_{L+1}(x, x) = L + 1


def _deep_variant(gamma, L, *, sigma_term=True, use_rho=False, norm="L+1"):
    rho = np.cos(gamma)
    theta = rho
    for _ in range(L):
        angle = np.arccos(np.clip(rho, -1.0, 1.0))
        rho_dot = (np.pi - angle) / np.pi
        rho_new = (np.sqrt(max(1.0 - rho**2, 0.0)) + (np.pi - angle) * rho) / np.pi
        theta = (rho_new if sigma_term else 0.0) + (rho_new if use_rho else rho_dot) * theta
        rho = rho_new
    return theta / {"L+1": L + 1, "L": L, "none": 1}[norm]


DEEP_CASES = ((np.pi / 3, 4), (np.pi / 2, 1), (np.pi, 8), (2.0, 16))  # L = 1 not first: /L and /1 agree there


def check_deep_normalised_ntk(student_fn: Callable) -> Verdict:
    """``student_fn(gamma, L)`` should return ``Theta_{L+1}(x, x') / (L + 1)`` for unit inputs at angle
    ``gamma``: compared with ``cu.analytic_ntk`` (through ``depth.analytic_depth_kernel``), and the usual
    slips recognised."""
    slips = {
        "the Sigma_{l+1} term is missing from the Theta recursion (Theta_{l+1} = Sigma_{l+1} + rho_dot Theta_l)":
            dict(sigma_term=False),
        "you multiplied Theta_l by the correlation rho_{l+1}; the factor is the derivative term "
        "rho_dot = (pi - angle) / pi": dict(use_rho=True),
        "you divided by L; the diagonal Theta_{L+1}(x, x) is L + 1": dict(norm="L"),
        "the result is not normalised: divide by Theta_{L+1}(x, x) = L + 1": dict(norm="none"),
    }
    for gamma, L in DEEP_CASES:
        expected = deep_normalised_ntk(gamma, L)
        got, failed = _call(student_fn, "deep_normalised_ntk(gamma, L)", gamma, L)
        if failed is not None:
            return failed
        if _matches(got, expected):
            continue
        for message, options in slips.items():
            if _matches(got, _deep_variant(gamma, L, **options)):
                return report(False, f"At gamma = {gamma:.3g}, L = {L}: it looks as if {message}.")
        return report(False, f"At gamma = {gamma:.3g}, L = {L} you return {np.asarray(got)!r}; expected {expected:.6g}. "
                      "Start from rho = cos(gamma), Theta = rho, and update both L times.")
    # the reference itself against the library's analytic kernel on the 8-point circle grid
    K = depth.normalise_kernel(depth.analytic_depth_kernel(4, 8))
    library = [K[0, j] for j in range(1, 5)]
    mine = [student_fn(2 * np.pi * j / 8, 4) for j in range(1, 5)]
    if not _matches(mine, library, rtol=1e-6):
        return report(False, "your values disagree with cu.analytic_ntk on the circle grid at depth 4.")
    return report(True, f"deep_normalised_ntk agrees with the recursion on {len(DEEP_CASES)} cases and with "
                  "cu.analytic_ntk at depth 4.")


# ---------------------------------------------------------------------- 4.1 predict the phase
@solution("06.predict_phase")
def predict_phase(lr_times_lambda0):
    # The lazy phase ends where gradient descent on the frozen kernel stops converging:
    # |1 - lr lambda_0| < 1, i.e. lr lambda_0 < 2. In Lewkowycz et al.'s solvable model the
    # catapult phase extends to lr lambda_0 = 4; beyond it the loss diverges.
    if lr_times_lambda0 < 2.0:
        return "lazy"
    if lr_times_lambda0 < 4.0:
        return "catapult"
    return "divergent"


PHASE_CASES = (0.3, 0.5, 1.0, 1.2, 1.5, 1.9, 2.1, 2.6, 3.0, 3.5, 3.9, 4.2, 5.0, 6.0, 9.0, 13.0)


def _phase_rule(lazy_edge, divergent_edge):
    def rule(m):
        return "lazy" if m < lazy_edge else ("catapult" if m < divergent_edge else "divergent")
    return rule


def check_predict_phase(student_fn: Callable, width: int = 1024) -> Verdict:
    """``student_fn(lr x lambda_0)`` should return ``"lazy"`` below 2, ``"catapult"`` from 2 to 4 and
    ``"divergent"`` from 4 on (the solvable model). The usual slips are named; a right answer is then
    compared with the measured runs of ``catapult.catapult_runs`` at ``width`` first, then at the other
    widths of ``catapult.WIDTHS`` (expected misses: 2.2 at N = 256, whose loss never spikes, and 4 at N = 4096, which converges)."""
    answers = {}
    for m in PHASE_CASES:
        got, failed = _call(student_fn, "predict_phase(m)", m)
        if failed is not None:
            return failed
        answers[m] = got
    bad = [a for a in answers.values() if a not in catapult.REGIMES]
    if bad:
        return report(False, f"predict_phase returned {bad[0]!r}; return one of {catapult.REGIMES}.")
    reference = {m: predict_phase(m) for m in PHASE_CASES}
    if answers != reference:
        slips = {
            "you put the end of the lazy phase at lr x lambda_0 = 1; it is 2: the top component of the residual "
            "is multiplied by 1 - lr lambda_0 per step, which shrinks while it stays above -1": _phase_rule(1.0, 4.0),
            "both of your edges are a factor 2 too low (the lazy phase ends at 2, the catapult phase at 4)":
                _phase_rule(1.0, 2.0),
            "you never predict divergence; beyond about 4 / lambda_0 (the solvable model's edge) the loss blows up":
                _phase_rule(2.0, np.inf),
            "you used the 12 / lambda_0 that Lewkowycz et al. report for deep ReLU nets; in the solvable model "
            "(and for this two-layer net) divergence starts at about 4": _phase_rule(2.0, 12.0),
            "you predicted divergence for every run above 2 / lambda_0: true for a frozen kernel, but a network's "
            "kernel can move, which opens the catapult phase from 2 to 4": _phase_rule(2.0, 2.0),
        }
        for message, rule in slips.items():
            if all(answers[m] == rule(m) for m in PHASE_CASES):
                return report(False, f"It looks as if {message}.")
        wrong = [m for m in PHASE_CASES if answers[m] != reference[m]]
        return report(False, f"predict_phase({wrong[0]}) = {answers[wrong[0]]!r}; expected {reference[wrong[0]]!r}. "
                      "Lazy below lr x lambda_0 = 2, catapult up to 4, divergent beyond.")
    parts = []
    for w in [int(width)] + [int(v) for v in catapult.WIDTHS if int(v) != int(width)]:
        measured = {m: catapult.regime(w, m) for m in catapult.MULTIPLES}
        agree = [m for m in catapult.MULTIPLES if measured[m] == student_fn(m)]
        disagree = [f"{m:g} (measured {measured[m]})" for m in catapult.MULTIPLES if m not in agree]
        miss = f", missing at {', '.join(disagree)}" if disagree else ""
        parts.append(f"at N = {w} right for {len(agree)} of {len(catapult.MULTIPLES)} learning rates{miss}")
    tail = ("; misses next to an edge are expected: at N = 256 the kernel drops below 2 / lr before the loss can "
            "spike at 2.2 (so the loss looks lazy), and the real divergence edge of this net is near, not at, 4"
            if any("missing" in part for part in parts) else "")
    return report(True, f"predict_phase follows the solvable model (m = 2 catapult, m = 4 divergent). On the measured "
                  f"runs it is {'; '.join(parts)}{tail}.")
