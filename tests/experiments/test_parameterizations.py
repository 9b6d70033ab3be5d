"""Tests of course_utils.experiments.parameterizations: kernel scale and learning-rate sweeps."""

import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import parameterizations as pz


@pytest.mark.parametrize("par", pz.PARAMETERIZATIONS)
def test_lr_sweep_matches_plain_training_and_marks_divergence(par):
    sweep = pz.lr_sweep(par, 64)
    x, y = pz.transfer_problem()
    assert sweep.loss.shape == (len(pz.LEARNING_RATES[par]), pz.STEPS + 1)
    model = pz.two_layer_model(64, par)
    j = 3
    traj = cu.train(model.apply, model.init(0), x, y, lr=pz.LEARNING_RATES[par][j], steps=20, record_every=1)
    np.testing.assert_allclose(sweep.loss[j, :21], np.asarray(traj.loss), rtol=1e-9)
    diverged = ~np.isfinite(sweep.loss)
    assert np.all(diverged[:, :-1] <= diverged[:, 1:])  # once inf, always inf
    assert diverged[-1, -1]  # the largest learning rate diverges
    assert not diverged[0, -1]  # the smallest does not
    assert sweep.best_lr == sweep.learning_rates[np.argmin(sweep.loss[:, -1])]


def test_mark_diverged():
    loss = np.array([[1.0, 2e3, 5.0, np.nan], [1.0, 0.5, 0.2, 0.1]])
    out = pz.mark_diverged(loss)
    assert np.all(np.isinf(out[0, 1:])) and out[0, 0] == 1.0
    np.testing.assert_array_equal(out[1], loss[1])


def test_best_lrs_and_validation():
    sp = pz.best_lrs("standard", widths=(64,))
    assert sp.shape == (1,) and sp[0] == pz.lr_sweep("standard", 64).best_lr
    with pytest.raises(ValueError):
        pz.best_lrs("mean-field")
    with pytest.raises(ValueError):
        pz.two_layer_model(64, "sp")


def test_kernel_scale_grows_with_width_only_in_standard_parameterization():
    widths = (64, 256)
    sp = pz.kernel_scale("standard", widths)
    ntk = pz.kernel_scale("ntk", widths)
    assert sp.lambda_max[1] / sp.lambda_max[0] > 3 and 0.5 < ntk.lambda_max[1] / ntk.lambda_max[0] < 2
    # for this two-layer net muP's kernel at init equals the NTK parameterization's
    np.testing.assert_allclose(pz.kernel_scale("mup", widths).lambda_max, ntk.lambda_max, rtol=1e-10)
    model = pz.two_layer_model(64, "standard")
    x, _ = pz.transfer_problem()
    assert sp.lambda_max[0] == pytest.approx(cu.top_eigenvalue(cu.empirical_ntk(model, model.init(0), x)), rel=1e-12)
    assert sp.fit == cu.fit_power_law(np.asarray(widths, dtype=float), sp.lambda_max)
