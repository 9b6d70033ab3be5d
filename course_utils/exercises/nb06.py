"""Notebook 06's exercises: normalise a kernel; the edge of the lazy phase."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..experiments import catapult, depth
from ..kernels import as_numpy, empirical_ntk
from .checks import Verdict, check_function, solution


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
        cases.append((A @ A.T,))
    cases.append((depth.analytic_depth_kernel(3, 16),))
    return check_function(student_fn, depth.normalise_kernel, cases, rtol=1e-10, atol=1e-12,
                          what="normalise_kernel(K)",
                          hint="Divide each entry by the square roots of the two matching diagonal entries "
                          "(np.outer helps).")


@solution("06.lazy_lr_limit")
def lazy_lr_limit(K):
    # Gradient descent on the linearised model multiplies each eigen-component of the residual
    # by (1 - lr * lambda_k) per step. It shrinks for every k iff |1 - lr * lambda_k| < 1,
    # i.e. lr < 2 / lambda_k for all k: the binding one is the largest eigenvalue.
    return 2.0 / np.linalg.eigvalsh(np.asarray(K, dtype=np.float64))[-1]


def check_lazy_lr_limit(student_fn: Callable) -> Verdict:
    """``student_fn(K)`` should return the largest stable learning rate ``2 / lambda_max(K)``."""
    rng = np.random.default_rng(4)
    cases = [(np.diag([4.0, 1.0, 0.5]),)]
    for n in (4, 6):
        A = rng.normal(size=(n, n))
        cases.append((A @ A.T,))
    net = catapult.model(256)
    _, x, _ = catapult.training_problem()
    cases.append((as_numpy(empirical_ntk(net, net.init(0), x)),))
    return check_function(student_fn, lazy_lr_limit, cases, rtol=1e-8, atol=1e-12,
                          what="lazy_lr_limit(K)",
                          hint="r <- (I - lr K) r shrinks iff |1 - lr lambda| < 1 for every eigenvalue lambda of K.")
