"""The instructor's deck generator (tools/deck.py, issue 15): decks follow the notebooks.

Each deck is regenerated from its notebook: one slide per demo cell, the cell copied verbatim,
its heading as the slide's title, its "Try this" text and Think! question as notes. Adding a
demo to a notebook adds a slide; removing one removes it. The serving side: 127.0.0.1 unless
``--classroom``, which requires a token; a ready line per deck from the markers the decks write.
"""

from __future__ import annotations

import copy
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import deck  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _demo_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return ["".join(c.source) for c in nb.cells if c.cell_type == "code" and deck.DEMO_CALL.search(c.source)]


def _slides(nb) -> dict[int, dict[str, str]]:
    slides: dict[int, dict[str, str]] = {}
    for cell in nb.cells:
        meta = cell.metadata["deck"]
        slides.setdefault(meta["slide"], {})[meta["role"]] = cell.source
    return slides


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("decks")
    return out, deck.build(out)


def test_one_deck_per_notebook_one_slide_per_demo(built):
    out, paths = built
    assert [p.name for p in paths] == [p.name for p in NOTEBOOKS if _demo_cells(p)]
    total = 0
    for path in paths:
        slides = _slides(nbformat.read(path, as_version=4))
        demos = _demo_cells(ROOT / "notebooks" / path.name)
        assert sorted(k for k in slides if k > 0) == list(range(1, len(demos) + 1))
        for k, code in enumerate(demos, start=1):
            assert slides[k]["demo"] == code, f"{path.name} slide {k}: the demo cell is not copied verbatim"
            assert slides[k]["title"].startswith("## ") and "demo" in slides[k]["title"].lower()
            assert "**Think!" in slides[k]["notes"], f"{path.name} slide {k}: the Think! question is missing from the notes"
        assert "index" in slides[0]
        total += len(demos)
    assert total >= 20  # every notebook's demos: 21 when this was written


def test_titles_and_notes_come_from_the_demo_heading():
    flow = deck.read_deck(ROOT / "notebooks" / "04_gradient_flow_ode.ipynb")
    first = flow.demos[0]
    assert first.title.startswith("Interactive demo 4.1:")
    assert first.function == "flow_demo"
    assert "Try this" in first.notes and first.notes.index("Try this") < first.notes.index("**Think!")
    # the section's introduction above the demo heading is not a speaker note
    assert "Now the real test" not in first.notes


def test_index_lists_every_notebook_and_demo(built):
    out, paths = built
    decks = deck.course_decks()
    index = _slides(nbformat.read(paths[-1], as_version=4))[0]["index"]
    for d in decks:
        assert f"({d.stem}.ipynb)" in index
        for k, demo in enumerate(d.demos, start=1):
            assert f"({d.stem}.ipynb#slide-{k})" in index and demo.title in index


def test_the_deck_sets_the_projector_dpi_and_writes_its_ready_marker(built):
    out, paths = built
    nb = nbformat.read(paths[0], as_version=4)
    setup, ready = nb.cells[0].source, nb.cells[-1].source
    assert f"set_default_dpi({deck.PROJECTOR_DPI})" in setup
    assert re.search(r"from course_utils\.figures import nb\d\d as figures", setup)
    assert deck.READY_ENV in ready and nb.cells[-1].metadata["deck"]["slide"] == -1


def _copy_notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, folder / path.name)
    return folder


def test_adding_a_demo_to_a_notebook_adds_a_slide(tmp_path):
    folder = _copy_notebooks(tmp_path)
    target = folder / "04_gradient_flow_ode.ipynb"
    before = len(deck.read_deck(target).demos)
    nb = nbformat.read(target, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "figures.flow_demo(" in c.source)
    new_cells = [
        nbformat.v4.new_markdown_cell("### Interactive demo 9.9: a brand-new demo\n\n**Try this:** move **time**."),
        nbformat.v4.new_code_cell("extra = figures.flow_demo()\nextra"),
        nbformat.v4.new_markdown_cell("**Think!** What changed?"),
    ]
    nb.cells[at + 2:at + 2] = new_cells
    nbformat.write(nb, target)
    written = deck.build(tmp_path / "decks", folder, only=["04"])
    slides = _slides(nbformat.read(written[0], as_version=4))
    assert max(slides) == before + 1
    new = slides[2]  # inserted after the first demo and its Think! cell
    assert new["demo"] == "extra = figures.flow_demo()\nextra"
    assert "a brand-new demo" in new["title"] and "What changed?" in new["notes"]


def test_removing_a_demo_removes_its_slide(tmp_path):
    folder = _copy_notebooks(tmp_path)
    target = folder / "05_spectrum_generalization.ipynb"
    nb = nbformat.read(target, as_version=4)
    before = len(deck.read_deck(target).demos)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and "figures.spectrum_demo(" in c.source)]
    nbformat.write(nb, target)
    written = deck.build(tmp_path / "decks", folder, only=["5"])
    slides = _slides(nbformat.read(written[0], as_version=4))
    assert max(slides) == before - 1
    assert all("spectrum_demo" not in s.get("demo", "") for s in slides.values())


def test_a_rebuild_removes_stale_decks(tmp_path):
    out = tmp_path / "decks"
    deck.build(out, only=["00", "04"])
    deck.build(out, only=["04"])
    assert [p.name for p in out.glob("*.ipynb")] == ["04_gradient_flow_ode.ipynb"]


def test_bad_input_gets_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no notebook numbered"):
        deck.course_decks(only=["42"])
    untitled = tmp_path / "untitled.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), untitled)
    with pytest.raises(ValueError, match="no '# ' title"):
        deck.read_deck(untitled)
    no_import = tmp_path / "no_import.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"),
                                                   nbformat.v4.new_code_cell("figures.x_demo()")]), no_import)
    with pytest.raises(ValueError, match="never imports"):
        deck.read_deck(no_import)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no notebook .* has an interactive demo"):
        deck.build(tmp_path / "out", empty)


def test_serves_only_this_machine_unless_asked_with_a_token(tmp_path):
    local = deck.voila_command(tmp_path, 8866)
    assert "--Voila.ip=127.0.0.1" in local and not any(a.startswith("--Voila.token") for a in local)
    assert f"--template={deck.TEMPLATE_NAME}" in local and "--preheat_kernel=True" in local
    with pytest.raises(ValueError, match="token"):
        deck.voila_command(tmp_path, 8866, classroom=True)
    room = deck.voila_command(tmp_path, 8866, classroom=True, token="s3cret")
    assert "--Voila.ip=0.0.0.0" in room and "--Voila.token=s3cret" in room
    with pytest.raises(ValueError, match="theme"):
        deck.voila_command(tmp_path, 8866, theme="solarized")


def test_the_template_is_found_first_on_the_jupyter_path(tmp_path):
    env = deck.voila_env(tmp_path)
    first = Path(env["JUPYTER_PATH"].split(":")[0])
    template = first / "voila" / "templates" / deck.TEMPLATE_NAME
    assert (template / "conf.json").exists() and (template / "index.html.j2").exists()
    assert env[deck.READY_ENV] == str(tmp_path)


def test_ready_lines_one_per_deck_as_markers_appear(tmp_path):
    lines: list[str] = []
    (tmp_path / "00_start_here.json").write_text('{"seconds": 3.5}')
    ready = deck.wait_until_ready(tmp_path, ["00_start_here", "04_gradient_flow_ode"], 0.0, timeout=0.6,
                                  echo=lambda line, **_: lines.append(line))
    assert list(ready) == ["00_start_here"]  # 04 never wrote its marker: not reported ready
    assert len(lines) == 1 and "00_start_here ready" in lines[0] and "3.5 s" in lines[0]


def test_set_default_dpi_scales_new_figures_only():
    from course_utils.figures import interactive

    before = interactive.InteractiveFigure(lambda axes, **_: None, figsize=(2.0, 1.0))
    previous = interactive.set_default_dpi(150)
    try:
        after = interactive.InteractiveFigure(lambda axes, **_: None, figsize=(2.0, 1.0))
        assert after.fig.dpi == 150 and before.fig.dpi == previous == 100
        with pytest.raises(ValueError, match="at most 400"):
            interactive.set_default_dpi(1000)
        with pytest.raises(ValueError, match="dpi"):
            interactive.set_default_dpi("big")
        assert interactive.default_dpi() == 150  # a refused value changes nothing
    finally:
        interactive.set_default_dpi(None)
    assert interactive.default_dpi() == 100
