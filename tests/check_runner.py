"""Run one of the course's whole-environment checks (a script that builds a venv and runs notebooks)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(cmd: list, *, label: str, line_prefix: str, timeout: float) -> str:
    """Run ``cmd`` in the repository; print its time and its ``line_prefix`` lines; fail on a non-zero exit.

    Returns the whole log (stdout and stderr).
    """
    start = time.perf_counter()
    proc = subprocess.run([str(part) for part in cmd], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    print(f"\n{label}: {seconds:.0f} s")
    print("\n".join(line for line in log.splitlines() if line.startswith(line_prefix)))
    assert proc.returncode == 0, f"{label} failed (exit {proc.returncode}):\n{log[-8000:]}"
    return log
