"""`make demo-notebooks` (whole notebooks in Voila, code hidden) in a real browser (issue 6).

Starts tools/demo.sh (the command `make demo-notebooks` runs) on a free port, checks the index
lists every notebook, then opens the start notebook: the page renders without an error and
without code, and moving the width and the time control of its first interactive figure with
the arrow keys changes the figure. Voila runs each notebook in a fresh kernel per page load, so
a page is slow (10-30 s here); the other notebooks' demos are walked in Voila by the deck's
test (test_deck.py), so one whole page is enough here.
Screenshots: screenshots/voila_<notebook>.png and voila_index.png.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from browser_support import error_outputs, move, notebook_names, wait_for_figures

pytestmark = pytest.mark.browser

RENDER_TIMEOUT = 300  # seconds for Voila to execute and render one notebook


def _pages() -> list[str]:
    """The start notebook (when it exists)."""
    names = notebook_names()
    chosen = [n for n in names if n.startswith("00_")]
    return chosen or names[:1]


def test_demo_index_lists_every_notebook(voila_server, new_page, screenshots):
    page = new_page()
    page.goto(voila_server["url"] + "/")
    for name in notebook_names():
        page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=str(screenshots / "voila_index.png"))


@pytest.mark.parametrize("name", _pages())
def test_demo_page_renders_and_figure_answers(voila_server, new_page, screenshots, name):
    page = new_page()
    stem = name.removesuffix(".ipynb")
    start = time.monotonic()
    page.goto(f"{voila_server['url']}/voila/render/{quote(name)}", timeout=RENDER_TIMEOUT * 1000)
    count = wait_for_figures(page, timeout=RENDER_TIMEOUT)
    render_seconds = time.monotonic() - start
    page.screenshot(path=str(screenshots / f"voila_{stem}.png"), full_page=True)
    errors = error_outputs(page)
    assert not errors, f"{name}: Voila shows an error:\n" + "\n---\n".join(e[-2000:] for e in errors)
    assert count >= 1, f"{name}: no interactive figure rendered in {RENDER_TIMEOUT} s"
    # code hidden: no input areas or editors on the page
    assert page.locator(".jp-InputArea-editor, .CodeMirror, .cm-editor").count() == 0, f"{name}: Voila shows code"
    moved = {control: move(page, control) for control in ("width", "time")}
    figure = page.locator("[data-ntk-figure='0']")
    figure.scroll_into_view_if_needed()
    figure.screenshot(path=str(screenshots / f"voila_{stem}_figure.png"))
    print(
        f"\n{name}: Voila rendered in {render_seconds:.1f} s, {count} interactive figure(s); "
        + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in moved.items())
        + (f"; blocked {len(page.blocked)} outside request(s): {sorted(set(page.blocked))[:3]}" if page.blocked else "")
    )
