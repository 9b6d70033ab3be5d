"""Notebook 01 (non-convexity): symmetries, barriers, seed runs and the exercise checks."""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

import course_utils as cu
from course_utils import nb01

X_ = nb01.dataset()[1]
Y_ = nb01.dataset()[2]


@pytest.fixture(scope="module")
def net():
    model = nb01.two_layer(16)
    return model, model.init(cu.key(0))


# ---------------------------------------------------------------- data and model
def test_dataset_shapes_and_values():
    x, X, y = nb01.dataset()
    assert x.shape == (8, 1) and X.shape == (8, 2) and y.shape == (8,)
    np.testing.assert_allclose(x[:, 0], np.linspace(-1, 1, 8))
    np.testing.assert_allclose(X[:, 1], 1.0)
    np.testing.assert_allclose(y, np.sin(3 * x[:, 0]) + 0.3 * x[:, 0])
    with pytest.raises(ValueError, match="n"):
        nb01.dataset(1)


def test_two_layer_is_the_bias_free_ntk_mlp():
    model = nb01.two_layer(32)
    assert model == cu.MLP(in_dim=2, width=32, depth=1, activation="relu", sb2=0.0)
    assert nb01.two_layer(8, activation="tanh").activation == "tanh"
    with pytest.raises(ValueError, match="width"):
        nb01.two_layer(0)


def test_loss_is_half_squared_error(net):
    model, params = net
    expected = 0.5 * np.sum((np.asarray(model.apply(params, X_)) - np.asarray(Y_)) ** 2)
    np.testing.assert_allclose(float(nb01.loss(model, params, X_, Y_)), expected, rtol=1e-12)


def test_numpy_forward_and_linearization_match_jax(net):
    model, params = net
    other = model.init(cu.key(5))
    np.testing.assert_allclose(nb01.forward_numpy(model, params, X_), model.apply(params, X_), rtol=1e-12, atol=1e-14)
    f_lin = cu.linearize(model.apply, params)
    lin = nb01.linearized_numpy(model, other, params, X_)
    np.testing.assert_allclose(lin, f_lin(other, X_), rtol=1e-10, atol=1e-12)
    stacked = jax.tree_util.tree_map(lambda a, b: np.stack([np.asarray(a), np.asarray(b)]), params, other)
    batch = nb01.forward_numpy(model, stacked, X_)
    assert batch.shape == (2, 8)
    np.testing.assert_allclose(batch[1], model.apply(other, X_), rtol=1e-12, atol=1e-14)
    for bad in (nb01.two_layer(16, activation="tanh"), cu.MLP(in_dim=2, width=16, depth=2)):
        with pytest.raises(ValueError, match="one-hidden-layer ReLU"):
            nb01.forward_numpy(bad, params, X_)


def test_init_batch_is_deterministic_with_unit_variance():
    a = nb01.init_batch(64, 3, seed=1)
    b = nb01.init_batch(64, 3, seed=1)
    assert [leaf.shape for leaf in jax.tree_util.tree_leaves(a)] == [(3, 2, 64), (3, 64), (3, 64, 1), (3, 1)]
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert abs(float(jnp.std(a[0]["W"])) - 1.0) < 0.1
    assert not np.array_equal(nb01.init_batch(64, 3, seed=2)[0]["W"], a[0]["W"])
    first = nb01.seed_params(16, 2)
    np.testing.assert_array_equal(first[0]["W"], nb01.init_batch(16, nb01.N_SEEDS, nb01.SEED_BASE)[0]["W"][2])
    with pytest.raises(ValueError, match="width"):
        nb01.init_batch(0, 3, seed=1)


# ---------------------------------------------------------------- symmetries
@pytest.mark.parametrize("c", [0.1, 0.5, 2.0, 7.0])
def test_relu_rescaling_leaves_outputs_unchanged(net, c):
    model, params = net
    rescaled = nb01.rescale(params, c)
    np.testing.assert_allclose(rescaled[0]["W"], params[0]["W"] / c)
    np.testing.assert_allclose(rescaled[1]["W"], params[1]["W"] * c)
    assert np.max(np.abs(model.apply(rescaled, X_) - model.apply(params, X_))) < 1e-12


def test_tanh_and_negative_c_break_the_rescaling(net):
    model, params = net
    tanh = nb01.two_layer(16, activation="tanh")
    assert np.max(np.abs(tanh.apply(nb01.rescale(params, 2.0), X_) - tanh.apply(params, X_))) > 1e-3
    assert np.max(np.abs(model.apply(nb01.rescale(params, -1.0), X_) - model.apply(params, X_))) > 1e-3


def test_rescaling_scales_the_gradients_by_c_and_one_over_c(net):
    model, params = net
    grad = jax.grad(lambda p: nb01.loss(model, p, X_, Y_))
    c = 3.0
    g, g_c = grad(params), grad(nb01.rescale(params, c))
    np.testing.assert_allclose(g_c[0]["W"], c * g[0]["W"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g_c[1]["W"], g[1]["W"] / c, rtol=1e-9, atol=1e-12)


def test_rescale_rejects_bad_input(net):
    _, params = net
    for bad in (0.0, float("nan"), float("inf"), "2"):
        with pytest.raises(ValueError, match="c"):
            nb01.rescale(params, bad)
    with pytest.raises(ValueError, match="params"):
        nb01.rescale(params[:1], 2.0)
    with pytest.raises(ValueError, match="params"):
        nb01.rescale(cu.MLP(in_dim=2, width=4, depth=2).init(0), 2.0)


def test_permutation_leaves_outputs_unchanged_and_moves_units(net):
    model, params = net
    perm = np.random.default_rng(0).permutation(16)
    permuted = nb01.permute_hidden(params, perm)
    np.testing.assert_allclose(permuted[0]["W"][:, 3], params[0]["W"][:, perm[3]])
    np.testing.assert_allclose(permuted[1]["W"][3], params[1]["W"][perm[3]])
    np.testing.assert_allclose(permuted[1]["b"], params[1]["b"])
    assert np.max(np.abs(model.apply(permuted, X_) - model.apply(params, X_))) < 1e-12
    identity = nb01.permute_hidden(params, np.arange(16))
    for a, b in zip(jax.tree_util.tree_leaves(identity), jax.tree_util.tree_leaves(params)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("perm", [np.arange(15), np.zeros(16, dtype=int), np.arange(16) + 0.0, "abc"])
def test_permute_hidden_rejects_non_permutations(net, perm):
    _, params = net
    with pytest.raises(ValueError, match="permutation"):
        nb01.permute_hidden(params, perm)


def test_interpolate_and_segment_losses(net):
    model, params = net
    other = model.init(cu.key(1))
    mixed = nb01.interpolate(params, other, 0.25)[0]["W"]
    np.testing.assert_allclose(mixed, 0.75 * params[0]["W"] + 0.25 * other[0]["W"])
    s = np.array([0.0, 0.5, 1.0])
    losses = nb01.segment_losses(model, params, other, X_, Y_, s)
    assert losses.shape == (3,)
    np.testing.assert_allclose(losses[0], nb01.loss(model, params, X_, Y_), rtol=1e-12)
    np.testing.assert_allclose(losses[2], nb01.loss(model, other, X_, Y_), rtol=1e-12)
    with pytest.raises(ValueError, match="structure"):
        nb01.interpolate(params, params[0], 0.5)
    with pytest.raises(ValueError, match="X"):
        nb01.segment_losses(model, params, other, X_[:, :1], Y_)
    with pytest.raises(ValueError, match="model"):
        nb01.segment_losses("not a model", params, other, X_, Y_)


def test_plane_losses_corners(net):
    model, params = net
    p1, p2 = model.init(cu.key(1)), model.init(cu.key(2))
    uv = np.array([0.0, 0.5, 1.0])
    plane = nb01.plane_losses(model, params, p1, p2, X_, Y_, uv, uv[:2])
    assert plane.shape == (2, 3)
    for (row, col), p in [((0, 0), params), ((0, 2), p1)]:
        np.testing.assert_allclose(plane[row, col], nb01.loss(model, p, X_, Y_), rtol=1e-12)
    full = nb01.plane_losses(model, params, p1, p2, X_, Y_, uv, uv)
    np.testing.assert_allclose(full[2, 0], nb01.loss(model, p2, X_, Y_), rtol=1e-12)


# ---------------------------------------------------------------- the one-unit example
def test_one_unit_loss_values():
    assert nb01.one_unit_loss(0.5, 2.0) == 0.0 and nb01.one_unit_loss(2.0, 0.5) == 0.0
    np.testing.assert_allclose(nb01.one_unit_loss(1.25, 1.25), 81 / 512)
    np.testing.assert_allclose(nb01.one_unit_loss(np.array([-1.0, -3.0]), 5.0), [0.5, 0.5])


def test_one_unit_figure():
    fig = nb01.plot_one_unit_landscape()
    assert len(fig.axes) == 3  # two panels and a colorbar
    plt.close(fig)


# ---------------------------------------------------------------- seeds over width and time
def test_seed_runs_match_a_direct_training_run():
    runs = nb01.seed_runs(16)
    assert runs.losses.shape == (nb01.N_SEEDS, len(runs.times))
    assert runs.times[0] == 0 and np.isclose(runs.times[-1], nb01.LR * nb01.STEPS)
    model = nb01.two_layer(16)
    index = 3
    params = nb01.seed_params(16, index)
    _, X, y = nb01.dataset()
    steps = np.rint(runs.times / nb01.LR).astype(int)
    direct = cu.train(model.apply, params, X, y, lr=nb01.LR, steps=nb01.STEPS, record_steps=steps)
    np.testing.assert_allclose(runs.losses[index], direct.loss, rtol=1e-9, atol=1e-14)
    final = nb01.trained_params(16, index)
    np.testing.assert_allclose(final[1]["W"], direct.params[1]["W"], rtol=1e-9, atol=1e-12)


def test_seed_runs_are_cached_and_deterministic():
    assert nb01.seed_runs(16) is nb01.seed_runs(16)
    again = nb01.seed_runs.__wrapped__(16)
    np.testing.assert_array_equal(again.losses, nb01.seed_runs(16).losses)


def test_success_fraction():
    losses = np.array([[1.0, 1e-2, 1e-4], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(nb01.success_fraction(losses, 1e-3), [0.0, 0.0, 0.5])
    with pytest.raises(ValueError, match="losses"):
        nb01.success_fraction(np.ones(3))
    with pytest.raises(ValueError, match="threshold"):
        nb01.success_fraction(losses, 0.0)


def test_wider_networks_succeed_more_often():
    narrow = nb01.success_fraction(nb01.seed_runs(16).losses)[-1]
    wide = nb01.success_fraction(nb01.seed_runs(256).losses)[-1]
    assert narrow <= 0.3 and wide >= 0.9


def test_stuck_runs_are_the_failures_at_a_stationary_point():
    rows = nb01.stuck_runs(16)
    failures = np.sum(nb01.seed_runs(16).losses[:, -1] >= nb01.THRESHOLD)
    assert len(rows) == failures > 0
    assert all(loss >= nb01.THRESHOLD for _, loss, _, _ in rows)
    stationary = [r for r in rows if r[2] < 1e-3]
    assert len(stationary) >= 3  # several runs stop at a stationary point with positive loss
    with pytest.raises(ValueError, match="threshold"):
        nb01.stuck_runs(16, threshold=-1.0)


def test_trained_params_rejects_bad_index():
    with pytest.raises(ValueError, match="seed_index"):
        nb01.trained_params(16, nb01.N_SEEDS)


# ---------------------------------------------------------------- the barrier
def test_permutations_for():
    p, q = nb01.permutations_for(16)
    for perm in (p, q):
        assert sorted(perm) == list(range(16)) and not np.array_equal(perm, np.arange(16))
    assert not np.array_equal(p, q)
    np.testing.assert_array_equal(nb01.permutations_for(16)[0], p)
    with pytest.raises(ValueError, match="width"):
        nb01.permutations_for(2)


def test_segment_runs_match_a_direct_segment():
    run = nb01.segment_runs(16)
    model = nb01.two_layer(16)
    perm, _ = nb01.permutations_for(16)
    history = nb01.seed_runs(16).first_history
    for k in (0, len(run.times) - 1):
        theta = [{n: jnp.asarray(v[k]) for n, v in layer.items()} for layer in history]
        direct = nb01.segment_losses(model, theta, nb01.permute_hidden(theta, perm), X_, Y_, run.s)
        np.testing.assert_allclose(run.segment[k], direct, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(run.loss_path[k], direct[list(run.s).index(0.0)], rtol=1e-9)
    assert run.plane.shape == (len(run.times), len(run.v), len(run.u))


def test_barrier_between_permuted_minima():
    for width, (end_a, end_b, mid) in nb01.barrier_check(widths=(16, 64)).items():
        np.testing.assert_allclose(end_a, end_b, rtol=1e-9)
        assert mid > 0.5 * (end_a + end_b) + 0.1


# ---------------------------------------------------------------- exercise checks
def test_permute_hidden_check_accepts_the_solution():
    assert nb01.check_permute_hidden(nb01.permute_hidden_solution)
    assert nb01.check_permute_hidden(nb01.permute_hidden)
    assert cu.exercises.get_solution("01.permute_hidden") is nb01.permute_hidden_solution


def test_permute_hidden_check_explains_wrong_answers():
    def unchanged(params, perm):
        return params

    def inverse(params, perm):
        return nb01.permute_hidden(params, np.argsort(perm))

    def first_layer_only(params, perm):
        return [{"W": params[0]["W"][:, perm], "b": params[0]["b"][perm]}, params[1]]

    def stub(params, perm):
        raise NotImplementedError

    expectations = [
        (unchanged, "unchanged"),
        (inverse, "inverse"),
        (first_layer_only, "outputs changed"),
        (stub, "NotImplementedError"),
    ]
    for fn, phrase in expectations:
        verdict = nb01.check_permute_hidden(fn)
        assert not verdict and phrase in verdict.message, (fn.__name__, verdict.message)
    assert not nb01.check_permute_hidden("not a function")


def test_convexity_gap_check():
    assert nb01.check_convexity_gap(nb01.convexity_gap_solution)
    one_unit = lambda t: float(nb01.one_unit_loss(t[0], t[1]))  # noqa: E731
    gap = nb01.convexity_gap_solution(one_unit, np.array([0.5, 2.0]), np.array([2.0, 0.5]), 0.5)
    np.testing.assert_allclose(gap, 81 / 512)

    def flipped(loss_fn, a, b, s):
        return -nb01.convexity_gap_solution(loss_fn, a, b, s)

    def swapped(loss_fn, a, b, s):
        return loss_fn(s * a + (1 - s) * b) - ((1 - s) * loss_fn(a) + s * loss_fn(b))

    def stub(loss_fn, a, b, s):
        raise NotImplementedError

    for fn, phrase in [(flipped, "sign"), (swapped, "s = "), (stub, "NotImplementedError")]:
        verdict = nb01.check_convexity_gap(fn)
        assert not verdict and phrase in verdict.message, (fn.__name__, verdict.message)
    assert cu.exercises.get_solution("01.convexity_gap") is nb01.convexity_gap_solution
