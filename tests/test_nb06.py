"""Unit tests of course_utils.nb06 (lazy vs feature learning, depth, kernel drift, catapult)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import course_utils as cu
from course_utils import nb05, nb06
from course_utils.exercises import get_solution


# ---------------------------------------------------------------------- two-layer network helpers
@pytest.mark.parametrize("par", ["ntk", "standard", "mup"])
@pytest.mark.parametrize("act", ["relu", "erf"])
def test_forward_and_ntk_match_course_utils(par, act):
    model = cu.MLP(in_dim=2, width=40, parameterization=par, activation=act, sb2=0.1)
    p = nb05.init_params(model, 1)
    mult = jnp.asarray(nb05.layer_multipliers(model))
    _, X = cu.circle_grid(6)
    out = nb06.forward(p, mult, X, act)[0]
    np.testing.assert_allclose(np.asarray(out), np.asarray(model.apply(p, X)), rtol=1e-12, atol=1e-14)
    K = nb06.two_layer_ntk(p, mult, X, act)
    np.testing.assert_allclose(np.asarray(K), np.asarray(cu.empirical_ntk(model, p, X, method="jacobian")), rtol=1e-10)
    # the same numbers with the activation passed as traced data (the vmapped training path)
    K_traced = jax.jit(lambda flag: nb06.two_layer_ntk(p, mult, X, flag))(nb06.ACTIVATION_FLAGS[act])
    np.testing.assert_allclose(np.asarray(K_traced), np.asarray(K), rtol=1e-12)


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="activation"):
        params = [{"W": jnp.ones((2, 3)), "b": jnp.ones(3)}, {"W": jnp.ones((3, 1)), "b": jnp.ones(1)}]
        nb06.forward(params, jnp.ones(4), jnp.ones((1, 2)), "tanh")


# ---------------------------------------------------------------------- feature runs
def test_feature_runs_match_plain_training():
    run = nb06.feature_run("mup", "relu", 64, 1)
    R = len(run["times"])
    assert run["K"].shape == (R, nb06.TASK_N, nb06.TASK_N) and run["units"].shape == (R, 128, nb06.N_UNITS)
    assert run["feature_change"][0] == 0 and run["kernel_change"][0] == 0
    # replay the same run with cu.train and compare at the last record
    model = cu.MLP(in_dim=2, width=64, parameterization="mup", sb2=nb06.TASK_SB2)
    _, X, y = nb06.task()
    p0 = nb05.init_params(model, 1)
    traj = cu.train(model.apply, p0, X, y, lr=nb06.TASK_LR, steps=nb06.TASK_STEPS, record_every=nb06.TASK_STEPS)
    K_end = np.asarray(cu.empirical_ntk(model, traj.params, X))
    np.testing.assert_allclose(run["K"][-1], K_end, rtol=1e-8, atol=1e-10)
    assert run["loss"][-1] == pytest.approx(float(traj.loss[-1]), rel=1e-6)
    K0 = np.asarray(cu.empirical_ntk(model, p0, X))
    assert run["kernel_change"][-1] == pytest.approx(np.linalg.norm(K_end - K0) / np.linalg.norm(K0), rel=1e-8)
    with pytest.raises(ValueError, match="no run"):
        nb06.feature_run("standard", "relu", 64)


def test_ntk_features_move_less_than_mup_features():
    ntk = nb06.change_at_end("ntk", "relu", "feature_change", widths=(64, 256))
    mup = nb06.change_at_end("mup", "relu", "feature_change", widths=(64, 256))
    assert ntk[1] < ntk[0] and np.all(mup > 3 * ntk)
    with pytest.raises(ValueError):
        nb06.change_at_end("ntk", "relu", "weights")


def test_mean_drift_is_the_seed_average():
    d = nb06.mean_drift("erf", 64)
    expected = np.mean([nb06.feature_run("ntk", "erf", 64, s)["kernel_change"] for s in nb06.SEEDS], axis=0)
    np.testing.assert_allclose(d, expected)


# ---------------------------------------------------------------------- depth
def test_normalise_kernel():
    A = np.random.default_rng(1).normal(size=(4, 6))
    N = nb06.normalise_kernel(A @ A.T)
    np.testing.assert_allclose(np.diag(N), 1.0)
    assert np.all(np.abs(N) <= 1 + 1e-12)
    with pytest.raises(ValueError, match="square"):
        nb06.normalise_kernel(np.ones((2, 3)))
    with pytest.raises(ValueError, match="positive"):
        nb06.normalise_kernel(np.zeros((2, 2)))


def test_depth_kernels_grow_and_flatten():
    K16 = nb06.analytic_depth_kernel(2, 16)
    np.testing.assert_allclose(nb06.analytic_depth_kernel(2)[::32, ::32], K16, rtol=1e-10)  # same points
    for L in nb06.DEPTHS:
        assert nb06.analytic_depth_kernel(L)[0, 0] == pytest.approx(L + 1.0)
    spreads = [nb06.profile_spread(L) for L in nb06.DEPTHS]
    assert np.all(np.diff(spreads) < 0)
    assert nb06.far_spread(16) < 0.2 * nb06.far_spread(1)


def test_empirical_depth_profile_and_depth_flow():
    prof = nb06.empirical_depth_profile(2, 512)
    assert prof[0] == pytest.approx(1.0)
    limit = nb06.normalised_profile(2)[:: nb06.PROFILE_N // nb06.DEPTH_GRID]
    assert np.max(np.abs(prof - limit)) < 0.15
    predictor, dense, train_angles, y = nb06.depth_flow(2)
    idx = np.round(train_angles / (2 * np.pi) * nb06.PROFILE_N).astype(int)  # nearest grid points
    assert predictor(0.0).shape == (nb06.PROFILE_N,) and np.all(np.asarray(predictor(0.0)) == 0)
    # at long times the limit-kernel regression passes (nearly) through the training data
    assert np.max(np.abs(np.asarray(predictor(1e6))[idx] - y)) < 0.3


def test_depth_slider():
    s = nb06.depth_slider()
    assert s.description == "depth" and [v for _, v in s.options] == list(nb06.DEPTHS)


# ---------------------------------------------------------------------- catapult
def test_catapult_runs_match_plain_training():
    runs = nb06.catapult_runs(256)
    M = len(nb06.CAT_MULTIPLES)
    assert runs["loss"].shape == (M, nb06.CAT_STEPS + 1) == runs["lam"].shape
    X, y = nb06.catapult_task()
    model = runs["model"]
    p0 = nb05.init_params(model, 0)
    lam0 = float(np.linalg.eigvalsh(np.asarray(cu.empirical_ntk(model, p0, X)))[-1])
    assert runs["lam0"] == pytest.approx(lam0)
    i = nb06._multiple_index(3.0)
    traj = cu.train(model.apply, p0, X, y, lr=float(runs["lrs"][i]), steps=40, record_every=1, record_params=True)
    np.testing.assert_allclose(runs["loss"][i, :41], np.asarray(traj.loss), rtol=1e-7)
    for step in (0, 7, 40):
        p = jax.tree_util.tree_map(lambda a: a[step], traj.param_history)
        top = float(np.linalg.eigvalsh(np.asarray(cu.empirical_ntk(model, p, X)))[-1])
        assert runs["lam"][i, step] == pytest.approx(top, rel=1e-7)
    end = nb06.final_params(256, 3.0)
    top_end = float(np.linalg.eigvalsh(np.asarray(cu.empirical_ntk(model, end, X)))[-1])
    assert runs["lam"][i, -1] == pytest.approx(top_end, rel=1e-7)


def test_phases():
    assert nb06.phase(1024, 1.0) == "lazy"
    assert nb06.phase(1024, 3.0) == "catapult"
    assert nb06.phase(1024, 6.0) == "divergent"
    assert 2.0 < nb06.max_stable_multiple(1024) < 12.0
    with pytest.raises(ValueError, match="not one of"):
        nb06.phase(1024, 2.345)


def test_lr_slider():
    s = nb06.lr_slider()
    assert s.description == "lr" and s.value == 3.0
    assert [v for _, v in s.options] == [float(m) for m in nb06.CAT_MULTIPLES]


# ---------------------------------------------------------------------- exercises
def test_exercise_normalise_kernel(capsys):
    assert nb06.check_normalise_kernel(get_solution("06.normalise_kernel"))
    assert not nb06.check_normalise_kernel(lambda K: K / np.max(K))
    assert not nb06.check_normalise_kernel(lambda K: K / np.diag(K)[:, None])

    def stub(K):
        raise NotImplementedError

    assert not nb06.check_normalise_kernel(stub)
    assert "NotImplementedError" in capsys.readouterr().out


def test_exercise_lazy_lr_limit():
    assert nb06.check_lazy_lr_limit(get_solution("06.lazy_lr_limit"))
    assert not nb06.check_lazy_lr_limit(lambda K: 2.0 / np.linalg.eigvalsh(K)[0])  # smallest eigenvalue
    assert not nb06.check_lazy_lr_limit(lambda K: 1.0 / np.linalg.eigvalsh(K)[-1])
