"""course_utils.experiments.feature_learning: lazy (NTK parameterization) vs rich (muP) training runs."""

import jax
import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import feature_learning as fl


def test_feature_runs_match_a_plain_cu_train_run():
    runs = fl.feature_runs("mup", 64)
    S, T = len(fl.SEEDS), len(fl.RECORD_STEPS)
    assert runs.kernels.shape == (S, T, fl.N_TRAIN, fl.N_TRAIN)
    assert runs.units.shape == (S, T, fl.DENSE_N, fl.N_UNITS) and runs.dense_angles.shape == (fl.DENSE_N,)
    assert runs.feature_change.shape == runs.kernel_change.shape == runs.loss.shape == (S, T)
    np.testing.assert_allclose(runs.times, fl.LR * np.asarray(fl.RECORD_STEPS))
    assert np.all(runs.feature_change[:, 0] == 0) and np.all(runs.kernel_change[:, 0] == 0)
    # replay seed 1 alone with cu.train (a single run, not a batch) and recompute every measure
    model = cu.MLP(in_dim=2, width=64, parameterization="mup", sb2=fl.SB2)
    _, x, y = cu.circle_problem(fl.DATA_SEED, fl.N_TRAIN)
    p0 = model.init(1)
    traj = cu.train(model.apply, p0, x, y, lr=fl.LR, steps=fl.STEPS, record_every=fl.STEPS)
    K0, K_end = (np.asarray(cu.empirical_ntk(model, p, x)) for p in (p0, traj.params))
    np.testing.assert_allclose(runs.kernels[1, -1], K_end, rtol=1e-8, atol=1e-10)
    assert runs.loss[1, -1] == pytest.approx(float(traj.loss[-1]), rel=1e-6)
    assert runs.kernel_change[1, -1] == pytest.approx(cu.relative_distance(K_end, K0), rel=1e-8)
    features = [np.asarray(jax.nn.relu(model.forward(p, x)[0][0])) for p in (p0, traj.params)]
    assert runs.feature_change[1, -1] == pytest.approx(cu.relative_distance(features[1], features[0]), rel=1e-8)
    _, x_dense = cu.circle_grid(fl.DENSE_N)
    units = np.asarray(jax.nn.relu(model.forward(traj.params, x_dense)[0][0]))[:, : fl.N_UNITS]
    np.testing.assert_allclose(runs.units[1, -1], units, rtol=1e-8, atol=1e-10)


def test_bad_parameterization_is_rejected():
    with pytest.raises(ValueError, match="parameterization"):
        fl.feature_runs("lazy", 64)


def test_ntk_features_move_less_than_mup_features():
    ntk = fl.movement_sweep("ntk", widths=(64, 256))
    mup = fl.movement_sweep("mup", widths=(64, 256))
    assert ntk.mean_feature_change[1] < ntk.mean_feature_change[0]
    assert np.all(mup.mean_feature_change > 3 * ntk.mean_feature_change)
    assert np.all(mup.mean_kernel_change > 0.3)


def test_movement_sweep_is_the_seed_average_of_the_runs():
    sweep = fl.movement_sweep("ntk", widths=(64, 256))
    for j, w in enumerate((64, 256)):
        runs = fl.feature_runs("ntk", w)
        np.testing.assert_array_equal(sweep.feature_change[j], runs.feature_change[:, -1])
        np.testing.assert_array_equal(sweep.kernel_change[j], runs.kernel_change[:, -1])
        assert sweep.mean_feature_change[j] == pytest.approx(runs.feature_change[:, -1].mean())
        assert sweep.mean_kernel_change[j] == pytest.approx(runs.kernel_change[:, -1].mean())


def test_claim_lazy_and_rich_features():
    ntk, mup = fl.movement_sweep("ntk"), fl.movement_sweep("mup")
    assert fl.claim_lazy_features(ntk).holds and fl.claim_rich_features(mup).holds
    # each parameterization's data fed to the other's claim
    assert not fl.claim_lazy_features(mup).holds and not fl.claim_rich_features(ntk).holds
    # features that freeze like N^-1 (too fast) or not at all (a flat curve)
    w = ntk.widths[:, None] / ntk.widths[0]
    assert not fl.claim_lazy_features(ntk._replace(feature_change=ntk.feature_change[:1] * w ** -1.0)).holds
    assert not fl.claim_lazy_features(ntk._replace(feature_change=ntk.feature_change[:1] + 0 * w)).holds
    # muP features that shrink like N^-1/2, or a muP kernel that barely moves at one width
    assert not fl.claim_rich_features(mup._replace(feature_change=mup.feature_change[:1] * w ** -0.5)).holds
    frozen = mup.kernel_change.copy()
    frozen[-1] = 0.1
    assert not fl.claim_rich_features(mup._replace(kernel_change=frozen)).holds
    # an NTK kernel that keeps moving at the largest width
    moving = ntk.kernel_change.copy()
    moving[-1] = 0.2
    assert not fl.claim_lazy_features(ntk._replace(kernel_change=moving)).holds


def test_runs_are_cached_once_however_called():
    # the demo calls feature_runs(par, w), the sweep feature_runs(par, w, "relu"): one computation
    assert fl.feature_runs("ntk", 64) is fl.feature_runs("ntk", 64, "relu")
    assert fl.movement_sweep("ntk", widths=(64, 256)) is fl.movement_sweep("ntk", "relu", [64, 256])
