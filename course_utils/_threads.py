"""Run as many threads as the container may use, not as many as its host has.

A Binder or JupyterHub pod is usually limited by a CPU quota (say 1-2 CPUs) on a node with
16-64 cores, and the quota is invisible to the thread pools: OpenBLAS (numpy's ``eigh``, the
flows' solves) and XLA (JAX's CPU client) each start one thread per core the process may be
scheduled on. With 32 busy threads and a 2-CPU quota, the pod spends its quota in a few
milliseconds of every 100 ms period and is then stopped for the rest (CFS throttling): a slider
move that needs 50 ms of work can take 100 ms or more.

``limit_threads()`` runs when the course is imported (``import course_utils``), in every
setting: JupyterLab, Binder, a JupyterHub, Colab. It reads the budget (``cpu_budget``): the
number of CPUs in the process's affinity mask, lowered to the cgroup's quota rounded up
(cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us / cpu.cfs_period_us``), or ``COURSE_THREADS``
when set (a positive integer; ``0`` leaves everything as it is). If the budget is below the
affinity count it

- limits the BLAS and OpenMP pools already loaded (``threadpoolctl``; numpy is usually imported
  before the course) and sets ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and
  ``MKL_NUM_THREADS`` for libraries loaded later and for child processes;
- restricts the process's affinity to that many CPUs, chosen at random among the allowed ones,
  if JAX has not started its CPU client yet. Affinity is the only limit XLA's CPU client honours
  (it sizes its pool from the mask; the ``XLA_FLAGS`` thread options change nothing in jaxlib
  0.10, measured). Random CPUs keep the kernels of a class spread over a node's cores; the cost
  is that the scheduler can no longer move a pinned kernel to an idle core. ``COURSE_THREADS=0``
  turns the whole thing off.

On a laptop or on this course's CI machine there is no quota, the budget equals the affinity
count, and nothing changes.
"""

from __future__ import annotations

import math
import os
import random
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def _own_cgroup_dirs(root: str, proc_cgroup: str) -> list[str]:
    """The directories that may hold this process's CPU limit: its own cgroup, then the root."""
    dirs = []
    for line in (_read(proc_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[2].startswith("/") and parts[2] != "/":
            controllers = parts[1].split(",")
            if parts[0] == "0" and parts[1] == "":  # cgroup v2
                dirs.append(os.path.join(root, parts[2].lstrip("/")))
            elif "cpu" in controllers:  # cgroup v1
                for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
                    dirs.append(os.path.join(root, name, parts[2].lstrip("/")))
    dirs += [root, os.path.join(root, "cpu"), os.path.join(root, "cpu,cpuacct")]
    return dirs


def cgroup_cpu_limit(root: str = "/sys/fs/cgroup", proc_cgroup: str = "/proc/self/cgroup") -> float | None:
    """The CPU quota of this process's cgroup in CPUs (``1.5`` for 150 ms per 100 ms), or None.

    cgroup v2 ``cpu.max`` ("max 100000" means no quota) or v1 ``cpu.cfs_quota_us`` (``-1``: none)
    over ``cpu.cfs_period_us``. Inside a container the root is usually the container's own cgroup.
    """
    for directory in _own_cgroup_dirs(root, proc_cgroup):
        text = _read(os.path.join(directory, "cpu.max"))
        if text is not None:
            fields = text.split()
            if len(fields) == 2 and fields[0] != "max":
                try:
                    quota, period = float(fields[0]), float(fields[1])
                except ValueError:
                    continue
                if quota > 0 and period > 0:
                    return quota / period
            continue
        quota, period = _read(os.path.join(directory, "cpu.cfs_quota_us")), _read(os.path.join(directory, "cpu.cfs_period_us"))
        if quota is not None and period is not None:
            try:
                quota_us, period_us = float(quota), float(period)
            except ValueError:
                continue
            if quota_us > 0 and period_us > 0:
                return quota_us / period_us
    return None


def allowed_cpus() -> set[int]:
    """The CPUs this process may run on (its affinity mask; every CPU where the mask is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def cpu_budget(limit: float | None = None, cpus: int | None = None, setting: str | None = None) -> int | None:
    """How many threads the course should run: ``COURSE_THREADS`` if set, else the affinity count
    lowered to the cgroup quota rounded up (at least 1). None means "leave the pools alone"
    (``COURSE_THREADS=0``). Arguments override what is read from the system (for tests)."""
    setting = os.environ.get("COURSE_THREADS", "") if setting is None else setting
    cpus = len(allowed_cpus()) if cpus is None else int(cpus)
    if setting.strip():
        try:
            value = int(setting)
        except ValueError as err:
            raise ValueError(f"COURSE_THREADS must be a whole number of threads (0: leave them alone); got {setting!r}") from err
        if value < 0:
            raise ValueError(f"COURSE_THREADS must be >= 0; got {value}")
        return None if value == 0 else min(value, cpus)
    limit = cgroup_cpu_limit() if limit is None else limit
    if limit is None:
        return cpus
    return max(1, min(cpus, math.ceil(limit - 1e-9)))


def _jax_backend_started() -> bool:
    xla_bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(xla_bridge, "_backends", None))


def limit_threads(budget: int | None = None, rng: random.Random | None = None) -> dict:
    """Fit the BLAS, OpenMP and XLA thread pools to ``budget`` (default ``cpu_budget()``).

    Returns what it did: ``budget``, ``cpus`` (the affinity count before), ``pinned`` (the CPUs
    now allowed, or None when the affinity was left alone) and ``blas`` (the thread-pool APIs
    limited by threadpoolctl).
    """
    cpus = allowed_cpus()
    budget = cpu_budget(cpus=len(cpus)) if budget is None else budget
    done = {"budget": budget, "cpus": len(cpus), "pinned": None, "blas": []}
    if budget is None or budget >= len(cpus):
        return done
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(budget))
    try:
        import threadpoolctl

        threadpoolctl.threadpool_limits(limits=budget)
        done["blas"] = sorted({pool["internal_api"] for pool in threadpoolctl.threadpool_info()})
    except ImportError:  # no threadpoolctl: only libraries loaded from now on see the variables
        pass
    if hasattr(os, "sched_setaffinity") and not _jax_backend_started():
        chosen = set((rng or random.SystemRandom()).sample(sorted(cpus), budget))
        try:
            os.sched_setaffinity(0, chosen)
            done["pinned"] = sorted(chosen)
        except OSError:
            pass
    return done
