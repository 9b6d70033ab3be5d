"""Render every interactive figure of one notebook as frames for the static site.

    .venv/bin/python tools/site_frames.py notebooks/04_gradient_flow_ode.ipynb --out _site/frames/04_gradient_flow_ode
                                          [--max-frames 250] [--colours 96]

Finds the notebook's demo cells as the deck does (``tools/deck.py``: a cell that calls
``figures.<name>_demo(``; each runs alone with only ``figures`` defined), runs each one in this
process, and renders its figure at every point of ``InteractiveFigure.frame_grid``: every value
of every control, a control thinned evenly only where the grid would pass ``--max-frames``.
Each frame is the PNG a student's move would show, stored as an indexed-colour PNG (``--colours``
colours: line art loses nothing visible and the file shrinks three- to five-fold), with the
figure's alt text at those values.

Writes ``<out>/<cell index>/<frame>.png`` and ``<out>/frames.json``::

    [{"cell": 27, "function": "flow_demo", "title": "...",
      "controls": [{"name": "width", "description": "width", "labels": [...], "values": [...],
                    "of": 5}, ...],        # the grid's options per control, "of" = all options
      "default": 12, "alt": ["...", ...], "bytes": 812345, "seconds": 9.1}, ...]

Frame ``k`` is the grid point whose control positions ``p_i`` satisfy
``k = (((p_0) * n_1 + p_1) * n_2 + p_2) ...`` in the order of ``controls``.
``tools/build_site.py`` runs this once per notebook, each in its own process (memory goes back
to the system between notebooks).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import deck  # noqa: E402  (tools/deck.py: the one reader of demo cells)


def run_demo(code: str, figures_module: str):
    """Run a demo cell alone (as its deck slide does) and return the figure it ends with."""
    import importlib

    from course_utils.figures.interactive import InteractiveFigure

    namespace = {"figures": importlib.import_module(f"course_utils.figures.{figures_module}")}
    source = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    tree = ast.parse(source)
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr):
        raise ValueError("a demo cell must end with the figure (an expression) to render its frames")
    exec(compile(ast.Module(body=tree.body[:-1], type_ignores=[]), "<demo>", "exec"), namespace)
    figure = eval(compile(ast.Expression(last.value), "<demo>", "eval"), namespace)
    if not isinstance(figure, InteractiveFigure):
        raise ValueError(f"the demo cell ends with a {type(figure).__name__}, not an InteractiveFigure")
    return figure


def indexed_png(png: bytes, colours: int) -> bytes:
    """``png`` with at most ``colours`` colours (an indexed PNG): the site's frame format."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    quantized = image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    quantized.save(out, format="PNG", optimize=True)
    return out.getvalue()


def frame_number(grid: dict[str, list[int]], positions: dict[str, int]) -> int:
    """The file number of a grid point: its positions as a mixed-radix number, first control first."""
    number = 0
    for name, picks in grid.items():
        number = number * len(picks) + positions[name]
    return number


def render_notebook(path: Path, out: Path, *, max_frames: int, colours: int) -> list[dict]:
    from course_utils import _memory

    the_deck = deck.read_deck(path)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for demo in the_deck.demos:
        start = time.perf_counter()
        figure = run_demo(demo.code, the_deck.figures_module)
        grid = figure.frame_grid(max_frames)
        names = list(grid)
        current = figure.values
        default = frame_number(grid, {name: grid[name].index(figure._option_values(name).index(current[name]))
                                      for name in names})
        folder = out / str(demo.cell_index)
        folder.mkdir(exist_ok=True)
        alts, total = {}, 0
        for indices, png, alt in figure.frames(max_frames):
            number = frame_number(grid, indices)
            data = indexed_png(png, colours)
            (folder / f"{number}.png").write_bytes(data)
            alts[number] = alt
            total += len(data)
        controls = []
        for name in names:
            control = figure.controls[name]
            labels = [option[0] if isinstance(option, tuple) else str(option) for option in control.options]
            values = figure._option_values(name)
            controls.append({
                "name": name,
                "description": control.description or name,
                "labels": [labels[i] for i in grid[name]],
                "values": [values[i] if isinstance(values[i], (int, float, str)) else str(values[i]) for i in grid[name]],
                "of": len(values),
            })
        records.append({
            "cell": demo.cell_index,
            "function": demo.function,
            "title": demo.title,
            "controls": controls,
            "default": default,
            "alt": [alts[k] for k in range(len(alts))],
            "bytes": total,
            "seconds": round(time.perf_counter() - start, 2),
        })
        print(f"{path.stem} cell {demo.cell_index} {demo.function}: {len(alts)} frames, "
              f"{total / 1e6:.2f} MB, {records[-1]['seconds']:.1f} s", flush=True)
        figure.close()
        del figure
        _memory.end_of_cell()
    (out / "frames.json").write_text(json.dumps(records, indent=1))
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-frames", type=int, default=250)
    parser.add_argument("--colours", type=int, default=96)
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    render_notebook(args.notebook, args.out, max_frames=args.max_frames, colours=args.colours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
