"""Notebook 02 (linearization): side-by-side runs, the sweep numbers and the exercise checks."""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

import course_utils as cu
from course_utils import nb02


@pytest.fixture(scope="module")
def run16():
    return nb02.pair_runs(16)


def test_grid_inputs_and_weights():
    x, X = nb02.grid_inputs(11)
    assert x.shape == (11,) and X.shape == (11, 2)
    np.testing.assert_allclose(X[:, 1], 1.0)
    params = nb02.two_layer(8).init(cu.key(0))
    flat = nb02.weights(params)
    assert flat.shape == (3 * 8,)
    np.testing.assert_allclose(flat[:16], np.ravel(params[0]["W"]))
    with pytest.raises(ValueError, match="size"):
        nb02.grid_inputs(1)


def test_side_by_side_is_two_independent_models():
    model = nb02.two_layer(8)
    params0 = model.init(cu.key(3))
    both, stack = nb02.side_by_side(model, params0)
    _, X, y = nb02.dataset()
    other = model.init(cu.key(4))
    out = both({"net": other, "lin": other}, stack(X))
    np.testing.assert_allclose(out[:8], model.apply(other, X), rtol=1e-12)
    np.testing.assert_allclose(out[8:], cu.linearize(model.apply, params0)(other, X), rtol=1e-12)
    joint = cu.train(both, {"net": params0, "lin": params0}, stack(X), stack(y), lr=0.05, steps=50)
    alone = cu.train(model.apply, params0, X, y, lr=0.05, steps=50)
    np.testing.assert_allclose(joint.params["net"][0]["W"], alone.params[0]["W"], rtol=1e-12, atol=1e-14)


def test_pair_runs_start_together_from_the_network(run16):
    model = nb02.two_layer(16)
    params0 = nb02.seed_params(16, 0)
    _, grid = nb02.grid_inputs()
    np.testing.assert_allclose(run16.net_grid[0, 0], model.apply(params0, grid), rtol=1e-12)
    np.testing.assert_allclose(run16.lin_grid[0, 0], run16.net_grid[0, 0], rtol=1e-12)
    assert np.all(run16.gap[:, 0] == 0) and np.all(run16.rel_change[:, 0] == 0)
    assert run16.times[0] == 0 and np.isclose(run16.times[-1], nb02.LR * nb02.STEPS)
    S, R = run16.net_loss.shape
    assert S == nb02.N_SEEDS and run16.net_grid.shape == (S, R, nb02.GRID_SIZE)


def test_pair_runs_match_direct_training(run16):
    model = nb02.two_layer(16)
    params0 = nb02.seed_params(16, 1)
    _, X, y = nb02.dataset()
    _, grid = nb02.grid_inputs()
    steps = np.rint(run16.times / nb02.LR).astype(int)
    net = cu.train(model.apply, params0, X, y, lr=nb02.LR, steps=nb02.STEPS, record_steps=steps, record_params=True)
    f_lin = cu.linearize(model.apply, params0)
    lin = cu.train(f_lin, params0, X, y, lr=nb02.LR, steps=nb02.STEPS, record_steps=steps)
    np.testing.assert_allclose(run16.net_loss[1], net.loss, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(run16.lin_loss[1], lin.loss, rtol=1e-9, atol=1e-14)
    k = len(steps) // 2
    params_k = jax.tree_util.tree_map(lambda a: a[k], net.param_history)
    np.testing.assert_allclose(run16.net_grid[1, k], model.apply(params_k, grid), rtol=1e-9, atol=1e-12)
    moved = nb02.weights(net.params) - nb02.weights(params0)
    relative = jnp.linalg.norm(moved) / jnp.linalg.norm(nb02.weights(params0))
    np.testing.assert_allclose(run16.rel_change[1, -1], relative, rtol=1e-9)
    np.testing.assert_allclose(run16.max_move[1], jnp.max(jnp.abs(moved)), rtol=1e-9)


def test_both_models_fit_and_the_linear_model_converges(run16):
    assert np.all(run16.lin_loss[:, -1] < 0.05 * run16.lin_loss[:, 0])
    assert np.all(run16.net_loss[:, -1] < 0.05 * run16.net_loss[:, 0])


def test_weight_sweep_and_slope():
    sweep = nb02.weight_sweep(widths=(16, 64))
    assert sweep.widths.tolist() == [16.0, 64.0]
    for field in ("rel_change", "gap", "max_move", "move_net", "move_lin"):
        assert getattr(sweep, field).shape == (2,) and np.all(getattr(sweep, field) > 0)
    assert sweep.rel_change[1] < sweep.rel_change[0]
    np.testing.assert_allclose(sweep.theta0_norm / np.sqrt(3 * sweep.widths), 1.0, atol=0.15)
    with pytest.raises(ValueError, match="two widths"):
        nb02.weight_sweep(widths=(16,))


def test_loglog_slope():
    w = np.array([4.0, 16.0, 64.0])
    slope, intercept = nb02.loglog_slope(w, 3.0 * w**-0.5)
    np.testing.assert_allclose([slope, np.exp(intercept)], [-0.5, 3.0])
    with pytest.raises(ValueError, match="positive"):
        nb02.loglog_slope(w, -w)
    with pytest.raises(ValueError, match="same length"):
        nb02.loglog_slope(w, w[:2])


def test_chord_losses(run16):
    s, net, lin = nb02.chord_losses(16)
    np.testing.assert_allclose(net[0], run16.net_loss[0, 0], rtol=1e-9)
    np.testing.assert_allclose(lin[0], net[0], rtol=1e-12)
    np.testing.assert_allclose(net[-1], run16.net_loss[0, -1], rtol=1e-6, atol=1e-12)
    second_differences = np.diff(lin, 2)  # the linear model's loss is a parabola in s
    np.testing.assert_allclose(second_differences, second_differences[0], rtol=1e-6)
    with pytest.raises(ValueError, match="s must"):
        nb02.chord_losses(16, s=np.ones((2, 2)))


def test_static_figures(run16):
    sweep = nb02.weight_sweep(widths=(16, 64))
    for fig in (nb02.plot_sweep(sweep), nb02.plot_weight_paths((16, 64)), nb02.plot_chords((16,))):
        assert len(fig.axes) >= 1
        plt.close(fig)
    with pytest.raises(ValueError, match="weight_sweep"):
        nb02.plot_sweep("not a sweep")


def test_weight_paths_start_at_zero_and_include_the_biggest_move(run16):
    assert np.all(run16.weight_paths[0] == 0)
    np.testing.assert_allclose(np.abs(run16.weight_paths[-1, 0]), run16.max_move[0], rtol=1e-12)


# ---------------------------------------------------------------- exercise checks
def test_linearize_check_accepts_correct_answers():
    assert nb02.check_linearize(nb02.linearize_solution)
    assert nb02.check_linearize(cu.linearize)
    assert cu.exercises.get_solution("02.linearize") is nb02.linearize_solution


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
        verdict = nb02.check_linearize(fn)
        assert not verdict and phrase in verdict.message, (fn.__name__, verdict.message)


def test_extrapolate_check():
    assert nb02.check_extrapolate(nb02.extrapolate_solution)
    w = np.array([64.0, 256.0, 1024.0])
    np.testing.assert_allclose(nb02.extrapolate_solution(w, 2.0 * w**-0.5, 4096.0), 2.0 / 64.0)

    def linear_fit(widths, values, new_width):
        slope, intercept = np.polyfit(widths, values, 1)
        return intercept + slope * new_width

    def stub(widths, values, new_width):
        raise NotImplementedError

    assert not nb02.check_extrapolate(linear_fit)
    verdict = nb02.check_extrapolate(stub)
    assert not verdict and "NotImplementedError" in verdict.message
    assert cu.exercises.get_solution("02.extrapolate") is nb02.extrapolate_solution
