"""Unit tests of course_utils.nb05 (spectrum, spectral bias, generalization, muP)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import course_utils as cu
from course_utils import nb05
from course_utils.exercises import get_solution


# ---------------------------------------------------------------------- small tools
def test_spectral_filter_values_and_validation():
    lam = np.array([0.0, 0.5, 2.0])
    np.testing.assert_allclose(nb05.spectral_filter(lam, 1.5), 1 - np.exp(-lam * 1.5))
    assert nb05.spectral_filter(3.0, 0.0) == 0.0
    np.testing.assert_allclose(nb05.spectral_filter(1e-12, 1.0), 1e-12, rtol=1e-6)  # no cancellation
    with pytest.raises(ValueError, match=">= 0"):
        nb05.spectral_filter(-1.0, 1.0)
    with pytest.raises(ValueError, match="time"):
        nb05.spectral_filter(1.0, -1.0)
    with pytest.raises(ValueError, match="finite"):
        nb05.spectral_filter(np.nan, 1.0)


def test_loglog_slope():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    assert nb05.loglog_slope(x, 3 * x**-2) == pytest.approx(-2.0)
    with pytest.raises(ValueError, match="positive"):
        nb05.loglog_slope(x, -x)
    with pytest.raises(ValueError, match="same length"):
        nb05.loglog_slope(x, x[:2])


def test_log_steps_and_round_times():
    steps = nb05.log_steps(100, 10)
    assert steps[0] == 0 and steps[-1] == 100 and np.all(np.diff(steps) > 0)
    assert nb05.round_times([0.0, 1.23456, 1e-3 * 1.00001]) == [0.0, 1.23, 0.001]
    with pytest.raises(ValueError):
        nb05.log_steps(0, 10)


def test_init_params_shapes_scales_and_determinism():
    for par in ("ntk", "standard", "mup"):
        model = cu.MLP(in_dim=2, width=512, depth=2, parameterization=par, sb2=0.1)
        p = nb05.init_params(model, 3)
        model.check_params(p)  # raises on a shape mismatch
        q = nb05.init_params(model, 3)
        assert all(np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(p), jax.tree_util.tree_leaves(q)))
        for layer, scale in zip(p, model.layer_scales()):
            assert float(jnp.std(layer["W"])) == pytest.approx(scale.w_std, rel=0.1)
    with pytest.raises(ValueError, match="MLP"):
        nb05.init_params("not a model", 0)
    with pytest.raises(ValueError, match="seed"):
        nb05.init_params(cu.MLP(in_dim=2, width=4), -1)


def test_centered_network_starts_at_zero_and_keeps_the_ntk():
    model = nb05.model_for(64)
    apply, theta0 = nb05.centered_network(model, 0)
    _, X = cu.circle_grid(7)
    np.testing.assert_array_equal(np.asarray(apply(theta0, X)), 0.0)
    jac = jax.jacrev(lambda p: apply(p, X))(theta0)
    J = jnp.concatenate([leaf.reshape(7, -1) for leaf in jax.tree_util.tree_leaves(jac)], axis=1)
    np.testing.assert_allclose(np.asarray(J @ J.T), np.asarray(cu.empirical_ntk(model, theta0, X)), rtol=1e-10)
    assert nb05.centered_network(model, 0)[0] is apply  # cached: one compile per width
    with pytest.raises(ValueError):
        nb05.centered_network("model", 0)


def test_train_log_recorded_matches_cu_train():
    model = nb05.model_for(32)
    params = nb05.init_params(model, 1)
    _, X = cu.circle_grid(8)
    y = cu.fourier_target(cu.circle_grid(8)[0], (1, 2))
    steps = np.array([0, 1, 3, 10, 25])
    times, history = nb05.train_log_recorded(model.apply, params, X, y, lr=0.05, record_steps=steps)
    np.testing.assert_allclose(times, 0.05 * steps)
    traj = cu.train(model.apply, params, X, y, lr=0.05, steps=25, record_every=1)
    outputs = np.asarray(nb05._outputs_along(model, history, X))
    np.testing.assert_allclose(outputs, np.asarray(traj.outputs)[steps], rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="start"):
        nb05.train_log_recorded(model.apply, params, X, y, lr=0.05, record_steps=[1, 2])
    with pytest.raises(ValueError, match="lr"):
        nb05.train_log_recorded(model.apply, params, X, y, lr=0.0, record_steps=[0, 2])


# ---------------------------------------------------------------------- circle spectrum
def test_analytic_kernel_on_the_circle_is_circulant_with_fourier_eigenvectors():
    K = nb05._analytic_circle_kernel(32, nb05.SB2)
    assert nb05.circulant_error(K) < 1e-7
    assert nb05.fourier_eigenvector_error(K, range(17)) < 1e-7
    lam = nb05.fourier_eigenvalues(K, range(17))
    np.testing.assert_allclose(lam, np.real(np.fft.fft(K[0]))[:17], rtol=1e-7, atol=1e-8)
    # the Fourier eigenvalues are the eigenvalues of K (cos and sin share k = 1..15)
    expected = np.sort(np.concatenate([lam, lam[1:16]]))
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(K)), expected, rtol=1e-7, atol=1e-9)


def test_circulant_checks_reject_a_generic_matrix():
    A = np.random.default_rng(0).normal(size=(8, 8))
    K = A @ A.T
    assert nb05.circulant_error(K) > 0.1
    assert nb05.fourier_eigenvector_error(K, [1, 2]) > 1e-3
    with pytest.raises(ValueError, match="resolved"):
        nb05.fourier_eigenvalues(K, [5])
    with pytest.raises(ValueError, match="square"):
        nb05.fourier_eigenvalues(K[:3], [1])


def test_spectrum_decays_like_k_to_minus_two_and_odd_frequencies_vanish_without_bias():
    ks = np.array([16, 24, 32])
    assert nb05.loglog_slope(ks, nb05.circle_spectrum(ks, n=512)) == pytest.approx(-2.0, abs=0.1)
    assert nb05.odd_frequency_ratio(sb2=0.0) < 1e-9
    assert nb05.odd_frequency_ratio(sb2=0.1) > 1e-3


# ---------------------------------------------------------------------- filtering
def test_filter_formula_equals_trained_linearised_network():
    res = nb05.filter_versus_training(width=256, steps=50)
    scale = np.max(np.abs(res["target"]))
    assert np.max(np.abs(res["trained"] - res["discrete"])) / scale < 1e-10
    assert np.max(np.abs(res["trained"] - res["flow"])) / scale < 0.1


def test_filter_flow_matches_direct_gradient_flow():
    flow, predictor = nb05.filter_flow(256)
    _, X, y, _, X_dense = nb05.filter_setup()
    model = nb05.model_for(256)
    p = nb05.init_params(model, 0)
    K = cu.empirical_ntk(model, p, X)
    reference = cu.GradientFlow(K, y, jnp.zeros(len(y)))
    np.testing.assert_allclose(np.asarray(flow.eigenvalues), np.asarray(reference.eigenvalues), rtol=1e-9, atol=1e-9)
    direct = reference.predict(0.7, cu.empirical_ntk(model, p, X_dense, X), jnp.zeros(len(X_dense)))
    np.testing.assert_allclose(np.asarray(predictor(0.7)), np.asarray(direct), rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------------- spectral bias and convergence times
def test_frequency_amplitudes_and_arrival_time():
    angles = 2 * np.pi * np.arange(32) / 32
    f = 0.3 * np.cos(angles) + 1.7 * np.cos(4 * angles) + 0.5 * np.sin(2 * angles)
    np.testing.assert_allclose(nb05.frequency_amplitudes(f, angles, (1, 4, 2)), [0.3, 1.7, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="angles"):
        nb05.frequency_amplitudes(f[:10], angles, (1,))
    t = np.array([0.0, 1.0, 2.0])
    assert nb05.arrival_time(t, [0.0, 0.5, 1.0], 0.75) == pytest.approx(1.5)
    assert nb05.arrival_time(t, [0.0, 0.1, 0.2], 0.9) == math.inf
    with pytest.raises(ValueError):
        nb05.arrival_time(t, [0.0, 1.0], 0.5)


def test_bias_run_low_frequency_first_and_kernel_amplitudes():
    run = nb05.bias_run(256)
    t_low = nb05.arrival_time(run["times"], run["amplitudes"][:, 0])
    t_high = nb05.arrival_time(run["times"], run["amplitudes"][:, 1])
    assert 10 * t_low < t_high < math.inf
    # the network's amplitudes are those of its function on the dense grid (every 4th point)
    expected = nb05.frequency_amplitudes(run["dense"][:, ::4], cu.circle_grid(32)[0], nb05.BIAS_FREQS)
    np.testing.assert_allclose(run["amplitudes"], expected)
    # discrete-step prediction tends to gradient flow for a small step
    t = np.array([0.5, 2.0])
    np.testing.assert_allclose(nb05.bias_kernel_amplitudes(t, 1e-5), nb05.bias_kernel_amplitudes(t), rtol=1e-4)


def test_convergence_times_follow_the_kernel_small_run():
    freqs, measured, predicted = nb05.convergence_times(freqs=(2, 4, 8), width=512, n=32)
    assert np.all(np.abs(measured / predicted - 1) < 0.25)
    assert nb05.loglog_slope(freqs, measured) > 1.5


# ---------------------------------------------------------------------- generalization
def test_generalization_early_stopping_and_interpolant():
    g = nb05.gen_flow(None)
    _, X, y, _, X_test, _ = nb05.gen_setup()
    np.testing.assert_allclose(g["limit"], np.asarray(cu.kernel_regression(g["K_train"], y, g["K_test"])), atol=1e-8)
    t_best, err_best, err_inf = nb05.early_stopping(None)
    assert 0 < t_best < 1e4 and err_best < 0.8 * err_inf
    assert g["train_err"][-1] < 1e-6  # training error goes to zero
    with pytest.raises(ValueError):
        nb05.gen_flow(0)


# ---------------------------------------------------------------------- muP
@pytest.mark.parametrize("par", ["standard", "mup", "ntk"])
def test_two_layer_forward_matches_mlp(par):
    model = cu.MLP(in_dim=2, width=48, parameterization=par, sb2=0.2)
    p = nb05.init_params(model, 2)
    _, X = cu.circle_grid(5)
    got = nb05.two_layer_forward(p, jnp.asarray(nb05.layer_multipliers(model)), X)
    np.testing.assert_allclose(np.asarray(got), np.asarray(model.apply(p, X)), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="depth"):
        nb05.layer_multipliers(cu.MLP(in_dim=2, width=4, depth=2))


def test_lr_sweeps_match_plain_training_and_mark_divergence():
    sweeps = nb05.lr_sweeps(64)
    X, y = nb05.mup_data()
    for par in ("standard", "mup"):
        losses = sweeps[par]
        assert losses.shape == (len(nb05.MUP_LRS[par]), nb05.MUP_STEPS + 1)
        model = cu.MLP(in_dim=2, width=64, parameterization=par, sb2=0.0)
        j = 3
        p0 = nb05.init_params(model, 0)
        traj = cu.train(model.apply, p0, X, y, lr=nb05.MUP_LRS[par][j], steps=20, record_every=1)
        np.testing.assert_allclose(losses[j, :21], np.asarray(traj.loss), rtol=1e-9)
        diverged = ~np.isfinite(losses)
        assert np.all(diverged[:, :-1] <= diverged[:, 1:])  # once inf, always inf
        assert diverged[-1, -1]  # the largest learning rate diverges
    sp = nb05.best_lrs("standard", widths=(64,))
    assert sp.shape == (1,)
    with pytest.raises(ValueError):
        nb05.best_lrs("ntk")


def test_ntk_scale_grows_with_width_only_in_standard_parameterization():
    widths = (64, 256)
    sp = nb05.ntk_scale("standard", widths)
    ntk = nb05.ntk_scale("ntk", widths)
    assert sp[1] / sp[0] > 3 and 0.5 < ntk[1] / ntk[0] < 2
    np.testing.assert_allclose(nb05.ntk_scale("mup", widths), ntk, rtol=1e-10)


# ---------------------------------------------------------------------- exercises
def test_exercise_filtered_prediction(capsys):
    assert nb05.check_filtered_prediction(get_solution("05.filtered_prediction"))
    assert not nb05.check_filtered_prediction(lambda K, y, t: np.asarray(y))  # forgot the filter
    assert not nb05.check_filtered_prediction(lambda K, y, t: np.exp(-np.diag(K) * t) * y)

    def stub(K, y, t):
        raise NotImplementedError

    assert not nb05.check_filtered_prediction(stub)
    assert "NotImplementedError" in capsys.readouterr().out


def test_exercise_circle_eigenvalue():
    assert nb05.check_circle_eigenvalue(get_solution("05.circle_eigenvalue"))
    assert not nb05.check_circle_eigenvalue(lambda row, k: float(np.sum(row)))
    def sine_transform(row, k):
        return float(np.sum(row * np.sin(2 * np.pi * np.arange(len(row)) * k / len(row))))

    assert not nb05.check_circle_eigenvalue(sine_transform)
