"""Notebook 07's demos, driven like a student would, asserting on the data each draw returned."""

import numpy as np
import pytest
from widget_driver import assert_no_leak, sweep

from course_utils.experiments import real_data as rd
from course_utils.figures import nb07 as figures


@pytest.fixture(scope="module")
def width_demo():
    demo = figures.width_demo()  # trains every width (or takes the sweep's cached runs)
    yield demo
    demo.close()


def test_width_demo_draws_the_recorded_runs(width_demo):
    def check(demo):
        run = rd.width_run(demo.width)
        k = int(np.argmin(np.abs(run.times - demo.time)))
        d = demo.drawn
        np.testing.assert_array_equal(d["net"], run.net_test[0, k].ravel())
        np.testing.assert_array_equal(d["kernel"], run.flow_test[0, k].ravel())
        assert d["distance"] == pytest.approx(float(np.linalg.norm(d["net"] - d["kernel"]) / np.linalg.norm(d["kernel"]))
                                             if k else 0.0, rel=1e-9)
    redraws, moves = sweep(width_demo, "time", rounds=1, check=check)
    assert redraws == moves
    sweep(width_demo, "width", rounds=1, check=check)
    assert width_demo.last_draw_seconds < 5
    assert_no_leak(width_demo, events=60)


def test_depth_demo_shows_the_flattening():
    demo = figures.depth_demo()
    try:
        def check(demo):
            d = demo.drawn
            depth = demo.values["depth"]
            K = rd.limit_kernels(depth)[0]
            order = np.argsort(rd.digits_split().labels_train, kind="stable")
            np.testing.assert_allclose(d["normalised"], rd.normalised_kernel(K)[np.ix_(order, order)], rtol=1e-12)
            loss, _ = rd.kernel_flow_curve(depth, figures.DEPTH_TIMES)
            assert d["loss_now"] == loss[figures.DEPTH_TIMES.index(demo.time)]
        sweep(demo, "depth", rounds=1, check=check)
        sweep(demo, "time", values=list(figures.DEPTH_TIMES)[::6], rounds=1, check=check)
        at_end = rd.kernel_flow_curve(1, figures.DEPTH_TIMES)[0][-1]
        assert at_end == pytest.approx(rd.kernel_fit("ntk", 1).loss, rel=1e-3)  # t = 1e4 is nearly t = infinity
    finally:
        demo.close()


def test_feature_demo_and_learning_curve_demo():
    demo = figures.feature_demo()
    runs = rd.feature_runs()
    try:
        def check(demo):
            k = list(runs.steps).index(demo.values["steps"])
            np.testing.assert_array_equal(demo.drawn["accuracy"], runs.test_accuracy[:, k])
            np.testing.assert_array_equal(demo.drawn["alignment"], runs.alignment[:, k])
        sweep(demo, "steps", rounds=1, check=check)
    finally:
        demo.close()
    curve_demo = figures.learning_curve_demo()
    curve = rd.learning_curve()
    try:
        def check_curve(demo):
            n = demo.values["n"]
            error, _, per_mode = rd.theory_error(curve.spectrum, n)
            assert demo.drawn["error"] == pytest.approx(error, rel=1e-12)
            np.testing.assert_allclose(demo.drawn["left"], np.maximum(per_mode, 1e-12), rtol=1e-12)
            assert demo.drawn["error"] == pytest.approx(curve.theory[list(curve.sizes).index(n)], rel=1e-12)
        sweep(curve_demo, "n", rounds=1, check=check_curve)
    finally:
        curve_demo.close()


def test_static_plots_return_their_data():
    import matplotlib.pyplot as plt

    drawn = figures.width_plot()
    np.testing.assert_array_equal(drawn["distance"], rd.width_sweep().distance)
    drawn = figures.depth_plot()
    np.testing.assert_array_equal(drawn["ntk_loss"], rd.depth_kernels().ntk_loss)
    plt.close("all")
