"""Notebook 02's exercises: the linearization by ``jax.jvp``, the distance the linear model
travels (the minimum-norm solution), and a power-law extrapolation.

Public names: check_linearize, linearize_solution (``02.linearize``), check_min_norm_distance,
min_norm_distance_solution (``02.min_norm_distance``), check_extrapolate, extrapolate_solution
(``02.extrapolate``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np

from ..data import interval_problem
from ..experiments.lazy_training import two_layer
from ..measure import fit_power_law
from ..training import linearize
from .checks import Verdict, check_function, report, solution

__all__ = [
    "check_extrapolate",
    "check_linearize",
    "check_min_norm_distance",
    "extrapolate_solution",
    "linearize_solution",
    "min_norm_distance_solution",
]


@solution("02.linearize")
def linearize_solution(apply_fn, params0):
    # f_lin(params, x) = f(params0, x) + J(x) (params - params0).
    # jax.jvp(g, (p0,), (v,)) returns g(p0) and the directional derivative J v in one
    # forward pass, so the Jacobian J is never formed.
    def f_lin(params, x):
        delta = jax.tree_util.tree_map(lambda p, p0: p - p0, params, params0)
        value, tangent = jax.jvp(lambda p: apply_fn(p, x), (params0,), (delta,))
        return value + tangent

    return f_lin


def check_linearize(student_fn: Callable) -> Verdict:
    """Exercise 02.linearize: ``student_fn(apply_fn, params0)`` must return ``f_lin(params, x)``.

    Compared with the first-order Taylor model (``course_utils.linearize``) at ``params0`` and
    at small and large steps away from it, on a width-8 network; says which property fails
    (value at ``params0``, sign of the linear term, or being the network itself).
    """
    if not callable(student_fn):
        return report(False, "my_linearize should be a function my_linearize(apply_fn, params0).")
    model = two_layer(8)
    p0, direction = model.init(11), model.init(12)
    _, X, _ = interval_problem()
    try:
        f_lin = student_fn(model.apply, p0)
    except NotImplementedError:
        return report(False, "my_linearize still raises NotImplementedError: fill in the stub first.")
    except Exception as err:  # the student's code
        return report(False, f"my_linearize raised {type(err).__name__}: {err}.")
    if not callable(f_lin):
        return report(False, "my_linearize should return a function f_lin(params, x), not "
                             f"{type(f_lin).__name__}.")
    reference = linearize(model.apply, p0)
    network_at_p0 = np.asarray(model.apply(p0, X))
    for scale in (0.0, 0.01, 1.0, 3.0):
        params = jax.tree_util.tree_map(lambda a, d, scale=scale: a + scale * d, p0, direction)
        try:
            got = np.asarray(f_lin(params, X), dtype=np.float64)
        except NotImplementedError:
            return report(False, "f_lin still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code
            return report(False, f"f_lin(params, x) raised {type(err).__name__}: {err}.")
        expected = np.asarray(reference(params, X))
        if got.shape != expected.shape:
            return report(
                False, f"f_lin returned shape {got.shape}; expected {expected.shape} (one output per input)."
            )
        if np.allclose(got, expected, rtol=1e-9, atol=1e-10):
            continue
        if scale == 0.0:
            return report(False, "at params = params0 the linear model must equal the network, "
                                 "f_lin(params0, x) = f(params0, x); yours does not.")
        if np.allclose(got, np.asarray(model.apply(params, X)), rtol=1e-9, atol=1e-10):
            return report(
                False,
                f"at a step of size {scale} your function equals the network itself, not its first-order "
                "Taylor model: evaluate the network at params0 and add J (params - params0).",
            )
        tangent = expected - network_at_p0
        if np.allclose(got, network_at_p0 - tangent, rtol=1e-9, atol=1e-10):
            return report(False, "the linear term has the wrong sign: the tangent is J (params - params0).")
        return report(False, f"at a step of size {scale} from params0 your f_lin is off by up to "
                             f"{np.max(np.abs(got - expected)):.3g}. Use jax.jvp with the tangent params - params0.")
    return report(True, "Your f_lin matches the first-order Taylor model at params0 and at small and large steps.")


@solution("02.min_norm_distance")
def min_norm_distance_solution(K, r0):
    # Gradient descent on the linear model from theta_0 ends at the minimum-norm solution
    # delta = -J^T K^{-1} r0, whose squared length is r0^T K^{-1} J J^T K^{-1} r0 = r0^T K^{-1} r0.
    # Solve K z = r0 instead of inverting K.
    z = np.linalg.solve(K, r0)
    return float(np.sqrt(r0 @ z))


def _distance_cases():
    """Kernels (symmetric positive definite, some ill-conditioned like a real NTK) and residuals."""
    rng = np.random.default_rng(2)
    cases = []
    for n, spread in ((3, 1.0), (8, 1e-3), (5, 1e-2)):
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        eigenvalues = np.geomspace(spread, 10.0, n)
        cases.append(((Q * eigenvalues) @ Q.T, rng.standard_normal(n)))
    return cases


def check_min_norm_distance(student_fn: Callable) -> Verdict:
    """Exercise 02.min_norm_distance: ``student_fn(K, r0)`` returns ``sqrt(r0^T K^{-1} r0)``.

    Checked on kernels with eigenvalues spread over up to four decades; names the usual slips:
    the squared distance, ``K`` in place of ``K^{-1}``, ignoring the kernel, returning a vector.
    """
    if not callable(student_fn):
        return report(False, "min_norm_distance should be a function min_norm_distance(K, r0).")
    for K, r0 in _distance_cases():
        try:
            got = student_fn(K.copy(), r0.copy())
        except NotImplementedError:
            return report(False, "min_norm_distance still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code
            return report(False, f"min_norm_distance raised {type(err).__name__}: {err}.")
        got = np.asarray(got, dtype=np.float64)
        if got.size != 1:
            return report(False, f"min_norm_distance returned an array of shape {got.shape}: return one number, "
                                 "the length of delta theta (K^{-1} r0 is a vector; take r0 . K^{-1} r0 and its root).")
        got = float(got.reshape(()))
        z = np.linalg.solve(K, r0)
        expected = float(np.sqrt(r0 @ z))
        if np.isclose(got, expected, rtol=1e-6):
            continue
        slips = [
            (float(r0 @ z), "that is the squared distance r0^T K^{-1} r0: take its square root."),
            (float(np.sqrt(r0 @ K @ r0)), "you used K where K^{-1} belongs: the outputs must move by r0, so "
                                          "delta = -J^T K^{-1} r0 and ||delta||^2 = r0^T K^{-1} r0."),
            (float(np.linalg.norm(r0)), "that is ||r0||, the size of the residual: the distance in weight space "
                                        "depends on the kernel, ||delta||^2 = r0^T K^{-1} r0."),
            (float(np.linalg.norm(z)), "that is ||K^{-1} r0||: the weights move by J^T K^{-1} r0, and "
                                       "||J^T z||^2 = z^T K z = r0^T K^{-1} r0."),
        ]
        for value, message in slips:
            if np.isclose(got, value, rtol=1e-6):
                return report(False, message)
        return report(False, f"for a {K.shape[0]} x {K.shape[0]} kernel you returned {got:.6g}; expected "
                             f"{expected:.6g} = sqrt(r0^T K^{{-1}} r0).")
    return report(True, "The minimum-norm distance sqrt(r0^T K^{-1} r0) is right on every kernel, "
                        "including ill-conditioned ones.")


@solution("02.extrapolate")
def extrapolate_solution(widths, values, new_width):
    # A power law values = C * width^slope is a straight line in log-log coordinates:
    # log(values) = log(C) + slope * log(width). Fit that line by least squares and
    # evaluate it at the new width.
    slope, intercept = np.polyfit(np.log(widths), np.log(values), 1)
    return float(np.exp(intercept + slope * np.log(new_width)))


def _power_law_at(widths, values, new_width) -> float:
    """The reference: ``course_utils.fit_power_law`` evaluated at ``new_width``."""
    return float(fit_power_law(widths, values).predict(new_width))


def check_extrapolate(student_fn: Callable) -> Verdict:
    """Exercise 02.extrapolate: ``student_fn(widths, values, new_width)`` fits a power law and
    evaluates it at ``new_width``; checked against ``course_utils.fit_power_law`` on exact
    power laws and on noisy data. Names the usual slips first: a straight line in linear
    coordinates, returning the slope, mixing ``log10`` with ``exp``."""
    if not callable(student_fn):
        return report(False, "extrapolate should be a function extrapolate(widths, values, new_width).")
    w = np.array([64.0, 128, 256, 512, 1024])
    values, new_width = 3.0 * w**-0.5, 4096.0
    try:
        got = float(np.asarray(student_fn(w.copy(), values.copy(), new_width), dtype=np.float64).reshape(()))
    except NotImplementedError:
        return report(False, "extrapolate still raises NotImplementedError: fill in the stub first.")
    except Exception:  # the student's code; check_function below reports it in full
        got = None
    if got is not None and not np.isclose(got, _power_law_at(w, values, new_width), rtol=1e-6):
        slope10, intercept10 = np.polyfit(np.log10(w), np.log10(values), 1)
        line = np.polyfit(w, values, 1)
        slips = [
            (np.polyval(line, new_width), "you fitted a straight line to the values themselves: a power law is a "
                                          "straight line in log-log coordinates, log(values) against log(widths)."),
            (-0.5, "you returned the fitted slope (the exponent): evaluate the power law at new_width instead."),
            (float(np.exp(intercept10 + slope10 * np.log10(new_width))), "you fitted in log10 but undid it with exp: "
                                                                        "use the same base both ways (10** for log10)."),
        ]
        for value, message in slips:
            if np.isclose(got, value, rtol=1e-6):
                return report(False, message)
    rng = np.random.default_rng(5)
    w = np.array([64.0, 128, 256, 512, 1024, 2048, 4096])
    cases = [
        (w, 3.0 * w**-0.5, 16384.0),
        (w, 0.7 * w**-1.0, 100.0),
        (w[:5], 2.0 * w[:5] ** 0.25, 8192.0),
        (w, 2.5 * w**-0.5 * np.exp(0.1 * rng.standard_normal(w.size)), 65536.0),
    ]
    return check_function(
        student_fn,
        _power_law_at,
        cases,
        rtol=1e-6,
        atol=1e-12,
        what="extrapolate(widths, values, new_width)",
        hint="Fit a straight line to log(values) against log(widths) (np.polyfit with degree 1) "
             "and evaluate exp(intercept + slope * log(new_width)).",
    )
