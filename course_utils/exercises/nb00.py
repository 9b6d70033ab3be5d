"""Notebook 00's exercise: the residual of gradient flow along one eigen-direction."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .checks import Verdict, check_function_slips, solution


@solution("00.residual_decay")
def residual_decay(t, lam, r0):
    # Gradient flow on one direction with curvature lam: dr/dt = -lam * r.
    # Its solution is an exponential decay at rate lam; at lam = 0 the residual stays put.
    return np.exp(-lam * t) * r0


def check_residual_decay(student_fn: Callable) -> Verdict:
    """``residual(t, lam, r0)`` should return the gradient-flow residual ``exp(-lam t) r0``.

    A wrong answer is matched against the usual slips (the rate or the start left out, the
    sign of the exponent flipped, t and lam multiplied into a power) and named.
    """
    cases = [(0.0, 1.0, 2.0), (1.0, 1.0, 2.0), (3.0, 0.5, -1.0), (10.0, 0.0, 0.7), (0.2, 7.0, 1.5)]
    slips = [
        (("The sign of the exponent is flipped: with dr/dt = -lam r the residual decays, exp(-lam t), "
          "it does not grow."), lambda t, lam, r0: np.exp(lam * t) * r0),
        ("The rate lam is missing: each direction decays at its own rate, exp(-lam t), not exp(-t).",
         lambda t, lam, r0: np.exp(-t) * r0),
        ("The starting value r0 is missing: the solution is r0 times the decay factor.",
         lambda t, lam, r0: np.exp(-lam * t)),
        ("This is the decay of the loss 1/2 r^2 (rate 2 lam), not of the residual r.",
         lambda t, lam, r0: np.exp(-2 * lam * t) * r0),
        (("This is one step of gradient descent with step t, (1 - lam t) r0, not the flow: the flow "
          "is the limit of many small steps, exp(-lam t) r0."), lambda t, lam, r0: (1 - lam * t) * r0),
    ]
    return check_function_slips(
        student_fn,
        residual_decay,
        cases,
        slips=slips,
        what="residual(t, lam, r0)",
        hint="Solve dr/dt = -lam r with r(0) = r0; at lam = 0 nothing should change.",
    )
