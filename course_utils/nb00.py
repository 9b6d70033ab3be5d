"""Notebook 00 (start here): the 30-second tour.

A two-layer ReLU network is trained by gradient descent on a dozen points on the unit
circle, at several widths. Next to it, the infinite-width prediction: the closed-form
gradient flow with the analytic NTK, started from the same network's outputs at
initialisation. The wider the network, the closer its whole training run lies on the
kernel prediction; that is the course's punchline, shown before it is derived.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate
from .data import circle_points, random_circle
from .flow import GradientFlow
from .kernels import analytic_ntk
from .models import MLP
from .training import log_record_steps, train
from .widgets import InteractiveFigure, log_times

TOUR_WIDTHS = (16, 64, 256, 1024, 4096)
N_TRAIN = 12
LR = 0.01
STEPS = 20000
N_RECORDS = 41
SEED = 0


def tour_target(angles):
    """The function the tour fits on the circle: ``sin(gamma) + 0.5 cos(2 gamma)``."""
    angles = jnp.asarray(angles, dtype=jnp.float64)
    return jnp.sin(angles) + 0.5 * jnp.cos(2 * angles)


def tour_model(width: int) -> MLP:
    """The tour's network: one hidden ReLU layer in NTK parameterization, small biases."""
    return MLP(in_dim=2, width=width, depth=1, activation="relu", sw2=2.0, sb2=0.1)


class TourRun(NamedTuple):
    """Everything the tour figure shows for one width, on the training set and on a grid."""

    times: np.ndarray  # (T,) gradient-flow times of the records
    grid_angles: np.ndarray  # (m,)
    train_angles: np.ndarray  # (n,)
    train_targets: np.ndarray  # (n,)
    network_grid: np.ndarray  # (T, m) the trained network on the grid
    kernel_grid: np.ndarray  # (T, m) the analytic-NTK gradient-flow prediction on the grid
    network_loss: np.ndarray  # (T,)
    kernel_loss: np.ndarray  # (T,)
    network_train: np.ndarray  # (T, n)
    kernel_train: np.ndarray  # (T, n)


@functools.lru_cache(maxsize=None)
def tour_run(width: int, grid_size: int = 181) -> TourRun:
    """Train the tour network at ``width`` once and compute the kernel prediction (cached)."""
    width = _validate.positive_int(width, "width")
    model = tour_model(width)
    train_angles, x = random_circle(SEED, N_TRAIN)
    y = tour_target(train_angles)
    grid_angles = jnp.linspace(0.0, 2 * np.pi, grid_size)
    grid = circle_points(grid_angles)
    params = model.init(jax.random.PRNGKey(SEED + 1))
    traj = train(model.apply, params, x, y, lr=LR, steps=STEPS, record_steps=log_record_steps(STEPS, N_RECORDS), record_params=True)
    network_grid = jax.lax.map(lambda p: model.forward(p, grid)[1], traj.param_history)

    # The infinite-width prediction starts from this network's own outputs at t = 0, so the
    # only difference left is that the kernel is the deterministic limit and never moves.
    flow = GradientFlow(analytic_ntk(model, x), y, model.apply(params, x))
    kernel_grid = flow.predict(traj.times, analytic_ntk(model, grid, x), model.apply(params, grid))
    return TourRun(
        times=np.asarray(traj.times),
        grid_angles=np.asarray(grid_angles),
        train_angles=np.asarray(train_angles),
        train_targets=np.asarray(y),
        network_grid=np.asarray(network_grid),
        kernel_grid=np.asarray(kernel_grid),
        network_loss=np.asarray(traj.loss),
        kernel_loss=np.asarray(flow.loss(traj.times)),
        network_train=np.asarray(traj.outputs),
        kernel_train=np.asarray(flow.outputs(traj.times)),
    )


def tour_gap(width: int) -> float:
    """Largest distance, over the run and the training points, between network and kernel."""
    run = tour_run(width)
    return float(np.max(np.abs(run.network_train - run.kernel_train)))


def _draw_tour(axes, width, time):
    run = tour_run(width)
    index = int(np.argmin(np.abs(run.times - time)))
    left, right = axes
    left.clear()
    left.plot(run.grid_angles, tour_target(run.grid_angles), color="0.75", lw=3, label="target")
    left.plot(run.grid_angles, run.kernel_grid[index], "--", color="C1", lw=2, label="kernel prediction")
    left.plot(run.grid_angles, run.network_grid[index], color="C0", lw=1.5, label="network")
    left.plot(run.train_angles, run.train_targets, "o", color="k", ms=4, label="training points")
    left.set_xlim(0, 2 * np.pi)
    left.set_ylim(-2.2, 2.2)
    left.set_xlabel(r"angle $\gamma$ of the input on the circle")
    left.set_title(f"width {width}, t = {run.times[index]:.3g}", fontsize=10)
    left.legend(loc="lower left", fontsize=7, ncol=2)

    right.clear()
    right.loglog(run.times[1:], run.kernel_loss[1:], "--", color="C1", lw=2, label="kernel (infinite width)")
    right.loglog(run.times[1:], run.network_loss[1:], color="C0", lw=1.5, label=f"network, width {width}")
    right.plot(run.times[max(index, 1)], run.network_loss[max(index, 1)], "o", color="C0", ms=6)
    right.axvline(run.times[max(index, 1)], color="0.5", lw=1)
    right.set_xlabel("time t = learning rate x steps")
    right.set_ylabel(r"training loss $\frac{1}{2}\|f - y\|^2$")
    right.legend(fontsize=7, loc="lower left")
    right.set_ylim(1e-7, 20)


def tour_demo(widths=TOUR_WIDTHS, width: int = 16, time: float | None = None) -> InteractiveFigure:
    """The tour figure: fitted function and loss curve, network against kernel prediction.

    Every offered width is trained once up front, so moving either control only redraws.
    """
    widths = tuple(int(w) for w in widths)
    for w in widths:
        tour_run(w)
    times = tour_run(widths[0]).times
    return InteractiveFigure(
        _draw_tour,
        widths=widths,
        times=times,
        width=width,
        time=times[len(times) // 4] if time is None else time,
        ncols=2,
        figsize=(9.0, 3.3),
        title="A network (solid) against its infinite-width kernel prediction (dashed)",
    )


__all__ = ["TOUR_WIDTHS", "TourRun", "tour_demo", "tour_gap", "tour_model", "tour_run", "tour_target", "log_times"]
