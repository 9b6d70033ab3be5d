"""Notebook 05's exercises: each solution passes its check, the usual slips are rejected with their own message."""

import numpy as np

from course_utils.exercises import get_solution
from course_utils.exercises import nb05 as exercises


def test_exercise_circle_eigenvalue(capsys):
    assert exercises.check_circle_eigenvalue(get_solution("05.circle_eigenvalue"))
    capsys.readouterr()
    slips = {
        "without the cosine": lambda row, k: float(np.sum(row)),
        "sine": lambda row, k: float(np.sum(row * np.sin(2 * np.pi * np.arange(len(row)) * k / len(row)))),
        "divided by n": lambda row, k: float(np.mean(row * np.cos(2 * np.pi * np.arange(len(row)) * k / len(row)))),
        "2 pi j / n": lambda row, k: float(np.sum(row * np.cos(np.arange(len(row)) * k))),
    }
    for phrase, slip in slips.items():
        verdict = exercises.check_circle_eigenvalue(slip)
        assert not verdict
        assert phrase in verdict.message, (phrase, verdict.message)

    def stub(row, k):
        raise NotImplementedError

    assert not exercises.check_circle_eigenvalue(stub)
    assert "NotImplementedError" in capsys.readouterr().out


def test_exercise_expected_error(capsys):
    assert exercises.check_expected_error(get_solution("05.expected_error"))
    assert exercises.check_expected_error(exercises.expected_error)

    def risk(lam, signal, noise, times, signal_power=2, noise_power=2, noise_exp=2, swap=False, reduce=np.mean):
        d = np.exp(-np.asarray(lam)[None, :] * np.asarray(times)[:, None])
        a, b = ((1 - d), d) if swap else (d, 1 - d)
        return reduce(a**signal_power * np.asarray(signal) ** 2 + b**2 * noise**noise_exp, axis=1)

    slips = {
        "left out the noise": lambda l, s, n, t: risk(l, s, 0.0, t),
        "exp(-2 lam t)": lambda l, s, n, t: risk(l, s, n, t, signal_power=1),
        "standard deviation": lambda l, s, n, t: risk(l, s, n, t, noise_exp=1),
        "swapped": lambda l, s, n, t: risk(l, s, n, t, swap=True),
        "summed": lambda l, s, n, t: risk(l, s, n, t, reduce=np.sum),
    }
    for phrase, slip in slips.items():
        verdict = exercises.check_expected_error(slip)
        assert not verdict
        assert phrase in verdict.message, (phrase, verdict.message)
    # a different mistake gets the general hint
    verdict = exercises.check_expected_error(lambda l, s, n, t: risk(l, s, n, t) + 1.0)
    assert not verdict and "Per component" in verdict.message
