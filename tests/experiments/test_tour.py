"""Notebook 00's tour: the runs behind the figure and the claim check."""

import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import tour


@pytest.fixture(scope="module")
def runs():
    return {w: tour.tour_run(w) for w in (16, 4096)}


def test_both_curves_start_from_the_network_at_initialization(runs):
    for width, run in runs.items():
        model = tour.tour_model(width)
        params = model.init(cu.key(tour.SEEDS[0]))
        grid = cu.circle_points(run.grid_angles)
        np.testing.assert_allclose(run.network_grid[0, 0], model.apply(params, grid), rtol=1e-12)
        np.testing.assert_allclose(run.kernel_grid[0, 0], run.network_grid[0, 0], rtol=1e-12)
        assert run.times[0] == 0 and np.all(np.diff(run.times) > 0)
        assert np.isclose(run.times[-1], tour.LR * tour.STEPS)


def test_run_matches_a_direct_training_and_flow(runs):
    run = runs[16]
    model = tour.tour_model(16)
    _, x, y = tour.tour_problem()
    params = model.init(cu.key(tour.SEEDS[0]))
    traj = cu.train(model.apply, params, x, y, lr=tour.LR, steps=tour.STEPS,
                    record_steps=cu.log_record_steps(tour.STEPS, tour.N_RECORDS))
    np.testing.assert_allclose(run.network_train[0], traj.outputs, rtol=1e-9, atol=1e-12)
    flow = cu.GradientFlow(cu.analytic_ntk(model, x), y, model.apply(params, x), lr=tour.LR)
    np.testing.assert_allclose(run.kernel_train[0], flow.outputs(traj.times), rtol=1e-9, atol=1e-12)
    # the kernel prediction is gradient descent on the linear model, step for step: r_{k+1} = (I - lr K) r_k
    K = np.asarray(cu.analytic_ntk(model, x))
    steps = np.asarray(traj.steps)
    r = cu.discrete_residuals(K, np.asarray(model.apply(params, x) - y), tour.LR, int(steps[-1]))
    np.testing.assert_allclose(run.kernel_train[0], np.asarray(r)[steps] + np.asarray(y), rtol=1e-8, atol=1e-10)
    # ... which at lr lambda_max = 0.1 differs visibly from the continuous flow exp(-K t)
    continuous = cu.GradientFlow(K, y, model.apply(params, x)).outputs(traj.times)
    assert np.max(np.abs(np.asarray(continuous) - run.kernel_train[0])) > 1e-3
    np.testing.assert_allclose(run.gaps[0], np.max(np.abs(traj.outputs - flow.outputs(traj.times))), rtol=1e-9)


def test_kernel_prediction_interpolates_at_the_end(runs):
    run = runs[4096]
    assert run.kernel_loss[0, -1] < 1e-4 * run.kernel_loss[0, 0]
    assert run.network_loss[0, -1] < 1e-4 * run.network_loss[0, 0]


def test_wide_network_follows_the_kernel_more_closely():
    gaps = tour.tour_gaps()
    assert gaps.gaps.shape == (len(tour.TOUR_WIDTHS), len(tour.SEEDS))
    np.testing.assert_allclose(gaps.gaps[:, 0], [tour.tour_run(w).gaps[0] for w in tour.TOUR_WIDTHS])
    assert gaps.mean_gaps[-1] < gaps.mean_gaps[0] / 3
    assert np.all(np.diff(gaps.mean_gaps) < 0), "averaged over seeds, the gap shrinks at every width"
    fit = cu.fit_power_law(gaps.widths, gaps.mean_gaps)
    assert gaps.fit == fit and -1.0 < fit.exponent < -0.15
    assert tour.tour_gaps() is gaps  # cached


def test_a_batch_of_seeds_equals_the_seeds_one_by_one():
    both = tour.tour_run(16, tour.SEEDS)
    # trained on their own (tour_run would read them from the batch above)
    alone = [tour._tour_run(16, (seed,), 181) for seed in tour.SEEDS]
    np.testing.assert_allclose(both.gaps, [run.gaps[0] for run in alone], rtol=1e-9)
    np.testing.assert_allclose(both.network_grid[1], alone[1].network_grid[0], rtol=1e-9, atol=1e-12)


def test_a_seed_is_read_from_the_batch_that_trained_it():
    both = tour.tour_run(64, tour.SEEDS)
    second = tour.tour_run(64, tour.SEEDS[1:2])
    assert second.gaps.shape == (1,) and second.gaps[0] == both.gaps[1]
    np.testing.assert_array_equal(second.kernel_grid[0], both.kernel_grid[1])
    np.testing.assert_array_equal(second.times, both.times)


def test_bad_input():
    with pytest.raises(ValueError, match="width"):
        tour.tour_run(0)
    with pytest.raises(ValueError, match="seeds"):
        tour.tour_run(16, ())
    with pytest.raises(ValueError, match="width"):
        tour.tour_gaps((16, 0))


# ---------------------------------------------------------------- the claim predicate
def _with_gaps(gaps, mean_gaps):
    mean_gaps = np.asarray(mean_gaps, dtype=float)
    return gaps._replace(mean_gaps=mean_gaps, fit=cu.fit_power_law(gaps.widths.astype(float), mean_gaps))


def test_bootstrap_range_brackets_the_fit():
    gaps = tour.tour_gaps()
    lo, hi = gaps.exponent_range
    assert lo < gaps.fit.exponent < hi
    np.testing.assert_allclose(gaps.exponent_range, tour.bootstrap_exponent_range(gaps.widths, gaps.gaps))
    same = np.repeat(gaps.mean_gaps[:, None], 3, axis=1)  # identical seeds: no sampling spread
    np.testing.assert_allclose(tour.bootstrap_exponent_range(gaps.widths, same), gaps.fit.exponent, atol=1e-12)


def test_continuous_flow_is_the_wrong_comparison():
    """Against the continuous flow (the wrong linear model for eta lambda_max = 0.1) the gaps change."""
    run = tour.tour_run(4096)
    model = tour.tour_model(4096)
    _, x, y = tour.tour_problem()
    flow = cu.GradientFlow(cu.analytic_ntk(model, x), y, run.network_train[0, 0])
    wrong_gap = np.max(np.abs(run.network_train[0] - np.asarray(flow.outputs(run.times))))
    assert abs(wrong_gap - run.gaps[0]) > 1e-3


def test_claim_holds_on_the_real_sweep():
    gaps = tour.tour_gaps()
    check = tour.claim_network_follows_kernel(gaps)
    assert check.holds, str(check)
    assert str(gaps.fit) in check.measured


def test_claim_rejects_wrong_experiments():
    gaps = tour.tour_gaps()
    widths = gaps.widths.astype(float)
    flat = _with_gaps(gaps, np.full(len(widths), gaps.mean_gaps.mean()))            # no width dependence
    too_steep = _with_gaps(gaps, gaps.mean_gaps[0] * (widths / widths[0]) ** -1.0)  # the wrong exponent, N^-1
    too_shallow = _with_gaps(gaps, gaps.mean_gaps[0] * (widths / widths[0]) ** -0.2)
    bump = gaps.mean_gaps.copy()
    bump[2] = 1.15 * bump[1]                                                          # a non-monotone gap
    for wrong in (flat, too_steep, too_shallow, _with_gaps(gaps, bump)):
        assert not tour.claim_network_follows_kernel(wrong).holds
