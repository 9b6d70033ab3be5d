"""Notebook 06's exercises: each solution passes its check, the usual slips are rejected."""

import numpy as np

from course_utils.exercises import get_solution
from course_utils.exercises import nb06 as exercises


def test_normalise_kernel(capsys):
    assert exercises.check_normalise_kernel(get_solution("06.normalise_kernel"))
    assert not exercises.check_normalise_kernel(lambda K: K / np.max(K))
    assert not exercises.check_normalise_kernel(lambda K: K / np.diag(K)[:, None])  # one side only

    def stub(K):
        raise NotImplementedError

    assert not exercises.check_normalise_kernel(stub)
    assert "NotImplementedError" in capsys.readouterr().out


def test_lazy_lr_limit():
    assert exercises.check_lazy_lr_limit(get_solution("06.lazy_lr_limit"))
    assert not exercises.check_lazy_lr_limit(lambda K: 2.0 / np.linalg.eigvalsh(K)[0])  # smallest eigenvalue
    assert not exercises.check_lazy_lr_limit(lambda K: 1.0 / np.linalg.eigvalsh(K)[-1])  # the factor 2
    assert not exercises.check_lazy_lr_limit(lambda K: 2.0 / np.trace(K))  # the trace, not the top eigenvalue
