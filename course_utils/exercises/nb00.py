"""Notebook 00's exercise: the residual of gradient flow along one eigen-direction."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .checks import Verdict, check_function, solution


@solution("00.residual_decay")
def residual_decay(t, lam, r0):
    # Gradient flow on one direction with curvature lam: dr/dt = -lam * r.
    # Its solution is an exponential decay at rate lam; at lam = 0 the residual stays put.
    return np.exp(-lam * t) * r0


def check_residual_decay(student_fn: Callable) -> Verdict:
    """``residual(t, lam, r0)`` should return the gradient-flow residual ``exp(-lam t) r0``."""
    cases = [(0.0, 1.0, 2.0), (1.0, 1.0, 2.0), (3.0, 0.5, -1.0), (10.0, 0.0, 0.7), (0.2, 7.0, 1.5)]
    return check_function(
        student_fn,
        residual_decay,
        cases,
        what="residual(t, lam, r0)",
        hint="Solve dr/dt = -lam r with r(0) = r0; at lam = 0 nothing should change.",
    )
