"""GradientFlow, linearize and train against independent references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import course_utils as cu


@pytest.fixture(scope="module")
def problem():
    angles, x = cu.circle_grid(10)
    model = cu.MLP(in_dim=2, width=512, depth=2, sb2=0.1)
    params = model.init(cu.key(0))
    y = cu.fourier_target(angles, [1, 2], [1.0, 0.5])
    K = cu.empirical_ntk(model, params, x)
    f0 = model.apply(params, x)
    return model, params, x, y, K, f0


def test_outputs_match_numerical_ode(problem):
    _, _, _, y, K, f0 = problem
    flow = cu.GradientFlow(K, y, f0)
    Kn, yn = np.asarray(K), np.asarray(y)
    times = np.array([0.0, 0.01, 0.1, 0.5, 2.0, 5.0])
    solution = solve_ivp(lambda t, f: -Kn @ (f - yn), (0, times[-1]), np.asarray(f0), t_eval=times, rtol=1e-11, atol=1e-13, method="DOP853")
    np.testing.assert_allclose(flow.outputs(times), solution.y.T, rtol=1e-8, atol=1e-9)
    assert flow.outputs(0.5).shape == (10,)
    np.testing.assert_allclose(flow.outputs(0.5), solution.y[:, 3], rtol=1e-8, atol=1e-9)


def test_small_step_gradient_descent_on_linearized_model_follows_flow(problem):
    model, params, x, y, K, f0 = problem
    flow = cu.GradientFlow(K, y, f0)
    lr = 1e-3
    traj = cu.train(cu.linearize(model.apply, params), params, x, y, lr=lr, steps=1000, record_every=100)
    predicted = flow.outputs(traj.times)
    # Euler's method has global error O(lr): the gap shrinks with the step.
    gap = np.max(np.abs(np.asarray(traj.outputs) - np.asarray(predicted)))
    assert gap < 5e-3
    traj_half = cu.train(cu.linearize(model.apply, params), params, x, y, lr=lr / 2, steps=2000, record_every=200)
    gap_half = np.max(np.abs(np.asarray(traj_half.outputs) - np.asarray(flow.outputs(traj_half.times))))
    assert gap_half < 0.6 * gap


def test_bound_and_loss(problem):
    _, _, _, y, K, f0 = problem
    flow = cu.GradientFlow(K, y, f0)
    times = np.geomspace(1e-3, 50, 30)
    residual_sq = np.sum((np.asarray(flow.outputs(times)) - np.asarray(y)) ** 2, axis=1)
    bound = np.exp(-2 * float(flow.eigenvalues[-1]) * times) * np.sum((np.asarray(f0) - np.asarray(y)) ** 2)
    assert np.all(residual_sq <= bound * (1 + 1e-10))
    np.testing.assert_allclose(flow.loss(times), 0.5 * residual_sq, rtol=1e-10, atol=1e-14)
    assert np.all(np.diff(flow.eigenvalues) <= 0)


def test_predict_on_training_inputs_equals_outputs(problem):
    _, _, _, y, K, f0 = problem
    flow = cu.GradientFlow(K, y, f0)
    times = np.array([0.0, 0.3, 3.0])
    np.testing.assert_allclose(flow.predict(times, K, f0), flow.outputs(times), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(flow.predictor(K, f0)(3.0), flow.outputs(3.0), rtol=1e-8, atol=1e-10)


def test_predict_large_t_is_kernel_regression(problem):
    model, params, x, y, K, f0 = problem
    x_test = cu.circle_points(jnp.linspace(0.1, 6.0, 7))
    K_star = cu.empirical_ntk(model, params, x_test, x)
    f0_star = model.apply(params, x_test)
    flow = cu.GradientFlow(K, y, f0)
    expected = f0_star + cu.kernel_regression(K, y - f0, K_star)
    t_large = 50.0 / float(flow.eigenvalues[-1])
    np.testing.assert_allclose(flow.predict(t_large, K_star, f0_star), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(flow.predict_limit(K_star, f0_star), expected, rtol=1e-6, atol=1e-8)


def test_zero_eigenvalue_is_safe():
    # A rank-one kernel: one direction never moves, and predict stays finite.
    v = np.array([1.0, 2.0, 2.0]) / 3
    K = 4.0 * np.outer(v, v)
    flow = cu.GradientFlow(K, np.zeros(3), np.array([1.0, 0.0, 0.0]))
    assert np.all(np.isfinite(flow.predict(np.array([0.0, 1.0, 1e6]), K, np.array([1.0, 0.0, 0.0]))))
    out = np.asarray(flow.outputs(1e6))
    np.testing.assert_allclose(out, np.array([1.0, 0, 0]) - v * (v @ np.array([1.0, 0, 0])), atol=1e-12)


def test_discrete_steps_stable_below_threshold_divergent_above(problem):
    _, _, _, y, K, f0 = problem
    lam_max = float(np.linalg.eigvalsh(np.asarray(K)).max())
    r0 = np.asarray(f0 - y)
    stable = cu.discrete_residuals(K, r0, 1.9 / lam_max, 400)
    unstable = cu.discrete_residuals(K, r0, 2.1 / lam_max, 400)
    assert np.linalg.norm(stable[-1]) < np.linalg.norm(r0)
    assert np.linalg.norm(unstable[-1]) > 10 * np.linalg.norm(r0)


def test_linearize_against_finite_difference():
    model = cu.MLP(in_dim=2, width=32, depth=2, activation="erf", sb2=0.1)
    p0 = model.init(cu.key(0))
    direction = model.init(cu.key(1))
    x = cu.circle_grid(5)[1]
    f_lin = cu.linearize(model.apply, p0)
    np.testing.assert_allclose(f_lin(p0, x), model.apply(p0, x), rtol=1e-14)
    eps = 1e-5
    shift = lambda s: jax.tree_util.tree_map(lambda p, d: p + s * d, p0, direction)  # noqa: E731
    central = (model.apply(shift(eps), x) - model.apply(shift(-eps), x)) / (2 * eps)
    np.testing.assert_allclose((f_lin(shift(1.0), x) - f_lin(p0, x)), central, rtol=1e-7, atol=1e-9)
    # Linear in the displacement: twice the step, twice the change.
    np.testing.assert_allclose(f_lin(shift(2.0), x) - f_lin(p0, x), 2 * (f_lin(shift(1.0), x) - f_lin(p0, x)), rtol=1e-12)


def test_train_matches_hand_written_loop():
    model = cu.MLP(in_dim=2, width=16, depth=2, sb2=0.1)
    params = model.init(cu.key(2))
    angles, x = cu.circle_grid(6)
    y = jnp.sin(angles)
    lr, steps = 0.05, 23
    traj = cu.train(model.apply, params, x, y, lr=lr, steps=steps, record_every=5)
    np.testing.assert_array_equal(traj.steps, [0, 5, 10, 15, 20, 23])
    np.testing.assert_allclose(traj.times, lr * traj.steps)
    p = params
    outputs, losses = [], []
    grad_fn = jax.jit(jax.grad(lambda q: 0.5 * jnp.sum((model.apply(q, x) - y) ** 2)))
    for step in range(steps + 1):
        out = model.apply(p, x)
        if step in traj.steps:
            outputs.append(out)
            losses.append(0.5 * float(jnp.sum((out - y) ** 2)))
        grads = grad_fn(p)
        p = jax.tree_util.tree_map(lambda a, g: a - lr * g, p, grads)
    np.testing.assert_allclose(traj.outputs, np.stack(outputs), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(traj.loss, losses, rtol=1e-10)
    assert traj.loss[-1] < traj.loss[0]


def test_train_records_params_when_asked():
    model = cu.MLP(in_dim=2, width=8)
    params = model.init(cu.key(0))
    x = cu.circle_grid(4)[1]
    traj = cu.train(model.apply, params, x, jnp.zeros(4), lr=0.1, steps=10, record_every=3, record_params=True)
    assert traj.param_history[0]["W"].shape == (5, 2, 8)
    np.testing.assert_array_equal(traj.param_history[0]["W"][0], params[0]["W"])
    np.testing.assert_array_equal(traj.param_history[-1]["W"][-1], traj.params[-1]["W"])
    assert cu.train(model.apply, params, x, jnp.zeros(4), lr=0.1, steps=0).outputs.shape == (1, 4)


def test_record_steps_log_schedule_matches_uniform_run():
    model = cu.MLP(in_dim=2, width=16)
    params = model.init(cu.key(0))
    angles, x = cu.circle_grid(5)
    y = jnp.cos(angles)
    schedule = cu.log_record_steps(64, 8)
    assert schedule[0] == 0 and schedule[-1] == 64 and np.all(np.diff(schedule) > 0)
    log_run = cu.train(model.apply, params, x, y, lr=0.05, steps=64, record_steps=schedule)
    dense = cu.train(model.apply, params, x, y, lr=0.05, steps=64, record_every=1)
    np.testing.assert_array_equal(log_run.steps, schedule)
    np.testing.assert_allclose(log_run.outputs, np.asarray(dense.outputs)[schedule], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(log_run.times, 0.05 * schedule)
    with pytest.raises(ValueError, match="increase"):
        cu.train(model.apply, params, x, y, lr=0.05, steps=64, record_steps=[0, 5, 3])
    with pytest.raises(ValueError, match="steps=64"):
        cu.train(model.apply, params, x, y, lr=0.05, steps=64, record_steps=[0, 100])


def _stack_runs(runs):
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *runs)


def test_batched_train_equals_one_run_per_seed():
    model = cu.MLP(in_dim=2, width=16, depth=2, sb2=0.1)
    angles, x = cu.circle_grid(6)
    y = jnp.sin(angles)
    seeds = [0, 4, 9]
    batch = cu.train(model.apply, model.init_many(seeds), x, y, lr=0.05, steps=30, record_every=7, batch=True)
    assert batch.outputs.shape == (3, 6, 6) and batch.loss.shape == (3, 6) and batch.times.shape == (6,)
    for i, seed in enumerate(seeds):
        single = cu.train(model.apply, model.init(seed), x, y, lr=0.05, steps=30, record_every=7)
        np.testing.assert_allclose(batch.outputs[i], single.outputs, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(batch.loss[i], single.loss, rtol=1e-12)
        np.testing.assert_allclose(cu.run_slice(batch.params, i)[0]["W"], single.params[0]["W"], rtol=1e-12)


def test_batched_train_with_one_learning_rate_per_run():
    model = cu.MLP(in_dim=2, width=16)
    angles, x = cu.circle_grid(6)
    y = jnp.cos(angles)
    lrs = np.array([0.01, 0.03, 0.09])
    params = _stack_runs([model.init(0)] * 3)
    batch = cu.train(model.apply, params, x, y, lr=lrs, steps=20, record_every=5, batch=True)
    np.testing.assert_allclose(batch.times, lrs[:, None] * batch.steps[None, :])
    for i, lr in enumerate(lrs):
        single = cu.train(model.apply, model.init(0), x, y, lr=float(lr), steps=20, record_every=5)
        np.testing.assert_allclose(batch.loss[i], single.loss, rtol=1e-12)
    # A larger step goes further in the same number of steps (the runs really differ).
    assert batch.loss[2, -1] < batch.loss[1, -1] < batch.loss[0, -1]
    with pytest.raises(ValueError, match="one per run"):
        cu.train(model.apply, params, x, y, lr=np.array([0.1, 0.2]), steps=5, batch=True)
    with pytest.raises(ValueError, match="leading"):
        cu.train(model.apply, model.init(0), x, y, lr=0.1, steps=5, batch=True)


def _top_ntk_eigenvalue_and_first_weight(model, x):
    def measure(params):
        K = cu.empirical_ntk(model, params, x)
        return {"lam_max": jnp.linalg.eigvalsh(K)[-1], "w00": params[0]["W"][0, 0]}

    return measure


def test_measure_hook_records_along_the_run():
    model = cu.MLP(in_dim=2, width=32)
    angles, x = cu.circle_grid(5)
    y = jnp.cos(angles)
    measure = _top_ntk_eigenvalue_and_first_weight(model, x)
    traj = cu.train(model.apply, model.init(1), x, y, lr=0.1, steps=12, record_every=4, record_params=True, measure=measure)
    assert traj.measurements["lam_max"].shape == (4,)
    for record in range(4):
        params = cu.run_slice(traj.param_history, record)
        expected = np.linalg.eigvalsh(np.asarray(cu.empirical_ntk(model, params, x)))[-1]
        np.testing.assert_allclose(traj.measurements["lam_max"][record], expected, rtol=1e-10)
        assert traj.measurements["w00"][record] == params[0]["W"][0, 0]
    batch = cu.train(model.apply, model.init_many([1, 2]), x, y, lr=0.1, steps=12, record_every=4, measure=measure, batch=True)
    np.testing.assert_allclose(batch.measurements["lam_max"][0], traj.measurements["lam_max"], rtol=1e-10)
    with pytest.raises(ValueError, match="measure"):
        cu.train(model.apply, model.init(1), x, y, lr=0.1, steps=2, measure="lam_max")


def test_discrete_option_is_gradient_descent_on_the_linear_model(problem):
    model, params, x, y, K, f0 = problem
    lr = 0.9 / float(np.linalg.eigvalsh(np.asarray(K))[-1])
    descent = cu.GradientFlow(K, y, f0, lr=lr)
    steps = np.array([0, 1, 2, 7, 40])
    reference = cu.discrete_residuals(K, np.asarray(f0 - y), lr, int(steps[-1]))[steps]
    np.testing.assert_allclose(descent.outputs(lr * steps) - np.asarray(y), reference, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(descent.loss(lr * steps), 0.5 * np.sum(reference**2, axis=1), rtol=1e-10)
    # Off the training set: f_k(x) = f_0(x) - K(x, X) lr sum_{j<k} r_j, and on it the same as outputs.
    K_star = K[:3]
    cumulative = lr * np.cumsum(np.vstack([np.zeros_like(reference[:1]), cu.discrete_residuals(K, np.asarray(f0 - y), lr, 39)]), axis=0)
    np.testing.assert_allclose(descent.predict(lr * 40, K_star, f0[:3]), np.asarray(f0[:3]) - np.asarray(K_star) @ cumulative[40], rtol=1e-10)
    np.testing.assert_allclose(descent.predict(lr * steps, K, f0), descent.outputs(lr * steps), rtol=1e-9, atol=1e-12)
    # A small step approaches the flow; the default (lr = 0) is the flow itself.
    flow = cu.GradientFlow(K, y, f0)
    slow = cu.GradientFlow(K, y, f0, lr=1e-4)
    assert np.max(np.abs(slow.outputs(2.0) - flow.outputs(2.0))) < 1e-3 < np.max(np.abs(descent.outputs(2.0) - flow.outputs(2.0)))
    # Above the edge 2 / lambda_max it diverges, as gradient descent does.
    unstable = cu.GradientFlow(K, y, f0, lr=2.1 / float(np.linalg.eigvalsh(np.asarray(K))[-1]))
    assert unstable.loss(200 * unstable.lr) > 1e3 * unstable.loss(0.0)
