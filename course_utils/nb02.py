"""Notebook 02 (the linearization intuition): a network against its first-order Taylor model.

The network is the two-layer ReLU net of notebook 01, ``f = W2 relu(W1 [x, 1])`` in NTK
parameterization (``course_utils.MLP(in_dim=2, width=m, depth=1, sb2=0)``), on the same eight
training points. Its linearization around the initial parameters ``theta0`` is
``f_lin(x; theta) = f(x; theta0) + J(x) (theta - theta0)``, evaluated with ``jax.jvp`` by
``course_utils.linearize``. Both are trained by ``course_utils.train`` from the same start,
on the same data, with the same steps; everything is recorded once per width.

The parameters that move are the weights ``W1`` and ``W2``: the MLP also stores bias vectors,
but with ``sb2 = 0`` they are multiplied by zero, get zero gradient and never change, so the
weight norms below leave them out.

Public functions
----------------
two_layer, dataset, grid_inputs, seed_params, weights, side_by_side, pair_runs, weight_sweep,
side_by_side_demo, chord_losses, plot_sweep, plot_weight_paths, plot_chords, loglog_slope,
check_linearize, check_extrapolate (and the registered solutions ``02.linearize``,
``02.extrapolate``).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate
from .data import with_bias_feature
from .exercises import _report, check_function, solution
from .models import MLP
from .nb01 import dataset, forward_numpy, init_batch, linearized_numpy, two_layer
from .training import linearize, log_record_steps, train
from .widgets import InteractiveFigure
from .widgets import pin_layout_for_redraws as _no_layout_engine
from .widgets import plain_log_ticks as _plain_log_ticks

LR = 0.05  # learning rate (lr * lambda_max ~ 0.8: stable at every width used here)
STEPS = 5000  # gradient-flow time T = LR * STEPS = 250: every run has converged by then
N_RECORDS = 40  # log-spaced records (the time control's values)
N_SEEDS = 2  # random initialisations per width, averaged in the sweep
SEED_BASE = 2  # numpy seed of the initialisations (see nb01.init_batch)
DEMO_WIDTHS = (16, 64, 256, 1024, 4096)
SWEEP_WIDTHS = (64, 128, 256, 512, 1024, 2048, 4096)
GRID_SIZE = 101

__all__ = [
    "DEMO_WIDTHS",
    "SWEEP_WIDTHS",
    "PairRun",
    "Sweep",
    "chord_losses",
    "check_extrapolate",
    "check_linearize",
    "dataset",
    "grid_inputs",
    "loglog_slope",
    "pair_runs",
    "plot_chords",
    "plot_sweep",
    "plot_weight_paths",
    "seed_params",
    "side_by_side",
    "side_by_side_demo",
    "two_layer",
    "weight_sweep",
    "weights",
]


def grid_inputs(size: int = GRID_SIZE):
    """Test inputs: ``size`` equally spaced x in [-1, 1], returned as ``(x (size,), X (size, 2))``."""
    size = _validate.positive_int(size, "size", minimum=2)
    x = jnp.linspace(-1.0, 1.0, size, dtype=jnp.float64)
    return x, with_bias_feature(x[:, None])


def seed_params(width: int, seed_index: int, n_seeds: int = N_SEEDS):
    """The initial parameters of seed ``seed_index`` in ``pair_runs(width)``."""
    params = init_batch(width, n_seeds, SEED_BASE)
    return [{name: leaf[seed_index] for name, leaf in layer.items()} for layer in params]


def weights(params):
    """The moving weights ``(W1, W2)`` of a two-layer parameter list, flattened into one vector.

    Works on a single parameter set or on stacked ones (leading axes are kept), for jax or
    numpy arrays.
    """
    first, second = params
    xp = np if isinstance(first["W"], np.ndarray) else jnp
    lead = first["W"].shape[:-2]
    return xp.concatenate([first["W"].reshape(*lead, -1), second["W"].reshape(*lead, -1)], axis=-1)


class PairRun(NamedTuple):
    """A network and its linearization trained side by side at one width (numpy arrays).

    Axes: S seeds, R records (log-spaced times), G grid points.

    times : (R,).  net_loss, lin_loss : (S, R) training losses.
    net_grid, lin_grid : (S, R, G) the two models on the test grid.
    gap : (S, R) root-mean-square of ``f - f_lin`` over the grid.
    rel_change, rel_change_lin : (S, R) ``||theta_t - theta_0|| / ||theta_0||`` of the network
        and of the linear model.
    theta0_norm : (S,).  move_net, move_lin : (S,) ``||theta_T - theta_0||`` at the end.
    max_move : (S,) the largest ``|theta_T,i - theta_0,i|`` over single weights.
    weight_paths : (R, 3) three weights of seed 0 over time, minus their initial values:
        the one that moves most by the end, ``W2[0]`` and ``W1[0, 0]``.
    final_params : seed 0's network parameters at the end of training.
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
    final_params: list


def side_by_side(model: MLP, params0):
    """One model that is the network and its linearization side by side.

    Returns ``(both, stack)``: ``both({"net": p, "lin": q}, stack(X))`` is the network at ``p``
    on the first copy of ``X`` followed by the linearization around ``params0`` at ``q`` on
    the second copy. Its squared loss is the sum of the two models' losses, and the two
    parameter sets do not interact, so one ``course_utils.train`` run of ``both`` takes
    exactly the gradient steps that two separate runs would (one compilation instead of two).
    """
    f_lin = linearize(model.apply, params0)

    def both(params, x2):
        n = x2.shape[0] // 2
        return jnp.concatenate([model.apply(params["net"], x2[:n]), f_lin(params["lin"], x2[n:])])

    def stack(a):
        return jnp.concatenate([a, a])

    return both, stack


@functools.lru_cache(maxsize=None)
def pair_runs(width: int, n_seeds: int = N_SEEDS) -> PairRun:
    """Train the width-``width`` network and its linearization side by side; cached per width.

    For every seed (initial parameters ``seed_params(width, i)``): build
    ``f_lin = course_utils.linearize(model.apply, theta0)`` and train the network and ``f_lin``
    with ``course_utils.train``: same data, same start, same learning rate and steps, recorded
    at about ``N_RECORDS`` log-spaced steps. Both run in one call through ``side_by_side``
    (the same steps as two separate runs), vectorised over seeds with ``jax.vmap``: one
    compilation per width. Grid outputs and weight norms are then computed in numpy.
    """
    width = _validate.positive_int(width, "width")
    n_seeds = _validate.positive_int(n_seeds, "n_seeds")
    model = two_layer(width)
    _, X, y = dataset()
    _, grid = grid_inputs()
    n = X.shape[0]
    record = log_record_steps(STEPS, N_RECORDS)
    p0 = init_batch(width, n_seeds, SEED_BASE)

    def run(params0):
        both, stack = side_by_side(model, params0)
        traj = train(
            both, {"net": params0, "lin": params0}, stack(X), stack(y),
            lr=LR, steps=STEPS, record_steps=record, record_params=True,
        )
        return traj.outputs, traj.param_history

    outputs, history = jax.vmap(run)(p0)
    outputs = np.asarray(outputs)  # (S, R, 2n): network on the first n, linearization on the last n
    y = np.asarray(y)
    net_loss = 0.5 * np.sum((outputs[..., :n] - y) ** 2, axis=-1)
    lin_loss = 0.5 * np.sum((outputs[..., n:] - y) ** 2, axis=-1)
    to_numpy = lambda tree: [{k: np.asarray(v) for k, v in layer.items()} for layer in tree]  # noqa: E731
    net_history, lin_history, start = to_numpy(history["net"]), to_numpy(history["lin"]), to_numpy(p0)

    # Both models on the test grid at every record, in numpy (no compilation per width),
    # one record at a time to keep the (grid x width) intermediates small.
    grid = np.asarray(grid)
    S, R = net_loss.shape
    net_grid = np.empty((S, R, grid.shape[0]))
    lin_grid = np.empty_like(net_grid)
    for i in range(S):
        p0_i = [{k: v[i] for k, v in layer.items()} for layer in start]
        for k in range(R):
            net_k = [{a: v[i, k] for a, v in layer.items()} for layer in net_history]
            lin_k = [{a: v[i, k] for a, v in layer.items()} for layer in lin_history]
            net_grid[i, k] = forward_numpy(model, net_k, grid)
            lin_grid[i, k] = linearized_numpy(model, lin_k, p0_i, grid)

    w0 = np.asarray(weights(start))[:, None, :]  # (S, 1, P)
    norm0 = np.linalg.norm(w0, axis=-1)  # (S, 1)
    moved = np.asarray(weights(net_history)) - w0  # (S, R, P)
    rel = np.linalg.norm(moved, axis=-1) / norm0
    rel_lin = np.linalg.norm(np.asarray(weights(lin_history)) - w0, axis=-1) / norm0
    final = moved[:, -1, :]
    biggest = int(np.argmax(np.abs(final[0])))
    n_first = 2 * width  # W1 has 2 x width entries and comes first in ``weights``
    return PairRun(
        times=LR * record.astype(np.float64),
        net_loss=net_loss,
        lin_loss=lin_loss,
        net_grid=net_grid,
        lin_grid=lin_grid,
        gap=np.sqrt(np.mean((net_grid - lin_grid) ** 2, axis=-1)),
        rel_change=rel,
        rel_change_lin=rel_lin,
        theta0_norm=norm0[:, 0],
        move_net=np.linalg.norm(final, axis=-1),
        move_lin=rel_lin[:, -1] * norm0[:, 0],
        max_move=np.max(np.abs(final), axis=-1),
        weight_paths=moved[0][:, [biggest, n_first, 0]],
        final_params=[{k: v[0, -1] for k, v in layer.items()} for layer in net_history],
    )


class Sweep(NamedTuple):
    """End-of-training numbers per width (seed averages, numpy arrays of shape (len(widths),))."""

    widths: np.ndarray
    rel_change: np.ndarray
    gap: np.ndarray
    max_move: np.ndarray
    theta0_norm: np.ndarray
    move_net: np.ndarray
    move_lin: np.ndarray
    net_loss: np.ndarray
    lin_loss: np.ndarray


def weight_sweep(widths=SWEEP_WIDTHS) -> Sweep:
    """The claim-check numbers at the end of training (t = T), averaged over seeds, per width."""
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    if len(widths) < 2:
        raise ValueError("widths must contain at least two widths to fit a slope")
    runs = [pair_runs(w) for w in widths]
    mean = lambda values: np.array([np.mean(v) for v in values])  # noqa: E731
    return Sweep(
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


def loglog_slope(widths, values) -> tuple[float, float]:
    """Least-squares line through ``(log width, log value)``: returns ``(slope, intercept)``."""
    widths = np.asarray(widths, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if widths.shape != values.shape or widths.ndim != 1 or widths.size < 2:
        raise ValueError("widths and values must be 1-D arrays of the same length (at least 2)")
    if np.any(widths <= 0) or np.any(values <= 0):
        raise ValueError("widths and values must be positive to take logarithms")
    slope, intercept = np.polyfit(np.log(widths), np.log(values), 1)
    return float(slope), float(intercept)


# ---------------------------------------------------------------- the interactive figure
def _time_index(times, t: float) -> int:
    return int(np.argmin(np.abs(np.asarray(times) - t)))


def side_by_side_demo(widths=DEMO_WIDTHS) -> InteractiveFigure:
    """Width and time demo: the network and its linearization, trained side by side.

    Left: both models on [-1, 1] at the chosen time (seed 0), with the training points and the
    function at initialisation. Middle: the gap ``rms(f - f_lin)`` over the grid against time,
    for every width. Right: the relative weight change ``||theta_t - theta_0|| / ||theta_0||``
    against time, for every width. Every width is trained when the demo is built.
    """
    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    runs = {w: pair_runs(w) for w in widths}
    times = runs[widths[0]].times
    x_grid, _ = grid_inputs()
    x_train, _, y_train = dataset()
    x_grid, x_train, y_train = np.asarray(x_grid), np.asarray(x_train[:, 0]), np.asarray(y_train)
    colours = {w: f"C{i}" for i, w in enumerate(widths)}
    art = {}

    def setup(axes):
        ax0, ax1, ax2 = axes
        (art["f0"],) = ax0.plot(x_grid, np.zeros_like(x_grid), ":", color="0.6", lw=1.2, label="network at t = 0")
        (art["net"],) = ax0.plot(x_grid, np.zeros_like(x_grid), color="C0", lw=2.2, label="network f")
        (art["lin"],) = ax0.plot(x_grid, np.zeros_like(x_grid), "--", color="C3", lw=1.6, label="linearization f_lin")
        ax0.plot(x_train, y_train, "ko", ms=4, label="training points")
        ax0.set_xlabel("input x")
        ax0.legend(fontsize=7, loc="lower right")
        art["title0"] = ax0.set_title("", fontsize=9)
        panels = (
            (ax1, "gap", "rms of f - f_lin on [-1, 1]"),
            (ax2, "rel_change", "||theta_t - theta_0|| / ||theta_0||"),
        )
        for ax, key, ylabel in panels:
            art[key] = {}
            for w in widths:
                (art[key][w],) = ax.plot(times[1:], getattr(runs[w], key)[0, 1:], color=colours[w], label=f"width {w}")
            art[key + "_now"] = ax.axvline(times[-1], color="0.4", lw=0.8)
            (art[key + "_dot"],) = ax.plot([], [], "ko", ms=5)
            ax.set_xscale("log")
            ax.set_yscale("log")
            _plain_log_ticks(ax)
            ax.set_xlabel("time t")
            ax.set_ylabel(ylabel, fontsize=8)
        ax1.set_ylim(1e-5, 2.0)
        ax2.set_ylim(1e-4, 2.0)
        ax1.set_title("network minus its linearization", fontsize=9)
        ax2.set_title("how far the weights travel", fontsize=9)
        ax2.legend(fontsize=6, loc="lower right")

    def draw(axes, width, time):
        ax0 = axes[0]
        _no_layout_engine(ax0.figure)
        if not art:
            setup(axes)
        run = runs[width]
        k = _time_index(run.times, time)
        art["f0"].set_ydata(run.net_grid[0, 0])
        art["net"].set_ydata(run.net_grid[0, k])
        art["lin"].set_ydata(run.lin_grid[0, k])
        low = min(run.net_grid[0].min(), run.lin_grid[0].min(), y_train.min())
        high = max(run.net_grid[0].max(), run.lin_grid[0].max(), y_train.max())
        pad = 0.1 * (high - low)
        ax0.set_ylim(low - pad, high + pad)
        art["title0"].set_text(f"width {width}, t = {run.times[k]:.3g}: gap {run.gap[0, k]:.2g}")
        for key in ("gap", "rel_change"):
            for w, line in art[key].items():
                line.set_linewidth(2.6 if w == width else 0.9)
                line.set_alpha(1.0 if w == width else 0.45)
            j = max(k, 1)
            art[key + "_now"].set_xdata([run.times[j]] * 2)
            art[key + "_dot"].set_data([run.times[j]], [getattr(run, key)[0, j]])

    return InteractiveFigure(
        draw,
        widths=widths,
        times=times,
        width=widths[0],
        time=float(times[len(times) * 2 // 3]),
        ncols=3,
        figsize=(11.0, 3.4),
        title="A network (solid) and its linearization (dashed), trained side by side",
    )


# ---------------------------------------------------------------- static figures
def plot_sweep(sweep: Sweep):
    """Static figure of the claim checks: relative weight change, largest single-weight move,
    and the network-linearization gap against width, on log-log axes with fitted slopes."""
    import matplotlib.pyplot as plt

    if not isinstance(sweep, Sweep):
        raise ValueError("sweep must be the result of nb02.weight_sweep()")
    w = sweep.widths
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.2))
    panels = [
        (sweep.rel_change, "||theta_T - theta_0|| / ||theta_0||", "relative weight change"),
        (sweep.max_move, "max_i |theta_T,i - theta_0,i|", "the weight that moves most"),
        (sweep.gap, "rms of f_T - f_lin,T on [-1, 1]", "network minus linearization"),
    ]
    for ax, (values, ylabel, title) in zip(axes, panels):
        slope, intercept = loglog_slope(w, values)
        ax.loglog(w, values, "o", color="C0", label="measured (mean of seeds)")
        ax.loglog(w, np.exp(intercept) * w**slope, "-", color="C0", lw=1, label=f"fit: slope {slope:.2f}")
        ref = values[0] * (w / w[0]) ** -0.5
        ax.loglog(w, ref, "--", color="0.5", lw=1, label="width^-1/2")
        ax.set_xlabel("width")
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_weight_paths(widths=(16, 4096)):
    """Static figure: how three single weights of seed 0 move during training, per width.

    Plots ``theta_i(t) - theta_i(0)`` for the weight that has moved most by the end, for
    ``W2[0]`` and for ``W1[0, 0]``; all weights start as N(0, 1) draws, so a move of 1 is
    the size of the weight itself.
    """
    import matplotlib.pyplot as plt

    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    runs = [pair_runs(w) for w in widths]
    limit = 1.1 * max(np.max(np.abs(r.weight_paths)) for r in runs)
    fig, axes = plt.subplots(1, len(widths), figsize=(4.2 * len(widths), 3.0), sharey=True)
    for ax, w, run in zip(np.atleast_1d(axes), widths, runs):
        labels = ("the weight that moves most", "W2[0] (an output weight)", "W1[0, 0] (an input weight)")
        for k, label in enumerate(labels):
            ax.plot(run.times[1:], run.weight_paths[1:, k], color=f"C{k}", label=label)
        ax.set_xscale("log")
        _plain_log_ticks(ax, "x")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_ylim(-limit, limit)
        ax.set_xlabel("time t")
        ax.set_title(f"width {w}", fontsize=9)
    np.atleast_1d(axes)[0].set_ylabel("theta_i(t) - theta_i(0)")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def chord_losses(width: int, s=None):
    """Loss of the network and of its linearization on the straight line ``theta_0 -> theta_T``.

    ``theta_T`` is where the *network* (seed 0 of ``pair_runs(width)``) ends its training.
    Returns ``(s, loss_net, loss_lin)``; the linear model's loss is a parabola in ``s``.
    """
    width = _validate.positive_int(width, "width")
    s = np.linspace(0.0, 1.0, 41) if s is None else np.asarray(s, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError("s must be a 1-D array of numbers")
    model = two_layer(width)
    _, X, y = dataset()
    p0 = [{k: np.asarray(v) for k, v in layer.items()} for layer in seed_params(width, 0)]
    pT = pair_runs(width).final_params
    mix = lambda a, b: a + s.reshape(s.shape + (1,) * a.ndim) * (b - a)  # noqa: E731
    points = [{k: mix(p0[i][k], pT[i][k]) for k in p0[i]} for i in range(2)]
    y = np.asarray(y)
    loss_net = 0.5 * np.sum((forward_numpy(model, points, X) - y) ** 2, axis=-1)
    loss_lin = 0.5 * np.sum((linearized_numpy(model, points, p0, X) - y) ** 2, axis=-1)
    return s, loss_net, loss_lin


def plot_chords(widths=(16, 4096)):
    """Static figure: loss along ``theta_0 -> theta_T`` for a narrow and a wide network."""
    import matplotlib.pyplot as plt

    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    fig, axes = plt.subplots(1, len(widths), figsize=(4.2 * len(widths), 3.0))
    for ax, w in zip(np.atleast_1d(axes), widths):
        s, net, lin = chord_losses(w)
        ax.plot(s, net, color="C0", lw=2, label="network")
        ax.plot(s, lin, "--", color="C3", label="linearization (a parabola)")
        ax.plot([0, 1], [net[0], net[-1]], ":", color="k", lw=1, label="chord")
        ax.set_xlabel("s   (0: theta_0,  1: theta_T)")
        ax.set_ylabel("training loss")
        ax.set_title(f"width {w}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- exercises
@solution("02.linearize")
def linearize_solution(apply_fn, params0):
    # f_lin(params, x) = f(params0, x) + J(x) (params - params0).
    # jax.jvp(g, (p0,), (v,)) returns g(p0) and the directional derivative J v in one
    # forward pass, so the Jacobian J is never formed.
    def f_lin(params, x):
        delta = jax.tree_util.tree_map(lambda p, p0: p - p0, params, params0)
        value, tangent = jax.jvp(lambda p: apply_fn(p, x), (params0,), (delta,))
        return value + tangent

    return f_lin


def check_linearize(student_fn) -> bool:
    """Exercise 02.linearize: ``student_fn(apply_fn, params0)`` must return ``f_lin(params, x)``.

    Compared with the first-order Taylor model (``nb01.linearized_numpy``, equal to
    ``course_utils.linearize``) at ``params0`` and at small and large steps away from it, on a
    small network; says which property fails (value at ``params0``, sign of the linear term,
    or being the network itself).
    """
    if not callable(student_fn):
        return _report(False, "my_linearize should be a function my_linearize(apply_fn, params0).")
    model = two_layer(8)
    p0, direction = (
        [{k: np.asarray(v[0]) for k, v in layer.items()} for layer in init_batch(8, 1, seed)] for seed in (11, 12)
    )
    _, X, _ = dataset()
    X = np.asarray(X)
    try:
        f_lin = student_fn(model.apply, p0)
    except NotImplementedError:
        return _report(False, "my_linearize still raises NotImplementedError: fill in the stub first.")
    except Exception as err:  # the student's code
        return _report(False, f"my_linearize raised {type(err).__name__}: {err}.")
    if not callable(f_lin):
        return _report(False, "my_linearize should return a function f_lin(params, x), not "
                              f"{type(f_lin).__name__}.")
    network_at_p0 = forward_numpy(model, p0, X)
    for scale in (0.0, 0.01, 1.0, 3.0):
        params = jax.tree_util.tree_map(lambda a, d: a + scale * d, p0, direction)
        try:
            got = np.asarray(f_lin(params, X), dtype=np.float64)
        except NotImplementedError:
            return _report(False, "f_lin still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code
            return _report(False, f"f_lin(params, x) raised {type(err).__name__}: {err}.")
        expected = linearized_numpy(model, params, p0, X)
        if got.shape != expected.shape:
            return _report(
                False, f"f_lin returned shape {got.shape}; expected {expected.shape} (one output per input)."
            )
        if np.allclose(got, expected, rtol=1e-9, atol=1e-10):
            continue
        if scale == 0.0:
            return _report(False, "at params = params0 the linear model must equal the network, "
                                  "f_lin(params0, x) = f(params0, x); yours does not.")
        if np.allclose(got, forward_numpy(model, params, X), rtol=1e-9, atol=1e-10):
            return _report(
                False,
                f"at a step of size {scale} your function equals the network itself, not its first-order "
                "Taylor model: evaluate the network at params0 and add J (params - params0).",
            )
        tangent = expected - network_at_p0
        if np.allclose(got, network_at_p0 - tangent, rtol=1e-9, atol=1e-10):
            return _report(False, "the linear term has the wrong sign: the tangent is J (params - params0).")
        return _report(False, f"at a step of size {scale} from params0 your f_lin is off by up to "
                              f"{np.max(np.abs(got - expected)):.3g}. Use jax.jvp with the tangent params - params0.")
    return _report(True, "your f_lin matches the first-order Taylor model at params0 and at small and large steps.")


@solution("02.extrapolate")
def extrapolate_solution(widths, values, new_width):
    # A power law values = C * width^slope is a straight line in log-log coordinates:
    # log(values) = log(C) + slope * log(width). Fit that line by least squares and
    # evaluate it at the new width.
    slope, intercept = np.polyfit(np.log(widths), np.log(values), 1)
    return float(np.exp(intercept + slope * np.log(new_width)))


def check_extrapolate(student_fn) -> bool:
    """Exercise 02.extrapolate: ``student_fn(widths, values, new_width)`` fits a power law and
    evaluates it at ``new_width``; checked on exact power laws and on noisy data."""
    rng = np.random.default_rng(5)
    w = np.array([64.0, 128, 256, 512, 1024, 2048, 4096])
    cases = [
        (w, 3.0 * w**-0.5, 16384.0),
        (w, 0.7 * w**-1.0, 100.0),
        (w[:5], 2.0 * w[:5] ** 0.25, 8192.0),
        (w, 2.5 * w**-0.5 * np.exp(0.1 * rng.standard_normal(w.size)), 65536.0),
    ]
    return check_function(
        student_fn,
        extrapolate_solution,
        cases,
        rtol=1e-6,
        atol=1e-12,
        what="extrapolate(widths, values, new_width)",
        hint="Fit a straight line to log(values) against log(widths) (np.polyfit with degree 1) "
             "and evaluate exp(intercept + slope * log(new_width)).",
    )
