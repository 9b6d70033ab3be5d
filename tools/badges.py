"""Write every Binder, Colab and Voila link of the course from the one hosting setting.

    .venv/bin/python tools/badges.py           # rewrite README.md and the notebooks (make badges)
    .venv/bin/python tools/badges.py --check   # exit 1 and name the files that are out of date

The repository's address lives in pyproject.toml only::

    [tool.course]
    repository = "owner/name"   # where the course is hosted on GitHub
    branch = "main"

From it this script writes, and nothing else edits by hand:

* README.md: the launch badges and lines between ``<!-- BEGIN launch links -->`` and
  ``<!-- END launch links -->``, and the last column ("Open") of the notebook table;
* every notebook: one line of plain links (Colab, Binder, Voila) between
  ``<!-- launch links -->`` and ``<!-- /launch links -->`` in its first Markdown cell. Plain
  links, not badge images: a notebook, and the static site built from the notebooks, fetch
  nothing from outside (the offline tests check that);
* every notebook's first code cell, the Colab/Kaggle installer (``INSTALL_CELL``; inserted
  where missing), with the repository and branch it installs from.

The static site shows the notebooks' links as they are, so it follows the same setting.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README_BEGIN, README_END = "<!-- BEGIN launch links -->", "<!-- END launch links -->"
NB_BEGIN, NB_END = "<!-- launch links -->", "<!-- /launch links -->"
TABLE_ROW = re.compile(r"^\| `notebooks/(?P<name>[^`]+\.ipynb)` \| (?P<topic>[^|]*?) \|(?: [^|]* \|)?$")
REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
HOSTING_LINE = re.compile(r'^COURSE_REPOSITORY, COURSE_BRANCH = "[^"]*", "[^"]*"  # written by `make badges`$', re.M)
INSTALL_CELL = """\
# Colab or Kaggle: install the course's helper package when it is missing, with the version
# ranges of its pyproject.toml (not the course's exact pins, which would fight the runtime's own
# packages). Wherever the course is set up (make lab, Binder, a JupyterHub) it does nothing and
# prints nothing.
import importlib
import importlib.util
import subprocess
import sys

COURSE_REPOSITORY, COURSE_BRANCH = "{repository}", "{branch}"  # written by `make badges`
if importlib.util.find_spec("course_utils") is None:
    source = f"course_utils @ git+https://github.com/{{COURSE_REPOSITORY}}@{{COURSE_BRANCH}}"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)
    importlib.invalidate_caches()
    print(f"installed {{source}} and the packages its pyproject.toml requires")"""


def hosting(root: Path = ROOT) -> tuple[str, str]:
    """``(repository, branch)`` from ``[tool.course]`` of pyproject.toml, checked."""
    with open(root / "pyproject.toml", "rb") as handle:
        table = tomllib.load(handle).get("tool", {}).get("course", {})
    repository, branch = table.get("repository"), table.get("branch", "main")
    if not isinstance(repository, str) or not REPOSITORY.match(repository):
        raise ValueError(f"pyproject.toml [tool.course] repository must be a GitHub 'owner/name'; got {repository!r}")
    if not isinstance(branch, str) or not BRANCH.match(branch):
        raise ValueError(f"pyproject.toml [tool.course] branch must be a branch name; got {branch!r}")
    return repository, branch


def links(notebook: str, repository: str, branch: str) -> dict[str, str]:
    """The launch addresses of one notebook (a file name in notebooks/)."""
    binder = f"https://mybinder.org/v2/gh/{repository}/{branch}?urlpath="
    return {
        "colab": f"https://colab.research.google.com/github/{repository}/blob/{branch}/notebooks/{notebook}",
        "binder": f"{binder}lab/tree/notebooks/{notebook}",
        "voila": f"{binder}voila/render/notebooks/{notebook}",
    }


def notebook_line(notebook: str, repository: str, branch: str) -> str:
    ref = links(notebook, repository, branch)
    return (f"{NB_BEGIN}Open this notebook in [Colab]({ref['colab']}) · [Binder (JupyterLab)]({ref['binder']}) · "
            f"[Voila, code hidden]({ref['voila']}){NB_END}")


def readme_block(repository: str, branch: str) -> str:
    first = "00_start_here.ipynb"
    ref = links(first, repository, branch)
    binder = f"https://mybinder.org/v2/gh/{repository}/{branch}"
    return "\n".join([
        README_BEGIN,
        f"[![JupyterLab on Binder](https://mybinder.org/badge_logo.svg)]({ref['binder']})",
        f"[![Voila demo on Binder](https://mybinder.org/badge_logo.svg)]({ref['voila']})",
        f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({ref['colab']})",
        "",
        f"Launch on Binder: JupyterLab, `{ref['binder']}`;",
        f"the Voila instructor view with code hidden, `{ref['voila']}`",
        "(any notebook: `?urlpath=voila/render/notebooks/NAME.ipynb`; the list: "
        f"`{binder}?urlpath=voila/tree/notebooks`). On Colab or Kaggle, open a notebook from the",
        "table below: its first code cell installs `course_utils` when it is missing. These links are",
        f"written by `make badges` from `[tool.course]` in pyproject.toml (now `{repository}`, branch",
        f"`{branch}`): set it to where your copy is hosted and run `make badges`.",
        README_END,
    ])


def updated_readme(text: str, repository: str, branch: str) -> str:
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"README.md has no {README_BEGIN} ... {README_END} block")
    start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    text = text[:start] + readme_block(repository, branch) + text[end:]
    lines, in_table = [], False
    for line in text.split("\n"):
        if line.startswith("| Notebook | Topic |"):
            line, in_table = "| Notebook | Topic | Open |", True
        elif in_table and line.startswith("|---"):
            line = "|---|---|---|"
        elif in_table and (match := TABLE_ROW.match(line)):
            name, ref = match["name"], links(match["name"], repository, branch)
            line = f"| `notebooks/{name}` | {match['topic']} | [Colab]({ref['colab']}) · [Binder]({ref['binder']}) |"
        elif in_table:
            in_table = False
        lines.append(line)
    return "\n".join(lines)


def updated_notebook(text: str, name: str, repository: str, branch: str) -> str:
    notebook = json.loads(text)
    cell = next((c for c in notebook["cells"] if c["cell_type"] == "markdown"), None)
    if cell is None:
        raise ValueError(f"{name} has no Markdown cell for its launch links")
    source = "".join(cell["source"])
    line = notebook_line(name, repository, branch)
    if NB_BEGIN in source and NB_END in source:
        start, end = source.index(NB_BEGIN), source.index(NB_END) + len(NB_END)
        source = source[:start] + line + source[end:]
    else:  # first run: after the title line
        title, _, rest = source.partition("\n")
        source = f"{title}\n\n{line}\n{rest}" if rest else f"{title}\n\n{line}"
    cell["source"] = source.splitlines(True)
    install = INSTALL_CELL.format(repository=repository, branch=branch)
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    if code and HOSTING_LINE.search("".join(code[0]["source"])):
        code[0]["source"] = install.splitlines(True)  # the installer, as this script writes it
    else:  # first run: the installer becomes the first code cell
        first_code = notebook["cells"].index(code[0]) if code else len(notebook["cells"])
        notebook["cells"].insert(first_code, {"cell_type": "code", "execution_count": None, "id": f"install-{name[:2]}",
                                              "metadata": {}, "outputs": [], "source": install.splitlines(True)})
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def targets(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args(argv)
    repository, branch = hosting(args.root)
    stale = []
    for path in targets(args.root):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            new = updated_readme(text, repository, branch)
        else:
            new = updated_notebook(text, path.name, repository, branch)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "out of date" if args.check else "rewritten"
    for path in stale:
        print(f"{path.relative_to(args.root)}: {verb}")
    if not stale:
        print(f"every launch link points at {repository} ({branch})")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
