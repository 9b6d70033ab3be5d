"""The layering rules of course_utils and of the notebooks, checked on the source.

- Imports go downwards only: the core imports no upper layer; ``experiments`` imports only the
  core (and never matplotlib); ``figures`` and ``exercises`` may use experiments and the core,
  but no notebook module imports another notebook's module.
- Notebook code cells use public names only.
- Every notebook with claim checks runs the science in plain view: at least one code cell
  calls the core (``cu.train``, ``cu.empirical_ntk``, ``cu.analytic_ntk``, ``cu.GradientFlow``).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"
CORE = {"models", "kernels", "flow", "training", "data", "measure", "_validate"}
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def imported_modules(path: Path) -> set[str]:
    """Fully qualified course_utils modules (and top-level third-party names) a file imports."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "course_utils" or len(parts) == 1:
        return "other"
    if parts[1] in CORE:
        return "core"
    return parts[1]  # experiments, figures, exercises


def modules_in(folder: str) -> list[Path]:
    return sorted(p for p in (PACKAGE / folder).glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", [PACKAGE / f"{name}.py" for name in sorted(CORE)], ids=lambda p: p.stem)
def test_core_imports_no_upper_layer(path):
    upper = {m for m in imported_modules(path) if layer_of(m) in ("experiments", "figures", "exercises")}
    assert not upper, f"{path.name} (core) imports {sorted(upper)}"


@pytest.mark.parametrize("path", modules_in("experiments"), ids=lambda p: p.stem)
def test_experiments_use_only_the_core_and_never_plot(path):
    imports = imported_modules(path)
    upper = {m for m in imports if layer_of(m) in ("figures", "exercises")}
    siblings = {m for m in imports if layer_of(m) == "experiments" and m.split(".")[2:3] != [path.stem]}
    assert not upper, f"experiments/{path.name} imports an upper layer: {sorted(upper)}"
    assert not {m for m in siblings if len(m.split(".")) > 2}, f"experiments/{path.name} imports {sorted(siblings)}"
    assert not any(m == "matplotlib" or m.startswith("matplotlib.") for m in imports), f"{path.name} imports matplotlib"


@pytest.mark.parametrize("folder", ["figures", "exercises"])
def test_no_notebook_module_imports_another_notebooks_module(folder):
    for path in modules_in(folder):
        if not re.fullmatch(r"nb\d\d", path.stem):
            continue
        others = {
            m
            for m in imported_modules(path)
            if re.search(r"\.nb\d\d(\.|$)", m) and not m.startswith(f"course_utils.{folder}.{path.stem}")
        }
        assert not others, f"{folder}/{path.name} imports another notebook's module: {sorted(others)}"


def test_no_leftover_per_notebook_modules_in_the_package_root():
    assert not sorted(PACKAGE.glob("nb[0-9][0-9]*.py")), "per-notebook code lives in experiments/, figures/, exercises/"


def code_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text())
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_use_public_names_only(path):
    private = sorted(
        {m for source in code_cells(path) for m in re.findall(r"\b(?:cu|course_utils|figures|experiments|exercises|\w+)\.(_[a-z]\w*)", source)}
        - {"_repr_mimebundle_"}
    )
    assert not private, f"{path.name} calls private names: {private}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if not p.name.startswith("00_")], ids=lambda p: p.stem)
def test_each_notebook_runs_an_experiment_in_plain_view(path):
    visible = [s for s in code_cells(path) if re.search(r"\bcu\.(train|empirical_ntk|analytic_ntk|GradientFlow)\(", s)]
    assert visible, f"{path.name} has no visible cell built from the core (cu.train, cu.empirical_ntk, ...)"
