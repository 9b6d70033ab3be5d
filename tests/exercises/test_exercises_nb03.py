"""course_utils.exercises.nb03: each solution passes its check, the usual slips are rejected."""

import jax.numpy as jnp
import numpy as np

import course_utils as cu
from course_utils.exercises import nb03
from course_utils.experiments import kernel_convergence as kc


def test_exercise_two_layer_ntk_solution_passes_and_wrong_answers_fail():
    assert nb03.check_two_layer_ntk(nb03.two_layer_ntk)

    def readout_only(model, params, x1, x2):
        (w1, _, b1m, _), (w2, _, b2m, _) = model.layer_scales()
        a1 = jnp.maximum(w1 * x1 @ params[0]["W"] + b1m * params[0]["b"], 0)
        a2 = jnp.maximum(w1 * x2 @ params[0]["W"] + b1m * params[0]["b"], 0)
        return w2**2 * a1 @ a2.T + b2m**2

    def no_bias_terms(model, params, x1, x2):  # forgets b_mult^2 (G G'^T) and the read-out bias
        return nb03.two_layer_ntk(model, params, x1, x2) - sum(
            s.b_mult**2 * g for s, g in zip(model.layer_scales(), _sensitivity_grams(model, params, x1, x2))
        )

    def stub(model, params, x1, x2):
        raise NotImplementedError

    verdict = nb03.check_two_layer_ntk(readout_only)
    assert not verdict and "random-features" in verdict.message
    verdict = nb03.check_two_layer_ntk(no_bias_terms)
    assert not verdict and "bias terms" in verdict.message
    assert not nb03.check_two_layer_ntk(stub)
    assert not nb03.check_two_layer_ntk(lambda *args: np.zeros((2, 2)))


def _sensitivity_grams(model, params, x1, x2):
    (w1, _, b1m, _), (w2, _, _, _) = model.layer_scales()
    h1 = w1 * (x1 @ params[0]["W"]) + b1m * params[0]["b"]
    h2 = w1 * (x2 @ params[0]["W"]) + b1m * params[0]["b"]
    g1 = w2 * params[1]["W"][:, 0] * (h1 > 0)
    g2 = w2 * params[1]["W"][:, 0] * (h2 > 0)
    return [g1 @ g2.T, jnp.ones((len(x1), len(x2)))]


def test_two_layer_solution_equals_the_core_kernel():
    model = cu.MLP(in_dim=2, width=32, depth=1, sb2=0.1)
    params = model.init(3)
    _, x = cu.circle_grid(5)
    np.testing.assert_allclose(nb03.two_layer_ntk(model, params, x, x), cu.empirical_ntk(model, params, x), rtol=1e-10)


def test_exercise_relu_ntk_limit_solution_passes_and_wrong_answers_fail():
    assert nb03.check_relu_ntk_limit(nb03.relu_ntk_limit)

    def nngp_only(gamma, sw2, sb2):  # forgets the derivative term
        sigma1 = sw2 * np.cos(gamma) / 2 + sb2
        var1 = sw2 / 2 + sb2
        k1, _ = kc.arccos_kernels(sigma1 / var1)
        return sw2 * var1 * k1 + sb2

    verdict = nb03.check_relu_ntk_limit(nngp_only)
    assert not verdict and "NNGP" in verdict.message
    verdict = nb03.check_relu_ntk_limit(lambda gamma, sw2, sb2: np.cos(gamma))
    assert not verdict and "off by" in verdict.message and "NNGP" not in verdict.message


def test_solutions_are_registered():
    assert cu.exercises.get_solution("03.two_layer_ntk") is nb03.two_layer_ntk
    assert cu.exercises.get_solution("03.relu_ntk_limit") is nb03.relu_ntk_limit


def test_two_layer_slips_get_their_own_message():
    for message, slip in nb03.TWO_LAYER_SLIPS:
        verdict = nb03.check_two_layer_ntk(slip)
        assert not verdict and message in verdict.message
    # the messages are distinct: each slip is told apart from the others
    assert len({m for m, _ in nb03.TWO_LAYER_SLIPS}) == len(nb03.TWO_LAYER_SLIPS)


def test_relu_limit_slips_get_their_own_message():
    for message, slip in nb03.RELU_LIMIT_SLIPS:
        verdict = nb03.check_relu_ntk_limit(slip)
        assert not verdict and message in verdict.message
    degrees = lambda gamma, sw2, sb2: nb03.relu_ntk_limit(np.degrees(gamma), sw2, sb2)
    verdict = nb03.check_relu_ntk_limit(degrees)
    assert not verdict and all(m not in verdict.message for m, _ in nb03.RELU_LIMIT_SLIPS)
