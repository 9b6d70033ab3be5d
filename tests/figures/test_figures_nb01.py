"""Drive notebook 01's two figures through every width and time, and check what they draw."""

import numpy as np
from widget_driver import assert_no_leak, sweep

import course_utils as cu
from course_utils.experiments import landscape
from course_utils.figures import nb01 as figures
from course_utils.figures.interactive import nearest_index


# ---------------------------------------------------------------- seeds demo
def check_seeds(demo):
    runs = landscape.seed_runs(demo.width)
    k = nearest_index(runs.times, demo.time)
    drawn = demo.drawn
    assert drawn["width"] == demo.width and drawn["time"] == runs.times[k]
    assert len(drawn["losses"]) == landscape.N_SEEDS
    np.testing.assert_allclose(drawn["losses"][5], runs.losses[5, 1:])
    assert drawn["bold_lengths"] == [k] * landscape.N_SEEDS
    expected = [landscape.success_fraction(landscape.seed_runs(w).losses)[k] for w in landscape.SEED_WIDTHS]
    np.testing.assert_allclose(drawn["fractions"], expected)
    below = int(np.sum(runs.losses[:, k] < landscape.THRESHOLD))
    assert int(drawn["below"].sum()) == below
    assert drawn["title"].startswith(f"width {demo.width}: {below}/{landscape.N_SEEDS}")


def test_seeds_demo_controls_and_data():
    demo = figures.seeds_demo()
    assert set(demo.controls) == {"width", "time"}
    redraws, moves = sweep(demo, "width", rounds=2, check=check_seeds)
    assert redraws == moves >= 2 * len(landscape.SEED_WIDTHS) - 1
    redraws, moves = sweep(demo, "time", rounds=1, check=check_seeds)
    assert redraws == moves > 30
    assert_no_leak(demo, events=200)


def test_seeds_demo_draws_a_direct_training_run():
    demo = figures.seeds_demo()
    demo.set(width=32)
    demo.set(time=float(landscape.seed_runs(32).times[-1]))
    model = landscape.two_layer(32)
    _, X, y = cu.interval_problem()
    runs = landscape.seed_runs(32)
    steps = np.rint(runs.times / landscape.LR).astype(int)
    params = model.init(landscape.SEEDS[7])
    direct = cu.train(model.apply, params, X, y, lr=landscape.LR, steps=landscape.STEPS, record_steps=steps)
    np.testing.assert_allclose(demo.drawn["losses"][7], direct.loss[1:], rtol=1e-6, atol=1e-12)


# ---------------------------------------------------------------- segment demo
def check_segment(demo):
    run = landscape.segment_runs(demo.width)
    k = nearest_index(run.times, demo.time)
    drawn = demo.drawn
    assert drawn["width"] == demo.width and drawn["time"] == run.times[k]
    np.testing.assert_allclose(drawn["segment"], run.segment[k])
    i0, i1 = list(run.s).index(0.0), list(run.s).index(1.0)
    np.testing.assert_allclose(drawn["chord"], [run.segment[k, i0], run.segment[k, i1]])
    levels = figures.PLANE_LEVELS
    np.testing.assert_allclose(drawn["log_plane"], np.clip(np.log10(run.plane[k] + 1e-12), levels[0], levels[-1]))


def test_segment_demo_controls_and_data():
    demo = figures.segment_demo()
    assert set(demo.controls) == {"width", "time"}
    redraws, moves = sweep(demo, "width", rounds=2, check=check_segment)
    assert redraws == moves >= 2 * len(landscape.SEGMENT_WIDTHS) - 1
    redraws, moves = sweep(demo, "time", rounds=1, check=check_segment)
    assert redraws == moves > 30
    assert_no_leak(demo, events=200)
    # the plane is redrawn in place: one colorbar, no pile-up of images
    assert len(demo.fig.axes) == 3
    assert len(demo.axes[1].images) == 1


def test_segment_demo_draws_a_direct_computation():
    demo = figures.segment_demo()
    run = landscape.segment_runs(128)
    k = len(run.times) // 2
    demo.set(width=128)
    demo.set(time=float(run.times[k]))
    model = landscape.two_layer(128)
    _, X, y = cu.interval_problem()
    theta = cu.run_slice(landscape.seed_runs(128).first_history, k)
    perm, _ = landscape.permutations_for(128)
    permuted = landscape.permute_hidden(theta, perm)
    direct = [float(landscape.loss(model, landscape.interpolate(theta, permuted, s), X, y)) for s in run.s]
    np.testing.assert_allclose(demo.drawn["segment"], direct, rtol=1e-9, atol=1e-12)


def test_seeds_demo_codes_failure_by_line_style_too():
    demo = figures.seeds_demo()
    below = demo.drawn["below"]
    assert demo.drawn["linestyles"] == [figures.SUCCESS_STYLE if b else figures.FAILURE_STYLE for b in below]
    labels = [t.get_text() for t in demo.axes[0].get_legend().get_texts()]
    assert any("below" in label for label in labels) and any("above" in label for label in labels)


def test_stalled_runs_figure_draws_the_diagnosis():
    import matplotlib.pyplot as plt

    fig = figures.plot_stalled_runs(16)
    d = landscape.stall_diagnosis(16)
    drawn = fig.drawn
    np.testing.assert_allclose(drawn["lr_lambda_max"], d.lr_lambda_max)
    np.testing.assert_allclose(drawn["grad_norm"], d.grad_norm)
    edge = [k for k, kind in enumerate(drawn["kinds"]) if kind == "edge of stability"]
    np.testing.assert_allclose(drawn["relative_tail"], d.tail_loss[edge] / d.tail_loss[edge, -1:])
    assert fig.dpi >= 100
    assert all(ax.get_ylabel() for ax in fig.axes)
    plt.close(fig)
