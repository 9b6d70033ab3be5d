"""Execute one notebook headless in a fresh kernel and measure it (run by run_all.py).

    .venv/bin/python bench/bench_notebook.py notebooks/01_non_convexity.ipynb

The notebook is executed in memory with nbclient (never written back): a new ``python3``
kernel, the notebook's folder as working directory, cells run top to bottom. Reports the
wall time from kernel start to the last cell (what ``jupyter nbconvert --execute`` costs a
reader), the time spent in cells, the time until the first interactive figure shows (from its
cell's start to the arrival of its output, in a kernel that has run only the cells above it; a
staged demo's cell goes on filling in its other widths after that), and the peak
resident memory of the kernel process tree (and, per code cell, ``cell_memory``: index,
seconds, the kernel's peak during that cell and its resident memory after it, in MB):
sampled every 20 ms by a thread (sum over the kernel and its children) and, for the kernel
process itself, its exact peak counter (VmHWM), read after every cell and reset (the largest reading).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


class TreeSampler(threading.Thread):
    """Samples the summed RSS of this process's descendants (the kernel) until stopped."""

    def __init__(self, interval: float = 0.02):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.me = psutil.Process()
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            total = 0
            for child in self.me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                    pass
            self.peak_bytes = max(self.peak_bytes, total)
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()


def kernel_hwm_mb(pid: int, field: str = "VmHWM") -> float:
    """The kernel's peak (VmHWM) or current (VmRSS) resident memory in MB, from /proc."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def reset_peak(pid: int) -> None:
    """Reset the kernel's peak counter (VmHWM) to its current resident memory (Linux 4.0+)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:  # another kernel, or no /proc: the peaks then accumulate, which is still correct
        pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = os.path.abspath(args.notebook)
    nb = nbformat.read(path, as_version=4)
    shown_at = {}  # cell index -> perf_counter when an InteractiveFigure's output first arrived

    class TimedClient(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            data = msg.get("content", {}).get("data", {})
            if str(data.get("text/plain", "")).startswith("InteractiveFigure("):
                shown_at.setdefault(cell_index, time.perf_counter())
            return super().output(outs, msg, display_id, cell_index)

    client = TimedClient(nb, timeout=args.timeout, kernel_name="python3",
                         resources={"metadata": {"path": os.path.dirname(path)}})
    sampler = TreeSampler()
    sampler.start()
    result = {"notebook": os.path.basename(path), "cells": len(nb.cells),
              "code_cells": sum(c.cell_type == "code" for c in nb.cells), "load_before": common.load_average()}
    error = None
    kernel_pid = None
    start = time.perf_counter()
    cell_seconds = 0.0
    peak_so_far = 0.0
    try:
        with client.setup_kernel():
            kernel_pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            if kernel_pid is None:
                process = getattr(getattr(client.km, "provisioner", None), "process", None)
                kernel_pid = getattr(process, "pid", None)
            result["kernel_ready_s"] = time.perf_counter() - start
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                cell_start = time.perf_counter()
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as err:
                    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip()
                    first_line = text.splitlines()[-1] if text else type(err).__name__
                    error = f"cell {index}: {first_line[:200]}"
                    break
                finally:
                    elapsed = time.perf_counter() - cell_start
                    cell_seconds += elapsed
                    if kernel_pid is not None:
                        # Each cell's own peak and what it left resident: where memory goes. The
                        # peak counter is reset after each cell, so the kernel's peak is the
                        # largest of these.
                        cell_peak = kernel_hwm_mb(kernel_pid)
                        peak_so_far = max(peak_so_far, cell_peak)
                        result.setdefault("cell_memory", []).append(
                            [index, round(elapsed, 2), round(cell_peak, 1),
                             round(kernel_hwm_mb(kernel_pid, "VmRSS"), 1)])
                        reset_peak(kernel_pid)
                # The first interactive figure: the first cell with an InteractiveFigure output
                # (its text/plain repr), timed from the cell's start to that output's arrival (a
                # staged demo shows its first width while the cell goes on to fill in the rest).
                if "first_figure_s" not in result and index in shown_at:
                    result["first_figure_s"] = shown_at[index] - cell_start
                    result["first_figure_cell"] = index
                    result["first_figure_cell_s"] = elapsed
            result["wall_s"] = time.perf_counter() - start
            if kernel_pid is not None:
                result["kernel_hwm_mb"] = max(peak_so_far, kernel_hwm_mb(kernel_pid))
    except Exception as err:  # kernel died, timeout, ...
        error = error or f"{type(err).__name__}: {str(err)[:200]}"
        result.setdefault("wall_s", time.perf_counter() - start)
    finally:
        sampler.stop()
    result["cells_s"] = cell_seconds
    result["sampled_peak_mb"] = sampler.peak_bytes / 2**20
    result["peak_mb"] = max(result.get("kernel_hwm_mb", 0.0) or 0.0, result["sampled_peak_mb"])
    result["error"] = error
    result["ok"] = error is None
    result["load_after"] = common.load_average()
    common.emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
