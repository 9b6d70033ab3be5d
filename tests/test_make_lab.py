"""The README's first command: `make lab` serves JupyterLab with notebook 00 openable."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_setup_is_up_to_date_so_rerunning_installs_nothing():
    # `make test` has just run the set-up; `make -q` exits 0 only if no recipe would run.
    for target in ("setup", "dev-setup"):
        result = subprocess.run(["make", "-q", target], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"make {target} would reinstall although its requirements are unchanged"


def test_make_lab_serves_notebook_00():
    port, token = free_port(), "course-test-token"
    process = subprocess.Popen(
        ["make", "lab", "NO_BROWSER=1", f"PORT={port}", f"LAB_ARGS=--IdentityProvider.token={token}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api/contents/notebooks/00_start_here.ipynb?content=0&token={token}"
    try:
        deadline, model = time.time() + 90, None
        while time.time() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    model = json.load(response)
                    break
            except OSError:
                time.sleep(0.5)
        assert process.poll() is None, f"make lab exited early:\n{process.stdout.read()}"
        assert model is not None, "JupyterLab did not answer within 90 s"
        assert model["name"] == "00_start_here.ipynb" and model["type"] == "notebook"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/tree/notebooks/00_start_here.ipynb?token={token}", timeout=10) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
        # A newcomer's first minute: JupyterLab does not ask whether to fetch news from the internet.
        settings_url = f"http://127.0.0.1:{port}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}"
        with urllib.request.urlopen(settings_url, timeout=10) as response:
            settings = json.load(response)
        # The server folds overrides.json into the schema's defaults.
        assert settings["schema"]["properties"]["fetchNews"]["default"] == "false"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
