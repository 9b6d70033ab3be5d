"""course_utils.exercises.nb04: each solution passes its check, the usual slips are rejected."""

import numpy as np
from scipy.linalg import expm

import course_utils as cu
from course_utils.exercises import nb04


def test_exercise_flow_residual():
    assert nb04.check_flow_residual(nb04.flow_residual)
    assert not nb04.check_flow_residual(lambda K, r0, t: np.exp(-t) * r0)
    assert not nb04.check_flow_residual(lambda K, r0, t: r0 - t * K @ r0)  # one Euler step
    assert not nb04.check_flow_residual(lambda K, r0, t: expm(K * t) @ r0)  # wrong sign

    def stub(K, r0, t):
        raise NotImplementedError

    assert not nb04.check_flow_residual(stub)
    K = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(nb04.flow_residual(K, np.array([1.0, -1.0]), 0.7), expm(-0.7 * K) @ [1.0, -1.0])


def test_exercise_time_to_tolerance():
    assert nb04.check_time_to_tolerance(nb04.time_to_tolerance)
    # The squared bound, and lambda_max instead of lambda_min.
    assert not nb04.check_time_to_tolerance(lambda K, eps: np.log(1 / eps) / (2 * np.linalg.eigvalsh(K)[0]))
    assert not nb04.check_time_to_tolerance(lambda K, eps: np.log(1 / eps) / np.linalg.eigvalsh(K)[-1])


def test_solutions_are_registered():
    assert cu.exercises.get_solution("04.flow_residual") is nb04.flow_residual
    assert cu.exercises.get_solution("04.time_to_tolerance") is nb04.time_to_tolerance


def test_flow_residual_slips_get_their_own_message():
    for message, slip in nb04.FLOW_SLIPS:
        verdict = nb04.check_flow_residual(slip)
        assert not verdict and message in verdict.message
    assert len({m for m, _ in nb04.FLOW_SLIPS}) == len(nb04.FLOW_SLIPS)


def test_time_to_tolerance_slips_get_their_own_message():
    for message, slip in nb04.TOLERANCE_SLIPS:
        verdict = nb04.check_time_to_tolerance(slip)
        assert not verdict and message in verdict.message
    verdict = nb04.check_time_to_tolerance(lambda K, eps: 1.0)
    assert not verdict and all(m not in verdict.message for m, _ in nb04.TOLERANCE_SLIPS)
