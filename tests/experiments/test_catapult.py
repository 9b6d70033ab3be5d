"""course_utils.experiments.catapult: lazy, catapult and divergent runs at large learning rates."""

import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import catapult


def test_catapult_runs_match_a_plain_cu_train_run():
    runs = catapult.catapult_runs(256)
    M = len(catapult.MULTIPLES)
    assert runs.loss.shape == (M, catapult.STEPS + 1) == runs.top_eigenvalue.shape
    np.testing.assert_array_equal(runs.steps, np.arange(catapult.STEPS + 1))
    model = cu.MLP(in_dim=2, width=256)
    _, x, y = cu.circle_problem(catapult.DATA_SEED, catapult.N_TRAIN)
    p0 = model.init(0)
    lam0 = cu.top_eigenvalue(cu.empirical_ntk(model, p0, x))
    assert runs.lam0 == pytest.approx(lam0, rel=1e-12)
    np.testing.assert_allclose(runs.lrs, np.asarray(catapult.MULTIPLES) / lam0, rtol=1e-12)
    i = catapult.multiple_index(3.0)
    traj = cu.train(model.apply, p0, x, y, lr=float(runs.lrs[i]), steps=40, record_every=1, record_params=True)
    np.testing.assert_allclose(runs.loss[i, :41], np.asarray(traj.loss), rtol=1e-7)
    for step in (0, 7, 40):
        top = cu.top_eigenvalue(cu.empirical_ntk(model, cu.run_slice(traj.param_history, step), x))
        assert runs.top_eigenvalue[i, step] == pytest.approx(top, rel=1e-7)
    top_end = cu.top_eigenvalue(cu.empirical_ntk(model, catapult.final_params(256, 3.0), x))
    assert runs.top_eigenvalue[i, -1] == pytest.approx(top_end, rel=1e-7)
    # a diverged run is inf from the step it blew up on
    div = catapult.multiple_index(6.0)
    assert np.isinf(runs.loss[div, -1]) and np.all(np.isinf(runs.loss[div, np.argmax(np.isinf(runs.loss[div])):]))


def test_regimes():
    assert catapult.regime(1024, 1.0) == "lazy"
    assert catapult.regime(1024, 3.0) == "catapult"
    assert catapult.regime(1024, 6.0) == "divergent"
    assert 2.0 < catapult.max_stable_multiple(1024) < 12.0
    with pytest.raises(ValueError, match="not one of"):
        catapult.regime(1024, 2.345)
    with pytest.raises(ValueError, match="not one of"):
        catapult.multiple_index(7.0)


def test_classify_loss():
    assert catapult.classify_loss([1.0, 0.5, 0.1]) == "lazy"
    assert catapult.classify_loss([1.0, 1.4, 0.1]) == "lazy"
    assert catapult.classify_loss([1.0, 30.0, 0.01]) == "catapult"
    assert catapult.classify_loss([1.0, 30.0, 2.0]) == "divergent"
    assert catapult.classify_loss([1.0, 30.0, np.inf]) == "divergent"


@pytest.mark.parametrize("width", catapult.WIDTHS)
def test_claim_phases_holds(width):
    assert catapult.claim_phases(catapult.catapult_runs(width)).holds


def test_claim_phases_rejects_wrong_runs():
    runs = catapult.catapult_runs(1024)
    cat, lazy, div = (catapult.multiple_index(m) for m in (3.0, 1.5, 6.0))
    # a catapult run whose top eigenvalue does not drop: it stays at lambda_0
    top = runs.top_eigenvalue.copy()
    top[cat] = runs.lam0
    assert not catapult.claim_phases(runs._replace(top_eigenvalue=top)).holds
    # a catapult run without a spike (the loss just decays)
    loss = runs.loss.copy()
    loss[cat] = loss[cat, 0] * np.exp(-0.1 * np.arange(loss.shape[1]))
    assert not catapult.claim_phases(runs._replace(loss=loss)).holds
    # a "lazy" run whose kernel moves by 20%
    top = runs.top_eigenvalue.copy()
    top[lazy, -1] = 1.2 * runs.lam0
    assert not catapult.claim_phases(runs._replace(top_eigenvalue=top)).holds
    # a run at 6 / lambda_0 that converges
    loss = runs.loss.copy()
    loss[div] = runs.loss[cat]
    assert not catapult.claim_phases(runs._replace(loss=loss)).holds


def test_claim_phases_checks_both_edges():
    runs = catapult.catapult_runs(1024)
    below, above, last, first = (catapult.multiple_index(m) for m in (1.9, 2.2, 3.5, 4.5))
    s = catapult.phase_summary(runs)
    assert s["below_edge_change"] < catapult.EDGE_EIGENVALUE_CHANGE < s["above_edge_change"]
    assert s["above_edge_end"] < 2.0 and s["stable_up_to_last"] and s["divergent_from_first"]
    # a run at 1.9 / lambda_0 whose kernel is pushed off by 20% (the lower edge below 1.9)
    top = runs.top_eigenvalue.copy()
    top[below, -1] = 0.8 * runs.lam0
    assert not catapult.claim_phases(runs._replace(top_eigenvalue=top)).holds
    # a run at 2.2 / lambda_0 whose kernel stays frozen (the lower edge above 2.2)
    top = runs.top_eigenvalue.copy()
    top[above] = runs.lam0
    assert not catapult.claim_phases(runs._replace(top_eigenvalue=top)).holds
    # a run at 1.9 whose loss rises (oscillating, not lazy)
    loss = runs.loss.copy()
    loss[below, 5] = 3 * loss[below, 0]
    assert not catapult.claim_phases(runs._replace(loss=loss)).holds
    # divergence already at 3.5 / lambda_0 (the upper edge too low) ...
    loss = runs.loss.copy()
    loss[last] = runs.loss[catapult.multiple_index(6.0)]
    assert not catapult.claim_phases(runs._replace(loss=loss)).holds
    # ... or a run at 4.5 / lambda_0 that converges (the upper edge too high)
    loss = runs.loss.copy()
    loss[first] = runs.loss[catapult.multiple_index(3.0)]
    assert not catapult.claim_phases(runs._replace(loss=loss)).holds


def test_classify_loss_depends_on_the_horizon():
    # a run still above its start at the last recorded step counts as divergent, even if it would recover
    assert catapult.classify_loss([1.0, 30.0, 1.1]) == "divergent"
    assert catapult.classify_loss([1.0, 30.0, 1.1, 0.5]) == "catapult"
