"""Every notebook in a real JupyterLab, driven by Chromium (issue 6, item 4).

One JupyterLab (the project's venv, 127.0.0.1, a token) serves a copy of notebooks/ with the
outputs stripped. For each notebook: create its kernel session through the REST API (so no
"Select Kernel" dialog), open it, Run > Run All Cells from the menu, wait until every cell has
run and the kernel is idle, assert no traceback, then move the width and the time control of
the first interactive figure with the arrow keys and check the figure's image changes.
Screenshots: screenshots/lab_<notebook>.png and lab_<notebook>_figure.png.
"""

from __future__ import annotations

import re
import sys
import time
from urllib.parse import quote

import nbformat
import pytest
from browser_support import ROOT, error_outputs, move, notebook_names, readout, serious_violations, wait_for_figures

sys.path.insert(0, str(ROOT / "tools"))
import nbexec  # noqa: E402

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 300  # seconds for Run All of one notebook (they take < 60 s headless)
# The notebook axe-core audits in JupyterLab (issue 12): the whole notebook panel, executed, its
# figure moved. Front-end code the course does not ship has known faults, left out by rule and
# element and printed: CodeMirror's editors and ipywidgets' slider handles (noUiSlider, which
# ipywidgets gives no name) are unnamed input fields; the toolbar's Voila and debugger buttons
# carry aria-pressed, which their role does not allow; the cells' windowed viewport has the role
# "feed" without "article" children. Any other serious or critical violation fails the test.
AUDITED = "00_start_here.ipynb"
UPSTREAM_FAULTS = {
    "aria-input-field-name": [".cm-content", "noUi-handle"],
    "aria-allowed-attr": [".voilaRender", ".jp-DebuggerBugButton"],
    "aria-required-children": [".jp-WindowedPanel-viewport"],
}


def _code_cells(path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(1 for cell in nb.cells if cell.cell_type == "code" and cell.source.strip())


def _prompts(page) -> list[str]:
    return page.evaluate(
        "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
        ".map((e) => e.textContent.trim())"
    )


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def _save_and_record(page, name: str, root, n_code: int) -> None:
    """Save the notebook (toolbar button) and hand the executed copy to the reproducibility test."""
    button = page.locator(".jp-NotebookPanel-toolbar [data-command='docmanager:save']")
    if button.count():
        button.first.click()
    else:
        page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        try:  # read the file itself; while the server writes it, it may be incomplete
            saved = nbformat.read(root / name, as_version=4)
        except Exception:
            continue
        ran = sum(1 for c in saved.cells if c.cell_type == "code" and c.get("execution_count"))
        if ran >= n_code:
            nbexec.record_run("lab", name, root / name)
            return
    raise AssertionError(f"{name}: saving the executed notebook from JupyterLab did not complete")


def _wait_connected(page, api, kernel_id: str, timeout: float = 90) -> None:
    """Wait until the page is connected to the session's kernel and that kernel is idle."""
    deadline = time.monotonic() + timeout
    model = {}
    while time.monotonic() < deadline:
        model = api.call("GET", f"/api/kernels/{kernel_id}")
        if model.get("connections", 0) >= 1 and model.get("execution_state") == "idle":
            return
        page.wait_for_timeout(300)
    raise AssertionError(f"the page did not connect to kernel {kernel_id} in {timeout:.0f} s: {model}")


def _wait_until_run(page, api, kernel_id: str, n_code: int) -> list[str]:
    """Wait until every code cell shows an execution count (or an error stopped Run All)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    prompts: list[str] = []
    while time.monotonic() < deadline:
        prompts = _prompts(page)
        numbered = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in prompts)
        busy = any("*" in p for p in prompts)
        if not busy and api.kernel_state(kernel_id) == "idle":
            if numbered >= n_code or error_outputs(page):
                return prompts
        page.wait_for_timeout(1000)
    raise AssertionError(f"Run All did not finish in {RUN_TIMEOUT} s; prompts: {prompts}")


@pytest.mark.parametrize("name", notebook_names())
def test_notebook_runs_and_figure_answers_in_lab(lab_server, new_page, screenshots, name):
    api = lab_server["api"]
    n_code = _code_cells(lab_server["root"] / name)
    session = api.create_session(name)
    kernel_id = session["kernel"]["id"]
    page = new_page()
    stem = name.removesuffix(".ipynb")
    try:
        page.goto(f"{lab_server['url']}/lab/tree/{quote(name)}?reset&token={lab_server['token']}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
        _wait_connected(page, api, kernel_id)

        start = time.monotonic()
        _run_all(page)
        _wait_until_run(page, api, kernel_id, n_code)
        run_seconds = time.monotonic() - start

        errors = error_outputs(page)
        page.screenshot(path=str(screenshots / f"lab_{stem}.png"))
        assert not errors, f"{name}: error output after Run All:\n" + "\n---\n".join(e[-2000:] for e in errors)
        numbered = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in _prompts(page))
        assert numbered >= n_code, f"{name}: only {numbered} of {n_code} code cells ran"
        _save_and_record(page, name, lab_server["root"], n_code)

        count = wait_for_figures(page)
        assert count >= 1, f"{name}: no interactive figure (an image with width and time sliders) after Run All"
        moved = {}
        for control in ("width", "time"):
            moved[control] = move(page, control)
        figure = page.locator("[data-ntk-figure='0']")
        figure.scroll_into_view_if_needed()
        figure.screenshot(path=str(screenshots / f"lab_{stem}_figure.png"))
        page.screenshot(path=str(screenshots / f"lab_{stem}.png"))
        if name == AUDITED:  # executed, its figure moved: the audit sees what a student sees
            found = serious_violations(page, {"include": [".jp-NotebookPanel"]}, UPSTREAM_FAULTS)
            assert not found, f"{name} in JupyterLab, axe-core:\n" + "\n".join(found)
        print(
            f"\n{name}: Run All {run_seconds:.1f} s, {count} interactive figure(s); "
            + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in moved.items())
            + f"; now width={readout(page, 'width')} time={readout(page, 'time')}"
            + (f"; blocked {len(page.blocked)} outside request(s): {sorted(set(page.blocked))[:3]}" if page.blocked else "")
        )
    finally:
        api.delete_session(session["id"])
