"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and the servers.

- ``browser``: one headless Chromium for the whole session, launched from /usr/bin/chromium
  (never a downloaded browser). Missing Chromium skips the tests with the reason, except
  under CI=true where it is an error.
- ``new_page``: a fresh browser context + page in which every request that is not for
  127.0.0.1 is blocked (and recorded in ``page.blocked``).
- ``lab_server``: one JupyterLab from the project's venv on 127.0.0.1, a random free port and
  a token, serving a temporary copy of notebooks/ with every output stripped, with its own
  settings (no news/update checks) and workspace folders.
- ``voila_server``: the whole-notebook Voila mode (tools/demo.sh, `make demo-notebooks`) on a free port.
- ``site``: the explorable static site (`make site`'s tools/build_site.py, frames and all) built once
  into a temporary folder and served by http.server on 127.0.0.1.
- ``deck_server``: `make demo`'s own command (tools/deck.py serve) on a free port, once it is READY.
Screenshots go to ./screenshots/ (ignored by git) for a human to look at.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser_support import NOTEBOOK_DIR, ROOT, Server, free_port, notebook_names, wait_for_http

VENV_BIN = Path(sys.executable).parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # defence in depth: no host name resolves, so nothing but 127.0.0.1 is reachable
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
SCREENSHOTS = ROOT / "screenshots"
# Every URL that is not for 127.0.0.1 (nor data:/blob:). Only these are intercepted: routing
# every request through Python would stall the page whenever the test is not inside a
# Playwright call (the sync API dispatches route handlers only then).
NOT_LOCAL = re.compile(r"^(?!(https?|wss?)://127\.0\.0\.1[:/])(?!data:|blob:|about:)")


def isolated_jupyter_env(base: Path) -> dict:
    """Environment for a Jupyter server that ignores the user's ~/.jupyter and keeps no state."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # tests/conftest.py sets Agg for pytest; kernels get the usual inline backend
    for name in ("config", "data-runtime", "lab-settings", "lab-workspaces"):
        (base / name).mkdir(parents=True, exist_ok=True)
    env.update(
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "data-runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(base / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "lab-workspaces"),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def write_lab_settings(settings_dir: Path) -> None:
    """No news, no update checks (both would try the internet), every cell kept in the DOM."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, content in files.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


def strip_outputs(src: Path, dst: Path) -> None:
    """Copy a notebook without outputs, execution counts or saved widget state."""
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, dst)


# ----------------------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: install Debian's Chromium (`apt-get install chromium`, or "
            "`make chromium` under CI=true); the browser tests never download a browser"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """``new_page(**context_options) -> page`` with every non-127.0.0.1 request blocked."""
    contexts = []

    def make(**options):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.blocked = []  # URLs the page tried to load from outside 127.0.0.1
        page.console_errors = []

        def block(route):
            page.blocked.append(route.request.url)
            route.abort("blockedbyclient")

        context.route(NOT_LOCAL, block)
        page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


# ----------------------------------------------------------------------------- servers
@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, chromium_path):
    """One JupyterLab for every notebook: ``{"url", "token", "root", "api"}``."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    for name in notebook_names():
        strip_outputs(NOTEBOOK_DIR / name, root / name)
    env = isolated_jupyter_env(base)
    write_lab_settings(base / "lab-settings")
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        str(VENV_BIN / "jupyter"),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=None",
        "--LabApp.extension_manager=readonly",  # the pypi manager would query PyPI
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI and this machine run as root
    server = Server(cmd, base / "jupyterlab.log", env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/status?token={token}", 90, server.process, server.log)
        yield {"url": url, "token": token, "root": root, "log": server.log, "api": LabApi(url, token)}
    finally:
        server.stop()


class LabApi:
    """The few Jupyter Server REST calls the tests need (token in the header)."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def create_session(self, path: str) -> dict:
        body = {"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}}
        return self.call("POST", "/api/sessions", body)

    def kernel_state(self, kernel_id: str) -> str:
        return self.call("GET", f"/api/kernels/{kernel_id}")["execution_state"]

    def delete_session(self, session_id: str) -> None:
        try:
            self.call("DELETE", f"/api/sessions/{session_id}")
        except urllib.error.URLError:
            pass


@pytest.fixture(scope="session")
def voila_server(tmp_path_factory, chromium_path):
    """`make demo`'s command (bash tools/demo.sh PORT) on a free port: ``{"url", "log"}``."""
    base = tmp_path_factory.mktemp("voila")
    env = isolated_jupyter_env(base)
    env["DEMO_NOTEBOOK_DIR"] = str(NOTEBOOK_DIR)
    port = free_port()
    server = Server(["bash", str(ROOT / "tools" / "demo.sh"), str(port)], base / "voila.log", env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/", 90, server.process, server.log)
        yield {"url": url, "log": server.log}
    finally:
        server.stop()


DECK_READY_TIMEOUT = 900  # seconds for every deck to pre-run (2 cores, all decks at once)


@pytest.fixture(scope="session")
def deck_server(tmp_path_factory, chromium_path):
    """`make demo` (tools/deck.py serve) on a free port, decks in a temporary folder, once READY."""
    base = tmp_path_factory.mktemp("deck")
    env = isolated_jupyter_env(base)
    port = free_port()
    cmd = [sys.executable, str(ROOT / "tools" / "deck.py"), "serve", "--port", str(port),
           "--deck-dir", str(base / "decks"), "--ready-timeout", str(DECK_READY_TIMEOUT)]
    server = Server(cmd, base / "serve.log", env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        wait_for_http(f"{url}/", 90, server.process, server.log)
        deadline = time.monotonic() + DECK_READY_TIMEOUT + 30
        while "deck: READY" not in server.log.read_text():
            assert server.process.poll() is None, "deck server stopped:\n" + server.log.read_text()[-4000:]
            assert "not ready after" not in server.log.read_text(), server.log.read_text()[-4000:]
            assert time.monotonic() < deadline, "no READY line:\n" + server.log.read_text()[-4000:]
            time.sleep(1)
        lines = server.log.read_text()
        print(f"\ndeck server ready in {time.monotonic() - started:.0f} s:\n" +
              "\n".join(line for line in lines.splitlines() if line.startswith("deck:")))
        yield {"url": url, "log": server.log, "decks": base / "decks", "serve_log": lines}
    finally:
        server.stop()
        voila_log = base / "decks" / ".voila.log"
        if voila_log.exists():
            print("Voila's log (tail):\n" + voila_log.read_text()[-2000:])


@pytest.fixture(scope="session")
def site(tmp_path_factory, chromium_path):
    """``{"url", "dir", "manifest", "log"}`` of the site, built as `make site` builds it."""
    import subprocess

    prebuilt = os.environ.get("NTK_SITE_DIR")  # a site built already (developing the tests)
    out = Path(prebuilt) if prebuilt else tmp_path_factory.mktemp("site") / "_site"
    build = subprocess.CompletedProcess([], 0, (out / "build.log").read_text() if prebuilt else "", "") if prebuilt else subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out), "--notebooks", str(NOTEBOOK_DIR)],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert build.returncode == 0, f"tools/build_site.py failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    print("\n" + build.stdout)
    port = free_port()
    server = Server(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(out)],
        tmp_path_factory.mktemp("site-server") / "http.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/index.html", 30, server.process, server.log)
        yield {"url": url, "dir": out, "manifest": json.loads((out / "site.json").read_text()), "log": build.stdout}
    finally:
        server.stop()
