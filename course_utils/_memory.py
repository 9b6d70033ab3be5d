"""Keep a kernel's memory within a student's share of a 1-2 GB Binder or JupyterHub pod.

Measured here (bench/README.md): importing JAX and the course costs about 230 MB; after that,
what grows is not the data but the compiled programs. Every jit-compiled function keeps its
executable (the training loop of one width, the kernel of one input shape) for as long as the
process lives, 15-40 MB each, and the compilers' freed scratch memory stays in glibc's heap.
A notebook compiles dozens of shapes while its sweeps run, and most are never used again: the
experiments cache their results as numpy arrays.

``release_compiled_programs()`` is called by the core after each training run and kernel, and
under IPython after every cell (``end_of_cell``, which first trims the heap whenever the process is
over budget). When the process holds more than the budget
(``COURSE_MEMORY_BUDGET_MB``, default 400) it frees memory in three steps, each only if the
one before was not enough: the free heap goes back to the system (``malloc_trim``; the
compilers' scratch memory), then the programs of the core's large functions (training runs,
kernels, parameter draws, registered with ``large_programs``), then every compiled program and
trace (``jax.clear_caches()``). A program needed again is recompiled, or read back from the
persistent compilation cache in a few milliseconds (its tracing is paid again).
``COURSE_MEMORY_BUDGET_MB=0`` turns it off. Two guards keep a loop from recompiling on every
pass: after a release the next one waits until the process has grown ``HEADROOM_MB`` above
what it held just after it, and for at least ``MIN_INTERVAL_S`` seconds
(``COURSE_MEMORY_INTERVAL_S``, default 3). Measured on notebook 05: releasing after every call
that found the process over budget, 18 releases and 63 s; with these guards, 7 and 50 s, for a
peak of 571 MB instead of 531 MB. Experiments whose programs are never reused (one width of a
sweep) release them with ``force=True`` as soon as they are done.
"""

from __future__ import annotations

import ctypes
import os
import time

import jax

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
try:
    _LIBC = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc (macOS, musl): nothing to trim
    _LIBC = None


HEADROOM_MB = 100.0
MIN_INTERVAL_S = float(os.environ.get("COURSE_MEMORY_INTERVAL_S", "3"))  # at most one release per interval
_floor_mb = 0.0  # resident memory just after the last release
_last_release = -float("inf")  # time.monotonic() of the last release
releases = 0  # how many times this process has released its compiled programs (bench reads it)


def budget_mb() -> float:
    """The resident-memory budget in MB above which compiled programs are released (0: never)."""
    try:
        return float(os.environ.get("COURSE_MEMORY_BUDGET_MB", "400"))
    except ValueError:
        return 400.0


def resident_mb() -> float:
    """This process's resident memory in MB (from /proc; nan where /proc is missing)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE_BYTES / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def trim_heap() -> None:
    """Return glibc's free heap pages to the system (no-op elsewhere)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


_large_programs: list = []  # the core's jitted functions whose programs are big and shape-specific


def large_programs(fn):
    """Register a jitted function of the core (a decorator): its compiled programs go first when over budget."""
    _large_programs.append(fn)
    return fn


def release_compiled_programs(force: bool = False) -> bool:
    """Drop compiled programs and trim the heap when over budget (or when ``force``).

    First the free heap (``malloc_trim``), which is often enough; then the programs of the core's
    large functions (training runs, kernels, parameter draws); only if the process is still
    over budget after that, every compiled program and
    trace (``jax.clear_caches()``), which costs more re-tracing later. ``force`` drops everything.
    Returns whether it released anything. Never call it while tracing a jitted function.
    """
    global _floor_mb, releases, _last_release
    if not force:
        if not over_budget() or time.monotonic() - _last_release < MIN_INTERVAL_S:
            return False
        # Most of a kernel's growth is often the compilers' freed scratch memory, still held by
        # glibc: hand that back first, and keep the compiled programs if that was enough.
        trim_heap()
        if not over_budget():
            return False
    releases += 1
    for fn in _large_programs:
        fn.clear_cache()
    trim_heap()
    if force or resident_mb() > budget_mb():
        jax.clear_caches()
        trim_heap()
    _floor_mb = resident_mb()
    _last_release = time.monotonic()
    return True


def release_large_programs() -> None:
    """Drop the core's large compiled programs and trim the heap, whatever the process holds.

    For a computation whose programs will not run again: a stage of a staged figure trains one
    width (or depth), caches its numbers and never trains that shape again, and its training
    runs' programs (15-40 MB each) would otherwise pile up under the next stage's compilation
    (notebook 02's side-by-side figure: ten of them, up to 609 MB). The small programs stay.
    Nothing happens when the budget is off (``COURSE_MEMORY_BUDGET_MB=0``).
    """
    if budget_mb() <= 0:
        return
    for fn in _large_programs:
        fn.clear_cache()
    trim_heap()


def over_budget() -> bool:
    """Whether the process holds more than the budget and has grown since the last release."""
    budget = budget_mb()
    return budget > 0 and resident_mb() > max(budget, _floor_mb + HEADROOM_MB)


def released_after(result):
    """Return ``result`` (arrays or a pytree of them), first releasing compiled programs if over budget.

    The core's public functions end with this. It waits for ``result`` to be computed before it
    releases anything, and does nothing while a function is being traced.
    """
    leaves = jax.tree_util.tree_leaves(result)
    if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
        return result
    if over_budget() and time.monotonic() - _last_release >= MIN_INTERVAL_S:
        jax.block_until_ready(leaves)
        release_compiled_programs()
    return result


_END_OF_CELL = []  # what else lets go at the end of a cell (the figures' pixel buffers)


def at_end_of_cell(release) -> None:
    """Call ``release()`` at every ``end_of_cell`` (a layer above the core registers its own buffers)."""
    if release not in _END_OF_CELL:
        _END_OF_CELL.append(release)


def end_of_cell() -> bool:
    """The check that ends a cell (and each stage of a staged figure); returns whether programs went.

    Whenever the process is over budget the free heap goes back to the system first, even within
    ``MIN_INTERVAL_S`` of the last release or less than ``HEADROOM_MB`` above it: a trim takes a
    few milliseconds and keeps every compiled program, and without it a cell that follows a
    compilation starts with that compilation's scratch memory still held (notebook 03: cells
    peaking 50-150 MB higher from one run to the next). Then the programs are released under the
    usual guards (``release_compiled_programs``). Before all that, what a layer above registered
    with ``at_end_of_cell`` is released (the figures' render buffers, ``figures.interactive``).
    """
    for release in _END_OF_CELL:
        release()
    budget = budget_mb()
    if budget > 0 and resident_mb() > budget:
        trim_heap()
    return release_compiled_programs()


def _after_cell(*_args) -> None:
    end_of_cell()


def register_ipython_hook() -> None:
    """Check the budget after every cell when running under IPython (once per kernel)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    callbacks = shell.events.callbacks.get("post_run_cell", [])
    if _after_cell not in callbacks:
        shell.events.register("post_run_cell", _after_cell)
