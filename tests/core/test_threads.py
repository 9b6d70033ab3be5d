"""The thread pools follow the container's CPU quota (course_utils/_threads.py)."""

import json
import os
import subprocess
import sys

import pytest

from course_utils import _threads


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_of_the_own_cgroup(tmp_path):
    proc = tmp_path / "proc_cgroup"
    write(proc, "0::/kubepods/pod-1/container\n")
    write(tmp_path / "cg" / "cpu.max", "max 100000\n")  # the root: no quota
    write(tmp_path / "cg" / "kubepods" / "pod-1" / "container" / "cpu.max", "150000 100000\n")
    assert _threads.cgroup_cpu_limit(str(tmp_path / "cg"), str(proc)) == pytest.approx(1.5)


def test_cgroup_v2_without_quota_and_v1_quota(tmp_path):
    proc = tmp_path / "proc_cgroup"
    write(proc, "0::/\n")
    write(tmp_path / "v2" / "cpu.max", "max 100000\n")
    assert _threads.cgroup_cpu_limit(str(tmp_path / "v2"), str(proc)) is None
    write(proc, "4:cpu,cpuacct:/docker/abc\n")
    write(tmp_path / "v1" / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_quota_us", "50000\n")
    write(tmp_path / "v1" / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_period_us", "100000\n")
    assert _threads.cgroup_cpu_limit(str(tmp_path / "v1"), str(proc)) == pytest.approx(0.5)
    write(tmp_path / "v1" / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_quota_us", "-1\n")
    assert _threads.cgroup_cpu_limit(str(tmp_path / "v1"), str(proc)) is None
    assert _threads.cgroup_cpu_limit(str(tmp_path / "missing"), str(tmp_path / "none")) is None


def test_budget_is_the_quota_rounded_up_within_the_affinity():
    assert _threads.cpu_budget(limit=1.5, cpus=16, setting="") == 2
    assert _threads.cpu_budget(limit=2.0, cpus=16, setting="") == 2
    assert _threads.cpu_budget(limit=0.25, cpus=16, setting="") == 1
    assert _threads.cpu_budget(limit=32.0, cpus=4, setting="") == 4
    assert _threads.cpu_budget(limit=None, cpus=8, setting="") == 8
    assert _threads.cpu_budget(limit=1.0, cpus=8, setting="3") == 3
    assert _threads.cpu_budget(limit=1.0, cpus=2, setting="64") == 2
    assert _threads.cpu_budget(limit=1.0, cpus=8, setting="0") is None
    with pytest.raises(ValueError, match="COURSE_THREADS"):
        _threads.cpu_budget(limit=1.0, cpus=8, setting="two")
    with pytest.raises(ValueError, match=">= 0"):
        _threads.cpu_budget(limit=1.0, cpus=8, setting="-1")


PROBE = """
import json, os, sys
import numpy
if sys.argv[1] == "jax-first":
    import jax.numpy as jnp
    jnp.ones(3).block_until_ready()          # JAX's CPU client already started
import course_utils as cu
import threadpoolctl
import jax.numpy as jnp
jnp.ones(3).block_until_ready()
print(json.dumps({"threads": cu.threads, "affinity": sorted(os.sched_getaffinity(0)),
                  "blas": [pool["num_threads"] for pool in threadpoolctl.threadpool_info()],
                  "omp": os.environ.get("OMP_NUM_THREADS")}))
"""


def probe(mode, threads):
    env = {**os.environ, "COURSE_THREADS": threads, "COURSE_JAX_CACHE": "0"}
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to see one of them taken away")
def test_import_limits_blas_and_pins_before_jax_starts():
    cpus = sorted(os.sched_getaffinity(0))
    limited = probe("course-first", "1")
    assert limited["threads"]["budget"] == 1 and len(limited["affinity"]) == 1
    assert limited["affinity"] == limited["threads"]["pinned"] and limited["affinity"][0] in cpus
    assert limited["blas"] and all(n == 1 for n in limited["blas"])
    assert limited["omp"] == "1"
    # JAX already running: its pool is sized, so the affinity is left alone; BLAS is still limited.
    late = probe("jax-first", "1")
    assert late["threads"]["pinned"] is None and late["affinity"] == cpus
    assert all(n == 1 for n in late["blas"])
    # No quota, or COURSE_THREADS=0: nothing changes.
    untouched = probe("course-first", "0")
    assert untouched["affinity"] == cpus and untouched["threads"]["pinned"] is None and untouched["omp"] is None
