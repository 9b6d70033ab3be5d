"""Every notebook executes with the network switched off (issue 7, item 3).

The notebooks run in fresh kernels inside ``unshare -n``: a new network namespace whose only
interface is the loopback (brought up for the kernel's sockets on 127.0.0.1; where ``ip`` is
missing the kernel uses IPC sockets). Nothing in the course may download anything at run
time, so every notebook must pass there. The run is shared with tests/test_reproducible.py
(one offline execution of every notebook per pytest session). Skipped, with the reason,
where network namespaces are not available (no ``unshare`` or not permitted).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import nbexec  # noqa: E402

NOTEBOOKS = [path.name for path in nbexec.notebooks()]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def offline_run():
    ok, why = nbexec.offline_support()
    if not ok:
        pytest.skip(f"cannot switch the network off here: {why}")
    run = nbexec.run_all(offline=True)
    print(f"\noffline run of {len(NOTEBOOKS)} notebooks: {run['seconds']:.0f} s")
    for result in run["summary"].get("notebooks", []):
        print(f"  {result['notebook']}: {result['seconds']:.1f} s")
    return run


def test_network_is_really_off(offline_run):
    summary = offline_run["summary"]
    assert summary.get("offline") is True, offline_run["log"][-4000:]
    assert summary.get("interfaces") == ["lo"], f"interfaces seen inside the namespace: {summary.get('interfaces')}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_offline(offline_run, name):
    results = {r["notebook"]: r for r in offline_run["summary"].get("notebooks", [])}
    assert name in results, f"{name} was not executed:\n{offline_run['log'][-4000:]}"
    assert results[name]["error"] is None, f"{name} failed offline:\n{results[name]['error']}"
    nb = nbformat.read(offline_run["dir"] / name, as_version=4)
    errors = [
        (index, output.get("ename"), output.get("evalue"))
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, f"{name} has error outputs offline: {errors}"
    unexecuted = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip() and c.execution_count is None]
    assert not unexecuted, f"{name}: cells {unexecuted} did not run"
