"""tools/build_site.py without a browser: explorable figures, the search index, the print page."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _record(cell: int) -> dict:
    return {
        "cell": cell,
        "controls": [
            {"name": "width", "description": "width", "labels": ["16", "64", "256"], "values": [16, 64, 256], "of": 3},
            {"name": "time", "description": "time", "labels": ["0", "1", "10", "100"], "values": [0, 1, 10, 100], "of": 41},
        ],
        "default": 1 * 4 + 2,  # width 64, time 10
        "alt": [f"frame {k}" for k in range(12)],
    }


def test_a_widget_output_with_frames_becomes_an_explorable_figure():
    nb = nbformat.v4.new_notebook()
    output = nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "x"}, "image/png": "iVBORw0KGgo=",
                                                          "text/plain": "InteractiveFigure(width=64, time=10)"})
    nb.cells = [nbformat.v4.new_code_cell("demo", outputs=[output]),
                nbformat.v4.new_code_cell("other", outputs=[nbformat.v4.new_output(
                    "display_data", data={WIDGET_VIEW: {"model_id": "y"}, "image/png": "iVBORw0KGgo="})])]
    prepared, counts = build_site.prepare(nb, {0: _record(0)}, "frames/nb/")
    assert counts["explorable"] == 1 and counts["interactive"] == 2 and counts["frames"] == 12
    page = prepared.cells[0].outputs[0]["data"]["text/html"]
    inputs = re.findall(r'<input type="range" id="figure-0-(\w+)" name="\w+" min="0" max="(\d+)" step="1" value="(\d+)"', page)
    assert inputs == [("width", "2", "1"), ("time", "3", "2")]  # the default frame's positions
    assert '<img src="frames/nb/0/6.png" alt="frame 6" loading="lazy"/>' in page
    assert '<output for="figure-0-width" aria-hidden="true">64</output>' in page and 'aria-valuetext="10"' in page
    assert "Shown at width = 64, time = 10." in page  # what print shows instead of the sliders
    assert "time shows 4 of its 41 values" in page  # the thinning is said in the caption
    # without frames: the stored snapshot with a caption, as before
    assert "interactive-snapshot" in prepared.cells[1].outputs[0]["data"]["text/html"]


def test_search_sections_follow_the_headings_with_their_anchors():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\nOpening words.\n\n## The kernel $\\Theta$\n\nGram matrix **here**."),
                nbformat.v4.new_markdown_cell("More about the *Gram* matrix.")]
    entries = build_site.search_sections(nb, "p.html", "Title")
    headings = [e["heading"] for e in entries]
    assert headings[-1].startswith("The kernel") and "Title" in headings
    last = entries[-1]
    assert "Gram matrix here" in last["text"] and "More about the Gram matrix" in last["text"]
    assert last["anchor"] and last["page"] == "p.html"


def test_frame_data_can_not_break_out_of_its_script_element():
    record = _record(3)
    record["alt"][6] = "a </script><script>alert(1)</script> <!-- note"
    page = build_site._explorable_figure(record, "f/", "figure-3")
    data = page[page.index('class="frame-data">') + len('class="frame-data">'):page.rindex("</script>")]
    assert "<" not in data and json.loads(data)["alt"][6] == record["alt"][6]
    assert page.count("<script") == 1


def test_answers_are_left_out_of_the_search_index():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Think\n\n**Think!** Why?\n\n<details><summary>Answer</summary>\n\n"
                                              "Because secretword.\n\n</details>\n\nAfter.")]
    text = " ".join(e["text"] for e in build_site.search_sections(nb, "p.html", "T"))
    assert "Why?" in text and "After." in text and "secretword" not in text


def test_print_page_heading_ids_are_made_unique():
    body = ('<h2 id="References">References<a class="anchor-link" href="#References">¶</a></h2> x '
            '<h2 id="References">References<a class="anchor-link" href="#References">¶</a></h2>')
    out = build_site._unique_heading_ids(body)
    assert out.count('id="References"') == 1 and 'id="References-2"' in out and 'href="#References-2"' in out


def test_every_stored_figure_carries_alt_text():
    """Live and stored: each PNG a notebook stores (static or an interactive figure's snapshot)
    has the alt text its figure wrote when the notebook was run."""
    missing = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    alt = output.get("metadata", {}).get("image/png", {}).get("alt", "")
                    if len(alt) < 40 or "Panel 1 of" not in alt:
                        missing.append(f"{path.name} cell {index}: {alt!r}")
    assert not missing, "stored figures without alt text (re-execute the notebook):\n" + "\n".join(missing)
