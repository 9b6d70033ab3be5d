"""BlitRenderer: a move redraws only what changed, and the image is the one a full render gives."""

import io

import numpy as np
import pytest
from PIL import Image

from course_utils.figures import interactive
from course_utils.figures.interactive import BlitRenderer, InteractiveFigure, encode_png

TIMES = [0.1, 0.2, 0.3, 0.4, 0.5]


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(int)


def differing_pixels(demo) -> int:
    """Pixels where the image shown differs from the whole figure rendered afresh."""
    return int((np.abs(pixels(demo.image.value) - pixels(demo.png())).max(axis=2) > 0).sum())


def moving_line_demo(**kwargs):
    """A line that moves with time, well inside its axes (it crosses no spine, tick or legend)."""
    art = {}

    def draw(axes, time):
        ax = axes[0]
        if not art:
            art["moving"] = ax.plot([0.2, 0.8], [0.5, 0.5], lw=1, label="moving")[0]
            art["still"] = ax.plot([0.2, 0.8], [-0.8, -0.8], lw=1, label="still")[0]
            art["band"] = ax.axhspan(-0.5, -0.3, color="0.9", zorder=1)  # drawn below the axis and lines
            ax.set_xlim(0, 1)
            ax.set_ylim(-1, 2)
            ax.legend(loc="upper right")
        art["moving"].set_ydata([0.5, 0.5 + time])
        ax.set_title(f"t = {time:g}")
        return time

    demo = InteractiveFigure(draw, times=TIMES, time=TIMES[0], **kwargs)
    return demo, art


def step(demo):
    demo.set(time=TIMES[(TIMES.index(demo.time) + 1) % len(TIMES)])


def counts(demo):
    r = demo.renderer
    return r.full_renders, r.background_renders, r.partial_renders


def test_time_moves_redraw_only_the_moving_artists_and_match_a_full_render():
    demo, _ = moving_line_demo()
    for _ in range(3):  # the layout is pinned on the first move, the background made on the next
        step(demo)
    before = counts(demo)
    for _ in range(6):
        step(demo)
        assert differing_pixels(demo) == 0
    full, background, partial = (a - b for a, b in zip(counts(demo), before))
    assert (full, background, partial) == (0, 0, 6)
    # Drawn again: the lines (the still one comes after the moving one in drawing order), the
    # spines, title and legend drawn above them; not the axis with its ticks, drawn below.
    moving = {type(a).__name__ for a in demo.renderer.redrawn}
    assert moving == {"Line2D", "Spine", "Text", "Legend"}
    assert demo.drawn == demo.time


def test_blit_false_renders_everything_every_time():
    demo, _ = moving_line_demo(blit=False)
    for _ in range(4):
        step(demo)
    full, background, partial = counts(demo)
    assert background == partial == 0 and full == demo.draw_count


CHANGES = {
    "legend text": lambda ax, art: ax.get_legend().get_texts()[0].set_text("renamed"),
    "y limits": lambda ax, art: ax.set_ylim(-2, 3),
    "tick positions": lambda ax, art: ax.set_xticks([0, 0.5]),
    "tick labels": lambda ax, art: ax.set_xticks([0, 1], ["start", "end"]),
    "axis label": lambda ax, art: ax.set_xlabel("a label"),
    "a new line": lambda ax, art: ax.plot([0.1, 0.9], [1.5, 1.5]),
    "a removed line": lambda ax, art: art["still"].remove(),
    "axes face": lambda ax, art: ax.set_facecolor("0.9"),
    "figure title": lambda ax, art: ax.figure.suptitle("a title"),
    "log scale": lambda ax, art: ax.set_xscale("log"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_outside_the_moving_artists_renders_everything(change):
    demo, art = moving_line_demo()
    for _ in range(4):
        step(demo)
    assert demo.renderer.background is not None
    full_before = demo.renderer.full_renders
    CHANGES[change](demo.axes[0], art)
    step(demo)
    assert demo.renderer.full_renders == full_before + 1
    assert differing_pixels(demo) == 0
    for _ in range(3):  # and blitting resumes
        step(demo)
    assert demo.renderer.partial_renders > 0 and differing_pixels(demo) == 0


def test_a_change_inside_the_background_would_be_missed_without_searching_containers(monkeypatch):
    demo, _ = moving_line_demo()
    for _ in range(4):
        step(demo)
    tick_label = demo.axes[0].xaxis.get_major_ticks()[1].label1
    assert tick_label not in demo.renderer.redrawn  # the axis is drawn below the lines: background
    # Recolouring a tick label marks only the label (and its Axes) stale.
    tick_label.set_color("red")
    step(demo)
    assert differing_pixels(demo) == 0
    # The deliberately wrong renderer, which does not search containers, keeps the old background.
    monkeypatch.setattr(interactive, "_any_stale", lambda artist: artist.stale)
    for _ in range(3):
        step(demo)
    tick_label.set_color("blue")
    step(demo)
    assert differing_pixels(demo) > 0


def test_a_change_below_the_moving_artists_redraws_from_there():
    demo, art = moving_line_demo()
    for _ in range(4):
        step(demo)
    background_before = demo.renderer.background_renders
    assert art["band"] not in demo.renderer.redrawn
    art["band"].set_color("0.7")
    step(demo)
    assert demo.renderer.background_renders == background_before + 1
    assert art["band"] in demo.renderer.redrawn and differing_pixels(demo) == 0
    assert demo.axes[0].xaxis in demo.renderer.redrawn  # drawn above the band, so drawn again too
    before = demo.renderer.partial_renders
    step(demo)
    assert demo.renderer.partial_renders == before + 1 and differing_pixels(demo) == 0


def test_png_leaves_the_next_move_partial():
    demo, _ = moving_line_demo()
    for _ in range(4):
        step(demo)
    demo.png()
    before = demo.renderer.partial_renders
    step(demo)
    assert demo.renderer.partial_renders == before + 1 and differing_pixels(demo) == 0


def test_only_the_most_recently_drawn_figures_keep_their_buffers():
    demos = [moving_line_demo()[0] for _ in range(interactive.WARM_FIGURES + 1)]
    for demo in demos:
        for _ in range(3):
            step(demo)
    assert demos[0].renderer.background is None and demos[0].renderer.canvas.renderer is None
    assert all(d.renderer.background is not None for d in demos[1:])
    full_before = demos[0].renderer.full_renders
    step(demos[0])  # a released figure renders everything once, correctly
    assert demos[0].renderer.full_renders == full_before + 1 and differing_pixels(demos[0]) == 0
    assert demos[1].renderer.background is None  # and the least recent one gives its buffers up


def test_encode_png_keeps_transparency_and_drops_an_opaque_alpha():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    opaque = Image.open(io.BytesIO(encode_png(rgba)))
    assert opaque.mode == "RGB" and np.asarray(opaque)[0, 0].tolist() == [200, 0, 0]
    rgba[0, 0, 3] = 10
    clear = Image.open(io.BytesIO(encode_png(rgba)))
    assert clear.mode == "RGBA" and np.asarray(clear)[0, 0, 3] == 10


def test_renderer_can_be_used_on_its_own():
    # without an InteractiveFigure: the image follows the data, and equals savefig's
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2), dpi=50)
    ax = fig.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    renderer = BlitRenderer(fig)
    first = renderer.render()
    for y in ([1, 0], [0.5, 0.2], [0.1, 0.9]):
        line.set_ydata(y)
        latest = renderer.render()
        assert np.array_equal(pixels(latest), pixels(renderer.full_png()))
    assert first != latest and renderer.partial_renders >= 1
    assert pixels(latest).shape == (100, 100, 4)


def test_the_end_of_a_cell_releases_every_render_buffer():
    from course_utils import _memory

    demo, _ = moving_line_demo()
    for _ in range(3):
        step(demo)
    assert demo.renderer.background is not None and demo.renderer.canvas.renderer is not None
    _memory.end_of_cell()
    assert demo.renderer.background is None and demo.renderer.canvas.renderer is None
    assert not interactive._WARM_RENDERERS
    for _ in range(3):  # the next moves make them again, and the image is still the full render's
        step(demo)
    assert demo.renderer.partial_renders > 0 and differing_pixels(demo) == 0


# ---------------------------------------------------------------- the same draws, with and without blitting
def _twin_axes(fig, axes, art):
    twin = axes[0].twinx()
    art["twin"] = twin.plot([0, 1], [0, 1], lw=4, color="C1")[0]
    axes[0].plot([0, 1], [1, 0], lw=4, color="C0")


def _spilling_line(fig, axes, art):  # an unclipped line moving from its axes over its neighbour's
    art["spill"] = axes[0].plot([0.5, 1.0], [0.5, 0.5], lw=3, clip_on=False)[0]
    axes[1].plot([0, 1], [0.5, 0.5], lw=3, color="C2")


def _best_legend(fig, axes, art):  # a line above a "best" legend, which must move out of its way
    axes[0].plot([0, 1], [0.9, 0.9], label="still")
    art["above"] = axes[0].plot([0, 1], [0.1, 0.1], zorder=6, label="moving")[0]
    axes[0].legend()


def _text_box(fig, axes, art):
    # below the lines, so in the background: only its box changes
    art["boxed"] = axes[0].text(0.5, 0.5, "boxed", bbox={"facecolor": "0.9"}, zorder=1)


def _annotation(fig, axes, art):
    art["note"] = axes[0].annotate("note", (0.2, 0.2), xytext=(0.6, 0.6), arrowprops={"arrowstyle": "->"}, zorder=1)


def _update(art, axes, k):
    if "above" not in art:  # (with a line above the legend, that line alone moves)
        art["moving"].set_ydata([0.3, 0.3 + 0.1 * k])
        axes[0].set_title(f"k = {k}")
    if "twin" in art:
        art["twin"].set_ydata([0.1 * k, 1.0])
    if "spill" in art:
        art["spill"].set_xdata([0.5, 1.0 + 0.15 * k])
    if "above" in art:
        art["above"].set_ydata([0.95 if k % 2 == 0 else 0.05] * 2)  # the legend has to jump
    if "boxed" in art:
        art["boxed"].get_bbox_patch().set_facecolor(f"C{k % 4}")
    if "note" in art:
        art["note"].arrow_patch.set_color(f"C{k % 4}")
    if art.get("toggle_axes"):
        axes[1].set_visible(k % 2 == 0)
    if art.get("toggle_line"):
        art["other"].set_visible(k % 2 == 0)
    if art.get("zorder"):
        art["other"].set_zorder(1 if k % 2 else 3)


SCENES = {
    "twin axes": (_twin_axes, {}),
    "an unclipped line over the next axes": (_spilling_line, {}),
    "a best legend": (_best_legend, {}),
    "a text's box": (_text_box, {}),
    "an annotation's arrow": (_annotation, {}),
    "an axes hidden and shown": (None, {"toggle_axes": True}),
    "a line hidden and shown": (None, {"toggle_line": True}),
    "a zorder change": (None, {"zorder": True}),
}


def _scene_demo(setup, flags, blit):
    art = dict(flags)

    def draw(axes, time):
        if "moving" not in art:
            art["moving"] = axes[0].plot([0, 1], [0.3, 0.3], lw=3, color="C3")[0]
            art["other"] = axes[0].plot([0, 1], [0.35, 0.35], lw=6, color="C4")[0]
            for ax in axes:
                ax.set_xlim(0, 1)
                ax.set_ylim(0, 1)
            if setup is not None:
                setup(axes[0].figure, axes, art)
        _update(art, axes, TIMES.index(time))

    return InteractiveFigure(draw, times=TIMES, time=TIMES[0], ncols=2, figsize=(6, 2.5), blit=blit)


@pytest.mark.parametrize("scene", sorted(SCENES))
def test_blitting_gives_the_image_a_full_render_gives(scene):
    setup, flags = SCENES[scene]
    blitted, whole = _scene_demo(setup, flags, True), _scene_demo(setup, flags, False)
    for _ in range(2 * len(TIMES)):  # moves only: no savefig in between
        step(blitted)
        step(whole)
        assert blitted.image.value == whole.image.value or (
            np.array_equal(pixels(blitted.image.value), pixels(whole.image.value))), scene
    assert whole.renderer.partial_renders == 0


def test_blitting_is_used_where_it_is_exact():
    # Two side-by-side axes with their own lines: after the first moves every render is partial.
    blitted = _scene_demo(None, {}, True)
    for _ in range(8):
        step(blitted)
    assert blitted.renderer.partial_renders >= 5
    # twin axes overlap: everything is rendered every time
    twin = _scene_demo(_twin_axes, {}, True)
    for _ in range(8):
        step(twin)
    assert twin.renderer.partial_renders == 0


def test_no_artist_is_left_marked_animated():
    demo, art = moving_line_demo()
    for _ in range(5):
        step(demo)
    assert demo.renderer.partial_renders > 0
    assert not any(a.get_animated() for a in demo.fig.findobj())
