"""Render bench/results.json as the tables of bench/README.md (no measurement happens here).

``run_all.py`` measures and merges results by section; this module only turns them into text
(tables, goal verdicts) and rewrites the marked blocks of the README, so a report can be
re-rendered (``run_all.py --render-only``) without re-running anything.
"""

from __future__ import annotations

import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402

README = os.path.join(HERE, "README.md")
SECTIONS = ["ntk", "nt", "analytic", "flow", "gflops", "notebooks", "widgets", "hub", "deck"]

# goals from the issues (benchmarks, not timed tests)
GOAL_STRUCTURED_VS_JACOBIAN = 20.0  # depth 3, width 512, n 128
GOAL_VS_NT_KEY = 1.5  # depth 3, width 1024, n 256
GOAL_DGEMM_FRACTION = 0.5
GOAL_FLOW_EVAL_S = 0.005  # n = 500
GOAL_ANALYTIC_S = 0.5  # depth 3, n = 2000
GOAL_NOTEBOOK_S, GOAL_NOTEBOOK_MB = 60.0, 600.0  # issue 13: every kernel <= 600 MB
GOAL_FIRST_FIGURE_S = {"00_start_here.ipynb": 3.0}  # others: GOAL_FIRST_FIGURE_OTHER_S
GOAL_FIRST_FIGURE_OTHER_S = 5.0
GOAL_HUB_STUDENT_MB = 1536.0  # JupyterLab server + two notebooks' kernels
GOAL_STEADY_S, GOAL_FIRST_MOVE_S = 0.150, 1.0
GOAL_DECK_FIRST_SLIDE_S = 2.0  # issue 15: every deck's first slide within 2 s of the request


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
            "`bench/prototypes.py: analytic_ntk_fast`, the variant whose changes `cu.analytic_ntk` has since adopted.\n\n")
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
            "`bench/prototypes.py: flow_outputs_transposed` (U^T stored once; now adopted by `GradientFlow`).\n\n") + text
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


def _first_figure_text(row) -> str:
    """When the first interactive figure showed; for a staged demo also when its cell ended."""
    first, whole = row.get("first_figure_s"), row.get("first_figure_cell_s")
    if first is None:
        return "-"
    text = f"{fmt_time(first)} (cell {row.get('first_figure_cell', '-')}"
    if whole is not None and whole - first > 0.5:  # it went on filling in the other widths
        text += f"; filled in by {fmt_time(whole)}"
    return text + ")"


def render_notebooks(section) -> str:
    rows = section["rows"]
    if not rows:
        return "No notebooks existed when this ran.\n\n" + _run_line(section)
    out_rows = []
    for r in rows:
        wall, peak, first = r.get("wall_s"), r.get("peak_mb"), r.get("first_figure_s")
        first_goal = GOAL_FIRST_FIGURE_S.get(r["notebook"], GOAL_FIRST_FIGURE_OTHER_S)
        within = None if wall is None or peak is None else (wall < GOAL_NOTEBOOK_S and peak <= GOAL_NOTEBOOK_MB)
        out_rows.append([r["notebook"], r.get("code_cells", "-"), fmt_time(wall), fmt_time(r.get("kernel_ready_s")),
                         fmt_mb(peak), verdict(within if r.get("ok") else False),
                         _first_figure_text(r),
                         verdict(None if first is None else first <= first_goal) + f" (<= {first_goal:.0f} s)",
                         "ok" if r.get("ok") else r.get("status", "error")])
    text = table(["notebook", "code cells", "wall (kernel start to last cell)", "kernel start", "kernel peak RSS",
                  f"< {GOAL_NOTEBOOK_S:.0f} s and <= {GOAL_NOTEBOOK_MB:.0f} MB", "first interactive figure shown",
                  "goal", "status"], out_rows)
    return text + "\n\n" + _cache_line(section) + "\n\n" + _run_line(section)


def _cache_line(section) -> str:
    mode = section.get("jax_cache", "warm")
    return {"cold": "Each process started with an empty JAX persistent compilation cache (COURSE_JAX_CACHE set to a "
                    "new directory), as in a fresh clone: every compilation is paid.",
            "warm": "The processes used the repository's JAX persistent compilation cache (.jax_cache/) as it was "
                    "(warm from earlier runs): compilations found there are skipped.",
            "off": "The JAX persistent compilation cache was off (COURSE_JAX_CACHE=0)."}[mode]


def _build_text(row) -> str:
    """Build time; for a staged demo also when its figure first showed (its first width in)."""
    if row.get("stages"):
        return f"{fmt_time(row.get('build_s'))} (shown {fmt_time(row.get('shown_s'))})"
    return fmt_time(row.get("build_s"))


def _partial_text(control) -> str:
    if "steady_renders" not in control:
        return "-"
    return f"{control['steady_partial_renders']}/{control['steady_renders']}"


def render_widgets(section) -> str:
    rows = section["rows"]
    if not rows:
        return "No notebook module with a `*_demo` builder existed when this ran.\n\n" + _run_line(section)
    out_rows = []
    for r in rows:
        if not r.get("ok"):
            out_rows.append([f"{r['module'].split('.')[-1]}.{r.get('demo', '-')}", "-", "-", "-", "-", "-", "-", "-", "-",
                             r.get("error", "error")])
            continue
        controls = r.get("controls", {})
        order = [k for k in ("width", "time") if k in controls]
        order += sorted(k for k in controls if k not in ("width", "time"))
        for name in order:
            c = controls[name]
            if "error" in c:
                out_rows.append([f"{r['module'].split('.')[-1]}.{r['demo']}", _build_text(r), name,
                                 "-", "-", "-", "-", "-", "-", c["error"]])
                continue
            ok = c["steady_median_s"] < GOAL_STEADY_S and c["first_move_s"] < GOAL_FIRST_MOVE_S
            out_rows.append([f"{r['module'].split('.')[-1]}.{r['demo']}", _build_text(r), name,
                             fmt_time(c["first_move_s"]), fmt_time(c["first_visit_max_s"]),
                             fmt_time(c["steady_median_s"]), fmt_time(r.get("png_median_s")),
                             f"{c['redraws_per_move']:.2g}", _partial_text(c), verdict(ok)])
    text = ("Per demo builder (called with its defaults, in a fresh process) and control: the first move right after "
            "the build (for a staged demo the build includes its stages, the other widths it fills in once shown); "
            "the slowest first visit of any value in one sweep, and the median move over two further "
            "sweeps (at most 12 values per control, subsampled evenly). A move is `demo.set(name=value)`: the "
            "demo's draw function plus the rendering of the PNG (`PNG` column: `demo.png()`, the whole figure "
            "rendered afresh by `savefig`, what every move cost before blitting). `drawn in part`: of the steady "
            "moves' renders, how many drew only the artists that changed over a stored background "
            "(`BlitRenderer`); the others rendered the whole figure (an image, new limits or a changed legend "
            "moved with the control).\n\n")
    text += table(["demo", "build", "control", "first move (fresh process)", "worst first visit",
                   "steady median", "PNG", "redraws per move", "drawn in part", "first < 1 s, steady < 150 ms"], out_rows)
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
        slow = [r["notebook"] for r in nbs if not (r.get("ok") and r["wall_s"] < GOAL_NOTEBOOK_S)]
        heavy = [r["notebook"] for r in nbs if not (r.get("ok") and r["peak_mb"] <= GOAL_NOTEBOOK_MB)]
        late = [r["notebook"] for r in nbs if r.get("first_figure_s") is not None
                and r["first_figure_s"] > GOAL_FIRST_FIGURE_S.get(r["notebook"], GOAL_FIRST_FIGURE_OTHER_S)]
        for goal, bad in ((f"every notebook < {GOAL_NOTEBOOK_S:.0f} s headless", slow),
                          (f"every notebook's kernel peak <= {GOAL_NOTEBOOK_MB:.0f} MB", heavy),
                          ("first interactive figure: 00 <= 3 s, others <= 5 s (fresh kernel, empty cache)", late)):
            rows.append([goal, f"{len(nbs) - len(bad)}/{len(nbs)}" + (f" (not: {', '.join(bad)})" if bad else ""),
                         verdict(not bad)])
    hub = results.get("hub", {})
    if hub.get("students"):
        peaks = [s.get("peak_mb") for s in hub["students"]]
        worst = max((p for p in peaks if p == p), default=float("nan"))
        rows.append([f"JupyterHub, {hub['students_count']} students: every run finishes, "
                     f"server + two kernels <= {GOAL_HUB_STUDENT_MB / 1024:.1f} GB per student",
                     f"{'all finished' if hub.get('ok') else 'FAILED'}; worst student {fmt_mb(worst)}; "
                     f"hub total {fmt_mb(hub.get('hub_peak_mb'))}",
                     verdict(bool(hub.get("ok")) and worst <= GOAL_HUB_STUDENT_MB)])
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
    deck = results.get("deck", {})
    if deck.get("ok"):
        late = [f"{d['deck'][:2]} {d['first_show_s']:.2f} s" for d in deck["decks"] if d["first_show_s"] > GOAL_DECK_FIRST_SLIDE_S]
        rows.append([f"deck: every deck's first slide within {GOAL_DECK_FIRST_SLIDE_S:.0f} s (pre-run, `make demo`)",
                     f"{len(deck['decks']) - len(late)}/{len(deck['decks'])}" + (f" (not: {', '.join(late)})" if late else ""),
                     verdict(not late)])
        controls = _deck_controls(deck)
        slow = [f"{d['deck'][:2]}.{s['slide']}:{name} {c['median_s'] * 1e3:.0f} ms" for d, s, name, c in controls
                if c["median_s"] >= GOAL_STEADY_S]
        rows.append(["deck: control update < 150 ms in the browser (median)", f"{len(controls) - len(slow)}/{len(controls)}"
                     + (f" (not: {', '.join(slow)})" if slow else ""), verdict(not slow)])
    if not rows:
        return "(no results yet)"
    return table(["goal", "measured", "met"], rows)


def _deck_controls(section):
    return [(d, s, name, c) for d in section.get("decks", []) for s in d["slides"] for name, c in s["controls"].items()]


def render_deck(section) -> str:
    if not section.get("ok"):
        return f"Not measured: {section.get('error', 'no result')}.\n\n" + _run_line(section)
    rows = []
    for d in section["decks"]:
        for s in d["slides"]:
            for name, c in s["controls"].items():
                rows.append([d["deck"][:2], f"{s['slide']}. {s['title'][:60]}", fmt_time(s["show_s"]), name,
                             fmt_time(c["first_s"]), fmt_time(c["median_s"]), fmt_time(max(c["latency_s"])),
                             verdict(c["median_s"] < GOAL_STEADY_S)])
    ready = ", ".join(f"{k[:2]} {v:.0f} s" for k, v in sorted(section.get("deck_ready_s", {}).items()))
    shows = ", ".join(f"{d['deck'][:2]} {d['first_show_s']:.2f} s ({d['browser_cache']} cache; first figure "
                      f"{d['first_figure_s']:.2f} s)" for d in section["decks"])
    reopen = section.get("reopen")
    if reopen:
        shows += (f"; opened a second time (a reload: its pre-run kernel spent, a fresh one runs the deck) "
                  f"{reopen['deck'][:2]} {reopen['first_show_s']:.1f} s")
    ref = section.get("reference")
    text = (f"`make demo` (tools/deck.py serve, figures at {section.get('dpi')} dpi) on {section.get('cpus')} cores, "
            f"every deck pre-run at once: READY after {fmt_time(section.get('ready_s'))} (per deck: {ready}). "
            f"Chromium at 1920x1080 with the keyboard only. First slide (the index) on screen after the request: "
            f"{shows}.")
    if ref:
        text += (f" Reference, same run: the whole notebook {ref['notebook']} alone in Voila with a pre-run kernel "
                 f"(`make demo-notebooks`, DEMO_PREHEAT=1; requested once its pre-run had settled, after "
                 f"{ref.get('pre_run_s', float('nan')):.0f} s) showed its first figure {ref['first_figure_s']:.2f} s "
                 "after the request.")
    text += (" Per slide: PageDown to its figure drawn (`show`). Per control: arrow key to the new image in the "
             "page (kernel redraw, PNG transfer, decode); first press, median of the later presses, worst.\n\n")
    text += table(["nb", "slide", "show", "control", "first press", "median", "worst", "median < 150 ms"], rows)
    return text + "\n\n" + _run_line(section)


def render_hub(section) -> str:
    if not section.get("students"):
        return f"Not measured: {section.get('error', 'no result')}.\n\n" + _run_line(section)
    rows = []
    for s in section["students"]:
        runs = ", ".join(f"{r['notebook'][:2]}: {r['seconds']:.0f} s" for r in s.get("runs", []))
        rows.append([s["student"], "ok" if s.get("ok") else f"FAILED {s.get('error', '')}",
                     fmt_time(s.get("spawn_s")), fmt_time(s.get("seconds")), runs or "-", fmt_mb(s.get("peak_mb"))])
    text = (f"A real JupyterHub on 127.0.0.1 (local-process spawner, test authenticator, configurable-http-proxy), "
            f"{section['students_count']} simulated students started together; each opens notebook 00 and "
            f"{section['notebooks'][-1]} (the first stays open while the second runs) and runs every code cell "
            f"through the kernel's websocket (`make hub-load`, tools/hub_load.py). Peak memory per student: the "
            f"single-user server and its kernels. Hub total: hub, proxy and every student at the same moment, "
            f"peak {fmt_mb(section.get('hub_peak_mb'))}; wall time {fmt_time(section.get('wall_s'))}.\n\n")
    text += table(["student", "status", "server spawn", "time to finish", "per notebook", "peak memory"], rows)
    return text + "\n\n" + _run_line(section)


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
    if "hub" in results:
        blocks["hub"] = render_hub(results["hub"])
    if "deck" in results:
        blocks["deck"] = render_deck(results["deck"])
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

