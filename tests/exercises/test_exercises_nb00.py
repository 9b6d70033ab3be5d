"""Notebook 00's exercise: the residual of gradient flow along one eigen-direction."""

import numpy as np

from course_utils.exercises import get_solution, solution_names
from course_utils.exercises import nb00 as exercises


def test_solution_passes_its_check():
    assert "00.residual_decay" in solution_names()
    assert get_solution("00.residual_decay") is exercises.residual_decay
    assert exercises.check_residual_decay(exercises.residual_decay)


def test_typical_wrong_answers_are_rejected(capsys):
    assert not exercises.check_residual_decay(lambda t, lam, r0: r0 * np.exp(-t))  # forgot lam
    assert not exercises.check_residual_decay(lambda t, lam, r0: r0 * np.exp(lam * t))  # wrong sign
    assert not exercises.check_residual_decay(lambda t, lam, r0: np.exp(-lam * t))  # forgot r0

    def stub(t, lam, r0):
        raise NotImplementedError

    assert not exercises.check_residual_decay(stub)
    assert "NotImplementedError" in capsys.readouterr().out


def test_each_usual_slip_gets_its_own_message():
    slips = [
        (lambda t, lam, r0: r0 * np.exp(lam * t), "sign of the exponent"),
        (lambda t, lam, r0: r0 * np.exp(-t), "rate lam is missing"),
        (lambda t, lam, r0: np.exp(-lam * t), "r0 is missing"),
        (lambda t, lam, r0: r0 * np.exp(-2 * lam * t), "decay of the loss"),
        (lambda t, lam, r0: (1 - lam * t) * r0, "one step of gradient descent"),
    ]
    for fn, phrase in slips:
        verdict = exercises.check_residual_decay(fn)
        assert not verdict and phrase in verdict.message, verdict.message
    verdict = exercises.check_residual_decay(lambda t, lam, r0: r0 + 0 * t)
    assert not verdict and "Solve dr/dt" in verdict.message  # no named slip: the general hint
