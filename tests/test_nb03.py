"""course_utils.nb03: the computations behind notebook 03 (the neural tangent kernel)."""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

import course_utils as cu
from course_utils import nb03


# ---------------------------------------------------------------------- Fig. 1 set-up
def test_fig1_model_is_jacot_depth_4():
    model = nb03.fig1_model(128)
    assert (model.in_dim, model.width, model.depth) == (2, 128, 3)
    assert (model.activation, model.parameterization, model.sw2, model.sb2) == ("relu", "ntk", 1.0, 0.01)
    with pytest.raises(ValueError):
        nb03.fig1_model(0)


def test_fig1_angles_put_gamma_zero_in_the_middle():
    gammas, points = nb03.fig1_angles(21)
    assert gammas[10] == 0.0 and gammas[0] == pytest.approx(-np.pi) and gammas[-1] == pytest.approx(np.pi)
    np.testing.assert_allclose(points[10], [1.0, 0.0])
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0)
    with pytest.raises(ValueError, match="odd"):
        nb03.fig1_angles(20)
    with pytest.raises(ValueError):
        nb03.fig1_angles(1)


def test_fig1_training_set_is_deterministic_product_target():
    x, y = nb03.fig1_training_set()
    x2, _ = nb03.fig1_training_set()
    assert x.shape == (nb03.N_TRAIN, 2)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_allclose(y, x[:, 0] * x[:, 1])
    with pytest.raises(ValueError):
        nb03.fig1_training_set(0)


def test_fig1_width_data_matches_direct_computation():
    data = nb03.fig1_width_data(64)
    n_times = nb03.FIG1_STEPS // nb03.FIG1_RECORD_EVERY + 1
    assert data.rows.shape == (nb03.FIG1_SEEDS, n_times, nb03.N_GAMMA)
    assert data.train_kernels.shape == (nb03.FIG1_SEEDS, n_times, nb03.N_TRAIN, nb03.N_TRAIN)
    assert data.init_rows.shape == (nb03.SPREAD_SEEDS, nb03.N_GAMMA)
    np.testing.assert_allclose(data.times, nb03.FIG1_LR * np.arange(0, nb03.FIG1_STEPS + 1, nb03.FIG1_RECORD_EVERY))
    np.testing.assert_array_equal(data.init_rows[: nb03.FIG1_SEEDS], data.rows[:, 0])

    model = nb03.fig1_model(64)
    gammas, grid = nb03.fig1_angles()
    x0 = grid[len(gammas) // 2 :][:1]
    x, y = nb03.fig1_training_set()
    # t = 0 for a spread-only seed, and the end of training for a trained seed.
    np.testing.assert_allclose(
        data.init_rows[17], cu.empirical_ntk(model, model.init(17), x0, grid)[0], rtol=1e-10, atol=1e-12
    )
    traj = cu.train(model.apply, model.init(2), x, y, lr=nb03.FIG1_LR, steps=nb03.FIG1_STEPS)
    np.testing.assert_allclose(
        data.rows[2, -1], cu.empirical_ntk(model, traj.params, x0, grid)[0], rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(
        data.train_kernels[2, -1], cu.empirical_ntk(model, traj.params, x), rtol=1e-8, atol=1e-10
    )
    assert np.all(data.loss[:, -1] < data.loss[:, 0])


def test_fig1_width_data_rejects_bad_arguments():
    with pytest.raises(ValueError):
        nb03.fig1_width_data(0)
    with pytest.raises(ValueError, match="spread_seeds"):
        nb03.fig1_width_data(64, seeds=5, spread_seeds=3)


def test_fig1_analytic_row_is_the_analytic_kernel_and_even_in_gamma():
    row = nb03.fig1_analytic_row()
    gammas, grid = nb03.fig1_angles()
    expected = cu.analytic_ntk(nb03.fig1_model(1), grid[len(gammas) // 2 :][:1], grid)[0]
    np.testing.assert_allclose(row, expected, rtol=1e-12)
    np.testing.assert_allclose(row, row[::-1], rtol=1e-10)
    assert np.argmax(row) == len(gammas) // 2


def test_seed_spread_and_kernel_change_shrink_with_width():
    spread = nb03.seed_spread((64, 256))
    assert spread["spread"].shape == (2,) and spread["spread"][1] < spread["spread"][0]
    assert spread["slope"] < 0 and np.all(spread["rms_error"] > 0)
    change = nb03.kernel_change((64, 256))
    assert change["curves"].shape == (2, len(change["times"]))
    np.testing.assert_array_equal(change["curves"][:, 0], 0.0)
    assert change["final"][1] < change["final"][0] and change["slope"] < 0
    for bad in [(64,), (), (64, 0)]:
        with pytest.raises(ValueError):
            nb03.seed_spread(bad)
        with pytest.raises(ValueError):
            nb03.kernel_change(bad)


# ---------------------------------------------------------------------- kernels and pictures
@pytest.fixture(scope="module")
def small():
    model = cu.MLP(in_dim=2, width=32, depth=2, sb2=0.1)
    params = model.init(cu.key(0))
    x = jax.random.normal(cu.key(1), (5, 2))
    x2 = jax.random.normal(cu.key(2), (3, 2))
    return model, params, x, x2


def test_flat_gradient_gives_the_jacobian_kernel(small):
    model, params, x, _ = small
    J = nb03.flat_gradient(model, params, x)
    assert J.shape == (5, model.num_params)
    np.testing.assert_allclose(J @ J.T, cu.empirical_ntk(model, params, x, method="jacobian"), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError):
        nb03.flat_gradient("not a model", params, x)
    with pytest.raises(ValueError):
        nb03.flat_gradient(model, params, jnp.ones((3, 4)))


def test_layer_contributions_sum_to_the_ntk(small):
    model, params, x, x2 = small
    terms = nb03.layer_contributions(model, params, x)
    assert len(terms) == model.depth + 1
    np.testing.assert_allclose(sum(terms), cu.empirical_ntk(model, params, x), rtol=1e-10, atol=1e-12)
    rect = nb03.layer_contributions(model, params, x, x2)
    np.testing.assert_allclose(
        sum(rect), cu.empirical_ntk(model, params, x, x2, method="jacobian"), rtol=1e-10, atol=1e-12
    )
    with pytest.raises(ValueError):
        nb03.layer_contributions(model, params, jnp.ones((2, 3)))


def test_nudge_response_is_the_kernel_row(small):
    model, params, x, _ = small
    df, k = nb03.nudge_response(model, params, x[:1], x, eps=1e-4)
    np.testing.assert_allclose(df, k, rtol=1e-2, atol=1e-3 * np.max(np.abs(k)))
    np.testing.assert_allclose(k, cu.empirical_ntk(model, params, x, x[:1])[:, 0], rtol=1e-12)
    with pytest.raises(ValueError, match="single input"):
        nb03.nudge_response(model, params, x[:2], x)
    with pytest.raises(ValueError):
        nb03.nudge_response(model, params, x[:1], x, eps=0.0)


def test_perturbation_responses_have_the_kernel_as_covariance(small):
    model, params, x, _ = small
    responses = nb03.perturbation_responses(model, params, x[:3], num=4000, seed=1)
    assert responses.shape == (4000, 3)
    np.testing.assert_array_equal(responses, nb03.perturbation_responses(model, params, x[:3], num=4000, seed=1))
    K = np.asarray(cu.empirical_ntk(model, params, x[:3]))
    sample = responses.T @ responses / len(responses)
    stderr = np.sqrt((np.outer(np.diag(K), np.diag(K)) + K**2) / len(responses))
    assert np.all(np.abs(sample - K) < 5 * stderr)
    with pytest.raises(ValueError):
        nb03.perturbation_responses(model, params, x, num=1)
    with pytest.raises(ValueError):
        nb03.perturbation_responses(model, params, x, seed=-1)


def test_similarity_figure_reports_its_numbers():
    before = len(plt.get_fignums())
    fig, info = nb03.similarity_figure(num=200)
    try:
        assert len(fig.axes) == 3
        assert info["nudge_mismatch"] < 1e-2
        assert info["near"]["kernel_corr"] > 0.8 > abs(info["far"]["kernel_corr"])
        for name in ["near", "far"]:
            assert abs(info[name]["sample_cov"] - info[name]["kernel"]) < 4 * info[name]["stderr"]
    finally:
        plt.close(fig)
    assert len(plt.get_fignums()) == before
    with pytest.raises(ValueError):
        nb03.similarity_figure(model=cu.MLP(in_dim=3, width=8))


def test_arccos_kernels_known_values():
    k1, k0 = nb03.arccos_kernels(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(k1, [0.5, 1 / (2 * np.pi), 0.0], atol=1e-15)
    np.testing.assert_allclose(k0, [0.5, 0.25, 0.0], atol=1e-15)
    # dk1/dc = k0 (Price's theorem), by a central difference.
    c, h = 0.3, 1e-6
    derivative = (nb03.arccos_kernels(c + h)[0] - nb03.arccos_kernels(c - h)[0]) / (2 * h)
    assert derivative == pytest.approx(nb03.arccos_kernels(c)[1], rel=1e-6)
    with pytest.raises(ValueError):
        nb03.arccos_kernels(1.5)
    with pytest.raises(ValueError):
        nb03.arccos_kernels(np.nan)


def test_analytic_recursion_agrees_with_arccos_kernels_by_hand():
    # Depth 3 on the circle, by the recursion written with arccos_kernels.
    gammas = np.linspace(-np.pi, np.pi, 9)
    sw2, sb2 = 1.0, 0.01
    sigma, var = sw2 * np.cos(gammas) / 2 + sb2, sw2 / 2 + sb2
    theta = sigma
    for _ in range(3):
        k1, k0 = nb03.arccos_kernels(sigma / var)
        sigma, theta, var = sw2 * var * k1 + sb2, sw2 * var * k1 + sb2 + sw2 * k0 * theta, sw2 * var / 2 + sb2
    expected = cu.analytic_ntk(nb03.fig1_model(1), cu.circle_points(np.zeros(1)), cu.circle_points(gammas))[0]
    # arccos(c) loses about half the digits as c -> 1, so the by-hand chain is good to ~1e-9
    # at gamma = 0; there the exact value follows from E[relu(u)^2] = k/2 alone:
    # Theta = 0.51 -> 0.52 -> 0.4025 -> 0.2825 for sw2 = 1, sb2 = 0.01.
    np.testing.assert_allclose(theta, expected, rtol=1e-8)
    assert expected[len(gammas) // 2] == pytest.approx(0.2825, rel=1e-14)


# ---------------------------------------------------------------------- exercises
def test_exercise_two_layer_ntk_solution_passes_and_wrong_answers_fail():
    assert nb03.check_two_layer_ntk(nb03.two_layer_ntk)

    def readout_only(model, params, x1, x2):
        (w1, _, b1m, _), (w2, _, b2m, _) = model.layer_scales()
        a1 = jnp.maximum(w1 * x1 @ params[0]["W"] + b1m * params[0]["b"], 0)
        a2 = jnp.maximum(w1 * x2 @ params[0]["W"] + b1m * params[0]["b"], 0)
        return w2**2 * a1 @ a2.T + b2m**2

    def stub(model, params, x1, x2):
        raise NotImplementedError

    assert not nb03.check_two_layer_ntk(readout_only)
    assert not nb03.check_two_layer_ntk(stub)
    assert not nb03.check_two_layer_ntk(lambda *args: np.zeros((2, 2)))


def test_exercise_relu_ntk_limit_solution_passes_and_wrong_answers_fail():
    assert nb03.check_relu_ntk_limit(nb03.relu_ntk_limit)

    def nngp_only(gamma, sw2, sb2):  # forgets the derivative term
        sigma1 = sw2 * np.cos(gamma) / 2 + sb2
        var1 = sw2 / 2 + sb2
        k1, _ = nb03.arccos_kernels(sigma1 / var1)
        return sw2 * var1 * k1 + sb2

    assert not nb03.check_relu_ntk_limit(nngp_only)
    assert not nb03.check_relu_ntk_limit(lambda gamma, sw2, sb2: np.cos(gamma))


def test_solutions_are_registered():
    assert cu.exercises.get_solution("03.two_layer_ntk") is nb03.two_layer_ntk
    assert cu.exercises.get_solution("03.relu_ntk_limit") is nb03.relu_ntk_limit


def test_freeze_layout_keeps_the_rendered_picture():
    import io

    from matplotlib.figure import Figure
    from matplotlib.image import imread

    fig = Figure(figsize=(4, 3), dpi=80)
    ax = fig.subplots()
    ax.plot([0, 1, 2], [1e-3, 1.0, 1e3])
    ax.set_yscale("log")
    ax.set_xlabel("time t")
    ax.set_ylabel("a quantity")
    ax.set_title("title", fontsize=9)
    fig.tight_layout()

    def render():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=fig.dpi)
        buffer.seek(0)
        return imread(buffer)

    before = render()
    nb03.freeze_layout(fig)
    assert fig.get_layout_engine() is None
    after = render()
    assert before.shape == after.shape
    assert np.mean(np.any(before != after, axis=-1)) < 0.01  # at most sub-pixel shifts of a few glyphs
    ax.set_title("a new title", fontsize=9)  # later updates keep the pinned position
    assert ax.title.get_position()[1] == 1.0
