"""Exercises: the shared checking tools (``checks``) and one module per notebook.

Each ``nbXX`` module holds that notebook's ``check_*`` functions next to their worked
solutions, so a check and the answer it compares with can never drift apart.
"""

from . import checks
from .checks import Verdict, check_close, check_function, get_solution, report, show_solution, solution_names

__all__ = ["Verdict", "check_close", "check_function", "checks", "get_solution", "report", "show_solution", "solution_names"]
