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
    if par != "standard":
        assert diverged[-1, -1]  # the largest learning rate diverges (loss above 1e8)
    else:  # under SP the largest rates can kill every ReLU unit in one step: no divergence, no learning
        assert sweep.loss[-1, -1] > 10 * np.min(sweep.loss[:, -1])
    assert not diverged[0, -1]  # the smallest does not
    assert sweep.best_lr == sweep.learning_rates[np.argmin(sweep.loss[:, -1])]


def test_mark_diverged():
    loss = np.array([[1.0, 2e8, 5.0, np.nan], [1.0, 0.5, 0.2, 0.1]])
    out = pz.mark_diverged(loss)
    assert np.all(np.isinf(out[0, 1:])) and out[0, 0] == 1.0
    np.testing.assert_array_equal(out[1], loss[1])
    assert np.isfinite(pz.mark_diverged(np.array([1.0, 2e3, 5.0]))).all()  # a catapult spike below 1e8 is not divergence


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


# ---------------------------------------------------------------------- claim predicates against wrong experiments
def test_claim_kernel_scale_rejects_the_wrong_exponent():
    sp = pz.kernel_scale("standard")
    ntk = pz.kernel_scale("ntk")
    assert pz.claim_kernel_scale("standard", sp).holds and pz.claim_kernel_scale("ntk", ntk).holds
    assert not pz.claim_kernel_scale("standard", ntk).holds  # a flat kernel where SP grows
    assert not pz.claim_kernel_scale("ntk", ntk._replace(lambda_max=ntk.lambda_max * ntk.widths**0.5)).holds


def test_claim_lr_transfer_rejects_the_wrong_exponent():
    for par in ("standard", "mup"):
        assert pz.claim_lr_transfer(par, pz.lr_transfer(par)).holds
    sp, mup = pz.lr_transfer("standard"), pz.lr_transfer("mup")
    assert not pz.claim_lr_transfer("standard", mup).holds
    assert not pz.claim_lr_transfer("mup", sp).holds
    assert not pz.claim_lr_transfer("mup", mup._replace(best_lr=mup.best_lr * (mup.widths / 64.0) ** -0.5)).holds


def test_claim_optimum_is_last_monotone():
    sweeps = [pz.lr_sweep("standard", w) for w in (64, 256)]
    assert pz.claim_optimum_is_last_monotone("standard", sweeps).holds
    assert pz.last_stable_lr(sweeps[0]) == max(sweeps[0].learning_rates[np.isfinite(sweeps[0].loss[:, -1])])
    # a sweep in which the largest monotone learning rate is not the best one
    s = sweeps[0]
    j = int(np.argmin(s.loss[:, -1]))
    loss = s.loss.copy()
    loss[j + 1, :] = loss[0, 0] * np.linspace(1.0, 0.5, loss.shape[1])  # the next rate falls monotonically, but worse
    assert not pz.claim_optimum_is_last_monotone("standard", [s._replace(loss=loss), sweeps[1]]).holds
    assert not pz.claim_optimum_is_last_monotone("mup", [pz.lr_sweep("mup", 64)]).holds  # muP's optimum is inside
    # NTK: the optimum climbs first (a catapult above the edge), so it is not the largest monotone rate
    ntk = pz.lr_sweep("ntk", 64)
    assert not pz.claim_optimum_is_last_monotone("ntk", [ntk]).holds
    assert ntk.peak_loss[list(ntk.learning_rates).index(ntk.best_lr)] > ntk.loss[0, 0]


def test_diverged_means_loss_above_the_threshold():
    loss = np.array([[10.0, 2e8, 5.0], [10.0, 5e7, 1.0]])
    marked = pz.mark_diverged(loss)
    assert np.isinf(marked[0, 1:]).all() and np.isfinite(marked[1]).all()


def test_claim_lr_transfer_rejects_a_one_grid_step_drop():
    ntk = pz.lr_transfer("ntk")
    assert pz.claim_lr_transfer("ntk", ntk).holds
    dropped = ntk.best_lr.copy()
    dropped[-1] /= 2  # what the old divergence threshold (1e3) gave at N = 2048
    assert not pz.claim_lr_transfer("ntk", ntk._replace(best_lr=dropped)).holds


def test_coordinate_check_matches_plain_training():
    c = pz.coordinate_check("mup", widths=(64, 128), steps=2, seeds=(0, 1))
    model = pz.two_layer_model(128, "mup")
    x, y = pz.transfer_problem()
    lr = 1 / cu.top_eigenvalue(cu.empirical_ntk(pz.two_layer_model(64, "mup"), pz.two_layer_model(64, "mup").init(0), x))
    assert c.lr == pytest.approx(lr, rel=1e-12)
    h = []
    for seed in (0, 1):
        traj = cu.train(model.apply, model.init(seed), x, y, lr=lr, steps=2, record_every=1, record_params=True)
        h.append([np.asarray(model.forward(cu.run_slice(traj.param_history, s), x)[0][0]) for s in range(3)])
    h = np.asarray(h)
    np.testing.assert_allclose(c.change[1], [np.sqrt(np.mean((h[:, s] - h[:, 0]) ** 2)) for s in (1, 2)], rtol=1e-8)
    np.testing.assert_allclose(c.h_init[1], np.sqrt(np.mean(h[:, 0] ** 2)), rtol=1e-10)


def _coordinate(par, change, h_init=(1.0, 1.0, 1.0, 1.0)):
    widths = np.asarray(pz.COORD_WIDTHS)
    change = np.asarray(change, dtype=float)[:, None] * np.ones((1, pz.COORD_STEPS))
    return pz.CoordinateCheck(par, widths, 0.1, np.asarray(h_init, dtype=float), change, np.ones((4, pz.COORD_STEPS + 1)),
                              cu.fit_power_law(widths, change[:, -1]), cu.fit_power_law(widths, np.asarray(h_init)))


def test_claim_coordinate_check_rejects_wrong_experiments():
    flat = [0.5, 0.5, 0.5, 0.5]
    falling = [0.1, 0.05, 0.025, 0.0125]
    growing = [0.01, 0.1, 10.0, 300.0]
    assert pz.claim_coordinate_check(_coordinate("mup", flat)).holds
    assert pz.claim_coordinate_check(_coordinate("ntk", falling)).holds
    assert pz.claim_coordinate_check(_coordinate("standard", growing)).holds
    assert not pz.claim_coordinate_check(_coordinate("mup", falling)).holds  # muP's features frozen: wrong
    assert not pz.claim_coordinate_check(_coordinate("ntk", flat)).holds
    assert not pz.claim_coordinate_check(_coordinate("standard", flat)).holds
    assert not pz.claim_coordinate_check(_coordinate("mup", flat, h_init=(1.0, 2.0, 4.0, 8.0))).holds  # init not O(1)
    # the real runs: swapping muP's and NTK's results fails both
    mup, ntk = pz.coordinate_check("mup"), pz.coordinate_check("ntk")
    assert pz.claim_coordinate_check(mup).holds and pz.claim_coordinate_check(ntk).holds
    assert not pz.claim_coordinate_check(ntk._replace(parameterization="mup")).holds
    assert not pz.claim_coordinate_check(mup._replace(parameterization="ntk")).holds
