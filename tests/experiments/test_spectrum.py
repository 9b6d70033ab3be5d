"""Tests of course_utils.experiments.spectrum: circle spectrum, filtering, spectral bias, early stopping."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import spectrum


# ---------------------------------------------------------------------- small tools
def test_spectral_filter_values_and_validation():
    lam = np.array([0.0, 0.5, 2.0])
    np.testing.assert_allclose(spectrum.spectral_filter(lam, 1.5), 1 - np.exp(-lam * 1.5))
    assert spectrum.spectral_filter(3.0, 0.0) == 0.0
    np.testing.assert_allclose(spectrum.spectral_filter(1e-12, 1.0), 1e-12, rtol=1e-6)  # no cancellation
    with pytest.raises(ValueError, match=">= 0"):
        spectrum.spectral_filter(-1.0, 1.0)
    with pytest.raises(ValueError, match="time"):
        spectrum.spectral_filter(1.0, -1.0)
    with pytest.raises(ValueError, match="finite"):
        spectrum.spectral_filter(np.nan, 1.0)
    # many small steps of gradient descent approach the flow
    np.testing.assert_allclose(spectrum.discrete_filter(lam, 1e-5, 150_000), spectrum.spectral_filter(lam, 1.5), rtol=1e-4)


def test_centered_network_starts_at_zero_and_keeps_the_ntk():
    model = spectrum.circle_model(64)
    apply, theta0 = spectrum.centered_network(model, 0)
    _, X = cu.circle_grid(7)
    np.testing.assert_array_equal(np.asarray(apply(theta0, X)), 0.0)
    # theta0 is model.init(seed)
    for a, b in zip(jax.tree_util.tree_leaves(theta0), jax.tree_util.tree_leaves(model.init(0))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    jac = jax.jacrev(lambda p: apply(p, X))(theta0)
    J = jnp.concatenate([leaf.reshape(7, -1) for leaf in jax.tree_util.tree_leaves(jac)], axis=1)
    np.testing.assert_allclose(np.asarray(J @ J.T), np.asarray(cu.empirical_ntk(model, theta0, X)), rtol=1e-10)
    assert spectrum.centered_network(model, 0)[0] is apply  # cached: one compile per width
    with pytest.raises(ValueError):
        spectrum.centered_network("model", 0)


# ---------------------------------------------------------------------- circle spectrum
def test_analytic_kernel_on_the_circle_is_circulant_with_fourier_eigenvectors():
    K = spectrum.analytic_circle_kernel(32, spectrum.SB2)
    assert spectrum.circulant_error(K) < 1e-7
    assert spectrum.fourier_eigenvector_error(K, range(17)) < 1e-7
    lam = spectrum.fourier_eigenvalues(K, range(17))
    np.testing.assert_allclose(lam, np.real(np.fft.fft(K[0]))[:17], rtol=1e-7, atol=1e-8)
    # the Fourier eigenvalues are the eigenvalues of K (cos and sin share k = 1..15)
    expected = np.sort(np.concatenate([lam, lam[1:16]]))
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(K)), expected, rtol=1e-7, atol=1e-9)


def test_circulant_checks_reject_a_generic_matrix():
    A = np.random.default_rng(0).normal(size=(8, 8))
    K = A @ A.T
    assert spectrum.circulant_error(K) > 0.1
    assert spectrum.fourier_eigenvector_error(K, [1, 2]) > 1e-3
    with pytest.raises(ValueError, match="resolved"):
        spectrum.fourier_eigenvalues(K, [5])
    with pytest.raises(ValueError, match="square"):
        spectrum.fourier_eigenvalues(K[:3], [1])


def test_spectrum_decays_like_k_to_minus_two_and_odd_frequencies_vanish_without_bias():
    ks = np.array([16, 24, 32])
    assert cu.fit_power_law(ks, spectrum.circle_spectrum(ks, n=512)).exponent == pytest.approx(-2.0, abs=0.1)
    assert spectrum.odd_frequency_ratio(sb2=0.0) < 1e-9
    assert spectrum.odd_frequency_ratio(sb2=0.1) > 1e-3
    decay = spectrum.spectrum_decay(n=128, kmax=32, fit_range=(8, 32))
    sel = (decay.ks >= 8) & (decay.ks <= 32)
    assert decay.fit == cu.fit_power_law(decay.ks[sel], decay.with_bias[sel])
    assert abs(decay.fit.exponent + 2) < 0.15
    np.testing.assert_allclose(decay.without_bias[2::2], 0.0, atol=1e-9 * decay.without_bias[0])  # odd k >= 3


def test_empirical_circle_kernel_is_the_empirical_ntk_at_init():
    model = spectrum.circle_model(64)
    _, X = cu.circle_grid(16)
    np.testing.assert_allclose(spectrum.empirical_circle_kernel(64, 16),
                               np.asarray(cu.empirical_ntk(model, model.init(0), X)), rtol=1e-12)


# ---------------------------------------------------------------------- filtering
def test_filter_formula_equals_trained_linearised_network():
    res = spectrum.filter_versus_training(width=256, steps=50)
    scale = np.max(np.abs(res.target))
    assert np.max(np.abs(res.trained - res.discrete)) / scale < 1e-10
    assert np.max(np.abs(res.trained - res.flow)) / scale < 0.1
    assert res.lr * res.lam_max == pytest.approx(0.1) and res.time == pytest.approx(50 * res.lr)
    # the real network stays close to its kernel filter, but not to round-off
    real = spectrum.filter_versus_training(width=256, steps=50, linearized=False)
    gap = np.max(np.abs(real.trained - real.discrete)) / np.max(np.abs(real.discrete))
    assert 1e-8 < gap < 0.1


def test_filter_flow_matches_direct_gradient_flow():
    kf = spectrum.filter_flow(256)
    data = spectrum.filter_problem()
    model = spectrum.circle_model(256)
    p = model.init(0)
    K = cu.empirical_ntk(model, p, data.x)
    reference = cu.GradientFlow(K, data.y, jnp.zeros(len(data.y)))
    np.testing.assert_allclose(np.asarray(kf.flow.eigenvalues), np.asarray(reference.eigenvalues), rtol=1e-9, atol=1e-9)
    direct = reference.predict(0.7, cu.empirical_ntk(model, p, data.x_dense, data.x), jnp.zeros(len(data.x_dense)))
    np.testing.assert_allclose(np.asarray(kf.predictor(0.7)), np.asarray(direct), rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------------- spectral bias and convergence times
def test_frequency_amplitudes_and_arrival_time():
    angles = 2 * np.pi * np.arange(32) / 32
    f = 0.3 * np.cos(angles) + 1.7 * np.cos(4 * angles) + 0.5 * np.sin(2 * angles)
    np.testing.assert_allclose(spectrum.frequency_amplitudes(f, angles, (1, 4, 2)), [0.3, 1.7, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="angles"):
        spectrum.frequency_amplitudes(f[:10], angles, (1,))
    t = np.array([0.0, 1.0, 2.0])
    assert spectrum.arrival_time(t, [0.0, 0.5, 1.0], 0.75) == pytest.approx(1.5)
    assert spectrum.arrival_time(t, [0.0, 0.1, 0.2], 0.9) == math.inf
    with pytest.raises(ValueError):
        spectrum.arrival_time(t, [0.0, 1.0], 0.5)


def test_bias_runs_match_plain_training_and_own_kernel():
    runs = spectrum.bias_runs(64, seeds=(0, 1))
    assert np.all(10 * runs.t_low < runs.t_high) and np.all(runs.t_high < math.inf)
    assert runs.t_low[1] == spectrum.arrival_time(runs.times, runs.amplitudes[1, :, 0])
    angles, X = cu.circle_grid(spectrum.BIAS_N)
    # the network's amplitudes are those of its function on the dense grid (every 4th point)
    expected = spectrum.frequency_amplitudes(runs.dense[:, :, ::4], angles, spectrum.BIAS_FREQS)
    np.testing.assert_allclose(runs.amplitudes, expected, rtol=1e-9, atol=1e-12)
    # run 1 of the batch is the centered network of seed 1 trained alone, recorded at every step
    y = cu.fourier_target(angles, spectrum.BIAS_FREQS)
    apply, params = spectrum.centered_network(spectrum.circle_model(64), 1)
    last = int(runs.steps[20])
    traj = cu.train(apply, params, X, y, lr=runs.lr, steps=last, record_every=1)
    np.testing.assert_allclose(runs.dense[1, :21, ::4], np.asarray(traj.outputs)[runs.steps[:21]], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(runs.times, runs.lr * runs.steps)
    # the own-kernel prediction is gradient descent on the fixed K_0 of that seed
    model = spectrum.circle_model(64)
    K0 = np.asarray(cu.empirical_ntk(model, model.init(1), X))
    s = int(runs.steps[30])
    direct = np.asarray(y) - np.linalg.matrix_power(np.eye(32) - runs.lr * K0, s) @ np.asarray(y)
    np.testing.assert_allclose(runs.own_kernel[1, 30], spectrum.frequency_amplitudes(direct, angles, spectrum.BIAS_FREQS),
                               rtol=1e-8, atol=1e-10)
    # discrete-step prediction tends to gradient flow for a small step
    t = np.array([0.5, 2.0])
    np.testing.assert_allclose(spectrum.bias_kernel_amplitudes(t, 1e-5), spectrum.bias_kernel_amplitudes(t), rtol=1e-4)


def test_claim_low_frequency_first_rejects_a_flat_high_frequency():
    runs = [spectrum.bias_runs(64, seeds=(0, 1)), spectrum.bias_runs(4096)]
    assert spectrum.claim_low_frequency_first(runs).holds
    wrong = [r._replace(t_high=3 * r.t_low) for r in runs]  # the high frequency arriving with the low one
    assert not spectrum.claim_low_frequency_first(wrong).holds
    # the widest width arriving at the flow's factor lambda_1 / lambda_4 = 49.7 shortened by 1/3 (off the kernel's factor)
    late = [runs[0], runs[1]._replace(t_high=1.5 * runs[1].t_high)]
    assert not spectrum.claim_low_frequency_first(late).holds
    early = [runs[0], runs[1]._replace(t_high=0.5 * runs[1].t_high)]
    assert not spectrum.claim_low_frequency_first(early).holds
    # the predicted factor is the discrete filter's on the run's records, between the flow's 49.7 and 70
    assert 50 < spectrum.predicted_arrival_ratio(runs) < 70


def _delay_summary(delays, widths=(64, 256, 1024, 4096)):
    widths = np.asarray(widths)
    delays = np.asarray(delays, dtype=float)
    fit = cu.fit_power_law(widths[1:], delays[1:]) if np.all(delays[1:] > 0) else None
    return spectrum.KernelMotionDelay(widths, delays, np.zeros(4), np.zeros(4), 256, fit)


def test_claim_kernel_motion_delay_rejects_wrong_exponents():
    right = _delay_summary([0.0, 0.6, 0.3, 0.15])
    assert spectrum.claim_kernel_motion_delay(right).holds
    assert not spectrum.claim_kernel_motion_delay(_delay_summary([0.0, 0.6, 0.6, 0.6])).holds  # flat: no decay
    assert not spectrum.claim_kernel_motion_delay(_delay_summary([0.0, 0.6, 0.0375, 0.0023])).holds  # ~ N^-2
    assert not spectrum.claim_kernel_motion_delay(_delay_summary([0.0, 0.6, -0.3, 0.15])).holds  # a head start
    # the summary is computed from the runs as documented
    runs = [spectrum.bias_runs(64, seeds=(0, 1)), spectrum.bias_runs(256, seeds=(0, 1))]
    s = spectrum.kernel_motion_delay(runs, fit_from=64)
    np.testing.assert_allclose(s.delay, [np.mean(r.t_high / r.t_high_own) - 1 for r in runs])


def test_convergence_times_follow_the_kernel_small_run():
    res = spectrum.convergence_times(freqs=(2, 3, 4, 5, 8, 9), width=1024, n=32, fit_from=2)
    assert np.all(np.abs(res.measured / res.predicted - 1) < 0.25)
    assert res.measured_fit.exponent > 1.5 and res.odd_measured_fit.exponent > 1.5
    even = res.freqs % 2 == 0
    assert res.measured_fit == cu.fit_power_law(res.freqs[even], res.measured[even])
    assert res.odd_measured_fit == cu.fit_power_law(res.freqs[~even], res.measured[~even])
    assert spectrum.claim_convergence_times(res, ratio_tolerance=0.25).holds


def test_claim_convergence_times_rejects_wrong_experiments():
    res = spectrum.convergence_times(freqs=(2, 3, 4, 5, 8, 9), width=1024, n=32, fit_from=2)
    assert not spectrum.claim_convergence_times(res._replace(measured=1.3 * res.measured)).holds  # 30 % slow
    steeper = res.measured * (res.freqs / 2.0) ** 0.5  # the wrong exponent
    assert not spectrum.claim_convergence_times(res._replace(measured=steeper), ratio_tolerance=10.0).holds


# ---------------------------------------------------------------------- generalization
def test_generalization_early_stopping_and_interpolant():
    g = spectrum.generalization_run(math.inf)
    data = spectrum.generalization_problem()
    np.testing.assert_allclose(g.limit, np.asarray(cu.kernel_regression(g.kernel.K_train, data.y, g.kernel.K_test)),
                               atol=1e-8)
    np.testing.assert_allclose(np.asarray(g.kernel.K_train), np.asarray(cu.analytic_ntk(spectrum.circle_model(1), data.x)),
                               rtol=1e-12)
    assert 0 < g.best_time < 1e4 and g.best_test_err < 0.8 * g.limit_err
    assert g.best_test_err == np.min(g.test_err)
    assert g.train_err[-1] < 1e-6  # training error goes to zero
    finite = spectrum.generalization_run(256)
    model = spectrum.circle_model(256)
    np.testing.assert_allclose(np.asarray(finite.kernel.K_train),
                               np.asarray(cu.empirical_ntk(model, model.init(0), data.x)), rtol=1e-10)
    with pytest.raises(ValueError):
        spectrum.generalization_run(0)


# ---------------------------------------------------------------------- claim predicates against wrong experiments
def test_claims_on_the_filter_reject_wrong_experiments():
    res = spectrum.filter_versus_training(width=256, steps=50)
    assert spectrum.claim_linearised_gd_is_discrete_filter(res).holds
    assert spectrum.claim_flow_gap_is_leading_order(res).holds
    assert not spectrum.claim_linearised_gd_is_discrete_filter(res._replace(trained=1.15 * res.trained)).holds
    # a flow at twice the speed: the gap is no longer the O(lr) term
    fast = spectrum.spectral_filter(res.lam, 2 * res.time) * res.target
    assert not spectrum.claim_flow_gap_is_leading_order(res._replace(flow=fast)).holds
    # the leading term with the wrong sign or a factor 2 off is rejected too
    assert not spectrum.claim_flow_gap_is_leading_order(res._replace(flow=res.trained + (res.trained - res.flow))).holds
    assert not spectrum.claim_flow_gap_is_leading_order(res._replace(flow=res.flow - (res.trained - res.flow))).holds
    np.testing.assert_allclose(spectrum.flow_gap_leading_term(res),
                               0.5 * res.lr * res.time * res.lam**2 * np.exp(-res.lam * res.time) * res.target)
    real = spectrum.filter_versus_training(width=256, steps=50, linearized=False)
    assert spectrum.claim_network_follows_its_filter(real, tolerance=0.1).holds
    assert not spectrum.claim_network_follows_its_filter(real._replace(trained=1.15 * real.trained), tolerance=0.1).holds


def test_claim_fourier_eigenvectors_rejects_a_non_circulant_kernel():
    K = spectrum.analytic_circle_kernel(32, spectrum.SB2)
    assert spectrum.claim_fourier_eigenvectors(K).holds
    assert not spectrum.claim_fourier_eigenvectors(spectrum.empirical_circle_kernel(64, 32)).holds  # finite width
    D = np.diag(np.linspace(1.0, 1.15, 32))
    assert not spectrum.claim_fourier_eigenvectors(D @ K @ D).holds


def test_claims_on_the_spectrum_reject_wrong_spectra():
    decay = spectrum.spectrum_decay(n=128, kmax=32, fit_range=(8, 32))
    assert spectrum.claim_spectrum_decay(decay).holds
    assert spectrum.claim_spectrum_parity(decay, k_range=(8, 24)).holds
    wrong = decay._replace(with_bias=decay.with_bias * decay.ks**0.5)  # k^-1.5
    assert not spectrum.claim_spectrum_decay(wrong).holds
    assert not spectrum.claim_spectrum_parity(decay._replace(without_bias=decay.with_bias), k_range=(8, 24)).holds
    assert not spectrum.claim_spectrum_parity(decay._replace(without_bias=1.15 * decay.with_bias), k_range=(8, 24)).holds
    halved = decay._replace(with_bias=np.where(decay.ks % 2 == 1, 0.5 * decay.with_bias, decay.with_bias))
    assert not spectrum.claim_spectrum_parity(halved, k_range=(8, 24)).holds
    even_b, _, even_0, odd_0 = spectrum.kink_weights(decay, (8, 24))
    assert abs(even_0 / even_b - 2) < 0.25 and abs(odd_0) < 1e-6 * even_0


def test_claims_on_generalization_reject_wrong_experiments():
    g = spectrum.generalization_run(math.inf)
    assert spectrum.claim_early_stopping([g]).holds
    assert spectrum.claim_interpolant_is_kernel_regression(g).holds
    assert spectrum.claim_stopping_time_from_spectrum(g).holds
    # a test error that only falls: no early-stopping gain
    falling = np.linspace(2 * g.limit_err, g.limit_err, len(g.test_err))
    assert not spectrum.claim_early_stopping([g._replace(test_err=falling)]).holds
    assert not spectrum.claim_interpolant_is_kernel_regression(g._replace(limit=1.15 * g.limit)).holds
    # a test curve whose minimum sits at a four times later time
    shifted = np.interp(np.log(g.curve_times), np.log(g.curve_times) + np.log(4.0), g.test_err)
    assert not spectrum.claim_stopping_time_from_spectrum(g._replace(test_err=shifted)).holds


def test_spectral_risk_is_the_expected_error_of_the_filtered_noisy_labels():
    rng = np.random.default_rng(0)
    lam = np.array([5.0, 1.0, 0.1])
    signal = np.array([1.0, -0.5, 0.2])
    noise = 0.3
    t = np.array([0.0, 0.7, 5.0])
    eps = noise * rng.normal(size=(200_000, 3))
    learned = (1 - np.exp(-lam[None, None, :] * t[:, None, None])) * (signal + eps)[None]
    mc = np.mean(np.mean((learned - signal) ** 2, axis=2), axis=1)
    np.testing.assert_allclose(spectrum.spectral_risk(lam, signal, noise, t), mc, rtol=5e-3)
    assert spectrum.spectral_risk(lam, signal, noise, [0.0])[0] == pytest.approx(np.mean(signal**2))
