"""Notebook 00's tour: the data behind the figure."""

import numpy as np
import pytest

import course_utils as cu
from course_utils import nb00


@pytest.fixture(scope="module")
def runs():
    return {w: nb00.tour_run(w) for w in (16, 4096)}


def test_both_curves_start_from_the_network_at_initialisation(runs):
    for width, run in runs.items():
        model = nb00.tour_model(width)
        params = model.init(cu.key(nb00.SEED + 1))
        grid = cu.circle_points(run.grid_angles)
        np.testing.assert_allclose(run.network_grid[0], model.apply(params, grid), rtol=1e-12)
        np.testing.assert_allclose(run.kernel_grid[0], run.network_grid[0], rtol=1e-12)
        assert run.times[0] == 0 and np.all(np.diff(run.times) > 0)


def test_kernel_prediction_interpolates_at_the_end(runs):
    run = runs[4096]
    train_index = np.searchsorted(run.grid_angles, run.train_angles)
    assert run.kernel_loss[-1] < 1e-4 * run.kernel_loss[0]
    assert run.network_loss[-1] < 1e-4 * run.network_loss[0]
    assert train_index.max() < len(run.grid_angles)


def test_wide_network_follows_the_kernel_more_closely(runs):
    assert nb00.tour_gap(4096) < nb00.tour_gap(16) / 3


def test_bad_width():
    with pytest.raises(ValueError, match="width"):
        nb00.tour_run(0)
