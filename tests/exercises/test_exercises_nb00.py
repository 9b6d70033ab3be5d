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
