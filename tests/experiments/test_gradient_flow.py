"""course_utils.experiments.gradient_flow: the runs behind notebook 04's claim checks."""

import numpy as np
import pytest

import course_utils as cu
from course_utils.experiments import gradient_flow as gf


def test_flow_model_and_problem():
    model = gf.flow_model(256)
    assert (model.in_dim, model.width, model.depth, model.sw2, model.sb2) == (2, 256, 1, 2.0, 0.1)
    angles, x, y, _, grid = gf.flow_problem()
    assert x.shape == (gf.N_TRAIN, 2) and grid.shape == (gf.N_GRID, 2)
    np.testing.assert_allclose(y, gf.target_on(angles))
    np.testing.assert_allclose(np.linalg.norm(grid, axis=1), 1.0)
    with pytest.raises(ValueError):
        gf.flow_model(0)
    with pytest.raises(ValueError):
        gf.flow_problem(n=0)


def test_two_phase_descent_records_every_slider_time_and_follows_the_flow():
    model = gf.flow_model(64)
    params = model.init(cu.key(0))
    _, x, y, _, _ = gf.flow_problem()
    lin = cu.linearize(model.apply, params)
    run = gf.two_phase_descent(lin, params, x, y)
    assert run.times[0] == 0 and run.times[-1] == pytest.approx(gf.T_END)
    assert np.all(np.diff(run.times) > 0) and run.measurements is None
    index = gf.slider_records(run.times)
    np.testing.assert_allclose(run.times[index], gf.FLOW_TIMES, atol=1e-12)
    assert len(run.outputs) == len(run.times) == len(run.loss)
    # Gradient descent on the linearised model is the flow up to the step size.
    flow = cu.GradientFlow(cu.empirical_ntk(model, params, x), y, model.apply(params, x))
    gap = np.max(np.abs(run.outputs[index] - np.asarray(flow.outputs(np.asarray(gf.FLOW_TIMES)))))
    assert gap < 0.02
    np.testing.assert_allclose(run.loss, 0.5 * np.sum((run.outputs - np.asarray(y)) ** 2, axis=1), rtol=1e-10)
    with pytest.raises(ValueError):
        gf.two_phase_descent("not callable", params, x, y)
    with pytest.raises(ValueError, match="slider time"):
        gf.slider_records(run.times[:50])


def test_flow_width_data_is_consistent():
    d = gf.flow_width_data(64)
    model = gf.flow_model(64)
    params = model.init(gf.FLOW_SEED)
    _, x, y, _, grid = gf.flow_problem()
    np.testing.assert_allclose(d.K0, cu.empirical_ntk(model, params, x), rtol=1e-12)
    np.testing.assert_allclose(d.net_outputs[0], d.f0, rtol=1e-12)
    np.testing.assert_allclose(d.net_grid[0], d.f0_star, rtol=1e-12)
    np.testing.assert_allclose(d.predictor(0.0), d.f0_star, rtol=1e-12)
    assert d.net_outputs.shape == (len(gf.FLOW_TIMES), gf.N_TRAIN)
    assert d.net_grid.shape == (len(gf.FLOW_TIMES), gf.N_GRID)
    # The recorded run at t = 0.5 is plain gradient descent with the early learning rate.
    traj = cu.train(model.apply, params, x, y, lr=gf.LR_EARLY, steps=500)
    k = gf.FLOW_TIMES.index(0.5)
    np.testing.assert_allclose(d.net_grid[k], model.apply(traj.params, grid), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.net_outputs[k], traj.outputs[-1], rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError):
        gf.flow_width_data(-1)


def test_prediction_gap():
    gap = gf.prediction_gap((64, 256))
    assert gap.train_gap.shape == (2,) and np.all(gap.train_gap > 0)
    assert np.all(gap.grid_gap >= 0) and np.all(gap.residual_scale > 1)
    d = gf.flow_width_data(256)
    times = np.asarray(gf.FLOW_TIMES)
    assert gap.train_gap[1] == pytest.approx(np.max(np.abs(d.net_outputs - d.kernel_outputs)))
    assert gap.flow_floor[1] == pytest.approx(np.max(np.abs(d.kernel_outputs - np.asarray(d.flow.outputs(times)))))
    assert gap.fit.exponent == pytest.approx(cu.fit_power_law([64, 256], gap.train_gap).exponent)
    with pytest.raises(ValueError):
        gf.prediction_gap((64,))
    with pytest.raises(ValueError):
        gf.prediction_gap(())


@pytest.fixture(scope="module")
def random_problem():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    K = A @ A.T / 6 + 0.05 * np.eye(6)
    return K, rng.normal(size=6), rng.normal(size=6)


def test_bound_ratios(random_problem):
    K, y, f0 = random_problem
    flow = cu.GradientFlow(K, y, f0)
    ratios = gf.bound_ratios(flow, np.geomspace(1e-3, 100, 50))
    assert np.all(ratios <= 1 + 1e-12) and np.all(ratios > 0)
    assert gf.bound_ratios(flow, [0.0])[0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        gf.bound_ratios(K, [1.0])
    with pytest.raises(ValueError):
        gf.bound_ratios(flow, [-1.0])


def test_bound_check_on_kernel_and_network():
    check = gf.bound_check((64, 256))
    assert check.kernel_ratio.shape == check.network_ratio.shape == (2, len(gf.FLOW_TIMES) - 1)
    d = gf.flow_width_data(64)
    np.testing.assert_allclose(check.kernel_ratio[0], gf.bound_ratios(d.flow, gf.FLOW_TIMES[1:]), rtol=1e-12)
    r = d.net_outputs - np.asarray(d.flow.y)
    lam_min = np.linalg.eigvalsh(d.K0)[0]
    expected = np.sum(r[1:] ** 2, axis=1) / (np.exp(-2 * lam_min * np.asarray(gf.FLOW_TIMES[1:])) * np.sum(r[0] ** 2))
    np.testing.assert_allclose(check.network_ratio[0], expected, rtol=1e-6)
    assert np.all(check.kernel_ratio <= 1 + 1e-12)


def test_ode_reference_matches_closed_form(random_problem):
    K, y, f0 = random_problem
    times = np.array([0.0, 0.1, 1.0, 5.0])
    reference = gf.ode_reference(K, y, f0, times)
    np.testing.assert_allclose(reference, cu.GradientFlow(K, y, f0).outputs(times), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(gf.ode_reference(K, y, f0, [0.0]), f0[None])
    with pytest.raises(ValueError, match="sorted"):
        gf.ode_reference(K, y, f0, [1.0, 0.5])
    with pytest.raises(ValueError):
        gf.ode_reference(K[:3], y, f0, times)
    with pytest.raises(ValueError):
        gf.ode_reference(K, y[:3], f0, times)


def test_critical_lr_separates_stable_from_divergent(random_problem):
    K, y, f0 = random_problem
    critical = gf.critical_lr(K)
    assert critical == pytest.approx(2 / np.linalg.eigvalsh(K)[-1])
    below = np.linalg.norm(cu.discrete_residuals(K, f0 - y, 0.95 * critical, 200), axis=1)
    above = np.linalg.norm(cu.discrete_residuals(K, f0 - y, 1.05 * critical, 200), axis=1)
    assert np.all(np.diff(below) <= 1e-12) and above[-1] > 10 * above[0]
    with pytest.raises(ValueError):
        gf.critical_lr(np.ones(3))
    with pytest.raises(ValueError, match="positive"):
        gf.critical_lr(np.zeros((2, 2)))


def test_discrete_run():
    run = gf.discrete_run(64, 0.5)
    d = gf.flow_width_data(64)
    assert run.lr == pytest.approx(0.5 * gf.critical_lr(d.K0))
    np.testing.assert_allclose(run.step_times, run.lr * np.arange(len(run.residuals)))
    assert run.step_times[-1] >= gf.DISCRETE_TIMES[-1]
    np.testing.assert_allclose(run.residuals[0], d.f0 - np.asarray(d.flow.y))
    with pytest.raises(ValueError):
        gf.discrete_run(64, 0.0)


def test_stability_edge():
    edge = gf.stability_edge((64, 4096))
    assert edge.growth.shape == edge.monotone.shape == (2, len(gf.EDGE_FACTORS))
    d = gf.flow_width_data(4096)
    r0 = d.f0 - np.asarray(d.flow.y)
    norms = np.linalg.norm(cu.discrete_residuals(d.K0, r0, 1.05 * gf.critical_lr(d.K0), gf.EDGE_STEPS), axis=1)
    assert edge.growth[1, 1] == pytest.approx(norms[-1] / norms[0], rel=1e-9)
    assert np.all(edge.monotone[:, 0]) and np.all(edge.growth[:, 0] < 1) and np.all(edge.growth[:, 1] > 1e3)


# ---------------------------------------------------------------------- claim predicates: real and wrong experiments
def _flow_at(width, speed):
    d = gf.flow_width_data(width)
    return cu.GradientFlow(speed * d.K0, d.flow.y, d.f0)


def test_claim_output_velocity_holds_and_rejects_a_wrong_kernel():
    result = gf.output_velocity()
    assert gf.claim_output_velocity(result).holds
    assert not gf.claim_output_velocity(result._replace(predicted=1.15 * result.predicted)).holds


def test_claim_closed_form_matches_ode_holds_and_rejects_a_flow_at_twice_the_speed():
    result = gf.ode_comparison()
    assert gf.claim_closed_form_matches_ode(result).holds
    fast = np.asarray(_flow_at(result.width, 2.0).outputs(result.times))
    assert not gf.claim_closed_form_matches_ode(result._replace(closed_form=fast)).holds
    assert not gf.claim_closed_form_matches_ode(result._replace(numerical=1.15 * result.numerical)).holds


def test_claim_prediction_gap_holds_and_rejects_wrong_experiments():
    result = gf.prediction_gap()
    assert gf.claim_prediction_gap(result).holds
    times = np.asarray(gf.FLOW_TIMES)
    fast = np.asarray([np.asarray(_flow_at(w, 2.0).outputs(times)) for w in result.widths])
    assert not gf.claim_prediction_gap(result._replace(kernel_outputs=fast)).holds
    # a gap that does not shrink: every width off its prediction by the narrowest network's deviation
    flat = result.kernel_outputs + (result.net_outputs[0] - result.kernel_outputs[0])[None]
    assert not gf.claim_prediction_gap(result._replace(net_outputs=flat)).holds
    # a gap that shrinks like 1/N (the wrong exponent), at the same widest-width value
    deviation = result.net_outputs - result.kernel_outputs
    scale = (result.widths[-1] / result.widths)[:, None, None] * np.max(np.abs(deviation[-1])) / np.max(np.abs(deviation), axis=(1, 2))[:, None, None]
    assert not gf.claim_prediction_gap(result._replace(net_outputs=result.kernel_outputs + deviation * scale)).holds


def test_kernel_descent_is_gradient_descent_on_the_linear_model():
    d = gf.flow_width_data(64)
    times = np.asarray(gf.FLOW_TIMES)
    K, y, f0 = d.K0, np.asarray(d.flow.y), d.f0
    # the recursion by hand: 1000 steps of 0.001, then 1980 of 0.05, read at the slider times
    f, out, t = f0.copy(), {0.0: f0.copy()}, 0.0
    for lr, steps in ((gf.LR_EARLY, 1000), (gf.LR_LATE, 1980)):
        for _ in range(steps):
            f = f - lr * K @ (f - y)
            t = round(t + lr, 6)
            out[t] = f.copy()
    expected = np.asarray([out[round(float(s), 6)] for s in times])
    np.testing.assert_allclose(d.kernel_outputs, expected, atol=1e-9)
    assert 1e-4 < d.flow_floor < 0.01  # the discretisation floor against the exact flow


def test_claim_bound_on_networks_holds_and_rejects_wrong_experiments():
    result = gf.bound_check()
    assert tuple(result.widths) == gf.BOUND_WIDTHS
    ratio = result.network_residual_sq / (
        np.exp(-2 * result.lambda_min[:, None] * result.times) * result.initial_residual_sq[:, None]
    )
    np.testing.assert_allclose(ratio, result.network_ratio, rtol=1e-12)
    assert gf.claim_bound_on_networks(result).holds
    # a residual compared with the rate 4 lambda_min (the norm's rate confused with the squared norm's)
    assert not gf.claim_bound_on_networks(result._replace(lambda_min=2 * result.lambda_min)).holds
    # a network that stalls: its residual stays at r(0)
    stalled = np.repeat(result.initial_residual_sq[:, None], len(result.times), axis=1)
    assert not gf.claim_bound_on_networks(result._replace(network_residual_sq=stalled)).holds
    # a network that trains at half (or twice) the speed of its kernel: the exact flow at t / 2 (2 t);
    # it still obeys the bound, so only the late-time comparison with the kernel can reject it
    for speed in (0.5, 2.0):
        moved = []
        for w in result.widths:
            d = gf.flow_width_data(int(w))
            moved.append(np.sum((np.asarray(d.flow.outputs(speed * result.times)) - np.asarray(d.flow.y)) ** 2, axis=1))
        moved = np.asarray(moved)
        if speed == 0.5:
            bound = moved / (np.exp(-2 * result.lambda_min[:, None] * result.times) * result.initial_residual_sq[:, None])
            assert bound.max() < 1  # the bound cannot tell it from the network
        assert not gf.claim_bound_on_networks(result._replace(network_residual_sq=moved)).holds
    with pytest.raises(ValueError):
        gf.claim_bound_on_networks(result, wide=10**6)


def test_claim_stability_edge_holds_and_rejects_a_wrong_critical_rate():
    result = gf.stability_edge()
    assert result.norms.shape == (len(gf.FLOW_WIDTHS), len(gf.EDGE_FACTORS), gf.EDGE_STEPS + 1)
    np.testing.assert_allclose(result.norms[..., -1] / result.norms[..., 0], result.growth, rtol=1e-12)
    assert gf.claim_stability_edge(result).holds
    # "critical" taken as 1 / lambda_max: both runs are stable, the one labelled 1.05 does not diverge
    wrong = gf.stability_edge(factors=tuple(f / 2 for f in gf.EDGE_FACTORS))
    assert not gf.claim_stability_edge(wrong._replace(factors=result.factors)).holds
