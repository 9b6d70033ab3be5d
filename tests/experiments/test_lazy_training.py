"""Lazy training (notebook 02): side-by-side runs of a network and its linearization, the sweep."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import lazy_training


@pytest.fixture(scope="module")
def run16():
    return lazy_training.side_by_side(16)


def test_two_layer_is_the_notebook_network():
    model = lazy_training.two_layer(8)
    assert model == cu.MLP(in_dim=2, width=8, depth=1, sb2=0.0)
    assert model.activation == "relu" and model.parameterization == "ntk"
    with pytest.raises(ValueError, match="width"):
        lazy_training.two_layer(0)


def test_grid_inputs_and_weight_vector():
    x, X = lazy_training.grid_inputs(11)
    assert x.shape == (11,) and X.shape == (11, 2)
    np.testing.assert_allclose(X[:, 1], 1.0)
    params = lazy_training.two_layer(8).init(0)
    flat = lazy_training.weight_vector(params)
    assert flat.shape == (3 * 8,)
    np.testing.assert_allclose(flat[:16], np.ravel(params[0]["W"]))
    np.testing.assert_allclose(flat[16:], np.ravel(params[1]["W"]))
    stacked = lazy_training.weight_vector(lazy_training.two_layer(8).init_many([0, 1]))
    assert stacked.shape == (2, 24)
    np.testing.assert_allclose(stacked[0], flat)
    with pytest.raises(ValueError, match="size"):
        lazy_training.grid_inputs(1)


def test_linearized_apply_is_the_linearization_and_keeps_theta0_fixed():
    model = lazy_training.two_layer(8)
    params0, other = model.init(3), model.init(4)
    _, X, y = cu.interval_problem()
    apply_lin = lazy_training.linearized_apply(model)
    assert lazy_training.linearized_apply(model) is apply_lin  # one object: one compile
    f_lin = cu.linearize(model.apply, params0)
    np.testing.assert_allclose(apply_lin({"theta": other, "theta0": params0}, X), f_lin(other, X), rtol=1e-12)
    joint = cu.train(apply_lin, {"theta": params0, "theta0": params0}, X, y, lr=0.05, steps=50)
    alone = cu.train(f_lin, params0, X, y, lr=0.05, steps=50)
    np.testing.assert_allclose(joint.params["theta"][0]["W"], alone.params[0]["W"], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(joint.params["theta0"][0]["W"], params0[0]["W"])


def test_side_by_side_start_together_from_the_network(run16):
    model = lazy_training.two_layer(16)
    params0 = model.init(lazy_training.SEEDS[0])
    _, grid = lazy_training.grid_inputs()
    np.testing.assert_allclose(run16.net_grid[0, 0], model.apply(params0, grid), rtol=1e-12)
    np.testing.assert_allclose(run16.lin_grid[0, 0], run16.net_grid[0, 0], rtol=1e-12)
    assert np.all(run16.gap[:, 0] == 0) and np.all(run16.rel_change[:, 0] == 0)
    assert run16.times[0] == 0 and np.isclose(run16.times[-1], lazy_training.LR * lazy_training.STEPS)
    S, R = run16.net_loss.shape
    assert S == len(lazy_training.SEEDS) and run16.net_grid.shape == (S, R, lazy_training.GRID_SIZE)


def test_side_by_side_match_direct_training(run16):
    """Seed 1 of the batched runs equals training that seed alone, network and linearization."""
    model = lazy_training.two_layer(16)
    params0 = model.init(lazy_training.SEEDS[1])
    _, X, y = cu.interval_problem()
    _, grid = lazy_training.grid_inputs()
    steps = np.rint(run16.times / lazy_training.LR).astype(int)
    kwargs = {"lr": lazy_training.LR, "steps": lazy_training.STEPS, "record_steps": steps, "record_params": True}
    net = cu.train(model.apply, params0, X, y, **kwargs)
    f_lin = cu.linearize(model.apply, params0)
    lin = cu.train(f_lin, params0, X, y, **kwargs)
    np.testing.assert_allclose(run16.net_loss[1], net.loss, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(run16.lin_loss[1], lin.loss, rtol=1e-9, atol=1e-14)
    k = len(steps) // 2
    net_k, lin_k = cu.run_slice(net.param_history, k), cu.run_slice(lin.param_history, k)
    np.testing.assert_allclose(run16.net_grid[1, k], model.apply(net_k, grid), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(run16.lin_grid[1, k], f_lin(lin_k, grid), rtol=1e-9, atol=1e-12)
    w0 = lazy_training.weight_vector(params0)
    moved = lazy_training.weight_vector(net.params) - w0
    np.testing.assert_allclose(run16.rel_change[1, -1], jnp.linalg.norm(moved) / jnp.linalg.norm(w0), rtol=1e-9)
    np.testing.assert_allclose(run16.max_move[1], jnp.max(jnp.abs(moved)), rtol=1e-9)
    np.testing.assert_allclose(run16.move_net[1], jnp.linalg.norm(moved), rtol=1e-9)
    moved_lin = lazy_training.weight_vector(lin.params) - w0
    np.testing.assert_allclose(run16.move_lin[1], jnp.linalg.norm(moved_lin), rtol=1e-9)
    np.testing.assert_allclose(run16.theta0_norm[1], jnp.linalg.norm(w0), rtol=1e-12)
    gap = jnp.sqrt(jnp.mean((model.apply(net.params, grid) - f_lin(lin.params, grid)) ** 2))
    np.testing.assert_allclose(run16.gap[1, -1], gap, rtol=1e-9)


def test_biases_never_move(run16):
    np.testing.assert_array_equal(run16.final_params[0]["b"], run16.params0[0]["b"])
    np.testing.assert_array_equal(run16.final_params[1]["b"], run16.params0[1]["b"])


def test_both_models_fit_and_the_linear_model_converges(run16):
    assert np.all(run16.lin_loss[:, -1] < 0.05 * run16.lin_loss[:, 0])
    assert np.all(run16.net_loss[:, -1] < 0.05 * run16.net_loss[:, 0])


def test_width_sweep():
    sweep = lazy_training.width_sweep(widths=(16, 64))
    assert sweep.widths.tolist() == [16.0, 64.0]
    for field in ("rel_change", "gap", "max_move", "move_net", "move_lin"):
        assert getattr(sweep, field).shape == (2,) and np.all(getattr(sweep, field) > 0)
    assert sweep.rel_change[1] < sweep.rel_change[0]
    np.testing.assert_allclose(sweep.theta0_norm / np.sqrt(3 * sweep.widths), 1.0, atol=0.15)
    run = lazy_training.side_by_side(64)
    np.testing.assert_allclose(sweep.rel_change[1], np.mean(run.rel_change[:, -1]), rtol=1e-14)
    np.testing.assert_allclose(sweep.gap[1], np.mean(run.gap[:, -1]), rtol=1e-14)
    np.testing.assert_allclose(sweep.move_lin[1], np.mean(run.move_lin), rtol=1e-14)
    with pytest.raises(ValueError, match="two widths"):
        lazy_training.width_sweep(widths=(16,))


def test_weight_paths_start_at_zero_and_include_the_biggest_move(run16):
    assert np.all(run16.weight_paths[0] == 0)
    np.testing.assert_allclose(np.abs(run16.weight_paths[-1, 0]), run16.max_move[0], rtol=1e-12)
    moved = lazy_training.weight_vector(run16.final_params)[0] - lazy_training.weight_vector(run16.params0)[0]
    np.testing.assert_allclose(run16.weight_paths[-1, 1], moved[2 * 16], rtol=1e-12)  # W2[0]
    np.testing.assert_allclose(run16.weight_paths[-1, 2], moved[0], rtol=1e-12)  # W1[0, 0]


def test_chord_losses(run16):
    chord = lazy_training.chord_losses(16)
    np.testing.assert_allclose(chord.net_loss[0], run16.net_loss[0, 0], rtol=1e-9)
    np.testing.assert_allclose(chord.lin_loss[0], chord.net_loss[0], rtol=1e-12)
    np.testing.assert_allclose(chord.net_loss[-1], run16.net_loss[0, -1], rtol=1e-6, atol=1e-12)
    second_differences = np.diff(chord.lin_loss, 2)  # the linear model's loss is a parabola in s
    np.testing.assert_allclose(second_differences, second_differences[0], rtol=1e-6)
    # One point by hand: the midpoint of theta_0 -> theta_T.
    model = lazy_training.two_layer(16)
    _, X, y = cu.interval_problem()
    p0, pT = cu.run_slice(run16.params0, 0), cu.run_slice(run16.final_params, 0)
    mid = jax.tree_util.tree_map(lambda a, b: 0.5 * (a + b), p0, pT)
    half = lazy_training.chord_losses(16, s=[0.5])
    np.testing.assert_allclose(half.net_loss[0], 0.5 * np.sum((np.asarray(model.apply(mid, X)) - y) ** 2), rtol=1e-12)
    with pytest.raises(ValueError, match="s must"):
        lazy_training.chord_losses(16, s=np.ones((2, 2)))


# ---------------------------------------------------------------- the Taylor model and the convexity gap
def test_taylor_remainder_matches_a_direct_computation():
    result = lazy_training.taylor_remainder(16, eps=(1e-3, 1e-2))
    model = lazy_training.two_layer(16)
    _, X, _ = cu.interval_problem()
    p0, v = model.init(0), model.init(1)
    norm = np.sqrt(sum(float(jnp.sum(leaf**2)) for leaf in jax.tree_util.tree_leaves(v)))
    theta = jax.tree_util.tree_map(lambda p, d: p + 1e-2 * d / norm, p0, v)
    expected = np.max(np.abs(model.apply(theta, X) - cu.linearize(model.apply, p0)(theta, X)))
    np.testing.assert_allclose(result.errors[1], expected, rtol=1e-9)
    with pytest.raises(ValueError, match="eps"):
        lazy_training.taylor_remainder(16, eps=(1e-3,))


def test_claim_second_order_rejects_a_first_order_error():
    real = lazy_training.taylor_remainder()
    assert lazy_training.claim_second_order(real).holds
    first_order = real._replace(errors=real.errors[0] * real.eps / real.eps[0])
    assert not lazy_training.claim_second_order(first_order).holds
    third_order = real._replace(errors=real.errors * (real.eps / real.eps[0]))
    assert not lazy_training.claim_second_order(third_order).holds


def test_claim_convexity_gap_rejects_a_non_quadratic_gap():
    real = lazy_training.convexity_gap()
    assert lazy_training.claim_convexity_gap(real).holds
    assert not lazy_training.claim_convexity_gap(real._replace(measured=1.15 * real.measured)).holds
    assert not lazy_training.claim_convexity_gap(real._replace(measured=-real.measured, formula=-real.formula)).holds
    # The network's own loss is not quadratic: its midpoint gap misses the formula.
    model = lazy_training.two_layer(256)
    _, X, y = cu.interval_problem()
    p0 = model.init(0)
    a = jax.tree_util.tree_map(lambda p, v: p + 3.0 * v, p0, model.init(2))
    b = jax.tree_util.tree_map(lambda p, v: p - 2.0 * v, p0, model.init(3))
    mid = jax.tree_util.tree_map(lambda u, v: 0.5 * (u + v), a, b)
    loss = lambda t: 0.5 * float(jnp.sum((model.apply(t, X) - y) ** 2))
    network = lazy_training.ConvexityGap(loss(mid) - 0.5 * (loss(a) + loss(b)),
                                         -float(jnp.sum((model.apply(b, X) - model.apply(a, X)) ** 2)) / 8)
    assert not lazy_training.claim_convexity_gap(network).holds
    # the result carries the network's own numbers (printed next to the formula in the notebook)
    assert real.network_gap == pytest.approx(network.measured, rel=1e-12)
    assert real.network_formula == pytest.approx(network.formula, rel=1e-12)
    assert not lazy_training.claim_convexity_gap(real._replace(measured=real.network_gap, formula=real.network_formula)).holds


# ---------------------------------------------------------------- the sweep's claims, against wrong experiments
@pytest.fixture(scope="module")
def sweep():
    return lazy_training.width_sweep()


def test_claim_relative_change(sweep):
    assert lazy_training.claim_relative_change(sweep).holds
    assert not lazy_training.claim_relative_change(sweep._replace(rel_change=sweep.rel_change * sweep.widths**0.5)).holds
    assert not lazy_training.claim_relative_change(sweep._replace(rel_change=sweep.rel_change / sweep.widths**0.5)).holds


def test_claim_distance_flat(sweep):
    """Item 8: the network's own distance travelled is asserted flat; a distance that falls like the
    relative change (the denominator's N^-1/2) is rejected."""
    assert lazy_training.claim_distance_flat(sweep).holds
    falling = sweep._replace(move_net=sweep.move_net * (sweep.widths / sweep.widths[0]) ** -0.5)
    assert not lazy_training.claim_distance_flat(falling).holds
    growing_lin = sweep._replace(move_lin=sweep.move_lin * (sweep.widths / sweep.widths[0]) ** 0.25)
    assert not lazy_training.claim_distance_flat(growing_lin).holds


def test_claim_stays_linear(sweep):
    assert lazy_training.claim_stays_linear(sweep).holds
    flat = sweep._replace(gap=np.full_like(sweep.gap, sweep.gap[0]))
    assert not lazy_training.claim_stays_linear(flat).holds
    assert not lazy_training.claim_stays_linear(sweep._replace(gap=sweep.gap[0] * (sweep.widths / 64) ** -1.0)).holds
    # the printed verdict names its window and says how far the measured slope is from -1/2
    text = str(lazy_training.claim_stays_linear(sweep))
    low, high = lazy_training.STAYS_LINEAR_WINDOW
    assert f"({low}, {high})" in text and "standard errors away" in text and "pre-asymptotic" in text


def test_claim_single_weight(sweep):
    assert lazy_training.claim_single_weight(sweep).holds
    posts_count = sweep._replace(max_move=sweep.max_move[0] * (sweep.widths / sweep.widths[0]) ** -1.0)
    assert not lazy_training.claim_single_weight(posts_count).holds
    flat = sweep._replace(max_move=np.full_like(sweep.max_move, sweep.max_move[0]))
    assert not lazy_training.claim_single_weight(flat).holds
    assert "shallower than -1/2" in str(lazy_training.claim_single_weight(sweep))


# ---------------------------------------------------------------- the mean-field count
def test_mean_field_apply_is_the_ntk_output_over_sqrt_n():
    model = lazy_training.two_layer(64)
    params = model.init(0)
    _, X, _ = cu.interval_problem()
    apply_mf = lazy_training.mean_field_apply(model)
    assert lazy_training.mean_field_apply(model) is apply_mf
    np.testing.assert_allclose(apply_mf(params, X), model.apply(params, X) / 8.0, rtol=1e-14)


def test_time_to_fit():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    assert lazy_training.time_to_fit(times, np.array([1.0, 0.1, 0.001, 1e-4])) == pytest.approx(1.5)
    assert lazy_training.time_to_fit(times, np.array([1.0, 0.5, 0.4, 0.3])) == np.inf


def test_mean_field_run_matches_a_direct_computation():
    """Seed 1 of the batched run equals training the mean-field net alone at lr = eta_0 N; the
    kernel is the NTK over N; a fixed learning rate needs N times more steps for the same run."""
    N = 64
    run = lazy_training.mean_field_run(N)
    model = lazy_training.two_layer(N)
    apply_mf = lazy_training.mean_field_apply(model)
    _, X, y = cu.interval_problem()
    params0 = model.init(lazy_training.SEEDS[1])
    assert run.lr == lazy_training.MEAN_FIELD_LR * N
    steps = np.rint(run.times / run.lr).astype(int)
    alone = cu.train(apply_mf, params0, X, y, lr=run.lr, steps=lazy_training.MEAN_FIELD_STEPS, record_steps=steps)
    np.testing.assert_allclose(run.loss[1], alone.loss, rtol=1e-8, atol=1e-14)
    w0 = lazy_training.weight_vector(params0)
    moved = np.asarray(lazy_training.weight_vector(alone.params) - w0)
    np.testing.assert_allclose(run.typical_move[1], np.linalg.norm(moved) / np.sqrt(3 * N), rtol=1e-8)
    np.testing.assert_allclose(run.max_move[1], np.max(np.abs(moved)), rtol=1e-8)
    K0 = np.asarray(cu.empirical_ntk(model, params0, X, method="jacobian")) / N
    np.testing.assert_allclose(run.lambda_max0[1], np.linalg.eigvalsh(K0)[-1], rtol=1e-9)
    np.testing.assert_allclose(run.fit_time[1], lazy_training.time_to_fit(run.times, run.loss[1]), rtol=1e-12)
    grad = jax.grad(lambda p: 0.5 * jnp.sum((apply_mf(p, X) - y) ** 2))(params0)
    np.testing.assert_allclose(run.grad_rms[1], np.sqrt(np.mean(np.asarray(lazy_training.weight_vector(grad)) ** 2)),
                               rtol=1e-9)
    # The same flow at a learning rate N times smaller, for N times more steps, ends at nearly the same loss.
    k = int(np.searchsorted(run.times, 50.0))
    slow = cu.train(apply_mf, params0, X, y, lr=lazy_training.MEAN_FIELD_LR, steps=int(steps[k]) * N)
    np.testing.assert_allclose(slow.loss[-1], run.loss[1, k], rtol=0.05)


@pytest.fixture(scope="module")
def mean_field():
    return lazy_training.mean_field_sweep()


def test_mean_field_sweep_is_the_runs(mean_field):
    run = lazy_training.mean_field_run(256)
    at = list(mean_field.widths).index(256)
    np.testing.assert_allclose(mean_field.fit_time[at], np.mean(run.fit_time), rtol=1e-14)
    np.testing.assert_allclose(mean_field.kernel_change[at], np.mean(run.kernel_change), rtol=1e-14)
    with pytest.raises(ValueError, match="two widths"):
        lazy_training.mean_field_sweep(widths=(64,))


def test_claim_mean_field_kernel(mean_field):
    assert lazy_training.claim_mean_field_kernel(mean_field).holds
    ntk = mean_field._replace(lambda_max0=mean_field.lambda_max0 * mean_field.widths)  # the NTK's O(1) kernel
    assert not lazy_training.claim_mean_field_kernel(ntk).holds
    assert not lazy_training.claim_mean_field_kernel(mean_field._replace(lambda_max0=mean_field.lambda_max0 * mean_field.widths**0.2)).holds
    assert str(lazy_training.claim_mean_field_kernel(mean_field)).startswith("[holds] identity check")


def test_claim_mean_field_per_step(mean_field):
    assert lazy_training.claim_mean_field_per_step(mean_field).holds
    ntk_count = mean_field._replace(grad_rms=mean_field.grad_rms * np.sqrt(mean_field.widths))
    assert not lazy_training.claim_mean_field_per_step(ntk_count).holds


def test_claim_mean_field_fit_time(mean_field):
    assert lazy_training.claim_mean_field_fit_time(mean_field).holds
    flat = mean_field._replace(fit_time=np.full_like(mean_field.fit_time, mean_field.fit_time[0]))
    assert not lazy_training.claim_mean_field_fit_time(flat).holds
    sqrt_n = mean_field._replace(fit_time=mean_field.fit_time / np.sqrt(mean_field.widths))
    assert not lazy_training.claim_mean_field_fit_time(sqrt_n).holds


def test_claim_mean_field_weights_move(mean_field):
    assert lazy_training.claim_mean_field_weights_move(mean_field).holds
    widths = mean_field.widths / mean_field.widths[0]
    lazy = mean_field._replace(typical_move=mean_field.typical_move * widths**-0.5)
    assert not lazy_training.claim_mean_field_weights_move(lazy).holds
    frozen_kernel = mean_field._replace(kernel_change=mean_field.kernel_change * 0.01)
    assert not lazy_training.claim_mean_field_weights_move(frozen_kernel).holds
