"""Run the course at the lowest versions pyproject.toml allows, as a hosted runtime may have them.

Colab and Kaggle come with their own numpy, jax, scipy, ... already installed; every notebook's
first cell (tools/badges.py, INSTALL_CELL) then pip-installs course_utils with the version ranges
of pyproject.toml, which keeps whatever installed version satisfies them. So the ranges' lower
bounds are a promise: the course works there. This script checks it:

1. a fresh venv (default ``.lowest-venv/``, ignored by git) from the Python that
   ``requires-python`` names as its lowest (``python3.11``; ``--python`` or ``LOWEST_PYTHON``
   for another);
2. every dependency of ``[project] dependencies`` at its lower bound (``jax>=0.4.31`` ->
   ``jax==0.4.31``; one without a lower bound is an error that names it), together with the
   notebook runner (ipykernel, nbclient, nbformat, at requirements.txt's pins);
3. course_utils installed the way the install cell does it: ``pip install "course_utils @ URL"``
   with pip's dependency resolution (not ``--no-deps``), from a copy of this checkout instead of
   GitHub; pip must keep every installed package as it was (nothing upgraded) and ``pip check``
   must pass;
4. notebooks/00_start_here.ipynb and 03_tangent_kernel.ipynb (JAX training, the empirical and
   analytic kernels, the kernel-convergence experiments) executed in that venv through
   tools/nbexec.py, with a cold JAX compilation cache as in a new hosted session; no cell may
   raise and no printed claim check may read ``[FAILS]`` unless it does so in the stored
   outputs too (05 shows one failing on purpose).

    .venv/bin/python tools/lowest_venv.py                 (tests/test_lowest_versions.py runs this)
    .venv/bin/python tools/lowest_venv.py --fresh          (rebuild the venv)
    .venv/bin/python tools/lowest_venv.py /tmp/v --notebooks 00_start_here.ipynb 06_limitations.ipynb

The venv is reused while pyproject.toml, the runner pins and the interpreter are unchanged (a
stamp file in it); ``--fresh``, ``LOWEST_FRESH=1`` or ``CI=true`` rebuild it. course_utils is
reinstalled on every run. Exits 0 when everything held, 1 with a ``FAIL:`` line otherwise;
``--report FILE`` writes what was found (versions, per-notebook times, claim checks) as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.version import Version
except ImportError:  # a bare interpreter: pip carries a copy
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = ROOT / ".lowest-venv"
STAMP_NAME = ".lowest-stamp"
DEFAULT_NOTEBOOKS = ("00_start_here.ipynb", "03_tangent_kernel.ipynb")
# The notebook runner is not under test: a hosted runtime brings its own Jupyter (and its
# ipykernel), which pyproject.toml does not constrain. These three are taken at the exact pins
# of requirements.txt, the versions the course's own venv is tested with, so the check is
# reproducible and a failure points at a pyproject.toml range, not at a new Jupyter release.
# None of them depends on numpy, jax, scipy, matplotlib or scikit-learn, so they do not move
# the lowest versions (the check below would say so).
RUNNER = ("ipykernel", "nbclient", "nbformat")
# What the package's build copies of the checkout (pyproject.toml names README.md as readme).
PACKAGE_FILES = ("pyproject.toml", "README.md", "course_utils")
START = time.perf_counter()


class CheckFailed(Exception):
    """A step of the check failed; the message says which and why."""


def step(message: str) -> None:
    print(f"[lowest +{time.perf_counter() - START:.0f}s] {message}", flush=True)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# ----------------------------------------------------------------------------- the ranges
def lowest_versions(dependencies: list[str]) -> dict[str, str]:
    """``{name: lowest allowed version}`` for PEP 508 requirement strings.

    The lower bound is the largest ``>=``, ``==`` or ``~=`` version of a requirement; it must
    itself satisfy the whole specifier (``>=1.2,!=1.2`` has no installable lower bound). A
    requirement without one (``foo``, ``foo<2``, ``foo>1``: the lowest version above 1 is not
    known) raises ValueError naming it. Requirements whose marker is false here are left out.
    """
    found: dict[str, str] = {}
    for text in dependencies:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        if req.url:
            raise ValueError(f"dependency {text!r} is a direct URL: it has no lowest version")
        bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
        if not bounds:
            raise ValueError(
                f"dependency {text!r} of pyproject.toml has no lower bound (>=, == or ~=): "
                f"the lowest version a hosted runtime may have is not defined; give it one"
            )
        low = max(bounds)
        if not req.specifier.contains(low, prereleases=True):
            raise ValueError(f"dependency {text!r}: its lower bound {low} is excluded by its own specifier")
        name = canonical(req.name)
        if name in found:
            raise ValueError(f"dependency {req.name!r} is listed twice in pyproject.toml")
        found[name] = str(low)
    return found


def project(root: Path = ROOT) -> dict:
    with open(root / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]


def runner_pins(root: Path = ROOT) -> dict[str, str]:
    """The notebook runner's exact pins from requirements.txt."""
    pins = {}
    for line in (root / "requirements.txt").read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9._-]+)\s*==\s*([^\s;#]+)", line)
        if match and canonical(match.group(1)) in RUNNER:
            pins[canonical(match.group(1))] = match.group(2)
    missing = [name for name in RUNNER if name not in pins]
    if missing:
        raise CheckFailed(f"requirements.txt pins no {', '.join(missing)} (the notebook runner of this check)")
    return pins


def python_floor(spec: str) -> str:
    """``'3.11'`` for ``requires-python = '>=3.11'``."""
    match = re.search(r">=\s*(\d+)\.(\d+)", spec or "")
    if not match:
        raise CheckFailed(f"requires-python {spec!r} names no lowest Python (>=X.Y)")
    return f"{match.group(1)}.{match.group(2)}"


def pick_python(floor: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    on_path = shutil.which(f"python{floor}")
    if on_path:
        return on_path
    if "%d.%d" % sys.version_info[:2] == floor:
        return sys.executable
    raise CheckFailed(f"python{floor} (the lowest Python of requires-python) not found; set --python or LOWEST_PYTHON")


# ----------------------------------------------------------------------------- the venv
def run(cmd: list, what: str, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise CheckFailed(f"{what} (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-6000:]}")
    return proc


def installed(venv: Path) -> dict[str, str]:
    """``{canonical name: version}`` of every distribution in the venv."""
    code = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    proc = run([venv / "bin" / "python", "-I", "-c", code], "listing the venv's packages")
    return {canonical(name): version for name, version in json.loads(proc.stdout).items()}


def venv_env(venv: Path) -> dict[str, str]:
    """The environment of a process 'inside' the venv: its bin/ first, nothing of the checkout."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "CONDA_PREFIX"):
        env.pop(name, None)  # MPLBACKEND=Agg is set by tests/conftest.py; kernels get the inline backend
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def build(venv: Path, python: str, pins: dict[str, str], stamp: str, fresh: bool) -> bool:
    """Create the venv with ``pins`` installed; True when an existing one was reused."""
    stamp_file = venv / STAMP_NAME
    if not fresh and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        step(f"reusing {venv} (pyproject.toml, runner pins and interpreter unchanged; --fresh rebuilds it)")
        return True
    shutil.rmtree(venv, ignore_errors=True)
    run([python, "-m", "venv", venv], f"creating the venv with {python}")
    step(f"fresh venv in {venv}")
    # Wheels only: a hosted runtime has binaries, and a source build of an old numpy would take
    # most of an hour before failing for reasons that say nothing about the course.
    specs = [f"{name}=={version}" for name, version in pins.items()]
    run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--only-binary=:all:", *specs],
        "installing the lowest versions (" + " ".join(specs) + ")",
        env=venv_env(venv),
    )
    stamp_file.write_text(stamp + "\n")
    step("pip install " + " ".join(specs) + " done")
    return False


def install_like_the_cell(venv: Path, workdir: Path) -> str:
    """``pip install "course_utils @ <copy of the checkout>"``, with dependency resolution."""
    source = workdir / "course_utils-src"
    for name in PACKAGE_FILES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, source / name)
    env = venv_env(venv)
    pip = [venv / "bin" / "python", "-m", "pip"]
    # the state the cell finds: no course_utils (find_spec is None), the runtime's packages present
    run([*pip, "uninstall", "--yes", "course_utils"], "uninstalling an earlier course_utils", env=env)
    cell_install = [*pip, "install", f"course_utils @ {source.as_uri()}"]  # the cell's command, a file: URL
    proc = run(cell_install, "installing course_utils as the cell does", env=env)
    return proc.stdout + proc.stderr


def check_versions(expected: dict[str, str], found: dict[str, str]) -> list[str]:
    problems = []
    for name, version in expected.items():
        got = found.get(name)
        if got is None:
            problems.append(f"{name} is not installed (expected {version})")
        elif Version(got) != Version(version):
            problems.append(f"{name} is {got}, not the lowest allowed {version}")
    return problems


def kernel_python(venv: Path) -> str:
    """Where the ``python3`` kernel the notebooks run on resolves to, seen from the venv."""
    code = (
        "import os, shutil\n"
        "from jupyter_client.kernelspec import KernelSpecManager\n"
        "argv0 = KernelSpecManager().get_kernel_spec('python3').argv[0]\n"
        "print(argv0 if os.path.isabs(argv0) else shutil.which(argv0))"
    )
    return run([venv / "bin" / "python", "-c", code], "locating the python3 kernel", env=venv_env(venv)).stdout.strip()


# ----------------------------------------------------------------------------- the notebooks
# measure.ClaimCheck prints "[holds] CLAIM: measured ...; theory ..." (or "[FAILS] ..."),
# sometimes after a label ("width 4096: [holds] ...").
CLAIM = re.compile(r"^(.*?)\[(holds|FAILS)\] (.*?): measured ", re.M)


def claim_checks(notebook: Path) -> dict[str, list[str]]:
    """``{"holds": [...], "FAILS": [...]}``: the claim checks a notebook printed, as "label claim".

    Printed text only (streams and text results); an error's message repeats a printed check.
    """
    nb = json.loads(notebook.read_text())
    found: dict[str, list[str]] = {"holds": [], "FAILS": []}
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = output.get("text", "")
            elif output.get("output_type") in ("execute_result", "display_data"):
                text = output.get("data", {}).get("text/plain", "")
            else:
                continue
            text = text if isinstance(text, str) else "".join(text)
            for label, mark, claim in CLAIM.findall(text):
                found[mark].append(f"{label}{claim}")
    return found


def execute(venv: Path, names: list[str], out: Path) -> list[dict]:
    paths = []
    for name in names:
        path = ROOT / "notebooks" / name
        if not path.is_file():
            raise CheckFailed(f"notebooks/{name} not found")
        paths.append(path)
    env = venv_env(venv)
    cache = out / "jax-cache"  # cold: a new hosted session has compiled nothing yet
    env["COURSE_JAX_CACHE"] = str(cache)
    results = []
    for path in paths:  # one nbexec process per notebook, so each time and failure stands alone
        nb_out = out / path.stem
        proc = subprocess.run(
            [venv / "bin" / "python", ROOT / "tools" / "nbexec.py", path, "--out", nb_out],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        summary_file = nb_out / "summary.json"
        summary = json.loads(summary_file.read_text())["notebooks"][0] if summary_file.exists() else {}
        result = {
            "notebook": path.name,
            "seconds": summary.get("seconds"),
            "error": summary.get("error") if summary else f"nbexec.py exit {proc.returncode}:\n{proc.stderr[-4000:]}",
            "claims": {"holds": [], "FAILS": []},
        }
        if (nb_out / path.name).exists():
            result["claims"] = claim_checks(nb_out / path.name)
        # Some notebooks show a claim failing on purpose (05: the learning rate does not transfer
        # under the NTK parametrization); those fail in the stored outputs too. Any other is a
        # regression at the lowest versions.
        result["expected_fails"] = claim_checks(path)["FAILS"]
        result["unexpected_fails"] = [c for c in result["claims"]["FAILS"] if c not in result["expected_fails"]]
        if result["error"] is None and proc.returncode != 0:
            result["error"] = f"nbexec.py exit {proc.returncode}:\n{(proc.stdout + proc.stderr)[-4000:]}"
        status = "ok" if result["error"] is None and not result["unexpected_fails"] else "FAILED"
        fails = len(result["claims"]["FAILS"])
        on_purpose = f" ({fails - len(result['unexpected_fails'])} on purpose, as stored)" if fails else ""
        step(
            f"executed {path.name} in the lowest venv: {status} in {result['seconds']} s "
            f"({len(result['claims']['holds'])} claim checks hold, {fails} fail{on_purpose})"
        )
        results.append(result)
    return results


# ----------------------------------------------------------------------------- main
def check(venv: Path, notebooks: list[str], python: str | None, fresh: bool, report: dict, out: Path | None) -> None:
    meta = project()
    try:
        lowest = lowest_versions(meta.get("dependencies", []))
    except ValueError as err:
        raise CheckFailed(str(err)) from None
    report["lowest"] = lowest
    runner = runner_pins()
    report["runner"] = runner
    floor = python_floor(meta.get("requires-python", ""))
    python = pick_python(floor, python)
    version = run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], f"running {python}")
    version = version.stdout.strip()
    if version != floor:
        step(f"note: {python} is Python {version}; requires-python's lowest is {floor}")
    report["python"] = version
    step(f"lowest versions from pyproject.toml: {' '.join(f'{n}=={v}' for n, v in lowest.items())}; Python {version}")

    pins = {**lowest, **runner}
    full = run([python, "-VV"], "asking the interpreter's version").stdout
    stamp = hashlib.sha256(
        ((ROOT / "pyproject.toml").read_text() + json.dumps(pins, sort_keys=True) + full + python).encode()
    ).hexdigest()[:32]
    t0 = time.perf_counter()
    report["reused"] = build(venv, python, pins, stamp, fresh)
    report["build_seconds"] = round(time.perf_counter() - t0, 1)

    before = installed(venv)
    problems = check_versions(pins, before)
    if problems:
        raise CheckFailed("the venv does not hold the lowest versions:\n  " + "\n  ".join(problems))
    with tempfile.TemporaryDirectory(prefix="ntk-lowest-") as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        log = install_like_the_cell(venv, workdir)
        report["install_seconds"] = round(time.perf_counter() - t0, 1)
        after = installed(venv)
        report["installed"] = {name: after.get(name) for name in lowest}
        changed = sorted(
            f"{name} {before.get(name)} -> {after.get(name)}"
            for name in set(before) | set(after)
            if name != "course-utils" and before.get(name) != after.get(name)
        )
        if changed:
            raise CheckFailed(
                "installing course_utils as the install cell does changed the runtime's packages "
                "(a hosted runtime's own versions would be replaced):\n  " + "\n  ".join(changed) + "\n" + log[-3000:]
            )
        problems = check_versions(lowest, after)
        if problems:
            raise CheckFailed("after the install: " + "; ".join(problems))
        if "course-utils" not in after:
            raise CheckFailed("course_utils is not installed after the install step:\n" + log[-3000:])
        pip_check = [venv / "bin" / "python", "-m", "pip", "check"]
        run(pip_check, "pip check (broken requirements in the venv)", env=venv_env(venv))
        where = run(
            [venv / "bin" / "python", "-c", "import course_utils, os; print(os.path.dirname(course_utils.__file__))"],
            "importing course_utils in the venv",
            env=venv_env(venv),
            cwd=workdir,
        ).stdout.strip()
        if not Path(where).is_relative_to(venv):
            raise CheckFailed(f"course_utils comes from {where}, not from {venv}")
        kernel = kernel_python(venv)
        if not kernel or not Path(kernel).is_relative_to(venv):
            raise CheckFailed(f"the python3 kernel would run {kernel or 'nothing'}, not the venv's python")
        step(
            f"course_utils installed as the install cell does (pip kept every version; pip check ok) in "
            f"{report['install_seconds']} s; kernel {kernel}"
        )
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
        report["notebooks"] = execute(venv, notebooks, out or workdir)
    failed = [r for r in report["notebooks"] if r["error"] is not None or r["unexpected_fails"]]
    if failed:
        lines = []
        for r in failed:
            fails = "; ".join(r["unexpected_fails"])
            claims = f"claim checks failed: {fails}\n" if fails else ""
            lines.append(f"{r['notebook']}: {claims}{r['error'] or ''}")
        raise CheckFailed("notebooks failed at the lowest versions:\n" + "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venv", nargs="?", type=Path, default=DEFAULT_VENV, help="the venv's folder (.lowest-venv/)")
    parser.add_argument("--notebooks", nargs="+", default=list(DEFAULT_NOTEBOOKS), help="names in notebooks/")
    parser.add_argument("--python", default=os.environ.get("LOWEST_PYTHON"), help="the interpreter of the venv")
    parser.add_argument("--fresh", action="store_true", help="rebuild the venv even when its stamp matches")
    parser.add_argument("--report", type=Path, help="write the findings here as JSON")
    parser.add_argument("--out", type=Path, help="keep the executed notebooks here (default: a temporary folder)")
    args = parser.parse_args(argv)
    fresh = args.fresh or os.environ.get("LOWEST_FRESH") == "1" or os.environ.get("CI") == "true"
    report: dict = {"venv": str(args.venv.resolve()), "ok": False}
    code = 0
    try:
        check(args.venv.resolve(), args.notebooks, args.python, fresh, report, args.out and args.out.resolve())
        report["ok"] = True
        step("OK: the course installs and runs at the lowest versions pyproject.toml allows")
    except CheckFailed as err:
        report["failure"] = str(err)
        print(f"[lowest] FAIL: {err}", file=sys.stderr, flush=True)
        code = 1
    report["seconds"] = round(time.perf_counter() - START, 1)
    if args.report:
        args.report.write_text(json.dumps(report, indent=1) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
