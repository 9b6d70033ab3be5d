"""course_utils.experiments.kernel_convergence: the runs behind notebook 03's claim checks."""

import jax
import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import kernel_convergence as kc


# ---------------------------------------------------------------------- Fig. 1 set-up
def test_fig1_model_is_jacot_depth_4():
    model = kc.fig1_model(128)
    assert (model.in_dim, model.width, model.depth) == (2, 128, 3)
    assert (model.activation, model.parameterization, model.sw2, model.sb2) == ("relu", "ntk", 1.0, 0.01)
    with pytest.raises(ValueError):
        kc.fig1_model(0)


def test_fig1_angles_put_gamma_zero_in_the_middle():
    gammas, points = kc.fig1_angles(21)
    assert gammas[10] == 0.0 and gammas[0] == pytest.approx(-np.pi) and gammas[-1] == pytest.approx(np.pi)
    np.testing.assert_allclose(points[10], [1.0, 0.0])
    np.testing.assert_allclose(kc.fig1_reference_point(), [[1.0, 0.0]])
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0)
    with pytest.raises(ValueError, match="odd"):
        kc.fig1_angles(20)
    with pytest.raises(ValueError):
        kc.fig1_angles(1)


def test_fig1_training_set_is_deterministic_product_target():
    x, y = kc.fig1_training_set()
    x2, _ = kc.fig1_training_set()
    assert x.shape == (kc.N_TRAIN, 2)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_allclose(y, x[:, 0] * x[:, 1])
    with pytest.raises(ValueError):
        kc.fig1_training_set(0)


def test_fig1_width_data_matches_direct_computation():
    data = kc.fig1_width_data(64)
    n_times = len(kc.FIG1_RECORD_STEPS)
    assert data.rows.shape == (kc.FIG1_SEEDS, n_times, kc.N_GAMMA)
    assert data.train_kernels.shape == (kc.FIG1_SEEDS, n_times, kc.N_TRAIN, kc.N_TRAIN)
    assert data.init_rows.shape == (kc.SPREAD_SEEDS, kc.N_GAMMA)
    np.testing.assert_allclose(data.times, kc.FIG1_LR * np.asarray(kc.FIG1_RECORD_STEPS))
    np.testing.assert_array_equal(kc.FIG1_RECORD_STEPS, cu.log_record_steps(kc.FIG1_STEPS, 12))
    np.testing.assert_array_equal(data.init_rows[: kc.FIG1_SEEDS], data.rows[:, 0])

    model = kc.fig1_model(64)
    _, grid = kc.fig1_angles()
    x0 = kc.fig1_reference_point()
    x, y = kc.fig1_training_set()
    # t = 0 for a spread-only seed, and the end of training for a trained seed.
    np.testing.assert_allclose(
        data.init_rows[17], cu.empirical_ntk(model, model.init(17), x0, grid)[0], rtol=1e-10, atol=1e-12
    )
    traj = cu.train(model.apply, model.init(2), x, y, lr=kc.FIG1_LR, steps=kc.FIG1_STEPS)
    np.testing.assert_allclose(
        data.rows[2, -1], cu.empirical_ntk(model, traj.params, x0, grid)[0], rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(
        data.train_kernels[2, -1], cu.empirical_ntk(model, traj.params, x), rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(data.loss[2, -1], traj.loss[-1], rtol=1e-8)
    assert np.all(data.loss[:, -1] < data.loss[:, 0])


def test_fig1_width_data_rejects_bad_arguments():
    with pytest.raises(ValueError):
        kc.fig1_width_data(0)
    with pytest.raises(ValueError, match="spread_seeds"):
        kc.fig1_width_data(64, seeds=5, spread_seeds=3)


def test_fig1_analytic_row_is_the_analytic_kernel_and_even_in_gamma():
    row = kc.fig1_analytic_row()
    gammas, grid = kc.fig1_angles()
    expected = cu.analytic_ntk(kc.fig1_model(1), grid[len(gammas) // 2 :][:1], grid)[0]
    np.testing.assert_allclose(row, expected, rtol=1e-12)
    np.testing.assert_allclose(row, row[::-1], rtol=1e-10)
    assert np.argmax(row) == len(gammas) // 2


# ---------------------------------------------------------------------- the claim checks' sweeps
def test_limit_distance_is_a_relative_distance_per_seed_and_shrinks():
    result = kc.limit_distance((64, 256))
    assert result.distances.shape == (2, kc.SPREAD_SEEDS)
    # Seed 5 at width 256, straight from the core.
    model = kc.fig1_model(256)
    _, grid = kc.fig1_angles()
    row = cu.empirical_ntk(model, model.init(5), kc.fig1_reference_point(), grid)[0]
    expected = cu.relative_distance(row, cu.analytic_ntk(model, kc.fig1_reference_point(), grid)[0])
    assert result.distances[1, 5] == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(result.mean_distance, result.distances.mean(axis=1))
    rows = kc.fig1_width_data(64).init_rows
    assert result.spread[0] == pytest.approx(np.mean(np.std(rows, axis=0, ddof=1)))
    assert result.mean_distance[1] < result.mean_distance[0] and result.spread[1] < result.spread[0]
    assert result.distance_fit.exponent < 0 and result.spread_fit.exponent < 0
    expected_fit = cu.fit_power_law([64, 256], result.mean_distance)
    assert result.distance_fit.exponent == pytest.approx(expected_fit.exponent)
    for bad in [(64,), (), (64, 0)]:
        with pytest.raises(ValueError):
            kc.limit_distance(bad)


def test_kernel_change_shrinks_with_width():
    change = kc.kernel_change((64, 256))
    assert change.curves.shape == (2, len(change.times))
    np.testing.assert_array_equal(change.curves[:, 0], 0.0)
    K = kc.fig1_width_data(256).train_kernels
    assert change.per_seed[1, 3, -1] == pytest.approx(np.linalg.norm(K[3, -1] - K[3, 0]) / np.linalg.norm(K[3, 0]))
    np.testing.assert_allclose(change.final, change.curves[:, -1])
    assert change.final[1] < change.final[0] and change.fit.exponent < 0
    for bad in [(64,), (), (64, 0)]:
        with pytest.raises(ValueError):
            kc.kernel_change(bad)


# ---------------------------------------------------------------------- "similar response" experiments
@pytest.fixture(scope="module")
def small():
    model = cu.MLP(in_dim=2, width=32, depth=2, sb2=0.1)
    params = model.init(cu.key(0))
    x = jax.random.normal(cu.key(1), (5, 2))
    x2 = jax.random.normal(cu.key(2), (3, 2))
    return model, params, x, x2


def test_layer_contributions_sum_to_the_ntk(small):
    model, params, x, x2 = small
    terms = cu.ntk_layer_contributions(model, params, x)
    assert len(terms) == model.depth + 1
    np.testing.assert_allclose(sum(terms), cu.empirical_ntk(model, params, x), rtol=1e-10, atol=1e-12)
    rect = cu.ntk_layer_contributions(model, params, x, x2)
    np.testing.assert_allclose(
        sum(rect), cu.empirical_ntk(model, params, x, x2, method="jacobian"), rtol=1e-10, atol=1e-12
    )


def test_nudge_response_is_the_kernel_row(small):
    model, params, x, _ = small
    df, k = kc.nudge_response(model, params, x[:1], x, eps=1e-4)
    np.testing.assert_allclose(df, k, rtol=1e-2, atol=1e-3 * np.max(np.abs(k)))
    np.testing.assert_allclose(k, cu.empirical_ntk(model, params, x, x[:1])[:, 0], rtol=1e-12)
    with pytest.raises(ValueError, match="single input"):
        kc.nudge_response(model, params, x[:2], x)
    with pytest.raises(ValueError):
        kc.nudge_response(model, params, x[:1], x, eps=0.0)
    with pytest.raises(ValueError):
        kc.nudge_response("not a model", params, x[:1], x)


def test_perturbation_responses_have_the_kernel_as_covariance(small):
    model, params, x, _ = small
    responses = kc.perturbation_responses(model, params, x[:3], num=4000, seed=1)
    assert responses.shape == (4000, 3)
    np.testing.assert_array_equal(responses, kc.perturbation_responses(model, params, x[:3], num=4000, seed=1))
    K = np.asarray(cu.empirical_ntk(model, params, x[:3]))
    sample = responses.T @ responses / len(responses)
    stderr = np.sqrt((np.outer(np.diag(K), np.diag(K)) + K**2) / len(responses))
    assert np.all(np.abs(sample - K) < 5 * stderr)
    with pytest.raises(ValueError):
        kc.perturbation_responses(model, params, x, num=1)
    with pytest.raises(ValueError):
        kc.perturbation_responses(model, params, x, seed=-1)


def test_similarity_experiment_reports_its_numbers():
    result = kc.similarity_experiment(num=200)
    assert result.nudge_mismatch < 1e-2
    assert result.responses_x0.shape == (200,) and result.responses_grid.shape == (200, kc.N_GAMMA)
    np.testing.assert_array_equal(result.responses_x0, result.near.responses[:, 0])
    # the grid responses are the same random directions, straight from perturbation_responses
    _, grid = kc.fig1_angles()
    direct = kc.perturbation_responses(kc.PICTURE_MODEL, kc.PICTURE_MODEL.init(0), grid[:3], num=200, seed=0)
    np.testing.assert_allclose(result.responses_grid[:, :3], direct, rtol=1e-9, atol=1e-12)
    assert result.near.kernel_corr > 0.8 > abs(result.far.kernel_corr)
    for pair in [result.near, result.far]:
        assert abs(pair.sample_cov - pair.kernel) < 4 * pair.stderr
        assert pair.responses.shape == (200, 2)
    model = kc.PICTURE_MODEL
    params = model.init(0)
    x0 = kc.fig1_reference_point()
    near = cu.circle_points(np.array([0.3]))
    assert result.near.kernel == pytest.approx(float(cu.empirical_ntk(model, params, x0, near)[0, 0]), rel=1e-10)
    with pytest.raises(ValueError):
        kc.similarity_experiment(model=cu.MLP(in_dim=3, width=8))


# ---------------------------------------------------------------------- arc-cosine kernels
def test_arccos_kernels_known_values():
    k1, k0 = kc.arccos_kernels(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(k1, [0.5, 1 / (2 * np.pi), 0.0], atol=1e-15)
    np.testing.assert_allclose(k0, [0.5, 0.25, 0.0], atol=1e-15)
    # dk1/dc = k0 (Price's theorem), by a central difference.
    c, h = 0.3, 1e-6
    derivative = (kc.arccos_kernels(c + h)[0] - kc.arccos_kernels(c - h)[0]) / (2 * h)
    assert derivative == pytest.approx(kc.arccos_kernels(c)[1], rel=1e-6)
    with pytest.raises(ValueError):
        kc.arccos_kernels(1.5)
    with pytest.raises(ValueError):
        kc.arccos_kernels(np.nan)


def test_analytic_recursion_agrees_with_arccos_kernels_by_hand():
    # Depth 3 on the circle, by the recursion written with arccos_kernels.
    gammas = np.linspace(-np.pi, np.pi, 9)
    sw2, sb2 = 1.0, 0.01
    sigma, var = sw2 * np.cos(gammas) / 2 + sb2, sw2 / 2 + sb2
    theta = sigma
    for _ in range(3):
        k1, k0 = kc.arccos_kernels(sigma / var)
        sigma, theta, var = sw2 * var * k1 + sb2, sw2 * var * k1 + sb2 + sw2 * k0 * theta, sw2 * var / 2 + sb2
    expected = cu.analytic_ntk(kc.fig1_model(1), cu.circle_points(np.zeros(1)), cu.circle_points(gammas))[0]
    # arccos(c) loses about half the digits as c -> 1, so the by-hand chain is good to ~1e-9
    # at gamma = 0; there the exact value follows from E[relu(u)^2] = k/2 alone:
    # Theta = 0.51 -> 0.52 -> 0.4025 -> 0.2825 for sw2 = 1, sb2 = 0.01.
    np.testing.assert_allclose(theta, expected, rtol=1e-8)
    assert expected[len(gammas) // 2] == pytest.approx(0.2825, rel=1e-14)


# ---------------------------------------------------------------------- claim predicates: real and wrong experiments
def test_claim_limit_distance_holds_and_rejects_wrong_experiments():
    result = kc.limit_distance()
    assert kc.claim_limit_distance(result).holds
    # a kernel that converges to 1.15 K_inf: its distance levels off at 0.15
    assert not kc.claim_limit_distance(result._replace(rows=1.15 * result.rows)).holds
    # no convergence at all: every width's rows are those of the narrowest one (a flat curve)
    flat = np.stack([result.rows[0]] * len(result.widths))
    assert not kc.claim_limit_distance(result._replace(rows=flat)).holds
    # the wrong exponent: fluctuations falling like N^-1 instead of N^-1/2
    scale = (result.widths / result.widths[0]) ** -0.5
    fast = result.limit + (result.rows - result.limit) * scale[:, None, None]
    assert not kc.claim_limit_distance(result._replace(rows=fast)).holds


def test_claim_kernel_change_holds_and_rejects_wrong_experiments():
    result = kc.kernel_change()
    assert kc.claim_kernel_change(result).holds
    flat = np.stack([result.per_seed[0]] * len(result.widths))
    assert not kc.claim_kernel_change(result._replace(per_seed=flat)).holds
    post = result.per_seed[0][None] * ((result.widths / result.widths[0]) ** -2.0)[:, None, None]
    assert not kc.claim_kernel_change(result._replace(per_seed=post)).holds
    # the window accepts both candidate laws, N^-1/2 and N^-1 (so the verdict says it cannot tell them apart)
    for exponent in (-0.6, -1.0):
        law = result.per_seed[0][None] * ((result.widths / result.widths[0]) ** exponent)[:, None, None]
        assert kc.claim_kernel_change(law_result := result._replace(per_seed=law)).holds, law_result
    assert "cannot tell them apart" in str(kc.claim_kernel_change(result))


def test_claim_nudge_holds_and_rejects_a_wrong_kernel():
    result = kc.similarity_experiment()
    assert kc.claim_nudge(result).holds
    assert not kc.claim_nudge(result._replace(k_row=1.15 * result.k_row)).holds
    # a mismatch that does not shrink with the step (zeroth order in eps) fails ...
    assert not kc.claim_nudge(result._replace(nudge_change_small=result.nudge_change)).holds
    # ... and so does one that shrinks 100x for a 10x smaller step (second order)
    shrunk = result.k_row + (result.nudge_change - result.k_row) / 100
    assert not kc.claim_nudge(result._replace(nudge_change_small=shrunk)).holds
    # the second nudge is the direct computation at eps / 10
    model = kc.PICTURE_MODEL
    _, grid = kc.fig1_angles()
    df_small, _ = kc.nudge_response(model, model.init(0), kc.fig1_reference_point(), grid, eps=result.eps / 10)
    np.testing.assert_allclose(result.nudge_change_small, df_small, rtol=1e-12)


def test_bootstrap_exponents_resamples_the_seeds():
    result = kc.limit_distance()
    boot = kc.bootstrap_exponents(result, resamples=50)
    assert boot.distance.shape == boot.spread.shape == (50,)
    # the bootstrap spread is several times the three-point fit's residual stderr
    assert boot.distance_std > 2 * result.distance_fit.stderr
    assert abs(np.mean(boot.distance) - result.distance_fit.exponent) < 0.05
    # the same seed draws the same resamples
    np.testing.assert_array_equal(kc.bootstrap_exponents(result, resamples=50).distance, boot.distance)
    with pytest.raises(ValueError):
        kc.bootstrap_exponents(result, resamples=1)


def test_claim_perturbation_covariance_holds_and_rejects_wrong_experiments():
    result = kc.similarity_experiment()
    assert len(result.responses_x0) == kc.PERTURBATION_DIRECTIONS
    assert kc.claim_perturbation_covariance(result).holds
    assert not kc.claim_perturbation_covariance(result._replace(k_row=1.15 * result.k_row)).holds
    # responses at x0 paired with other directions' responses on the grid: covariance 0
    shuffled = np.roll(result.responses_grid, 1, axis=0)
    assert not kc.claim_perturbation_covariance(result._replace(responses_grid=shuffled)).holds
    # 400 directions cannot resolve the row: the check refuses to call it
    assert not kc.claim_perturbation_covariance(kc.similarity_experiment(num=400)).holds


def test_claim_structured_matches_jacobian_holds_and_rejects_a_scaled_kernel():
    result = kc.agreement_experiment()
    assert kc.claim_structured_matches_jacobian(result).holds
    scaled = [(1.15 * fast, ref) for fast, ref in result.pairs]
    assert not kc.claim_structured_matches_jacobian(result._replace(pairs=scaled)).holds


def test_claim_symmetric_psd_holds_and_rejects_broken_kernels():
    K = kc.agreement_experiment().pairs[0][0]
    assert kc.claim_symmetric_psd(K).holds
    lam, U = np.linalg.eigh(K)
    assert not kc.claim_symmetric_psd(K - 1.15 * lam[0] * np.outer(U[:, 0], U[:, 0])).holds  # a negative eigenvalue
    skew = np.triu(np.ones_like(K), 1) * 1e-3 * np.max(K)
    assert not kc.claim_symmetric_psd(K + skew).holds
    assert "sanity check" in str(kc.claim_symmetric_psd(K))


def test_claim_arccos_holds_and_rejects_wrong_expectations():
    result = kc.arccos_monte_carlo()
    assert kc.claim_arccos(result).holds
    assert not kc.claim_arccos(result._replace(kappa1=1.15 * result.kappa1)).holds
    assert not kc.claim_arccos(result._replace(kappa0=result.kappa0[::-1])).holds
