"""Helpers for the Neural Tangent Kernel course.

Layers (imports go downwards only):

- core math: ``models`` (the MLP), ``kernels`` (empirical and analytic NTK), ``flow``
  (closed-form gradient flow), ``training`` (the one gradient-descent trainer), ``data``,
  ``measure`` (power-law fits, distances);
- ``experiments``: the runs that the notebooks' claim checks assert, one module per topic;
- ``figures``: ``interactive`` (controls and the redraw pattern) and one module per notebook
  with its demos and plots;
- ``exercises``: ``checks`` and one module per notebook with its checks and solutions.

Importing this package switches JAX to float64: the course compares eigenvalues down to
1e-10, which float32 cannot resolve. It also fits the thread pools (BLAS, OpenMP, XLA) to the
container's CPU quota (``course_utils.threads`` says what it did; ``COURSE_THREADS`` sets the
count, ``0`` turns it off).
"""

import os as _os
from pathlib import Path as _Path

import jax as _jax

_jax.config.update("jax_enable_x64", True)
# JAX 0.5 changed the stream of numbers a random key gives (jax_threefry_partitionable became
# the default). The course's seeds, and so its claim checks and stored outputs, are those of
# that stream; an older JAX (a hosted runtime's 0.4.x, which pyproject.toml allows) is switched
# to it too, so it draws the same networks and data. A no-op where it is the default already.
if not getattr(_jax.config, "jax_threefry_partitionable", True):
    _jax.config.update("jax_threefry_partitionable", True)


def _enable_compilation_cache() -> None:
    """Keep compiled kernels on disk so a fresh kernel's first slider moves skip compilation.

    The cache lives in ``.jax_cache/`` beside the package in a checkout (ignored by git), or
    under ``~/.cache`` for an installed copy; ``COURSE_JAX_CACHE=0`` turns it off. JAX's
    defaults cache nothing on CPU (compiles here take 0.05-0.3 s, under its 1 s threshold),
    hence the two thresholds.
    """
    setting = _os.environ.get("COURSE_JAX_CACHE", "")
    if setting == "0":
        return
    if setting:
        cache = _Path(setting)
    else:
        checkout = _Path(__file__).resolve().parents[1]
        writable = (checkout / "pyproject.toml").exists() and _os.access(checkout, _os.W_OK)
        cache = checkout / ".jax_cache" if writable else _Path.home() / ".cache" / "ntk-course" / "jax"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    _jax.config.update("jax_compilation_cache_dir", str(cache))
    _jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    _jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


_enable_compilation_cache()

from . import _threads  # noqa: E402

# Before JAX starts its CPU client, which sizes its thread pool once: a pod's CPU quota, not its
# host's cores (see course_utils/_threads.py).
threads = _threads.limit_threads()

from . import _memory  # noqa: E402

_memory.register_ipython_hook()

from . import data, measure  # noqa: E402
from .data import (  # noqa: E402
    circle_grid,
    circle_points,
    circle_problem,
    fourier_target,
    interval_problem,
    key,
    random_circle,
    regression_1d,
    sphere_points,
    two_harmonic_target,
)
from .flow import GradientFlow, discrete_residuals, kernel_regression  # noqa: E402
from .kernels import analytic_nngp, analytic_ntk, as_numpy, empirical_ntk, ntk_flops, ntk_layer_contributions  # noqa: E402
from .measure import ClaimCheck, PowerLawFit, claim, fit_power_law, relative_distance, top_eigenvalue  # noqa: E402
from .models import MLP  # noqa: E402
from .training import Trajectory, linearize, log_record_steps, run_slice, train  # noqa: E402

from . import experiments, exercises, figures  # noqa: E402  (upper layers, after the core)
from .exercises import check_close, check_function, show_solution  # noqa: E402
from .figures import interactive as widgets  # noqa: E402  (the controls, under their familiar name)

__all__ = [
    "ClaimCheck",
    "MLP",
    "GradientFlow",
    "PowerLawFit",
    "Trajectory",
    "analytic_nngp",
    "analytic_ntk",
    "as_numpy",
    "check_close",
    "check_function",
    "circle_grid",
    "claim",
    "circle_points",
    "circle_problem",
    "data",
    "discrete_residuals",
    "empirical_ntk",
    "experiments",
    "exercises",
    "figures",
    "fit_power_law",
    "fourier_target",
    "interval_problem",
    "kernel_regression",
    "key",
    "linearize",
    "log_record_steps",
    "measure",
    "ntk_flops",
    "ntk_layer_contributions",
    "random_circle",
    "regression_1d",
    "relative_distance",
    "run_slice",
    "show_solution",
    "sphere_points",
    "top_eigenvalue",
    "train",
    "two_harmonic_target",
    "widgets",
]
__version__ = "0.2.0"
