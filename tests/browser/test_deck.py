"""The instructor's deck (`make demo`, issue 15) in a real browser.

Runs `make demo`'s own command (``tools/deck.py serve``) on a free port with the decks written to
a temporary folder, waits for its READY line (every deck pre-run), then, deck by deck, walks
every slide with the keyboard only: PageDown to the next slide, the slide's title and only its
cells visible, its first control focused, every control moved with an arrow key and the figure
seen to change, ``s`` showing the speaker notes with the Think! question, Home back to the index.
Screenshots: screenshots/deck_<notebook>_<slide>.png.
"""

from __future__ import annotations

import re
import sys
import time

import pytest
from browser_support import ROOT, poll_page

pytestmark = pytest.mark.browser

sys.path.insert(0, str(ROOT / "tools"))
import deck as deck_tool  # noqa: E402

DECKS = deck_tool.course_decks()

VISIBLE_SLIDE_JS = """
() => {
  const shown = [...document.querySelectorAll('[data-deck-slide]')]
    .filter((e) => e.offsetParent !== null || getComputedStyle(e).display !== 'none');
  return {current: document.body.dataset.deckCurrent,
          slides: [...new Set(shown.map((e) => e.dataset.deckSlide))],
          roles: shown.map((e) => e.dataset.deckRole)};
}
"""

READOUTS_JS = """
(n) => [...document.querySelectorAll(`[data-deck-slide='${n}'] .widget-readout`)].map((r) => r.textContent.trim())
"""

CONTROLS_JS = """
() => [...document.querySelectorAll('.deck-current .widget-slider')].map((s) => {
  const label = s.querySelector('.widget-label');
  return label ? label.textContent.trim() : '';
})
"""


def test_serve_prints_a_ready_line_per_deck(deck_server):
    log = deck_server["serve_log"]
    for deck in DECKS:
        assert re.search(rf"deck: {deck.stem} ready after \d+ s", log), f"no ready line for {deck.stem}:\n{log}"
    assert "http://127.0.0.1:" in log and "0.0.0.0" not in log


def _image_src(page, slide: int) -> str:
    return page.evaluate(
        "(n) => { const img = document.querySelector(`[data-deck-slide='${n}'] img.widget-image`);"
        " return img && img.complete && img.naturalWidth > 0 ? img.src : ''; }", slide)


def _wait(predicate, timeout: float, page, what: str):
    return poll_page(page, predicate, timeout, what)


def _move_focused_control(page, slide: int, label: str) -> tuple[str, str]:
    """Press ArrowRight (ArrowLeft at the end) on the focused handle; wait for a new image."""
    handle = page.locator(".deck-current .widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))).first.locator(".noUi-handle").first
    readout = page.locator(".deck-current .widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))).first.locator(".widget-readout")
    before, before_src = readout.inner_text().strip(), _image_src(page, slide)
    at_end = float(handle.get_attribute("aria-valuenow")) >= float(handle.get_attribute("aria-valuemax"))
    handle.focus()
    page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
    after = _wait(lambda: (readout.inner_text().strip() != before) and readout.inner_text().strip(), 5, page,
                  f"slide {slide}: the {label} control did not move with the arrow key")
    _wait(lambda: _image_src(page, slide) not in ("", before_src), 120, page,
          f"slide {slide}: moving {label} {before} -> {after} did not change the figure")
    return before, after


@pytest.mark.parametrize("deck", DECKS, ids=[d.stem for d in DECKS])
def test_deck_walks_every_slide_with_the_keyboard(deck_server, new_page, screenshots, deck):
    page = new_page()
    page.set_viewport_size({"width": 1920, "height": 1080})
    start = time.monotonic()
    page.goto(f"{deck_server['url']}/voila/render/{deck.notebook}", timeout=300_000)
    page.locator("[data-deck-role='index'] h1").first.wait_for(state="visible", timeout=120_000)
    first_show = time.monotonic() - start
    state = page.evaluate(VISIBLE_SLIDE_JS)
    assert state["current"] == "0" and state["slides"] == ["0"], f"the deck should open on its index alone: {state}"
    index_text = page.locator("[data-deck-role='index']").inner_text()
    for other in DECKS:  # the index lists every notebook and every demo
        assert other.title.split("·")[-1].strip()[:30] in index_text
        for demo in other.demos:
            assert re.sub(r"\$[^$]*\$", "", demo.title)[:20].strip() in index_text.replace("\n", " ")
    page.keyboard.press("Escape")
    page.locator("body").focus()
    timings, leaving = [], []
    for k, demo in enumerate(deck.demos, start=1):
        page.keyboard.press("PageDown")
        _wait(lambda: page.evaluate("() => document.body.dataset.deckCurrent") == str(k), 5, page,
              f"PageDown did not reach slide {k}")
        state = page.evaluate(VISIBLE_SLIDE_JS)
        assert state["slides"] == [str(k)], f"slide {k}: cells of other slides are visible: {state}"
        assert "notes" not in state["roles"], f"slide {k}: speaker notes should start hidden"
        shown = time.monotonic()
        _wait(lambda: _image_src(page, k), 60, page, f"slide {k} ({demo.title}): no figure")
        timings.append(time.monotonic() - shown)
        title = page.locator(f"[data-deck-slide='{k}'][data-deck-role='title'] h2").inner_text()
        name = re.sub(r"\$[^$]*\$", "", demo.title.partition(":")[2] or demo.title).strip()[:20]
        assert name in title, f"slide {k}: title {title!r}, expected {demo.title!r}"
        # the figure is large: at least 3/4 of the 1920-pixel screen's width
        box = page.locator(f"[data-deck-slide='{k}'] img.widget-image").bounding_box()
        assert box and box["width"] >= 1400, f"slide {k}: the figure is only {box} wide on a 1920x1080 screen"
        controls = page.evaluate(CONTROLS_JS)
        assert controls, f"slide {k}: no control"
        # the slide's first control has the keyboard without a click
        _wait(lambda: page.evaluate("() => !!document.activeElement.closest('.deck-current .noUi-handle')"), 10, page,
              f"slide {k}: its first control is not focused")
        moved = {label: _move_focused_control(page, k, label) for label in controls}
        page.keyboard.press("s")
        notes = page.locator(f"[data-deck-slide='{k}'][data-deck-role='notes']")
        notes.wait_for(state="visible", timeout=5_000)
        assert "Think!" in notes.inner_text() or "Try this" in notes.inner_text()
        page.screenshot(path=str(screenshots / f"deck_{deck.stem}_{k}.png"))
        page.keyboard.press("s")
        notes.wait_for(state="hidden", timeout=5_000)
        print(f"{deck.stem} slide {k}: " + ", ".join(f"{c} {a} -> {b}" for c, (a, b) in moved.items()))
        left_as = page.evaluate(READOUTS_JS, k)
        leaving.append((k, left_as))
    for k, left_as in leaving:  # PageDown with a control focused changed slides, never that control
        assert page.evaluate(READOUTS_JS, k) == left_as, f"slide {k}: leaving it moved its controls"
    page.keyboard.press("PageDown")  # past the last slide: stays there
    page.wait_for_timeout(200)
    assert page.evaluate("() => document.body.dataset.deckCurrent") == str(len(deck.demos))
    page.keyboard.press("Home")
    _wait(lambda: page.evaluate("() => document.body.dataset.deckCurrent") == "0", 5, page, "Home did not open the index")
    assert not page.blocked, f"the deck asked for outside resources: {sorted(set(page.blocked))}"
    print(f"\n{deck.stem}: index shown {first_show:.2f} s after the request; first figure per slide "
          + ", ".join(f"{t:.2f}" for t in timings) + " s")


def test_dark_theme_inverts_the_figures(deck_server, new_page):
    """?theme=dark (or `make demo DEMO_THEME=dark`): dark page, figures inverted to match."""
    page = new_page()
    page.goto(f"{deck_server['url']}/voila/render/{DECKS[0].notebook}?theme=dark#slide-1", timeout=300_000)
    page.wait_for_function("() => document.body.classList.contains('theme-dark')", timeout=120_000)
    _wait(lambda: _image_src(page, 1), 240, page, "no figure on the dark deck's first slide")
    assert page.evaluate("() => document.body.dataset.deckCurrent") == "1", "the #slide-1 link did not open slide 1"
    image_filter = page.evaluate("() => getComputedStyle(document.querySelector(\"[data-deck-slide='1'] img.widget-image\")).filter")
    assert "invert" in image_filter, image_filter


def test_a_deck_opened_again_starts_a_fresh_kernel_at_once(deck_server, new_page):
    """Its pre-run kernel was used by the walk above: a reload gets a new kernel straight away
    (deck_voila.py), not one that waits out the refill delay (an hour) first."""
    page = new_page()
    start = time.monotonic()
    page.goto(f"{deck_server['url']}/voila/render/{DECKS[0].notebook}#slide-1", timeout=300_000)
    page.wait_for_function("() => document.body.dataset.deckCurrent === '1'", timeout=240_000)
    _wait(lambda: _image_src(page, 1), 240, page, "no figure on the reopened deck")
    print(f"\n{DECKS[0].stem} opened again: figure after {time.monotonic() - start:.1f} s (a fresh kernel ran the deck)")


def test_index_links_switch_slides_in_place(deck_server, new_page):
    page = new_page()
    page.goto(f"{deck_server['url']}/voila/render/{DECKS[-1].notebook}?theme=light", timeout=300_000)
    page.locator("[data-deck-role='index'] h1").first.wait_for(state="visible", timeout=240_000)
    page.evaluate("() => { window.__sameDocument = true; }")
    page.locator(f"[data-deck-role='index'] a[href='{DECKS[-1].stem}.ipynb#slide-1']").click()
    _wait(lambda: page.evaluate("() => document.body.dataset.deckCurrent") == "1", 5, page, "the link did not open slide 1")
    assert page.evaluate("() => window.__sameDocument === true"), "following the link reloaded the page"
