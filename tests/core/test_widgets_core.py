"""InteractiveFigure and the control helpers, without any notebook."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from widget_driver import assert_no_leak, sweep

import course_utils as cu
from course_utils import widgets as w


def sine_demo():
    def draw(axes, width, time):
        ax = axes[0]
        ax.clear()
        xs = np.linspace(0, 1, 20)
        ax.plot(xs, np.sin(width * xs) * np.exp(-time))

    return w.InteractiveFigure(draw, widths=w.powers_of_two(4, 64), times=w.log_times(0.01, 10, 9))


def test_helpers():
    assert w.powers_of_two(3, 40) == [4, 8, 16, 32]
    times = w.log_times(0.1, 10, 3)
    np.testing.assert_allclose(times, [0, 0.1, 1, 10])
    with pytest.raises(ValueError):
        w.powers_of_two(10, 2)
    with pytest.raises(ValueError):
        w.log_times(0, 1)
    with pytest.raises(ValueError, match="not one of"):
        w.width_slider([8, 16], 12)


def test_controls_are_labelled_width_and_time():
    demo = sine_demo()
    assert demo.controls["width"].description == "width"
    assert demo.controls["time"].description == "time"
    assert demo.controls["width"].continuous_update is False
    assert demo.controls["time"].continuous_update is True
    assert demo.draw_count == 1 and demo.image.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_move_redraws_once_with_the_right_data():
    demo = sine_demo()

    def check(d):
        xs = np.linspace(0, 1, 20)
        np.testing.assert_allclose(d.axes[0].lines[0].get_ydata(), np.sin(d.width * xs) * np.exp(-d.time))
        assert len(d.axes[0].lines) == 1

    redraws, moves = sweep(demo, "width", rounds=2, check=check)
    assert redraws == moves > 0
    redraws, moves = sweep(demo, "time", rounds=2, check=check)
    assert redraws == moves > 0


def test_no_figure_leak_and_static_png():
    before = plt.get_fignums()
    demo = sine_demo()
    assert_no_leak(demo, events=200)
    assert plt.get_fignums() == before
    bundle = demo._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"] and bundle["text/plain"].startswith("InteractiveFigure(")


def test_errors_in_draw_are_reported_not_swallowed():
    def draw(axes, width, time):
        if width > 8:
            raise ValueError("too wide")

    demo = w.InteractiveFigure(draw, widths=[4, 8, 16], times=[0.0, 1.0], width=4)
    with pytest.raises(ValueError, match="too wide"):
        demo.set(width=16)
    assert isinstance(demo.last_error, ValueError)
    with pytest.raises(ValueError, match="no control"):
        demo.set(depth=3)


def test_draw_returns_the_data_it_drew():
    def draw(axes, width, time):
        ys = np.exp(-time) * np.arange(width)
        axes[0].clear()
        axes[0].plot(ys)
        return {"ys": ys}

    demo = w.InteractiveFigure(draw, widths=[4, 8], times=[0.0, 1.0], width=4, time=0.0)
    np.testing.assert_array_equal(demo.drawn["ys"], np.arange(4))
    demo.set(width=8, time=1.0)
    np.testing.assert_allclose(demo.drawn["ys"], np.exp(-1.0) * np.arange(8))


def test_slider_helpers_label_their_units():
    steps = w.steps_slider([0, 1, 10, 100], 7)
    assert steps.description == "steps" and steps.value == 10
    lr = w.multiple_slider([0.5, 0.9, 1.1], 0.9, description="lr", unit="2/lambda_max", tooltip="learning rate")
    assert [label for label, _ in lr.options] == ["0.5 x 2/lambda_max", "0.9 x 2/lambda_max", "1.1 x 2/lambda_max"]
    depth = w.choice_slider([1, 2, 4], 2, description="depth")
    assert depth.value == 2 and depth.continuous_update
    with pytest.raises(ValueError, match="not one of"):
        w.choice_slider([1, 2], 3, description="depth")
    with pytest.raises(ValueError, match="positive"):
        w.multiple_slider([0.0], 0.0, description="lr", unit="x", tooltip="")
    assert w.nearest_index([0.0, 0.1, 1.0], 0.4) == 1
    assert w.round_times([0.123456, 1234.5]) == [0.123, 1230.0]


def test_width_colours_are_colour_blind_safe_and_stable():
    colours = w.width_colours([64, 256, 1024])
    assert colours == {64: w.OKABE_ITO[0], 256: w.OKABE_ITO[1], 1024: w.OKABE_ITO[2]}


def test_plain_log_ticks_touches_log_axes_only():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.set_xscale("log")
    ax.plot([1, 10, 100], [1, 2, 3])
    w.plain_log_ticks(ax, ticks=[1, 10, 100])
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "10", "100"]
    assert len(ax.xaxis.get_minor_locator()()) == 0
    assert ax.yaxis.get_major_formatter().__class__.__name__ != "FuncFormatter"


# ---------------------------------------------------------------------- staged builds
def staged_demo(log):
    """Width 4 drawn at once; widths 8 and 16 come in as stages, each logged when it runs."""
    ready = {4: 1.0}

    def draw(axes, width, time):
        log.append(("draw", tuple(sorted(ready))))
        return {"widths_in": tuple(sorted(ready)), "value": ready[width] * np.exp(-time)}

    def compute(width):
        log.append(("stage", width))
        return float(width)

    stages = w.filling_stages(ready, compute, [4, 8, 16])
    return w.InteractiveFigure(draw, widths=[4, 8, 16], width=4, times=[0.0, 1.0], time=0.0, stages=stages)


def test_stages_run_in_order_once_and_a_move_runs_them_first():
    log = []
    demo = staged_demo(log)
    assert [label for label, _ in demo.pending] == ["N = 8", "N = 16"]  # width 4 is in already
    assert log == [("draw", (4,))] and demo.drawn["widths_in"] == (4,)
    demo.set(width=16)  # before the stages ran: the move runs them, then draws once
    assert log[1:] == [("stage", 8), ("stage", 16), ("draw", (4, 8, 16))]
    assert demo.drawn["value"] == 16.0 and demo.draw_count == 2 and not demo.pending
    assert demo.finish() == 0 and len(log) == 4


def test_displaying_a_staged_figure_fills_it_in_and_updates_the_stored_image(monkeypatch):
    import IPython.display

    log, shown = [], []

    class Handle:
        def update(self, bundle, raw, metadata):
            shown.append(("update", bundle["text/plain"], bundle["image/png"], metadata["image/png"]["alt"]))

    def fake_display(bundle, raw, metadata, display_id):
        shown.append(("display", bundle["text/plain"], bundle["image/png"], metadata["image/png"]["alt"]))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    demo = staged_demo(log)
    first_png = demo._repr_mimebundle_()["image/png"]
    demo._ipython_display_()
    # shown with width 4 alone, redrawn after each stage, then the stored image replaced
    assert [entry[0] for entry in shown] == ["display", "update"] and shown[0][2] == first_png
    assert log == [("draw", (4,)), ("stage", 8), ("draw", (4, 8)), ("stage", 16), ("draw", (4, 8, 16))]
    assert shown[1][2] == demo._repr_mimebundle_()["image/png"] and demo.status.value == ""
    assert shown[1][3] == demo.alt_text and shown[1][3].startswith("Interactive figure at width = 4")  # stored alt


def test_a_stage_that_fails_while_displayed_shows_its_error_and_the_figure_once(monkeypatch, capsys):
    import IPython.display

    shown = []

    class Handle:
        def update(self, bundle, raw, metadata):
            shown.append("update")

    monkeypatch.setattr(IPython.display, "display",
                        lambda bundle, raw, metadata, display_id: shown.append("display") or Handle())

    def broken():
        raise RuntimeError("out of memory")

    demo = w.InteractiveFigure(lambda axes, width, time: None, widths=[4, 8], width=4, times=[0.0],
                               stages=[("N = 8", broken)])
    demo._ipython_display_()  # does not raise: IPython would then show the figure a second time
    assert shown == ["display", "update"] and len(demo.pending) == 1
    assert "RuntimeError while computing: out of memory" in demo.status.value
    assert isinstance(demo.last_error, RuntimeError) and "out of memory" in capsys.readouterr().err


def test_a_move_made_by_a_stage_does_not_run_the_stages_again():
    log = []
    holder = {}

    def stage(name):
        def compute():
            log.append(name)
            if name == "first":
                holder["demo"].set(time=1.0)  # a control moved while the stages run
        return compute

    holder["demo"] = demo = w.InteractiveFigure(lambda axes, width, time: None, widths=[4], times=[0.0, 1.0], time=0.0,
                                                stages=[("first", stage("first")), ("second", stage("second"))])
    assert demo.finish() == 2 and log == ["first", "second"] and not demo.pending


def test_a_figure_whose_stages_do_not_show_is_redrawn_once_when_displayed(monkeypatch):
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw, metadata, display_id: None)
    log = []
    demo = staged_demo(log)
    demo.show_stages = False
    demo._ipython_display_()
    assert log == [("draw", (4,)), ("stage", 8), ("stage", 16), ("draw", (4, 8, 16))]


def test_a_failing_stage_stays_pending_and_bad_stages_are_refused():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("out of memory")

    demo = w.InteractiveFigure(lambda axes, width, time: None, widths=[4, 8], times=[0.0], stages=[("N = 8", flaky)])
    with pytest.raises(RuntimeError):
        demo.finish()
    assert len(demo.pending) == 1 and demo.status.value == ""
    assert demo.finish() == 1 and not demo.pending
    with pytest.raises(ValueError, match="stage"):
        w.InteractiveFigure(lambda axes, width, time: None, widths=[4], times=[0.0], stages=[("N = 8", 3)])
    with pytest.raises(ValueError, match="stage"):
        w.InteractiveFigure(lambda axes, width, time: None, widths=[4], times=[0.0], stages=["N = 8"])


def test_a_stage_releases_the_training_programs_it_compiled(monkeypatch):
    # A stage trains a shape that is never trained again: its compiled run must not stay in
    # memory under the next stage's compilation.
    from course_utils import training

    monkeypatch.setenv("COURSE_MEMORY_BUDGET_MB", "100000")  # far under budget: only the stage's own release acts
    model = cu.MLP(in_dim=2, width=8)
    angles, x = cu.circle_grid(5)
    kept = {}

    def train_width(width):
        kept[width] = cu.train(model.apply, model.init(width), x, np.cos(angles), lr=0.1, steps=3)

    demo = w.InteractiveFigure(lambda axes, width, time: None, widths=[4, 8], width=4, times=[0.0],
                               stages=[("N = 8", lambda: train_width(8))])
    train_width(4)
    assert training._train_scan._cache_size() >= 1
    demo.finish()
    assert 8 in kept and training._train_scan._cache_size() == 0
    monkeypatch.setenv("COURSE_MEMORY_BUDGET_MB", "0")  # the budget switched off: programs stay
    demo.pending.append(("again", lambda: train_width(8)))
    demo.finish()
    assert training._train_scan._cache_size() >= 1
