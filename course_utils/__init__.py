"""Helpers for the Neural Tangent Kernel course.

Importing this package switches JAX to float64: the course compares eigenvalues down to
1e-10, which float32 cannot resolve.
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from . import data, widgets  # noqa: E402
from .data import circle_grid, circle_points, fourier_target, key, random_circle, regression_1d, sphere_points  # noqa: E402
from .exercises import check_close, check_function, show_solution  # noqa: E402
from .flow import GradientFlow, discrete_residuals, kernel_regression  # noqa: E402
from .kernels import analytic_nngp, analytic_ntk, as_numpy, empirical_ntk, ntk_flops  # noqa: E402
from .models import MLP  # noqa: E402
from .training import Trajectory, linearize, log_record_steps, train  # noqa: E402

__all__ = [
    "MLP",
    "GradientFlow",
    "Trajectory",
    "analytic_nngp",
    "analytic_ntk",
    "as_numpy",
    "check_close",
    "check_function",
    "circle_grid",
    "circle_points",
    "data",
    "discrete_residuals",
    "empirical_ntk",
    "fourier_target",
    "kernel_regression",
    "key",
    "linearize",
    "log_record_steps",
    "ntk_flops",
    "random_circle",
    "regression_1d",
    "show_solution",
    "sphere_points",
    "train",
    "widgets",
]
__version__ = "0.1.0"
