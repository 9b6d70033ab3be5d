"""The shared exercise tools: verdicts, numeric and function checks, collapsed solutions."""

import numpy as np

import course_utils as cu
from course_utils.exercises import Verdict, check_close, check_function, checks, get_solution, report, solution_names


def test_verdicts_and_numeric_checks(capsys):
    assert check_close(1.0, 1.0 + 1e-12) == True  # noqa: E712  (a Verdict compares equal to bools)
    wrong = check_close([1.0, 2.0], [1.0])
    assert not wrong and "shape" in wrong.message
    off = check_close(1.1, 1.0, what="lambda")
    assert not off and "lambda is off by up to 0.1" in off.message
    verdict = report(False, "because")
    assert isinstance(verdict, Verdict) and verdict.message == "Not yet. because"
    assert "because" in capsys.readouterr().out


def test_check_function_diagnoses_stubs_crashes_and_shapes():
    reference = lambda a: np.array([a, 2 * a])  # noqa: E731

    def stub(a):
        raise NotImplementedError

    assert "NotImplementedError" in check_function(stub, reference, [(1.0,)]).message
    assert "ZeroDivisionError" in check_function(lambda a: 1 / 0, reference, [(1.0,)]).message
    assert "shape" in check_function(lambda a: a, reference, [(1.0,)]).message
    assert check_function(reference, reference, [(1.0,), (2.0,)])


def test_solutions_are_found_and_shown_without_their_decorator(capsys):
    names = solution_names()
    assert "00.residual_decay" in names
    source = checks.solution_source("00.residual_decay")
    assert source.startswith("def residual_decay(") and "@solution" not in source
    namespace = {"np": np}
    exec(source, namespace)  # a copied solution runs as it is
    assert namespace["residual_decay"](1.0, 2.0, 3.0) == get_solution("00.residual_decay")(1.0, 2.0, 3.0)
    cu.show_solution("00.residual_decay")
    assert "def residual_decay" in capsys.readouterr().out
