"""The static site (`make site`) in a real browser, offline (issue 7, item 2).

Builds the site with tools/build_site.py into a temporary folder, serves it with Python's
http.server on 127.0.0.1, and opens the index and one notebook page in Chromium: the index
links every notebook, the page has its figures (images that actually decoded), its math and
its previous / next navigation, and no request tried to leave 127.0.0.1 (every other request
is blocked and recorded; the test requires there were none). Screenshots:
screenshots/site_index.png and site_<notebook>.png.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from browser_support import ROOT, Server, free_port, notebook_names, wait_for_http

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium_path):
    from browser_support import NOTEBOOK_DIR

    out = tmp_path_factory.mktemp("site") / "_site"
    build = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out), "--notebooks", str(NOTEBOOK_DIR)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, f"tools/build_site.py failed:\n{build.stdout}\n{build.stderr}"
    print("\n" + build.stdout)
    port = free_port()
    server = Server(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(out)],
        out.parent / "http.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/index.html", 30, server.process, server.log)
        yield {"url": url, "dir": out, "manifest": json.loads((out / "site.json").read_text()), "log": build.stdout}
    finally:
        server.stop()


def _figures(page) -> list[dict]:
    return page.evaluate(
        "() => [...document.querySelectorAll('img')].map((img) =>"
        " ({w: img.naturalWidth, h: img.naturalHeight, alt: img.alt || ''}))"
    )


def test_index_is_a_course_map(site, new_page, screenshots):
    page = new_page()
    page.goto(site["url"] + "/index.html", wait_until="load")
    links = page.evaluate("() => [...document.querySelectorAll('ol.course-map a')].map((a) => a.getAttribute('href'))")
    expected = [Path(name).stem + ".html" for name in notebook_names()]
    assert links == expected, f"course map links {links}, expected {expected}"
    titles = page.locator("ol.course-map a").all_inner_texts()
    assert all(title.strip() and title != "Untitled" for title in titles), titles
    page.screenshot(path=str(screenshots / "site_index.png"), full_page=True)
    assert page.blocked == [], f"the index tried to load from outside 127.0.0.1: {page.blocked}"


def test_notebook_page_has_figures_math_and_navigation(site, new_page, screenshots):
    manifest = site["manifest"]
    # the page with the most interactive figures (a good test of the snapshot figures)
    entry = max(manifest, key=lambda e: (e["interactive"], e["figures"]))
    page = new_page()
    page.goto(site["url"] + "/index.html", wait_until="load")
    page.locator(f"ol.course-map a[href='{entry['file']}']").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/" + entry["file"])
    figures = _figures(page)
    drawn = [f for f in figures if f["w"] > 0 and f["h"] > 0]
    assert len(drawn) == len(figures), f"{entry['file']}: {len(figures) - len(drawn)} image(s) did not decode"
    assert len(drawn) >= entry["interactive"] + entry["figures"] >= 1, f"{entry['file']}: figures {figures}"
    snapshots = page.locator("figure.interactive-snapshot img")
    assert snapshots.count() == entry["interactive"]
    assert "width=" in page.locator("figure.interactive-snapshot figcaption").first.inner_text()
    # no live widgets without a kernel, no script at all
    assert page.locator("script[src]").count() == 0
    if "as MathML" in site["log"]:
        assert page.locator("math").count() > 0, "math was not rendered to MathML"
    # previous / next / course map navigation, top and bottom
    index = [e["file"] for e in manifest].index(entry["file"])
    nav = page.locator("nav.site-nav.top")
    assert nav.locator("a.home").get_attribute("href") == "index.html"
    if index > 0:
        assert nav.locator("a[rel=prev]").get_attribute("href") == manifest[index - 1]["file"]
    if index < len(manifest) - 1:
        assert nav.locator("a[rel=next]").get_attribute("href") == manifest[index + 1]["file"]
    assert page.locator("nav.site-nav.bottom a.home").count() == 1
    page.screenshot(path=str(screenshots / f"site_{Path(entry['file']).stem}.png"))
    page.locator("figure.interactive-snapshot").first.screenshot(
        path=str(screenshots / f"site_{Path(entry['file']).stem}_figure.png")
    )
    # follow "next" (or "previous") once: the neighbouring page loads with its figures too
    step = nav.locator("a[rel=next]") if index < len(manifest) - 1 else nav.locator("a[rel=prev]")
    if step.count():
        step.click()
        page.wait_for_load_state("load")
        assert all(f["w"] > 0 for f in _figures(page))
    assert page.blocked == [], f"the site tried to load from outside 127.0.0.1: {page.blocked}"
