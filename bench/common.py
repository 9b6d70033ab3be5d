"""Shared helpers for the benchmark scripts (standard library and numpy only).

This module is imported both by the course's own scripts (``.venv``) and by the
neural-tangents script, which runs in the throwaway ``bench/.nt-venv`` with another JAX
and numpy < 2; so it must not import ``course_utils`` or JAX.

Measurement protocol (bench/README.md, "Method"): one configuration per process; a
first call (compilation included) timed on its own; then repeated calls after
``block_until_ready``, of which the median is reported; peak memory as the growth of the
resident set above what the process held once imports and inputs were ready (the kernel's
peak resident set counter is reset at that point through ``/proc/self/clear_refs``).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time

IN_DIM = 16  # input features of every benchmark network
SEED = 0
RESULT_PREFIX = "BENCH_RESULT "


# ---------------------------------------------------------------------- problem data
def make_inputs(n: int, d: int = IN_DIM, seed: int = SEED):
    """Seeded (n, d) float64 inputs, each row scaled to norm sqrt(d) (unit variance per feature)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True) * math.sqrt(d)


def layer_sizes(width: int, depth: int, d: int = IN_DIM):
    return [(d, width)] + [(width, width)] * (depth - 1) + [(width, 1)]


def make_weights(width: int, depth: int, d: int = IN_DIM, seed: int = SEED + 1):
    """Seeded standard-normal weights stored (fan_in, fan_out), i.e. used as ``h @ W``.

    Both the course's MLP and neural-tangents' ``stax.Dense`` in NTK parameterization
    compute ``h_next = sw / sqrt(fan_in) * (h @ W)`` with ``W ~ N(0, 1)``, so the same arrays
    give the same network in both libraries.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in layer_sizes(width, depth, d)]


def num_params(width: int, depth: int, d: int = IN_DIM, biases: bool = False) -> int:
    return sum(fi * fo + (fo if biases else 0) for fi, fo in layer_sizes(width, depth, d))


def jacobian_bytes(n: int, width: int, depth: int, d: int = IN_DIM) -> float:
    """Memory a Jacobian-based NTK needs at least: the (n, P) Jacobian, twice, in float64."""
    return 2.0 * n * num_params(width, depth, d, biases=True) * 8


# ---------------------------------------------------------------------- memory
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024.0


def trim_heap() -> None:
    """Give freed heap memory back to the OS (glibc ``malloc_trim``), so that RSS growth
    measured afterwards is memory actually in use, not pages malloc kept from earlier calls."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak() -> float:
    """Trim the heap, reset the kernel's peak-RSS counter (VmHWM), return the current RSS in MB.

    Falls back to the unreset counter where /proc/self/clear_refs is not writable (then the
    peak can include the import spike, and ``peak_reset`` is reported False).
    """
    global _PEAK_RESET
    trim_heap()
    if _SAMPLER is not None:
        _SAMPLER.reset()
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        _PEAK_RESET = True
    except OSError:
        _PEAK_RESET = False
    return rss_mb()


_PEAK_RESET = False


def peak_mb() -> float:
    """Peak RSS since the last ``reset_peak``: the larger of the kernel's counter (VmHWM)
    and what the sampler thread saw.

    VmHWM alone can miss a peak: the kernel records the high-water mark when memory is
    unmapped, not when an allocator hands pages back with madvise(MADV_DONTNEED), so a
    buffer allocated and released within a call can leave no trace. The sampler reads
    /proc/self/statm every millisecond while a measurement runs (see ``sampling``).
    """
    return max(_status_kb("VmHWM") / 1024.0, _SAMPLER.peak_mb if _SAMPLER is not None else 0.0)


class _Sampler:
    def __init__(self, interval: float):
        import threading

        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20

    def _run(self):
        with open("/proc/self/statm", "rb") as handle:
            while not self._stop.is_set():
                handle.seek(0)
                rss = int(handle.read().split()[1]) * self._page_mb
                if rss > self.peak_mb:
                    self.peak_mb = rss
                self._stop.wait(self.interval)

    def reset(self):
        self.peak_mb = 0.0


_SAMPLER = None


def start_sampling(interval: float = 0.001) -> None:
    """Start the RSS sampler thread (once per process)."""
    global _SAMPLER
    if _SAMPLER is None:
        _SAMPLER = _Sampler(interval)
        _SAMPLER._thread.start()


# ---------------------------------------------------------------------- timing
def time_calls(fn, *, compile_fn=None, repeats: int = 7, budget_s: float = 20.0, min_repeats: int = 2,
               window_s: float = 2.0, max_repeats: int = 200, gap_s: float = 0.02):
    """Time ``fn()`` (which must block until its result is ready): compile, first call, repeats.

    ``compile_fn`` (optional) compiles ahead of time what ``fn`` will run (``jax.jit(f).lower(
    ...).compile()``; a later call of the jitted function reuses that executable), so its
    time and memory are measured apart from the computation's. The number of repeats adapts
    to ``budget_s`` from the first steady call (slow configurations get ``min_repeats``). Fast
    calls are repeated, ``gap_s`` apart, until they span ``window_s`` seconds (at most
    ``max_repeats``): on a shared 2-core machine a burst of load from another process can
    last longer than seven back-to-back millisecond calls, and the median of repeats spread
    over a couple of seconds is far steadier.

    Returns seconds, and memory in MB:
    ``compile_peak_extra_mb``: peak RSS while compiling above the RSS before it;
    ``peak_extra_mb``: peak RSS over all calls above the RSS before the first call (after
    compiling when ``compile_fn`` is given; else compilation is included);
    ``first_call_peak_extra_mb``: the same over the first call alone;
    ``steady_peak_extra_mb``: the peak over the repeated calls above the RSS just before them.
    """
    start_sampling()
    result = {}
    if compile_fn is not None:
        before = reset_peak()
        start = time.perf_counter()
        compile_fn()
        result["compile_s"] = time.perf_counter() - start
        result["compile_peak_extra_mb"] = peak_mb() - before
    baseline = reset_peak()
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    first_peak = peak_mb() - baseline
    before_repeats = reset_peak()
    times = []
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
    total = max(repeats, min_repeats)
    if times[0] > 0:
        total = int(max(min_repeats, min(total, budget_s // times[0])))
    window_start = time.perf_counter()
    while len(times) < total or (time.perf_counter() - window_start < window_s and len(times) < max_repeats):
        if len(times) >= total:
            time.sleep(gap_s)
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    steady_peak = peak_mb()
    result.update({
        "baseline_rss_mb": baseline,
        "first_call_peak_extra_mb": first_peak,
        "steady_peak_extra_mb": steady_peak - before_repeats,
        "peak_extra_mb": max(first_peak, steady_peak - baseline),
        "first_s": first,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "repeats": len(times),
        "times_s": times,
    })
    return result


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def emit(result: dict) -> None:
    """Print the result as one JSON line that the driver picks out of the output."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def parse_result(stdout: str):
    """The last result line a script printed, as a dict (None when there is none)."""
    found = None
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            found = json.loads(line[len(RESULT_PREFIX):])
    return found
