"""Notebook 07's exercises: putting images on the sphere, and the self-consistent kappa of the learning curve."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..experiments import real_data as rd
from .checks import Verdict, check_function_slips, solution


@solution("07.normalise")
def normalise(images, mean):
    # Centre first: subtract the training set's mean image from every image.
    centred = np.asarray(images, dtype=np.float64) - mean
    # Then put every image on the unit sphere: divide each row by its own Euclidean norm.
    return centred / np.linalg.norm(centred, axis=1, keepdims=True)


def _normalise_cases():
    images, _ = rd.load_images()
    rng = np.random.default_rng(7)
    cases = []
    for size in (5, 12):
        rows = images[rng.choice(len(images), size=size, replace=False)]
        cases.append((rows, rows.mean(axis=0) + rng.normal(scale=0.1, size=64)))
    return cases


def check_normalise(student_fn: Callable) -> Verdict:
    """Exercise 07.normalise: centre by the mean image, then scale each image to unit norm."""
    def scaled_first(images, mean):
        a = images / np.linalg.norm(images, axis=1, keepdims=True)
        return a - mean / np.linalg.norm(mean)

    slips = [
        ("You scaled to the sphere without centring: subtract the mean image first.",
         lambda im, mu: im / np.linalg.norm(im, axis=1, keepdims=True)),
        ("You centred but did not scale each image: divide every row by its own norm.", lambda im, mu: im - mu),
        ("You divided by one norm of the whole matrix: each image (row) needs its own norm (axis=1).",
         lambda im, mu: (im - mu) / np.linalg.norm(im - mu)),
        ("You took the norm over the wrong axis (columns): use axis=1, keepdims=True.",
         lambda im, mu: (im - mu) / np.linalg.norm(im - mu, axis=0, keepdims=True)),
        ("You scaled before centring: centre first, then scale (a centred image is not on the sphere otherwise).",
         scaled_first),
    ]
    return check_function_slips(student_fn, rd.normalise, _normalise_cases(), slips=slips, rtol=1e-10,
                                what="normalise(images, mean)", hint="Centre by the mean image, then divide each row by its norm.")


@solution("07.solve_kappa")
def solve_kappa(eigenvalues, n):
    # Ridgeless: kappa solves sum_k rho_k / (n rho_k + kappa) = 1. The left side falls as kappa
    # grows, so bisection (on a log scale: kappa spans many decades) finds the unique root.
    rho = np.asarray(eigenvalues, dtype=np.float64)
    lo, hi = 1e-30, float(np.sum(rho)) + 1.0
    for _ in range(200):
        mid = np.sqrt(lo * hi)
        if np.sum(rho / (n * rho + mid)) > 1:
            lo = mid  # too many degrees of freedom still free: kappa must grow
        else:
            hi = mid
    return np.sqrt(lo * hi)


def _kappa_cases():
    spectrum = rd.pool_spectrum()
    power_law = 1.0 / np.arange(1, 201) ** 1.5
    return [(spectrum.eigenvalues, 10), (spectrum.eigenvalues, 100), (power_law, 5), (power_law, 50)]


def check_solve_kappa(student_fn: Callable) -> Verdict:
    """Exercise 07.solve_kappa: the root of ``sum_k rho_k / (n rho_k + kappa) = 1``."""
    def no_n(rho, n):
        return rd.solve_kappa(rho, 1)

    slips = [
        ("That is kappa at n = 0 (the sum of all eigenvalues): the equation depends on n.",
         lambda rho, n: float(np.sum(rho))),
        ("You solved the equation with n = 1: the eigenvalues are multiplied by n in the denominator.", no_n),
    ]
    return check_function_slips(student_fn, lambda rho, n: rd.solve_kappa(rho, n), _kappa_cases(), slips=slips,
                                rtol=1e-6, what="solve_kappa(eigenvalues, n)",
                                hint="Bisect on kappa: sum(rho / (n * rho + kappa)) decreases from above 1 to below 1.")


__all__ = ["check_normalise", "check_solve_kappa", "normalise", "solve_kappa"]
