"""Notebook 04's demos, driven like a student would, asserting on the data each draw returned."""

import numpy as np
import pytest
from widget_driver import assert_no_leak, option_values, sweep

import course_utils as cu
from course_utils.experiments import gradient_flow as gf
from course_utils.figures import nb04 as figures


# ---------------------------------------------------------------------- demo 1: prediction vs training
@pytest.fixture(scope="module")
def flow_demo():
    figure = figures.flow_demo()  # the notebook's call: one eigh and one run per width
    yield figure
    figure.close()


def _check_flow(demo):
    d = gf.flow_width_data(demo.width)
    k = gf.FLOW_TIMES.index(demo.time)
    drawn = demo.drawn
    assert drawn["width"] == demo.width and drawn["time"] == demo.time
    np.testing.assert_allclose(drawn["net_fn"], d.net_grid[k], rtol=1e-12)
    np.testing.assert_allclose(drawn["kernel_fn"], d.predictor(demo.time), rtol=1e-12)
    np.testing.assert_allclose(
        drawn["kernel_modes"], np.abs(np.asarray(d.flow.residual_coefficients(demo.time))), rtol=1e-12
    )
    np.testing.assert_allclose(drawn["net_loss"], d.run_loss, rtol=1e-12)
    np.testing.assert_allclose(drawn["kernel_loss"], d.flow.loss(drawn["loss_times"]), rtol=1e-12)
    # The bound lies above the kernel's loss at every time.
    assert np.all(drawn["kernel_loss"] <= drawn["bound"] * (1 + 1e-12))
    # Directions below the log axis are flagged and drawn on its floor.
    np.testing.assert_array_equal(drawn["kernel_below"], drawn["kernel_modes"] < figures.MODES_FLOOR)
    np.testing.assert_array_equal(drawn["net_below"], drawn["net_modes"] < figures.MODES_FLOOR)
    floor = next(line for line in demo.axes[0].lines if line.get_label().startswith("prediction below"))
    np.testing.assert_array_equal(floor.get_xdata(), np.flatnonzero(drawn["kernel_below"]) + 1)


def test_flow_demo_controls(flow_demo):
    assert set(flow_demo.controls) == {"width", "time"}
    assert option_values(flow_demo.controls["width"]) == list(gf.FLOW_WIDTHS)
    assert option_values(flow_demo.controls["time"]) == list(gf.FLOW_TIMES)


def test_flow_demo_sweeps(flow_demo):
    seconds = []

    def check_and_time(figure):
        seconds.append(figure.last_draw_seconds)
        _check_flow(figure)

    draws, moves = sweep(flow_demo, "width", rounds=2, check=_check_flow)
    assert draws == moves > 0
    for width in (gf.FLOW_WIDTHS[0], gf.FLOW_WIDTHS[-1]):
        flow_demo.set(width=width)
        draws, moves = sweep(flow_demo, "time", rounds=2, check=check_and_time)
        assert draws == moves > 0
    # Timings are reported, never asserted (the machine may be shared).
    print(f"\nflow_demo time move: median {1000 * np.median(seconds):.0f} ms, max {1000 * np.max(seconds):.0f} ms")


def test_flow_demo_shows_a_direct_computation(flow_demo):
    model = gf.flow_model(64)
    params = model.init(gf.FLOW_SEED)
    _, x, y, _, grid = gf.flow_problem()
    flow_demo.set(width=64, time=20.0)
    drawn = flow_demo.drawn
    # Kernel side: straight from course_utils, no cache.
    flow = cu.GradientFlow(cu.empirical_ntk(model, params, x), y, model.apply(params, x))
    expected = flow.predict(20.0, cu.empirical_ntk(model, params, grid, x), model.apply(params, grid))
    np.testing.assert_allclose(drawn["kernel_fn"], expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(drawn["kernel_modes"], np.abs(flow.residual_coefficients(20.0)), rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(drawn["t0_modes"], np.abs(flow.residual_coefficients(0.0)), rtol=1e-9, atol=1e-14)
    # Network side: the two learning-rate phases run directly with cu.train.
    early = cu.train(model.apply, params, x, y, lr=gf.LR_EARLY, steps=1000)
    late = cu.train(model.apply, early.params, x, y, lr=gf.LR_LATE, steps=380)
    np.testing.assert_allclose(drawn["net_fn"], model.apply(late.params, grid), rtol=1e-8, atol=1e-10)
    residual = np.asarray(model.apply(late.params, x) - y)
    np.testing.assert_allclose(
        drawn["net_modes"], np.abs(residual @ np.asarray(flow.eigenvectors)), rtol=1e-6, atol=1e-9
    )


def test_flow_demo_nothing_leaks(flow_demo):
    growth = assert_no_leak(flow_demo, events=200)
    print(f"\nflow_demo memory growth over 200 time moves: {growth:.1f} MB")


# ---------------------------------------------------------------------- demo 2: discrete steps
@pytest.fixture(scope="module")
def steps_demo():
    figure = figures.discrete_demo()
    yield figure
    figure.close()


def _check_steps(demo):
    assert demo.drawn["width"] == gf.DISCRETE_WIDTH
    d = gf.flow_width_data(gf.DISCRETE_WIDTH)
    lr = demo.values["lr"] * gf.critical_lr(d.K0)
    steps = int(np.ceil(gf.DISCRETE_TIMES[-1] / lr))
    residuals = cu.discrete_residuals(d.K0, d.f0 - np.asarray(d.flow.y), lr, steps)
    drawn = demo.drawn
    assert drawn["lr"] == pytest.approx(lr, rel=1e-12)
    np.testing.assert_allclose(drawn["discrete_norms"], np.linalg.norm(residuals, axis=1), rtol=1e-10)
    np.testing.assert_allclose(drawn["step_times"], lr * np.arange(steps + 1), rtol=1e-12)
    lam = np.asarray(d.flow.eigenvalues)
    with np.errstate(over="ignore"):
        factor = np.abs(1 - lr * lam) ** round(demo.time / lr)
    np.testing.assert_allclose(drawn["discrete_modes"], factor, rtol=1e-9)
    np.testing.assert_allclose(drawn["flow_modes"], np.exp(-lam * demo.time), rtol=1e-12)
    # values off the log axes are flagged, so the figure marks them at the edge
    low, high = figures.FACTOR_RANGE
    np.testing.assert_array_equal(drawn["flow_below"], np.exp(-lam * demo.time) < low)
    np.testing.assert_array_equal(drawn["discrete_below"], factor < low)
    np.testing.assert_array_equal(drawn["discrete_above"], ~(factor <= high))
    np.testing.assert_array_equal(drawn["norms_above"], np.linalg.norm(residuals, axis=1) > figures.NORM_RANGE[1])


def test_steps_demo_controls_and_sweeps(steps_demo):
    assert set(steps_demo.controls) == {"time", "lr"}  # no width control: every width gives the same picture
    lr_control = steps_demo.controls["lr"]
    assert option_values(lr_control) == list(gf.LR_FACTORS) and lr_control.value == 0.9
    assert lr_control.description == "lr" and all("2/lambda_max" in label for label, _ in lr_control.options)
    seconds = []

    def check_and_time(figure):
        seconds.append(figure.last_draw_seconds)
        _check_steps(figure)

    for name in ["lr", "time"]:
        draws, moves = sweep(steps_demo, name, rounds=2, check=check_and_time if name == "time" else _check_steps)
        assert draws == moves > 0
    print(f"\ndiscrete_demo time move: median {1000 * np.median(seconds):.0f} ms, max {1000 * np.max(seconds):.0f} ms")


def test_steps_demo_both_sides_of_the_threshold(steps_demo):
    steps_demo.set(time=5.0, lr=0.9)
    stable = steps_demo.drawn["discrete_norms"]
    steps_demo.set(lr=1.1)
    unstable = steps_demo.drawn["discrete_norms"]
    assert stable[-1] < stable[0] and np.all(np.diff(stable) <= 1e-12)
    assert unstable[-1] > 10 * unstable[0]


def test_steps_demo_nothing_leaks(steps_demo):
    growth = assert_no_leak(steps_demo, events=200)
    print(f"\ndiscrete_demo memory growth over 200 time moves: {growth:.1f} MB")


def test_steps_demo_marks_floored_values(steps_demo):
    # at t = 5 the flow factor of the fastest direction is exp(-12.6 x 5), far below 1e-8
    steps_demo.set(time=5.0, lr=1.5)
    drawn = steps_demo.drawn
    assert drawn["flow_below"][0] and drawn["norms_above"].any()
    floors = {line.get_label(): line for line in steps_demo.axes[1].lines if line.get_marker() == "v"}
    flow_floor = next(line for label, line in floors.items() if label.startswith("flow"))
    discrete_floor = next(line for label, line in floors.items() if label.startswith("discrete"))
    np.testing.assert_array_equal(flow_floor.get_xdata(), np.flatnonzero(drawn["flow_below"]) + 1)
    np.testing.assert_array_equal(discrete_floor.get_xdata(), np.flatnonzero(drawn["discrete_below"]) + 1)
    np.testing.assert_array_equal(flow_floor.get_ydata(), figures.FACTOR_RANGE[0])
