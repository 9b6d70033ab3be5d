"""Helpers for the browser tests: the notebook list, server processes, and the driver that
finds an InteractiveFigure on a page and moves its controls with the keyboard.

An ``InteractiveFigure`` renders as an ipywidgets box holding ``SelectionSlider``s labelled
``width`` and ``time`` (noUiSlider handles ``.noUi-handle``, readout ``.widget-readout``) and
an ``ipywidgets.Image`` (``img.widget-image``) whose ``src`` (a blob URL) is replaced on every
redraw. Shared by the browser tests.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# NTK_NOTEBOOK_DIR points the tests at another folder of notebooks (for developing the tests).
NOTEBOOK_DIR = Path(os.environ.get("NTK_NOTEBOOK_DIR", ROOT / "notebooks"))


def notebook_names() -> list[str]:
    """Every course notebook that exists now, sorted (the tests parametrize over this)."""
    return [path.name for path in sorted(NOTEBOOK_DIR.glob("*.ipynb"))]


# ----------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Poll ``url`` until it answers 200 (or raise with the server's log)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as err:
            last = err
        time.sleep(0.3)
    tail = log.read_text()[-4000:] if log is not None and log.exists() else ""
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s (last error: {last}):\n{tail}")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies (even killed), so no server leaks."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Server:
    """A server process in its own process group, stopped (by its id) at teardown."""

    def __init__(self, cmd: list[str], log: Path, env: dict | None = None, cwd: Path | None = None):
        self.log = log
        self._log_file = open(log, "w")
        self.process = subprocess.Popen(
            cmd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)  # the group this fixture created
                self.process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        self._log_file.close()


# ----------------------------------------------------------------------------- figures
MARK_FIGURES_JS = """
() => {
  // Tag every interactive figure: the smallest box around a widget image that also holds
  // a slider labelled "width" and one labelled "time".
  const images = [...document.querySelectorAll('img.widget-image, .widget-image img')];
  let count = 0;
  for (const img of images) {
    let box = img.parentElement;
    while (box && box !== document.body) {
      const labels = [...box.querySelectorAll('.widget-slider .widget-label')]
        .map((label) => label.textContent.trim());
      if (labels.includes('width') && labels.includes('time')) {
        if (!box.hasAttribute('data-ntk-figure')) {
          box.setAttribute('data-ntk-figure', String(count));
          img.setAttribute('data-ntk-image', String(count));
        }
        count += 1;
        break;
      }
      box = box.parentElement;
    }
  }
  return count;
}
"""


def poll_page(page, predicate, timeout: float, what: str, interval_ms: int = 100):
    """Call ``predicate()`` until it returns something true (returned), letting the page run
    between calls; raise AssertionError(``what``) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(interval_ms)
    raise AssertionError(f"{what} (waited {timeout:.0f} s)")


def wait_for_figures(page, timeout: float = 60.0) -> int:
    """Wait until at least one interactive figure is drawn; return how many there are."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = page.evaluate(MARK_FIGURES_JS)
        if count and image_loaded(page, 0):
            return count
        page.wait_for_timeout(500)
    return count


def image_loaded(page, index: int = 0) -> bool:
    return page.evaluate(
        "(i) => { const img = document.querySelector(`img[data-ntk-image='${i}']`);"
        " return !!img && img.complete && img.naturalWidth > 0; }",
        str(index),
    )


def image_src(page, index: int = 0) -> str:
    return page.locator(f"img[data-ntk-image='{index}']").get_attribute("src") or ""


def slider(page, name: str, index: int = 0):
    figure = page.locator(f"[data-ntk-figure='{index}']")
    label = page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))
    return figure.locator(".widget-slider").filter(has=label).first


def readout(page, name: str, index: int = 0) -> str:
    return slider(page, name, index).locator(".widget-readout").inner_text().strip()


def move(page, name: str, index: int = 0, timeout: float = 60.0) -> tuple[str, str]:
    """Focus control ``name``'s handle, press an arrow key, wait for the figure to change.

    Presses ArrowRight (ArrowLeft when the slider is already at its last value). Returns the
    readout before and after. Raises AssertionError when the readout or the image does not
    change within ``timeout`` seconds.
    """
    handle = slider(page, name, index).locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    before_value, before_src = readout(page, name, index), image_src(page, index)
    keys = ("ArrowRight", "ArrowLeft")
    try:  # at the last value already: step back instead
        if float(handle.get_attribute("aria-valuenow")) >= float(handle.get_attribute("aria-valuemax")):
            keys = ("ArrowLeft", "ArrowRight")
    except (TypeError, ValueError):
        pass
    for key in keys:
        handle.focus()
        handle.press(key)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and readout(page, name, index) == before_value:
            page.wait_for_timeout(100)
        if readout(page, name, index) != before_value:
            break
    after_value = readout(page, name, index)
    assert after_value != before_value, f"the {name} slider did not move with the arrow keys (stays {before_value})"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        src = image_src(page, index)
        if src and src != before_src and image_loaded(page, index):
            return before_value, after_value
        page.wait_for_timeout(200)
    raise AssertionError(f"moving {name} from {before_value} to {after_value} did not change the figure in {timeout:.0f} s")


ERRORS_JS = """
() => [...document.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map((e) => e.innerText)
      .filter((t) => /Traceback|^\\s*\\w*(Error|Exception)\\b|There was an error when executing cell/m.test(t))
"""


def error_outputs(page) -> list[str]:
    """Text of every output that shows a Python error (warnings on stderr are fine)."""
    texts = page.evaluate(ERRORS_JS)
    body = page.locator("body").inner_text()
    if "There was an error when executing cell" in body and not texts:
        texts = [line for line in body.splitlines() if "There was an error" in line]
    return texts


# axe-core from npm (`make test` installs it into .axe/ with the Makefile's AXE_JS rule; no CDN).
AXE_JS = ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = {"serious", "critical"}


def axe_violations(page, context: str | dict = "document") -> list[dict]:
    """The WCAG 2.1 A/AA violations axe-core finds on the page (``context``: what to audit)."""
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} is missing: `make test` installs it (npm install --prefix .axe axe-core)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    return page.evaluate(
        "async ([context, tags]) => { const r = await axe.run(context === 'document' ? document : context,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});"
        " return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map((n) => n.target.join(' ') + ' ' + n.html.slice(0, 120))})); }",
        [context, AXE_TAGS],
    )


def serious_violations(page, context: str | dict = "document", upstream: dict | None = None) -> list[str]:
    """``axe_violations`` of serious or critical impact, one readable line each.

    ``upstream``: ``{rule id: [text, ...]}``, nodes of that rule whose selector or HTML holds one
    of the texts are another project's (JupyterLab's, ipywidgets') and are left out, printed.
    """
    lines = []
    for violation in axe_violations(page, context):
        if violation["impact"] not in SERIOUS:
            continue
        known = (upstream or {}).get(violation["id"], [])
        ours = [node for node in violation["nodes"] if not any(text in node for text in known)]
        theirs = len(violation["nodes"]) - len(ours)
        if theirs:
            print(f"axe-core, not the course's: {violation['id']} on {theirs} node(s) ({violation['help']})")
        if ours:
            lines.append(f"{violation['id']} ({violation['impact']}, {len(ours)} nodes): {violation['help']} -- {ours[:5]}")
    return lines
