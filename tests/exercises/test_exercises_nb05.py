"""Notebook 05's exercises: each solution passes its check, the usual slips are rejected."""

import numpy as np

from course_utils.exercises import get_solution
from course_utils.exercises import nb05 as exercises


def test_exercise_filtered_prediction(capsys):
    assert exercises.check_filtered_prediction(get_solution("05.filtered_prediction"))
    assert exercises.check_filtered_prediction(exercises.filtered_prediction)
    assert not exercises.check_filtered_prediction(lambda K, y, t: np.asarray(y))  # forgot the filter
    assert not exercises.check_filtered_prediction(lambda K, y, t: np.exp(-np.diag(K) * t) * y)

    def residual_instead(K, y, t):  # returned e^{-Kt} y, the residual, not the learned part
        lam, U = np.linalg.eigh(K)
        return U @ (np.exp(-lam * t) * (U.T @ y))

    assert not exercises.check_filtered_prediction(residual_instead)

    def stub(K, y, t):
        raise NotImplementedError

    assert not exercises.check_filtered_prediction(stub)
    assert "NotImplementedError" in capsys.readouterr().out


def test_exercise_circle_eigenvalue():
    assert exercises.check_circle_eigenvalue(get_solution("05.circle_eigenvalue"))
    assert not exercises.check_circle_eigenvalue(lambda row, k: float(np.sum(row)))

    def sine_transform(row, k):
        return float(np.sum(row * np.sin(2 * np.pi * np.arange(len(row)) * k / len(row))))

    assert not exercises.check_circle_eigenvalue(sine_transform)

    def normalised(row, k):  # divided by n like a mean
        return float(np.mean(row * np.cos(2 * np.pi * np.arange(len(row)) * k / len(row))))

    assert not exercises.check_circle_eigenvalue(normalised)
