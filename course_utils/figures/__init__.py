"""Figures: ``interactive`` (every control and redraw helper) and one module per notebook.

A notebook module holds only that notebook's demos and static plots; the numbers it draws
come from ``course_utils.experiments``.
"""

from . import interactive
from .interactive import InteractiveFigure

__all__ = ["InteractiveFigure", "interactive"]
