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


def test_extrapolate_check_names_the_usual_slips():
    def linear_fit(widths, values, new_width):
        slope, intercept = np.polyfit(widths, values, 1)
        return intercept + slope * new_width

    def returns_slope(widths, values, new_width):
        return np.polyfit(np.log(widths), np.log(values), 1)[0]

    def mixed_bases(widths, values, new_width):
        slope, intercept = np.polyfit(np.log10(widths), np.log10(values), 1)
        return np.exp(intercept + slope * np.log10(new_width))

    for fn, phrase in ((linear_fit, "log-log"), (returns_slope, "slope"), (mixed_bases, "same base")):
        verdict = exercises.check_extrapolate(fn)
        assert not verdict and phrase in verdict.message, (fn.__name__, verdict.message)
    assert not exercises.check_extrapolate(42)


def test_min_norm_distance_check():
    assert exercises.check_min_norm_distance(exercises.min_norm_distance_solution)
    assert cu.exercises.get_solution("02.min_norm_distance") is exercises.min_norm_distance_solution
    # The solution equals the distance gradient descent on the linearization travels (N = 64, seed 0).
    from course_utils.experiments import lazy_training

    model = lazy_training.two_layer(64)
    p0 = model.init(lazy_training.SEEDS[0])
    _, X, y = cu.interval_problem()
    K = np.asarray(cu.empirical_ntk(model, p0, X))
    r0 = np.asarray(model.apply(p0, X) - y)
    f_lin = cu.linearize(model.apply, p0)
    lin = cu.train(f_lin, p0, X, y, lr=0.05, steps=40000)
    moved = lazy_training.weight_vector(lin.params) - lazy_training.weight_vector(p0)
    np.testing.assert_allclose(exercises.min_norm_distance_solution(K, r0), np.linalg.norm(moved), rtol=1e-4)

    expectations = [
        (lambda K, r0: float(r0 @ np.linalg.solve(K, r0)), "square root"),
        (lambda K, r0: float(np.sqrt(r0 @ K @ r0)), "K^{-1} belongs"),
        (lambda K, r0: float(np.linalg.norm(r0)), "||r0||"),
        (lambda K, r0: float(np.linalg.norm(np.linalg.solve(K, r0))), "||K^{-1} r0||"),
        (lambda K, r0: np.linalg.solve(K, r0), "one number"),
        (lambda K, r0: 1.0, "expected"),
    ]
    for fn, phrase in expectations:
        verdict = exercises.check_min_norm_distance(fn)
        assert not verdict and phrase in verdict.message, verdict.message

    def stub(K, r0):
        raise NotImplementedError

    assert "NotImplementedError" in exercises.check_min_norm_distance(stub).message
    assert not exercises.check_min_norm_distance(None)
