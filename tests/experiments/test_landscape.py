"""Notebook 01 (non-convexity): symmetries, barriers and seed runs of experiments.landscape."""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import landscape
from course_utils.figures import nb01 as figures

_, X_, Y_ = cu.interval_problem()


@pytest.fixture(scope="module")
def net():
    model = landscape.two_layer(16)
    return model, model.init(cu.key(0))


# ---------------------------------------------------------------- data and model
def test_two_layer_is_the_bias_free_ntk_mlp():
    model = landscape.two_layer(32)
    assert model == cu.MLP(in_dim=2, width=32, depth=1, activation="relu", sb2=0.0)
    assert landscape.two_layer(8, activation="tanh").activation == "tanh"
    with pytest.raises(ValueError, match="width"):
        landscape.two_layer(0)


def test_loss_is_half_squared_error(net):
    model, params = net
    expected = 0.5 * np.sum((np.asarray(model.apply(params, X_)) - np.asarray(Y_)) ** 2)
    np.testing.assert_allclose(float(landscape.loss(model, params, X_, Y_)), expected, rtol=1e-12)


# ---------------------------------------------------------------- symmetries
@pytest.mark.parametrize("c", [0.1, 0.5, 2.0, 7.0])
def test_relu_rescaling_leaves_outputs_unchanged(net, c):
    model, params = net
    rescaled = landscape.rescale(params, c)
    np.testing.assert_allclose(rescaled[0]["W"], params[0]["W"] / c)
    np.testing.assert_allclose(rescaled[1]["W"], params[1]["W"] * c)
    assert np.max(np.abs(model.apply(rescaled, X_) - model.apply(params, X_))) < 1e-12


def test_tanh_and_negative_c_break_the_rescaling(net):
    model, params = net
    tanh = landscape.two_layer(16, activation="tanh")
    assert np.max(np.abs(tanh.apply(landscape.rescale(params, 2.0), X_) - tanh.apply(params, X_))) > 1e-3
    assert np.max(np.abs(model.apply(landscape.rescale(params, -1.0), X_) - model.apply(params, X_))) > 1e-3


def test_rescaling_scales_the_gradients_by_c_and_one_over_c(net):
    model, params = net
    grad = jax.grad(lambda p: landscape.loss(model, p, X_, Y_))
    c = 3.0
    g, g_c = grad(params), grad(landscape.rescale(params, c))
    np.testing.assert_allclose(g_c[0]["W"], c * g[0]["W"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g_c[1]["W"], g[1]["W"] / c, rtol=1e-9, atol=1e-12)


def test_rescale_rejects_bad_input(net):
    _, params = net
    for bad in (0.0, float("nan"), float("inf"), "2"):
        with pytest.raises(ValueError, match="c"):
            landscape.rescale(params, bad)
    with pytest.raises(ValueError, match="params"):
        landscape.rescale(params[:1], 2.0)
    with pytest.raises(ValueError, match="params"):
        landscape.rescale(cu.MLP(in_dim=2, width=4, depth=2).init(0), 2.0)


def test_permutation_leaves_outputs_unchanged_and_moves_units(net):
    model, params = net
    perm = np.random.default_rng(0).permutation(16)
    permuted = landscape.permute_hidden(params, perm)
    np.testing.assert_allclose(permuted[0]["W"][:, 3], params[0]["W"][:, perm[3]])
    np.testing.assert_allclose(permuted[1]["W"][3], params[1]["W"][perm[3]])
    np.testing.assert_allclose(permuted[1]["b"], params[1]["b"])
    assert np.max(np.abs(model.apply(permuted, X_) - model.apply(params, X_))) < 1e-12
    identity = landscape.permute_hidden(params, np.arange(16))
    for a, b in zip(jax.tree_util.tree_leaves(identity), jax.tree_util.tree_leaves(params)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("perm", [np.arange(15), np.zeros(16, dtype=int), np.arange(16) + 0.0, "abc"])
def test_permute_hidden_rejects_non_permutations(net, perm):
    _, params = net
    with pytest.raises(ValueError, match="permutation"):
        landscape.permute_hidden(params, perm)


def test_interpolate_and_segment_losses(net):
    model, params = net
    other = model.init(cu.key(1))
    mixed = landscape.interpolate(params, other, 0.25)[0]["W"]
    np.testing.assert_allclose(mixed, 0.75 * params[0]["W"] + 0.25 * other[0]["W"])
    s = np.array([0.0, 0.5, 1.0])
    losses = landscape.segment_losses(model, params, other, X_, Y_, s)
    assert losses.shape == (3,)
    np.testing.assert_allclose(losses[0], landscape.loss(model, params, X_, Y_), rtol=1e-12)
    np.testing.assert_allclose(losses[2], landscape.loss(model, other, X_, Y_), rtol=1e-12)
    with pytest.raises(ValueError, match="structure"):
        landscape.interpolate(params, params[0], 0.5)
    with pytest.raises(ValueError, match="X"):
        landscape.segment_losses(model, params, other, X_[:, :1], Y_)
    with pytest.raises(ValueError, match="model"):
        landscape.segment_losses("not a model", params, other, X_, Y_)


def test_plane_losses_corners(net):
    model, params = net
    p1, p2 = model.init(cu.key(1)), model.init(cu.key(2))
    uv = np.array([0.0, 0.5, 1.0])
    plane = landscape.plane_losses(model, params, p1, p2, X_, Y_, uv, uv[:2])
    assert plane.shape == (2, 3)
    for (row, col), p in [((0, 0), params), ((0, 2), p1)]:
        np.testing.assert_allclose(plane[row, col], landscape.loss(model, p, X_, Y_), rtol=1e-12)
    full = landscape.plane_losses(model, params, p1, p2, X_, Y_, uv, uv)
    np.testing.assert_allclose(full[2, 0], landscape.loss(model, p2, X_, Y_), rtol=1e-12)


# ---------------------------------------------------------------- the one-unit example
def test_one_unit_loss_values():
    assert landscape.one_unit_loss(0.5, 2.0) == 0.0 and landscape.one_unit_loss(2.0, 0.5) == 0.0
    np.testing.assert_allclose(landscape.one_unit_loss(1.25, 1.25), 81 / 512)
    np.testing.assert_allclose(landscape.one_unit_loss(np.array([-1.0, -3.0]), 5.0), [0.5, 0.5])


def test_one_unit_figure():
    fig = figures.plot_one_unit_landscape()
    assert len(fig.axes) == 3  # two panels and a colorbar
    np.testing.assert_allclose(fig.drawn["segment"][50], 81 / 512)
    np.testing.assert_allclose(fig.drawn["loss"], landscape.one_unit_loss(fig.drawn["w"][None, :], fig.drawn["a"][:, None]))
    plt.close(fig)


# ---------------------------------------------------------------- seeds over width and time
def test_seed_runs_match_a_direct_training_run():
    runs = landscape.seed_runs(16)
    assert runs.losses.shape == (landscape.N_SEEDS, len(runs.times))
    assert runs.times[0] == 0 and np.isclose(runs.times[-1], landscape.LR * landscape.STEPS)
    model = landscape.two_layer(16)
    index = 3
    params = landscape.seed_params(16, index)
    _, X, y = cu.interval_problem()
    steps = np.rint(runs.times / landscape.LR).astype(int)
    direct = cu.train(model.apply, params, X, y, lr=landscape.LR, steps=landscape.STEPS, record_steps=steps)
    np.testing.assert_allclose(runs.losses[index], direct.loss, rtol=1e-9, atol=1e-14)
    final = landscape.trained_params(16, index)
    np.testing.assert_allclose(final[1]["W"], direct.params[1]["W"], rtol=1e-9, atol=1e-12)


def test_seed_params_are_the_models_init():
    first = landscape.seed_params(16, 2)
    direct = landscape.two_layer(16).init(landscape.SEEDS[2])
    for a, b in zip(jax.tree_util.tree_leaves(first), jax.tree_util.tree_leaves(direct)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="seed_index"):
        landscape.seed_params(16, landscape.N_SEEDS)


def test_success_sweep_matches_the_seed_runs():
    sweep = landscape.success_sweep((16, 256))
    for row, width in zip(sweep.fractions, sweep.widths):
        np.testing.assert_array_equal(row, landscape.success_fraction(landscape.seed_runs(int(width)).losses))
    np.testing.assert_array_equal(sweep.final, sweep.fractions[:, -1])
    assert landscape.success_sweep((16, 256)) is sweep
    with pytest.raises(ValueError, match="width"):
        landscape.success_sweep((0,))


def test_seed_runs_are_cached_and_deterministic():
    assert landscape.seed_runs(16) is landscape.seed_runs(16)
    again = landscape.seed_runs.__wrapped__(16)
    np.testing.assert_array_equal(again.losses, landscape.seed_runs(16).losses)


def test_success_fraction():
    losses = np.array([[1.0, 1e-2, 1e-4], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(landscape.success_fraction(losses, 1e-3), [0.0, 0.0, 0.5])
    with pytest.raises(ValueError, match="losses"):
        landscape.success_fraction(np.ones(3))
    with pytest.raises(ValueError, match="threshold"):
        landscape.success_fraction(losses, 0.0)


def test_wider_networks_succeed_more_often():
    narrow = landscape.success_fraction(landscape.seed_runs(16).losses)[-1]
    wide = landscape.success_fraction(landscape.seed_runs(256).losses)[-1]
    assert narrow <= 0.3 and wide >= 0.9


def test_stuck_runs_are_the_failures_at_a_stationary_point():
    rows = landscape.stuck_runs(16)
    failures = np.sum(landscape.seed_runs(16).losses[:, -1] >= landscape.THRESHOLD)
    assert len(rows) == failures > 0
    assert all(loss >= landscape.THRESHOLD for _, loss, _, _ in rows)
    stationary = [r for r in rows if r[2] < 1e-4]
    assert len(stationary) >= 3  # several runs stop at a stationary point with positive loss
    with pytest.raises(ValueError, match="threshold"):
        landscape.stuck_runs(16, threshold=-1.0)


def test_trained_params_rejects_bad_index():
    with pytest.raises(ValueError, match="seed_index"):
        landscape.trained_params(16, landscape.N_SEEDS)


# ---------------------------------------------------------------- the barrier
def test_permutations_for():
    p, q = landscape.permutations_for(16)
    for perm in (p, q):
        assert sorted(perm) == list(range(16)) and not np.array_equal(perm, np.arange(16))
    assert not np.array_equal(p, q)
    np.testing.assert_array_equal(landscape.permutations_for(16)[0], p)
    with pytest.raises(ValueError, match="width"):
        landscape.permutations_for(2)


def test_segment_runs_match_a_direct_segment():
    run = landscape.segment_runs(16)
    model = landscape.two_layer(16)
    perm, _ = landscape.permutations_for(16)
    history = landscape.seed_runs(16).first_history
    for k in (0, len(run.times) - 1):
        theta = [{n: jnp.asarray(v[k]) for n, v in layer.items()} for layer in history]
        direct = landscape.segment_losses(model, theta, landscape.permute_hidden(theta, perm), X_, Y_, run.s)
        np.testing.assert_allclose(run.segment[k], direct, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(run.loss_path[k], direct[list(run.s).index(0.0)], rtol=1e-9)
    assert run.plane.shape == (len(run.times), len(run.v), len(run.u))


def test_barrier_between_permuted_minima():
    sweep = landscape.barrier_sweep(widths=(16, 64))
    for width, end_a, end_b, mid in zip(*sweep):
        np.testing.assert_allclose(end_a, end_b, rtol=1e-9)
        assert mid > 0.5 * (end_a + end_b) + 0.1
        run = landscape.segment_runs(int(width))
        np.testing.assert_allclose(mid, run.segment[-1, list(run.s).index(0.5)])
        np.testing.assert_allclose(end_a, landscape.seed_runs(int(width)).losses[0, -1], rtol=1e-9)




# ---------------------------------------------------------------- claim predicates: real holds, wrong fails
def test_rescaling_claims():
    test = landscape.rescaling_test()
    assert landscape.claim_rescaling_invariance(test).holds
    assert landscape.claim_gradient_rescaling(test).holds
    model = landscape.two_layer(64)
    params = model.init(0)
    c = test.cs[-1]
    change = float(np.max(np.abs(model.apply(landscape.rescale(params, c), X_) - model.apply(params, X_))))
    assert test.relu_change[-1] == change
    # wrong experiments: a "ReLU" that behaves like tanh; c = -1 counted as a symmetry;
    # gradients that do not rescale; gradient ratios off by 15%
    assert not landscape.claim_rescaling_invariance(test._replace(relu_change=test.tanh_change)).holds
    assert not landscape.claim_rescaling_invariance(test._replace(negative_change=0.0)).holds
    assert not landscape.claim_rescaling_invariance(test._replace(tanh_change=0 * test.tanh_change)).holds
    assert not landscape.claim_gradient_rescaling(test._replace(grad_ratio_W1=np.ones_like(test.cs))).holds
    assert not landscape.claim_gradient_rescaling(test._replace(grad_ratio_W2=1.15 * test.grad_ratio_W2)).holds


def test_barrier_claim():
    sweep = landscape.barrier_sweep()
    assert landscape.claim_barrier(sweep, Y_).holds
    chord = 0.5 * (sweep.loss_start + sweep.loss_permuted)
    assert not landscape.claim_barrier(sweep._replace(loss_midpoint=chord), Y_).holds  # flat: convex-looking
    assert not landscape.claim_barrier(sweep._replace(loss_permuted=1.15 * sweep.loss_permuted + 1e-3), Y_).holds
    tiny = sweep.loss_midpoint.copy()
    tiny[-1] = chord[-1] + 0.01  # a barrier that vanishes at the widest width
    assert not landscape.claim_barrier(sweep._replace(loss_midpoint=tiny), Y_).holds
    # the prose's claims: no shrinking with width, midpoint ~ a half-scale random network
    half = landscape.half_scale_loss(landscape.two_layer(64), X_, Y_)
    assert landscape.claim_barrier(sweep, Y_, half).holds
    widths = sweep.widths.astype(float)
    shrinking = chord + (sweep.loss_midpoint - chord) * (widths / widths[0]) ** -0.5  # a 1/sqrt(N) barrier
    assert not landscape.claim_barrier(sweep._replace(loss_midpoint=shrinking), Y_).holds
    assert not landscape.claim_barrier(sweep._replace(loss_midpoint=3.0 * sweep.loss_midpoint), Y_, half).holds
    assert not landscape.claim_barrier(sweep._replace(loss_midpoint=0.4 * sweep.loss_midpoint), Y_, half).holds
    one = landscape.BarrierSweep(*(np.asarray(field)[2:3] for field in sweep))  # the width-64 check of the notebook
    check = landscape.claim_barrier(one, Y_, half)
    assert check.holds and "at width 64" in check.claim and "every width" not in check.claim


def test_half_scale_loss_is_a_monte_carlo_average():
    model = landscape.two_layer(256)
    predicted = landscape.half_scale_loss(model, X_, Y_)
    params = model.init_many(range(200))
    half = jax.tree_util.tree_map(lambda a: a / np.sqrt(2.0), params)  # N(0, 1/2) weights
    out = jax.vmap(lambda p: model.apply(p, X_))(half)
    measured = float(np.mean(0.5 * np.sum((np.asarray(out) - np.asarray(Y_)) ** 2, axis=1)))
    assert abs(measured - predicted) < 0.1 * predicted


def test_success_claim():
    sweep = landscape.success_sweep()
    assert landscape.claim_success_grows(sweep).holds
    assert not landscape.claim_success_grows(sweep._replace(final=sweep.final[::-1])).holds  # shrinking with width
    assert not landscape.claim_success_grows(sweep._replace(final=np.full(len(sweep.final), 0.5))).holds  # flat
    dip = sweep.final.copy()
    dip[2] = dip[1] - 0.15
    assert not landscape.claim_success_grows(sweep._replace(final=dip)).holds


@pytest.fixture(scope="module")
def diagnosis():
    return landscape.stall_diagnosis(16)


def test_stall_diagnosis_matches_direct_computations(diagnosis):
    d = diagnosis
    runs = landscape.seed_runs(16)
    np.testing.assert_array_equal(d.seeds, np.flatnonzero(runs.losses[:, -1] >= landscape.THRESHOLD))
    np.testing.assert_allclose(d.final_loss, runs.losses[d.seeds, -1], rtol=1e-9)
    assert d.tail_steps[-1] == landscape.STEPS and len(d.tail_steps) == landscape.TAIL_STEPS + 1
    assert d.tail_loss.shape == d.top_residual.shape == (len(d.seeds), landscape.TAIL_STEPS + 1)
    model = landscape.two_layer(16)
    for k in (0, len(d.seeds) - 1):
        params = landscape.trained_params(16, int(d.seeds[k]))
        K = cu.empirical_ntk(model, params, X_, method="jacobian")
        np.testing.assert_allclose(d.lr_lambda_max[k], landscape.LR * cu.top_eigenvalue(K), rtol=1e-7)
        g = jax.grad(lambda p: landscape.loss(model, p, X_, Y_))(params)
        norm = np.sqrt(sum(float(jnp.sum(leaf**2)) for leaf in jax.tree_util.tree_leaves(g)))
        np.testing.assert_allclose(d.grad_norm[k], norm, rtol=1e-6, atol=1e-10)
    old = {seed: norm for seed, _, norm, _ in landscape.stuck_runs(16)}
    np.testing.assert_allclose(d.grad_norm, [old[int(s)] for s in d.seeds], rtol=1e-6, atol=1e-10)
    kinds = landscape.stall_kinds(d)
    assert set(kinds) <= {"stationary", "edge of stability", "slow descent"}
    assert all((kind == "stationary") == (g < landscape.STATIONARY_GRADIENT) for kind, g in zip(kinds, d.grad_norm))


def test_edge_run_fates(diagnosis):
    d = diagnosis
    fates = landscape.edge_run_fates(d)
    stopped = d.final_loss[d.grad_norm < landscape.STATIONARY_GRADIENT]
    for fate, long in zip(fates, d.long_loss):
        at_stop = np.min(np.abs(stopped - long) / stopped) < 1e-3
        assert (fate == "at a stopped run's loss") == (at_stop and long >= d.threshold)
    assert "below threshold" not in fates  # no stalled run at width 16 reaches 1e-3 in ten times the steps


def test_stall_claims_hold(diagnosis):
    assert landscape.claim_stalls_oscillate_at_edge(diagnosis).holds
    assert landscape.claim_stationary_runs_are_affine(diagnosis).holds


def test_stall_claims_reject_wrong_experiments(diagnosis):
    d = diagnosis
    crawl = d._replace(lr_lambda_max=0.5 * d.lr_lambda_max)   # a stable run, far below the edge
    no_flip = d._replace(flip_fraction=np.zeros_like(d.flip_fraction))  # monotone, no oscillation
    above = d._replace(lr_lambda_max=1.15 * d.lr_lambda_max)   # past the edge: it would diverge
    for wrong in (crawl, no_flip, above):
        assert not landscape.claim_stalls_oscillate_at_edge(wrong).holds
    kinds = landscape.stall_kinds(d)
    assert kinds.count("slow descent") == 1  # seed 8: classified, not dropped
    slow = np.asarray(kinds) == "slow descent"
    untrapped = d._replace(long_loss=np.where(slow, 1.15 * d.long_loss, d.long_loss))  # crawl not into a trap
    assert not landscape.claim_stalls_oscillate_at_edge(untrapped).holds
    two_crawls = d._replace(flip_fraction=np.where(np.asarray(kinds) == "edge of stability",
                                                   np.where(np.cumsum(np.asarray(kinds) == "edge of stability") == 1, 0.0, 1.0),
                                                   d.flip_fraction))  # one edge run does not flip: a second crawl
    assert not landscape.claim_stalls_oscillate_at_edge(two_crawls).holds
    moving = d._replace(grad_norm=1e4 * d.grad_norm)  # no run has stopped: all crawling
    assert not landscape.claim_stalls_oscillate_at_edge(moving).holds
    none_moving = d._replace(grad_norm=np.zeros_like(d.grad_norm))
    assert not landscape.claim_stalls_oscillate_at_edge(none_moving).holds  # vacuous: no run to check
    bent = d._replace(line_gap=np.where(np.isnan(d.line_gap), np.nan, 0.15 * 0.086))  # residual off by 15%
    assert not landscape.claim_stationary_runs_are_affine(bent).holds
