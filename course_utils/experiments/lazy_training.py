"""Lazy training: a network and its linearization trained side by side, against width.

The network is the two-layer ReLU net of notebooks 01-02, ``f = W2 relu(W1 [x, 1])`` in NTK
parameterization (``MLP(in_dim=2, width=N, depth=1, sb2=0)``), on the eight training points
of ``data.interval_problem``. Its linearization around the initial parameters ``theta_0`` is
``f_lin(x; theta) = f(x; theta_0) + J(x) (theta - theta_0)`` (``training.linearize``). Both
are trained by ``training.train(..., batch=True)`` from the same starts (``model.init_many
(SEEDS)``), on the same data, with the same steps; every width is trained once and cached.

The parameters that move are the weights ``W1`` and ``W2``: the MLP also stores bias vectors,
but with ``sb2 = 0`` they are multiplied by zero, get zero gradient and never change, so the
weight norms below leave them out (``weight_vector``).

Public names
------------
LR, STEPS, N_RECORDS, SEEDS, DEMO_WIDTHS, SWEEP_WIDTHS, GRID_SIZE, two_layer, grid_inputs,
weight_vector, linearized_apply, SideBySideRun, side_by_side, WidthSweep, width_sweep,
ChordLosses, chord_losses.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import interval_problem, with_bias_feature
from ..models import MLP
from ..training import linearize, log_record_steps, run_slice, train

LR = 0.05  # learning rate (lr * lambda_max ~ 0.8: stable at every width used here)
STEPS = 5000  # gradient-flow time T = LR * STEPS = 250: every run has converged by then
N_RECORDS = 40  # log-spaced records (the time control's values)
SEEDS = (0, 1)  # initialisations per width (model.init_many(SEEDS)), averaged in the sweep
DEMO_WIDTHS = (16, 64, 256, 1024, 4096)
SWEEP_WIDTHS = (64, 128, 256, 512, 1024, 2048, 4096)
GRID_SIZE = 101
CHORD_POINTS = 41  # points s in [0, 1] on the chord theta_0 -> theta_T

__all__ = [
    "CHORD_POINTS",
    "DEMO_WIDTHS",
    "GRID_SIZE",
    "LR",
    "N_RECORDS",
    "SEEDS",
    "STEPS",
    "SWEEP_WIDTHS",
    "ChordLosses",
    "SideBySideRun",
    "WidthSweep",
    "chord_losses",
    "grid_inputs",
    "linearized_apply",
    "side_by_side",
    "two_layer",
    "weight_vector",
    "width_sweep",
]


def two_layer(width: int) -> MLP:
    """The network of the notebook: ``MLP(in_dim=2, width=width, depth=1, sb2=0.0)`` (ReLU, NTK)."""
    return MLP(in_dim=2, width=_validate.positive_int(width, "width"), depth=1, sb2=0.0)


def grid_inputs(size: int = GRID_SIZE):
    """Test inputs: ``size`` equally spaced x in [-1, 1], returned as ``(x (size,), X (size, 2))``."""
    size = _validate.positive_int(size, "size", minimum=2)
    x = jnp.linspace(-1.0, 1.0, size, dtype=jnp.float64)
    return x, with_bias_feature(x[:, None])


def weight_vector(params):
    """The moving weights ``(W1, W2)`` of a two-layer parameter list, flattened into one vector.

    Works on one parameter set or on stacked ones (leading axes, e.g. seeds or records, are
    kept), for jax or numpy arrays. The biases are left out: with ``sb2 = 0`` they never move.
    """
    first, second = params
    xp = np if isinstance(first["W"], np.ndarray) else jnp
    lead = first["W"].shape[:-2]
    return xp.concatenate([first["W"].reshape(*lead, -1), second["W"].reshape(*lead, -1)], axis=-1)


@functools.lru_cache(maxsize=None)
def linearized_apply(model: MLP):
    """``apply_lin(params, x)`` for ``params = {"theta": theta, "theta0": theta_0}``: the
    linearization ``training.linearize(model.apply, theta_0)`` evaluated at ``theta``.

    ``theta_0`` travels with the parameters so that ``train(..., batch=True)`` can train one
    linearization per seed in a single compiled run; it sits behind ``jax.lax.stop_gradient``,
    so its gradient is exactly zero and gradient descent leaves it where it started. Cached
    per model, so every call trains with the same function object (one compile per shape).
    """

    def apply_lin(params, x):
        theta0 = jax.lax.stop_gradient(params["theta0"])
        return linearize(model.apply, theta0)(params["theta"], x)

    return apply_lin


@functools.lru_cache(maxsize=None)
def _network_on_grid(model: MLP):
    """``measure`` for the network's run: its outputs on the test grid."""
    _, grid = grid_inputs()
    return lambda params: model.apply(params, grid)


@functools.lru_cache(maxsize=None)
def _linearization_on_grid(model: MLP):
    """``measure`` for the linearization's run: its outputs on the test grid."""
    _, grid = grid_inputs()
    apply_lin = linearized_apply(model)
    return lambda params: apply_lin(params, grid)


def _to_numpy(tree):
    return jax.tree_util.tree_map(np.asarray, tree)


class SideBySideRun(NamedTuple):
    """A network and its linearization trained side by side at one width (numpy arrays).

    Axes: S seeds (``SEEDS``), R records (log-spaced times), G grid points, P moving weights.

    times : (R,).  net_loss, lin_loss : (S, R) training losses ``1/2 ||f - y||^2``.
    net_grid, lin_grid : (S, R, G) the two models on the test grid ``grid_inputs()``.
    gap : (S, R) root-mean-square of ``f - f_lin`` over the grid.
    rel_change, rel_change_lin : (S, R) ``||theta_t - theta_0|| / ||theta_0||`` of the network
        and of the linear model (weights only, ``weight_vector``).
    theta0_norm : (S,) ``||theta_0||``.  move_net, move_lin : (S,) ``||theta_T - theta_0||``.
    max_move : (S,) the largest ``|theta_T,i - theta_0,i|`` over single weights (network).
    weight_paths : (R, 3) three weights of seed 0 over time, minus their initial values:
        the one that moves most by the end, ``W2[0]`` and ``W1[0, 0]``.
    params0, final_params : the initial and the final network parameters (leaves with the
        leading S axis).
    """

    times: np.ndarray
    net_loss: np.ndarray
    lin_loss: np.ndarray
    net_grid: np.ndarray
    lin_grid: np.ndarray
    gap: np.ndarray
    rel_change: np.ndarray
    rel_change_lin: np.ndarray
    theta0_norm: np.ndarray
    move_net: np.ndarray
    move_lin: np.ndarray
    max_move: np.ndarray
    weight_paths: np.ndarray
    params0: Any
    final_params: Any


@functools.lru_cache(maxsize=None)
def side_by_side(width: int) -> SideBySideRun:
    """Train the width-``width`` network and its linearization side by side; cached per width.

    From ``params0 = model.init_many(SEEDS)``: the network by ``train(model.apply, params0, X,
    y, batch=True)``, the linearization (one per seed, around that seed's ``theta_0``) by
    ``train(linearized_apply(model), {"theta": params0, "theta0": params0}, X, y,
    batch=True)``; same learning rate ``LR`` and ``STEPS`` steps, recorded at about
    ``N_RECORDS`` log-spaced steps, with both models evaluated on the test grid at every record
    (``measure``) and the parameters kept (``record_params``).
    """
    model = two_layer(width)
    _, X, y = interval_problem()
    record = log_record_steps(STEPS, N_RECORDS)
    params0 = model.init_many(SEEDS)
    net = train(
        model.apply, params0, X, y, lr=LR, steps=STEPS, record_steps=record, record_params=True,
        measure=_network_on_grid(model), batch=True,
    )
    lin = train(
        linearized_apply(model), {"theta": params0, "theta0": params0}, X, y, lr=LR, steps=STEPS,
        record_steps=record, record_params=True, measure=_linearization_on_grid(model), batch=True,
    )
    net_grid, lin_grid = np.asarray(net.measurements), np.asarray(lin.measurements)
    w0 = np.asarray(weight_vector(params0))[:, None, :]  # (S, 1, P)
    norm0 = np.linalg.norm(w0, axis=-1)  # (S, 1)
    moved = np.asarray(weight_vector(net.param_history)) - w0  # (S, R, P)
    moved_lin = np.asarray(weight_vector(lin.param_history["theta"])) - w0
    final = moved[:, -1, :]
    biggest = int(np.argmax(np.abs(final[0])))
    n_first = 2 * width  # W1 has 2 x width entries and comes first in ``weight_vector``
    return SideBySideRun(
        times=np.asarray(net.times, dtype=np.float64),
        net_loss=np.asarray(net.loss),
        lin_loss=np.asarray(lin.loss),
        net_grid=net_grid,
        lin_grid=lin_grid,
        gap=np.sqrt(np.mean((net_grid - lin_grid) ** 2, axis=-1)),
        rel_change=np.linalg.norm(moved, axis=-1) / norm0,
        rel_change_lin=np.linalg.norm(moved_lin, axis=-1) / norm0,
        theta0_norm=norm0[:, 0],
        move_net=np.linalg.norm(final, axis=-1),
        move_lin=np.linalg.norm(moved_lin[:, -1, :], axis=-1),
        max_move=np.max(np.abs(final), axis=-1),
        weight_paths=moved[0][:, [biggest, n_first, 0]],
        params0=_to_numpy(params0),
        final_params=_to_numpy(net.params),
    )


class WidthSweep(NamedTuple):
    """End-of-training numbers per width: seed means, numpy arrays of shape (len(widths),).

    rel_change : ``||theta_T - theta_0|| / ||theta_0||`` of the network.  gap : rms of
    ``f_T - f_lin,T`` on the test grid.  max_move : largest single-weight move.
    theta0_norm : ``||theta_0||``.  move_net, move_lin : ``||theta_T - theta_0||`` of the
    network and of its linearization.  net_loss, lin_loss : final training losses.
    """

    widths: np.ndarray
    rel_change: np.ndarray
    gap: np.ndarray
    max_move: np.ndarray
    theta0_norm: np.ndarray
    move_net: np.ndarray
    move_lin: np.ndarray
    net_loss: np.ndarray
    lin_loss: np.ndarray


@functools.lru_cache(maxsize=None)
def _width_sweep(widths: tuple) -> WidthSweep:
    runs = [side_by_side(w) for w in widths]
    mean = lambda values: np.array([np.mean(v) for v in values])
    return WidthSweep(
        widths=np.array(widths, dtype=np.float64),
        rel_change=mean(r.rel_change[:, -1] for r in runs),
        gap=mean(r.gap[:, -1] for r in runs),
        max_move=mean(r.max_move for r in runs),
        theta0_norm=mean(r.theta0_norm for r in runs),
        move_net=mean(r.move_net for r in runs),
        move_lin=mean(r.move_lin for r in runs),
        net_loss=mean(r.net_loss[:, -1] for r in runs),
        lin_loss=mean(r.lin_loss[:, -1] for r in runs),
    )


def width_sweep(widths=SWEEP_WIDTHS) -> WidthSweep:
    """The claim-check numbers at the end of training (t = T), averaged over ``SEEDS``, per width.

    Reads ``side_by_side(width)`` for every width (cached), so it reuses the demo's runs.
    """
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    if len(widths) < 2:
        raise ValueError("widths must contain at least two widths to fit a slope")
    return _width_sweep(widths)


class ChordLosses(NamedTuple):
    """Losses on the straight line ``theta_s = theta_0 + s (theta_T - theta_0)``, s in [0, 1].

    s : (K,).  net_loss : (K,) the network's loss.  lin_loss : (K,) the linearization's loss
    (around ``theta_0``), a parabola in ``s``.
    """

    s: np.ndarray
    net_loss: np.ndarray
    lin_loss: np.ndarray


@functools.lru_cache(maxsize=None)
def _chord_losses(width: int, s: tuple) -> ChordLosses:
    model = two_layer(width)
    _, X, y = interval_problem()
    run = side_by_side(width)
    p0, pT = run_slice(run.params0, 0), run_slice(run.final_params, 0)
    f_lin = linearize(model.apply, jax.tree_util.tree_map(jnp.asarray, p0))

    def losses(s_value):
        point = jax.tree_util.tree_map(lambda a, b: a + s_value * (b - a), p0, pT)
        return (0.5 * jnp.sum((model.apply(point, X) - y) ** 2), 0.5 * jnp.sum((f_lin(point, X) - y) ** 2))

    net, lin = jax.vmap(losses)(jnp.asarray(s))
    return ChordLosses(np.asarray(s), np.asarray(net), np.asarray(lin))


def chord_losses(width: int, s=None) -> ChordLosses:
    """Loss of the network and of its linearization on the straight line ``theta_0 -> theta_T``.

    ``theta_T`` is where the *network* (seed 0 of ``side_by_side(width)``) ends its training;
    ``s`` defaults to ``CHORD_POINTS`` equally spaced values in [0, 1]. Cached per argument.
    """
    width = _validate.positive_int(width, "width")
    s = np.linspace(0.0, 1.0, CHORD_POINTS) if s is None else np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("s must be a non-empty 1-D array of finite numbers")
    return _chord_losses(width, tuple(float(v) for v in s))
