"""Worked solutions of the exercises, revealed with ``course_utils.show_solution(name)``.

Each is a plain function so that tests can run it through its check. Notebook authors add
theirs here, registered under "<notebook number>.<short name>".
"""

from __future__ import annotations

import numpy as np

from .exercises import solution


@solution("00.residual_decay")
def residual_decay(t, lam, r0):
    # Gradient flow on one direction with curvature lam: dr/dt = -lam * r.
    # Its solution is an exponential decay at rate lam; at lam = 0 the residual stays put.
    return np.exp(-lam * t) * r0
