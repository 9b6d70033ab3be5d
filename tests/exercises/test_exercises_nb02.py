"""Notebook 02's exercises: each solution passes its check, typical slips are explained."""

import jax
import numpy as np

import course_utils as cu
from course_utils.exercises import nb02 as exercises


def test_linearize_check_accepts_correct_answers():
    assert exercises.check_linearize(exercises.linearize_solution)
    assert exercises.check_linearize(cu.linearize)
    assert cu.exercises.get_solution("02.linearize") is exercises.linearize_solution


def test_linearize_check_explains_wrong_answers():
    def network_itself(apply_fn, params0):
        return apply_fn

    def wrong_sign(apply_fn, params0):
        def f(params, x):
            delta = jax.tree_util.tree_map(lambda p, p0: p0 - p, params, params0)
            value, tangent = jax.jvp(lambda p: apply_fn(p, x), (params0,), (delta,))
            return value + tangent

        return f

    def off_at_start(apply_fn, params0):
        return lambda params, x: cu.linearize(apply_fn, params0)(params, x) + 1.0

    def stub(apply_fn, params0):
        def f_lin(params, x):
            raise NotImplementedError

        return f_lin

    def returns_number(apply_fn, params0):
        return 3.0

    expectations = [
        (network_itself, "network itself"),
        (wrong_sign, "wrong sign"),
        (off_at_start, "params0"),
        (stub, "still raises NotImplementedError"),
        (returns_number, "should return a function"),
    ]
    for fn, phrase in expectations:
        verdict = exercises.check_linearize(fn)
        assert not verdict and phrase in verdict.message, (fn.__name__, verdict.message)
    assert not exercises.check_linearize("not a function")


def test_extrapolate_check():
    assert exercises.check_extrapolate(exercises.extrapolate_solution)
    w = np.array([64.0, 256.0, 1024.0])
    np.testing.assert_allclose(exercises.extrapolate_solution(w, 2.0 * w**-0.5, 4096.0), 2.0 / 64.0)
    noisy = 1.5 * w**-0.5 * np.array([1.1, 0.95, 1.02])
    np.testing.assert_allclose(
        exercises.extrapolate_solution(w, noisy, 1e6), cu.fit_power_law(w, noisy).predict(1e6), rtol=1e-10
    )

    def linear_fit(widths, values, new_width):
        slope, intercept = np.polyfit(widths, values, 1)
        return intercept + slope * new_width

    def stub(widths, values, new_width):
        raise NotImplementedError

    assert not exercises.check_extrapolate(linear_fit)
    verdict = exercises.check_extrapolate(stub)
    assert not verdict and "NotImplementedError" in verdict.message
    assert cu.exercises.get_solution("02.extrapolate") is exercises.extrapolate_solution
