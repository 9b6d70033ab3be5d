"""In-kernel widget tests of notebook 04's demos, driven like a student would."""

import numpy as np
import pytest
from widget_driver import assert_no_leak, option_values, sweep

import course_utils as cu
from course_utils import nb04


def _line(ax, gid):
    (line,) = [line for line in ax.lines if line.get_gid() == gid]
    return line


# ---------------------------------------------------------------------- demo 1: prediction vs training
@pytest.fixture(scope="module")
def flow_demo():
    figure = nb04.flow_demo()  # the notebook's call: one eigh and one run per width
    yield figure
    figure.close()


def _check_flow(demo):
    d = nb04.flow_width_data(demo.width)
    k = nb04.FLOW_TIMES.index(demo.time)
    ax_modes, ax_fn, ax_loss = demo.axes
    np.testing.assert_allclose(_line(ax_fn, "net_fn").get_ydata(), d.net_grid[k], rtol=1e-12)
    np.testing.assert_allclose(_line(ax_fn, "kernel_fn").get_ydata(), d.predictor(demo.time), rtol=1e-12)
    expected_modes = np.abs(np.asarray(d.flow.residual_coefficients(demo.time)))
    np.testing.assert_allclose(_line(ax_modes, "kernel_modes").get_ydata(), expected_modes, rtol=1e-12)
    assert _line(ax_loss, "now").get_xdata()[0] == demo.time


def test_flow_demo_controls(flow_demo):
    assert set(flow_demo.controls) == {"width", "time"}
    assert option_values(flow_demo.controls["width"]) == list(nb04.FLOW_WIDTHS)
    assert option_values(flow_demo.controls["time"]) == list(nb04.FLOW_TIMES)


def test_flow_demo_sweeps(flow_demo):
    seconds = []

    def check_and_time(figure):
        seconds.append(figure.last_draw_seconds)
        _check_flow(figure)

    draws, moves = sweep(flow_demo, "width", rounds=2, check=_check_flow)
    assert draws == moves > 0
    for width in (nb04.FLOW_WIDTHS[0], nb04.FLOW_WIDTHS[-1]):
        flow_demo.set(width=width)
        draws, moves = sweep(flow_demo, "time", rounds=2, check=check_and_time)
        assert draws == moves > 0
    # Timings are reported, never asserted (the machine may be shared).
    print(f"\nflow_demo time move: median {1000 * np.median(seconds):.0f} ms, max {1000 * np.max(seconds):.0f} ms")


def test_flow_demo_shows_a_direct_computation(flow_demo):
    model = nb04.flow_model(64)
    params = model.init(nb04.FLOW_SEED)
    _, x, y, _, grid = nb04.flow_problem()
    flow_demo.set(width=64, time=20.0)
    ax_modes, ax_fn, _ = flow_demo.axes
    # Kernel side: straight from course_utils, no cache.
    flow = cu.GradientFlow(cu.empirical_ntk(model, params, x), y, model.apply(params, x))
    expected = flow.predict(20.0, cu.empirical_ntk(model, params, grid, x), model.apply(params, grid))
    np.testing.assert_allclose(_line(ax_fn, "kernel_fn").get_ydata(), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        _line(ax_modes, "kernel_modes").get_ydata(), np.abs(flow.residual_coefficients(20.0)), rtol=1e-9, atol=1e-14
    )
    # Network side: the two learning-rate phases run directly with cu.train.
    early = cu.train(model.apply, params, x, y, lr=nb04.LR_EARLY, steps=1000)
    late = cu.train(model.apply, early.params, x, y, lr=nb04.LR_LATE, steps=380)
    np.testing.assert_allclose(
        _line(ax_fn, "net_fn").get_ydata(), model.apply(late.params, grid), rtol=1e-8, atol=1e-10
    )
    residual = np.asarray(model.apply(late.params, x) - y)
    np.testing.assert_allclose(
        _line(ax_modes, "net_modes").get_ydata(), np.abs(residual @ np.asarray(flow.eigenvectors)), rtol=1e-6, atol=1e-9
    )


def test_flow_demo_nothing_leaks(flow_demo):
    growth = assert_no_leak(flow_demo, events=200)
    print(f"\nflow_demo memory growth over 200 time moves: {growth:.1f} MB")


# ---------------------------------------------------------------------- demo 2: discrete steps
@pytest.fixture(scope="module")
def steps_demo():
    figure = nb04.discrete_demo()
    yield figure
    figure.close()


def _check_steps(demo):
    d = nb04.flow_width_data(demo.width)
    lr = demo.values["lr"] * nb04.critical_lr(d.K0)
    steps = int(np.ceil(nb04.DISCRETE_TIMES[-1] / lr))
    residuals = cu.discrete_residuals(d.K0, d.f0 - np.asarray(d.flow.y), lr, steps)
    ax, ax_modes = demo.axes
    np.testing.assert_allclose(_line(ax, "discrete").get_ydata(), np.linalg.norm(residuals, axis=1), rtol=1e-10)
    np.testing.assert_allclose(_line(ax, "discrete").get_xdata(), lr * np.arange(steps + 1), rtol=1e-12)
    lam = np.asarray(d.flow.eigenvalues)
    with np.errstate(over="ignore"):
        factor = np.abs(1 - lr * lam) ** round(demo.time / lr)
    np.testing.assert_allclose(_line(ax_modes, "discrete_modes").get_ydata(), factor, rtol=1e-9)
    np.testing.assert_allclose(_line(ax_modes, "flow_modes").get_ydata(), np.exp(-lam * demo.time), rtol=1e-12)


def test_steps_demo_controls_and_sweeps(steps_demo):
    assert set(steps_demo.controls) == {"width", "time", "lr"}
    seconds = []

    def check_and_time(figure):
        seconds.append(figure.last_draw_seconds)
        _check_steps(figure)

    for name in ["lr", "time", "width"]:
        draws, moves = sweep(steps_demo, name, rounds=2, check=check_and_time if name == "time" else _check_steps)
        assert draws == moves > 0
    print(f"\ndiscrete_demo time move: median {1000 * np.median(seconds):.0f} ms, max {1000 * np.max(seconds):.0f} ms")


def test_steps_demo_both_sides_of_the_threshold(steps_demo):
    steps_demo.set(width=1024, time=5.0, lr=0.9)
    stable = _line(steps_demo.axes[0], "discrete").get_ydata()
    steps_demo.set(lr=1.1)
    unstable = _line(steps_demo.axes[0], "discrete").get_ydata()
    assert stable[-1] < stable[0] and np.all(np.diff(stable) <= 1e-12)
    assert unstable[-1] > 10 * unstable[0]


def test_steps_demo_nothing_leaks(steps_demo):
    growth = assert_no_leak(steps_demo, events=200)
    print(f"\ndiscrete_demo memory growth over 200 time moves: {growth:.1f} MB")
