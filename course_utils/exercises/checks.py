"""Exercise checks with immediate feedback, and revealable worked solutions.

A check function takes the student's answer (a number, an array or a function), compares
it with a reference computed independently, shows a short verdict that says *why* when it
is wrong, and returns a truthy/falsy ``Verdict`` so tests can assert on it (use
``bool(check(...))`` or ``assert check(...)``, not ``is True``).

Each notebook's checks and worked solutions live together in ``exercises/nbXX.py``: a
solution is a plain function registered with ``@solution("XX.name")``, and
``show_solution(name)`` reveals its source (without the decorator, so a copied solution runs
as it is) inside a collapsed block the student opens.
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
    """Import every notebook's exercise module, each of which registers its solutions."""
    import importlib
    import pkgutil

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


def solution_source(name: str) -> str:
    """The source of solution ``name`` as a student would copy it: the registering decorator removed."""
    lines = inspect.getsource(get_solution(name)).splitlines(keepends=True)
    return "".join(line for line in lines if not line.lstrip().startswith("@solution("))


def show_solution(name: str) -> None:
    """Reveal the worked solution ``name``: its source, with comments explaining the steps.

    In a notebook it appears inside a collapsed ``<details>`` block, so asking for a solution
    is a second deliberate click and a stored notebook never shows an answer unasked.
    """
    source = solution_source(name)
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display

        if get_ipython() is not None:
            display(
                HTML(
                    f"<details><summary><b>Worked solution <code>{html.escape(name)}</code></b> "
                    f"(click to reveal)</summary><pre><code class='language-python'>{html.escape(source)}"
                    "</code></pre></details>"
                )
            )
            return
    except ImportError:
        pass
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


def report(ok: bool, message: str) -> Verdict:
    """Show a verdict (green tick or red cross with the message) and return it as a ``Verdict``."""
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


def _mismatch(got, expected, rtol: float, atol: float, what: str, where: str = "") -> str | None:
    """Why ``got`` is not ``expected`` (not numbers, wrong shape, NaN, too far), or None if it is close."""
    try:
        got_arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{what} should be a number or an array of numbers{where}, got {type(got).__name__}."
    expected_arr = np.asarray(expected, dtype=np.float64)
    if got_arr.shape != expected_arr.shape:
        return f"{what} has shape {got_arr.shape}{where}; expected {expected_arr.shape}."
    if not np.all(np.isfinite(got_arr)):
        return f"{what} contains NaN or infinity{where}."
    if np.allclose(got_arr, expected_arr, rtol=rtol, atol=atol):
        return None
    error = np.max(np.abs(got_arr - expected_arr))
    scale = np.max(np.abs(expected_arr)) or 1.0
    return f"{what} is off by up to {error:.3g} (relative {error / scale:.2g}){where}."


def check_close(got, expected, *, rtol: float = 1e-6, atol: float = 1e-9, what: str = "your answer", hint: str = "") -> Verdict:
    """Compare a numeric answer with the reference; say how far off it is and why, if wrong."""
    problem = _mismatch(got, expected, rtol, atol, what)
    if problem is None:
        return report(True, f"{what} matches the reference.")
    return report(False, f"{problem} {hint}".strip())


def check_function(student_fn: Callable, reference_fn: Callable, cases, *, rtol=1e-6, atol=1e-9, what="your function", hint="") -> Verdict:
    """Call both functions on every case (a tuple of arguments) and compare the results."""
    if not callable(student_fn):
        return report(False, f"{what} should be a function. {hint}")
    for args in cases:
        try:
            got = student_fn(*args)
        except NotImplementedError:
            return report(False, f"{what} still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code: report, do not crash the notebook
            return report(False, f"{what} raised {type(err).__name__}: {err}. {hint}")
        problem = _mismatch(got, reference_fn(*args), rtol, atol, what, " on one of the test cases")
        if problem is not None:
            return report(False, f"{problem} {hint}".strip())
    return report(True, f"{what} agrees with the reference on all {len(cases)} test cases.")


def check_function_slips(
    student_fn: Callable, reference_fn: Callable, cases, *, slips=(), rtol=1e-6, atol=1e-9, what="your function", hint=""
) -> Verdict:
    """Like ``check_function``, but a wrong answer is first matched against the usual slips.

    ``slips`` is a sequence of ``(message, slip_fn)``: ``slip_fn`` computes what a typical
    mistake returns (a missing term, a wrong sign). If the student's function agrees with a
    slip on every case, the verdict names that mistake; otherwise it says how far off it is.
    """
    if not callable(student_fn):
        return report(False, f"{what} should be a function. {hint}")
    results = []
    for args in cases:
        try:
            results.append(student_fn(*args))
        except NotImplementedError:
            return report(False, f"{what} still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code: report, do not crash the notebook
            return report(False, f"{what} raised {type(err).__name__}: {err}. {hint}")
    problems = [_mismatch(got, reference_fn(*args), rtol, atol, what, " on one of the test cases") for got, args in zip(results, cases)]
    problem = next((p for p in problems if p is not None), None)
    if problem is None:
        return report(True, f"{what} agrees with the reference on all {len(cases)} test cases.")
    for message, slip_fn in slips:
        if all(_mismatch(got, slip_fn(*args), rtol, atol, what) is None for got, args in zip(results, cases)):
            return report(False, f"{problem} {message}")
    return report(False, f"{problem} {hint}".strip())
