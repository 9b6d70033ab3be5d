"""requirements.txt is the one source of pins; environment.yml and binder/ must agree with it."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {"jax", "jaxlib", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "ipykernel", "nbval", "pytest", "playwright"}


def pins(lines):
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_requirements_pin_everything_exactly():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    found = pins(lines)
    assert len(found) == len(lines), "every requirement must be an exact '==' pin"
    assert REQUIRED <= set(found), f"missing pins: {REQUIRED - set(found)}"


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
    assert (ROOT / "binder/postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in pins((ROOT / "requirements.txt").read_text().splitlines()).items():
        assert version(name) == pinned, f"{name} {version(name)} installed, {pinned} pinned"
    assert sys.version_info[:2] == (3, 11)


def test_float64_enabled_by_import():
    import jax.numpy as jnp

    import course_utils  # noqa: F401

    assert jnp.ones(1).dtype == jnp.float64
