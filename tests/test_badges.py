"""The hosting setting: every launch link is written from [tool.course] in pyproject.toml."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import badges  # noqa: E402

import importlib.util  # noqa: E402

_REAL_FIND_SPEC = importlib.util.find_spec

LAUNCH = re.compile(r"https://(?:mybinder\.org/v2/gh|colab\.research\.google\.com/github)/[^)\s`]+")
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _launch_links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown")
    return LAUNCH.findall(text)


def test_every_link_is_up_to_date_with_the_setting():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "badges.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_placeholder_address_is_left():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    holders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".md", ".ipynb", ".py", ".toml", ".txt", ".yaml", ".yml", ".html", ".cfg", ""} and path.is_file():
            if "ORG/REPO" in path.read_text(encoding="utf-8", errors="ignore") and name != "tests/test_badges.py":
                holders.append(name)
    assert not holders, f"hand-edited placeholder addresses in {holders}"


def test_every_notebook_links_to_itself_on_colab_binder_and_voila():
    repository, branch = badges.hosting()
    for name in NOTEBOOKS:
        found = _launch_links(ROOT / "notebooks" / name)
        assert sorted(found) == sorted(badges.links(name, repository, branch).values()), name
    readme = _launch_links(ROOT / "README.md")
    for name in NOTEBOOKS:  # the README's table opens every notebook
        assert badges.links(name, repository, branch)["colab"] in readme, name


def test_changing_the_setting_moves_every_link(tmp_path):
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    old_repository, old_branch = badges.hosting()
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    text = text.replace(f'repository = "{old_repository}"', 'repository = "someone-else/their-fork"')
    text = text.replace(f'branch = "{old_branch}"', 'branch = "spring-term"')
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    assert badges.main(["--check", "--root", str(tmp_path)]) == 1  # out of date before
    assert badges.main(["--root", str(tmp_path)]) == 0
    assert badges.main(["--check", "--root", str(tmp_path)]) == 0  # and idempotent after
    paths = [tmp_path / "README.md", *sorted((tmp_path / "notebooks").glob("*.ipynb"))]
    every = [link for path in paths for link in _launch_links(path)]
    assert len(every) == 6 + 2 * len(NOTEBOOKS) + 3 * len(NOTEBOOKS)  # README: 3 badges, 3 in the text, 2 per table row
    assert all("someone-else/their-fork/" in link and "spring-term" in link for link in every)
    assert not any(old_repository in link for link in every)
    # nothing else changed: the code cells and their outputs are untouched but for the installer's source
    for name in NOTEBOOKS:
        before, after = (_code_cells(root / "notebooks" / name) for root in (ROOT, tmp_path))
        assert _installer(after[0]) == badges.INSTALL_CELL.format(repository="someone-else/their-fork", branch="spring-term")
        assert before[1:] == after[1:] and before[0]["outputs"] == after[0]["outputs"]


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def _installer(cell: dict) -> str:
    return "".join(cell["source"])


def test_every_notebook_starts_with_the_installer_for_its_hosting():
    repository, branch = badges.hosting()
    expected = badges.INSTALL_CELL.format(repository=repository, branch=branch)
    for name in NOTEBOOKS:
        first = _code_cells(ROOT / "notebooks" / name)[0]
        assert _installer(first) == expected, name
        assert first["outputs"] == [], f"{name}: where course_utils is installed the installer prints nothing"


def _run_installer(monkeypatch, present: bool) -> tuple[list, str]:
    import builtins
    import contextlib
    import io

    calls = []
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: _REAL_FIND_SPEC(name, *a) if present or name != "course_utils" else None)
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: calls.append((command, kwargs)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(badges.INSTALL_CELL.format(repository="someone/course", branch="main"), {"__builtins__": builtins})
    return calls, out.getvalue()


def test_the_installer_installs_from_the_repository_only_where_the_package_is_missing(monkeypatch):
    calls, printed = _run_installer(monkeypatch, present=False)
    assert len(calls) == 1
    command, kwargs = calls[0]
    assert command[1:4] == ["-m", "pip", "install"] and kwargs.get("check") is True
    assert command[-1] == "course_utils @ git+https://github.com/someone/course@main"
    assert not any("==" in part for part in command), "never the exact pins"
    assert "installed course_utils @ git+https://github.com/someone/course@main" in printed
    calls, printed = _run_installer(monkeypatch, present=True)
    assert calls == [] and printed == ""


def test_the_package_declares_ranges_not_pins():
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    assert dependencies and all(">=" in dep and "==" not in dep for dep in dependencies)


@pytest.mark.parametrize("setting, message", [('repository = "not a repo"', "owner/name"), ("", "owner/name")])
def test_a_bad_setting_is_refused(tmp_path, setting, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.course]\n{setting}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        badges.hosting(tmp_path)
