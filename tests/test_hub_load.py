"""A short class on a real JupyterHub: 2 simulated students, each runs notebook 00 and 06 (issue 13).

tools/hub_load.py starts the hub on 127.0.0.1 (local-process spawner, test authenticator,
configurable-http-proxy from npm in .hub/), creates the students through the REST API, starts
their servers and runs every code cell of both notebooks through each kernel's websocket. The
full run (8 students) is `make hub-load`, recorded by `make bench`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROXY = ROOT / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy"

pytestmark = pytest.mark.slow


def test_two_students_run_two_notebooks_on_a_real_hub(tmp_path):
    if not PROXY.exists():
        pytest.fail("configurable-http-proxy is missing: `make test` installs it (make hub-proxy)")
    out = tmp_path / "hub.json"
    notebooks = ["00_start_here.ipynb", "06_limitations.ipynb"]
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "hub_load.py"), "--students", "2", "--notebooks", *notebooks,
         "--timeout", "900", "--out", str(out)],
        capture_output=True, text=True, timeout=1000,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["ok"] and len(report["students"]) == 2
    for student in report["students"]:
        assert [run["notebook"] for run in student["runs"]] == notebooks
        for run in student["runs"]:
            assert run["errors"] == [] and run["cells"] > 3, run
        # the server and its kernels were seen: a kernel with JAX holds well over 200 MB
        assert 200 < student["peak_mb"] < report["hub_peak_mb"]
    print(result.stdout)
