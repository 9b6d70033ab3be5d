"""course_utils.nb04: the computations behind notebook 04 (gradient flow as a linear ODE)."""

import jax
import numpy as np
import pytest
from scipy.linalg import expm

import course_utils as cu
from course_utils import nb04


def test_flow_model_and_problem():
    model = nb04.flow_model(256)
    assert (model.in_dim, model.width, model.depth, model.sw2, model.sb2) == (2, 256, 1, 2.0, 0.1)
    angles, x, y, _, grid = nb04.flow_problem()
    assert x.shape == (nb04.N_TRAIN, 2) and grid.shape == (nb04.N_GRID, 2)
    np.testing.assert_allclose(y, nb04.target_on(angles))
    np.testing.assert_allclose(np.linalg.norm(grid, axis=1), 1.0)
    with pytest.raises(ValueError):
        nb04.flow_model(0)
    with pytest.raises(ValueError):
        nb04.flow_problem(n=0)


def test_two_phase_descent_records_every_slider_time_and_follows_the_flow():
    model = nb04.flow_model(64)
    params = model.init(cu.key(0))
    _, x, y, _, _ = nb04.flow_problem()
    lin = cu.linearize(model.apply, params)
    times, outputs, loss, history = nb04.two_phase_descent(lin, params, x, y)
    assert times[0] == 0 and times[-1] == pytest.approx(nb04.T_END)
    assert np.all(np.diff(times) > 0)
    index = nb04._time_index(times, nb04.FLOW_TIMES)
    assert len(outputs) == len(times) == len(loss) == jax.tree_util.tree_leaves(history)[0].shape[0]
    # Gradient descent on the linearised model is the flow up to the step size.
    flow = cu.GradientFlow(cu.empirical_ntk(model, params, x), y, model.apply(params, x))
    gap = np.max(np.abs(outputs[index] - np.asarray(flow.outputs(np.asarray(nb04.FLOW_TIMES)))))
    assert gap < 0.02
    np.testing.assert_allclose(loss, 0.5 * np.sum((outputs - np.asarray(y)) ** 2, axis=1), rtol=1e-10)
    with pytest.raises(ValueError):
        nb04.two_phase_descent("not callable", params, x, y)
    with pytest.raises(ValueError, match="recorded grid"):
        nb04._time_index(times, [0.015])


def test_flow_width_data_is_consistent():
    d = nb04.flow_width_data(64)
    model = nb04.flow_model(64)
    params = model.init(nb04.FLOW_SEED)
    _, x, y, _, grid = nb04.flow_problem()
    np.testing.assert_allclose(d.K0, cu.empirical_ntk(model, params, x), rtol=1e-12)
    np.testing.assert_allclose(d.net_outputs[0], d.f0, rtol=1e-12)
    np.testing.assert_allclose(d.net_grid[0], d.f0_star, rtol=1e-12)
    np.testing.assert_allclose(d.predictor(0.0), d.f0_star, rtol=1e-12)
    assert d.net_outputs.shape == (len(nb04.FLOW_TIMES), nb04.N_TRAIN)
    assert d.net_grid.shape == (len(nb04.FLOW_TIMES), nb04.N_GRID)
    # The recorded run at t = 0.5 is plain gradient descent with the early learning rate.
    traj = cu.train(model.apply, params, x, y, lr=nb04.LR_EARLY, steps=500)
    k = nb04.FLOW_TIMES.index(0.5)
    np.testing.assert_allclose(d.net_grid[k], model.apply(traj.params, grid), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError):
        nb04.flow_width_data(-1)


def test_prediction_gap():
    gap = nb04.prediction_gap((64, 256))
    assert gap["train_gap"].shape == (2,) and np.all(gap["train_gap"] > 0)
    assert np.all(gap["grid_gap"] >= 0) and np.all(gap["residual_scale"] > 1)
    assert np.isfinite(gap["slope"])
    assert nb04.prediction_gap((64,))["slope"] is None
    with pytest.raises(ValueError):
        nb04.prediction_gap(())


@pytest.fixture(scope="module")
def random_problem():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    K = A @ A.T / 6 + 0.05 * np.eye(6)
    return K, rng.normal(size=6), rng.normal(size=6)


def test_bound_ratios(random_problem):
    K, y, f0 = random_problem
    flow = cu.GradientFlow(K, y, f0)
    ratios = nb04.bound_ratios(flow, np.geomspace(1e-3, 100, 50))
    assert np.all(ratios <= 1 + 1e-12) and np.all(ratios > 0)
    assert nb04.bound_ratios(flow, [0.0])[0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        nb04.bound_ratios(K, [1.0])
    with pytest.raises(ValueError):
        nb04.bound_ratios(flow, [-1.0])


def test_ode_reference_matches_closed_form(random_problem):
    K, y, f0 = random_problem
    times = np.array([0.0, 0.1, 1.0, 5.0])
    reference = nb04.ode_reference(K, y, f0, times)
    np.testing.assert_allclose(reference, cu.GradientFlow(K, y, f0).outputs(times), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(nb04.ode_reference(K, y, f0, [0.0]), f0[None])
    with pytest.raises(ValueError, match="sorted"):
        nb04.ode_reference(K, y, f0, [1.0, 0.5])
    with pytest.raises(ValueError):
        nb04.ode_reference(K[:3], y, f0, times)
    with pytest.raises(ValueError):
        nb04.ode_reference(K, y[:3], f0, times)


def test_critical_lr_separates_stable_from_divergent(random_problem):
    K, y, f0 = random_problem
    critical = nb04.critical_lr(K)
    assert critical == pytest.approx(2 / np.linalg.eigvalsh(K)[-1])
    below = np.linalg.norm(cu.discrete_residuals(K, f0 - y, 0.95 * critical, 200), axis=1)
    above = np.linalg.norm(cu.discrete_residuals(K, f0 - y, 1.05 * critical, 200), axis=1)
    assert np.all(np.diff(below) <= 1e-12) and above[-1] > 10 * above[0]
    with pytest.raises(ValueError):
        nb04.critical_lr(np.ones(3))
    with pytest.raises(ValueError, match="positive"):
        nb04.critical_lr(np.zeros((2, 2)))


def test_discrete_run_and_lr_slider():
    lr, step_times, residuals = nb04.discrete_run(64, 0.5)
    d = nb04.flow_width_data(64)
    assert lr == pytest.approx(0.5 * nb04.critical_lr(d.K0))
    np.testing.assert_allclose(step_times, lr * np.arange(len(residuals)))
    assert step_times[-1] >= nb04.DISCRETE_TIMES[-1]
    np.testing.assert_allclose(residuals[0], d.f0 - np.asarray(d.flow.y))
    with pytest.raises(ValueError):
        nb04.discrete_run(64, 0.0)
    slider = nb04.lr_slider()
    assert [v for _, v in slider.options] == list(nb04.LR_FACTORS) and slider.value == 0.9
    with pytest.raises(ValueError):
        nb04.lr_slider(factors=(0.5, -1.0))


def test_exercise_flow_residual():
    assert nb04.check_flow_residual(nb04.flow_residual)
    assert not nb04.check_flow_residual(lambda K, r0, t: np.exp(-t) * r0)
    assert not nb04.check_flow_residual(lambda K, r0, t: r0 - t * K @ r0)  # one Euler step

    def stub(K, r0, t):
        raise NotImplementedError

    assert not nb04.check_flow_residual(stub)
    K = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(nb04.flow_residual(K, np.array([1.0, -1.0]), 0.7), expm(-0.7 * K) @ [1.0, -1.0])


def test_exercise_time_to_tolerance():
    assert nb04.check_time_to_tolerance(nb04.time_to_tolerance)
    assert not nb04.check_time_to_tolerance(lambda K, eps: np.log(1 / eps) / (2 * np.linalg.eigvalsh(K)[0]))
    assert not nb04.check_time_to_tolerance(lambda K, eps: np.log(1 / eps) / np.linalg.eigvalsh(K)[-1])


def test_solutions_are_registered():
    assert cu.exercises.get_solution("04.flow_residual") is nb04.flow_residual
    assert cu.exercises.get_solution("04.time_to_tolerance") is nb04.time_to_tolerance
