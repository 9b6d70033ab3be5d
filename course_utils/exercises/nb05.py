"""Notebook 05's exercises: the eigenvalue of a circulant kernel (section 2), and an early-stopping
time chosen from the spectrum (section 5). Each check names the usual slips."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..experiments import spectrum
from .checks import Verdict, check_function_slips, solution


# ---------------------------------------------------------------------- 2.1 the eigenvalue of a circulant kernel
@solution("05.circle_eigenvalue")
def circle_eigenvalue(first_row, k):
    # A rotation-invariant kernel on n equally spaced points is a circulant matrix: row i is
    # row 0 shifted by i. Its eigenvectors are the Fourier modes, and the eigenvalue of
    # cos(k gamma) is the cosine transform of the first row: sum_j K[0, j] cos(2 pi j k / n).
    first_row = np.asarray(first_row, dtype=np.float64)
    n = len(first_row)
    return float(np.sum(first_row * np.cos(2 * np.pi * np.arange(n) * k / n)))


def _row_sum(first_row, k):
    return float(np.sum(first_row))


def _mean_transform(first_row, k):
    n = len(first_row)
    return float(np.mean(first_row * np.cos(2 * np.pi * np.arange(n) * k / n)))


def _sine_transform(first_row, k):
    n = len(first_row)
    return float(np.sum(first_row * np.sin(2 * np.pi * np.arange(n) * k / n)))


def _degrees(first_row, k):  # the angle 2 pi j / n forgotten: cos(j k)
    n = len(first_row)
    return float(np.sum(first_row * np.cos(np.arange(n) * k)))


def check_circle_eigenvalue(student_fn: Callable) -> Verdict:
    """``student_fn(first_row, k)`` should return the circulant eigenvalue at frequency k."""
    K = spectrum.analytic_circle_kernel(32, spectrum.SB2)
    cases = [(K[0], k) for k in (0, 1, 2, 3, 7, 16)]

    def reference(first_row, k):
        return float(np.real(np.fft.fft(first_row))[k])

    return check_function_slips(
        student_fn,
        reference,
        cases,
        slips=[
            ("You summed the row without the cosine: that is the eigenvalue of k = 0 only.", _row_sum),
            ("You divided by n (a mean): the eigenvalue is the plain sum over the row.", _mean_transform),
            ("You used the sine: the row is symmetric, so its sine transform vanishes; use the cosine.", _sine_transform),
            ("The angle of point j is 2 pi j / n, not j: use cos(2 pi j k / n).", _degrees),
        ],
        rtol=1e-8,
        atol=1e-10,
        what="circle_eigenvalue(first_row, k)",
        hint="Multiply the first row by cos(2 pi j k / n) and sum over j (a discrete cosine transform).",
    )


# ---------------------------------------------------------------------- 5.1 an early-stopping time from the spectrum
@solution("05.expected_error")
def expected_error(lam, signal, noise, times):
    # Along eigenvector k gradient flow from zero has learned (1 - exp(-lam_k t)) of the label
    # component s_k + eps_k. Its error against the clean component s_k is
    #     -exp(-lam_k t) s_k  +  (1 - exp(-lam_k t)) eps_k,
    # the signal not yet learned plus the noise already learned. With E[eps_k] = 0 and
    # E[eps_k^2] = noise^2 the expected square is exp(-2 lam_k t) s_k^2 + (1 - exp(-lam_k t))^2 noise^2.
    lam = np.asarray(lam, dtype=np.float64)
    signal = np.asarray(signal, dtype=np.float64)
    out = []
    for t in np.atleast_1d(times):
        decay = np.exp(-lam * t)
        out.append(np.mean(decay**2 * signal**2 + (1 - decay) ** 2 * noise**2))
    return np.asarray(out)


def _no_noise(lam, signal, noise, times):
    return spectrum.spectral_risk(lam, signal, 0.0, times)


def _unsquared_decay(lam, signal, noise, times):
    d = np.exp(-np.asarray(lam)[None, :] * np.asarray(times)[:, None])
    return np.mean(d * np.asarray(signal) ** 2 + (1 - d) ** 2 * noise**2, axis=1)


def _noise_not_squared(lam, signal, noise, times):
    d = np.exp(-np.asarray(lam)[None, :] * np.asarray(times)[:, None])
    return np.mean(d**2 * np.asarray(signal) ** 2 + (1 - d) ** 2 * noise, axis=1)


def _swapped(lam, signal, noise, times):
    d = np.exp(-np.asarray(lam)[None, :] * np.asarray(times)[:, None])
    return np.mean((1 - d) ** 2 * np.asarray(signal) ** 2 + d**2 * noise**2, axis=1)


def _summed(lam, signal, noise, times):
    return len(np.asarray(lam)) * spectrum.spectral_risk(lam, signal, noise, times)


def _expected_error_cases():
    rng = np.random.default_rng(7)
    times = np.geomspace(1e-2, 1e2, 9)
    cases = []
    for n, noise in [(4, 0.3), (6, 0.1), (8, 1.0)]:
        cases.append((np.sort(rng.exponential(size=n))[::-1] * 5, rng.normal(size=n), noise, times))
    return cases


def check_expected_error(student_fn: Callable) -> Verdict:
    """``student_fn(lam, signal, noise, times)``: mean over k of ``exp(-2 lam t) s^2 + (1 - exp(-lam t))^2 noise^2``."""
    return check_function_slips(
        student_fn,
        spectrum.spectral_risk,
        _expected_error_cases(),
        slips=[
            (("You left out the noise: without it the error only falls, and the best time is 'never stop'. "
              "The learned part of the noise adds (1 - exp(-lam t))^2 noise^2."), _no_noise),
            ("The unlearned signal enters squared: (exp(-lam t) s)^2 = exp(-2 lam t) s^2, not exp(-lam t) s^2.",
             _unsquared_decay),
            ("noise is a standard deviation: the noise term is (1 - exp(-lam t))^2 noise**2.", _noise_not_squared),
            (("Signal and noise are swapped: the signal NOT yet learned is exp(-lam t) s; the noise learned so far "
              "is (1 - exp(-lam t)) eps."), _swapped),
            ("You summed over the components: take the mean (the error per training point).", _summed),
        ],
        rtol=1e-8,
        atol=1e-12,
        what="expected_error(lam, signal, noise, times)",
        hint="Per component: exp(-2 lam t) s^2 + (1 - exp(-lam t))^2 noise^2; average over k; one value per time.",
    )


__all__ = ["check_circle_eigenvalue", "check_expected_error", "circle_eigenvalue", "expected_error"]
