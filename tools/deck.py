"""The instructor's deck (`make demo`): one slide per interactive demo, generated from the notebooks.

    python tools/deck.py build [--notebooks 00,04]      write _deck/NN_<name>.ipynb and stop
    python tools/deck.py serve [--port 8866] [--notebooks 00,04] [--theme dark]
                               [--classroom --token SECRET]

``build`` reads every course notebook and writes one deck notebook per course notebook into
``_deck/`` (git-ignored, rewritten on every run, so a deck never drifts from its notebook):

* slide 0, the index: this notebook's title and the list of every notebook's demos, as links;
* one slide per demo: the demo's heading (``### Interactive demo 4.1: ...``) as the slide's title;
  the demo's code cell copied verbatim (the call to ``figures.<name>_demo()``, its figure and
  controls); and, as speaker notes (``s`` shows or hides them), the rest of the heading's cell
  (what the figure shows and the "Try this" steps) and the **Think!** cell after the demo.

A demo is a code cell that calls ``figures.<name>_demo(`` (every interactive figure of the course
is built that way); adding one to a notebook adds a slide.

``serve`` builds the decks, then runs Voila on them with the course's ``ntk-deck`` template
(tools/deck_template: one slide at a time, keyboard navigation, projector sizes, light or dark),
code hidden, every deck pre-run in its own kernel at start-up, and prints a line per deck as it
becomes ready and one line when all are. It serves 127.0.0.1 only, unless ``--classroom`` is
given: then it listens on every interface and asks for a token (``--token``, or a random one it
prints; students open ``http://<this machine>:PORT/?token=SECRET``).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
DECK_DIR = ROOT / "_deck"
TEMPLATE_ROOT = ROOT / "tools" / "deck_template"
TEMPLATE_NAME = "ntk-deck"
# A 1920x1080 projector: a 10-inch-wide figure at 120 dpi is 1200 pixels, which the deck scales
# to the screen; a higher dpi is sharper but each redraw costs more (bench/bench_deck.py).
PROJECTOR_DPI = 120
READY_ENV = "NTK_DECK_READY_DIR"

DEMO_CALL = re.compile(r"\bfigures\.(\w+_demo)\(")
DEMO_HEADING = re.compile(r"^#{2,4}\s+(Interactive demo\s+[\w.]+\s*:?\s*.*)$", re.M)
ANY_HEADING = re.compile(r"^#{1,4}\s+(.+)$", re.M)
FIGURES_IMPORT = re.compile(r"^from course_utils\.figures import (nb\d\d) as figures\b.*$", re.M)


@dataclass
class Demo:
    title: str  # "Interactive demo 4.1: a network and its kernel prediction"
    function: str  # "flow_demo"
    code: str  # the demo cell, verbatim
    notes: str  # markdown: the heading cell after the heading, then the Think! cell
    cell_index: int  # where the demo cell is in its notebook


@dataclass
class Deck:
    notebook: str  # "04_gradient_flow_ode.ipynb"
    title: str  # "04 · Gradient flow as a linear ODE"
    figures_module: str  # "nb04"
    demos: list[Demo] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return Path(self.notebook).stem


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def read_deck(path: Path) -> Deck:
    """The deck of one notebook: its title and its demos, in order.

    Raises ValueError for a notebook without a ``# `` title, or with a demo but no
    ``from course_utils.figures import nbNN as figures`` import.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    title = next((m.group(1).strip() for c in cells if c.cell_type == "markdown"
                  for m in [re.search(r"^#\s+(.+)$", _source(c), re.M)] if m), None)
    if title is None:
        raise ValueError(f"{path.name}: no '# ' title in any Markdown cell")
    module = next((m.group(1) for c in cells if c.cell_type == "code"
                   for m in [FIGURES_IMPORT.search(_source(c))] if m), None)
    deck = Deck(notebook=path.name, title=title, figures_module=module or "")
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        code = _source(cell)
        call = DEMO_CALL.search(code)
        if not call:
            continue
        if not module:
            raise ValueError(f"{path.name}: cell {index} builds a demo but the notebook never imports "
                             "'from course_utils.figures import nbNN as figures'")
        _check_self_contained(code, path.name, index)
        heading_title, before = _heading_before(cells, index)
        think = ""
        if index + 1 < len(cells) and cells[index + 1].cell_type == "markdown":
            following = _source(cells[index + 1]).strip()
            if following.startswith("**Think!"):
                think = following
        notes = "\n\n".join(part for part in (before, think) if part)
        deck.demos.append(Demo(title=heading_title or call.group(1).replace("_", " "), function=call.group(1),
                               code=code, notes=notes, cell_index=index))
    return deck


DECK_NAMES = {"figures", "interactive"}  # what a deck's setup cell defines for its demo cells


def _check_self_contained(code: str, notebook: str, index: int) -> None:
    """A demo cell runs alone in its deck: it may use only ``figures``, builtins and its own names.

    Raises ValueError naming the notebook variables it would miss (found at build time, not in
    front of a class). IPython magics (``%...``) are left out of the check.
    """
    source = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ValueError(f"{notebook}: demo cell {index} is not valid Python: {err}") from None
    defined = set(DECK_NAMES) | set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            defined.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    missing = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - defined)
    if missing:
        raise ValueError(f"{notebook}: demo cell {index} uses {', '.join(missing)} from the notebook; a deck runs "
                         "the demo cell alone, so pass what it needs to figures.<name>_demo(...) or compute it there")


def _heading_before(cells, index: int) -> tuple[str, str]:
    """The nearest heading above cell ``index`` and the Markdown from it to the demo.

    The demo's own heading (``### Interactive demo ...``) is preferred; the text kept as notes
    is what follows the heading line in that cell and in any Markdown cells up to the demo.
    """
    for j in range(index - 1, -1, -1):
        cell = cells[j]
        if cell.cell_type == "code" and DEMO_CALL.search(_source(cell)):
            break  # the previous demo: its heading is not this one's
        if cell.cell_type != "markdown":
            continue
        text = _source(cell)
        headings = list(DEMO_HEADING.finditer(text)) or list(ANY_HEADING.finditer(text))
        if not headings:
            continue
        last = headings[-1]
        after = [text[last.end():].strip()] + [_source(c).strip() for c in cells[j + 1:index] if c.cell_type == "markdown"]
        return last.group(1).strip(), "\n\n".join(a for a in after if a)
    return "", ""


def course_decks(notebook_dir: Path = NOTEBOOK_DIR, only: list[str] | None = None) -> list[Deck]:
    """Every notebook's deck (those with at least one demo), optionally only the given numbers."""
    paths = sorted(Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = {n.zfill(2) for n in only}
        unknown = wanted - {p.name[:2] for p in paths}
        if unknown:
            raise ValueError(f"no notebook numbered {sorted(unknown)} in {notebook_dir}")
        paths = [p for p in paths if p.name[:2] in wanted]
    return [deck for deck in map(read_deck, paths) if deck.demos]


def _slide_meta(slide: int, role: str) -> dict:
    return {"deck": {"slide": slide, "role": role}}


def _index_markdown(decks: list[Deck], current: Deck) -> str:
    lines = [f"# {current.title}", "", f"**{len(current.demos)} live demo(s)** in this deck. Keys: "
             "<kbd>PageDown</kbd>/<kbd>PageUp</kbd> (or <kbd>n</kbd>/<kbd>p</kbd>) next and previous slide, "
             "<kbd>Tab</kbd> to a control and the arrow keys to move it, <kbd>s</kbd> speaker notes, "
             "<kbd>Home</kbd> this index.", "", "## The course's demos", ""]
    for deck in decks:
        mark = " (this deck)" if deck is current else ""
        lines.append(f"* **[{deck.title}]({deck.stem}.ipynb)**{mark}")
        for k, demo in enumerate(deck.demos, start=1):
            lines.append(f"  {k}. [{demo.title}]({deck.stem}.ipynb#slide-{k})")
    return "\n".join(lines)


def deck_notebook(deck: Deck, decks: list[Deck], dpi: int = PROJECTOR_DPI) -> nbformat.NotebookNode:
    """The deck of ``deck`` as a notebook whose cells carry ``metadata.deck = {slide, role}``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["deck"] = {"source": deck.notebook, "demos": len(deck.demos)}
    setup = (
        f"# Generated by tools/deck.py from notebooks/{deck.notebook}: edit the notebook, not this file.\n"
        "%matplotlib inline\n"
        "import time as _deck_time\n"
        "_deck_started = _deck_time.perf_counter()\n"
        "from course_utils.figures import interactive\n"
        f"from course_utils.figures import {deck.figures_module} as figures\n"
        f"_deck_previous_dpi = interactive.set_default_dpi({int(dpi)})   # projector size: figure and fonts scale together\n"
    )
    cells = [nbformat.v4.new_code_cell(setup, metadata=_slide_meta(-1, "setup")),
             nbformat.v4.new_markdown_cell(_index_markdown(decks, deck), metadata=_slide_meta(0, "index"))]
    for k, demo in enumerate(deck.demos, start=1):
        label, _, name = demo.title.partition(":")
        number = label.replace("Interactive demo", "").strip() if name else ""
        heading = (f"## {name.strip() if name else demo.title}\n\n<span class='deck-where'>{deck.title}"
                   + (f" · demo {number} in the notebook" if number else "") + "</span>")
        cells.append(nbformat.v4.new_markdown_cell(heading, metadata=_slide_meta(k, "title")))
        cells.append(nbformat.v4.new_code_cell(demo.code, metadata=_slide_meta(k, "demo")))
        notes = demo.notes or "_(no notes in the notebook for this demo)_"
        cells.append(nbformat.v4.new_markdown_cell(notes, metadata=_slide_meta(k, "notes")))
    ready = (
        "# Visit every width (and every other expensive control's value) of each demo once now, so\n"
        "# that no first move makes the class wait; then tell `tools/deck.py serve` this deck is ready.\n"
        "_deck_visited = interactive.prefetch_all()\n"
        "import json as _deck_json, os as _deck_os, pathlib as _deck_pathlib\n"
        f"if _deck_os.environ.get({READY_ENV!r}):\n"
        f"    _deck_marker = _deck_pathlib.Path(_deck_os.environ[{READY_ENV!r}], {deck.stem + '.json'!r})\n"
        "    _deck_marker.with_suffix('.tmp').write_text(_deck_json.dumps(\n"
        "        {'seconds': _deck_time.perf_counter() - _deck_started, 'visited': _deck_visited, 'pid': _deck_os.getpid()}))\n"
        "    _deck_os.replace(_deck_marker.with_suffix('.tmp'), _deck_marker)  # whole, or not there\n"
    )
    cells.append(nbformat.v4.new_code_cell(ready, metadata=_slide_meta(-1, "setup")))
    nb.cells = cells
    return nb


def build(out_dir: Path = DECK_DIR, notebook_dir: Path = NOTEBOOK_DIR, only: list[str] | None = None,
          dpi: int = PROJECTOR_DPI) -> list[Path]:
    """Write one deck per notebook into ``out_dir`` (emptied first); return their paths."""
    decks = course_decks(notebook_dir, only)
    if not decks:
        raise ValueError(f"no notebook in {notebook_dir} has an interactive demo")
    out_dir = Path(out_dir)
    if out_dir.resolve() == Path(notebook_dir).resolve():
        raise ValueError(f"the decks cannot be written into the notebooks' own folder {notebook_dir}")
    if out_dir.exists():
        for old in out_dir.glob("*.ipynb"):
            if "deck" not in nbformat.read(old, as_version=4).metadata:
                raise ValueError(f"{old} is not a deck (no deck metadata): the decks need a folder of their own")
            old.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for deck in decks:
        path = out_dir / deck.notebook
        nbformat.write(deck_notebook(deck, decks, dpi), path)
        written.append(path)
    return written


# ----------------------------------------------------------------------------- serving
def voila_command(deck_dir: Path, port: int, *, theme: str = "light", classroom: bool = False,
                  token: str | None = None, refill_delay: float = 3600.0) -> list[str]:
    """Voila's command line for the decks (tests and the bench run exactly this)."""
    if theme not in ("light", "dark"):
        raise ValueError(f"theme must be 'light' or 'dark'; got {theme!r}")
    if classroom and not token:
        raise ValueError("--classroom serves every interface: give --token too (students add ?token=... to the URL)")
    return [
        sys.executable, str(ROOT / "tools" / "deck_voila.py"), str(deck_dir), "--no-browser",
        f"--Voila.ip={'0.0.0.0' if classroom else '127.0.0.1'}", f"--port={port}", "--Voila.port_retries=0",
        f"--template={TEMPLATE_NAME}", f"--theme={theme}",
        # tracebacks help the instructor; students on the classroom network get the message only
        "--VoilaConfiguration.strip_sources=True", f"--VoilaConfiguration.show_tracebacks={not classroom}",
        "--VoilaConfiguration.extension_denylist=jupytext", "--VoilaConfiguration.extension_denylist=jupyterlab-jupytext",
        "--VoilaExecutor.timeout=300", "--VoilaExecutor.startup_timeout=120",
        # one pre-run kernel per deck; a used one is replaced only after refill_delay seconds, so
        # a spare pre-run does not take the CPU from the demo being shown (deck_voila.py makes a
        # page that finds no started kernel start a fresh one at once instead of waiting)
        "--preheat_kernel=True", "--pool_size=1", f"--VoilaKernelManager.fill_delay={float(refill_delay)}",
        *([f"--Voila.token={token}"] if token else []),
    ]


def voila_env(ready_dir: Path) -> dict:
    """The environment of the Voila process: the deck template found first, the ready folder."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join([str(TEMPLATE_ROOT), *filter(None, [env.get("JUPYTER_PATH")])])
    env[READY_ENV] = str(ready_dir)
    return env


def wait_until_ready(ready_dir: Path, stems: list[str], started: float, process: subprocess.Popen | None = None,
                     timeout: float = 900.0, echo=print) -> dict[str, float]:
    """Print a line per deck as its pre-run finishes; return ``{stem: seconds since start}``."""
    ready: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(ready) < len(stems) and time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"Voila stopped (exit code {process.returncode}) before every deck was ready")
        for stem in stems:
            marker = Path(ready_dir) / f"{stem}.json"
            if stem not in ready and marker.exists():
                try:
                    run = json.loads(marker.read_text())
                except ValueError:  # caught while the kernel writes it: read it next round
                    continue
                ready[stem] = time.monotonic() - started
                echo(f"deck: {stem} ready after {ready[stem]:.0f} s (its demos and {run.get('visited', '?')} first "
                     f"visits took {run.get('seconds', float('nan')):.1f} s)  [{len(ready)}/{len(stems)}]",
                     flush=True)
        time.sleep(0.25)
    return ready


def _lan_address() -> str:
    """This machine's address on its network, best effort (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("10.255.255.255", 1))
            return sock.getsockname()[0]
    except OSError:
        return socket.gethostname()


def _die_with_parent() -> None:
    """In Voila's process: get SIGTERM when this one dies, however it dies (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve(args) -> int:
    only = args.notebooks.split(",") if args.notebooks else None
    deck_dir = Path(args.deck_dir)
    paths = build(deck_dir, Path(args.notebook_dir), only, args.dpi)
    stems = [p.stem for p in paths]
    ready_dir = deck_dir / ".ready"
    shutil.rmtree(ready_dir, ignore_errors=True)
    ready_dir.mkdir(parents=True)
    token = args.token
    if args.classroom and not token:
        token = secrets.token_urlsafe(12)
        print("deck: --classroom without --token: using a random token")
    cmd = voila_command(deck_dir, args.port, theme=args.theme, classroom=args.classroom, token=token,
                        refill_delay=args.refill_delay)
    log_path = deck_dir / ".voila.log"  # a dot file: not listed on the deck server's index page
    started = time.monotonic()
    # Voila stays in this process's group (Ctrl-C reaches both) and dies with it (PDEATHSIG);
    # SIGTERM to this process stops Voila first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(log_path, "w") as log:
        process = subprocess.Popen(cmd, env=voila_env(ready_dir), stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=_die_with_parent)
    host = "127.0.0.1" if not args.classroom else _lan_address()
    query = f"?token={token}" if token else ""
    print(f"deck: pre-running {len(stems)} deck(s) ({', '.join(stems)}); Voila's log: {log_path}", flush=True)
    try:
        try:
            wait_until_ready(ready_dir, stems, started, process, timeout=args.ready_timeout)
        except RuntimeError as err:
            print(f"deck: {err}; the end of Voila's log:\n{log_path.read_text()[-3000:]}", flush=True)
            return 1
        missing = [s for s in stems if not (ready_dir / f"{s}.json").exists()]
        if missing:
            print(f"deck: not ready after {args.ready_timeout:.0f} s: {', '.join(missing)} (see {log_path})", flush=True)
        else:
            print(f"deck: READY in {time.monotonic() - started:.0f} s: open http://{host}:{args.port}/voila/render/{stems[0]}.ipynb{query}"
                  f"  (all decks: http://{host}:{args.port}/{query})", flush=True)
        print("deck: Ctrl-C stops it", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("build", "serve"):
        p = sub.add_parser(name)
        p.add_argument("--notebooks", default=os.environ.get("DEMO_NOTEBOOKS", ""),
                       help="comma-separated notebook numbers (default: all), e.g. 00,04")
        p.add_argument("--dpi", type=int, default=int(os.environ.get("DEMO_DPI", PROJECTOR_DPI)))
        p.add_argument("--deck-dir", default=str(DECK_DIR), help="where the decks are written (default _deck/)")
        p.add_argument("--notebook-dir", default=str(NOTEBOOK_DIR))
    serve_parser = sub.choices["serve"]
    serve_parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", 8866)))
    serve_parser.add_argument("--theme", default=os.environ.get("DEMO_THEME", "light"), choices=("light", "dark"))
    serve_parser.add_argument("--classroom", action="store_true",
                              help="serve every network interface (students' machines), token required")
    serve_parser.add_argument("--token", default=os.environ.get("DEMO_TOKEN"))
    serve_parser.add_argument("--refill-delay", type=float, default=float(os.environ.get("DEMO_REFILL_S", 3600)),
                              help="seconds before an opened deck gets a new spare pre-run kernel (default: an hour, "
                                   "after the lecture)")
    serve_parser.add_argument("--ready-timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            for path in build(Path(args.deck_dir), Path(args.notebook_dir),
                              args.notebooks.split(",") if args.notebooks else None, args.dpi):
                print(f"deck: wrote {path}")
            return 0
        return serve(args)
    except ValueError as err:
        print(f"deck: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
