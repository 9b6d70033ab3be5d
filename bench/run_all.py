"""Run the course benchmarks, print tables and record them in bench/README.md.

    make bench                                   # everything (about 15 minutes here)
    .venv/bin/python bench/run_all.py --only ntk --quick
    .venv/bin/python bench/run_all.py --only notebooks,widgets
    .venv/bin/python bench/run_all.py --list

Sections (``--only`` takes a comma-separated list):

    ntk        structured vs Jacobian empirical NTK (course_utils), depth 1 and 3,
               widths 256..4096, n = 256, plus depth 3, width 512, n = 128
    nt         the same sizes with neural-tangents 0.6.5 in the throwaway venv
               bench/.nt-venv (created on first use; skipped with a note if that fails)
    analytic   analytic NTK + eigh at n = 1000, 2000, 4000
    flow       one time-control evaluation after the eigh (n = 500; and n = 2000)
    gflops     numpy and JAX DGEMM rates against the structured NTK's GFLOP/s
    notebooks  every notebooks/*.ipynb executed headless in a fresh kernel
    widgets    build / first-move / steady-state latency of every demo builder
               ``course_utils/nbXX.py: *_demo``

Every measurement runs in its own subprocess (one configuration per process: memory peaks
do not mix, and a crash or an out-of-memory kill loses one row). Results are merged into
bench/results.json (by section) and the README's tables are rewritten from it, so running
a subset updates only that subset. ``--quick`` runs smaller sizes and does not touch the
README unless ``--write`` is given.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import common  # noqa: E402

PYTHON = sys.executable
NT_VENV = os.path.join(HERE, ".nt-venv")
NT_PYTHON = os.path.join(NT_VENV, "bin", "python")
NT_PACKAGES = ["neural-tangents==0.6.5", "jax==0.4.25", "jaxlib==0.4.25", "numpy<2"]
RESULTS_JSON = os.path.join(HERE, "results.json")
README = os.path.join(HERE, "README.md")
SECTIONS = ["ntk", "nt", "analytic", "flow", "gflops", "notebooks", "widgets"]
GiB = 2**30

# goals from the issues (benchmarks, not timed tests)
GOAL_STRUCTURED_VS_JACOBIAN = 20.0  # depth 3, width 512, n 128
GOAL_VS_NT_KEY = 1.5  # depth 3, width 1024, n 256
GOAL_DGEMM_FRACTION = 0.5
GOAL_FLOW_EVAL_S = 0.005  # n = 500
GOAL_ANALYTIC_S = 0.5  # depth 3, n = 2000
GOAL_NOTEBOOK_S, GOAL_NOTEBOOK_MB = 60.0, 1536.0
GOAL_STEADY_S, GOAL_FIRST_MOVE_S = 0.150, 1.0


# ---------------------------------------------------------------------- subprocesses
def log(message: str) -> None:
    print(message, flush=True)


def child_env(cache: str = "off", base=None) -> dict:
    """Environment for a measurement child: course_utils' persistent JAX compilation cache
    ``off`` (COURSE_JAX_CACHE=0: first calls show the real compile time, and benchmarks
    write nothing into the repository's cache), ``cold`` (a new empty cache directory: what
    a fresh clone meets) or ``warm`` (the repository's .jax_cache as it is)."""
    env = dict(os.environ if base is None else base)
    if cache == "off":
        env["COURSE_JAX_CACHE"] = "0"
    elif cache == "cold":
        import tempfile

        env["COURSE_JAX_CACHE"] = tempfile.mkdtemp(prefix="ntk-bench-jax-cache-")
    return env


def run_child(cmd, *, timeout: float, mem_cap_bytes: float | None = None, env=None, cwd=ROOT, cache: str = "off"):
    """Run one measurement script; return (result dict or None, status text).

    The child's process tree is watched every 50 ms: it is killed when it passes
    ``mem_cap_bytes`` of resident memory or ``timeout`` seconds, and the status says so.
    """
    import shutil

    import psutil

    env = child_env(cache, env)

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    status = None
    peak = 0
    import threading

    out_chunks, err_chunks = [], []
    readers = [threading.Thread(target=lambda s=proc.stdout, c=out_chunks: c.append(s.read()), daemon=True),
               threading.Thread(target=lambda s=proc.stderr, c=err_chunks: c.append(s.read()), daemon=True)]
    for reader in readers:
        reader.start()
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
        except psutil.Error:
            rss = 0
        peak = max(peak, rss)
        if mem_cap_bytes is not None and rss > mem_cap_bytes:
            status = f"killed above the memory cap ({mem_cap_bytes / GiB:.1f} GiB)"
        elif time.perf_counter() - start > timeout:
            status = f"killed after {timeout:.0f} s"
        if status:
            for child in ps.children(recursive=True):
                child.kill()
            proc.kill()
            break
        time.sleep(0.05)
    proc.wait()
    for reader in readers:
        reader.join(timeout=5)
    stdout, stderr = "".join(out_chunks), "".join(err_chunks)
    if cache == "cold":
        shutil.rmtree(env["COURSE_JAX_CACHE"], ignore_errors=True)
    result = common.parse_result(stdout)
    if result is not None:
        result["monitor_peak_rss_mb"] = peak / 2**20
        result["process_wall_s"] = time.perf_counter() - start
    if status is None and result is None:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        status = f"failed (exit {proc.returncode}): {tail[:160]}"
    return result, status


def available_bytes() -> float:
    import psutil

    return float(psutil.virtual_memory().available)


def mem_cap(args) -> float:
    """Largest estimated footprint we allow a Jacobian run: --mem-cap-gb, at most half the free memory."""
    return min(args.mem_cap_gb * GiB, 0.5 * available_bytes())


# ---------------------------------------------------------------------- formatting
def fmt_time(seconds) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_tm(entry) -> str:
    """Median and, in brackets, the fastest repeat (contention shows as a wide gap)."""
    if not entry or "median_s" not in entry:
        return "-"
    return f"{fmt_time(entry['median_s'])} ({fmt_time(entry.get('min_s'))})"


def fmt_mb(mb) -> str:
    if mb is None or (isinstance(mb, float) and math.isnan(mb)):
        return "-"
    mb = max(mb, 0.0)  # a peak below the starting point reads as no growth
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def fmt_x(ratio) -> str:
    if ratio is None or (isinstance(ratio, float) and (math.isnan(ratio) or math.isinf(ratio))):
        return "-"
    return f"{ratio:.3g}x"


def table(headers, rows) -> str:
    """A GitHub markdown table: header line, separator, one line per row."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        cells = [str(c) for c in row]
        if len(cells) != len(headers):
            raise ValueError(f"row has {len(cells)} cells, header has {len(headers)}: {cells}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(ok) -> str:
    return "-" if ok is None else ("yes" if ok else "**NO**")


# ---------------------------------------------------------------------- machine
def machine_info() -> dict:
    import numpy as np

    info = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "python": platform.python_version(), "numpy": np.__version__, "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as handle:
            models = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        info["cpu"] = models[0] if models else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / GiB, 1)
    except ImportError:
        pass
    try:
        import jax
        import jaxlib

        info["jax"], info["jaxlib"] = jax.__version__, jaxlib.__version__
    except ImportError:
        pass
    try:
        import course_utils

        info["course_utils"] = course_utils.__version__
    except ImportError:
        pass
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE")
    info["load_average"] = common.load_average()
    return info


# ---------------------------------------------------------------------- sections
def plan_ntk(quick: bool):
    widths = [256, 1024] if quick else [256, 512, 1024, 2048, 4096]
    configs = [(depth, width, 256) for depth in (1, 3) for width in widths]
    key = (3, 512, 128)
    return configs, key


def jacobian_estimate(n, width, depth) -> float:
    """Bytes course_utils' Jacobian path needs: the (n, P) Jacobian twice, or jacrev's
    (n, n, width) cotangent intermediates (reverse mode over the batched output), whichever
    is larger."""
    return max(common.jacobian_bytes(n, width, depth), 2.0 * n * n * width * 8)


def section_ntk(args):
    configs, key = plan_ntk(args.quick)
    cap = mem_cap(args)
    rows = []
    for depth, width, n in configs + [key]:
        for method in ("structured", "jacobian"):
            entry = {"depth": depth, "width": width, "n": n, "method": method}
            if method == "jacobian":
                estimate = jacobian_estimate(n, width, depth)
                entry["estimate_gb"] = estimate / GiB
                if estimate > cap:
                    entry["status"] = f"does not fit: needs about {estimate / GiB:.1f} GB (cap {cap / GiB:.1f} GB)"
                    log(f"  ntk {method:10s} depth {depth} width {width:4d} n {n}: {entry['status']}")
                    rows.append(entry)
                    continue
                if args.quick and (depth, width, n) != key and width > 256:
                    entry["status"] = "skipped (--quick)"
                    rows.append(entry)
                    continue
            budget = 4.0 if args.quick else (10.0 if method == "jacobian" else 8.0)
            cmd = [PYTHON, os.path.join(HERE, "bench_ntk.py"), "--depth", str(depth), "--width", str(width),
                   "--n", str(n), "--method", method, "--budget", str(budget)]
            if method == "structured":
                cmd += ["--dgemm", "2048"]
            result, status = run_child(cmd, timeout=240, mem_cap_bytes=max(1.5 * cap, 2 * GiB))
            if result:
                entry.update(result)
            entry["status"] = status or "ok"
            log(f"  ntk {method:10s} depth {depth} width {width:4d} n {n}: "
                + (f"{fmt_time(entry.get('median_s'))} median, peak +{fmt_mb(entry.get('peak_extra_mb'))}"
                   if result else entry["status"]))
            rows.append(entry)
    return {"rows": rows, "key": list(key), "machine": machine_info()}


def nt_available(args) -> tuple[bool, str]:
    """Whether bench/.nt-venv imports neural_tangents; create it first when allowed."""
    check = [NT_PYTHON, "-c", "import sys, types; sys.modules['neural_tangents.experimental'] = "
             "types.ModuleType('x'); import neural_tangents, jax; print(neural_tangents.__version__, jax.__version__)"]
    if os.path.exists(NT_PYTHON):
        done = subprocess.run(check, capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            return True, done.stdout.strip()
    if args.no_install:
        return False, "bench/.nt-venv is missing and --no-install was given"
    log("  creating bench/.nt-venv with " + " ".join(NT_PACKAGES) + " (a few minutes; TensorFlow comes along)")
    try:
        if not os.path.exists(NT_PYTHON):
            subprocess.run(["python3", "-m", "venv", NT_VENV], check=True, timeout=300)
        done = subprocess.run([NT_PYTHON, "-m", "pip", "install", "-q", *NT_PACKAGES],
                              capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
            return False, f"could not install neural-tangents: {tail[:200]}"
        done = subprocess.run(check, capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            return True, done.stdout.strip()
        return False, f"neural-tangents installed but does not import: {done.stderr.strip()[-200:]}"
    except (subprocess.SubprocessError, OSError) as err:
        return False, f"could not create bench/.nt-venv: {err}"


def section_nt(args):
    ok, note = nt_available(args)
    out = {"available": ok, "note": note, "machine": machine_info(), "rows": []}
    if not ok:
        log(f"  neural-tangents skipped: {note}")
        return out
    log(f"  neural-tangents {note} (neural_tangents, jax)")
    # same network, same weights: the two libraries must give the same kernel
    import tempfile

    import numpy as np

    tmp = tempfile.mkdtemp(prefix="ntk-bench-")
    ours_file, nt_file = os.path.join(tmp, "k_ours.npy"), os.path.join(tmp, "k_nt.npy")
    small = ["--depth", "3", "--width", "256", "--n", "64", "--repeats", "2"]
    r1, s1 = run_child([PYTHON, os.path.join(HERE, "bench_ntk.py"), *small, "--save-kernel", ours_file], timeout=120)
    r2, s2 = run_child([NT_PYTHON, os.path.join(HERE, "bench_nt.py"), *small, "--save-kernel", nt_file], timeout=120)
    if r1 and r2:
        a, b = np.load(ours_file), np.load(nt_file)
        out["agreement_rel_diff"] = float(np.max(np.abs(a - b)) / np.max(np.abs(a)))
        log(f"  same kernel from both libraries (depth 3, width 256, n 64): max relative difference "
            f"{out['agreement_rel_diff']:.2e}")
    else:
        out["agreement_error"] = f"{s1} / {s2}"
    for path in (ours_file, nt_file):
        if os.path.exists(path):
            os.remove(path)
    os.rmdir(tmp)
    configs, key = plan_ntk(args.quick)
    if args.quick:
        configs = [(3, 1024, 256)]
    cap = mem_cap(args)
    for depth, width, n in configs:
        # ours right next to theirs, twice each in the order ours, theirs, theirs, ours, so a
        # burst of load from other processes hits both sides (the faster median of each counts)
        impls = ["ours", "structured", "jacobian"]
        if (depth, width, n) == (3, 1024, 256):
            impls += ["auto", "structured-novmap"]
        impls += ["structured", "ours"]
        for impl in impls:
            entry = {"depth": depth, "width": width, "n": n, "method": impl}
            if impl == "jacobian":
                estimate = common.jacobian_bytes(n, width, depth)
                entry["estimate_gb"] = estimate / GiB
                if estimate > cap:
                    entry["status"] = f"does not fit: needs about {estimate / GiB:.1f} GB (cap {cap / GiB:.1f} GB)"
                    log(f"  nt  {impl:18s} depth {depth} width {width:4d} n {n}: {entry['status']}")
                    out["rows"].append(entry)
                    continue
            budget = "4" if args.quick else "8"
            size = ["--depth", str(depth), "--width", str(width), "--n", str(n), "--budget", budget]
            if impl == "ours":
                cmd = [PYTHON, os.path.join(HERE, "bench_ntk.py"), *size, "--method", "structured"]
            elif impl == "structured-novmap":
                cmd = [NT_PYTHON, os.path.join(HERE, "bench_nt.py"), *size, "--impl", "structured",
                       "--vmap-axes", "none"]
            else:
                cmd = [NT_PYTHON, os.path.join(HERE, "bench_nt.py"), *size, "--impl", impl]
            result, status = run_child(cmd, timeout=240, mem_cap_bytes=max(1.5 * cap, 2 * GiB))
            if result:
                result["method"] = impl
                entry.update(result)
            entry["status"] = status or "ok"
            log(f"  {'ours' if impl == 'ours' else 'nt'}  {impl:18s} depth {depth} width {width:4d} n {n}: "
                + (f"{fmt_time(entry.get('median_s'))} median, peak +{fmt_mb(entry.get('peak_extra_mb'))}"
                   if result else entry["status"]))
            out["rows"].append(entry)
    return out


def section_analytic(args):
    rows = []
    for n in ([1000, 2000] if args.quick else [1000, 2000, 4000]):
        cmd = [PYTHON, os.path.join(HERE, "bench_kernel_flow.py"), "analytic", "--n", str(n), "--prototypes"]
        if args.quick:
            cmd += ["--repeats", "2"]
        result, status = run_child(cmd, timeout=600)
        entry = dict(result or {"n": n})
        entry["status"] = status or "ok"
        log(f"  analytic n {n}: " + (f"depth-3 kernel {fmt_time(entry['analytic_d3']['median_s'])}, "
                                     f"jnp eigh {fmt_time(entry['jnp_eigh']['median_s'])}"
                                     if result else entry["status"]))
        rows.append(entry)
    return {"rows": rows, "machine": machine_info()}


def section_flow(args):
    rows = []
    for n in ([500] if args.quick else [500, 2000]):
        cmd = [PYTHON, os.path.join(HERE, "bench_kernel_flow.py"), "flow", "--n", str(n)]
        result, status = run_child(cmd, timeout=300)
        entry = dict(result or {"n": n})
        entry["status"] = status or "ok"
        summary = (f"outputs(t) {fmt_time(entry['outputs']['median_s'])}, "
                   f"predictor(t) {fmt_time(entry['predictor']['median_s'])}") if result else entry["status"]
        log(f"  flow n {n}: {summary}")
        rows.append(entry)
    return {"rows": rows, "machine": machine_info()}


def section_gflops(args):
    out = {"machine": machine_info()}
    cmd = [PYTHON, os.path.join(HERE, "bench_dgemm.py")]
    result, status = run_child(cmd, timeout=300)
    out["as_is"] = result or {"status": status}
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    if env != dict(os.environ):
        result, status = run_child(cmd + ["--no-jax"], timeout=300, env=env)
        out["unset"] = result or {"status": status}
    for key in ("as_is", "unset"):
        if key in out and "numpy_dgemm" in out[key]:
            log(f"  numpy DGEMM 2048 ({key.replace('_', ' ')}: OpenBLAS kernel {out[key].get('corename')}): "
                f"{out[key]['numpy_dgemm']['gflops_per_s']:.1f} GFLOP/s")
    if "jax_dgemm" in out["as_is"]:
        log(f"  jax matmul 2048: {out['as_is']['jax_dgemm']['gflops_per_s']:.1f} GFLOP/s")
    return out


def section_notebooks(args):
    import glob

    rows = []
    notebooks = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
    if not notebooks:
        log("  no notebooks/*.ipynb yet")
    for path in notebooks:
        cmd = [PYTHON, os.path.join(HERE, "bench_notebook.py"), path]
        result, status = run_child(cmd, timeout=900, cache=args.jax_cache)
        entry = dict(result or {"notebook": os.path.basename(path)})
        entry["status"] = status or ("ok" if entry.get("ok") else f"error: {entry.get('error')}")
        log(f"  notebook {entry['notebook']}: " + (f"{entry['wall_s']:.1f} s, peak {fmt_mb(entry['peak_mb'])}"
                                                   f"{'' if entry.get('ok') else ' (' + entry['status'] + ')'}"
                                                   if result else entry["status"]))
        rows.append(entry)
    return {"rows": rows, "machine": machine_info(), "jax_cache": args.jax_cache}


def section_widgets(args):
    listing, status = run_child([PYTHON, os.path.join(HERE, "bench_widgets.py"), "--list"], timeout=300)
    modules = (listing or {}).get("modules", {})
    out = {"modules": modules, "rows": [], "machine": machine_info(), "jax_cache": args.jax_cache,
           "jax_cache_entries": len(os.listdir(os.path.join(ROOT, ".jax_cache")))
           if os.path.isdir(os.path.join(ROOT, ".jax_cache")) else None}
    if listing is None:
        out["error"] = status
        log(f"  could not list the demo builders: {status}")
        return out
    if not modules:
        log("  no course_utils/nbXX.py modules yet")
    for module_name, info in modules.items():
        if "error" in info:
            log(f"  {module_name}: does not import ({info['error']})")
            out["rows"].append({"module": module_name, "demo": "-", "ok": False, "error": info["error"]})
            continue
        if not info["demos"]:
            log(f"  {module_name}: no *_demo builders")
        for demo in info["demos"]:
            cmd = [PYTHON, os.path.join(HERE, "bench_widgets.py"), "--demo", f"{module_name}:{demo}",
                   "--rounds", "1" if args.quick else "2", "--max-values", "6" if args.quick else "12"]
            result, status = run_child(cmd, timeout=300, cache=args.jax_cache)
            entry = dict(result or {"module": module_name, "demo": demo, "ok": False, "error": status})
            if status:
                entry["error"] = status
            log(f"  {module_name}.{demo}: " + (
                f"build {fmt_time(entry.get('build_s'))}, " + ", ".join(
                    f"{name} first {fmt_time(c.get('first_move_s'))} steady {fmt_time(c.get('steady_median_s'))}"
                    for name, c in entry.get("controls", {}).items()) if entry.get("ok") else entry.get("error")))
            out["rows"].append(entry)
    return out


RUNNERS = {"ntk": section_ntk, "nt": section_nt, "analytic": section_analytic, "flow": section_flow,
           "gflops": section_gflops, "notebooks": section_notebooks, "widgets": section_widgets}


# ---------------------------------------------------------------------- rendering
def _find(rows, **match):
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def _measured(row) -> bool:
    return bool(row) and row.get("status") == "ok" and "median_s" in row


def _run_line(section) -> str:
    m = section.get("machine", {})
    return (f"_Measured {m.get('date', '?')}; 1-minute load average when the section started: "
            f"{m.get('load_average', float('nan')):.1f} on {m.get('cores', '?')} cores._")


def render_ntk(section) -> str:
    rows = section["rows"]
    configs = sorted({(r["depth"], r["width"], r["n"]) for r in rows}, key=lambda c: (c[2] != 256, c))
    out_rows = []
    for depth, width, n in configs:
        s = _find(rows, depth=depth, width=width, n=n, method="structured")
        j = _find(rows, depth=depth, width=width, n=n, method="jacobian")
        params = (s or j or {}).get("params", common.num_params(width, depth, biases=True))
        speedup = j["median_s"] / s["median_s"] if _measured(s) and _measured(j) else None
        j_time = fmt_tm(j) if _measured(j) else (j or {}).get("status", "-")
        j_mem = fmt_mb(j["peak_extra_mb"]) if _measured(j) else "-"
        out_rows.append([depth, width, n, f"{params:,}",
                         fmt_tm(s) if _measured(s) else (s or {}).get("status", "-"),
                         _compile_cell(s) if _measured(s) else "-",
                         fmt_mb(s["peak_extra_mb"]) if _measured(s) else "-",
                         f"{s['gflops_per_s']:.1f}" if _measured(s) else "-",
                         j_time, j_mem, fmt_x(speedup)])
    text = ("`compile`: time / peak memory of compiling the kernel ahead of time (`jit(...).lower(...).compile()`, "
            "which the calls then reuse). Then the median (fastest) of repeated calls after a first call; `peak` is "
            "the growth of the process's resident memory over all calls above its size after compiling (the "
            "computation's own memory). A Jacobian run is "
            "attempted only when its estimated footprint (the (n, P) Jacobian twice, or the (n, n, width) "
            "intermediates of reverse mode over the batch, whichever is larger) fits the cap.\n\n")
    text += table(["depth", "width", "n", "params", "structured: median (min)", "compile",
                   "structured peak", "GFLOP/s", "jacobian: median (min)", "jacobian peak", "speed-up"],
                  out_rows)
    key = _find(rows, depth=3, width=512, n=128, method="structured")
    keyj = _find(rows, depth=3, width=512, n=128, method="jacobian")
    if _measured(key) and _measured(keyj):
        ratio = keyj["median_s"] / key["median_s"]
        text += (f"\n\nGoal (depth 3, width 512, n = 128): structured at least {GOAL_STRUCTURED_VS_JACOBIAN:.0f}x "
                 f"faster than the Jacobian path. Measured **{ratio:.0f}x** "
                 f"({fmt_time(key['median_s'])} vs {fmt_time(keyj['median_s'])}): "
                 f"{'met' if ratio >= GOAL_STRUCTURED_VS_JACOBIAN else 'MISSED'}.")
    return text + "\n\n" + _run_line(section)


def _compile_cell(r) -> str:
    if "compile_s" not in r:
        return "-"
    return f"{fmt_time(r['compile_s'])} / {fmt_mb(max(r['compile_peak_extra_mb'], 0.0))}"


def _time_mem(r) -> str:
    return f"{fmt_time(r['median_s'])} / {fmt_mb(r['peak_extra_mb'])}"


def _mean(values):
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def _best(rows, **match):
    """The measured row matching ``match`` with the smallest median time (None if none)."""
    candidates = [r for r in rows if all(r.get(k) == v for k, v in match.items()) and _measured(r)]
    return min(candidates, key=lambda r: r["median_s"]) if candidates else None


NT_METHODS = ("structured", "jacobian", "auto", "structured-novmap", "ntvp")


def nt_best(rows, depth, width, n):
    """neural-tangents' fastest implementation at this size."""
    candidates = [r for r in rows if (r["depth"], r["width"], r["n"]) == (depth, width, n)
                  and r.get("method") in NT_METHODS and _measured(r)]
    return min(candidates, key=lambda r: r["median_s"]) if candidates else None


def nt_ours(section, ntk_section, depth, width, n):
    """Our structured NTK measured next to neural-tangents (else from the ntk section)."""
    return (_best(section.get("rows", []), depth=depth, width=width, n=n, method="ours")
            or _best((ntk_section or {}).get("rows", []), depth=depth, width=width, n=n, method="structured"))


def size_memory(section, ntk_section, nt_method, depth=3, width=1024, n=256):
    """Mean run peak (MB) over the runs at one size: ours, and neural-tangents' ``nt_method``."""
    size = (depth, width, n)
    rows = [r for r in section.get("rows", []) if (r["depth"], r["width"], r["n"]) == size and _measured(r)]
    ours = [r["peak_extra_mb"] for r in rows if r["method"] == "ours"]
    if not ours:
        ours = [r["peak_extra_mb"] for r in (ntk_section or {}).get("rows", [])
                if (r["depth"], r["width"], r["n"], r["method"]) == (*size, "structured") and _measured(r)]
    theirs = [r["peak_extra_mb"] for r in rows if r["method"] == nt_method]
    return _mean(ours), _mean(theirs)


def render_nt(section, ntk_section) -> str:
    if not section.get("available"):
        return f"neural-tangents was not measured: {section.get('note')}.\n\n" + _run_line(section)
    rows = section["rows"]
    configs = sorted({(r["depth"], r["width"], r["n"]) for r in rows})
    out_rows = []
    for depth, width, n in configs:
        ours = nt_ours(section, ntk_section, depth, width, n)
        cells = {}
        for impl in ("structured", "jacobian", "auto"):
            r = _best(rows, depth=depth, width=width, n=n, method=impl) or _find(rows, depth=depth, width=width,
                                                                               n=n, method=impl)
            cells[impl] = (_time_mem(r) if _measured(r) else ((r or {}).get("status", "not run")))
        best = nt_best(rows, depth, width, n)
        speedup = best["median_s"] / ours["median_s"] if best and ours else None
        less = None
        if best and ours:
            ours_mem, nt_mem = size_memory(section, ntk_section, best["method"], depth, width, n)
            less = ours_mem < nt_mem
        out_rows.append([depth, width, n,
                         _time_mem(ours) if ours else "-",
                         cells["structured"], cells["jacobian"], cells["auto"],
                         best["method"] if best else "-", fmt_x(speedup), verdict(less)])
    text = ("Each cell: median time / peak memory growth of the process over all calls, above its size after "
            "compiling (compilation is done ahead of time and measured apart, below). Our structured NTK is "
            "measured in a subprocess just before neural-tangents' at each size and again just after it "
            "(ours, theirs, theirs, ours; the faster median of each is shown), so a burst of load from other "
            "processes hits both sides. `speed-up` = neural-tangents' best implementation time / ours; "
            "`less memory` compares our mean peak with that of neural-tangents' fastest implementation "
            "(over the runs at that size).\n\n")
    text += table(["depth", "width", "n", "course_utils structured", "nt STRUCTURED_DERIVATIVES",
                   "nt JACOBIAN_CONTRACTION", "nt AUTO", "nt best", "speed-up", "less memory"], out_rows)
    novmap = _best(rows, depth=3, width=1024, n=256, method="structured-novmap")
    if novmap:
        text += (f"\n\nneural-tangents STRUCTURED_DERIVATIVES with `vmap_axes=None` (instead of 0) at depth 3, "
                 f"width 1024, n = 256: {fmt_time(novmap['median_s'])} / {fmt_mb(novmap['peak_extra_mb'])}.")
    at_key = [r for r in rows if (r["depth"], r["width"], r["n"]) == (3, 1024, 256) and _measured(r)]
    if at_key:
        text += ("\n\nAt depth 3, width 1024, n = 256, every run: " + "; ".join(
            f"{r['method']}: {fmt_time(r['median_s'])}, peak {fmt_mb(r['peak_extra_mb'])}, compile "
            f"{fmt_time(r.get('compile_s'))} / {fmt_mb(r.get('compile_peak_extra_mb'))}" for r in at_key) + ".")
    if "agreement_rel_diff" in section:
        text += (f"\n\nSame network and weights in both libraries (depth 3, width 256, n = 64): the kernels agree to "
                 f"{section['agreement_rel_diff']:.1e} (max relative difference).")
    ours = nt_ours(section, ntk_section, 3, 1024, 256)
    best = nt_best(rows, 3, 1024, 256)
    if best and ours:
        ratio = best["median_s"] / ours["median_s"]
        ours_mem, nt_mem = size_memory(section, ntk_section, best["method"])
        text += (f"\n\nGoal (depth 3, width 1024, n = 256): at least {GOAL_VS_NT_KEY}x faster than neural-tangents' "
                 f"best ({best['method']}), with less peak memory. Measured **{ratio:.2f}x** "
                 f"({fmt_time(ours['median_s'])} vs {fmt_time(best['median_s'])}); peak memory over the runs "
                 f"(mean) {fmt_mb(ours_mem)} vs {fmt_mb(nt_mem)}: "
                 f"{'met' if ratio >= GOAL_VS_NT_KEY and ours_mem < nt_mem else 'MISSED'}.")
    versions = next((r for r in rows if "neural_tangents" in r), None)
    ours_jax = next((r["jax"] for r in rows if r.get("method") == "ours" and "jax" in r), "?")
    if versions:
        text += (f"\n\nneural-tangents {versions['neural_tangents']} with jax {versions['jax']} in bench/.nt-venv "
                 f"(its TensorFlow bridge not imported); course_utils with jax {ours_jax}.")
    return text + "\n\n" + _run_line(section)


def render_analytic(section) -> str:
    out_rows = []
    for r in section["rows"]:
        if r.get("status") != "ok":
            out_rows.append([r["n"], r.get("status"), "-", "-", "-", "-", "-"])
            continue
        proto = r.get("analytic_ntk_fast", {})
        out_rows.append([r["n"], fmt_tm(r["analytic_d1"]), fmt_tm(r["analytic_d3"]),
                         fmt_time(r["analytic_d3"]["first_s"]), fmt_tm(proto) if proto else "-",
                         fmt_tm(r["jnp_eigh"]), fmt_tm(r["numpy_eigh"]), fmt_tm(r.get("gradient_flow"))])
    text = ("Relu network, points on the sphere in 16 dimensions; median (fastest) of the repeats after a first "
            "call (n = 4000: one repeat of the kernels, one call of each eigh (its first, compilation included), "
            "no GradientFlow). The prototype column is "
            "`bench/prototypes.py: analytic_ntk_fast` (a proposed change, not the course's code).\n\n")
    text += table(["n", "analytic NTK depth 1", "analytic NTK depth 3", "depth 3 first call",
                   "depth 3, prototype", "jnp.linalg.eigh", "numpy eigh", "GradientFlow(K, y, f0)"], out_rows)
    r2000 = _find(section["rows"], n=2000)
    if r2000 and r2000.get("status") == "ok":
        t = r2000["analytic_d3"]["median_s"]
        text += (f"\n\nGoal: analytic depth-3 kernel at n = 2000 under {GOAL_ANALYTIC_S} s. "
                 f"Measured **{fmt_time(t)}**: {'met' if t < GOAL_ANALYTIC_S else 'MISSED'}.")
        for name, label in (("analytic_ntk_single_output", "one output, symmetry imposed on the input Gram"),
                            ("analytic_ntk_fast", "the same plus a vectorisable arccos")):
            p = r2000.get(name)
            if p:
                text += (f" Prototype ({label}): {fmt_time(p['median_s'])}, max relative difference from "
                         f"`cu.analytic_ntk` {p['max_rel_diff']:.1e}, exactly symmetric: {p['symmetric']}.")
    return text + "\n\n" + _run_line(section)


def render_flow(section) -> str:
    out_rows = []
    for r in section["rows"]:
        if r.get("status") != "ok":
            out_rows.append([r["n"], "-", r.get("status"), "-", "-", "-", "-"])
            continue
        out_rows.append([r["n"], r["m"], f"{fmt_time(r['build_s'])} / {fmt_time(r.get('build_again_s'))}",
                         fmt_time(r["outputs"]["median_s"]),
                         fmt_time(r["outputs"]["first_s"]), fmt_time(r["predictor"]["median_s"]),
                         fmt_time(r["outputs_41_times"]["median_s"]),
                         fmt_time(r.get("outputs_prototype", {}).get("median_s"))])
    text = table(["n", "m (test points)", "GradientFlow build: first (compiles) / again", "outputs(t) median",
                  "outputs(t) first call", "predictor(t) median", "outputs(41 times)",
                  "outputs(t), prototype"], out_rows)
    text = ("Analytic depth-3 kernel on n training points and m test points; each call uses a new t from a "
            "log-spaced grid; median of 200 calls after a first (compiling) one. Prototype: "
            "`bench/prototypes.py: flow_outputs_transposed` (U^T stored once), a proposed change.\n\n") + text
    r500 = _find(section["rows"], n=500)
    if r500 and r500.get("status") == "ok":
        t = max(r500["outputs"]["median_s"], r500["predictor"]["median_s"])
        text += (f"\n\nGoal: one time-control evaluation under {GOAL_FLOW_EVAL_S * 1e3:.0f} ms at n = 500. "
                 f"Measured **{fmt_time(r500['outputs']['median_s'])}** (outputs) and "
                 f"**{fmt_time(r500['predictor']['median_s'])}** (predictor): "
                 f"{'met' if t < GOAL_FLOW_EVAL_S else 'MISSED'}. Outputs match the closed form to "
                 f"{r500['outputs_max_error']:.1e}.")
    return text + "\n\n" + _run_line(section)


def render_gflops(section, ntk_section) -> str:
    as_is, unset = section.get("as_is", {}), section.get("unset", {})
    lines = []
    if "numpy_dgemm" in as_is:
        lines.append([f"numpy @ 2048x2048 (OpenBLAS {as_is.get('corename')}, environment as is: "
                      f"OPENBLAS_CORETYPE={as_is.get('OPENBLAS_CORETYPE')})",
                      f"{as_is['numpy_dgemm']['gflops_per_s']:.1f}"])
    if "numpy_dgemm" in unset:
        lines.append([f"numpy @ 2048x2048 (OpenBLAS {unset.get('corename')}, OPENBLAS_CORETYPE/L2_SIZE unset)",
                      f"{unset['numpy_dgemm']['gflops_per_s']:.1f}"])
    if "jax_dgemm" in as_is:
        lines.append(["jax.jit(a @ b) 2048x2048 (XLA CPU)", f"{as_is['jax_dgemm']['gflops_per_s']:.1f}"])
    text = table(["matrix multiply, float64", "GFLOP/s (median)"], lines)
    dgemm_rates = [d["numpy_dgemm"]["gflops_per_s"] for d in (as_is, unset) if "numpy_dgemm" in d]
    rows = [r for r in (ntk_section or {}).get("rows", []) if r.get("method") == "structured" and _measured(r)]
    if rows:
        out_rows = []
        for r in rows:
            local = r.get("dgemm_gflops_per_s")
            reference = local if local else (max(dgemm_rates) if dgemm_rates else None)
            out_rows.append([r["depth"], r["width"], r["n"], f"{r['flops'] / 1e9:.3g}", fmt_time(r["median_s"]),
                             f"{r['gflops_per_s']:.1f}", f"{local:.1f}" if local else "-",
                             f"{r['gflops_per_s'] / reference:.2f}" if reference else "-",
                             verdict(r["gflops_per_s"] >= GOAL_DGEMM_FRACTION * reference) if reference else "-"])
        text += ("\n\nStructured NTK throughput; flops from `cu.ntk_flops` (forward, backward, Gram products; "
                 "a multiply-add counts 2). Each row's DGEMM rate is a numpy 2048x2048 matmul (environment as is) "
                 "timed in the same process right after the NTK, so both see the same load. "
                 f"Goal: at least {GOAL_DGEMM_FRACTION} of DGEMM.\n\n")
        text += table(["depth", "width", "n", "GFLOP", "median", "GFLOP/s", "DGEMM GFLOP/s (same process)",
                       "fraction of DGEMM", f">= {GOAL_DGEMM_FRACTION}"], out_rows)
    return text + "\n\n" + _run_line(section)


def render_notebooks(section) -> str:
    rows = section["rows"]
    if not rows:
        return "No notebooks existed when this ran.\n\n" + _run_line(section)
    out_rows = []
    for r in rows:
        wall, peak = r.get("wall_s"), r.get("peak_mb")
        within = None if wall is None or peak is None else (wall < GOAL_NOTEBOOK_S and peak < GOAL_NOTEBOOK_MB)
        out_rows.append([r["notebook"], r.get("code_cells", "-"), fmt_time(wall), fmt_time(r.get("kernel_ready_s")),
                         fmt_mb(peak), "ok" if r.get("ok") else r.get("status", "error"),
                         verdict(within if r.get("ok") else False)])
    text = table(["notebook", "code cells", "wall (kernel start to last cell)", "kernel start", "kernel peak RSS",
                  "status", f"< {GOAL_NOTEBOOK_S:.0f} s and < 1.5 GB"], out_rows)
    return text + "\n\n" + _cache_line(section) + "\n\n" + _run_line(section)


def _cache_line(section) -> str:
    mode = section.get("jax_cache", "warm")
    return {"cold": "Each process started with an empty JAX persistent compilation cache (COURSE_JAX_CACHE set to a "
                    "new directory), as in a fresh clone: every compilation is paid.",
            "warm": "The processes used the repository's JAX persistent compilation cache (.jax_cache/) as it was "
                    "(warm from earlier runs): compilations found there are skipped.",
            "off": "The JAX persistent compilation cache was off (COURSE_JAX_CACHE=0)."}[mode]


def render_widgets(section) -> str:
    rows = section["rows"]
    if not rows:
        return "No notebook module with a `*_demo` builder existed when this ran.\n\n" + _run_line(section)
    out_rows = []
    for r in rows:
        if not r.get("ok"):
            out_rows.append([f"{r['module'].split('.')[-1]}.{r.get('demo', '-')}", "-", "-", "-", "-", "-", "-", "-",
                             r.get("error", "error")])
            continue
        controls = r.get("controls", {})
        order = [k for k in ("width", "time") if k in controls]
        order += sorted(k for k in controls if k not in ("width", "time"))
        for name in order:
            c = controls[name]
            if "error" in c:
                out_rows.append([f"{r['module'].split('.')[-1]}.{r['demo']}", fmt_time(r.get("build_s")), name,
                                 "-", "-", "-", "-", "-", c["error"]])
                continue
            ok = c["steady_median_s"] < GOAL_STEADY_S and c["first_move_s"] < GOAL_FIRST_MOVE_S
            out_rows.append([f"{r['module'].split('.')[-1]}.{r['demo']}", fmt_time(r.get("build_s")), name,
                             fmt_time(c["first_move_s"]), fmt_time(c["first_visit_max_s"]),
                             fmt_time(c["steady_median_s"]), fmt_time(r.get("png_median_s")),
                             f"{c['redraws_per_move']:.2g}", verdict(ok)])
    text = ("Per demo builder (called with its defaults, in a fresh process) and control: the first move right after "
            "the build, the slowest first visit of any value in one sweep, and the median move over two further "
            "sweeps (at most 12 values per control, subsampled evenly). A move is `demo.set(name=value)`: the "
            "demo's draw function plus matplotlib rendering the PNG (`PNG` column: `demo.png()` alone).\n\n")
    text += table(["demo", "build", "control", "first move (fresh process)", "worst first visit",
                   "steady median", "PNG", "redraws per move", "first < 1 s, steady < 150 ms"], out_rows)
    text += "\n\n" + _cache_line(section)
    return text + "\n\n" + _run_line(section)


def render_machine(results) -> str:
    m = {}
    for name in SECTIONS:
        if name in results and "machine" in results[name]:
            m = results[name]["machine"]
    if not m:
        return "(no results yet)"
    nt = results.get("nt", {})
    lines = [
        f"- CPU: {m.get('cpu')} ({m.get('cores')} cores), {m.get('memory_gib')} GiB memory",
        f"- Python {m.get('python')}, jax {m.get('jax')}, jaxlib {m.get('jaxlib')}, numpy {m.get('numpy')}, "
        f"course_utils {m.get('course_utils')}",
        (f"- neural-tangents {nt['note'].split()[0]} with jax {nt['note'].split()[-1]} in bench/.nt-venv"
         if nt.get("available") else f"- neural-tangents: {nt.get('note', 'not measured')}"),
        f"- OPENBLAS_CORETYPE={m.get('OPENBLAS_CORETYPE')} in the environment (left as it is; see the DGEMM table)",
        "- Sections measured: " + ", ".join(f"{name} ({results[name]['machine']['date']})"
                                            for name in SECTIONS if name in results and "machine" in results[name]),
    ]
    return "\n".join(lines)


def render_goals(results) -> str:
    rows = []
    ntk = results.get("ntk", {}).get("rows", [])
    s = _find(ntk, depth=3, width=512, n=128, method="structured")
    j = _find(ntk, depth=3, width=512, n=128, method="jacobian")
    if _measured(s) and _measured(j):
        ratio = j["median_s"] / s["median_s"]
        rows.append(["structured >= 20x faster than Jacobian (d3, w512, n128)", f"{ratio:.0f}x",
                     verdict(ratio >= GOAL_STRUCTURED_VS_JACOBIAN)])
    nt = results.get("nt", {})
    if nt.get("available"):
        worst = None
        for depth, width, n in sorted({(r["depth"], r["width"], r["n"]) for r in nt.get("rows", [])}):
            ours = nt_ours(nt, results.get("ntk"), depth, width, n)
            best = nt_best(nt["rows"], depth, width, n)
            if best and ours:
                ratio = best["median_s"] / ours["median_s"]
                if worst is None or ratio < worst[0]:
                    worst = (ratio, depth, width, n)
        if worst:
            rows.append(["faster than neural-tangents' best at every size", f"slowest margin {worst[0]:.2f}x "
                         f"(d{worst[1]}, w{worst[2]}, n{worst[3]})", verdict(worst[0] > 1.0)])
        ours = nt_ours(nt, results.get("ntk"), 3, 1024, 256)
        best = nt_best(nt.get("rows", []), 3, 1024, 256)
        if best and ours:
            ratio = best["median_s"] / ours["median_s"]
            rows.append(["vs neural-tangents >= 1.5x (d3, w1024, n256)", f"{ratio:.2f}x",
                         verdict(ratio >= GOAL_VS_NT_KEY)])
            ours_mem, nt_mem = size_memory(nt, results.get("ntk"), best["method"])
            rows.append(["less peak memory than neural-tangents (d3, w1024, n256)",
                         f"{fmt_mb(ours_mem)} vs {fmt_mb(nt_mem)} (mean run peak; compilation apart)",
                         verdict(ours_mem < nt_mem)])
    elif nt:
        rows.append(["vs neural-tangents", f"not measured: {nt.get('note')}", "-"])
    g = results.get("gflops", {})
    rates = [d["numpy_dgemm"]["gflops_per_s"] for d in (g.get("as_is", {}), g.get("unset", {})) if "numpy_dgemm" in d]
    srows = [r for r in ntk if r.get("method") == "structured" and _measured(r) and r["n"] == 256
             and (r.get("dgemm_gflops_per_s") or rates)]
    if srows:
        def fraction(r):
            return r["gflops_per_s"] / (r.get("dgemm_gflops_per_s") or max(rates))

        worst_row = min(srows, key=fraction)
        rows.append(["structured NTK >= half the numpy DGEMM rate (n = 256, every size)",
                     f"{min(fraction(r) for r in srows):.2f}-{max(fraction(r) for r in srows):.2f} of DGEMM "
                     f"(worst d{worst_row['depth']} w{worst_row['width']}: {worst_row['gflops_per_s']:.0f} GFLOP/s)",
                     verdict(fraction(worst_row) >= GOAL_DGEMM_FRACTION)])
    flow = _find(results.get("flow", {}).get("rows", []), n=500)
    if flow and flow.get("status") == "ok":
        t = max(flow["outputs"]["median_s"], flow["predictor"]["median_s"])
        rows.append(["time-control evaluation < 5 ms (n = 500)", fmt_time(t), verdict(t < GOAL_FLOW_EVAL_S)])
    analytic = _find(results.get("analytic", {}).get("rows", []), n=2000)
    if analytic and analytic.get("status") == "ok":
        t = analytic["analytic_d3"]["median_s"]
        rows.append(["analytic depth-3 kernel at n = 2000 < 0.5 s", fmt_time(t), verdict(t < GOAL_ANALYTIC_S)])
    nbs = results.get("notebooks", {}).get("rows", [])
    if nbs:
        bad = [r["notebook"] for r in nbs if not (r.get("ok") and r["wall_s"] < GOAL_NOTEBOOK_S
                                                  and r["peak_mb"] < GOAL_NOTEBOOK_MB)]
        rows.append(["every notebook < 60 s and < 1.5 GB headless",
                     f"{len(nbs) - len(bad)}/{len(nbs)}" + (f" (not: {', '.join(bad)})" if bad else ""),
                     verdict(not bad)])
    demos = [r for r in results.get("widgets", {}).get("rows", []) if r.get("ok")]
    if demos:
        controls = [(r, name, c) for r in demos for name, c in r["controls"].items() if "error" not in c]
        slow = [f"{r['module'].split('.')[-1]}.{r['demo']}:{name}" for r, name, c in controls
                if not (c["steady_median_s"] < GOAL_STEADY_S)]
        first = [f"{r['module'].split('.')[-1]}.{r['demo']}:{name}" for r, name, c in controls
                 if not (c["first_move_s"] < GOAL_FIRST_MOVE_S)]
        rows.append(["widget steady update < 150 ms", f"{len(controls) - len(slow)}/{len(controls)} controls"
                     + (f" (not: {', '.join(slow)})" if slow else ""), verdict(not slow)])
        rows.append(["widget first move < 1 s", f"{len(controls) - len(first)}/{len(controls)} controls"
                     + (f" (not: {', '.join(first)})" if first else ""), verdict(not first)])
    if not rows:
        return "(no results yet)"
    return table(["goal", "measured", "met"], rows)


def render_all(results) -> dict:
    blocks = {"machine": render_machine(results), "goals": render_goals(results)}
    if "ntk" in results:
        blocks["ntk"] = render_ntk(results["ntk"])
    if "nt" in results:
        blocks["nt"] = render_nt(results["nt"], results.get("ntk"))
    if "analytic" in results:
        blocks["analytic"] = render_analytic(results["analytic"])
    if "flow" in results:
        blocks["flow"] = render_flow(results["flow"])
    if "gflops" in results:
        blocks["gflops"] = render_gflops(results["gflops"], results.get("ntk"))
    if "notebooks" in results:
        blocks["notebooks"] = render_notebooks(results["notebooks"])
    if "widgets" in results:
        blocks["widgets"] = render_widgets(results["widgets"])
    return blocks


def replace_block(text: str, name: str, body: str) -> str:
    """Put ``body`` between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` (appended if missing)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return text.rstrip() + f"\n\n## {name}\n\n{block}\n"


def write_readme(blocks: dict, path: str = README) -> None:
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    for name, body in blocks.items():
        text = replace_block(text, name, body)
    with open(path, "w") as handle:
        handle.write(text)


def load_results() -> dict:
    if os.path.exists(RESULTS_JSON):
        with open(RESULTS_JSON) as handle:
            return json.load(handle)
    return {}


def save_results(results: dict) -> None:
    with open(RESULTS_JSON, "w") as handle:
        json.dump(results, handle, indent=1, sort_keys=True, default=str)
        handle.write("\n")


# ---------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections (default: all): {','.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (a few minutes)")
    parser.add_argument("--write", action="store_true", help="record results in bench/README.md even with --quick")
    parser.add_argument("--no-write", action="store_true", help="print only; leave README.md and results.json alone")
    parser.add_argument("--no-install", action="store_true", help="do not create bench/.nt-venv when missing")
    parser.add_argument("--mem-cap-gb", type=float, default=8.0,
                        help="largest estimated Jacobian footprint to attempt (also capped at half the free memory)")
    parser.add_argument("--jax-cache", choices=["cold", "warm", "off"], default="cold",
                        help="course_utils' persistent compilation cache for the notebook and widget runs: a new "
                             "empty one per process (cold, default: a fresh clone), the repository's .jax_cache "
                             "(warm) or none (off). The kernel benchmarks always run without it.")
    parser.add_argument("--render-only", action="store_true", help="rewrite README.md from bench/results.json")
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    args = parser.parse_args(argv)

    if args.list:
        print("\n".join(SECTIONS))
        return 0
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {SECTIONS}")
    write = (args.write or not args.quick) and not args.no_write

    results = load_results() if write or args.render_only else {}
    if not args.render_only:
        log("NTK course benchmarks: one measurement per subprocess; the machine has "
            f"{os.cpu_count()} cores, so anything else running inflates the timings "
            f"(load average now {common.load_average():.1f}).")
        started = time.perf_counter()
        fresh = {}
        for name in SECTIONS:
            if name not in only:
                continue
            log(f"[{name}]")
            section_start = time.perf_counter()
            fresh[name] = RUNNERS[name](args)
            fresh[name]["seconds"] = time.perf_counter() - section_start
            fresh[name]["quick"] = args.quick
            log(f"  ({fresh[name]['seconds']:.0f} s)")
        log(f"total {time.perf_counter() - started:.0f} s")
        view = dict(results)
        view.update(fresh)
        blocks = render_all(view)
        for name in ["goals"] + [s for s in SECTIONS if s in fresh]:
            if name in blocks:
                log(f"\n## {name}\n\n{blocks[name]}")
        if write:
            results.update(fresh)
    if write or args.render_only:
        save_results(results)
        write_readme(render_all(results))
        log(f"\nrecorded in {os.path.relpath(README, ROOT)} and {os.path.relpath(RESULTS_JSON, ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
