"""Notebook 01 (the non-convexity problem): symmetries, loss barriers, and seeds vs width.

The network of the notebook is the two-layer ReLU net ``f(x) = W2 relu(W1 x)`` in NTK
parameterization, i.e. ``course_utils.MLP(in_dim=2, width=m, depth=1, sb2=0)`` fed with
1-D inputs ``x`` augmented by a constant feature 1 (so ``W1`` carries the first-layer bias and
the formula keeps the post's bias-free form). Everything here is deterministic: every random
draw takes a fixed seed.

Public functions
----------------
dataset, two_layer, loss, rescale, permute_hidden, interpolate, segment_losses,
plane_losses, forward_numpy, linearized_numpy, init_batch, seed_params, one_unit_loss,
plot_one_unit_landscape, seed_runs, trained_params,
stuck_runs, success_fraction, seeds_demo, permutations_for, segment_runs, segment_demo,
barrier_check, check_permute_hidden, check_convexity_gap (and the registered solutions
``01.permute_hidden``, ``01.convexity_gap``).
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate
from .data import target_1d, with_bias_feature
from .exercises import _report, solution
from .models import MLP
from .training import log_record_steps, train
from .widgets import InteractiveFigure
from .widgets import pin_layout_for_redraws as _no_layout_engine
from .widgets import plain_log_ticks as _plain_log_ticks

# ---------------------------------------------------------------- settings of the notebook
N_POINTS = 8  # training points, equally spaced in [-1, 1]
LR = 0.05  # learning rate of every run (lr * lambda_max ~ 0.8 < 2: stable)
STEPS = 5000  # so the runs end at gradient-flow time T = LR * STEPS = 250
N_RECORDS = 40  # log-spaced records of every run (the time control's values)
SEED_WIDTHS = (16, 32, 64, 128, 256)  # offered by the seeds demo
N_SEEDS = 20  # random initialisations per width in the seeds demo
THRESHOLD = 1e-3  # "near-zero" training loss (initial losses are about 1 to 35)
SEGMENT_WIDTHS = (16, 32, 64, 128, 256)  # offered by the segment demo
SEGMENT_S = np.linspace(0.0, 1.0, 41)
PLANE_UV = np.round(np.linspace(-0.3, 1.3, 33), 12)  # contains 0, 0.5 and 1 exactly
SEED_BASE = 1  # numpy seed of the initialisations in the seeds demo (see init_batch)


# ---------------------------------------------------------------- data and model
def dataset(n: int = N_POINTS):
    """The notebook's training set: ``n`` equally spaced inputs in [-1, 1] and smooth targets.

    Returns ``(x, X, y)``: ``x`` of shape (n, 1), ``X = [x, 1]`` of shape (n, 2) (the constant
    feature plays the role of a first-layer bias) and ``y = sin(3x) + 0.3x`` of shape (n,).
    """
    n = _validate.positive_int(n, "n", minimum=2)
    x = jnp.linspace(-1.0, 1.0, n, dtype=jnp.float64)[:, None]
    return x, with_bias_feature(x), target_1d(x[:, 0])


def two_layer(width: int, activation: str = "relu") -> MLP:
    """The two-layer network ``f = W2 phi(W1 [x, 1])`` of the notebook (NTK parameterization, no bias)."""
    width = _validate.positive_int(width, "width")
    return MLP(in_dim=2, width=width, depth=1, activation=activation, sb2=0.0)


def _check_two_layer_params(params) -> None:
    if not isinstance(params, (list, tuple)) or len(params) != 2:
        raise ValueError("params must be the two layers [{'W', 'b'}, {'W', 'b'}] of a depth-1 MLP")
    for i, layer in enumerate(params):
        if not isinstance(layer, dict) or set(layer) != {"W", "b"}:
            raise ValueError(f"layer {i} of params must be a dict with keys 'W' and 'b'")
    m = jnp.shape(params[0]["W"])[-1]
    if jnp.shape(params[1]["W"])[-2:] != (m, 1) or jnp.shape(params[0]["b"])[-1] != m:
        raise ValueError(
            f"params do not describe one hidden layer: W1 {jnp.shape(params[0]['W'])}, "
            f"b1 {jnp.shape(params[0]['b'])}, W2 {jnp.shape(params[1]['W'])}"
        )


def loss(model: MLP, params, X, y):
    """Squared loss ``1/2 ||f(X) - y||^2`` (the course's convention, no 1/n); usable inside jit."""
    residual = model.forward(params, X)[1] - y
    return 0.5 * jnp.dot(residual, residual)


def _numpy_layers(model: MLP, params):
    if not isinstance(model, MLP) or model.depth != 1 or model.activation != "relu":
        raise ValueError("the numpy evaluation covers one-hidden-layer ReLU MLPs only")
    (s1, s2), (first, second) = model.layer_scales(), params
    arrays = [np.asarray(first["W"]), np.asarray(first["b"]), np.asarray(second["W"]), np.asarray(second["b"])]
    return s1, s2, arrays


def forward_numpy(model: MLP, params, X) -> np.ndarray:
    """``model.apply(params, X)`` in plain numpy, for parameters with any leading batch axes.

    ``params`` may hold stacks of parameter sets (e.g. ``W1`` of shape (..., d, m)); the result
    has shape (..., n). Used to evaluate many parameter points at once without compiling an
    XLA program per width (each compilation costs about a second of CPU here); it agrees with
    ``model.apply`` to rounding (see the tests).
    """
    s1, s2, (W1, b1, W2, b2) = _numpy_layers(model, params)
    X = np.asarray(X, dtype=np.float64)
    h = s1.w_mult * np.einsum("nd,...dm->...nm", X, W1) + s1.b_mult * b1[..., None, :]
    return s2.w_mult * np.einsum("...nm,...m->...n", np.maximum(h, 0.0), W2[..., 0]) + s2.b_mult * b2


def linearized_numpy(model: MLP, params, params0, X) -> np.ndarray:
    """The linearization ``f(X; p0) + J (p - p0)`` of a one-hidden-layer ReLU net, in numpy.

    The closed-form Jacobian-vector product of this network (what ``jax.jvp`` computes inside
    ``course_utils.linearize``): ``dh = w1 X dW1 + b1 db1``, ``df = w2 (relu'(h0) dh) W2_0 +
    w2 relu(h0) dW2 + b2 db2``. ``params`` may carry leading batch axes that broadcast against
    those of ``params0``.
    """
    s1, s2, (W1, b1, W2, b2) = _numpy_layers(model, params)
    _, _, (V1, c1, V2, c2) = _numpy_layers(model, params0)
    X = np.asarray(X, dtype=np.float64)
    h0 = s1.w_mult * np.einsum("nd,...dm->...nm", X, V1) + s1.b_mult * c1[..., None, :]
    a0 = np.maximum(h0, 0.0)
    f0 = s2.w_mult * np.einsum("...nm,...m->...n", a0, V2[..., 0]) + s2.b_mult * c2
    dh = s1.w_mult * np.einsum("nd,...dm->...nm", X, W1 - V1) + s1.b_mult * (b1 - c1)[..., None, :]
    df = s2.w_mult * (
        np.einsum("...nm,...m->...n", (h0 > 0) * dh, V2[..., 0]) + np.einsum("...nm,...m->...n", a0, (W2 - V2)[..., 0])
    )
    return f0 + df + s2.b_mult * (b2 - c2)


def init_batch(width: int, n_seeds: int, seed: int):
    """``n_seeds`` initial parameter sets of ``two_layer(width)``, stacked on a leading axis.

    Every entry is an independent N(0, 1) draw times the layer's initial scale, exactly the
    distribution of ``model.init``, drawn with ``numpy.random.default_rng((seed, width))``:
    numpy draws need no XLA compilation per width (``jax.random`` under ``jit`` costs about
    one CPU-second per new shape here).
    """
    width = _validate.positive_int(width, "width")
    n_seeds = _validate.positive_int(n_seeds, "n_seeds")
    seed = _validate.positive_int(seed, "seed", minimum=0)
    model = two_layer(width)
    rng = np.random.default_rng((seed, width))
    params = []
    for (fan_in, fan_out), scale in zip(model.layer_sizes, model.layer_scales()):
        W = scale.w_std * rng.standard_normal((n_seeds, fan_in, fan_out))
        b = scale.b_std * rng.standard_normal((n_seeds, fan_out))
        params.append({"W": jnp.asarray(W), "b": jnp.asarray(b)})
    return params


def seed_params(width: int, seed_index: int, n_seeds: int = N_SEEDS):
    """The initial parameters of seed ``seed_index`` in ``seed_runs(width)``."""
    params = init_batch(width, n_seeds, SEED_BASE)
    return [{name: leaf[seed_index] for name, leaf in layer.items()} for layer in params]


# ---------------------------------------------------------------- symmetries
def rescale(params, c):
    """Move the network along its rescaling symmetry: ``W1 -> W1 / c``, ``W2 -> c W2``.

    The first layer's bias (if any) is divided by ``c`` too, so for a ReLU network and ``c > 0``
    the function is unchanged: ``c relu(z / c) = relu(z)`` (positive homogeneity). The
    read-out bias is untouched.
    """
    _check_two_layer_params(params)
    c = _validate.finite_float(c, "c")
    if c == 0.0:
        raise ValueError("c must be non-zero (c = 0 would erase the network)")
    first, second = params
    return [{"W": first["W"] / c, "b": first["b"] / c}, {"W": c * second["W"], "b": second["b"]}]


def _as_permutation(perm, m: int) -> np.ndarray:
    try:
        arr = np.asarray(perm)
    except (TypeError, ValueError) as err:
        raise ValueError(f"perm must be a permutation of 0..{m - 1}") from err
    if arr.shape != (m,) or not np.issubdtype(arr.dtype, np.integer) or not np.array_equal(np.sort(arr), np.arange(m)):
        raise ValueError(f"perm must be a permutation of 0..{m - 1} (an integer array of length {m}); got {perm!r}")
    return arr


def permute_hidden(params, perm):
    """Reorder the hidden units: new unit ``j`` is old unit ``perm[j]``.

    Columns of ``W1``, entries of ``b1`` and rows of ``W2`` are permuted together, so the
    network function is unchanged (a sum over hidden units does not care about their order).
    """
    _check_two_layer_params(params)
    m = jnp.shape(params[0]["W"])[-1]
    p = _as_permutation(perm, m)
    first, second = params
    return [{"W": first["W"][:, p], "b": first["b"][p]}, {"W": second["W"][p, :], "b": second["b"]}]


def interpolate(params_a, params_b, s):
    """The point ``(1 - s) theta_a + s theta_b`` on the straight segment between two parameter sets."""
    if jax.tree_util.tree_structure(params_a) != jax.tree_util.tree_structure(params_b):
        raise ValueError("params_a and params_b must have the same structure")
    return jax.tree_util.tree_map(lambda a, b: (1.0 - s) * a + s * b, params_a, params_b)


def segment_losses(model: MLP, params_a, params_b, X, y, s_values=SEGMENT_S) -> np.ndarray:
    """Loss at ``(1 - s) theta_a + s theta_b`` for every ``s`` in ``s_values``: shape (len(s),).

    Evaluated in numpy (``forward_numpy``) for all ``s`` at once; one-hidden-layer ReLU nets.
    """
    if not isinstance(model, MLP):
        raise ValueError("model must be a course_utils.MLP")
    X = np.asarray(_validate.as_inputs(X, model.in_dim, "X"))
    y = np.asarray(_validate.as_vector(y, X.shape[0], "y"))
    s = np.atleast_1d(np.asarray(s_values, dtype=np.float64))
    if s.ndim != 1:
        raise ValueError("s_values must be a 1-D array of numbers")
    if jax.tree_util.tree_structure(params_a) != jax.tree_util.tree_structure(params_b):
        raise ValueError("params_a and params_b must have the same structure")

    def mix(a, b):
        a, b = np.asarray(a), np.asarray(b)
        return a + s.reshape(s.shape + (1,) * a.ndim) * (b - a)

    residual = forward_numpy(model, jax.tree_util.tree_map(mix, params_a, params_b), X) - y
    return 0.5 * np.sum(residual**2, axis=-1)


def plane_losses(model: MLP, params_0, params_1, params_2, X, y, u=PLANE_UV, v=PLANE_UV) -> np.ndarray:
    """Loss on the plane through three parameter sets: ``theta_0 + u (theta_1 - theta_0) + v (theta_2 - theta_0)``.

    Returns an array of shape (len(v), len(u)) (rows follow ``v``, as ``contour`` expects).
    The three points sit at (u, v) = (0, 0), (1, 0) and (0, 1). Evaluated in numpy
    (``forward_numpy``), all grid points at once.
    """
    if not isinstance(model, MLP):
        raise ValueError("model must be a course_utils.MLP")
    X = np.asarray(_validate.as_inputs(X, model.in_dim, "X"))
    y = np.asarray(_validate.as_vector(y, X.shape[0], "y"))
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if u.ndim != 1 or v.ndim != 1:
        raise ValueError("u and v must be 1-D arrays of numbers")
    uu, vv = np.meshgrid(u, v)  # (len(v), len(u))

    def mix(a, b, c):
        a, b, c = np.asarray(a), np.asarray(b), np.asarray(c)
        extra = (1,) * a.ndim
        return a + uu.reshape(uu.shape + extra) * (b - a) + vv.reshape(vv.shape + extra) * (c - a)

    grid = jax.tree_util.tree_map(mix, params_0, params_1, params_2)
    residual = forward_numpy(model, grid, X) - y
    return 0.5 * np.sum(residual**2, axis=-1)


# ---------------------------------------------------------------- the smallest example
def one_unit_loss(w, a, x: float = 1.0, y: float = 1.0):
    """Loss of a one-unit ReLU net on one point: ``1/2 (a relu(w x) - y)^2`` (broadcasts over w, a)."""
    w = np.asarray(w, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    return 0.5 * (a * np.maximum(w * x, 0.0) - y) ** 2


def plot_one_unit_landscape():
    """Static figure: the loss of ``a relu(w)`` on the point (1, 1), and along a chord of two minima.

    Left: contours over (w, a). The global minima form the hyperbola ``a w = 1`` (w > 0), a
    curve, not a convex set; for ``w < 0`` the unit is dead and the loss is a flat plateau.
    Right: the loss along the straight segment between the minima (0.5, 2) and (2, 0.5).
    Returns the pyplot figure (show it with ``plt.show()``).
    """
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    w = np.linspace(-1.5, 3.0, 181)
    a = np.linspace(-1.0, 3.0, 161)
    L = one_unit_loss(w[None, :], a[:, None])
    cs = ax0.contourf(w, a, np.log10(L + 1e-4), levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax0, label="log10(loss + 1e-4)")
    ww = np.linspace(1 / 3.0, 3.0, 100)
    _ = ax0.plot(ww, 1 / ww, "w--", lw=1.2, label="global minima a w = 1")
    pa, pb = np.array([0.5, 2.0]), np.array([2.0, 0.5])
    _ = ax0.plot([pa[0], pb[0]], [pa[1], pb[1]], "r-", lw=1.5, label="chord")
    _ = ax0.plot(*0.5 * (pa + pb), "ro")
    ax0.axvspan(-1.5, 0.0, color="white", alpha=0.15)
    ax0.text(-1.4, 1.6, "dead unit:\nflat\nplateau", color="white", fontsize=8)
    ax0.set_xlabel("first-layer weight w")
    ax0.set_ylabel("output weight a")
    ax0.legend(loc="lower right", fontsize=7)
    ax0.set_title("loss of a relu(w x) on (x, y) = (1, 1)", fontsize=9)
    s = np.linspace(0, 1, 101)
    path = (1 - s)[:, None] * pa + s[:, None] * pb
    _ = ax1.plot(s, one_unit_loss(path[:, 0], path[:, 1]), "r-", label="loss on the segment")
    _ = ax1.plot([0, 1], [0, 0], "k--", lw=1, label="chord (convexity bound)")
    ax1.set_xlabel("s  (0: (0.5, 2),  1: (2, 0.5))")
    ax1.set_ylabel("loss")
    ax1.legend(fontsize=7)
    ax1.set_title("between two global minima", fontsize=9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- width and time: many seeds
class SeedRuns(NamedTuple):
    """What ``seed_runs`` records for one width (numpy arrays).

    times : (R,) recorded gradient-flow times.  losses : (n_seeds, R) training losses.
    first_history : the parameters of seed 0 at every record (list of layer dicts, leading R axis).
    final_params : every seed's parameters after the last step (layer dicts, leading seed axis).
    """

    times: np.ndarray
    losses: np.ndarray
    first_history: list
    final_params: list


@functools.lru_cache(maxsize=None)
def seed_runs(
    width: int, n_seeds: int = N_SEEDS, lr: float = LR, steps: int = STEPS, n_records: int = N_RECORDS
) -> SeedRuns:
    """Train ``n_seeds`` random initialisations of the width-``width`` net; cached per width.

    One ``course_utils.train`` run per seed, vectorised over seeds with ``jax.vmap`` (one
    compilation per width), recorded at about ``n_records`` log-spaced steps; seed ``i``
    starts from ``seed_params(width, i)`` (entry ``i`` of ``init_batch(width, n_seeds, SEED_BASE)``).
    """
    width = _validate.positive_int(width, "width")
    n_seeds = _validate.positive_int(n_seeds, "n_seeds")
    model = two_layer(width)
    _, X, y = dataset()
    params = init_batch(width, n_seeds, SEED_BASE)

    def run(p):
        traj = train(model.apply, p, X, y, lr=lr, steps=steps, record_steps=record, record_params=True)
        return traj.loss, traj.param_history, traj.params

    record = log_record_steps(steps, n_records)
    losses, history, final = jax.vmap(run)(params)
    first = [{name: np.asarray(leaf[0]) for name, leaf in layer.items()} for layer in history]
    final = [{name: np.asarray(leaf) for name, leaf in layer.items()} for layer in final]
    times = lr * record.astype(np.float64)
    return SeedRuns(times=times, losses=np.asarray(losses), first_history=first, final_params=final)


def trained_params(width: int, seed_index: int = 0):
    """Parameters of seed ``seed_index`` of ``seed_runs(width)`` after training (as jax arrays)."""
    runs = seed_runs(_validate.positive_int(width, "width"))
    seed_index = _validate.positive_int(seed_index, "seed_index", minimum=0)
    if seed_index >= runs.losses.shape[0]:
        raise ValueError(f"seed_index must be < {runs.losses.shape[0]}; got {seed_index}")
    return [{name: jnp.asarray(leaf[seed_index]) for name, leaf in layer.items()} for layer in runs.final_params]


def stuck_runs(width: int, threshold: float = THRESHOLD):
    """The seeds of ``seed_runs(width)`` that ended above ``threshold``: one row per seed.

    Returns a list of ``(seed_index, final loss, gradient norm, residual f(X) - y)``; a tiny
    gradient norm with a positive loss means gradient descent stopped at a stationary point
    that is not a global minimum.
    """
    width = _validate.positive_int(width, "width")
    threshold = _validate.finite_float(threshold, "threshold", minimum=0.0, strict=True)
    runs = seed_runs(width)
    model = two_layer(width)
    _, X, y = dataset()
    grad = jax.jit(jax.grad(lambda p: loss(model, p, X, y)))
    rows = []
    for i in np.flatnonzero(runs.losses[:, -1] >= threshold):
        p = trained_params(width, int(i))
        g = grad(p)
        norm = float(np.sqrt(sum(float(jnp.sum(leaf**2)) for leaf in jax.tree_util.tree_leaves(g))))
        rows.append((int(i), float(runs.losses[i, -1]), norm, np.asarray(model.apply(p, X) - y)))
    return rows


def success_fraction(losses, threshold: float = THRESHOLD) -> np.ndarray:
    """Fraction of runs whose loss is below ``threshold``, at every record: (n_runs, R) -> (R,)."""
    threshold = _validate.finite_float(threshold, "threshold", minimum=0.0, strict=True)
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 2:
        raise ValueError(f"losses must have shape (n_runs, n_records); got {losses.shape}")
    return np.mean(losses < threshold, axis=0)


def _time_index(times, t: float) -> int:
    return int(np.argmin(np.abs(np.asarray(times) - t)))


def seeds_demo(widths=SEED_WIDTHS, threshold: float = THRESHOLD) -> InteractiveFigure:
    """Width and time demo: does gradient descent reach near-zero loss from every seed?

    Left: the training loss of every seed at the chosen width (bold up to the chosen time;
    green: below ``threshold`` at that time). Right: the fraction of seeds below the threshold
    at the chosen time, for every width. All runs are computed when the demo is built; the
    time control only indexes the recordings.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import NullFormatter, NullLocator

    widths = tuple(_validate.positive_int(w, "width") for w in widths)
    threshold = _validate.finite_float(threshold, "threshold", minimum=0.0, strict=True)
    runs = {w: seed_runs(w) for w in widths}
    times = runs[widths[0]].times
    offered = times  # the recorded (log-spaced) times: moving the slider only indexes
    fractions = {w: success_fraction(runs[w].losses, threshold) for w in widths}
    art = {}

    def setup(axes):
        ax0, ax1 = axes
        ax0.set_xscale("log")
        ax0.set_yscale("log")
        _plain_log_ticks(ax0)
        ax0.set_xlim(times[1], times[-1])
        ax0.set_ylim(1e-8, 50.0)
        ax0.set_xlabel("time t = lr x steps")
        ax0.set_ylabel("training loss")
        ax0.axhline(threshold, color="k", ls="--", lw=0.8)
        art["faint"] = ax0.add_collection(LineCollection([], lw=0.6, alpha=0.25))
        art["bold"] = ax0.add_collection(LineCollection([], lw=1.2))
        art["now0"] = ax0.axvline(times[-1], color="0.4", lw=0.8)
        art["title0"] = ax0.set_title("", fontsize=9)
        ax1.set_xscale("log", base=2)
        ax1.set_xticks(widths, [str(w) for w in widths])
        ax1.xaxis.set_minor_formatter(NullFormatter())
        ax1.xaxis.set_minor_locator(NullLocator())
        ax1.set_xlim(widths[0] / 1.5, widths[-1] * 1.5)
        ax1.set_ylim(-0.03, 1.03)
        ax1.set_xlabel("width (hidden units)")
        ax1.set_ylabel(f"fraction of seeds with loss < {threshold:g}")
        ax1.set_title("success rate of gradient descent", fontsize=9)
        final = [fractions[w][-1] for w in widths]
        ax1.plot(widths, final, "o--", color="0.7", label=f"at the end, t = {times[-1]:.3g}")
        (art["frac"],) = ax1.plot(widths, final, "o-", color="tab:blue", label="at the chosen t")
        (art["ring"],) = ax1.plot([], [], "o", ms=11, mfc="none", mec="k")
        ax1.legend(fontsize=7, loc="upper left")

    def draw(axes, width, time):
        _no_layout_engine(axes[0].figure)
        if not art:
            setup(axes)
        run = runs[width]
        k = _time_index(run.times, time)
        below = run.losses[:, k] < threshold
        colours = np.where(below[:, None], np.array([[0.17, 0.63, 0.17, 1.0]]), np.array([[0.84, 0.15, 0.16, 1.0]]))
        t = run.times[1:]
        art["faint"].set_segments([np.column_stack([t, L[1:]]) for L in run.losses])
        art["faint"].set_color(colours)
        art["bold"].set_segments([np.column_stack([t[:k], L[1 : k + 1]]) for L in run.losses])
        art["bold"].set_color(colours)
        art["now0"].set_xdata([max(time, times[1])] * 2)
        art["now0"].set_visible(time > 0)
        art["title0"].set_text(
            f"width {width}: {int(below.sum())}/{len(below)} seeds below {threshold:g} at t = {time:.3g}"
        )
        art["frac"].set_ydata([fractions[w][k] for w in widths])
        art["ring"].set_data([width], [fractions[width][k]])

    return InteractiveFigure(
        draw,
        widths=widths,
        times=offered,
        width=widths[len(widths) // 2],
        time=float(offered[-1]),
        ncols=2,
        figsize=(8.6, 3.3),
        title="Gradient descent from many random seeds",
    )


# ---------------------------------------------------------------- width and time: the barrier
class SegmentRun(NamedTuple):
    """What ``segment_runs`` computes for one width (numpy arrays).

    times : (T,) the slider's times.  loss_path : (T,) the trained net's loss at those times.
    segment : (T, len(s)) loss at theta_t + s (P theta_t - theta_t), for s from -0.3 to 1.3
    (s = 0 and s = 1 are the two endpoints).  plane : (T, len(v), len(u)) loss on the plane
    through theta_t, P theta_t, Q theta_t.  s, u, v : the coordinates.
    """

    times: np.ndarray
    loss_path: np.ndarray
    segment: np.ndarray
    plane: np.ndarray
    s: np.ndarray
    u: np.ndarray
    v: np.ndarray


def permutations_for(width: int, seed: int = 0):
    """The two fixed hidden-unit permutations P and Q used for a width (seeded, deterministic)."""
    width = _validate.positive_int(width, "width", minimum=3)
    rng = np.random.default_rng(1000 + seed)
    p = rng.permutation(width)
    while np.array_equal(p, np.arange(width)):  # an identity would not move the network
        p = rng.permutation(width)
    q = rng.permutation(width)
    while np.array_equal(q, np.arange(width)) or np.array_equal(q, p):
        q = rng.permutation(width)
    return p, q


@functools.lru_cache(maxsize=None)
def segment_runs(width: int) -> SegmentRun:
    """Loss between the trained net and its permuted copies, at every offered time; cached per width.

    Uses seed 0 of ``seed_runs(width)`` (no new training): at every offered time ``t``, the loss
    on the plane through ``theta_t``, ``P theta_t`` and ``Q theta_t`` (P, Q from
    ``permutations_for``); the row ``v = 0`` is the line through ``theta_t`` and ``P theta_t``.
    """
    width = _validate.positive_int(width, "width", minimum=3)
    model = two_layer(width)
    _, X, y = dataset()
    runs = seed_runs(width)
    offered = runs.times
    index = np.arange(len(offered))
    history = [{name: leaf[index] for name, leaf in layer.items()} for layer in runs.first_history]
    p, q = permutations_for(width)
    plane = []
    for k in range(len(index)):  # one time at a time: a (33, 33, 8, width) array at most
        theta = [{name: leaf[k] for name, leaf in layer.items()} for layer in history]
        plane.append(plane_losses(model, theta, permute_hidden(theta, p), permute_hidden(theta, q), X, y))
    plane = np.asarray(plane)
    row = int(np.flatnonzero(PLANE_UV == 0.0)[0])  # v = 0: the line theta_t -> P theta_t
    return SegmentRun(
        times=offered,
        loss_path=runs.losses[0, index],
        segment=plane[:, row, :],
        plane=plane,
        s=PLANE_UV.copy(),
        u=PLANE_UV.copy(),
        v=PLANE_UV.copy(),
    )


_PLANE_LEVELS = np.linspace(-4.0, 1.5, 23)  # colour range of log10 loss in the plane panel


def segment_demo(widths=SEGMENT_WIDTHS) -> InteractiveFigure:
    """Width and time demo: the loss between a trained net and its hidden-unit permutations.

    Left: loss along the straight line from ``theta_t`` (s = 0) to ``P theta_t`` (s = 1), with
    the chord a convex function would have to stay under. Right: log10 of the loss on the
    plane through ``theta_t``, ``P theta_t`` and ``Q theta_t``. The time control picks the
    training time ``t`` of the endpoints (seed 0 of the seeds demo's runs).
    """
    widths = tuple(_validate.positive_int(w, "width", minimum=3) for w in widths)
    runs = {w: segment_runs(w) for w in widths}
    offered = runs[widths[0]].times
    i0, i1, mid = (int(np.flatnonzero(PLANE_UV == value)[0]) for value in (0.0, 1.0, 0.5))
    half = 0.5 * (PLANE_UV[1] - PLANE_UV[0])  # pixel centres sit on the grid points
    art = {}

    def setup(axes):
        ax0, ax1 = axes
        ax0.set_xlim(PLANE_UV[0], PLANE_UV[-1])
        ax0.set_xlabel("s   (0: theta_t,  1: P theta_t)")
        ax0.set_ylabel("training loss")
        (art["line"],) = ax0.plot(PLANE_UV, np.zeros_like(PLANE_UV), color="tab:red", label="loss on the line")
        (art["chord"],) = ax0.plot([0, 1], [0, 0], "k--", lw=1, label="chord (convexity bound)")
        (art["ends"],) = ax0.plot([0, 1], [0, 0], "k^", ms=7)
        (art["mid"],) = ax0.plot([0.5], [0], "o", color="tab:red")
        ax0.legend(fontsize=7, loc="upper right")
        art["title0"] = ax0.set_title("", fontsize=9)
        art["plane"] = ax1.imshow(
            np.zeros((len(PLANE_UV), len(PLANE_UV))),
            extent=(PLANE_UV[0] - half, PLANE_UV[-1] + half, PLANE_UV[0] - half, PLANE_UV[-1] + half),
            origin="lower",
            cmap="viridis",
            vmin=_PLANE_LEVELS[0],
            vmax=_PLANE_LEVELS[-1],
            interpolation="bilinear",
            aspect="auto",
        )
        ax1.plot([0, 1, 0], [0, 0, 1], "w^", ms=7)
        for (a, b), name in zip([(0, 0), (1, 0), (0, 1)], ["theta", "P theta", "Q theta"]):
            ax1.annotate(name, (a, b), textcoords="offset points", xytext=(5, 5), color="white", fontsize=8)
        ax1.figure.colorbar(art["plane"], ax=ax1, label="log10 loss")
        ax1.set_xlabel("u")
        ax1.set_ylabel("v")
        ax1.set_title("log10 loss on the plane of three permuted copies", fontsize=9)

    def draw(axes, width, time):
        ax0, ax1 = axes
        _no_layout_engine(ax0.figure)
        if not art:
            setup(axes)
        run = runs[width]
        k = _time_index(run.times, time)
        seg = run.segment[k]
        art["line"].set_ydata(seg)
        art["chord"].set_ydata([seg[i0], seg[i1]])
        art["ends"].set_ydata([seg[i0], seg[i1]])
        art["mid"].set_ydata([seg[mid]])
        ax0.set_ylim(0.0, max(1.1 * float(seg[i0 : i1 + 1].max()), 0.1))
        art["title0"].set_text(f"width {width}, t = {run.times[k]:.3g}: midpoint {seg[mid]:.3g}, ends {seg[i0]:.2g}")
        logL = np.clip(np.log10(run.plane[k] + 1e-12), _PLANE_LEVELS[0], _PLANE_LEVELS[-1])
        art["plane"].set_data(logL)

    return InteractiveFigure(
        draw,
        widths=widths,
        times=offered,
        width=64 if 64 in widths else widths[0],
        time=float(offered[-1]),
        ncols=2,
        figsize=(9.0, 3.4),
        title="Loss between permuted copies of a trained network",
    )


def barrier_check(widths=SEGMENT_WIDTHS):
    """At the end of training, per width: (loss at theta_T, loss at P theta_T, loss at their midpoint)."""
    i0, i1, mid = (int(np.flatnonzero(PLANE_UV == value)[0]) for value in (0.0, 1.0, 0.5))
    out = {}
    for w in widths:
        seg = segment_runs(_validate.positive_int(w, "width", minimum=3)).segment[-1]
        out[w] = (float(seg[i0]), float(seg[i1]), float(seg[mid]))
    return out


# ---------------------------------------------------------------- exercises
@solution("01.permute_hidden")
def permute_hidden_solution(params, perm):
    # Hidden unit j is the j-th column of W1 (its incoming weights), the j-th entry of b1
    # and the j-th row of W2 (its outgoing weight). Reordering the units means applying the
    # same reordering to all three; the read-out bias b2 belongs to no unit and stays put.
    W1, b1 = params[0]["W"], params[0]["b"]
    W2, b2 = params[1]["W"], params[1]["b"]
    return [{"W": W1[:, perm], "b": b1[perm]}, {"W": W2[perm, :], "b": b2}]


def _flat(params) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(leaf)) for leaf in jax.tree_util.tree_leaves(params)])


def check_permute_hidden(student_fn) -> bool:
    """Exercise 01.permute_hidden: ``student_fn(params, perm)`` must reorder the hidden units.

    Checks, on three networks and permutations: the parameters equal the reference
    reordering (new unit j = old unit perm[j]) and the network outputs are unchanged.
    """
    if not callable(student_fn):
        return _report(False, "permute_hidden should be a function permute_hidden(params, perm).")
    _, X, _ = dataset()
    X = np.asarray(X)
    for width, seed in [(5, 0), (8, 1), (16, 2)]:
        model = two_layer(width)
        params = [{k: np.asarray(v[0]) for k, v in layer.items()} for layer in init_batch(width, 1, seed)]
        perm = np.random.default_rng(seed).permutation(width)
        if np.array_equal(perm, np.arange(width)):
            perm = np.roll(np.arange(width), 1)
        try:
            got = student_fn(params, perm)
        except NotImplementedError:
            return _report(False, "permute_hidden still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code: report it, do not crash the notebook
            return _report(False, f"permute_hidden raised {type(err).__name__}: {err}.")
        try:
            model.check_params(got)
        except ValueError as err:
            return _report(False, f"the result is not a parameter list of the same network: {err}")
        expected = permute_hidden(params, perm)
        try:
            out = forward_numpy(model, got, X)
        except Exception as err:  # e.g. the student returned something that is not arrays
            return _report(False, f"the result cannot be evaluated as the network's parameters: {err}")
        same_output = np.allclose(out, forward_numpy(model, params, X), rtol=1e-12, atol=1e-12)
        if np.allclose(_flat(got), _flat(expected), rtol=0, atol=0):
            continue
        if np.allclose(_flat(got), _flat(params)):
            return _report(False, "you returned the parameters unchanged: the outputs agree, but no unit moved.")
        inverse = permute_hidden(params, np.argsort(perm))
        if np.allclose(_flat(got), _flat(inverse)):
            return _report(False, "you applied the inverse permutation: new unit j should be old unit perm[j], "
                                  "i.e. W1[:, perm], not W1[:, argsort(perm)].")
        if not same_output:
            return _report(False, "the network's outputs changed. Permute the same units in both layers: the "
                                  "columns of W1, the entries of b1 and the rows of W2 (leave b2 alone).")
        return _report(False, "the outputs are unchanged but the parameters differ from the reordering "
                              "new unit j = old unit perm[j]; did you move b2 or permute b1 differently?")
    return _report(True, "all three networks were reordered correctly, and their outputs did not change.")


@solution("01.convexity_gap")
def convexity_gap_solution(loss_fn, theta_a, theta_b, s):
    # Convexity says: the loss at a point of the segment is at most the same mix of the
    # endpoint losses,  L((1-s) a + s b) <= (1-s) L(a) + s L(b).
    # The gap is the left side minus the right side; a positive gap anywhere proves that
    # the loss is not convex.
    theta_s = (1 - s) * theta_a + s * theta_b
    return loss_fn(theta_s) - ((1 - s) * loss_fn(theta_a) + s * loss_fn(theta_b))


def _gap_cases():
    quadratic = lambda t: float(0.5 * np.sum(np.asarray(t) ** 2))  # noqa: E731  convex
    one_unit = lambda t: float(one_unit_loss(t[0], t[1]))  # noqa: E731  non-convex
    model = two_layer(4)
    _, X, y = dataset()
    X, y = np.asarray(X), np.asarray(y)
    params = [{k: np.asarray(v[0]) for k, v in layer.items()} for layer in init_batch(4, 1, 3)]
    W1, W2 = params[0]["W"], params[1]["W"]

    def net_loss(t):  # the width-4 network's loss as a function of its 12 weights
        t = np.asarray(t, dtype=np.float64)
        p = [{"W": t[:8].reshape(2, 4), "b": params[0]["b"]}, {"W": t[8:].reshape(4, 1), "b": params[1]["b"]}]
        return float(0.5 * np.sum((forward_numpy(model, p, X) - y) ** 2))

    theta = np.concatenate([W1.ravel(), W2.ravel()])
    return [
        (quadratic, np.array([1.0, -2.0]), np.array([3.0, 0.5]), 0.5),
        (quadratic, np.array([0.0, 1.0, 2.0]), np.array([-1.0, 0.0, 4.0]), 0.25),
        (one_unit, np.array([0.5, 2.0]), np.array([2.0, 0.5]), 0.5),
        (one_unit, np.array([0.5, 2.0]), np.array([2.0, 0.5]), 0.9),
        (net_loss, theta, -theta, 0.5),
        (net_loss, theta, 1.5 * theta, 0.3),
    ]


def check_convexity_gap(student_fn) -> bool:
    """Exercise 01.convexity_gap: ``student_fn(loss_fn, theta_a, theta_b, s)`` returns
    ``L((1-s) a + s b) - ((1-s) L(a) + s L(b))``; checked on convex and non-convex losses."""
    if not callable(student_fn):
        return _report(False, "convexity_gap should be a function convexity_gap(loss_fn, theta_a, theta_b, s).")
    for loss_fn, a, b, s in _gap_cases():
        expected = convexity_gap_solution(loss_fn, a, b, s)
        try:
            got = student_fn(loss_fn, a, b, s)
        except NotImplementedError:
            return _report(False, "convexity_gap still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code
            return _report(False, f"convexity_gap raised {type(err).__name__}: {err}.")
        if not isinstance(got, numbers.Real) and np.ndim(got) != 0:
            return _report(False, f"convexity_gap should return one number; got an array of shape {np.shape(got)}.")
        got = float(got)
        if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
            continue
        if math.isclose(got, -expected, rel_tol=1e-9, abs_tol=1e-12):
            return _report(False, "the sign is flipped: the gap is L(on the segment) minus the chord, so it is "
                                  "positive exactly where convexity fails.")
        swapped = convexity_gap_solution(loss_fn, a, b, 1 - s)
        if math.isclose(got, swapped, rel_tol=1e-9, abs_tol=1e-12):
            return _report(False, f"at s = {s} you seem to use the mix s a + (1 - s) b; the point is "
                                  "(1 - s) theta_a + s theta_b, so s = 0 is theta_a.")
        return _report(False, f"at s = {s} you returned {got:.4g}, the gap is {expected:.4g}. Compare "
                              "L((1-s) a + s b) with (1-s) L(a) + s L(b), evaluated at the same s.")
    return _report(True, "your gap agrees on convex and non-convex losses: it is <= 0 on the quadratic and "
                         "positive between the minima of the one-unit net.")
