"""Notebook 04's exercises: the flow residual by eigendecomposition, and the time the bound needs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checks import Verdict, check_function_slips, solution


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


def _flow_slip(kind):
    """What ``flow_residual`` returns with one typical slip."""

    def slip(K, r0, t):
        lam, U = np.linalg.eigh(np.asarray(K, dtype=np.float64))
        r0 = np.asarray(r0, dtype=np.float64)
        if kind == "growth":
            return U @ (np.exp(lam * t) * (U.T @ r0))
        if kind == "coefficients":
            return np.exp(-lam * t) * (U.T @ r0)
        if kind == "transpose":
            return U.T @ (np.exp(-lam * t) * (U @ r0))
        if kind == "entrywise":
            return np.exp(-np.asarray(K) * t) @ r0
        raise ValueError(kind)

    return slip


FLOW_SLIPS = (
    (
        "The residual grows: the flow is dr/dt = -K r, so each coordinate decays as exp(-lam t), not exp(+lam t).",
        _flow_slip("growth"),
    ),
    ("You returned the coordinates U^T r(t) in the eigenbasis: map them back with U.", _flow_slip("coefficients")),
    (
        "The eigenvectors are the columns of U: coordinates are U^T r0 and the way back is U @ (...), not the other way round.",
        _flow_slip("transpose"),
    ),
    (
        "np.exp(-K t) is the entrywise exponential, not the matrix exponential: go through the eigendecomposition.",
        _flow_slip("entrywise"),
    ),
)


def check_flow_residual(student_fn: Callable) -> Verdict:
    """Exercise 04.flow_residual: ``r(t) = exp(-K t) r0`` by eigendecomposition, vs scipy's ``expm``.

    A wrong answer that matches one of ``FLOW_SLIPS`` (the wrong sign, the eigenbasis
    coordinates, U and U^T swapped, the entrywise exponential) is told which.
    """
    return check_function_slips(
        student_fn,
        _expm_residual,
        _flow_cases(),
        slips=FLOW_SLIPS,
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


TOLERANCE_SLIPS = (
    (
        (
            "That is the time for the squared norm ||r||^2 <= eps ||r(0)||^2: the norm itself decays as "
            "exp(-lambda_min t), without the factor 2."
        ),
        lambda K, eps: np.log(1.0 / eps) / (2 * np.linalg.eigvalsh(K)[0]),
    ),
    (
        (
            "lambda_max gives the time the fastest direction needs; the guarantee for every direction needs the slowest, "
            "lambda_min."
        ),
        lambda K, eps: np.log(1.0 / eps) / np.linalg.eigvalsh(K)[-1],
    ),
    (
        "The time comes out negative: exp(-lambda_min t) = eps gives t = log(1/eps) / lambda_min = -log(eps) / lambda_min.",
        lambda K, eps: np.log(eps) / np.linalg.eigvalsh(K)[0],
    ),
)


def check_time_to_tolerance(student_fn: Callable) -> Verdict:
    """Exercise 04.time_to_tolerance: the time after which the bound guarantees ``||r|| <= eps ||r(0)||``.

    A wrong answer that matches one of ``TOLERANCE_SLIPS`` (the squared norm, lambda_max, the sign) is told which.
    """
    cases = [(K, eps) for (K, _, _), eps in zip(_flow_cases(), [0.1, 1e-3, 0.5, 1e-6])]
    return check_function_slips(
        student_fn,
        lambda K, eps: np.log(1.0 / eps) / np.linalg.eigvalsh(K)[0],
        cases,
        slips=TOLERANCE_SLIPS,
        rtol=1e-8,
        what="time_to_tolerance(K, eps)",
        hint=(
            "Take the square root of the bound: ||r(t)|| <= exp(-lambda_min t) ||r(0)||; "
            "solve exp(-lambda_min t) = eps."
        ),
    )


__all__ = [
    "FLOW_SLIPS",
    "TOLERANCE_SLIPS",
    "check_flow_residual",
    "check_time_to_tolerance",
    "flow_residual",
    "time_to_tolerance",
]
