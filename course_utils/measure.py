"""Measurements that claim checks share: power-law fits, distances between kernels, spectra.

A claim of the form "X shrinks like N^-1/2" is checked by fitting a line to ``log X`` against
``log N``; ``fit_power_law`` is the one such fit in the course, and it reports the standard
error of the exponent so a check can say whether "-0.46" is compatible with "-0.5".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PowerLawFit(NamedTuple):
    """``y ~ prefactor * x^exponent``, fitted by least squares on ``log y`` against ``log x``.

    stderr : standard error of the exponent from the fit's residuals (0 with two points,
        where the line goes through both).
    """

    exponent: float
    stderr: float
    prefactor: float

    def __str__(self) -> str:
        return f"{self.exponent:.2f} +/- {self.stderr:.2f}"

    def predict(self, x):
        """The fitted power law at ``x``."""
        return self.prefactor * np.asarray(x, dtype=np.float64) ** self.exponent


def fit_power_law(x, y) -> PowerLawFit:
    """Fit ``y = c x^a`` on log-log axes; ``x`` and ``y`` positive, at least two points."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D arrays of the same length; got shapes {x.shape} and {y.shape}")
    if x.size < 2:
        raise ValueError("a power-law fit needs at least two points")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("a power-law fit needs finite, positive x and y")
    lx, ly = np.log(x), np.log(y)
    (exponent, intercept), residuals, *_ = np.polyfit(lx, ly, 1, full=True)
    stderr = 0.0
    if x.size > 2:
        sum_sq = float(residuals[0]) if len(residuals) else 0.0
        stderr = float(np.sqrt(sum_sq / (x.size - 2) / np.sum((lx - lx.mean()) ** 2)))
    return PowerLawFit(float(exponent), stderr, float(np.exp(intercept)))


def relative_distance(a, b) -> float:
    """``||a - b|| / ||b||`` in the Frobenius norm: how far ``a`` is from the reference ``b``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    scale = np.linalg.norm(b)
    if scale == 0:
        raise ValueError("the reference b is zero: a relative distance is undefined")
    return float(np.linalg.norm(a - b) / scale)


def top_eigenvalue(K) -> float:
    """The largest eigenvalue of a symmetric kernel matrix (sets the stable learning rate 2 / lambda_max)."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square matrix; got shape {K.shape}")
    return float(np.linalg.eigvalsh(0.5 * (K + K.T))[-1])


class ClaimCheck(NamedTuple):
    """The verdict of one claim check: what was claimed, what was measured, whether it held.

    Every claim check of the course is a small predicate ``claim_*(experiment) -> ClaimCheck``
    in ``course_utils.experiments``: the notebook prints it (measured beside predicted) and
    calls ``assert_holds()``; the tests feed the same predicate a deliberately wrong
    experiment (a kernel off by 15%, a flow at twice the speed) and assert that it fails.
    """

    claim: str
    measured: str
    predicted: str
    holds: bool

    def __str__(self) -> str:
        mark = "holds" if self.holds else "FAILS"
        return f"[{mark}] {self.claim}: measured {self.measured}; theory {self.predicted}"

    def assert_holds(self) -> None:
        """Raise AssertionError (with the measured and predicted values) unless the claim held."""
        if not self.holds:
            raise AssertionError(str(self))


def claim(claim: str, *, measured: str, predicted: str, holds) -> ClaimCheck:
    """Build a ``ClaimCheck`` (``holds`` is turned into a plain bool)."""
    return ClaimCheck(claim, measured, predicted, bool(holds))
