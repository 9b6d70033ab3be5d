"""Execute the course notebooks in fresh kernels, optionally with the network switched off.

Used by tests/test_offline.py and tests/test_reproducible.py (they share one offline run of
every notebook per pytest session through ``run_all``), and usable by hand:

    .venv/bin/python tools/nbexec.py --out /tmp/run notebooks/*.ipynb
    .venv/bin/python tools/nbexec.py --offline --out /tmp/run notebooks/00_start_here.ipynb

``--offline`` re-runs this script inside ``unshare -n`` (a new, empty network namespace: only
a loopback interface, which is brought up so the kernel's ZeroMQ sockets on 127.0.0.1 work;
where ``ip`` is missing the kernel talks over IPC sockets instead). Inside, the script checks
that no interface but ``lo`` exists before it executes anything, so an "offline" pass can not
silently run online. Each executed notebook is written to ``--out`` with a ``summary.json``
(wall time and error, if any, per notebook).
"""

from __future__ import annotations

import argparse
import atexit
import configparser
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# NTK_NOTEBOOK_DIR points the tests at another folder of notebooks (for developing the tests).
NOTEBOOK_DIR = Path(os.environ.get("NTK_NOTEBOOK_DIR", ROOT / "notebooks"))
SANITIZE_CFG = ROOT / "tests" / "nbval_sanitize.cfg"
TIMEOUT = 600


def notebooks() -> list[Path]:
    """Every course notebook, sorted by name."""
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


# ----------------------------------------------------------------------------- offline support
def offline_support() -> tuple[bool, str]:
    """Whether ``unshare -n`` works here (root or user namespaces), and why not if it does not."""
    if shutil.which("unshare") is None:
        return False, "the unshare command is not installed (util-linux)"
    try:
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"unshare -n could not run: {err}"
    if probe.returncode != 0:
        return False, f"unshare -n is not permitted here: {probe.stderr.strip() or probe.returncode}"
    return True, ""


def _offline_command(args: list[str]) -> list[str]:
    """The command that runs ``python nbexec.py ARGS`` in a fresh network namespace."""
    python = [sys.executable, str(Path(__file__).resolve()), *args]
    if shutil.which("ip"):
        inner = "ip link set lo up && exec " + " ".join(_quote(a) for a in python)
        return ["unshare", "-n", "sh", "-c", inner]
    return ["unshare", "-n", *python, "--ipc"]


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


# ----------------------------------------------------------------------------- executing
def _interfaces() -> list[str]:
    return sorted(name for _, name in socket.if_nameindex())


def _execute_one(path: Path, out_dir: Path, ipc: bool) -> dict:
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name="python3")
    if ipc:
        # ZeroMQ over Unix sockets: needs no network interface at all. The socket path must be
        # absolute, since the kernel runs in the notebook's folder.
        km.transport = "ipc"
        ipc_dir = tempfile.mkdtemp(prefix="ntk-ipc-")
        atexit.register(shutil.rmtree, ipc_dir, ignore_errors=True)
        km.ip = str(Path(ipc_dir) / "kernel")
    client = NotebookClient(
        nb,
        km=km,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as err:  # CellExecutionError and friends: keep the partial notebook
        error = f"{type(err).__name__}: {err}"[:4000]
    seconds = time.perf_counter() - start
    nbformat.write(nb, out_dir / path.name)
    return {"notebook": path.name, "seconds": round(seconds, 2), "error": error}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for the executed notebooks + summary.json")
    parser.add_argument("--offline", action="store_true", help="run inside unshare -n (no network)")
    parser.add_argument("--ipc", action="store_true", help="kernel over IPC sockets instead of TCP on 127.0.0.1")
    parser.add_argument("--expect-offline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    if args.offline:
        ok, why = offline_support()
        if not ok:
            print(f"cannot run offline: {why}", file=sys.stderr)
            return 2
        inner = [str(p.resolve()) for p in args.notebooks] + ["--out", str(args.out.resolve()), "--expect-offline"]
        if args.ipc:
            inner.append("--ipc")
        return subprocess.run(_offline_command(inner)).returncode

    summary = {"interfaces": _interfaces(), "offline": bool(args.expect_offline), "notebooks": []}
    if args.expect_offline and summary["interfaces"] != ["lo"]:
        print(f"expected only the loopback interface, found {summary['interfaces']}", file=sys.stderr)
        return 3
    for path in args.notebooks:
        result = _execute_one(path, args.out, args.ipc)
        status = "ok" if result["error"] is None else "ERROR"
        print(f"{path.name}: {status} in {result['seconds']:.1f} s", flush=True)
        summary["notebooks"].append(result)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0 if all(r["error"] is None for r in summary["notebooks"]) else 1


# ----------------------------------------------------------------------------- for the tests
# Executions made elsewhere in the same pytest process, e.g. the notebooks the JupyterLab
# browser test ran with Run All and saved: {"lab": {"00_start_here.ipynb": Path, ...}}.
# tests/test_reproducible.py uses them as its second run when every notebook is there.
RECORDED_RUNS: dict[str, dict[str, Path]] = {}


def record_run(kind: str, name: str, path: Path) -> None:
    """Remember that notebook ``name`` was executed (by ``kind``) and saved at ``path``."""
    RECORDED_RUNS.setdefault(kind, {})[name] = Path(path)


@functools.lru_cache(maxsize=None)
def run_all(offline: bool, tag: str = "") -> dict:
    """Execute every notebook once (per pytest process and ``tag``), offline or not; cached.

    Returns ``{"dir": Path, "summary": dict, "returncode": int, "log": str}``. Both
    tests/test_offline.py and tests/test_reproducible.py call this, so the offline run is
    shared between them.
    """
    out = Path(tempfile.mkdtemp(prefix="ntk-offline-" if offline else "ntk-run-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    paths = [str(p) for p in notebooks()]
    cmd = [sys.executable, str(Path(__file__).resolve()), *paths, "--out", str(out)]
    if offline:
        cmd.append("--offline")
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # set to Agg for pytest by tests/conftest.py; kernels get the usual inline backend
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=TIMEOUT * max(1, len(paths)))
    seconds = time.perf_counter() - start
    summary_file = out / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {"notebooks": []}
    return {
        "dir": out,
        "summary": summary,
        "returncode": proc.returncode,
        "log": proc.stdout + proc.stderr,
        "seconds": seconds,
    }


def _sanitizers() -> list[tuple[re.Pattern, str]]:
    parser = configparser.ConfigParser()
    parser.read(SANITIZE_CFG)
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


SKIPPED_MIMETYPES = ("image/png", "image/jpeg", "image/svg+xml", "application/vnd.jupyter.widget-view+json")


def text_outputs(nb) -> list[tuple[int, str, str]]:
    """What nbval compares, per code cell: stream text, every non-image output mimetype, errors.

    Streams are merged per cell and name (nbval's ``coalesce_streams``) and every text is
    sanitized with tests/nbval_sanitize.cfg (timings, addresses), as nbval does before it
    compares; images and widget views are left out, as nbval leaves them out.
    """
    import copy

    from nbval.plugin import coalesce_streams

    subs = _sanitizers()

    def clean(text) -> str:
        text = text if isinstance(text, str) else "".join(text)
        for pattern, replacement in subs:
            text = pattern.sub(replacement, text)
        return text

    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in coalesce_streams(copy.deepcopy(cell.get("outputs", []))):
            kind = output.get("output_type")
            if kind == "stream":
                found.append((index, output.get("name", "stream"), clean(output.get("text", ""))))
            elif kind in ("execute_result", "display_data"):
                for mime, value in sorted(output.get("data", {}).items()):
                    if mime not in SKIPPED_MIMETYPES:
                        found.append((index, mime, clean(value if isinstance(value, str) else json.dumps(value))))
            elif kind == "error":
                found.append((index, "error", f"{output.get('ename')}: {clean(output.get('evalue', ''))}"))
    return found


if __name__ == "__main__":
    sys.exit(main())
