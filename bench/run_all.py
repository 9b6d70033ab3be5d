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
    hub        a real JupyterHub on 127.0.0.1 with 8 simulated students (tools/hub_load.py)
    widgets    build / first-move / steady-state latency of every demo builder
               ``course_utils/figures/nbXX.py: *_demo``
    deck       the instructor's deck (`make demo`) in Chromium: start-up, each deck's first
               slide, each slide's figure and each control's update (bench/bench_deck.py)

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
import os
import platform
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
GiB = 2**30

# What the report needs from here is only the results; the sections and the formatting live there.
from report import README, SECTIONS, fmt_mb, fmt_time, render_all, write_readme  # noqa: E402



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
        log("  no course_utils/figures/nbXX.py modules yet")
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


def section_hub(args):
    """A real JupyterHub with simulated students (tools/hub_load.py; `make hub-load` alone)."""
    students = 2 if args.quick else 8
    out = os.path.join(HERE, "hub_load.json")
    machine = machine_info()
    cmd = [PYTHON, os.path.join(ROOT, "tools", "hub_load.py"), "--students", str(students), "--out", out]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=2400)
    log("  " + "\n  ".join(proc.stdout.strip().splitlines()[-(students + 1):]))
    if not os.path.exists(out):
        return {"error": (proc.stderr or proc.stdout)[-500:], "machine": machine}
    with open(out) as handle:
        result = json.load(handle)
    os.remove(out)
    result.update(machine=machine, seconds_total=time.perf_counter() - started)
    return result


def section_deck(args):
    """`make demo`'s decks in a real browser (bench/bench_deck.py), with the whole-notebook reference."""
    cmd = [PYTHON, os.path.join(HERE, "bench_deck.py"), "--presses", "3" if args.quick else "5"]
    if args.quick:
        cmd += ["--notebooks", "00", "--no-reference"]
    result, status = run_child(cmd, timeout=3000, cache=args.jax_cache)
    out = dict(result or {"ok": False, "error": status})
    if status:
        out["error"] = status
    out["machine"] = machine_info()
    log(f"  deck: READY after {fmt_time(out.get('ready_s'))}" if out.get("ok") else f"  deck: {out.get('error')}")
    return out


RUNNERS = {"ntk": section_ntk, "nt": section_nt, "analytic": section_analytic, "flow": section_flow,
           "gflops": section_gflops, "notebooks": section_notebooks, "widgets": section_widgets, "hub": section_hub,
           "deck": section_deck}



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
