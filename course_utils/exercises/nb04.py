"""Notebook 04's exercises: the flow residual by eigendecomposition, and the time the bound needs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checks import Verdict, check_function, solution


@solution("04.flow_residual")
def flow_residual(K, r0, t):
    # K is symmetric: K = U diag(lam) U^T with orthonormal U (numpy's eigh).
    lam, U = np.linalg.eigh(np.asarray(K, dtype=np.float64))
    # Coordinates of r0 in the eigenbasis; each decays independently at its own rate.
    coeffs = U.T @ np.asarray(r0, dtype=np.float64)
    # Back to the original basis: r(t) = U diag(exp(-lam t)) U^T r0 = exp(-K t) r0.
    return U @ (np.exp(-lam * t) * coeffs)


def _flow_cases():
    rng = np.random.default_rng(4)
    cases = []
    for n, t in [(3, 0.0), (5, 0.3), (6, 2.0), (4, 10.0)]:
        A = rng.normal(size=(n, n))
        cases.append((A @ A.T / n, rng.normal(size=n), t))
    return cases


def _expm_residual(K, r0, t):
    from scipy.linalg import expm

    return expm(-np.asarray(K) * t) @ np.asarray(r0)


def check_flow_residual(student_fn: Callable) -> Verdict:
    """Exercise 04.flow_residual: ``r(t) = exp(-K t) r0`` by eigendecomposition, vs scipy's ``expm``."""
    return check_function(
        student_fn,
        _expm_residual,
        _flow_cases(),
        rtol=1e-8,
        atol=1e-10,
        what="flow_residual(K, r0, t)",
        hint=(
            "Diagonalise K = U diag(lam) U^T (np.linalg.eigh), decay each coordinate U^T r0 "
            "by exp(-lam t), map back with U."
        ),
    )


@solution("04.time_to_tolerance")
def time_to_tolerance(K, eps):
    # The bound ||r(t)|| <= exp(-lam_min t) ||r(0)|| (square root of the squared version)
    # drops below eps ||r(0)|| once exp(-lam_min t) = eps, i.e. t = log(1/eps) / lam_min.
    lam_min = np.linalg.eigvalsh(np.asarray(K, dtype=np.float64))[0]
    return np.log(1.0 / eps) / lam_min


def check_time_to_tolerance(student_fn: Callable) -> Verdict:
    """Exercise 04.time_to_tolerance: the time after which the bound guarantees ``||r|| <= eps ||r(0)||``."""
    cases = [(K, eps) for (K, _, _), eps in zip(_flow_cases(), [0.1, 1e-3, 0.5, 1e-6])]
    return check_function(
        student_fn,
        lambda K, eps: np.log(1.0 / eps) / np.linalg.eigvalsh(K)[0],
        cases,
        rtol=1e-8,
        what="time_to_tolerance(K, eps)",
        hint=(
            "Take the square root of the bound: ||r(t)|| <= exp(-lambda_min t) ||r(0)||; "
            "solve exp(-lambda_min t) = eps."
        ),
    )


__all__ = ["check_flow_residual", "check_time_to_tolerance", "flow_residual", "time_to_tolerance"]
