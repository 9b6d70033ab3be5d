"""Latency of the interactive figures (run by run_all.py, one fresh process per demo).

    .venv/bin/python bench/bench_widgets.py --list
    .venv/bin/python bench/bench_widgets.py --demo course_utils.figures.nb04:flow_demo

``--list`` finds every notebook module ``course_utils/figures/nbXX.py`` and the demo builders it
defines (public functions whose name ends in ``_demo``). ``--demo`` measures one of them in
this (fresh) process, as a student meets it in a new kernel:

- ``shown_s``: calling the builder with its defaults, until its figure can be shown (a staged
  demo has its first width in, the others still pending);
- ``build_s``: the builder and then its stages (``demo.finish()``), as the notebook cell runs
  them before the student can move a control;
- ``first move``: the first change of each control (width, then time, then the extras),
  each to the farthest value from where it starts;
- ``first visits``: one sweep through the control's values (subsampled to at most
  ``--max-values``), every value visited once; its maximum is the worst first visit;
- ``steady``: the median over further sweeps (``--rounds``) through the same values, and how
  many of those renders drew only what changed over a stored background (``BlitRenderer``).

Each move is ``demo.set(name=value)`` timed with ``perf_counter`` (the redraw and the PNG
encoding included); ``demo.last_draw_seconds`` is recorded beside it. The process is a
plain Python process, not a Jupyter kernel: the widgets have no front end attached, so
comm traffic is not included (it is small next to the redraw).
"""

from __future__ import annotations

import argparse
import glob
import importlib
import inspect
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import common  # noqa: E402


def discover_modules(root: str = ROOT) -> list[str]:
    """Dotted names of the notebooks' figure modules course_utils/figures/nbXX.py that exist now."""
    names = []
    for path in sorted(glob.glob(os.path.join(root, "course_utils", "figures", "nb*.py"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem[2:4].isdigit():
            names.append(f"course_utils.figures.{stem}")
    return names


def demo_builders(module) -> list[str]:
    """Public functions defined in ``module`` whose name ends in ``_demo``."""
    found = []
    for name, obj in vars(module).items():
        if name.startswith("_") or not name.endswith("_demo") or not inspect.isfunction(obj):
            continue
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        found.append(name)
    return sorted(found)


def control_values(control, max_values: int = 12) -> list:
    """The values a control offers, subsampled evenly to at most ``max_values``."""
    import numpy as np

    options = getattr(control, "options", None)
    if options:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
    elif type(control).__name__ == "FloatLogSlider":
        values = list(control.base ** np.linspace(control.min, control.max, 5))
    elif type(control).__name__ in ("Checkbox", "ToggleButton"):
        values = [False, True]
    elif hasattr(control, "min") and hasattr(control, "max"):
        values = list(np.linspace(control.min, control.max, 5))
        if isinstance(control.value, int):
            values = sorted({int(round(v)) for v in values})
        elif getattr(control, "step", None):
            step = control.step
            values = [control.min + round((v - control.min) / step) * step for v in values]
    else:
        return []
    if len(values) > max_values:
        index = np.unique(np.round(np.linspace(0, len(values) - 1, max_values)).astype(int))
        values = [values[i] for i in index]
    return values


def _farthest(values, current):
    try:
        position = values.index(current)
    except ValueError:
        return values[-1]
    return values[-1] if position < len(values) / 2 else values[0]


def _timed_set(demo, name, value):
    before = demo.draw_count
    start = time.perf_counter()
    demo.set(**{name: value})
    elapsed = time.perf_counter() - start
    return elapsed, demo.last_draw_seconds, demo.draw_count - before


def measure(spec: str, rounds: int, max_values: int) -> dict:
    module_name, builder_name = spec.split(":")
    result = {"module": module_name, "demo": builder_name, "load_before": common.load_average()}
    start = time.perf_counter()
    import course_utils  # noqa: F401

    result["import_course_utils_s"] = time.perf_counter() - start
    start = time.perf_counter()
    module = importlib.import_module(module_name)
    result["import_module_s"] = time.perf_counter() - start
    import jax

    result["jax_cache_dir"] = getattr(jax.config, "jax_compilation_cache_dir", None)
    builder = getattr(module, builder_name)
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    required = [p.name for p in inspect.signature(builder).parameters.values()
                if p.default is inspect.Parameter.empty and p.kind in kinds]
    if required:
        result.update(ok=False, error=f"builder needs arguments {required}; skipped")
        return result
    start = time.perf_counter()
    demo = builder()
    result["shown_s"] = time.perf_counter() - start
    from course_utils.figures.interactive import InteractiveFigure

    if not isinstance(demo, InteractiveFigure):
        result.update(ok=False, error=f"builder returned {type(demo).__name__}, not an InteractiveFigure")
        return result
    result["stages"] = demo.finish()
    result["build_s"] = time.perf_counter() - start
    names = [n for n in ("width", "time") if n in demo.controls]
    names += [n for n in demo.controls if n not in ("width", "time")]
    controls = {}
    for name in names:
        values = control_values(demo.controls[name], max_values)
        entry = {"values": len(values), "type": type(demo.controls[name]).__name__}
        if len(values) < 2:
            entry["error"] = "fewer than two values to move between"
        controls[name] = entry
    # first move of every control, in a process that has only built the demo
    for name in names:
        entry = controls[name]
        if "error" in entry:
            continue
        values = control_values(demo.controls[name], max_values)
        target = _farthest(values, demo.controls[name].value)
        elapsed, draw, redraws = _timed_set(demo, name, target)
        entry.update(first_move_s=elapsed, first_move_draw_s=draw, first_move_redraws=redraws,
                     first_move_to=repr(target))
    # first visit of every value, then steady-state sweeps
    for name in names:
        entry = controls[name]
        if "error" in entry:
            continue
        values = control_values(demo.controls[name], max_values)
        firsts, steady, draws, redraw_counts = [], [], [], []
        renderer = demo.renderer
        for round_index in range(1 + rounds):
            if round_index == 1:  # how the steady moves were rendered: in part over a background, or whole
                partial_before = renderer.partial_renders
                renders_before = renderer.partial_renders + renderer.background_renders + renderer.full_renders
            sweep = values if round_index % 2 == 0 else values[::-1]
            for value in sweep:
                if demo.controls[name].value == value:
                    continue
                elapsed, draw, redraws = _timed_set(demo, name, value)
                redraw_counts.append(redraws)
                if round_index == 0:
                    firsts.append(elapsed)
                else:
                    steady.append(elapsed)
                    draws.append(draw)
        entry.update(
            first_visit_max_s=max(firsts) if firsts else float("nan"),
            steady_median_s=statistics.median(steady) if steady else float("nan"),
            steady_max_s=max(steady) if steady else float("nan"),
            steady_draw_median_s=statistics.median(draws) if draws else float("nan"),
            moves=len(firsts) + len(steady),
            redraws_per_move=(sum(redraw_counts) / len(redraw_counts)) if redraw_counts else float("nan"),
            steady_partial_renders=renderer.partial_renders - partial_before,
            steady_renders=renderer.partial_renders + renderer.background_renders + renderer.full_renders - renders_before,
        )
    result["controls"] = controls
    # how much of a redraw is matplotlib rendering the PNG (the rest is the demo's own draw code)
    png_times = []
    for _ in range(5):
        start = time.perf_counter()
        demo.png()
        png_times.append(time.perf_counter() - start)
    result["png_median_s"] = statistics.median(png_times)
    result["figure_px"] = [int(v) for v in demo.fig.get_size_inches() * demo.fig.dpi]
    result["axes"] = len(demo.axes)
    result["peak_rss_mb"] = common.peak_mb()
    result["ok"] = True
    result["load_after"] = common.load_average()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--list", action="store_true", help="list the notebook modules and their demo builders")
    group.add_argument("--demo", help="MODULE:BUILDER to measure, e.g. course_utils.figures.nb04:flow_demo")
    parser.add_argument("--modules", nargs="*", default=None, help="modules to list (default: course_utils/figures/nbXX.py)")
    parser.add_argument("--rounds", type=int, default=2, help="steady-state sweeps after the first visits")
    parser.add_argument("--max-values", type=int, default=12, help="values per control per sweep")
    args = parser.parse_args(argv)

    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.list:
        listing = {}
        for module_name in args.modules if args.modules is not None else discover_modules():
            try:
                module = importlib.import_module(module_name)
            except Exception as err:  # a module being written right now may not import yet
                listing[module_name] = {"error": f"{type(err).__name__}: {str(err)[:200]}"}
                continue
            listing[module_name] = {"demos": demo_builders(module)}
        common.emit({"modules": listing})
        return 0
    try:
        result = measure(args.demo, args.rounds, args.max_values)
    except Exception as err:
        result = {"module": args.demo.split(":")[0], "demo": args.demo.split(":")[-1], "ok": False,
                  "error": f"{type(err).__name__}: {str(err)[:300]}"}
    common.emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
