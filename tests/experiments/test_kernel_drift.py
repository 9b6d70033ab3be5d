"""course_utils.experiments.kernel_drift: finite-width drift of the NTK during training (erf and ReLU)."""

import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import feature_learning
from course_utils.experiments import kernel_drift as kd


def test_drift_matches_a_plain_cu_train_replay():
    runs = kd.drift_runs("erf", 64)
    assert runs.drift.shape == (len(kd.SEEDS), len(kd.RECORD_STEPS)) and np.all(runs.drift[:, 0] == 0)
    np.testing.assert_allclose(runs.mean_drift, runs.drift.mean(axis=0))
    model = cu.MLP(in_dim=2, width=64, activation="erf", sb2=kd.SB2)
    _, x, y = cu.circle_problem(kd.DATA_SEED, kd.N_TRAIN)
    p0 = model.init(1)
    traj = cu.train(model.apply, p0, x, y, lr=kd.LR, steps=kd.STEPS, record_every=1, record_params=True)
    K0 = np.asarray(cu.empirical_ntk(model, p0, x))
    for i in (1, len(kd.RECORD_STEPS) // 2, len(kd.RECORD_STEPS) - 1):
        p = cu.run_slice(traj.param_history, kd.RECORD_STEPS[i])
        expected = cu.relative_distance(np.asarray(cu.empirical_ntk(model, p, x)), K0)
        assert runs.drift[1, i] == pytest.approx(expected, rel=1e-7)


def test_relu_drift_is_the_kernel_change_of_the_feature_runs():
    # the same network, seeds and steps: the two experiments must agree
    runs = kd.drift_runs("relu", 64)
    np.testing.assert_allclose(runs.drift, feature_learning.feature_runs("ntk", 64).kernel_change, rtol=1e-10)


def test_drift_sweep_and_exponents():
    widths = (64, 256)
    sweep = kd.drift_sweep("erf", widths)
    np.testing.assert_allclose(sweep.final, [kd.drift_runs("erf", w).mean_drift[-1] for w in widths])
    assert sweep.fit == cu.fit_power_law(np.asarray(widths), sweep.final)
    assert sweep.final[1] < sweep.final[0]
    exponents = kd.drift_exponents("erf", widths)
    assert np.isnan(exponents[0]) and exponents[-1] == pytest.approx(sweep.fit.exponent)


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="activation"):
        kd.drift_runs("tanh", 64)
