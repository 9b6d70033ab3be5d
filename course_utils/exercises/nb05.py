"""Notebook 05's exercises: spectral filtering by hand, and the eigenvalue of a circulant kernel."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..data import circle_grid
from ..experiments import spectrum
from ..flow import GradientFlow
from ..kernels import analytic_ntk, as_numpy
from .checks import Verdict, check_function, solution


@solution("05.filtered_prediction")
def filtered_prediction(K, y, t):
    # Gradient flow from f(0) = 0 on a fixed kernel: f(t) = (I - exp(-K t)) y.
    # In the eigenbasis K = U diag(lam) U^T each component of y is multiplied by 1 - exp(-lam t).
    lam, U = np.linalg.eigh(np.asarray(K, dtype=np.float64))
    lam = np.maximum(lam, 0.0)          # clip round-off below zero
    coeffs = U.T @ np.asarray(y, dtype=np.float64)  # components of the target
    return U @ ((1.0 - np.exp(-lam * t)) * coeffs)


def _filter_cases():
    rng = np.random.default_rng(5)
    cases = []
    for n, t in [(4, 0.0), (5, 0.3), (6, 2.0), (8, 50.0)]:
        A = rng.normal(size=(n, n))
        cases.append((A @ A.T, rng.normal(size=n), t))
    _, X = circle_grid(12)
    K = as_numpy(analytic_ntk(spectrum.circle_model(1), X))
    cases.append((K, np.cos(2 * np.pi * np.arange(12) / 12), 0.5))
    return cases


def check_filtered_prediction(student_fn: Callable) -> Verdict:
    """``student_fn(K, y, t)`` should return ``(I - exp(-K t)) y`` (gradient flow from zero)."""

    def reference(K, y, t):
        return as_numpy(GradientFlow(K, y, np.zeros(len(y))).outputs(t))

    return check_function(
        student_fn,
        reference,
        _filter_cases(),
        rtol=1e-6,
        atol=1e-8,
        what="filtered_prediction(K, y, t)",
        hint="Diagonalise K with np.linalg.eigh, multiply each component U^T y by 1 - exp(-lambda t), map back with U.",
    )


@solution("05.circle_eigenvalue")
def circle_eigenvalue(first_row, k):
    # A rotation-invariant kernel on n equally spaced points is a circulant matrix: row i is
    # row 0 shifted by i. Its eigenvectors are the Fourier modes, and the eigenvalue of
    # cos(k gamma) is the cosine transform of the first row: sum_j K[0, j] cos(2 pi j k / n).
    first_row = np.asarray(first_row, dtype=np.float64)
    n = len(first_row)
    return float(np.sum(first_row * np.cos(2 * np.pi * np.arange(n) * k / n)))


def check_circle_eigenvalue(student_fn: Callable) -> Verdict:
    """``student_fn(first_row, k)`` should return the circulant eigenvalue at frequency k."""
    K = spectrum.analytic_circle_kernel(32, spectrum.SB2)
    cases = [(K[0], k) for k in (0, 1, 2, 3, 7, 16)]

    def reference(first_row, k):
        return float(np.real(np.fft.fft(first_row))[k])

    return check_function(
        student_fn,
        reference,
        cases,
        rtol=1e-8,
        atol=1e-10,
        what="circle_eigenvalue(first_row, k)",
        hint="Multiply the first row by cos(2 pi j k / n) and sum over j (a discrete cosine transform).",
    )
