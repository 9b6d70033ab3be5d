"""The instructor's deck as a class meets it (run by run_all.py; issue 15).

    .venv/bin/python bench/bench_deck.py [--notebooks 00,04] [--presses 5] [--no-reference]

Starts `make demo`'s own command (``tools/deck.py serve``) on a free port with the decks in a
temporary folder, and measures, in Debian's Chromium at 1920x1080 (Playwright):

- ``ready_s``: from the command's start to its line for each deck, and to READY (every deck
  pre-run, all at once, on this machine's cores);
- ``first_show_s``: per deck, from the request to its first slide (the index) on screen, and to
  its first demo's figure after one PageDown; the first deck opened meets an empty browser cache,
  the others a warm one (what an instructor meets after opening the first deck);
- per slide: from PageDown to its figure drawn (``slide_show_s``);
- per control: from an arrow key on the focused control to the new image in the page
  (``latency_s``: the kernel's redraw, the PNG's trip and the browser's decode), ``--presses``
  times back and forth; the median is the number that meets the 150 ms goal.

Then the first deck is opened a second time (``reopen``): its pre-run kernel is spent, so a
fresh kernel runs the deck while the page waits (what a reload in class costs).

Reference, in the same run (unless ``--no-reference``): the whole-notebook Voila page of the
first deck's notebook with a pre-run kernel (``DEMO_PREHEAT=1 tools/demo.sh``, the instructor
mode before the deck), from the request to its first interactive figure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))

import common  # noqa: E402
import deck as deck_tool  # noqa: E402
from browser_support import free_port, poll_page  # noqa: E402  (standard library only)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
IMAGE_JS = ("(n) => { const img = document.querySelector(`[data-deck-slide='${n}'] img.widget-image`);"
            " return img && img.complete && img.naturalWidth > 0 ? img.src : ''; }")


def start(cmd, log_path, env=None):
    log = open(log_path, "w")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)


def stop(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wait_for_line(log_path, pattern, process, timeout) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if re.search(pattern, open(log_path).read(), re.M):
            return time.monotonic() - started
        if process.poll() is not None:
            raise RuntimeError(f"server stopped: {open(log_path).read()[-2000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"no {pattern!r} in {timeout:.0f} s: {open(log_path).read()[-2000:]}")


def measure_deck(page, url, deck, presses):
    out = {"deck": deck.stem, "slides": []}
    begin = time.monotonic()
    page.goto(url, wait_until="commit", timeout=300_000)
    page.locator("[data-deck-role='index'] h1").first.wait_for(state="visible", timeout=300_000)
    out["first_show_s"] = time.monotonic() - begin
    for k, demo in enumerate(deck.demos, start=1):
        shown = time.monotonic()
        page.keyboard.press("PageDown")
        poll_page(page, lambda: page.evaluate(IMAGE_JS, k), 120, f"{deck.stem} slide {k}: no figure")
        slide = {"slide": k, "title": demo.title, "show_s": time.monotonic() - shown, "controls": {}}
        if k == 1:
            out["first_figure_s"] = time.monotonic() - begin
        labels = page.evaluate("() => [...document.querySelectorAll('.deck-current .widget-slider .widget-label')]"
                               ".map((l) => l.textContent.trim())")
        for label in labels:
            box = page.locator(".deck-current .widget-slider").filter(
                has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))).first
            handle = box.locator(".noUi-handle").first
            handle.focus()
            at_end = float(handle.get_attribute("aria-valuenow")) >= float(handle.get_attribute("aria-valuemax"))
            keys = ["ArrowLeft", "ArrowRight"] if at_end else ["ArrowRight", "ArrowLeft"]
            times = []
            for i in range(presses + presses % 2):  # an even count: the control ends where it started
                before = page.evaluate(IMAGE_JS, k)
                pressed = time.monotonic()
                page.keyboard.press(keys[i % 2])
                poll_page(page, lambda: page.evaluate(IMAGE_JS, k) not in ("", before), 180,
                          f"{deck.stem} slide {k}: {label} did not redraw", interval_ms=5)
                times.append(time.monotonic() - pressed)
            slide["controls"][label] = {"first_s": times[0], "latency_s": times,
                                        "median_s": statistics.median(times[1:] or times)}
        out["slides"].append(slide)
    return out


def wait_until_idle(process, quiet_s: float = 5.0, timeout: float = 900.0) -> float:
    """Wait until ``process`` and its children (the pre-run kernel) have used < 5% CPU for ``quiet_s``."""
    import psutil

    started = time.monotonic()
    root = psutil.Process(process.pid)
    quiet_since = None
    while time.monotonic() - started < timeout:
        procs = [root, *root.children(recursive=True)]
        for proc in procs:  # the first reading of a process only starts its counter
            _cpu(proc)
        time.sleep(1.0)
        busy = sum(_cpu(proc) for proc in procs)
        if busy < 5.0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_s:
                return time.monotonic() - started
        else:
            quiet_since = None
    raise RuntimeError(f"the pre-run did not settle in {timeout:.0f} s")


def _cpu(proc) -> float:
    try:
        return proc.cpu_percent(interval=None)
    except Exception:
        return 0.0


def reference_page(browser, notebook: str, timeout: float = 900) -> dict:
    """The whole notebook in Voila with a pre-run kernel (tools/demo.sh, DEMO_PREHEAT=1).

    Only that notebook is served (a folder holding a copy), so its pre-run has the machine to
    itself as the decks' had; the page is requested once that kernel has gone idle.
    """
    port = free_port()
    base = tempfile.mkdtemp(prefix="ntk-bench-voila-")
    folder = os.path.join(base, "notebooks")
    os.makedirs(folder)
    shutil.copy(os.path.join(ROOT, "notebooks", notebook), folder)
    env = dict(os.environ, DEMO_PREHEAT="1", DEMO_NOTEBOOK_DIR=folder)
    process = start(["bash", os.path.join(ROOT, "tools", "demo.sh"), str(port)], os.path.join(base, "voila.log"), env)
    try:
        wait_for_line(os.path.join(base, "voila.log"), re.escape(f"Kernel pool of {notebook}"), process, timeout)
        settle_s = wait_until_idle(process, timeout=timeout)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        begin = time.monotonic()
        page.goto(f"http://127.0.0.1:{port}/voila/render/{notebook}", wait_until="commit", timeout=300_000)
        page.wait_for_function("() => [...document.querySelectorAll('img.widget-image')]"
                               ".some((i) => i.complete && i.naturalWidth > 0)", timeout=300_000)
        result = {"notebook": notebook, "first_figure_s": time.monotonic() - begin, "pre_run_s": settle_s}
        page.close()
        return result
    finally:
        stop(process)
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notebooks", default="", help="comma-separated notebook numbers (default: all)")
    parser.add_argument("--presses", type=int, default=5)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    only = args.notebooks.split(",") if args.notebooks else None
    decks = deck_tool.course_decks(only=only)
    base = tempfile.mkdtemp(prefix="ntk-bench-deck-")
    port = free_port()
    log_path = os.path.join(base, "serve.log")
    cmd = [sys.executable, os.path.join(ROOT, "tools", "deck.py"), "serve", "--port", str(port),
           "--deck-dir", os.path.join(base, "decks"), "--refill-delay", "3600"]
    if only:
        cmd += ["--notebooks", args.notebooks]
    result = {"ok": False, "dpi": deck_tool.PROJECTOR_DPI, "cpus": os.cpu_count(), "decks": [],
              "load_before": common.load_average()}
    process = start(cmd, log_path)
    try:
        result["ready_s"] = wait_for_line(log_path, r"^deck: READY", process, 1200)
        text = open(log_path).read()
        result["deck_ready_s"] = {m.group(1): float(m.group(2)) for m in
                                  re.finditer(r"^deck: (\S+) ready after (\d+) s", text, re.M)}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30):
            pass
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
            context = browser.new_context(viewport={"width": 1920, "height": 1080})
            page = context.new_page()
            for i, deck in enumerate(decks):
                row = measure_deck(page, f"http://127.0.0.1:{port}/voila/render/{deck.notebook}", deck, args.presses)
                row["browser_cache"] = "empty" if i == 0 else "warm"
                result["decks"].append(row)
                print(f"{deck.stem}: index {row['first_show_s']:.2f} s, first figure {row['first_figure_s']:.2f} s; "
                           + "; ".join(f"{s['slide']}: " + ", ".join(f"{c} {v['median_s'] * 1e3:.0f} ms"
                                                                     for c, v in s["controls"].items())
                                       for s in row["slides"]), flush=True)
            # a second open of the first deck: its pre-run kernel is spent, so a fresh one runs it
            begin = time.monotonic()
            page.goto(f"http://127.0.0.1:{port}/voila/render/{decks[0].notebook}", wait_until="commit", timeout=600_000)
            page.locator("[data-deck-role='index'] h1").first.wait_for(state="visible", timeout=600_000)
            result["reopen"] = {"deck": decks[0].stem, "first_show_s": time.monotonic() - begin}
            stop(process)
            if not args.no_reference:
                result["reference"] = reference_page(browser, decks[0].notebook)
            browser.close()
        result["ok"] = True
    except Exception as err:  # a broken run is reported as a row, not a traceback
        result["error"] = f"{type(err).__name__}: {err}"[:500]
    finally:
        stop(process)
        shutil.rmtree(base, ignore_errors=True)
    common.emit(result)


if __name__ == "__main__":
    main()
