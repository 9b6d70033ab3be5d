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


def test_exercise_checks_report_right_and_wrong(capsys):
    from course_utils.exercises import check_close, get_solution, solution_names
    from course_utils.exercises import check_residual_decay

    assert "00.residual_decay" in solution_names()
    assert check_residual_decay(get_solution("00.residual_decay"))
    assert not check_residual_decay(lambda t, lam, r0: r0 * np.exp(-t))

    def stub(t, lam, r0):
        raise NotImplementedError

    assert not check_residual_decay(stub)
    assert "NotImplementedError" in capsys.readouterr().out
    assert check_close(1.0, 1.0 + 1e-12) == True  # noqa: E712  (a Verdict compares equal to bools)
    assert not check_close([1.0, 2.0], [1.0])
    assert cu.show_solution is not None
