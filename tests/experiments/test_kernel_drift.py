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
    # the switched units of seed 1, recomputed from the pre-activations before and after training
    h0, h1 = (np.asarray(model.forward(p, x)[0][0]) for p in (p0, traj.params))
    assert runs.switched[1] == pytest.approx(np.mean(np.any((h0 > 0) != (h1 > 0), axis=0)))


def test_relu_drift_is_the_kernel_change_of_the_feature_runs():
    # the same network, seeds and steps: the two experiments must agree
    runs = kd.drift_runs("relu", 64)
    two = len(feature_learning.SEEDS)  # the feature runs use the first seeds of SEEDS
    assert kd.SEEDS[:two] == feature_learning.SEEDS
    np.testing.assert_allclose(runs.drift[:two], feature_learning.feature_runs("ntk", 64).kernel_change, rtol=1e-9)


def test_drift_sweep_and_exponents():
    widths = (64, 256)
    sweep = kd.drift_sweep("erf", widths)
    np.testing.assert_allclose(sweep.final, [kd.drift_runs("erf", w).mean_drift[-1] for w in widths])
    assert sweep.fit == cu.fit_power_law(np.asarray(widths), sweep.final)
    np.testing.assert_allclose(sweep.final_per_seed, [kd.drift_runs("erf", w).drift[:, -1] for w in widths])
    assert sweep.switched.shape == (2, len(kd.SEEDS))
    assert sweep.final[1] < sweep.final[0]
    exponents = kd.drift_exponents("erf", widths)
    assert np.isnan(exponents[0]) and exponents[-1] == pytest.approx(sweep.fit.exponent)


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="activation"):
        kd.drift_runs("tanh", 64)


# ---------------------------------------------------------------------- the claim predicates, right and wrong
def scaled_by_power(sweep, exponent):
    """The same sweep with its final drift replaced by a clean power law of ``exponent`` (same first width)."""
    w = sweep.widths / sweep.widths[0]
    per_seed = sweep.final_per_seed[:1].mean() * (w[:, None] ** exponent) * np.ones_like(sweep.final_per_seed)
    return sweep._replace(final_per_seed=per_seed)


def test_claim_smooth_drift():
    sweep = kd.drift_sweep("erf")
    assert kd.claim_smooth_drift(sweep).holds
    assert not kd.claim_smooth_drift(scaled_by_power(sweep, -0.75)).holds  # the ReLU exponent
    assert not kd.claim_smooth_drift(scaled_by_power(sweep, -1.25)).holds
    flat = sweep._replace(final_per_seed=np.ones_like(sweep.final_per_seed))
    assert not kd.claim_smooth_drift(flat).holds


def test_claim_relu_drift():
    sweep = kd.drift_sweep("relu")
    verdict = kd.claim_relu_drift(sweep)
    assert verdict.holds, verdict
    assert kd.claim_relu_drift(scaled_by_power(sweep, -0.75)).holds
    assert not kd.claim_relu_drift(scaled_by_power(sweep, -0.5)).holds  # the coherent worst case
    assert not kd.claim_relu_drift(scaled_by_power(sweep, -1.0)).holds  # the smooth rate
    assert not kd.claim_relu_drift(kd.drift_sweep("erf")).holds  # the erf data fed to the ReLU claim


def test_claim_switching():
    relu = kd.drift_sweep("relu")
    assert kd.claim_switching(relu).holds
    w = relu.widths[:, None] / relu.widths[0]
    assert not kd.claim_switching(relu._replace(switched=relu.switched[:1].mean() * w ** -0.25 + 0 * relu.switched)).holds
    assert not kd.claim_switching(relu._replace(switched=relu.switched[:1].mean() * w ** -1.0 + 0 * relu.switched)).holds
    assert not kd.claim_switching(relu._replace(switched=np.zeros_like(relu.switched))).holds


def test_runs_are_cached_once_and_share_the_initialisation():
    assert kd.drift_runs("erf", 64) is kd.drift_runs("erf", np.int64(64))
    assert kd.drift_sweep("erf", (64, 256)) is kd.drift_sweep("erf", [64, 256])
    assert kd.drift_sweep("relu") is kd.drift_sweep("relu", kd.WIDTHS)  # the demo's and the claim's sweep
    shared = kd.initial_params(64)
    for a, b in zip(cu.run_slice(shared, 3), kd.model("erf", 64).init(kd.SEEDS[3])):
        np.testing.assert_array_equal(a["W"], b["W"])
        np.testing.assert_array_equal(a["b"], b["b"])


def test_seed_groups_cover_the_seeds_and_give_the_batched_runs(monkeypatch):
    for width in kd.WIDTHS:
        groups = kd.seed_groups(width)
        assert tuple(s for g in groups for s in g) == kd.SEEDS
        assert len(groups[0]) * width <= max(kd.SEED_WIDTH_PER_CALL, 2 * width)
    assert len(kd.seed_groups(64)) == 1 and len(kd.seed_groups(16384)) == 4
    batched = kd.drift_runs("erf", 64)  # all eight seeds in one call
    monkeypatch.setattr(kd, "SEED_WIDTH_PER_CALL", 2 * 64)
    assert len(kd.seed_groups(64)) == 4
    grouped = kd._drift_runs.__wrapped__("erf", 64)  # the same runs, two seeds a call
    np.testing.assert_allclose(grouped.drift, batched.drift, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(grouped.switched, batched.switched)
