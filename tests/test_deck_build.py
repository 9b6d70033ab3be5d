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
            heading = deck.read_deck(ROOT / "notebooks" / path.name).demos[k - 1].title
            assert slides[k]["title"].startswith("## " + (heading.partition(":")[2].strip() or heading))
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
    assert not setup.strip().splitlines()[-1].startswith("interactive.")  # no value displayed: setup stays hidden
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


def test_prefetch_visits_every_expensive_value_once_and_comes_back(monkeypatch):
    import weakref

    from course_utils.figures import interactive

    monkeypatch.setattr(interactive, "_LIVE", weakref.WeakSet())  # not the other tests' figures

    seen = []

    def draw(axes, width, time):
        seen.append((width, time))

    figure = interactive.InteractiveFigure(draw, widths=[16, 64, 256, 1024], times=[0.0, 1.0, 10.0],
                                           width=64, time=1.0, figsize=(2.0, 1.0))
    try:
        seen.clear()
        assert figure.prefetch() == 3  # the three other widths; time is cheap and not visited
        assert sorted({w for w, _ in seen}) == [16, 64, 256, 1024] and {t for _, t in seen} == {1.0}
        assert figure.values == {"width": 64, "time": 1.0}
        assert figure in interactive._LIVE and interactive.prefetch_all() == 3
    finally:
        figure.close()
    assert figure not in interactive._LIVE


def test_the_deck_prefetches_before_it_says_ready(built):
    out, paths = built
    ready = nbformat.read(paths[0], as_version=4).cells[-1].source
    assert ready.index("interactive.prefetch_all()") < ready.index(deck.READY_ENV)


def test_a_half_written_marker_is_read_on_the_next_round(tmp_path):
    (tmp_path / "00_start_here.json").write_text('{"seconds": 3')
    ready = deck.wait_until_ready(tmp_path, ["00_start_here"], 0.0, timeout=0.3, echo=lambda *a, **k: None)
    assert ready == {}


def test_a_demo_needing_notebook_variables_is_refused_at_build_time(tmp_path):
    folder = _copy_notebooks(tmp_path)
    target = folder / "04_gradient_flow_ode.ipynb"
    nb = nbformat.read(target, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "figures.flow_demo(" in c.source)
    nb.cells[at].source = "demo = figures.flow_demo(widths=my_widths)\ndemo"
    nbformat.write(nb, target)
    with pytest.raises(ValueError, match="uses my_widths from the notebook"):
        deck.read_deck(target)
    # its own names, imports, builtins and magics are fine
    deck._check_self_contained("%matplotlib inline\nw = [2 ** k for k in range(4)]\nimport math\nd = figures.x_demo(widths=w)\nprint(len(w)); d",
                               "nb", 0)


def test_a_demo_without_a_heading_does_not_take_the_previous_demos(tmp_path):
    cells = [nbformat.v4.new_markdown_cell("# 09 · Test"),
             nbformat.v4.new_code_cell("from course_utils.figures import nb04 as figures"),
             nbformat.v4.new_markdown_cell("### Interactive demo 1.1: first\n\n**Try this:** one"),
             nbformat.v4.new_code_cell("a = figures.flow_demo()\na"),
             nbformat.v4.new_markdown_cell("**Think!** first question"),
             nbformat.v4.new_code_cell("b = figures.discrete_demo()\nb")]
    path = tmp_path / "09_test.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    first, second = deck.read_deck(path).demos
    assert first.title == "Interactive demo 1.1: first" and "first question" in first.notes
    assert second.title == "discrete demo" and second.notes == ""


def test_build_never_deletes_notebooks_that_are_not_decks(tmp_path):
    folder = _copy_notebooks(tmp_path)
    with pytest.raises(ValueError, match="notebooks' own folder"):
        deck.build(folder, folder)
    other = tmp_path / "mine"
    other.mkdir()
    shutil.copy(NOTEBOOKS[0], other / NOTEBOOKS[0].name)
    with pytest.raises(ValueError, match="not a deck"):
        deck.build(other, folder, only=["04"])
    assert (other / NOTEBOOKS[0].name).exists()


def test_deck_voila_counts_only_started_kernels():
    import asyncio

    import deck_voila

    class Base:
        def __init__(self):
            self._pools = {}

        async def get_rendered_notebook(self, name, *args, **kwargs):
            return self._pools[name].pop(0)

    manager = deck_voila.started_kernels_only(Base)()

    async def scenario():
        loop = asyncio.get_running_loop()
        started = loop.create_future()
        started.set_result({"kernel_id": "ready"})
        waiting = loop.create_future()  # a refill still sleeping out its delay
        manager._pools["d.ipynb"] = [waiting, started]
        assert manager.get_pool_size("d.ipynb") == 1
        got = await manager.get_rendered_notebook("d.ipynb")
        assert got is started and manager._pools["d.ipynb"] == [waiting]
        assert manager.get_pool_size("d.ipynb") == 0  # a page now starts a fresh kernel instead of waiting
        waiting.cancel()

    # in a thread of its own: the browser tests' Playwright may hold this thread's event loop
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result(timeout=30)


def test_prefetch_raises_on_a_failing_value_and_restores_the_figure():
    from course_utils.figures import interactive

    def draw(axes, width, time):
        if width == 256:
            raise RuntimeError("this width is broken")

    figure = interactive.InteractiveFigure(draw, widths=[16, 64, 256], times=[0.0, 1.0], width=16, figsize=(2.0, 1.0))
    try:
        with pytest.raises(RuntimeError, match="broken"):
            figure.prefetch()
        assert figure.width == 16 and figure.last_error is None
    finally:
        figure.close()
