"""Notebook 07's experiments: the digits split, kernel regression, and every claim predicate
(the real experiment holds; a deliberately wrong one fails)."""

import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import real_data as rd


def test_split_is_stratified_normalised_and_seeded():
    data = rd.digits_split()
    assert data.x_train.shape == (rd.N_TRAIN, 64) and data.x_test.shape == (rd.N_TEST, 64)
    assert np.all(np.bincount(data.labels_train) == rd.N_TRAIN // 10)
    np.testing.assert_allclose(np.linalg.norm(data.x_test, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(data.y_train.argmax(axis=1), data.labels_train)
    assert np.all(data.y_train.sum(axis=1) == 1)
    images, _ = rd.load_images()
    assert images.shape == (1797, 64)
    again = rd.digits_split.__wrapped__()  # uncached: the same seed gives the same split
    np.testing.assert_array_equal(again.x_train, data.x_train)
    with pytest.raises(ValueError):
        rd.normalise(np.ones((2, 64)), np.ones(64))


def test_data_and_split_equal_scikit_learns():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    mine, my_labels = rd.load_images()
    np.testing.assert_array_equal(mine, images)
    np.testing.assert_array_equal(my_labels, labels)
    rest, test, rest_labels, _ = train_test_split(images, labels, test_size=rd.N_TEST, stratify=labels, random_state=0)
    train, validation, _, _ = train_test_split(rest, rest_labels, train_size=rd.N_TRAIN, test_size=rd.N_VALIDATION,
                                               stratify=rest_labels, random_state=0)
    data = rd.digits_split()
    np.testing.assert_array_equal(data.mean, train.mean(axis=0))
    np.testing.assert_array_equal(data.x_validation, rd.normalise(validation, train.mean(axis=0)))
    np.testing.assert_array_equal(data.x_test, rd.normalise(test, train.mean(axis=0)))
    pool, _, pool_labels, _ = train_test_split(images, labels, train_size=rd.CURVE_POOL, stratify=labels, random_state=0)
    x, _, my_pool_labels = rd.learning_pool()
    np.testing.assert_array_equal(x, rd.normalise(pool, pool.mean(axis=0)))
    np.testing.assert_array_equal(my_pool_labels, pool_labels)


def test_kernel_predictions_equal_kernel_regression_per_column():
    K, K_star, _ = rd.limit_kernels(1)
    Y = rd.digits_split().y_train
    out = rd.kernel_predictions(K, K_star, Y)
    for c in (0, 7):
        np.testing.assert_allclose(out[:, c], cu.as_numpy(cu.kernel_regression(K, Y[:, c], K_star)), rtol=1e-8, atol=1e-10)


def test_width_sweep_claims_and_wrong_experiments():
    sweep = rd.width_sweep()
    assert rd.claim_outputs_converge(sweep).holds
    assert rd.claim_accuracy_converges(sweep).holds
    flat = sweep._replace(mean_distance=np.full_like(sweep.mean_distance, sweep.mean_distance[0]),
                          fit=cu.fit_power_law(sweep.widths, np.full(len(sweep.widths), 0.2) * (1 + 1e-3 * np.arange(len(sweep.widths)))))
    assert not rd.claim_outputs_converge(flat).holds
    fast = sweep._replace(fit=cu.fit_power_law(sweep.widths, sweep.widths ** -1.0))
    assert not rd.claim_outputs_converge(fast).holds
    slow = sweep._replace(fit=cu.fit_power_law(sweep.widths, sweep.widths ** -0.35),
                          mean_distance=0.9 * (sweep.widths / sweep.widths[0]) ** -0.35)  # 4.3x over the widths
    assert not rd.claim_outputs_converge(slow).holds
    stuck = sweep._replace(agreement=np.full_like(sweep.agreement, 0.95))
    assert not rd.claim_accuracy_converges(stuck).holds
    off = sweep._replace(net_accuracy=sweep.flow_accuracy - 0.03)
    assert not rd.claim_accuracy_converges(off).holds


def test_width_run_flow_starts_at_the_network():
    run = rd.width_run(64)
    np.testing.assert_allclose(run.flow_test[:, 0], run.net_test[:, 0], rtol=1e-12)
    assert run.distance[0, 0] == 0.0
    assert run.times[-1] == pytest.approx(rd.STEPS * run.lr)


def test_depth_claims_and_wrong_experiments():
    kernels = rd.depth_kernels()
    assert rd.claim_depth_kernel(kernels).holds
    no_flattening = kernels._replace(contrast=np.full_like(kernels.contrast, kernels.contrast[0]))
    assert not rd.claim_depth_kernel(no_flattening).holds
    deep_is_fine = kernels._replace(ntk_loss=np.full_like(kernels.ntk_loss, kernels.ntk_loss[0]))
    assert not rd.claim_depth_kernel(deep_is_fine).holds
    depth_helps = kernels._replace(ntk_accuracy=kernels.ntk_accuracy + 0.01 * kernels.depths)
    assert not rd.claim_depth_kernel(depth_helps).holds
    nets = rd.depth_networks()
    assert rd.claim_depth_networks(nets).holds
    helps = nets._replace(net_accuracy=nets.net_accuracy[0] + 0.02 * np.arange(len(nets.depths)))
    assert not rd.claim_depth_networks(helps).holds
    # a deep network as close to its own kernel prediction as the shallow one
    stays_close = nets._replace(distance=np.full_like(nets.distance, nets.distance[0]))
    assert not rd.claim_depth_networks(stays_close).holds
    # the accuracy gap to the own prediction flat in depth (only the f0 = 0 flow would pull ahead)
    flat_gap = nets._replace(own_kernel_accuracy=nets.net_accuracy + (nets.own_kernel_accuracy[0] - nets.net_accuracy[0]))
    assert not rd.claim_depth_networks(flat_gap).holds
    net, own, kernel, lr = rd.depth_network_outputs(1)
    assert nets.distance[0] == cu.relative_distance(net, own)
    assert net.shape == own.shape == kernel.shape


def test_feature_claims_and_wrong_experiments():
    runs = rd.feature_runs()
    assert rd.claim_feature_learning(runs).holds
    assert rd.claim_after_kernel(runs).holds
    i = rd.best_run(runs)
    assert runs.names[i].startswith("muP")
    frozen = runs._replace(kernel_change=np.full_like(runs.kernel_change, 0.05),
                           alignment=np.repeat(runs.alignment[:, :1], runs.alignment.shape[1], axis=1))
    assert not rd.claim_feature_learning(frozen).holds
    initial_only = runs._replace(after_kernel_accuracy=runs.initial_kernel_accuracy, distance_after=runs.distance_initial)
    assert not rd.claim_after_kernel(initial_only).holds


def test_learning_curve_theory_and_wrong_experiments():
    curve = rd.learning_curve()
    assert rd.claim_learning_curve(curve).holds
    assert not rd.claim_learning_curve(curve._replace(theory=curve.theory * 1.3)).holds
    flat = np.full_like(curve.measured_mean, curve.measured_mean[0])
    assert not rd.claim_learning_curve(curve._replace(measured_mean=flat, theory=flat)).holds
    # kappa solves the ridgeless equation; the theory at n -> 0 is the whole target power
    eta = curve.spectrum.eigenvalues
    kappa = rd.solve_kappa(eta, 50)
    assert np.sum(eta / (50 * eta + kappa)) == pytest.approx(1.0, rel=1e-9)
    assert rd.theory_error(curve.spectrum, 1e-9)[0] == pytest.approx(np.sum(curve.spectrum.target_power), rel=1e-6)
    with pytest.raises(ValueError):
        rd.solve_kappa(eta, len(eta) + 1)
