"""The memory budget: compiled programs are released once a kernel holds more than its share."""

import numpy as np

import course_utils as cu
from course_utils import _memory, training


def _run():
    model = cu.MLP(in_dim=2, width=8)
    angles, x = cu.circle_grid(5)
    return cu.train(model.apply, model.init(0), x, np.cos(angles), lr=0.1, steps=5)


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
    _run()
    assert training._train_scan._cache_size() >= 1  # grown by less than the headroom: kept
    monkeypatch.setattr(_memory, "_floor_mb", _memory.resident_mb() - _memory.HEADROOM_MB - 1)
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
