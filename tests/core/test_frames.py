"""Alt text and frames of an InteractiveFigure (issue 12): what the static site is built from."""

import numpy as np
import pytest

from course_utils import widgets as w
from course_utils.figures.interactive import describe_figure


def decay_demo(widths=(4, 8, 16, 32, 64), n_times=9, **options):
    def draw(axes, width, time):
        ax = axes[0]
        ax.clear()
        xs = np.linspace(0, 1, 20)
        ax.plot(xs, np.sin(width * xs) * np.exp(-time), label=f"N = {width}")
        ax.plot(xs, np.exp(-time) * np.ones_like(xs), label="envelope")
        ax.set_yscale("symlog")
        ax.set_title(f"decay, N = {width}")
        ax.set_xlabel("input x")
        ax.legend()

    return w.InteractiveFigure(draw, widths=list(widths), times=w.log_times(0.01, 10, n_times), **options)


def test_alt_text_says_what_the_figure_shows_at_the_current_values():
    demo = decay_demo()
    first = demo.alt_text
    time_label = demo.controls["time"].label  # as the readout shows it
    assert first.startswith(f"Interactive figure at width = {demo.width}, time = {time_label}.")
    assert f"'decay, N = {demo.width}'" in first and "input x from -0.05 to 1.05" in first and "symlog scale" in first
    assert "shows N = 16, envelope" in first
    assert demo.image.tooltip == first  # the live image carries it (its element's title)
    demo.set(width=64)
    assert "width = 64" in demo.alt_text and "'decay, N = 64'" in demo.alt_text and demo.image.tooltip == demo.alt_text
    assert demo.alt_text != first


def test_alt_text_of_a_figure_with_several_panels_and_notes():
    demo = w.InteractiveFigure(lambda axes, time: [axes[0].imshow(np.eye(3)), axes[1].text(0.5, 0.5, "slope 0.5")],
                               times=[0.0, 1.0], ncols=2)
    text = describe_figure(demo.fig, {"time": 1.0})
    assert "Panel 1 of 2" in text and "an image (heat map)" in text and "Panel 2 of 2" in text
    assert "notes: slope 0.5" in text


def test_frame_grid_keeps_every_value_when_it_fits_and_thins_evenly_when_not():
    demo = decay_demo()
    assert demo.frame_grid(100) == {"width": [0, 1, 2, 3, 4], "time": list(range(10))}
    grid = demo.frame_grid(24)
    assert len(grid["width"]) * len(grid["time"]) <= 24
    assert grid["width"] == [0, 1, 2, 3, 4]  # the larger control (time, 10 values) is thinned first
    times = grid["time"]
    assert times[0] == 0 and times[-1] == 9 and demo.controls["time"].index in times
    assert max(np.diff(times)) - min(np.diff(times)) <= 2, times  # evenly spaced
    with pytest.raises(ValueError, match="max_frames"):
        demo.frame_grid(3)


def test_frames_visit_every_grid_point_once_through_a_students_move():
    demo = decay_demo(widths=(4, 8, 16), n_times=3)
    start = demo.values
    seen = {}
    for indices, png, alt in demo.frames(100):
        key = (indices["width"], indices["time"])
        assert key not in seen
        width = demo.controls["width"].options[indices["width"]][1]
        assert f"width = {width}," in alt and png[:8] == b"\x89PNG\r\n\x1a\n"
        assert png == demo.image.value and alt == demo.alt_text
        seen[key] = png
    assert len(seen) == 3 * 4
    assert len(set(seen.values())) == len(seen), "two grid points gave the same picture"
    assert demo.values == start  # the controls are back where they were


def test_frames_change_the_expensive_control_least_often():
    demo = decay_demo(widths=(4, 8, 16), n_times=3)
    widths = [indices["width"] for indices, _, _ in demo.frames(100)]
    assert sum(a != b for a, b in zip(widths, widths[1:])) == 2


def test_a_static_figure_carries_its_alt_text_and_matplotlibs_repr():
    from course_utils.figures.interactive import static_figure

    fig, axes = static_figure(1, 1)
    image = axes[0].imshow(np.eye(3))
    axes[0].set_title(r"kernel $\Theta$")
    fig.colorbar(image, ax=axes[0], label=r"$\Theta(x, x')$")
    data, metadata = fig._repr_mimebundle_()
    alt = metadata["image/png"]["alt"]
    assert data == {} and alt.startswith("A figure of 1 panel.")
    assert "'kernel Theta'" in alt and "Colour scale: Theta(x, x') from 0 to 1." in alt
    assert repr(fig).startswith("<Figure size ")
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_thinning_three_values_with_the_current_one_in_the_middle_keeps_two():
    demo = w.InteractiveFigure(lambda axes, width, time: None, widths=[4, 8, 16], width=8, times=[0.0, 1.0])
    grid = demo.frame_grid(4)
    assert grid["time"] == [0, 1] and len(grid["width"]) == 2 and 1 in grid["width"]


def test_alt_text_shows_the_readouts_not_raw_floats():
    demo = w.InteractiveFigure(lambda axes, time: None, times=[0.0, 0.1 + 0.2, 1.0], time=0.1 + 0.2)
    assert "time = 0.3." in demo.alt_text and "0.30000000000000004" not in demo.alt_text
