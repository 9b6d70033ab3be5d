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


def test_bias_run_low_frequency_first_and_matches_plain_training():
    run = spectrum.bias_run(64)
    assert 10 * run.t_low < run.t_high < math.inf
    assert run.t_low == spectrum.arrival_time(run.times, run.amplitudes[:, 0])
    # the network's amplitudes are those of its function on the dense grid (every 4th point)
    angles, X = cu.circle_grid(spectrum.BIAS_N)
    expected = spectrum.frequency_amplitudes(run.dense[:, ::4], angles, spectrum.BIAS_FREQS)
    np.testing.assert_allclose(run.amplitudes, expected, rtol=1e-9, atol=1e-12)
    # the log-spaced records are the same run as cu.train recording every step
    y = cu.fourier_target(angles, spectrum.BIAS_FREQS)
    apply, params = spectrum.centered_network(spectrum.circle_model(64), 0)
    last = int(run.steps[20])
    traj = cu.train(apply, params, X, y, lr=run.lr, steps=last, record_every=1)
    np.testing.assert_allclose(run.dense[:21, ::4], np.asarray(traj.outputs)[run.steps[:21]], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(run.times, run.lr * run.steps)
    # discrete-step prediction tends to gradient flow for a small step
    t = np.array([0.5, 2.0])
    np.testing.assert_allclose(spectrum.bias_kernel_amplitudes(t, 1e-5), spectrum.bias_kernel_amplitudes(t), rtol=1e-4)


def test_convergence_times_follow_the_kernel_small_run():
    res = spectrum.convergence_times(freqs=(2, 4, 8), width=512, n=32, fit_from=2)
    assert np.all(np.abs(res.measured / res.predicted - 1) < 0.25)
    assert res.measured_fit.exponent > 1.5
    assert res.measured_fit == cu.fit_power_law(res.freqs, res.measured)


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
