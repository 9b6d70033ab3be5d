"""The one way every notebook builds its controls and redraws a figure.

``InteractiveFigure`` owns one matplotlib ``Figure`` (made without pyplot, so nothing is
registered in ``plt.get_fignums()`` and nothing leaks however often it is redrawn) and shows
it through an ``ipywidgets.Image``: each event redraws the same axes and swaps the PNG
bytes, so there is no new figure per event and no flicker. The displayed object carries a
static PNG of the current figure next to the widget view, so an executed notebook, the
static site and the repository page all show a real figure without a kernel.

Controls
--------
``width``: a slider over powers of two (each width compiles once and is reused); it is
treated as expensive and updates on release, showing a "computing" note while it works.
``time``: a log-spaced slider that updates continuously; a draw function should make a
time change cheap (index a recorded trajectory or evaluate a ``GradientFlow``).

Staged builds
-------------
A demo whose side panel compares every width need not make the student wait for all of them
before anything shows: its builder computes the default width, passes the other widths'
computations as ``stages``, and the figure fills them in after it is displayed, redrawing
after each with a note of what is still coming ("computing N = 1024 (3 of 5)"). The cell
ends when the last stage is in, so by the time a control can move everything is computed.
Outside a notebook, ``finish()`` runs what is left, and any control move calls it first.

Example
-------
>>> def draw(axes, width, time):
...     traj = run_for_width(width)          # cached per width
...     axes[0].clear(); axes[0].plot(...)
>>> demo = InteractiveFigure(draw, widths=powers_of_two(64, 1024), times=log_times(0.01, 100, 41))
>>> demo                                      # last expression of a cell displays it
"""

from __future__ import annotations

import base64
import collections
import io
import re
import time as _time
import traceback
import weakref
from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib
import numpy as np
import traitlets
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.spines import Spine
from matplotlib.text import Text

from .. import _memory, _validate


def powers_of_two(low: int, high: int) -> list[int]:
    """Powers of two from ``low`` to ``high`` inclusive (both rounded to powers of two)."""
    low = _validate.positive_int(low, "low")
    high = _validate.positive_int(high, "high")
    if high < low:
        raise ValueError(f"high ({high}) must be >= low ({low})")
    start, stop = int(np.ceil(np.log2(low))), int(np.floor(np.log2(high)))
    return [2**k for k in range(start, stop + 1)]


def log_times(low: float, high: float, num: int = 41, *, include_zero: bool = True) -> np.ndarray:
    """``num`` log-spaced times from ``low`` to ``high``, preceded by 0 when ``include_zero``."""
    low = _validate.finite_float(low, "low", minimum=0.0, strict=True)
    high = _validate.finite_float(high, "high", minimum=low)
    num = _validate.positive_int(num, "num", minimum=2)
    times = np.geomspace(low, high, num)
    return np.concatenate([[0.0], times]) if include_zero else times


def _format_time(t: float) -> str:
    return "0" if t == 0 else f"{t:.3g}"


def round_times(times) -> list[float]:
    """Times rounded to 3 significant digits: readable slider labels, identical on every machine."""
    return [float(f"{float(t):.3g}") for t in times]


def nearest_index(values, value) -> int:
    """Index of the entry of ``values`` closest to ``value`` (a slider value into a recorded run)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("values must be a non-empty 1-D sequence")
    return int(np.argmin(np.abs(values - float(value))))


def choice_slider(
    values: Sequence,
    value=None,
    *,
    description: str,
    label=str,
    tooltip: str = "",
    continuous: bool = True,
) -> widgets.SelectionSlider:
    """A slider over a fixed list of values: the one way every control of the course is built.

    ``label(v)`` gives the text shown for a value (units go there or in the tooltip);
    ``continuous=False`` makes an expensive control update on release only.
    """
    values = list(values)
    if not values:
        raise ValueError(f"{description} needs a non-empty list of values")
    if value is None:
        value = values[len(values) // 2]
    if value not in values:
        raise ValueError(f"{description} {value!r} is not one of the offered values {values}")
    return widgets.SelectionSlider(
        options=[(label(v), v) for v in values],
        value=value,
        description=description,
        continuous_update=continuous,
        tooltip=tooltip,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="420px"),
    )


def width_slider(widths: Sequence[int], value: int | None = None, description: str = "width") -> widgets.SelectionSlider:
    """A slider over the given widths (hidden units per layer), updating on release."""
    widths = [int(w) for w in widths]
    if not widths or any(w < 1 for w in widths):
        raise ValueError(f"widths must be a non-empty list of integers >= 1; got {widths}")
    return choice_slider(
        widths,
        None if value is None else int(value),
        description=description,
        tooltip="hidden units per layer (powers of two, so compiled code is reused)",
        continuous=False,
    )


def time_slider(times: Sequence[float], value: float | None = None, description: str = "time") -> widgets.SelectionSlider:
    """A slider over the given training times t = learning rate x steps, updating continuously."""
    times = [float(t) for t in times]
    if not times:
        raise ValueError("times must be a non-empty list of times >= 0")
    _validate.times(np.asarray(times), "times")
    value = times[-1] if value is None else times[nearest_index(times, value)]
    return choice_slider(
        times,
        value,
        description=description,
        label=_format_time,
        tooltip="gradient-flow time t = learning rate x steps (log scale)",
    )


def steps_slider(steps: Sequence[int], value: int | None = None) -> widgets.SelectionSlider:
    """A slider over recorded step counts, for runs whose learning rate varies within a figure.

    Labelled **steps**: when curves have different learning rates, ``lr x steps`` is not one
    time for all of them, so the control counts steps instead.
    """
    steps = [int(s) for s in steps]
    if not steps or any(s < 0 for s in steps):
        raise ValueError(f"steps must be a non-empty list of integers >= 0; got {steps}")
    value = steps[-1] if value is None else steps[nearest_index(steps, value)]
    return choice_slider(steps, value, description="steps", tooltip="gradient-descent steps taken (log scale)")


def multiple_slider(multiples: Sequence[float], value: float, *, description: str, unit: str, tooltip: str) -> widgets.SelectionSlider:
    """A slider over multiples of a reference value, each labelled ``"<multiple> x <unit>"``.

    Used for learning rates in units of ``2 / lambda_max`` or ``1 / lambda_0``: the unit is
    always written on the label, so two notebooks never show the same number meaning two things.
    """
    multiples = [float(m) for m in multiples]
    if not multiples or any(m <= 0 for m in multiples):
        raise ValueError(f"multiples must be positive numbers; got {multiples}")
    return choice_slider(
        multiples, float(value), description=description, label=lambda m: f"{m:g} x {unit}", tooltip=tooltip
    )


# ---------------------------------------------------------------- cheaper redraws
def pin_layout_for_redraws(fig) -> None:
    """Make redraws cheap: drop the layout engine, then pin titles and axis labels.

    ``InteractiveFigure`` lays the figure out once with ``tight_layout``; the placeholder engine
    it leaves makes every later ``savefig`` draw the figure twice (about 40% of a redraw), so
    ``set_layout_engine(None)`` removes it and keeps the computed layout. Once the figure has
    been rendered, titles and axis labels are pinned where matplotlib put them, so later
    renders skip the search for free space next to the tick labels (another 20%). Called at
    the start of every draw; the pinning happens once, on the second call.
    """
    fig.set_layout_engine(None)
    calls = getattr(fig, "_course_draw_calls", 0) + 1
    fig._course_draw_calls = calls
    if calls != 2:
        return
    for ax in fig.axes:
        if ax.get_title():
            ax.set_title(ax.get_title(), y=1.0, fontsize=ax.title.get_fontsize())
        to_axes = ax.transAxes.inverted()
        if ax.xaxis.label.get_text():
            x, y = ax.xaxis.label.get_position()  # x in axes units, y in display pixels
            ax.xaxis.set_label_coords(x, to_axes.transform((0.0, y))[1])
        if ax.yaxis.label.get_text():
            x, y = ax.yaxis.label.get_position()  # x in display pixels, y in axes units
            ax.yaxis.set_label_coords(to_axes.transform((x, 0.0))[0], y)


def plain_log_ticks(axes, axis: str = "both", ticks=None) -> None:
    """Plain-text labels (1e-06, 0.01, 10) and no minor ticks on the log-scaled axes of ``axes``.

    Matplotlib's default log labels are mathtext, re-parsed on every draw (about 30 ms), and its
    minor log ticks are dozens of small artists (a third of a redraw). ``axes`` is one Axes or
    several; ``axis`` is ``"x"``, ``"y"`` or ``"both"``; ``ticks`` optionally fixes the major
    tick positions. Call it after setting the scale.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    if axis not in ("x", "y", "both"):
        raise ValueError(f"axis must be 'x', 'y' or 'both'; got {axis!r}")
    for ax in np.atleast_1d(axes):
        chosen = {"x": [ax.xaxis], "y": [ax.yaxis], "both": [ax.xaxis, ax.yaxis]}[axis]
        for a in chosen:
            if a.get_scale() != "log":
                continue
            if ticks is not None:
                a.set_major_locator(FixedLocator(list(ticks)))
            elif getattr(a.get_major_formatter(), "course_plain", False) and isinstance(a.get_minor_locator(), NullLocator):
                continue  # already plain: setting it again would make the next render a full one
            plain = FuncFormatter(lambda v, _: f"{v:g}")
            plain.course_plain = True
            a.set_major_formatter(plain)
            a.set_minor_formatter(NullFormatter())
            a.set_minor_locator(NullLocator())


def staged_draw(full, update):
    """A draw function for ``InteractiveFigure`` that redraws only what a control changed.

    ``full(axes, **values)`` draws what the other controls decide (called when any control other
    than time changes); ``update(axes, time, **values)`` moves only the time-dependent artists
    (``set_data``), which keeps a time-slider move cheap. A ``full`` that makes its artists on
    its first call and later only gives them new data keeps a width move cheap as well: the
    renderer then draws again only what changed (``BlitRenderer``), where ``ax.clear()`` makes
    it render everything. Returns what ``update`` returns (the drawn data, for tests).
    ``draw.redraw_all()`` makes the next call draw everything (after new data came in).
    """
    state = {"key": None}

    def draw(axes, time, **values):
        key = tuple(sorted(values.items()))
        if state["key"] != key:
            full(axes, **values)
            plain_log_ticks(axes)
            state["key"] = key
        return update(axes, time, **values)

    draw.redraw_all = lambda: state.update(key=None)  # the next draw calls ``full`` (new data came in)
    return draw


def filling_stages(store: dict, compute: Callable, keys, label: str = "N = {}") -> list:
    """Stages for ``InteractiveFigure(stages=...)``: each sets ``store[key] = compute(key)``."""

    def stage(key):
        return lambda: store.__setitem__(key, compute(key))

    return [(label.format(key), stage(key)) for key in keys if key not in store]


def set_time_marker(line, time: float) -> None:
    """Move a vertical time marker (from ``ax.axvline``) to ``time``; hide it at t = 0 (log axes)."""
    line.set_visible(time > 0)
    if time > 0:
        line.set_xdata([time, time])


# Okabe & Ito (2008): distinguishable with every common form of colour blindness.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


# The course's figure style: readable on a projector and in print, safe for colour-blind readers.
COURSE_RC = {
    "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
}


# The dpi an InteractiveFigure gets when its maker does not choose one. Fonts are in points, so
# a higher dpi enlarges the figure and its text together: the instructor's deck sets it for a
# projector (tools/deck.py), at a cost per redraw that grows with the pixel count.
_DEFAULT_DPI = {"dpi": COURSE_RC["figure.dpi"]}


def set_default_dpi(dpi: int | None = None) -> int:
    """Set the dpi of every ``InteractiveFigure`` made from now on; return the previous value.

    ``None`` restores the course's default (100). Figures already made keep their dpi.
    """
    dpi = COURSE_RC["figure.dpi"] if dpi is None else _validate.positive_int(dpi, "dpi", minimum=50)
    if dpi > 400:
        raise ValueError(f"dpi must be at most 400 (a larger image is slow to redraw); got {dpi}")
    previous, _DEFAULT_DPI["dpi"] = _DEFAULT_DPI["dpi"], dpi
    return previous


def default_dpi() -> int:
    """The dpi an ``InteractiveFigure`` gets when none is given (see ``set_default_dpi``)."""
    return _DEFAULT_DPI["dpi"]


def course_style():
    """The course's figure style as a context manager or decorator (``matplotlib.rc_context``).

    Every InteractiveFigure draws inside it; wrap a static plot function with
    ``@course_style()`` (or a ``with course_style():`` block) so its figure matches.
    """
    return matplotlib.rc_context(COURSE_RC)


class DescribedFigure(Figure):
    """A pyplot figure that carries its alt text when a notebook shows it.

    IPython asks a displayed object for a MIME bundle first: this one adds no data (the PNG is
    the inline backend's own) and only the metadata ``{"image/png": {"alt": ...}}``, written by
    ``describe_figure`` when the figure is shown, so the stored notebook and the static site
    built from it describe what the figure holds.
    """

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {}, {"image/png": {"alt": describe_figure(self)}}

    def __repr__(self):  # the text a notebook prints under the figure stays matplotlib's
        return super().__repr__().replace(type(self).__name__, "Figure", 1)


def static_figure(nrows: int = 1, ncols: int = 1, figsize=(7.0, 3.2)):
    """A pyplot figure and its axes (always a 1-D array) in the course's style, for a static plot.

    The figure is a ``DescribedFigure``: shown in a notebook, its output carries its alt text.
    """
    import matplotlib.pyplot as plt

    with course_style():
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, dpi=COURSE_RC["figure.dpi"],
                                 FigureClass=DescribedFigure)
    return fig, np.atleast_1d(axes).ravel()


def width_colours(widths: Sequence[int]) -> dict[int, str]:
    """One colour-blind-safe colour per width, the same width always getting the same colour."""
    return {int(w): OKABE_ITO[i % len(OKABE_ITO)] for i, w in enumerate(widths)}


# ---------------------------------------------------------------- rendering only what moved
# Artists that can be drawn alone over a stored background. A change anywhere else (an axis, a
# spine, a legend's content, an image, an axes' face) can move pixels anywhere: it renders everything.
_DRAWN_ALONE = (Line2D, Text, Collection, Patch)
_CONTAINERS = (Axis, Spine, Legend, Axes, AxesImage)
_MARGIN_PX = 0.5  # antialiased edges reach less than a pixel beyond an artist's extent


def _parts(artist) -> list:
    """An artist's children, with the patches a text draws (its box, an annotation's arrow)."""
    parts = list(artist.get_children())
    if isinstance(artist, Text):
        parts += [p for p in (artist.get_bbox_patch(), getattr(artist, "arrow_patch", None)) if p is not None]
    return parts


def _any_stale(artist) -> bool:
    return artist.stale or any(_any_stale(part) for part in _parts(artist))


def _clear_stale(artist) -> None:
    if artist.stale:
        artist.stale = False
    for part in _parts(artist):
        _clear_stale(part)


def _drawn_alone(artist) -> bool:
    return isinstance(artist, _DRAWN_ALONE) and not isinstance(artist, _CONTAINERS)


def _axes_draw_list(ax) -> list:
    """What ``Axes.draw`` draws after the axes' face, in its order (zorder, then insertion)."""
    artists = [a for a in ax.get_children() if a is not ax.patch]
    if not (ax.axison and ax._frameon):
        artists = [a for a in artists if not isinstance(a, Spine)]
    if not ax.axison:
        artists = [a for a in artists if not isinstance(a, Axis)]
    return sorted(artists, key=lambda a: a.get_zorder())


def _may_spill(artist) -> bool:
    # Lines, collections and patches are clipped to their axes; texts and legends are not.
    return isinstance(artist, (Text, Legend)) or not artist.get_clip_on() or artist.get_clip_box() is None


def _padded(bbox):
    return bbox.padded(_MARGIN_PX)


def encode_png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an ``(height, width, 4)`` uint8 image; RGB when it is opaque (a quarter less to compress)."""
    from PIL import Image

    rgba = np.asarray(rgba)
    image = Image.fromarray(rgba[..., :3] if rgba[..., 3].min() == 255 else rgba)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=3)  # as small as zlib's default here, and faster
    return buffer.getvalue()


WARM_FIGURES = 2  # figures that keep their pixel buffers between renders (the most recently drawn)
_WARM_RENDERERS: "collections.OrderedDict[int, weakref.ref]" = collections.OrderedDict()


def release_render_buffers() -> int:
    """Drop every figure's render buffers (their next render renders everything); return how many.

    Called at the end of every cell: a figure keeps its buffers while a student moves it, not
    while the next cells compute (notebook 05 peaked 14 MB higher with them kept).
    """
    released = 0
    while _WARM_RENDERERS:
        _, ref = _WARM_RENDERERS.popitem(last=False)
        renderer = ref()
        if renderer is not None:
            renderer.release()
            released += 1
    return released


_memory.at_end_of_cell(release_render_buffers)


class BlitRenderer:
    """Renders a figure to PNG, drawing again only what a move changed, with the full render's pixels.

    A full render of a three-panel figure costs 50-90 ms on a laptop core (ticks, labels,
    legends), and a time move usually changes a few lines and a title. After a draw, the artists
    matplotlib marks stale are the ones that changed. When they are plain artists (lines, texts,
    collections, patches) in an unchanged scene (the same artists, limits, scales, positions,
    visibility and size), each axes' draw list is split at its first changed artist: what comes
    before is rendered once as a background, and every later render restores it and draws the
    rest, in the full render's order (``restore_region`` and ``draw``: matplotlib's blitting).
    Axes are drawn one after another in a full render, so this is exact only while what is drawn
    again stays clear of the other axes: their tight boxes (and the figure-level artists' boxes)
    are measured when the background is made, and a render whose redrawn texts or legends reach
    into one of them (or a figure whose boxes overlap: twin axes, an inset) renders everything.

    Everything else renders the whole figure: ``ax.clear()``, a new or removed artist, new limits
    or ticks, a changed legend or image, an automatically placed title, a "best" legend left in
    the background. Not detected (as by matplotlib's own blitting): a transform changed in place.
    """

    def __init__(self, fig: Figure, *, blit: bool = True):
        self.fig = fig
        self.blit = bool(blit)
        self.canvas = FigureCanvasAgg(fig)
        self.changed: list = []  # the artists seen changing since the last full render
        self.redrawn: list = []  # drawn on every render over the background, in order
        self.parts: list = []  # (axes or figure-level artist, its box) as the background shows them
        self.background = None
        self.scene = None  # what the background shows: its artists, their order, limits and size
        self.full_renders = 0  # how each render was done, for tests and the benchmark
        self.background_renders = 0
        self.partial_renders = 0

    def release(self) -> None:
        """Drop the pixel buffers (the next render renders everything): for a figure nobody is moving."""
        self._forget()
        self._drop_render_buffer()
        _WARM_RENDERERS.pop(id(self), None)

    def _drop_render_buffer(self) -> None:
        self.canvas.renderer, self.canvas._lastKey = None, None  # get_renderer makes a new one

    def _forget(self) -> None:
        self.changed, self.redrawn, self.parts, self.background, self.scene = [], [], [], None, None

    def _keep_warm(self) -> None:
        # A background and a render buffer take 4 bytes a pixel each (3 MB for an 1100 x 340
        # figure); a notebook holds a dozen figures, and a student moves one at a time.
        key = id(self)
        if key not in _WARM_RENDERERS:
            _WARM_RENDERERS[key] = weakref.ref(self, lambda _ref, key=key: _WARM_RENDERERS.pop(key, None))
        _WARM_RENDERERS.move_to_end(key)
        while len(_WARM_RENDERERS) > WARM_FIGURES:
            _, ref = _WARM_RENDERERS.popitem(last=False)
            other = ref()
            if other is not None:
                other.release()

    # ------------------------------------------------------------------ the scene
    def _scene(self):
        fig = self.fig
        order = tuple(sorted((a for a in fig.get_children() if a is not fig.patch), key=lambda a: a.get_zorder()))
        axes = []
        for ax in fig.axes:
            position = tuple(ax.get_position().bounds)  # first: it applies the aspect, which may move the limits
            drawn = tuple(_axes_draw_list(ax))
            axes.append((ax, drawn, tuple(a.get_zorder() for a in drawn), tuple(ax.viewLim.bounds),
                         ax.get_xscale(), ax.get_yscale(), position, ax.get_visible(), ax.axison, ax._frameon,
                         ax.get_axes_locator()))
        return order, tuple(axes), tuple(fig.get_size_inches()), fig.dpi

    def _same_scene(self, scene) -> bool:
        if self.scene is None:
            return False
        (old_order, old_axes, *old_rest), (order, axes, *rest) = self.scene, scene
        if old_rest != rest or not _same_artists(old_order, order) or len(old_axes) != len(axes):
            return False
        for (ax0, drawn0, *rest0), (ax1, drawn1, *rest1) in zip(old_axes, axes):
            if ax0 is not ax1 or rest0 != rest1 or not _same_artists(drawn0, drawn1):
                return False
        return True

    def _changed_artists(self, scene):
        """The artists changed since the last render, or ``None`` when one of them cannot be drawn alone.

        A change inside a container (a legend's text, a tick label, a text's box) marks only the
        inner artist (and its Axes) stale, so containers are searched all the way down.
        """
        order, axes, _, _ = scene
        if self.fig.patch.stale:
            return None
        changed = []
        for ax, drawn, *_ in axes:
            if ax.patch.stale:
                return None
            titles = (ax.title, ax._left_title, ax._right_title)
            for artist in drawn:
                if _drawn_alone(artist):
                    if _any_stale(artist):
                        if any(artist is t for t in titles) and ax._autotitlepos is not False:
                            return None  # Axes.draw places such a title: a full render does it
                        changed.append(artist)
                elif _any_stale(artist):
                    return None
        for artist in order:
            if isinstance(artist, Axes):
                continue
            if _drawn_alone(artist):
                if _any_stale(artist):
                    changed.append(artist)
            elif _any_stale(artist):
                return None
        return changed

    def _split(self, scene, changed) -> list | None:
        """What is drawn again on every render, in the figure's drawing order: each axes' draw
        list from its first changed artist on, and the changed figure-level artists. ``None``
        when that would not be exact."""
        order, axes, _, _ = scene
        changed_ids = {id(a) for a in changed}
        draw_lists = {id(ax): drawn for ax, drawn, *_ in axes}
        redrawn = []
        for item in order:
            if not isinstance(item, Axes):
                if id(item) in changed_ids:
                    redrawn.append(item)
                continue
            drawn = draw_lists.get(id(item), ())
            first = next((i for i, a in enumerate(drawn) if id(a) in changed_ids), None)
            if first is None:
                continue
            if any(isinstance(a, AxesImage) for a in drawn[first:]):
                return None  # Axes.draw draws images even when they are marked animated
            if any(isinstance(a, Legend) and a._loc == 0 for a in drawn[:first]):
                return None  # a "best" legend in the background would not move out of the way
            redrawn.extend(drawn[first:])
        if not changed_ids <= {id(a) for a in redrawn}:
            return None  # a changed artist that no draw list in the figure's order holds
        return redrawn

    def _measure_parts(self, scene) -> list | None:
        """Each axes' tight box and each figure-level artist's box, as the background shows them,
        or ``None`` when two of them overlap (their drawing order would matter)."""
        renderer = self.canvas.get_renderer()
        order, axes, _, _ = scene
        parts = [(ax, _padded(ax.get_tightbbox(renderer))) for ax, *_ in axes if ax.get_visible()]
        parts += [(a, _padded(a.get_window_extent(renderer))) for a in order
                  if not isinstance(a, Axes) and a.get_visible()]
        for i, (_, first) in enumerate(parts):
            if any(first.overlaps(second) for _, second in parts[i + 1:]):
                return None
        return parts

    def _within_parts(self) -> bool:
        """Whether every redrawn text and legend (the artists not clipped to their axes) stays out
        of the other axes' and figure-level artists' boxes: there, drawing order would matter."""
        renderer = self.canvas.get_renderer()
        for artist in self.redrawn:
            if not _may_spill(artist) or not artist.get_visible():
                continue
            if isinstance(artist, Text) and not artist.get_text():
                continue
            owner = artist.axes if artist.axes is not None else artist
            extent = artist.get_window_extent(renderer)
            if not np.all(np.isfinite(extent.bounds)):
                return False
            extent = _padded(extent)
            if not isinstance(artist, (Text, Legend)):  # a line's extent leaves out its width
                widths = np.atleast_1d(artist.get_linewidth()) if hasattr(artist, "get_linewidth") else [0.0]
                extent = extent.padded(float(np.max(widths, initial=0.0)) * self.fig.dpi / 72.0)
            if any(other is not owner and extent.overlaps(box) for other, box in self.parts):
                return False
        return True

    # ------------------------------------------------------------------ rendering
    def render(self) -> bytes:
        """The figure as PNG bytes, drawing as little as the last draw's changes allow."""
        scene = self._scene()
        changed = self._changed_artists(scene) if self.blit and self._same_scene(scene) else None
        redrawn_ids = {id(a) for a in self.redrawn}
        if (changed is not None and self.background is not None and all(id(a) in redrawn_ids for a in changed)
                and self._within_parts()):
            self.canvas.restore_region(self.background)
            self._draw_redrawn()
            self.partial_renders += 1
        else:
            redrawn = None
            if changed is not None:
                known = {id(a) for a in self.changed}
                changed = self.changed + [a for a in changed if id(a) not in known]
                redrawn = self._split(scene, changed)
            self._forget()
            if redrawn is None:  # render everything
                self.canvas.draw()
                self.full_renders += 1
            else:  # a new set of changing artists: render the rest once, as their background
                self.changed, self.redrawn = changed, redrawn
                self._draw_background()
                self.parts = self._measure_parts(scene)
                if self.parts is None or not self._within_parts():  # overlapping parts: no blitting
                    self._forget()
                    self.canvas.draw()
                    self.full_renders += 1
                else:
                    self.background_renders += 1
        self._settle(scene)
        self.scene = scene
        png = encode_png(np.asarray(self.canvas.buffer_rgba()))
        self._keep_warm()
        return png

    def _draw_background(self) -> None:
        # Marked animated only while the background is drawn (Axes.draw and Figure.draw skip
        # animated artists); the partial renders draw them directly.
        marked = [a for a in self.redrawn if not a.get_animated()]
        for artist in marked:
            artist.set_animated(True)
        try:
            self.canvas.draw()
        finally:
            for artist in marked:
                artist.set_animated(False)
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self._draw_redrawn()

    def _draw_redrawn(self) -> None:
        renderer = self.canvas.get_renderer()
        for artist in self.redrawn:
            artist.draw(renderer)

    def _settle(self, scene) -> None:
        # Artists a render skipped (invisible ones, empty texts, ticks outside the view) keep
        # their stale flag; clearing it leaves marked only what the next draw changes.
        order, axes, _, _ = scene
        _clear_stale(self.fig.patch)
        for artist in order:
            if not isinstance(artist, Axes):
                _clear_stale(artist)
        for ax, drawn, *_ in axes:
            _clear_stale(ax.patch)
            for artist in drawn:
                _clear_stale(artist)

    def full_png(self) -> bytes:
        """The whole figure rendered afresh with ``savefig``, leaving the next ``render`` unaffected.

        ``savefig`` marks the figure's face stale when it puts the face colour back; what was
        stale before it (a change not yet rendered) stays stale, and nothing else. Its render
        buffer is dropped again unless this figure is one of the warm ones.
        """
        changed = [a for a in self.fig.findobj() if a.stale]
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=self.fig.dpi)
        for artist in self.fig.findobj():
            if artist.stale:
                artist.stale = False
        for artist in changed:
            artist.stale = True
        if id(self) not in _WARM_RENDERERS:
            self._drop_render_buffer()
        return buffer.getvalue()


# ---------------------------------------------------------------- alt text
_ALT_MAX_ITEMS = 8  # curves named per panel; more are summarised by their count


def _plain(text: str) -> str:
    """A label as words: mathtext's ``$``, spacing commands and backslashes dropped."""
    text = text.replace("$", "").replace("\\,", " ").replace("\\|", "||")
    return re.sub(r"\\([A-Za-z]+)", r"\1", text).strip()


def _axis_words(ax, which: str) -> str:
    axis = ax.xaxis if which == "x" else ax.yaxis
    label = _plain(axis.get_label().get_text()) or which
    low, high = ax.get_xlim() if which == "x" else ax.get_ylim()
    scale = axis.get_scale()
    scale = "" if scale == "linear" else f", {scale} scale"
    return f"{label} from {low:.3g} to {high:.3g}{scale}"


def _curve_names(ax) -> list[str]:
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        names = [_plain(text.get_text()) for text in legend.get_texts()]
    else:
        artists = [*ax.get_lines(), *ax.collections, *ax.patches]
        names = [a.get_label() for a in artists if a.get_visible() and not str(a.get_label()).startswith("_")]
    return [name.strip() for name in names if name.strip()]


def describe_figure(fig: Figure, values: dict | None = None) -> str:
    """Alt text for ``fig``: the control values, then per panel its title, axes and curves.

    Written from the artists themselves (titles, axis labels, limits and scales, legend or line
    labels, images, annotations), so it follows every redraw and every figure of the course
    without a description written by hand.
    """
    parts = []
    if values:
        parts.append("Interactive figure at " + ", ".join(f"{k} = {v}" for k, v in values.items()) + ".")
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text().strip():
        parts.append(suptitle.get_text().strip() + ".")
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    bars = [ax for ax in panels if getattr(ax, "_colorbar", None) is not None]
    panels = [ax for ax in panels if ax not in bars]
    if not values:
        parts.append(f"A figure of {len(panels)} panel{'s' if len(panels) != 1 else ''}.")
    for number, ax in enumerate(panels, start=1):
        title = " ".join(_plain(t.get_text()) for t in (ax.title, ax._left_title, ax._right_title) if t.get_text().strip())
        words = [f"Panel {number} of {len(panels)}" + (f", {title!r}" if title else "")]
        if ax.images:
            words.append("an image (heat map)")
        words.append(f"x: {_axis_words(ax, 'x')}; y: {_axis_words(ax, 'y')}")
        names = _curve_names(ax)
        if names:
            shown = ", ".join(names[:_ALT_MAX_ITEMS])
            more = f" and {len(names) - _ALT_MAX_ITEMS} more" if len(names) > _ALT_MAX_ITEMS else ""
            words.append(f"shows {shown}{more}")
        notes = [_plain(t.get_text()) for t in ax.texts if t.get_visible() and t.get_text().strip()]
        if notes:
            words.append("notes: " + "; ".join(notes[:3]))
        parts.append(": ".join(words[:1]) + ": " + "; ".join(words[1:]) + ".")
    for bar in bars:
        which = "y" if bar._colorbar.orientation == "vertical" else "x"
        parts.append(f"Colour scale: {_axis_words(bar, which)}.")
    return " ".join(" ".join(parts).split())


def _same_artists(first, second) -> bool:
    return len(first) == len(second) and all(a is b for a, b in zip(first, second))


class _DescribedImage(widgets.Image):
    """An ``ipywidgets.Image`` whose ``tooltip`` (the element's title: its alt text) can be set.

    ipywidgets 8's front end reads ``description.length`` before it sets a tooltip, and an Image
    has no description: the view fails to render. An empty synced description lets it through.
    """

    description = traitlets.Unicode("").tag(sync=True)


class InteractiveFigure:
    """A figure redrawn in place by ``draw(axes, width=..., time=..., **extra)``.

    Parameters
    ----------
    draw : function called with the axes array (always 1-D) and the current control values
        as keyword arguments. It redraws the axes (``ax.clear()`` then plot, or ``set_data``)
        and may return the data it drew (kept as ``self.drawn``), so tests can check the
        numbers on the figure without reading matplotlib artists.
    widths, times : the values the width and time sliders offer (either may be None to omit
        that control; every notebook figure of the course has both).
    width, time : initial values.
    extra : further controls ``{"name": widget}`` passed to ``draw`` by name.
    expensive : names of controls whose change may take a while (default: width); they
        show a "computing" note and should have ``continuous_update=False``.
    nrows, ncols, figsize, dpi : the figure's layout; modest dpi keeps updates fast (``None``:
        ``default_dpi()``, 100 unless the deck raised it for a projector).
    title : optional heading shown above the controls.
    stages : ``[(label, compute), ...]``: computations that ``draw`` can do without but that
        complete the figure (the other widths of a side panel). They run in order when the
        figure is displayed (a redraw after each), or at ``finish()``; ``draw`` must draw
        whatever is ready.
    show_stages : redraw after every stage while displayed (default); ``False`` for a figure
        whose stages prepare what later moves show (other widths of a one-width figure): it is
        redrawn once, when they are all in.
    blit : render only the artists a move changed, over a stored background, when that is
        safe (``BlitRenderer``; default). ``False`` renders the whole figure on every move.
    """

    def __init__(
        self,
        draw: Callable,
        *,
        widths: Sequence[int] | None = None,
        times: Sequence[float] | None = None,
        width: int | None = None,
        time: float | None = None,
        extra: dict | None = None,
        expensive: Sequence[str] = ("width",),
        nrows: int = 1,
        ncols: int = 1,
        figsize=(7.0, 3.2),
        dpi: int | None = None,
        title: str | None = None,
        stages: Sequence[tuple[str, Callable[[], object]]] = (),
        show_stages: bool = True,
        blit: bool = True,
    ):
        if not callable(draw):
            raise ValueError("draw must be a function draw(axes, width=..., time=...)")
        self._draw = draw
        self.show_stages = bool(show_stages)
        self._finishing = False
        self.pending = []
        for stage in stages:
            if not (isinstance(stage, tuple) and len(stage) == 2 and callable(stage[1])):
                raise ValueError("each stage must be a (label, compute) pair with a callable compute")
            self.pending.append((str(stage[0]), stage[1]))
        self.controls: dict[str, widgets.Widget] = {}
        if widths is not None:
            self.controls["width"] = width_slider(widths, width)
        if times is not None:
            self.controls["time"] = time_slider(times, time)
        for name, control in (extra or {}).items():
            if name in self.controls:
                raise ValueError(f"extra control {name!r} clashes with a built-in control")
            self.controls[name] = control
        self.expensive = set(expensive)
        with course_style():
            self.fig = Figure(figsize=figsize, dpi=default_dpi() if dpi is None else _validate.positive_int(dpi, "dpi"))
            self.axes = np.atleast_1d(self.fig.subplots(nrows, ncols)).ravel()
        self.renderer = BlitRenderer(self.fig, blit=blit)
        self.image = _DescribedImage(format="png", layout=widgets.Layout(max_width="100%"))
        self.status = widgets.HTML(value="")
        self.draw_count = 0
        self.drawn = None  # what the last draw returned: the plotted data, for tests
        self.alt_text = ""  # describe_figure() of the last draw
        self.last_draw_seconds = float("nan")
        self.last_error: BaseException | None = None
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        self.widget = widgets.VBox(header + [widgets.HBox([*self.controls.values()]), self.status, self.image])
        if len(self.controls) > 2:
            self.widget.children = tuple(header) + (
                widgets.VBox(list(self.controls.values())),
                self.status,
                self.image,
            )
        for name, control in self.controls.items():
            control.observe(self._on_change(name), names="value")
        self.redraw()
        _LIVE.add(self)

    # ------------------------------------------------------------------ values
    @property
    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    @property
    def labels(self) -> dict:
        """Each control's value as its readout shows it (``"0.3"``, not ``0.30000000000000004``)."""
        return {name: getattr(control, "label", None) or control.value for name, control in self.controls.items()}

    @property
    def width(self):
        return self.controls["width"].value

    @property
    def time(self):
        return self.controls["time"].value

    def set(self, **values) -> None:
        """Move controls programmatically (as a student would); each change redraws once."""
        for name, value in values.items():
            if name not in self.controls:
                raise ValueError(f"no control named {name!r}; controls are {sorted(self.controls)}")
            self.controls[name].value = value

    # ------------------------------------------------------------------ drawing
    def _on_change(self, name):
        def handler(change):
            self.finish(redraw=False)  # the move's own redraw shows them
            if name in self.expensive:
                self.status.value = f"<i>computing for {name} = {change['new']} (a first visit compiles once)...</i>"
            try:
                self.redraw()
            finally:
                self.status.value = ""

        return handler

    def redraw(self) -> None:
        """Call ``draw`` with the current values and refresh the image in place."""
        start = _time.perf_counter()
        if self.draw_count:
            pin_layout_for_redraws(self.fig)
        try:
            with course_style():
                self.drawn = self._draw(self.axes, **self.values)
        except Exception as err:  # show the message in the figure's place, keep the widget alive
            self.last_error = err
            self.status.value = f"<b style='color:#b00'>{type(err).__name__}: {err}</b>"
            raise
        self.last_error = None
        if self.draw_count == 0:
            # Lay the figure out once; later draws keep that layout (re-running the layout
            # engine on every event would cost more than the draw itself).
            self.fig.tight_layout()
            # tight_layout leaves a placeholder layout engine behind, with which every later
            # savefig draws the figure twice; dropping it halves the cost of an event.
            self.fig.set_layout_engine(None)
        self.image.value = self.renderer.render()
        # What the figure shows now, as text: the image's alt text for screen readers (ipywidgets
        # puts a DOM widget's tooltip in its element's title, which they read) and for the site.
        self.alt_text = describe_figure(self.fig, self.labels)
        self.image.tooltip = self.alt_text
        self.draw_count += 1
        self.last_draw_seconds = _time.perf_counter() - start

    def finish(self, *, show_progress: bool = False, redraw: bool = True) -> int:
        """Run the stages not yet run, in order; redraw once they are in. Returns how many ran.

        With ``show_progress`` (the display path) the status line says what is being computed,
        and the figure is redrawn after every stage when its stages show (``show_stages``), so
        a student watches it fill in. Each stage is followed by the memory check that ends a
        cell (a stage is as big as a cell's computation), after its large programs are released: a
        stage's shapes are not computed again. A call made while stages run (a
        control moved from a stage) returns at once.
        """
        if self._finishing:
            return 0
        total, done = len(self.pending), 0
        self._finishing = True
        try:
            while self.pending:
                label, compute = self.pending[0]
                if show_progress:
                    self.status.value = (f"<i>computing {label} ({done + 1} of {total}); "
                                         "the controls answer when it is done...</i>")
                compute()
                self.pending.pop(0)
                done += 1
                _memory.release_large_programs()  # this stage's shapes are not trained again
                _memory.end_of_cell()
                if (show_progress and self.show_stages) or (redraw and not self.pending):
                    self.redraw()
        finally:
            self._finishing = False
            self.status.value = ""
        return done

    def png(self) -> bytes:
        """The whole figure rendered afresh (``savefig``): what a move costs without blitting."""
        return self.renderer.full_png()

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle)
        # A static image of the current state for readers without a live kernel
        # (repository page, static site); a widget-aware frontend shows the widget instead.
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        bundle["text/plain"] = f"InteractiveFigure({', '.join(f'{k}={v}' for k, v in self.values.items())})"
        return bundle

    def _alt_metadata(self) -> dict:
        # the stored snapshot's alt text (the notebook file, the static site built from it)
        return {"image/png": {"alt": self.alt_text}}

    def _ipython_display_(self):
        # Shown at once with what is ready; the stages then fill it in, and the stored static
        # image is replaced by the finished figure (the same display, updated by its id).
        from IPython.display import display

        handle = display(self._repr_mimebundle_(), raw=True, metadata=self._alt_metadata(), display_id=True)
        try:
            ran = self.finish(show_progress=True)
        except Exception as err:  # the figure stays, with the message where a student looks
            self.last_error = err
            self.status.value = f"<b style='color:#b00'>{type(err).__name__} while computing: {err}</b>"
            traceback.print_exc()  # to the cell's error stream, so a test run fails on it
            ran = True
        if ran and handle is not None:
            handle.update(self._repr_mimebundle_(), raw=True, metadata=self._alt_metadata())

    def prefetch(self) -> int:
        """Visit every value of each expensive control once, the others as they are; then go back.

        What a first visit computes (a width's training run, a depth's networks) is cached where it
        is computed, so afterwards a move of one control from this state is only a redraw. The
        instructor's deck calls this while it pre-runs, so no control makes a class wait. Each
        visit goes through the same path as a student's move. Returns the number of values visited.
        """
        self.finish()
        start = self.values
        visited = 0
        for name in sorted(self.expensive & set(self.controls)):
            values = self._option_values(name) if getattr(self.controls[name], "options", None) else []
            try:
                for value in values:
                    if value != start[name]:
                        self.controls[name].value = value
                        visited += 1
            finally:  # a value that fails to draw raises, with the figure back where it was
                self.controls[name].value = start[name]
        return visited

    def _option_values(self, name: str) -> list:
        control = self.controls[name]
        options = getattr(control, "options", None)
        if not options:
            raise ValueError(f"control {name!r} has no list of options to step through")
        return [option[1] if isinstance(option, tuple) else option for option in options]

    def frame_grid(self, max_frames: int = 200) -> dict[str, list[int]]:
        """The option indices of each control for a grid of at most ``max_frames`` frames.

        Every option of every control when the grid fits; otherwise the control with the most
        options is thinned evenly (keeping its first, last and current option where it can),
        again until the product fits. A static page (``frames``) shows one rendered figure per grid point.
        """
        max_frames = _validate.positive_int(max_frames, "max_frames")
        grid = {}
        for name in self.controls:
            options = self._option_values(name)
            grid[name] = list(range(len(options)))
        if int(np.prod([1, *[2 if len(v) > 1 else 1 for v in grid.values()]])) > max_frames:
            raise ValueError(f"max_frames = {max_frames} can not hold two values of each of {len(grid)} controls")
        while int(np.prod([len(v) for v in grid.values()])) > max_frames:
            name = max(grid, key=lambda n: (len(grid[n]), n not in self.expensive))
            options = self._option_values(name)
            current = options.index(self.values[name])
            count = max(2, (len(grid[name]) * 3) // 4)
            picks = {int(round(i)) for i in np.linspace(0, len(options) - 1, count)} | {current}
            while len(picks) >= len(grid[name]):  # rounding (or the current value) kept them all
                # drop the pick nearest the current value (not the current value itself)
                picks.remove(min(picks - {current}, key=lambda i: (abs(i - current), i)))
            grid[name] = sorted(picks)
        return grid

    def frames(self, max_frames: int = 200):
        """Render the figure at every point of ``frame_grid(max_frames)``.

        Yields ``(indices, png, alt_text)`` with ``indices`` a dict of positions in each control's
        grid list, the last control changing fastest and the expensive controls slowest (so a
        costly value is visited once). Each frame goes through a student's path (the control
        moves, the figure redraws); the controls return to where they were afterwards.
        """
        self.finish()
        grid = self.frame_grid(max_frames)
        order = sorted(grid, key=lambda n: n not in self.expensive)
        start = self.values
        try:
            for point in np.ndindex(*[len(grid[n]) for n in order]):
                for name, position in zip(order, point):
                    value = self._option_values(name)[grid[name][position]]
                    if self.controls[name].value != value:
                        self.controls[name].value = value
                indices = {name: int(position) for name, position in zip(order, point)}
                yield {name: indices[name] for name in grid}, self.image.value, self.alt_text
        finally:
            for name, value in start.items():
                if self.controls[name].value != value:
                    self.controls[name].value = value

    def close(self) -> None:
        """Release the widgets (the figure is garbage-collected with this object)."""
        _LIVE.discard(self)
        for widget in [*self.controls.values(), self.image, self.status, *self.widget.children, self.widget]:
            widget.close()


# Every InteractiveFigure alive in this process (weakly held: a figure nobody refers to is gone).
_LIVE: "weakref.WeakSet[InteractiveFigure]" = weakref.WeakSet()


def prefetch_all() -> int:
    """``prefetch()`` every InteractiveFigure alive in this kernel; return the values visited."""
    return sum(figure.prefetch() for figure in list(_LIVE))
