"""Exercise checks with immediate feedback, and revealable worked solutions.

A check function takes the student's answer (a number, an array or a function), compares
it with a reference computed independently, shows a short verdict that says *why* when it
is wrong, and returns a truthy/falsy ``Verdict`` so tests can assert on it (use
``bool(check(...))`` or ``assert check(...)``, not ``is True``). Worked solutions are plain
functions in ``course_utils.solutions``; ``show_solution(name)`` prints their source.
"""

from __future__ import annotations

import html
import inspect
from typing import Callable

import numpy as np

_SOLUTIONS: dict[str, Callable] = {}


def solution(name: str):
    """Register a worked solution under ``name`` (used by ``course_utils.solutions``)."""

    def register(fn):
        _SOLUTIONS[name] = fn
        return fn

    return register


def _load_all_solutions() -> None:
    """Import every module that registers solutions: ``solutions`` and the ``nbXX`` lesson modules."""
    import importlib
    import pkgutil

    from . import solutions  # noqa: F401

    package = __name__.rsplit(".", 1)[0]
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if module.name.startswith("nb"):
            importlib.import_module(f"{package}.{module.name}")


def solution_names() -> list[str]:
    _load_all_solutions()
    return sorted(_SOLUTIONS)


def get_solution(name: str) -> Callable:
    """The registered solution function ``name``."""
    _load_all_solutions()

    if name not in _SOLUTIONS:
        raise ValueError(f"no solution named {name!r}; known: {', '.join(sorted(_SOLUTIONS))}")
    return _SOLUTIONS[name]


def show_solution(name: str) -> None:
    """Reveal the worked solution ``name``: its source code, with comments explaining the steps."""
    source = inspect.getsource(get_solution(name))
    try:
        from IPython.display import Markdown, display

        display(Markdown(f"**Worked solution `{name}`**\n\n```python\n{source}```"))
    except ImportError:  # plain Python
        print(source)


class Verdict:
    """The result of a check: truthy when right, with the explanation in ``message``.

    It behaves as a bool (``if check(...)``, ``assert check(...)``, ``check(...) == True``)
    and displays nothing as a cell's last expression: the check has already shown its
    message, and a bare ``True``/``False`` under it would only repeat it.
    """

    __slots__ = ("ok", "message")

    def __init__(self, ok: bool, message: str):
        self.ok = bool(ok)
        self.message = message

    def __bool__(self) -> bool:
        return self.ok

    def __eq__(self, other) -> bool:
        return self.ok == bool(other)

    def __hash__(self) -> int:
        return hash(self.ok)

    def __repr__(self) -> str:
        return f"Verdict({self.ok}, {self.message!r})"

    def _ipython_display_(self):  # shown once by the check itself
        pass


def _report(ok: bool, message: str) -> Verdict:
    text = ("Correct. " if ok else "Not yet. ") + message
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display

        if get_ipython() is not None:
            colour = "#1a7f37" if ok else "#b3261e"
            mark = "&#10004;" if ok else "&#10008;"
            display(HTML(f"<div style='color:{colour}'>{mark} {html.escape(text)}</div>"))
            return Verdict(ok, text)
    except ImportError:
        pass
    print(("[ok] " if ok else "[x] ") + text)
    return Verdict(ok, text)


def check_close(got, expected, *, rtol: float = 1e-6, atol: float = 1e-9, what: str = "your answer", hint: str = "") -> Verdict:
    """Compare a numeric answer with the reference; say how far off it is and why, if wrong."""
    try:
        got_arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return _report(False, f"{what} should be a number or an array of numbers, got {type(got).__name__}. {hint}")
    expected_arr = np.asarray(expected, dtype=np.float64)
    if got_arr.shape != expected_arr.shape:
        return _report(False, f"{what} has shape {got_arr.shape}; expected {expected_arr.shape}. {hint}")
    if not np.all(np.isfinite(got_arr)):
        return _report(False, f"{what} contains NaN or infinity. {hint}")
    if np.allclose(got_arr, expected_arr, rtol=rtol, atol=atol):
        return _report(True, f"{what} matches the reference.")
    error = np.max(np.abs(got_arr - expected_arr))
    scale = np.max(np.abs(expected_arr)) or 1.0
    return _report(False, f"{what} is off by up to {error:.3g} (relative {error / scale:.2g}). {hint}")


def check_function(student_fn: Callable, reference_fn: Callable, cases, *, rtol=1e-6, atol=1e-9, what="your function", hint="") -> Verdict:
    """Call both functions on every case (a tuple of arguments) and compare the results."""
    if not callable(student_fn):
        return _report(False, f"{what} should be a function. {hint}")
    for args in cases:
        try:
            got = student_fn(*args)
        except NotImplementedError:
            return _report(False, f"{what} still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code: report, do not crash the notebook
            return _report(False, f"{what} raised {type(err).__name__}: {err}. {hint}")
        expected = reference_fn(*args)
        try:
            got_arr = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return _report(False, f"{what} returned {type(got).__name__}, not numbers. {hint}")
        expected_arr = np.asarray(expected, dtype=np.float64)
        if got_arr.shape != expected_arr.shape:
            return _report(False, f"{what} returned shape {got_arr.shape} for one case; expected {expected_arr.shape}. {hint}")
        if not np.allclose(got_arr, expected_arr, rtol=rtol, atol=atol):
            error = np.max(np.abs(got_arr - expected_arr))
            return _report(False, f"{what} is off by up to {error:.3g} on one of the test cases. {hint}")
    return _report(True, f"{what} agrees with the reference on all {len(cases)} test cases.")


# ---------------------------------------------------------------- notebook 00
def check_residual_decay(student_fn: Callable) -> Verdict:
    """00: ``residual(t, lam, r0)`` should return the gradient-flow residual ``exp(-lam t) r0``."""
    from .solutions import residual_decay

    cases = [(0.0, 1.0, 2.0), (1.0, 1.0, 2.0), (3.0, 0.5, -1.0), (10.0, 0.0, 0.7), (0.2, 7.0, 1.5)]
    return check_function(
        student_fn,
        residual_decay,
        cases,
        what="residual(t, lam, r0)",
        hint="Solve dr/dt = -lam r with r(0) = r0; at lam = 0 nothing should change.",
    )
