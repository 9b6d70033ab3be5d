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
