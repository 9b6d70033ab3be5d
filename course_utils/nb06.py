"""Notebook 06: where the NTK picture stops being accurate.

Four experiments, each with a demo builder and the measurements its claim checks use:

1. lazy vs feature learning: how far first-layer features and the kernel move during
   training, NTK parameterization against muP, across widths;
2. depth: the infinite-width NTK changes with depth, and its normalised form flattens;
3. finite width: how the kernel drift during training scales with width (ReLU and erf);
4. large learning rates: lazy, catapult and divergent phases (Lewkowycz et al. 2020).

All networks are two-layer (one hidden layer) except in the depth section; inputs lie on the
unit circle. Conventions of the course: ``L = 1/2 ||f - y||^2``, float64, fixed seeds.
"""

from __future__ import annotations

import functools
import math

import ipywidgets as widgets
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp_special
import numpy as np

import course_utils as cu

from . import _validate
from .exercises import check_function, solution
from .nb05 import (
    _pick,
    init_params,
    layer_multipliers,
    log_steps,
    loglog_slope,
    round_times,
    set_time_line,
    staged_draw,
)
from .widgets import InteractiveFigure, log_times

ACTIVATIONS = ("relu", "erf")


# ---------------------------------------------------------------------- a two-layer network with explicit multipliers
ACTIVATION_FLAGS = {"relu": 1.0, "erf": 0.0}


def _flag(activation) -> float:
    if isinstance(activation, str):
        if activation not in ACTIVATION_FLAGS:
            raise ValueError(f"unknown activation {activation!r}; expected 'relu' or 'erf'")
        return ACTIVATION_FLAGS[activation]
    return activation  # already a (possibly traced) flag


def _phi(flag):
    """phi and phi' for ``flag`` = 1 (relu) or 0 (erf). The flag is data, so both activations
    share one compiled program (both branches are computed; they are cheap)."""

    if isinstance(flag, (int, float)):  # a known activation: compute only its branch
        if flag == 1.0:
            return jax.nn.relu, lambda h: (h > 0).astype(h.dtype)
        if flag == 0.0:
            return jsp_special.erf, lambda h: (2.0 / math.sqrt(math.pi)) * jnp.exp(-h * h)

    def phi(h):
        return flag * jax.nn.relu(h) + (1.0 - flag) * jsp_special.erf(h)

    def dphi(h):
        return flag * (h > 0).astype(h.dtype) + (1.0 - flag) * (2.0 / math.sqrt(math.pi)) * jnp.exp(-h * h)

    return phi, dphi


def forward(params, multipliers, x, activation="relu"):
    """Output and hidden pre-activations of a two-layer network with multipliers passed as data.

    ``multipliers = [w_mult_0, b_mult_0, w_mult_1, b_mult_1]`` (``nb05.layer_multipliers(model)``);
    ``activation`` is ``"relu"`` or ``"erf"``. Equals ``model.forward`` for the matching ``MLP``.
    Returns ``(out (n,), h (n, width))``.
    """
    phi, _ = _phi(_flag(activation))
    h = multipliers[0] * (x @ params[0]["W"]) + multipliers[1] * params[0]["b"]
    out = multipliers[2] * (phi(h) @ params[1]["W"]) + multipliers[3] * params[1]["b"]
    return out[:, 0], h


def two_layer_ntk(params, multipliers, x, activation="relu"):
    """Empirical NTK of the two-layer network on ``x`` (n, d), without building a Jacobian.

    With ``h = m0 x W0 + m0b b0``, ``f = m1 phi(h) W1 + m1b b1`` the gradient factorises per layer:
    ``K = m0^2 (X X^T) * (G G^T) + m0b^2 G G^T + m1^2 A A^T + m1b^2`` with ``A = phi(h)`` and
    ``G = m1 phi'(h) W1^T``. Traceable (jit / vmap / scan); tested against ``cu.empirical_ntk``.
    """
    phi, dphi = _phi(_flag(activation))
    h = multipliers[0] * (x @ params[0]["W"]) + multipliers[1] * params[0]["b"]
    A = phi(h)
    G = multipliers[2] * dphi(h) * params[1]["W"][:, 0][None, :]
    GG = G @ G.T
    m = multipliers
    K = m[0] ** 2 * (x @ x.T) * GG + m[1] ** 2 * GG + m[2] ** 2 * (A @ A.T) + m[3] ** 2
    return 0.5 * (K + K.T)


def _model(width: int, parameterization: str = "ntk", activation: str = "relu", sb2: float = 0.0) -> cu.MLP:
    return cu.MLP(in_dim=2, width=int(width), depth=1, activation=activation,
                  parameterization=parameterization, sb2=sb2)


# ---------------------------------------------------------------------- 1 + 3. training runs with features and kernels
TASK_N = 16
TASK_LR = 0.08
TASK_STEPS = 250
TASK_SB2 = 0.1  # a small bias lets the (odd) erf network fit the even part of the target
WIDTHS = (64, 256, 1024, 4096)
SEEDS = (0, 1)
N_UNITS = 6  # hidden units drawn in the feature demo
CONFIGS = (("ntk", "relu"), ("mup", "relu"), ("ntk", "erf"))


@functools.lru_cache(maxsize=None)
def task():
    """16 random circle points and the target ``cos(gamma) + 0.5 cos(2 gamma)``: ``(angles, X, y)``."""
    angles, X = cu.random_circle(1, TASK_N)
    return angles, X, cu.fourier_target(angles, (1, 2), (1.0, 0.5))


@jax.jit
def _train_and_measure(params, multipliers, flags, x, y, x_dense, lr, lengths):
    """Gradient descent for a batch of configurations (leading axis), measuring at every record.

    Per record: the empirical NTK on x, the distance of the hidden features on x from their
    initial values, the first hidden units on x_dense, and the outputs on x.
    """

    def one_config(p0, m, flag):
        phi, _ = _phi(flag)

        def features(p):
            return phi(m[0] * (x @ p[0]["W"]) + m[1] * p[0]["b"])

        def measure(p):
            units = phi(m[0] * (x_dense @ p[0]["W"][:, :N_UNITS]) + m[1] * p[0]["b"][:N_UNITS])
            return (two_layer_ntk(p, m, x, flag), jnp.linalg.norm(features(p) - A0), units, forward(p, m, x, flag)[0])

        def loss(p):
            r = forward(p, m, x, flag)[0] - y
            return 0.5 * jnp.dot(r, r)

        grad = jax.grad(loss)
        A0 = features(p0)

        def gd_step(_, p):
            g = grad(p)
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g)

        def segment(p, length):
            p = jax.lax.fori_loop(0, length, gd_step, p)
            return p, measure(p)

        _, records = jax.lax.scan(segment, p0, lengths)
        first = measure(p0)
        return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, records), jnp.linalg.norm(A0)

    return jax.vmap(one_config)(params, multipliers, flags)


@functools.lru_cache(maxsize=None)
def feature_runs(width: int) -> dict:
    """Every configuration of ``CONFIGS`` x ``SEEDS`` at ``width``, trained in one compiled, vmapped call.

    Gradient descent with lr 0.08 for 250 steps (t = 20) on ``task()``; records at about 30
    log-spaced steps. Returns ``{(parameterization, activation, seed): run}`` with ``run`` as
    described in ``feature_run``.
    """
    width = _validate.positive_int(width, "width")
    _, X, y = task()
    dense_angles, X_dense = cu.circle_grid(128)
    steps = log_steps(TASK_STEPS, 30)
    keys, batch_p, batch_m, flags = [], [], [], []
    for par, act in CONFIGS:
        model = _model(width, par, act, sb2=TASK_SB2)
        for seed in SEEDS:
            keys.append((par, act, seed))
            batch_p.append(init_params(model, seed))
            batch_m.append(layer_multipliers(model))
            flags.append(ACTIVATION_FLAGS[act])
    stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *batch_p)
    (K, dA, units, out), normA0 = _train_and_measure(
        stacked, jnp.asarray(np.stack(batch_m)), jnp.asarray(flags), X, y, X_dense, TASK_LR,
        jnp.asarray(np.diff(steps), dtype=jnp.int32),
    )
    K, dA, units, out, normA0 = (cu.as_numpy(a) for a in (K, dA, units, out, normA0))
    y_np = cu.as_numpy(y)
    runs = {}
    for i, key in enumerate(keys):
        runs[key] = {
            "times": TASK_LR * steps.astype(float),
            "feature_change": dA[i] / normA0[i],
            "kernel_change": np.linalg.norm(K[i] - K[i, :1], axis=(1, 2)) / np.linalg.norm(K[i, 0]),
            "loss": 0.5 * np.sum((out[i] - y_np[None, :]) ** 2, axis=1),
            "units": units[i],
            "dense_angles": cu.as_numpy(dense_angles),
            "K": K[i],
        }
    return runs


def feature_run(parameterization: str, activation: str, width: int, seed: int = 0) -> dict:
    """One training run of the two-layer net (lr 0.08, 250 steps, t = 20) and how much it moved.

    A dict with ``times`` (R,) at log-spaced steps, ``feature_change`` (R,)
    ``||phi(h_t) - phi(h_0)||_F / ||phi(h_0)||_F`` of the hidden features on the training inputs,
    ``kernel_change`` (R,) ``||K_t - K_0||_F / ||K_0||_F`` of the empirical NTK, ``loss`` (R,),
    ``units`` (R, 128, 6) the first six hidden features on a dense circle grid, ``dense_angles``,
    and the kernels ``K`` (R, n, n). Configurations: ``CONFIGS``; seeds: ``SEEDS``.
    """
    key = (parameterization, activation, int(seed))
    runs = feature_runs(int(width))
    if key not in runs:
        raise ValueError(f"no run for {key}; available: {sorted(runs)}")
    return runs[key]


def change_at_end(parameterization: str, activation: str, what: str, widths=WIDTHS, seeds=SEEDS) -> np.ndarray:
    """Final ``feature_change`` or ``kernel_change`` per width, averaged over ``seeds``."""
    _validate.choice(what, ("feature_change", "kernel_change"), "what")
    return np.asarray(
        [np.mean([feature_run(parameterization, activation, int(w), s)[what][-1] for s in seeds]) for w in widths]
    )


def lazy_demo(widths=WIDTHS) -> InteractiveFigure:
    """First-layer features at init (dotted) and at time t (solid; gids "ntk-unit<u>", "mup-unit<u>"),
    NTK parameterization vs muP, and the feature movement over time for every width
    (gids "ntk-<width>", "mup-<width>"; bold: the chosen width)."""
    for w in widths:
        feature_runs(int(w))
    run0 = feature_run("ntk", "relu", int(widths[0]))
    times = round_times(run0["times"])
    colours = {int(w): f"C{i}" for i, w in enumerate(widths)}
    art = {}

    def full(axes, width):
        for ax, par, name in zip(axes[:2], ("ntk", "mup"), ("NTK parameterization", "muP")):
            run = feature_run(par, "relu", int(width))
            ax.clear()
            lines = []
            for u in range(N_UNITS):
                ax.plot(run["dense_angles"], run["units"][0, :, u], ":", color=f"C{u}", lw=1)
                (line,) = ax.plot(run["dense_angles"], run["units"][0, :, u], "-", color=f"C{u}", lw=1.3,
                                  gid=f"{par}-unit{u}")
                lines.append(line)
            art[par] = (run, lines)
            ax.set_ylim(-0.1, 2.2)
            ax.set_xlabel("angle gamma")
            ax.set_title(f"{name}: 6 hidden features (dotted: init)", fontsize=9)
        ax = axes[2]
        ax.clear()
        for w in widths:
            bold = int(w) == int(width)
            for par, style in (("ntk", "-"), ("mup", "--")):
                run = feature_run(par, "relu", int(w))
                ax.loglog(run["times"][1:], run["feature_change"][1:], style, color=colours[int(w)],
                          lw=2.2 if bold else 1, alpha=1.0 if bold else 0.5, gid=f"{par}-{w}")
        ax.plot([], [], "k-", label="NTK param.")
        ax.plot([], [], "k--", label="muP")
        art["vline"] = ax.axvline(1.0, color="0.4", ls=":", lw=1)
        ax.set_ylim(1e-4, 3)
        ax.set_xlabel("time t")
        ax.set_title(f"feature movement (bold: width {width})", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")

    def update(axes, time, width):
        for par in ("ntk", "mup"):
            run, lines = art[par]
            i = int(np.argmin(np.abs(run["times"] - time)))
            for u, line in enumerate(lines):
                line.set_ydata(run["units"][i, :, u])
        set_time_line(art["vline"], time)

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=times, ncols=3, figsize=(11.0, 3.2),
                             width=_pick([int(w) for w in widths], 1024), time=times[-1])


# ---------------------------------------------------------------------- 3. kernel drift against width
def mean_drift(activation: str, width: int) -> np.ndarray:
    """Relative kernel drift over the recorded times, NTK parameterization, averaged over ``SEEDS``."""
    return np.mean([feature_run("ntk", activation, int(width), s)["kernel_change"] for s in SEEDS], axis=0)


def drift_demo(widths=WIDTHS) -> InteractiveFigure:
    """Relative kernel drift ``||K_t - K_0|| / ||K_0||`` over time (gids "relu-<width>", "erf-<width>")
    and, at the chosen time, against width (gids "vs-width-relu", "vs-width-erf") with fitted slopes."""
    for w in widths:
        feature_runs(int(w))
    run0 = feature_run("ntk", "relu", int(widths[0]))
    times = round_times(run0["times"])
    colours = {int(w): f"C{i}" for i, w in enumerate(widths)}
    w_arr = np.asarray(widths, dtype=float)
    drift = {(act, int(w)): mean_drift(act, w) for act in ACTIVATIONS for w in widths}
    art = {}

    def full(axes, width):
        ax = axes[0]
        ax.clear()
        for w in widths:
            bold = int(w) == int(width)
            for act, style in (("relu", "-"), ("erf", "--")):
                ax.loglog(run0["times"][1:], drift[(act, int(w))][1:], style, color=colours[int(w)],
                          lw=2.2 if bold else 1, alpha=1.0 if bold else 0.5, gid=f"{act}-{w}")
        ax.plot([], [], "k-", label="ReLU")
        ax.plot([], [], "k--", label="erf")
        art["vline"] = ax.axvline(1.0, color="0.4", ls=":", lw=1)
        ax.set_ylim(1e-6, 1)
        ax.set_xlabel("time t")
        ax.set_title(f"kernel drift over time (bold: width {width})", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        ax = axes[1]
        ax.clear()
        j = list(widths).index(width)
        for act, colour in (("relu", "C0"), ("erf", "C3")):
            (art[act],) = ax.loglog(w_arr, np.ones_like(w_arr), "o-", color=colour, gid=f"vs-width-{act}", label=act)
            (art[act + "-sel"],) = ax.plot(w_arr[j:j + 1], [1.0], "o", ms=10, mfc="none", color="k")
        (art["half"],) = ax.loglog(w_arr, np.ones_like(w_arr), ":", color="0.5", lw=1, label="slope -1/2")
        (art["one"],) = ax.loglog(w_arr, np.ones_like(w_arr), "-.", color="0.5", lw=1, label="slope -1")
        ax.set_xlabel("width")
        ax.set_ylim(1e-6, 1)
        art["legend"] = ax.legend(fontsize=7, loc="lower left")

    def update(axes, time, width):
        i = int(np.argmin(np.abs(run0["times"] - time)))
        j = list(widths).index(width)
        texts = art["legend"].get_texts()
        for k, act in enumerate(ACTIVATIONS):
            d = np.maximum(np.asarray([drift[(act, int(w))][i] for w in widths]), 1e-12)
            art[act].set_ydata(d)
            art[act + "-sel"].set_ydata([d[j]])
            texts[k].set_text(f"{act}: slope {loglog_slope(w_arr, d):.2f}" if i > 0 else act)
        relu0 = max(drift[("relu", int(widths[0]))][i], 1e-12)
        erf0 = max(drift[("erf", int(widths[0]))][i], 1e-12)
        art["half"].set_ydata(relu0 * (w_arr / w_arr[0]) ** -0.5)
        art["one"].set_ydata(erf0 * (w_arr / w_arr[0]) ** -1.0)
        set_time_line(art["vline"], time)
        axes[1].set_title(f"drift at t = {time:.3g} against width", fontsize=9)

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=times, ncols=2, figsize=(9.5, 3.3),
                             width=_pick([int(w) for w in widths], 1024), time=times[-1])


# ---------------------------------------------------------------------- 2. depth
DEPTHS = (1, 2, 4, 8, 16)
DEPTH_WIDTHS = (32, 128, 512)
DEPTH_GRID = 64
DEPTH_TIMES = round_times(log_times(1e-3, 1e2, 36))


def normalise_kernel(K):
    """``K[i, j] / sqrt(K[i, i] K[j, j])``: the kernel's cosine similarity (ones on the diagonal)."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square matrix; got shape {K.shape}")
    d = np.diag(K)
    if np.any(d <= 0):
        raise ValueError("the diagonal of K must be positive to normalise it")
    return K / np.sqrt(np.outer(d, d))


@functools.lru_cache(maxsize=None)
def analytic_depth_kernel(depth: int, n: int = 512) -> np.ndarray:
    """Infinite-width NTK of a ReLU net with ``depth`` hidden layers (sb2 = 0) on the ``n``-point circle grid."""
    if int(n) == PROFILE_N:
        return _depth_kernels(int(depth))[DEPTH_TRAIN:, DEPTH_TRAIN:]
    _, X = cu.circle_grid(n)
    return cu.as_numpy(cu.analytic_ntk(cu.MLP(in_dim=2, width=1, depth=int(depth)), X))


PROFILE_N = 512
DEPTH_TRAIN = 8


@functools.lru_cache(maxsize=None)
def _depth_train_set():
    angles, X = cu.random_circle(6, DEPTH_TRAIN)
    return angles, X, cu.fourier_target(angles, (1, 2), (1.0, 0.5))


@functools.lru_cache(maxsize=None)
def _depth_kernels(depth: int) -> np.ndarray:
    """The limit NTK of ``depth`` on [8 training points; 512-point grid], one call (one compile) per depth."""
    _, X_train, _ = _depth_train_set()
    _, X_grid = cu.circle_grid(PROFILE_N)
    model = cu.MLP(in_dim=2, width=1, depth=int(depth))
    return cu.as_numpy(cu.analytic_ntk(model, jnp.concatenate([X_train, X_grid])))


def normalised_profile(depth: int) -> np.ndarray:
    """``K(x_0, x(gamma)) / sqrt(K(x_0, x_0) K(x, x))`` of the infinite-width NTK on the 512-point grid."""
    return normalise_kernel(analytic_depth_kernel(int(depth)))[0]


def profile_spread(depth: int) -> float:
    """Standard deviation over the circle of the normalised kernel profile (0 for a constant kernel)."""
    return float(np.std(normalised_profile(depth)))


def far_spread(depth: int, start: float = math.pi / 4) -> float:
    """Max minus min of the normalised profile for angles in ``[start, pi]`` (away from the peak at 0)."""
    angles = 2 * np.pi * np.arange(PROFILE_N) / PROFILE_N
    sel = (angles >= start) & (angles <= math.pi)
    prof = normalised_profile(depth)[sel]
    return float(prof.max() - prof.min())


@functools.lru_cache(maxsize=None)
def empirical_depth_profile(depth: int, width: int, seed: int = 0) -> np.ndarray:
    """Normalised empirical NTK profile ``K(x_0, x_j) / sqrt(K_00 K_jj)`` on the 64-point grid."""
    model = cu.MLP(in_dim=2, width=int(width), depth=int(depth))
    _, X = cu.circle_grid(DEPTH_GRID)
    K = cu.as_numpy(cu.empirical_ntk(model, init_params(model, seed), X))
    return normalise_kernel(K)[0]


@functools.lru_cache(maxsize=None)
def depth_flow(depth: int):
    """Kernel gradient flow with the depth-``depth`` limit NTK on 8 random circle points.

    Returns ``(predictor, dense_angles, train_angles, y)``; ``predictor(t)`` is the learned
    function (from zero) on the 512-point grid.
    """
    angles, _, y = _depth_train_set()
    K = _depth_kernels(int(depth))
    n = DEPTH_TRAIN
    flow = cu.GradientFlow(K[:n, :n], y, jnp.zeros(n))
    predictor = flow.predictor(K[n:, :n], jnp.zeros(PROFILE_N))
    return predictor, 2 * np.pi * np.arange(PROFILE_N) / PROFILE_N, cu.as_numpy(angles), cu.as_numpy(y)


def depth_slider(depths=DEPTHS, value: int = 4) -> widgets.SelectionSlider:
    """The extra control of the depth demo: number of hidden layers."""
    return widgets.SelectionSlider(options=[(str(d), int(d)) for d in depths], value=int(value), description="depth",
                                   continuous_update=False, style={"description_width": "initial"},
                                   layout=widgets.Layout(width="420px"))


def depth_demo(widths=DEPTH_WIDTHS, depths=DEPTHS, times=DEPTH_TIMES) -> InteractiveFigure:
    """Normalised NTK against angle for each depth (limit: gid "limit"; finite width: gid "empirical"),
    and the function the depth's limit kernel learns by time t from 8 points (gid "function")."""
    for d in depths:
        normalised_profile(int(d))
        depth_flow(int(d))
        for w in widths:
            empirical_depth_profile(int(d), int(w))
    dense = 2 * np.pi * np.arange(PROFILE_N) / PROFILE_N
    grid = 2 * np.pi * np.arange(DEPTH_GRID) / DEPTH_GRID
    target = np.cos(dense) + 0.5 * np.cos(2 * dense)
    art = {}

    def full(axes, width, depth):
        ax = axes[0]
        ax.clear()
        for d in depths:
            if int(d) != int(depth):
                ax.plot(dense, normalised_profile(int(d)), color="0.75", lw=1)
        ax.plot(dense, normalised_profile(int(depth)), color="k", lw=2, gid="limit",
                label=f"depth {depth}, infinite width")
        ax.plot(grid, empirical_depth_profile(int(depth), int(width)), "o", ms=3, color="C0", gid="empirical",
                label=f"width {width}")
        ax.axhline(0.25, color="C3", ls=":", lw=1, label="1/4")
        ax.set_ylim(-0.15, 1.05)
        ax.set_xlabel("angle between inputs")
        ax.set_title("normalised NTK (grey: other depths)", fontsize=9)
        ax.legend(fontsize=7, loc="upper center")
        ax = axes[1]
        ax.clear()
        predictor, dense_angles, train_angles, y = depth_flow(int(depth))
        art["predictor"] = predictor
        ax.plot(dense_angles, target, color="0.7", lw=1, label="target")
        (art["fn"],) = ax.plot(dense_angles, np.zeros_like(dense_angles), color="C0", gid="function",
                               label=f"learned, depth {depth}")
        ax.plot(train_angles, y, "k.", ms=7)
        ax.set_ylim(-1.2, 1.7)
        ax.set_xlabel("angle gamma")
        ax.legend(fontsize=7, loc="upper center")

    def update(axes, time, width, depth):
        art["fn"].set_ydata(cu.as_numpy(art["predictor"](time)))
        axes[1].set_title(f"limit-kernel regression at t = {time:.3g}", fontsize=9)

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=list(times),
                             extra={"depth": depth_slider(depths)},
                             expensive=("width", "depth"), ncols=2, figsize=(9.5, 3.3),
                             width=_pick([int(w) for w in widths], 128), time=float(times[-1]))


# ---------------------------------------------------------------------- 4. large learning rates: the catapult
CAT_N = 8
CAT_STEPS = 150
CAT_WIDTHS = (256, 1024, 4096)
CAT_MULTIPLES = (0.5, 1.0, 1.5, 1.9, 2.2, 2.6, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0)  # lr * lambda_0
CAT_TIMES = tuple(float(s) for s in log_steps(CAT_STEPS, 30))


@functools.lru_cache(maxsize=None)
def catapult_task():
    """8 random circle points and the target ``cos(gamma) + 0.5 cos(2 gamma)``: ``(X, y)``."""
    angles, X = cu.random_circle(3, CAT_N)
    return X, cu.fourier_target(angles, (1, 2), (1.0, 0.5))


@functools.lru_cache(maxsize=None)
def _catapult_fn(steps: int):
    X, y = catapult_task()

    def run(params, mult, lr):
        def loss(p):
            r = forward(p, mult, X)[0] - y
            return 0.5 * jnp.dot(r, r)

        def step(p, _):
            value, g = jax.value_and_grad(loss)(p)
            lam = jnp.linalg.eigvalsh(two_layer_ntk(p, mult, X))[-1]
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g), (value, lam)

        p, (values, lams) = jax.lax.scan(step, params, None, length=steps)
        last = (loss(p), jnp.linalg.eigvalsh(two_layer_ntk(p, mult, X))[-1])
        return p, jnp.concatenate([values, last[0][None]]), jnp.concatenate([lams, last[1][None]])

    return jax.jit(jax.vmap(run, in_axes=(None, None, 0)))


@functools.lru_cache(maxsize=None)
def catapult_runs(width: int, seed: int = 0) -> dict:
    """Gradient descent at every learning rate ``CAT_MULTIPLES / lambda_0`` for the two-layer NTK net of ``width``.

    ``lambda_0`` is the top eigenvalue of the empirical NTK at initialisation. All learning rates
    run in one vmapped scan that also computes the top NTK eigenvalue at every step.
    Returns a dict: ``lam0``, ``multiples`` (M,), ``lrs`` (M,), ``loss`` (M, steps + 1) and
    ``lam`` (M, steps + 1) (both ``inf`` once diverged), and ``params`` the final parameters of
    each run (leading axis M).
    """
    model = _model(int(width))
    params = init_params(model, seed)
    mult = jnp.asarray(layer_multipliers(model))
    X, _ = catapult_task()
    lam0 = float(np.linalg.eigvalsh(cu.as_numpy(cu.empirical_ntk(model, params, X)))[-1])
    multiples = np.asarray(CAT_MULTIPLES)
    lrs = multiples / lam0
    final, loss, lam = _catapult_fn(CAT_STEPS)(params, mult, jnp.asarray(lrs))
    loss, lam = np.asarray(loss), np.asarray(lam)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(loss) | ~np.isfinite(lam) | (loss > 1e8)
    bad = np.maximum.accumulate(bad, axis=1)
    return {
        "model": model,
        "lam0": lam0,
        "multiples": multiples,
        "lrs": lrs,
        "loss": np.where(bad, np.inf, loss),
        "lam": np.where(bad, np.inf, lam),
        "params": final,
    }


def final_params(width: int, multiple: float):
    """The parameters after training at ``lr = multiple / lambda_0`` (one of ``CAT_MULTIPLES``)."""
    runs = catapult_runs(int(width))
    i = _multiple_index(multiple)
    return jax.tree_util.tree_map(lambda a: a[i], runs["params"])


def _multiple_index(multiple: float) -> int:
    matches = [i for i, m in enumerate(CAT_MULTIPLES) if abs(m - float(multiple)) < 1e-12]
    if not matches:
        raise ValueError(f"multiple {multiple} is not one of {CAT_MULTIPLES}")
    return matches[0]


def phase(width: int, multiple: float) -> str:
    """Classify one run: ``"lazy"`` (loss never rises), ``"catapult"`` (rises, then converges) or ``"divergent"``."""
    runs = catapult_runs(int(width))
    i = _multiple_index(multiple)
    loss = runs["loss"][i]
    if not np.isfinite(loss[-1]) or loss[-1] > loss[0]:
        return "divergent"
    return "catapult" if loss.max() > 1.5 * loss[0] else "lazy"


def max_stable_multiple(width: int) -> float:
    """Largest ``lr * lambda_0`` in ``CAT_MULTIPLES`` whose run does not diverge."""
    return max(m for m in CAT_MULTIPLES if phase(width, m) != "divergent")


def lr_slider(multiples=CAT_MULTIPLES, value: float = 3.0) -> widgets.SelectionSlider:
    """The extra control of the catapult demo: the learning rate in units of ``1 / lambda_0``."""
    return widgets.SelectionSlider(options=[(f"{m:g} / lambda0", float(m)) for m in multiples], value=float(value),
                                   description="lr", continuous_update=True,
                                   tooltip="learning rate in units of 1 / lambda_0 (top NTK eigenvalue at init)",
                                   style={"description_width": "initial"}, layout=widgets.Layout(width="420px"))


def catapult_demo(widths=CAT_WIDTHS, times=CAT_TIMES) -> InteractiveFigure:
    """Loss (gid "loss") and top NTK eigenvalue (gid "lam") over the steps of gradient descent, with a
    learning-rate control, and the phase picture: ``lr x final top eigenvalue`` against ``lr x lambda_0``
    (gid "phase").

    The time control counts gradient-descent steps here: the learning rate changes with the
    extra ``lr`` control, so ``lr * steps`` would not compare runs.
    """
    for w in widths:
        catapult_runs(int(w))
    steps_axis = np.arange(CAT_STEPS + 1)
    multiples = np.asarray(CAT_MULTIPLES)
    art = {}

    def full(axes, width, lr):
        runs = catapult_runs(int(width))
        i = _multiple_index(lr)
        eta = runs["lrs"][i]
        art["loss"], art["lam"] = runs["loss"][i], runs["lam"][i]
        ax = axes[0]
        ax.clear()
        ax.semilogy(steps_axis, art["loss"], color="0.8", lw=1)
        (art["loss_line"],) = ax.semilogy(steps_axis[:1], art["loss"][:1], color="C0", gid="loss")
        ax.set_xlabel("step")
        ax.set_ylim(1e-8, 1e6)
        ax.set_title(f"loss ({phase(int(width), lr)} phase)", fontsize=9)
        ax = axes[1]
        ax.clear()
        ax.plot(steps_axis, art["lam"], color="0.8", lw=1)
        (art["lam_line"],) = ax.plot(steps_axis[:1], art["lam"][:1], color="C0", gid="lam", label="top NTK eigenvalue")
        ax.axhline(2.0 / eta, color="C3", ls="--", lw=1, label="2 / lr")
        ax.axhline(runs["lam0"], color="0.5", ls=":", lw=1, label="lambda_0")
        ax.set_ylim(0, 2.2 * runs["lam0"])
        ax.set_xlabel("step")
        ax.set_title(f"width {width}, lr = {lr:g} / lambda_0", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
        ax = axes[2]
        ax.clear()
        final_lam = runs["lam"][:, -1] * runs["lrs"]
        ok = np.isfinite(final_lam)
        ax.plot(multiples, multiples, ":", color="0.5", lw=1, label="kernel frozen")
        ax.plot(multiples[ok], final_lam[ok], "o-", color="C0", gid="phase", label="after training")
        ax.plot(multiples[~ok], np.full((~ok).sum(), 2.0), "x", color="C3", ms=7, label="diverged")
        ax.plot([lr], [final_lam[i] if ok[i] else 2.0], "o", ms=11, mfc="none", color="k")
        ax.axhline(2.0, color="C3", ls="--", lw=1)
        ax.axvspan(0, 2, color="C2", alpha=0.08)
        ax.axvspan(2, max_stable_multiple(int(width)), color="C1", alpha=0.1)
        ax.set_xlabel("lr x lambda_0")
        ax.set_ylabel("lr x final top eigenvalue")
        ax.set_title("lazy (green) | catapult (orange) | diverge", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")

    def update(axes, time, width, lr):
        s = int(time) + 1
        art["loss_line"].set_data(steps_axis[:s], art["loss"][:s])
        art["lam_line"].set_data(steps_axis[:s], art["lam"][:s])

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=list(times),
                             extra={"lr": lr_slider()}, ncols=3, figsize=(11.0, 3.3),
                             width=_pick([int(w) for w in widths], 1024), time=float(times[-1]))


# ---------------------------------------------------------------------- exercises
@solution("06.normalise_kernel")
def normalise_kernel_solution(K):
    # Cosine similarity of the feature vectors behind the kernel:
    # K_ij / (||phi(x_i)|| ||phi(x_j)||), where ||phi(x_i)||^2 = K_ii.
    K = np.asarray(K, dtype=np.float64)
    norms = np.sqrt(np.diag(K))
    return K / np.outer(norms, norms)


def check_normalise_kernel(student_fn) -> bool:
    """06 exercise: ``student_fn(K)`` should return ``K_ij / sqrt(K_ii K_jj)``."""
    rng = np.random.default_rng(3)
    cases = []
    for n in (3, 5):
        A = rng.normal(size=(n, n + 2))
        cases.append((A @ A.T,))
    cases.append((analytic_depth_kernel(3, 16),))
    return check_function(student_fn, normalise_kernel, cases, rtol=1e-10, atol=1e-12,
                          what="normalise_kernel(K)",
                          hint="Divide each entry by the square roots of the two matching diagonal entries "
                          "(np.outer helps).")


@solution("06.lazy_lr_limit")
def lazy_lr_limit(K):
    # Gradient descent on the linearised model multiplies each eigen-component of the residual
    # by (1 - lr * lambda_k) per step. It shrinks for every k iff |1 - lr * lambda_k| < 1,
    # i.e. lr < 2 / lambda_k for all k: the binding one is the largest eigenvalue.
    return 2.0 / np.linalg.eigvalsh(np.asarray(K, dtype=np.float64))[-1]


def check_lazy_lr_limit(student_fn) -> bool:
    """06 exercise: ``student_fn(K)`` should return the largest stable learning rate ``2 / lambda_max(K)``."""
    rng = np.random.default_rng(4)
    cases = [(np.diag([4.0, 1.0, 0.5]),)]
    for n in (4, 6):
        A = rng.normal(size=(n, n))
        cases.append((A @ A.T,))
    model = _model(256)
    X, _ = catapult_task()
    cases.append((cu.as_numpy(cu.empirical_ntk(model, init_params(model, 0), X)),))
    return check_function(student_fn, lazy_lr_limit, cases, rtol=1e-8, atol=1e-12,
                          what="lazy_lr_limit(K)",
                          hint="r <- (I - lr K) r shrinks iff |1 - lr lambda| < 1 for every eigenvalue lambda of K.")
