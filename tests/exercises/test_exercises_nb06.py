"""Notebook 06's exercises: each solution passes its check, the usual slips are rejected with their own message."""

import numpy as np
import pytest

import course_utils as cu
from course_utils.exercises import get_solution
from course_utils.exercises import nb06 as exercises
from course_utils.experiments import catapult, depth


def message(verdict):
    return verdict.message


def test_normalise_kernel(capsys):
    assert exercises.check_normalise_kernel(get_solution("06.normalise_kernel"))
    assert "largest entry" in message(exercises.check_normalise_kernel(lambda K: K / np.max(K)))
    assert "one diagonal entry" in message(exercises.check_normalise_kernel(lambda K: K / np.diag(K)[:, None]))
    assert "sqrt(K_ii) only" in message(exercises.check_normalise_kernel(lambda K: K / np.sqrt(np.diag(K))[:, None]))
    assert "without the square root" in message(
        exercises.check_normalise_kernel(lambda K: K / np.outer(np.diag(K), np.diag(K))))
    assert not exercises.check_normalise_kernel(lambda K: 2 * K)  # an unrecognised slip: the generic message

    def stub(K):
        raise NotImplementedError

    assert "NotImplementedError" in message(exercises.check_normalise_kernel(stub))


def test_deep_normalised_ntk_solution_is_the_library_kernel():
    assert exercises.check_deep_normalised_ntk(get_solution("06.deep_normalised_ntk"))
    fn = get_solution("06.deep_normalised_ntk")
    # against cu.analytic_ntk directly, at depth 2 on two points at angle 1.1
    gamma = 1.1
    x = np.array([[1.0, 0.0], [np.cos(gamma), np.sin(gamma)]])
    K = np.asarray(cu.analytic_ntk(cu.MLP(in_dim=2, width=1, depth=2), x))
    assert fn(gamma, 2) == pytest.approx(K[0, 1] / np.sqrt(K[0, 0] * K[1, 1]), rel=1e-9)
    assert fn(gamma, 2) == pytest.approx(depth.normalise_kernel(K)[0, 1], rel=1e-9)
    # the deep limit: close to 1/4 at L = 10^4, whatever the angle
    assert abs(fn(np.pi / 2, 10_000) - depth.DEEP_LIMIT) < 2e-3 and abs(fn(np.pi, 10_000) - depth.DEEP_LIMIT) < 2e-3


@pytest.mark.parametrize("options, words", [
    (dict(sigma_term=False), "Sigma_{l+1} term is missing"),
    (dict(use_rho=True), "rho_dot"),
    (dict(norm="L"), "divided by L"),
    (dict(norm="none"), "not normalised"),
])
def test_deep_normalised_ntk_slips(options, words):
    verdict = exercises.check_deep_normalised_ntk(lambda g, L: exercises._deep_variant(g, L, **options))
    assert not verdict and words in message(verdict)


def test_deep_normalised_ntk_other_wrong_answers():
    assert "expected" in message(exercises.check_deep_normalised_ntk(lambda g, L: np.cos(g)))
    assert "should be a function" in message(exercises.check_deep_normalised_ntk(0.25))


def test_predict_phase():
    verdict = exercises.check_predict_phase(get_solution("06.predict_phase"))
    assert verdict and "at N = 1024 right for 12 of 12" in message(verdict)
    fn = get_solution("06.predict_phase")
    # the expected misses, reported, not hidden: at N = 4096 the run at 4 / lambda_0 converges; at N = 256 the
    # run at 2.2 / lambda_0 never spikes (its loss looks lazy although its kernel moves)
    for w in catapult.WIDTHS:
        misses = [m for m in catapult.MULTIPLES if fn(m) != catapult.regime(w, m)]
        assert f"at N = {w} right for {len(catapult.MULTIPLES) - len(misses)} of" in message(verdict)
        assert misses == {256: [2.2], 1024: [], 4096: [4.0]}[w]
        for m in misses:
            assert f"missing at {m:g} (measured {catapult.regime(w, m)})" in message(verdict)
    assert "near, not at, 4" in message(verdict)
    assert [fn(m) for m in (1.9, 2.0, 3.9, 4.0)] == ["lazy", "catapult", "catapult", "divergent"]
    # the solution agrees with every measured run at N = 1024
    assert all(fn(m) == catapult.regime(1024, m) for m in catapult.MULTIPLES)


@pytest.mark.parametrize("edges, words", [
    ((1.0, 4.0), "lazy phase at lr x lambda_0 = 1"),
    ((1.0, 2.0), "factor 2 too low"),
    ((2.0, np.inf), "never predict divergence"),
    ((2.0, 12.0), "12 / lambda_0"),
    ((2.0, 2.0), "frozen kernel"),
])
def test_predict_phase_slips(edges, words):
    verdict = exercises.check_predict_phase(exercises._phase_rule(*edges))
    assert not verdict and words in message(verdict)


def test_predict_phase_other_wrong_answers():
    assert "expected 'catapult'" in message(exercises.check_predict_phase(exercises._phase_rule(2.0, 3.0)))
    assert "return one of" in message(exercises.check_predict_phase(lambda m: m < 2))
