"""requirements.txt is the one source of runtime pins; environment.yml and binder/ must agree with it.

The test, site and benchmark tools are pinned apart, in requirements-dev.txt, so a student's
image (Binder, JupyterHub) carries the runtime only.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {"jax", "jaxlib", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "ipykernel", "voila"}
DEV_REQUIRED = {"nbval", "pytest", "playwright", "latex2mathml", "pyyaml"}


def pins(lines):
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def _requirement_lines(name):
    return [line for line in (ROOT / name).read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_requirements_pin_everything_exactly():
    for name, required in (("requirements.txt", REQUIRED), ("requirements-dev.txt", DEV_REQUIRED)):
        lines = _requirement_lines(name)
        found = pins(lines)
        assert len(found) == len(lines), f"every requirement of {name} must be an exact '==' pin"
        assert required <= set(found), f"{name} misses pins: {required - set(found)}"


def test_runtime_pins_hold_no_test_tools():
    runtime = set(pins(_requirement_lines("requirements.txt")))
    dev = set(pins(_requirement_lines("requirements-dev.txt")))
    assert not runtime & dev, f"pinned twice: {runtime & dev}"
    for name in ("binder/requirements.txt", "requirements.txt"):
        assert not DEV_REQUIRED & set(pins((ROOT / name).read_text().splitlines())), f"{name} carries test tools"


def test_environment_yml_repeats_the_pins():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M)
    assert re.search(r"^\s*-\s*pip\s*$", text, re.M)
    assert pins(text.splitlines()) == pins((ROOT / "requirements.txt").read_text().splitlines())


def test_binder_repeats_the_pins_and_python():
    assert pins((ROOT / "binder/requirements.txt").read_text().splitlines()) == pins((ROOT / "requirements.txt").read_text().splitlines())
    assert (ROOT / "binder/runtime.txt").read_text().strip() == "python-3.11"
    post_build = (ROOT / "binder/postBuild").read_text()
    assert "pip install --no-deps ." in post_build
    assert "jupyterlab-overrides.json" in post_build
    assert (ROOT / "binder/postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    every_pin = pins((ROOT / "requirements.txt").read_text().splitlines())
    every_pin.update(pins((ROOT / "requirements-dev.txt").read_text().splitlines()))
    for name, pinned in every_pin.items():
        assert version(name) == pinned, f"{name} {version(name)} installed, {pinned} pinned"
    assert sys.version_info[:2] == (3, 11)


def test_float64_enabled_by_import():
    import jax.numpy as jnp

    import course_utils  # noqa: F401

    assert jnp.ones(1).dtype == jnp.float64


def test_jupyterlab_opens_without_the_news_prompt():
    import json

    overrides = json.loads((ROOT / "binder/jupyterlab-overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    installed = Path(sys.prefix) / "share/jupyter/lab/settings/overrides.json"
    assert installed.exists(), "make setup installs the overrides into the venv"
    assert json.loads(installed.read_text()) == overrides
