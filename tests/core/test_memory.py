"""The memory budget: compiled programs are released once a kernel holds more than its share."""

import numpy as np

import course_utils as cu
from course_utils import _memory, training


def _run():
    model = cu.MLP(in_dim=2, width=8)
    angles, x = cu.circle_grid(5)
    return cu.train(model.apply, model.init(0), x, np.cos(angles), lr=0.1, steps=5)


import pytest


@pytest.fixture(autouse=True)
def _no_recent_release(monkeypatch):
    monkeypatch.setattr(_memory, "_last_release", -float("inf"))


def test_over_budget_releases_compiled_programs_and_keeps_results(monkeypatch):
    monkeypatch.setattr(_memory, "_floor_mb", 0.0)
    monkeypatch.setattr(_memory, "HEADROOM_MB", 0.0)
    monkeypatch.setenv("COURSE_MEMORY_BUDGET_MB", "0")  # off: the compiled loop stays
    kept = _run()
    assert training._train_scan._cache_size() >= 1
    monkeypatch.setenv("COURSE_MEMORY_BUDGET_MB", "1")  # every process is over 1 MB
    released = _run()
    assert training._train_scan._cache_size() == 0
    np.testing.assert_array_equal(released.loss, kept.loss)
    assert _run().loss[-1] == kept.loss[-1]  # and a released program simply compiles again


def test_no_second_release_until_the_process_grows(monkeypatch):
    monkeypatch.setenv("COURSE_MEMORY_BUDGET_MB", "1")
    monkeypatch.setattr(_memory, "_floor_mb", 0.0)
    assert _memory.release_compiled_programs()  # over budget: released, floor set
    monkeypatch.setattr(_memory, "_last_release", -float("inf"))
    _run()
    assert training._train_scan._cache_size() >= 1  # grown by less than the headroom: kept
    monkeypatch.setattr(_memory, "_floor_mb", 0.0)  # now far more than the headroom above the floor
    _run()
    assert training._train_scan._cache_size() == 0


def test_under_budget_keeps_programs(monkeypatch):
    monkeypatch.setenv("COURSE_MEMORY_BUDGET_MB", str(10 * _memory.resident_mb() + 1000))
    _run()
    assert training._train_scan._cache_size() >= 1
    assert not _memory.release_compiled_programs()


def test_budget_setting():
    assert _memory.resident_mb() > 50  # JAX alone is well over 50 MB
    assert _memory.release_compiled_programs(force=True)
    assert training._train_scan._cache_size() == 0


def _scripted_rss(monkeypatch, values):
    """resident_mb() returns ``values`` one call after another (then the last one again)."""
    remaining = list(values)
    monkeypatch.setattr(_memory, "resident_mb", lambda: remaining.pop(0) if len(remaining) > 1 else remaining[0])


def _count_full_clears(monkeypatch):
    calls = []
    monkeypatch.setattr(_memory.jax, "clear_caches", lambda: calls.append(1))
    return calls


@pytest.fixture
def budget_400(monkeypatch):
    """A compiled training loop in the cache, then a 400 MB budget against scripted readings."""
    monkeypatch.setattr(_memory, "_floor_mb", 0.0)
    monkeypatch.setenv("COURSE_MEMORY_BUDGET_MB", "0")  # compile it whatever this test process holds
    _run()
    monkeypatch.setenv("COURSE_MEMORY_BUDGET_MB", "400")


def test_a_heap_trim_that_suffices_keeps_every_program(monkeypatch, budget_400):
    full = _count_full_clears(monkeypatch)
    _scripted_rss(monkeypatch, [500.0, 350.0])  # over budget; under it once the free heap is returned
    assert not _memory.release_compiled_programs()
    assert training._train_scan._cache_size() >= 1 and not full


def test_the_large_programs_go_first(monkeypatch, budget_400):
    full = _count_full_clears(monkeypatch)
    _scripted_rss(monkeypatch, [500.0, 500.0, 350.0])  # still over after the trim, under after the large programs
    assert _memory.release_compiled_programs()
    assert training._train_scan._cache_size() == 0 and not full


def test_everything_goes_when_the_large_programs_are_not_enough(monkeypatch, budget_400):
    full = _count_full_clears(monkeypatch)
    _scripted_rss(monkeypatch, [500.0, 500.0, 450.0, 300.0])
    assert _memory.release_compiled_programs()
    assert full == [1]


def test_at_most_one_release_per_interval(monkeypatch, budget_400):
    _scripted_rss(monkeypatch, [500.0, 500.0, 350.0, 350.0, 900.0])
    assert _memory.release_compiled_programs()
    _run()  # over budget again at once (900 MB), but within MIN_INTERVAL_S of the last release
    assert training._train_scan._cache_size() >= 1
    assert not _memory.release_compiled_programs()
    monkeypatch.setattr(_memory, "_last_release", -float("inf"))
    assert _memory.release_compiled_programs()


def test_the_end_of_a_cell_trims_the_heap_whenever_over_budget(monkeypatch, budget_400):
    # Within the interval after a release, and less than the headroom above it: the programs
    # stay, but the compilers' freed scratch memory still goes back to the system.
    trims, full = [], _count_full_clears(monkeypatch)
    monkeypatch.setattr(_memory, "trim_heap", lambda: trims.append(1))
    monkeypatch.setattr(_memory, "_last_release", _memory.time.monotonic())
    monkeypatch.setattr(_memory, "_floor_mb", 480.0)
    _scripted_rss(monkeypatch, [500.0])
    assert not _memory.end_of_cell()
    assert trims == [1] and training._train_scan._cache_size() >= 1 and not full
    _scripted_rss(monkeypatch, [300.0])  # under budget: nothing to do
    assert not _memory.end_of_cell()
    assert trims == [1]

