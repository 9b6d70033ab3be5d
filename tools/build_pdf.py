"""Print the whole course as one PDF (`make pdf`), from the static site's print page.

    .venv/bin/python tools/build_pdf.py [--site _site] [--out _pdf/ntk-course.pdf]

``tools/build_site.py`` writes ``print.html``: a table of contents, then every notebook, each
starting on a new page, with formulas as MathML and each interactive figure at its default
control values (its default frame; the controls are hidden by the print stylesheet). This
script opens that page in the headless Chromium the browser tests use (Debian's
``/usr/bin/chromium``, never a downloaded one), waits until every figure has decoded, and prints
it with the PDF's outline (bookmarks from the headings) and links of the contents. Every request
that is not for a local file is refused, and the script fails if one was tried.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def build_pdf(site: Path, out: Path, *, timeout_s: float = 300.0) -> dict:
    """Print ``site/print.html`` to ``out``; return what was printed (figures, bytes, seconds)."""
    from playwright.sync_api import sync_playwright

    page_path = (site / "print.html").resolve()
    if not page_path.exists():
        raise SystemExit(f"{page_path} is missing: build the site first (make site)")
    if not CHROMIUM.exists():
        raise SystemExit(f"no Chromium at {CHROMIUM} (set CHROMIUM=/path/to/chromium)")
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    refused = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def refuse(route):
                refused.append(route.request.url)
                route.abort()

            page.route(re.compile(r"^(?!file:|data:|about:)"), refuse)
            page.goto(page_path.as_uri(), wait_until="load", timeout=timeout_s * 1000)
            # figures below the first screen must be loaded and decoded before printing
            figures = page.evaluate(
                """async () => {
                    const images = [...document.querySelectorAll('img')];
                    images.forEach((img) => { img.loading = 'eager'; });
                    await Promise.all(images.map((img) => img.decode().catch(() => null)));
                    return {decoded: images.filter((img) => img.naturalWidth > 0).length, images: images.length,
                            missing: images.filter((img) => !(img.naturalWidth > 0)).map((img) => img.getAttribute('src').slice(0, 80))};
                }"""
            )
            if figures["decoded"] < figures["images"]:
                raise SystemExit(f"{figures['images'] - figures['decoded']} figure(s) of print.html did not load: "
                                 f"{figures['missing'][:5]}")
            page.emulate_media(media="print")
            page.pdf(path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                     margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center;">'
                                     '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
        finally:
            browser.close()
    if refused:
        raise SystemExit(f"the print page tried to load from outside: {refused[:5]}")
    return {"figures": figures["decoded"], "bytes": out.stat().st_size, "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the course's static site as one PDF.")
    parser.add_argument("--site", type=Path, default=ROOT / "_site")
    parser.add_argument("--out", type=Path, default=ROOT / "_pdf" / "ntk-course.pdf")
    args = parser.parse_args(argv)
    result = build_pdf(args.site, args.out)
    print(f"pdf: {args.out} ({result['bytes'] / 1e6:.1f} MB, {result['figures']} figures, "
          f"printed in {result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
