"""Smoke tests of the benchmark scripts in bench/ (quick; no timing is asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)

import common  # noqa: E402
import report  # noqa: E402
import run_all  # noqa: E402


def _run(script, *args):
    done = subprocess.run([sys.executable, os.path.join(BENCH, script), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    result = common.parse_result(done.stdout)
    assert result is not None, f"no result line in: {done.stdout[-1000:]}"
    return result


@pytest.fixture(scope="module")
def tiny_ntk_rows():
    rows = []
    for method in ("structured", "jacobian"):
        result = _run("bench_ntk.py", "--depth", "2", "--width", "8", "--n", "5", "--method", method,
                      "--repeats", "2", "--budget", "1", "--window", "0.1")
        result["status"] = "ok"
        rows.append(result)
    return rows


def test_bench_ntk_reports_a_measurement(tiny_ntk_rows):
    import course_utils as cu

    structured, jacobian = tiny_ntk_rows
    model = cu.MLP(in_dim=common.IN_DIM, width=8, depth=2)
    for row in tiny_ntk_rows:
        assert row["ok"] and row["finite"]
        assert (row["depth"], row["width"], row["n"]) == (2, 8, 5)
        assert row["params"] == model.num_params
        assert row["repeats"] >= 2 and len(row["times_s"]) == row["repeats"]
        assert 0 < row["min_s"] <= row["median_s"]
        assert row["peak_extra_mb"] >= 0
    assert structured["flops"] == cu.ntk_flops(model, 5)
    # both methods computed the same kernel (its trace)
    assert structured["trace"] == pytest.approx(jacobian["trace"], rel=1e-10)


def test_ntk_table_row_is_well_formed(tiny_ntk_rows):
    text = report.render_ntk({"rows": tiny_ntk_rows, "machine": {}})
    lines = [line for line in text.splitlines() if line.startswith("| 2 | 8 | 5 |")]
    assert len(lines) == 1
    header = next(line for line in text.splitlines() if line.startswith("| depth"))
    assert lines[0].count("|") == header.count("|")
    speedup = lines[0].rstrip(" |").split("|")[-1].strip()
    assert speedup.endswith("x") and float(speedup[:-1]) > 0


def test_flow_evaluation_matches_closed_form():
    result = _run("bench_kernel_flow.py", "flow", "--n", "20", "--m", "7", "--repeats", "3")
    assert result["ok"] and result["outputs"]["repeats"] == 3
    assert result["outputs_max_error"] < 1e-12
    assert "| 20 | 7 |" in report.render_flow({"rows": [dict(result, status="ok")], "machine": {}})


def test_table_rejects_a_row_of_the_wrong_length():
    assert report.table(["a", "b"], [[1, 2]]).splitlines()[-1] == "| 1 | 2 |"
    with pytest.raises(ValueError):
        report.table(["a", "b"], [[1, 2, 3]])


def test_replace_block_updates_only_its_block():
    text = "intro\n<!-- BEGIN ntk -->\nold\n<!-- END ntk -->\n<!-- BEGIN nt -->\nkeep\n<!-- END nt -->\n"
    updated = report.replace_block(text, "ntk", "new $1 \\g<0>")
    assert "new $1 \\g<0>" in updated and "old" not in updated and "keep" in updated
    assert report.replace_block("x", "flow", "body").endswith("<!-- BEGIN flow -->\nbody\n<!-- END flow -->\n")


def test_jacobian_too_big_is_not_attempted():
    # depth 3, width 4096, n 256: tens of GB that way; must exceed any cap we allow
    assert run_all.jacobian_estimate(256, 4096, 3) > 64 * run_all.GiB
    assert run_all.jacobian_estimate(256, 256, 1) < 1 * run_all.GiB


def test_widget_helpers_find_demos_and_control_values():
    import bench_widgets
    import ipywidgets as widgets

    from course_utils.figures.interactive import time_slider, width_slider

    assert bench_widgets.control_values(width_slider([64, 128, 256])) == [64, 128, 256]
    assert len(bench_widgets.control_values(time_slider(list(range(50))), max_values=12)) == 12
    assert bench_widgets.control_values(widgets.IntSlider(value=2, min=0, max=4)) == [0, 1, 2, 3, 4]
    assert bench_widgets.control_values(widgets.Checkbox()) == [False, True]
    module = types.ModuleType("course_utils.figures.nb99")

    def flow_demo():
        return None

    def _private_demo():
        return None

    flow_demo.__module__ = _private_demo.__module__ = module.__name__
    module.flow_demo, module._private_demo, module.helper = flow_demo, _private_demo, len
    assert bench_widgets.demo_builders(module) == ["flow_demo"]
    assert all(name.startswith("course_utils.figures.nb") for name in bench_widgets.discover_modules())


def test_widget_bench_measures_a_real_demo():
    # end to end on the cheapest demo: the builder runs, every control is moved and timed
    import bench_widgets

    result = bench_widgets.measure("course_utils.figures.nb05:filter_demo", rounds=1, max_values=2)
    assert result["ok"], result.get("error")
    assert result["build_s"] > 0 and {"width", "time"} <= set(result["controls"])


def test_deck_section_renders_and_judges_its_goals():
    slide = {"slide": 1, "title": "Interactive demo 4.1: a test", "show_s": 0.05,
             "controls": {"width": {"first_s": 0.3, "latency_s": [0.3, 0.12, 0.13], "median_s": 0.125},
                          "time": {"first_s": 0.2, "latency_s": [0.2, 0.2, 0.21], "median_s": 0.205}}}
    section = {"ok": True, "dpi": 120, "cpus": 2, "ready_s": 30.0, "deck_ready_s": {"04_gradient_flow_ode": 30.0},
               "decks": [{"deck": "04_gradient_flow_ode", "first_show_s": 2.5, "first_figure_s": 2.9,
                          "browser_cache": "empty", "slides": [slide]}],
               "reopen": {"deck": "04_gradient_flow_ode", "first_show_s": 12.0}, "machine": {}}
    text = report.render_deck(section)
    rows = [line for line in text.splitlines() if line.startswith("| 04 |")]
    assert len(rows) == 2 and rows[0].endswith("| yes |") and rows[1].endswith("| **NO** |")
    assert "second time" in text and "12.0 s" in text
    goals = report.render_goals({"deck": section})
    assert "first slide within 2 s" in goals and "0/1 (not: 04 2.50 s)" in goals
    assert "1/2 (not: 04.1:time 205 ms)" in goals
    assert "Not measured" in report.render_deck({"ok": False, "error": "no chromium", "machine": {}})
