"""The explorable static site (`make site`) and its PDF (`make pdf`) in a real browser, offline (issue 12).

The ``site`` fixture (conftest.py) builds the site with tools/build_site.py, frames and all, into a
temporary folder and serves it with Python's http.server on 127.0.0.1. Every page is opened in
Chromium with every request that is not for 127.0.0.1 blocked and recorded; each test requires
there were none. Screenshots: screenshots/site_*.png.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from browser_support import ROOT, notebook_names

pytestmark = pytest.mark.browser

SITE_BUDGET_MB = 150


def _figures(page) -> list[dict]:
    return page.evaluate(
        "() => [...document.querySelectorAll('img')].map((img) =>"
        " ({w: img.naturalWidth, h: img.naturalHeight, alt: img.alt || '', src: img.getAttribute('src')}))"
    )


def _frame_state(page, figure_id: str) -> dict:
    return page.evaluate(
        """(id) => { const f = document.getElementById(id); const img = f.querySelector('img');
            return {src: img.getAttribute('src'), alt: img.alt, complete: img.complete && img.naturalWidth > 0,
                    frame: f.dataset.frame,
                    inputs: [...f.querySelectorAll('input[type=range]')].map((i) => ({value: i.value, max: i.max,
                        text: i.getAttribute('aria-valuetext'), readout: i.parentElement.querySelector('output').textContent}))}; }""",
        figure_id,
    )


def test_index_is_a_course_map(site, new_page, screenshots):
    page = new_page()
    page.goto(site["url"] + "/index.html", wait_until="load")
    links = page.evaluate("() => [...document.querySelectorAll('ol.course-map a')].map((a) => a.getAttribute('href'))")
    expected = [Path(name).stem + ".html" for name in notebook_names()]
    assert links == expected, f"course map links {links}, expected {expected}"
    titles = page.locator("ol.course-map a").all_inner_texts()
    assert all(title.strip() and title != "Untitled" for title in titles), titles
    assert page.locator("a[href='search.html']").count() >= 1 and page.locator("a[href='print.html']").count() == 1
    page.screenshot(path=str(screenshots / "site_index.png"), full_page=True)
    assert page.blocked == [], f"the index tried to load from outside 127.0.0.1: {page.blocked}"


def test_every_interactive_figure_has_frames(site):
    """Each notebook's demos became explorable figures, none fell back to a dead snapshot."""
    for entry in site["manifest"]:
        assert entry["explorable"] == entry["interactive"], f"{entry['file']}: {entry}"
        for figure in entry["figures_frames"]:
            assert figure["frames"] >= 2 and figure["controls"], f"{entry['file']}: {figure}"
    assert sum(e["explorable"] for e in site["manifest"]) >= len(site["manifest"]) - 1


def test_site_is_under_its_size_budget(site):
    total = sum(f.stat().st_size for f in site["dir"].rglob("*") if f.is_file())
    print(f"site: {total / 1e6:.1f} MB")
    assert total < SITE_BUDGET_MB * 1e6, f"the site is {total / 1e6:.0f} MB, over its {SITE_BUDGET_MB} MB budget"


def test_every_control_moves_its_figure_with_the_keyboard(site, new_page, screenshots):
    """On every notebook page: each control of each figure, focused and moved with an arrow key,
    changes the frame shown (a different, decoded image), and its readout, aria-valuetext and the
    image's alt text follow."""
    page = new_page()
    moved = 0
    for entry in site["manifest"]:
        page.goto(f"{site['url']}/{entry['file']}", wait_until="load")
        loaded = page.evaluate("() => [...document.querySelectorAll('figure.explorable img')].length")
        assert loaded == len(entry["figures_frames"]), entry["file"]
        for figure in _figures(page):  # every figure of the page, static ones too, is described
            assert len(figure["alt"]) > 40 and "no description" not in figure["alt"].lower(), (entry["file"], figure["alt"])
        for figure in entry["figures_frames"]:
            meta = json.loads(page.locator(f"#{figure['id']} script.frame-data").text_content())
            folder = site["dir"] / "frames" / Path(entry["file"]).stem / str(figure["cell"])
            for index, name in enumerate(figure["controls"]):
                control = page.locator(f"#{figure['id']} input[name='{name}']")
                control.scroll_into_view_if_needed()
                control.focus()
                before = _frame_state(page, figure["id"])
                at_end = before["inputs"][index]["value"] == before["inputs"][index]["max"]
                page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
                page.wait_for_function(
                    "([id, src]) => { const img = document.querySelector('#' + id + ' img');"
                    " return img.getAttribute('src') !== src && img.complete && img.naturalWidth > 0; }",
                    arg=[figure["id"], before["src"]],
                    timeout=10_000,
                )
                after = _frame_state(page, figure["id"])
                where = f"{entry['file']} {figure['id']} control {name}"
                position = int(after["inputs"][index]["value"])
                assert position == int(before["inputs"][index]["value"]) + (-1 if at_end else 1), where
                label = meta["labels"][index][position]
                assert after["inputs"][index]["readout"] == label == after["inputs"][index]["text"], where
                frame = int(after["frame"])
                assert after["src"].endswith(f"/{frame}.png") and after["alt"] == meta["alt"][frame], where
                # the frame's own description (written when it was rendered) names what every readout says
                for i, state in enumerate(after["inputs"]):
                    assert f"{figure['controls'][i]} = {state['readout']}" in after["alt"], (where, after["alt"][:200])
                old_frame = int(before["frame"])
                assert (folder / f"{frame}.png").read_bytes() != (folder / f"{old_frame}.png").read_bytes(), (
                    f"{where}: frames {old_frame} and {frame} are the same picture")
                moved += 1
        if entry["figures_frames"] and entry["file"].startswith("04"):
            page.locator(f"#{entry['figures_frames'][0]['id']}").screenshot(path=str(screenshots / "site_figure_moved.png"))
    assert moved >= sum(len(f["controls"]) for e in site["manifest"] for f in e["figures_frames"]) > 0
    assert page.blocked == [], f"the site tried to load from outside 127.0.0.1: {page.blocked}"


def test_first_view_loads_only_the_default_frames(site, new_page):
    """Frames are fetched lazily: opening a page requests no frame that no control has reached."""
    entry = max(site["manifest"], key=lambda e: len(e["figures_frames"]))
    page = new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url) if "/frames/" in request.url else None)
    page.goto(f"{site['url']}/{entry['file']}", wait_until="load")
    page.wait_for_timeout(500)
    defaults = {f"/frames/{Path(entry['file']).stem}/{f['cell']}/" for f in entry["figures_frames"]}
    assert len(requested) <= len(entry["figures_frames"]), requested
    assert all(any(d in url for d in defaults) for url in requested), requested


def test_notebook_page_has_figures_math_navigation_and_closed_answers(site, new_page, screenshots):
    manifest = site["manifest"]
    entry = max(manifest, key=lambda e: (e["interactive"], e["figures"]))
    page = new_page()
    page.goto(site["url"] + "/index.html", wait_until="load")
    page.locator(f"ol.course-map a[href='{entry['file']}']").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/" + entry["file"])
    page.evaluate("() => document.querySelectorAll('img').forEach((img) => { img.loading = 'eager'; })")
    page.wait_for_function("() => [...document.querySelectorAll('img')].every((img) => img.complete)")
    figures = _figures(page)
    drawn = [f for f in figures if f["w"] > 0 and f["h"] > 0]
    assert len(drawn) == len(figures), f"{entry['file']}: {len(figures) - len(drawn)} image(s) did not decode"
    assert len(drawn) >= entry["interactive"] + entry["figures"] >= 1, f"{entry['file']}: figures {figures}"
    assert all(f["alt"].strip() for f in figures), "every figure needs alt text"
    explorable = page.locator("figure.explorable")
    assert explorable.count() == entry["explorable"]
    assert "width = " in explorable.first.locator("img").get_attribute("alt")
    # the page's own script only: nothing from elsewhere
    assert page.locator("script[src]").count() == 0
    if "as MathML" in site["log"]:
        assert page.locator("math").count() > 0, "math was not rendered to MathML"
    index = [e["file"] for e in manifest].index(entry["file"])
    nav = page.locator("nav.site-nav.top")
    assert nav.locator("a.home").get_attribute("href") == "index.html"
    if index > 0:
        assert nav.locator("a[rel=prev]").get_attribute("href") == manifest[index - 1]["file"]
    if index < len(manifest) - 1:
        assert nav.locator("a[rel=next]").get_attribute("href") == manifest[index + 1]["file"]
    assert page.locator("nav.site-nav.bottom a.home").count() == 1
    page.screenshot(path=str(screenshots / f"site_{Path(entry['file']).stem}.png"))
    assert page.blocked == [], f"the site tried to load from outside 127.0.0.1: {page.blocked}"


def test_answers_and_solutions_stay_collapsed(site, new_page):
    page = new_page()
    collapsed = 0
    for entry in site["manifest"]:
        page.goto(f"{site['url']}/{entry['file']}", wait_until="load")
        details = page.evaluate("() => [...document.querySelectorAll('details')].map((d) => d.open)")
        assert not any(details), f"{entry['file']}: an answer is open on the page"
        summaries = page.evaluate("() => [...document.querySelectorAll('details > summary')].length")
        assert summaries == len(details), entry["file"]
        collapsed += len(details)
    assert collapsed >= len(site["manifest"]), f"only {collapsed} collapsed answers on the whole site"


def test_search_finds_sections_in_the_browser(site, new_page, screenshots):
    page = new_page()
    page.goto(f"{site['url']}/02_linearization.html", wait_until="load")
    box = page.locator("nav.site-nav.top form.site-search input[type=search]")
    box.fill("tangent kernel")
    box.press("Enter")
    page.wait_for_load_state("load")
    assert "search.html" in page.url
    page.wait_for_function("() => document.querySelectorAll('#search-results li').length > 0")
    hits = page.evaluate("() => [...document.querySelectorAll('#search-results a')].map((a) => a.getAttribute('href'))")
    assert len(hits) >= 3
    pages = {h.split("#")[0] for h in hits}
    assert "03_tangent_kernel.html" in pages, hits
    page.screenshot(path=str(screenshots / "site_search.png"))
    # a result leads to its section: the anchor exists on the page it names
    target = next(h for h in hits if h.startswith("03_tangent_kernel.html#"))
    page.goto(f"{site['url']}/{target}", wait_until="load")
    anchor = target.split("#", 1)[1]
    assert page.evaluate("(id) => document.getElementById(id) !== null", anchor), target
    # a word the course never uses finds nothing
    page.goto(f"{site['url']}/search.html?q=zzyzxquux", wait_until="load")
    page.wait_for_function("() => document.querySelector('#search-status').textContent.includes('found')")
    assert page.locator("#search-results li").count() == 0
    assert page.blocked == []


def test_print_stylesheet_hides_navigation_and_controls(site, new_page):
    page = new_page()
    page.goto(f"{site['url']}/04_gradient_flow_ode.html", wait_until="load")
    shown = "(sel) => getComputedStyle(document.querySelector(sel)).display !== 'none'"
    assert page.evaluate(shown, "nav.site-nav") and page.evaluate(shown, "figure.explorable .frame-controls")
    page.emulate_media(media="print")
    assert not page.evaluate(shown, "nav.site-nav")
    assert not page.evaluate(shown, "figure.explorable .frame-controls")
    assert page.evaluate(shown, "figure.explorable img")


def test_make_pdf_prints_the_course_with_contents_and_figures(site, tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "course.pdf"
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_pdf.py"), "--site", str(site["dir"]), "--out", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    print(run.stdout)
    reader = PdfReader(out)
    titles = [entry["title"] for entry in site["manifest"]]
    pages = len(reader.pages)
    assert pages >= 4 * len(titles), f"only {pages} pages for {len(titles)} notebooks"
    first = unicodedata.normalize("NFKC", reader.pages[0].extract_text())  # "fl" ligatures back to letters
    assert "Contents" in first
    for title in titles:  # the table of contents names every notebook ...
        words = re.sub(r"[^A-Za-z ]", " ", title).split()[:3]
        assert all(word in first for word in words), f"{title!r} is not in the table of contents"
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert len(outline) >= len(titles), outline  # ... and so do the PDF's bookmarks
    expected = sum(e["interactive"] + e["figures"] for e in site["manifest"])
    assert f", {expected} figures," in run.stdout, run.stdout  # every figure of every notebook loaded
    images = sum(len(p.images) for p in reader.pages)
    assert images >= expected, f"the PDF holds {images} images, the notebooks {expected} figures"
    text = unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in reader.pages))
    assert text.count("Shown at width = ") >= sum(e["explorable"] for e in site["manifest"]) // 2  # values named
    assert "Move the sliders" not in text
