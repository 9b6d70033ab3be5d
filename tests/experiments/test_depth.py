"""course_utils.experiments.depth: the limit NTK against depth, empirical kernels, limit-kernel regression."""

import jax.numpy as jnp
import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import depth


def test_normalise_kernel():
    A = np.random.default_rng(1).normal(size=(4, 6))
    N = depth.normalise_kernel(A @ A.T)
    np.testing.assert_allclose(np.diag(N), 1.0)
    assert np.all(np.abs(N) <= 1 + 1e-12)
    with pytest.raises(ValueError, match="square"):
        depth.normalise_kernel(np.ones((2, 3)))
    with pytest.raises(ValueError, match="positive"):
        depth.normalise_kernel(np.zeros((2, 2)))


def test_depth_kernels_grow_and_flatten():
    K16 = depth.analytic_depth_kernel(2, 16)
    np.testing.assert_allclose(depth.analytic_depth_kernel(2)[::32, ::32], K16, rtol=1e-10)  # the same points
    _, x = cu.circle_grid(depth.PROFILE_N)
    direct = np.asarray(cu.analytic_ntk(cu.MLP(in_dim=2, width=1, depth=3), x))
    np.testing.assert_allclose(depth.analytic_depth_kernel(3), direct, rtol=1e-12)
    sweep = depth.depth_sweep()
    np.testing.assert_allclose(sweep.diagonal, np.asarray(depth.DEPTHS) + 1.0, rtol=1e-9)
    assert np.all(np.diff(sweep.spread) < 0) and np.all(np.diff(sweep.far_spread) < 0)
    assert sweep.far_spread[-1] < 0.2 * sweep.far_spread[0]
    assert sweep.change_from_depth_1[0] == 0 and sweep.change_from_depth_1[2] > 0.2
    np.testing.assert_allclose(sweep.local_slopes, np.diff(np.log(sweep.far_spread)) / np.diff(np.log(depth.DEPTHS)))


def test_depth_summary_is_the_direct_computation():
    K = depth.analytic_depth_kernel(4)
    diagonal, profile, spread, far = depth.depth_summary(K)
    angles = 2 * np.pi * np.arange(len(K)) / len(K)
    direct = K[0] / np.sqrt(K[0, 0] * np.diag(K))
    part = direct[(angles >= np.pi / 4) & (angles <= np.pi)]
    assert diagonal == K[0, 0]
    np.testing.assert_allclose(profile, direct, rtol=1e-14)
    assert spread == pytest.approx(np.std(direct), rel=1e-12) and far == pytest.approx(part.max() - part.min(), rel=1e-12)


def test_empirical_depth_profile_and_regression():
    prof = depth.empirical_depth_profile(2, 512)
    assert prof[0] == pytest.approx(1.0)
    limit = depth.depth_sweep().profiles[1][:: depth.PROFILE_N // depth.EMPIRICAL_N]
    assert np.max(np.abs(prof - limit)) < 0.15
    model = cu.MLP(in_dim=2, width=512, depth=2)
    _, x = cu.circle_grid(depth.EMPIRICAL_N)
    K = np.asarray(cu.empirical_ntk(model, model.init(0), x))
    np.testing.assert_allclose(prof, K[0] / np.sqrt(K[0, 0] * np.diag(K)), rtol=1e-12)
    reg = depth.depth_regression(2, (0.0, 1.0, 1e6))
    angles, x_train, y = cu.circle_problem(depth.TRAIN_SEED, depth.N_TRAIN)
    assert reg.predictions.shape == (3, depth.PROFILE_N) and np.all(reg.predictions[0] == 0)
    _, x_grid = cu.circle_grid(depth.PROFILE_N)
    net = cu.MLP(in_dim=2, width=1, depth=2)
    flow = cu.GradientFlow(cu.analytic_ntk(net, x_train), y, jnp.zeros(depth.N_TRAIN))
    expected = flow.predict(1.0, cu.analytic_ntk(net, x_grid, x_train), jnp.zeros(depth.PROFILE_N))
    np.testing.assert_allclose(reg.predictions[1], np.asarray(expected), rtol=1e-7, atol=1e-9)
    # at long times the limit-kernel regression passes (nearly) through the training data
    idx = np.round(np.asarray(angles) / (2 * np.pi) * depth.PROFILE_N).astype(int) % depth.PROFILE_N
    assert np.max(np.abs(reg.predictions[2][idx] - np.asarray(y))) < 0.3


def test_claim_depth_changes_kernel():
    sweep = depth.depth_sweep()
    assert depth.claim_depth_changes_kernel(sweep).holds
    # the post's picture: the same kernel at every depth
    same = sweep._replace(profiles=np.repeat(sweep.profiles[:1], len(sweep.depths), axis=0),
                          diagonal=np.full(len(sweep.depths), 2.0))
    assert not depth.claim_depth_changes_kernel(same).holds
    assert not depth.claim_depth_changes_kernel(sweep._replace(diagonal=1.15 * sweep.diagonal)).holds
    assert not depth.claim_depth_changes_kernel(sweep._replace(profiles=np.repeat(sweep.profiles[:1], 5, axis=0))).holds


def test_claim_depth_flattens():
    sweep = depth.depth_sweep()
    assert depth.claim_depth_flattens(sweep).holds
    flat = sweep._replace(profiles=np.repeat(sweep.profiles[:1], len(sweep.depths), axis=0))  # no flattening
    assert not depth.claim_depth_flattens(flat).holds
    # a profile that flattens like 1/sqrt(L) instead of 1/L: the far part scaled towards its mean
    base = sweep.profiles[0]
    slow = np.asarray([base.mean() + (base - base.mean()) / np.sqrt(L) for L in sweep.depths])
    assert not depth.claim_depth_flattens(sweep._replace(profiles=slow)).holds
    fast = np.asarray([base.mean() + (base - base.mean()) / L**2 for L in sweep.depths])
    assert not depth.claim_depth_flattens(sweep._replace(profiles=fast)).holds
