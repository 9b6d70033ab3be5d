"""Drive an ``InteractiveFigure`` the way a student would, and watch for leaks.

Used by the in-kernel widget tests of every notebook (tests/test_widgets_*.py).
"""

from __future__ import annotations

import gc

import matplotlib.pyplot as plt
import psutil


def option_values(control):
    """Every value a selection slider offers (or the given sequence for other widgets)."""
    options = getattr(control, "options", None)
    if options is None:
        raise ValueError(f"control {control!r} has no options; pass the values to sweep explicitly")
    return [value for _, value in options] if options and isinstance(options[0], tuple) else list(options)


def sweep(demo, name, values=None, rounds=3, check=None):
    """Move control ``name`` through ``values`` (default: all it offers) ``rounds`` times.

    After every move ``check(demo)`` (if given) may assert on the figure's data. Returns the
    number of redraws observed, so the caller can assert each move redrew exactly once.
    """
    values = option_values(demo.controls[name]) if values is None else list(values)
    before = demo.draw_count
    moves = 0
    for _ in range(rounds):
        for value in values:
            if demo.controls[name].value == value:
                continue
            demo.set(**{name: value})
            moves += 1
            assert demo.last_error is None, f"{name}={value} raised {demo.last_error!r}"
            if check is not None:
                check(demo)
    return demo.draw_count - before, moves


def assert_no_leak(demo, events=200, max_growth_mb=150.0):
    """Flip the time control back and forth ``events`` times: no new figures, bounded memory."""
    process = psutil.Process()
    name = "time" if "time" in demo.controls else next(iter(demo.controls))
    values = option_values(demo.controls[name])
    gc.collect()
    figures_before = len(plt.get_fignums())
    rss_before = process.memory_info().rss
    for i in range(events):
        demo.set(**{name: values[i % len(values)]})
    gc.collect()
    growth_mb = (process.memory_info().rss - rss_before) / 2**20
    assert len(plt.get_fignums()) == figures_before, "redrawing created pyplot figures"
    assert growth_mb < max_growth_mb, f"memory grew by {growth_mb:.0f} MB over {events} events"
    return growth_mb
