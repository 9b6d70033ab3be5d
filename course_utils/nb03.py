"""Notebook 03, the neural tangent kernel: the computations behind its figures and checks.

What lives here (the notebook shows only the key formulas as short cells):

* the two pictures of "similar response to weight perturbations"
  (``nudge_response`` and ``perturbation_responses``);
* the reproduction of Jacot et al. (2018), Fig. 1 (``fig1_width_data`` per width, cached,
  and the interactive ``fig1_demo``);
* the two claim checks built on it (``seed_spread`` and ``kernel_change``);
* the exercises' checks and worked solutions (``03.two_layer_ntk``, ``03.relu_ntk_limit``).

Set-up of the Fig. 1 reproduction. Jacot et al. count the read-out layer, so their depth 4
is ``MLP(depth=3)`` here; ReLU, NTK parameterization, ``sw2 = 1`` and ``sb2 = 0.01`` (their
beta = 0.1); inputs on the unit circle, ``x0 = (1, 0)``, ``x(gamma) = (cos gamma, sin gamma)``.
Training fits ``f*(x) = x1 x2`` on a few Gaussian inputs by full-batch gradient descent on
``1/2 ||f - y||^2``. Widths stop at 1024 so that the whole figure (10 trained seeds per
width) is computed in a few seconds on a laptop CPU.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate, widgets
from .data import circle_points
from .exercises import check_function, solution
from .kernels import analytic_ntk, empirical_ntk
from .models import MLP, activation_fn
from .training import train

# ---------------------------------------------------------------------- Fig. 1 set-up
FIG1_WIDTHS = (64, 256, 1024)
FIG1_SEEDS = 10  # trained networks per width (as in Jacot et al.)
SPREAD_SEEDS = 30  # networks per width at initialisation, for the spread claim check
N_GAMMA = 61  # angles in [-pi, pi]; the middle one is gamma = 0, i.e. x0 itself
N_TRAIN = 8
FIG1_LR = 0.4
FIG1_STEPS = 30
FIG1_RECORD_EVERY = 5


def fig1_model(width: int) -> MLP:
    """The network of Jacot et al. (2018), Fig. 1 at a given width: 3 hidden ReLU layers, sw2 = 1, sb2 = 0.01."""
    width = _validate.positive_int(width, "width")
    return MLP(in_dim=2, width=width, depth=3, activation="relu", parameterization="ntk", sw2=1.0, sb2=0.01)


def fig1_angles(n_gamma: int = N_GAMMA):
    """Angles ``gamma`` in [-pi, pi] (odd count, so gamma = 0 is the middle one) and their circle points."""
    n_gamma = _validate.positive_int(n_gamma, "n_gamma", minimum=3)
    if n_gamma % 2 == 0:
        raise ValueError(f"n_gamma must be odd so that gamma = 0 is on the grid; got {n_gamma}")
    gammas = np.linspace(-np.pi, np.pi, n_gamma)
    gammas[n_gamma // 2] = 0.0
    return gammas, circle_points(gammas)


def fig1_training_set(n: int = N_TRAIN, seed: int = 3):
    """``n`` inputs drawn from N(0, I_2) and targets ``y = x1 * x2`` (the regression task of Jacot et al.)."""
    n = _validate.positive_int(n, "n")
    x = jax.random.normal(jax.random.PRNGKey(seed), (n, 2), dtype=jnp.float64)
    return x, x[:, 0] * x[:, 1]


class Fig1Data(NamedTuple):
    """Everything ``fig1_demo`` and the claim checks need at one width (numpy arrays).

    times : (T,) recorded gradient-flow times ``lr * step``.
    rows : (S, T, G) ``K(x0, x(gamma))`` of each trained seed at each recorded time.
    train_kernels : (S, T, n, n) the kernel on the training inputs at each recorded time.
    loss : (S, T) training loss ``1/2 ||f - y||^2``.
    init_rows : (S_all, G) ``K(x0, x(gamma))`` at initialisation for more seeds (the first S are the trained ones).
    """

    width: int
    times: np.ndarray
    rows: np.ndarray
    train_kernels: np.ndarray
    loss: np.ndarray
    init_rows: np.ndarray


@functools.cache
def fig1_width_data(
    width: int,
    seeds: int = FIG1_SEEDS,
    spread_seeds: int = SPREAD_SEEDS,
    lr: float = FIG1_LR,
    steps: int = FIG1_STEPS,
    record_every: int = FIG1_RECORD_EVERY,
) -> Fig1Data:
    """Train ``seeds`` networks of width ``width`` and record their NTK; computed once per argument set.

    Seed ``s`` is ``fig1_model(width).init(s)``. Each trained run uses
    ``course_utils.train(..., record_params=True)``; the kernel is evaluated once per recorded
    time on the circle grid and on the training inputs (one structured-NTK call on both sets),
    then the parameter history is dropped. Seeds ``seeds .. spread_seeds - 1`` are only
    evaluated at initialisation (for the spread claim check).
    """
    width = _validate.positive_int(width, "width")
    seeds = _validate.positive_int(seeds, "seeds")
    spread_seeds = _validate.positive_int(spread_seeds, "spread_seeds")
    if spread_seeds < seeds:
        raise ValueError(f"spread_seeds ({spread_seeds}) must be >= seeds ({seeds})")
    model = fig1_model(width)
    _, grid = fig1_angles()
    x_train, y_train = fig1_training_set()
    points = jnp.concatenate([grid, x_train])  # one kernel call covers the figure and the training set
    g, centre = grid.shape[0], grid.shape[0] // 2

    rows, train_kernels, losses, init_rows, times = [], [], [], [], None
    for seed in range(spread_seeds):
        params = model.init(seed)
        if seed >= seeds:
            init_rows.append(np.asarray(empirical_ntk(model, params, points))[centre, :g])
            continue
        traj = train(
            model.apply, params, x_train, y_train, lr=lr, steps=steps, record_every=record_every, record_params=True
        )
        times = np.asarray(traj.times)
        seed_rows, seed_train = [], []
        for k in range(len(times)):
            params_k = jax.tree_util.tree_map(lambda leaf, k=k: leaf[k], traj.param_history)
            K = np.asarray(empirical_ntk(model, params_k, points))
            seed_rows.append(K[centre, :g])
            seed_train.append(K[g:, g:])
        rows.append(seed_rows)
        train_kernels.append(seed_train)
        losses.append(np.asarray(traj.loss))
        init_rows.append(seed_rows[0])
        del traj
    return Fig1Data(
        width=width,
        times=times,
        rows=np.asarray(rows),
        train_kernels=np.asarray(train_kernels),
        loss=np.asarray(losses),
        init_rows=np.asarray(init_rows),
    )


def fig1_analytic_row() -> np.ndarray:
    """The infinite-width ``K(x0, x(gamma))`` of the Fig. 1 architecture on the ``fig1_angles`` grid."""
    gammas, grid = fig1_angles()
    centre = len(gammas) // 2
    return np.asarray(analytic_ntk(fig1_model(1), grid[centre : centre + 1], grid))[0]


def _fit_slope(widths, values) -> float:
    return float(np.polyfit(np.log(np.asarray(widths, float)), np.log(np.asarray(values, float)), 1)[0])


def _check_widths(widths) -> tuple[int, ...]:
    widths = tuple(int(w) for w in widths)
    if len(widths) < 2 or any(w < 1 for w in widths):
        raise ValueError(f"need at least two widths >= 1 to fit a slope; got {widths}")
    return widths


def seed_spread(widths=FIG1_WIDTHS) -> dict:
    """Standard deviation across seeds of ``K(x0, x(gamma))`` at initialisation, per width.

    Uses the ``SPREAD_SEEDS`` initialisations of ``fig1_width_data``: the sample standard
    deviation over seeds at every angle, averaged over the angles. Also returns the
    root-mean-square distance to the analytic limit and the log-log slope of the spread
    against width (theory: -1/2).
    """
    widths = _check_widths(widths)
    limit = fig1_analytic_row()
    spread, rms = [], []
    for w in widths:
        rows = fig1_width_data(w).init_rows
        spread.append(float(np.mean(np.std(rows, axis=0, ddof=1))))
        rms.append(float(np.sqrt(np.mean((rows - limit) ** 2))))
    return {
        "widths": widths,
        "spread": np.asarray(spread),
        "rms_error": np.asarray(rms),
        "slope": _fit_slope(widths, spread),
    }


def kernel_change(widths=FIG1_WIDTHS) -> dict:
    """Relative change of the kernel on the training set during training, per width.

    ``||K_t - K_0||_F / ||K_0||_F`` averaged over the trained seeds, at every recorded time
    (``curves``, shape (widths, T)) and at the end of training (``final``), with the log-log
    slope of ``final`` against width.
    """
    widths = _check_widths(widths)
    curves = []
    for w in widths:
        data = fig1_width_data(w)
        K = data.train_kernels  # (S, T, n, n)
        change = np.linalg.norm(K - K[:, :1], axis=(2, 3)) / np.linalg.norm(K[:, :1], axis=(2, 3))
        curves.append(change.mean(axis=0))
    curves = np.asarray(curves)
    return {
        "widths": widths,
        "times": fig1_width_data(widths[0]).times,
        "curves": curves,
        "final": curves[:, -1],
        "slope": _fit_slope(widths, curves[:, -1]),
    }


# ---------------------------------------------------------------------- the interactive Fig. 1
def freeze_layout(fig) -> None:
    """Keep the layout of an already rendered figure fixed, so later redraws are cheaper.

    Three things a redraw would otherwise recompute every time: the placeholder layout
    engine that ``tight_layout`` leaves behind (with it, every ``savefig`` draws the figure
    twice), the position of each title (placed above the axis by measuring the tick labels),
    and the position of each axis label (placed beside the tick labels by measuring them).
    This pins the titles and labels where the last render put them and drops the engine.
    Call it after the figure has been rendered once.
    """
    if fig.get_layout_engine() is not None:
        fig.set_layout_engine(None)
    for ax in fig.axes:
        title = ax.title
        ax.set_title(title.get_text(), fontsize=title.get_fontsize(), y=1.0)
        to_axes = ax.transAxes.inverted()
        x_label_y = to_axes.transform((0.0, ax.xaxis.label.get_position()[1]))[1]
        y_label_x = to_axes.transform((ax.yaxis.label.get_position()[0], 0.0))[0]
        ax.xaxis.set_label_coords(0.5, x_label_y)
        ax.yaxis.set_label_coords(y_label_x, 0.5)


def fig1_demo(widths=FIG1_WIDTHS, width: int | None = None, time: float | None = None) -> widgets.InteractiveFigure:
    """Jacot et al. (2018), Fig. 1, with a width control and a time control.

    Left: ``K(x0, x(gamma))`` for ``FIG1_SEEDS`` networks at the chosen width and training time
    (blue), the same networks at t = 0 (grey, dotted, shown once t > 0) and the infinite-width
    limit (black). Right: relative kernel change on the training set against time, for every
    width (the chosen one bold). Everything is precomputed per width when the demo is built,
    so a time move only swaps the y-data of existing lines.

    Line ids (``line.get_gid()``) on the left axes: ``"seed{i}"``, ``"seed{i}_t0"``, ``"limit"``;
    on the right: ``"change{width}"`` and ``"now"``.
    """
    widths = _check_widths(widths)
    data = {w: fig1_width_data(w) for w in widths}  # precompute every offered width now
    gammas, _ = fig1_angles()
    limit = fig1_analytic_row()
    change = kernel_change(widths)
    times = [float(t) for t in data[widths[0]].times]
    every_row = np.concatenate([d.rows.ravel() for d in data.values()] + [limit])
    low, high = float(every_row.min()), float(every_row.max())
    margin = 0.05 * (high - low)
    state: dict = {}

    def build(axes):
        ax, ax_change = axes
        n_seeds = data[widths[0]].rows.shape[0]
        state["now"] = [
            ax.plot(gammas, limit, color="C0", lw=1.0, alpha=0.8, gid=f"seed{i}")[0] for i in range(n_seeds)
        ]
        state["t0"] = [
            ax.plot(gammas, limit, color="0.55", lw=0.8, ls=":", gid=f"seed{i}_t0")[0] for i in range(n_seeds)
        ]
        ax.plot(gammas, limit, color="k", lw=2.2, gid="limit", label="infinite width")
        ax.plot([], [], color="C0", label="10 seeds at time t")
        ax.plot([], [], color="0.55", ls=":", label="same seeds at t = 0")
        ax.set_xlim(-np.pi, np.pi)
        ax.set_ylim(low - margin, high + margin)
        ax.set_xticks([-np.pi, -np.pi / 2, 0, np.pi / 2, np.pi], ["-pi", "-pi/2", "0", "pi/2", "pi"])
        ax.set_xlabel("gamma (angle between x0 and x)")
        ax.set_ylabel("K(x0, x(gamma))")
        ax.legend(loc="upper right", fontsize=7, frameon=False)
        state["change"] = {}
        for i, w in enumerate(widths):
            (line,) = ax_change.plot(
                times, change["curves"][i], marker=".", color=f"C{i + 1}", gid=f"change{w}", label=f"width {w}"
            )
            state["change"][w] = line
        state["vline"] = ax_change.axvline(times[-1], color="k", lw=0.8, ls="--", gid="now")
        ax_change.set_xlabel("training time t")
        ax_change.set_ylabel("||K_t - K_0|| / ||K_0||")
        ax_change.set_title("kernel change on the training set", fontsize=9)
        ax_change.legend(fontsize=7, frameon=False)

    def draw(axes, width, time):
        if not state:
            build(axes)
        elif not state.get("frozen"):  # the first render has happened: fix its layout
            freeze_layout(axes[0].figure)
            state["frozen"] = True
        d = data[width]
        k = times.index(float(time))
        for i, line in enumerate(state["now"]):
            line.set_ydata(d.rows[i, k])
        for i, line in enumerate(state["t0"]):
            line.set_ydata(d.rows[i, 0])
            line.set_visible(k > 0)
        for w, line in state["change"].items():
            line.set_linewidth(2.5 if w == width else 0.8)
            line.set_alpha(1.0 if w == width else 0.5)
        state["vline"].set_xdata([time, time])
        axes[0].set_title(f"width {width}, t = {time:.3g} (mean loss {d.loss[:, k].mean():.3g})", fontsize=9)

    return widgets.InteractiveFigure(
        draw,
        widths=widths,
        times=times,
        width=widths[0] if width is None else width,
        time=times[-1] if time is None else time,
        ncols=2,
        figsize=(9.5, 3.4),
        title="Jacot et al. (2018), Fig. 1: the NTK of 10 random networks, before and after training",
    )


# ---------------------------------------------------------------------- "similar response" pictures
PICTURE_MODEL = MLP(in_dim=2, width=512, depth=1, sw2=2.0, sb2=0.1)


def nudge_response(model: MLP, params, x0, xs, eps: float = 1e-3):
    """Move the weights a small step ``eps`` along ``grad f(x0)`` and see how f changes everywhere.

    Returns ``(df, K)``: ``df = (f(xs; theta + eps grad f(x0)) - f(xs; theta)) / eps`` and
    ``K = K(xs, x0)``. To first order in ``eps`` they are equal: pushing the output up at
    ``x0`` moves it at ``x`` by ``eps K(x, x0)``.
    """
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")
    model.check_params(params)
    x0 = _validate.as_inputs(x0, model.in_dim, "x0")
    if x0.shape[0] != 1:
        raise ValueError(f"x0 must be a single input of shape (1, {model.in_dim}); got {tuple(x0.shape)}")
    xs = _validate.as_inputs(xs, model.in_dim, "xs")
    eps = _validate.finite_float(eps, "eps", minimum=0.0, strict=True)
    return np.asarray(_nudge(model, params, x0, xs, eps)), np.asarray(empirical_ntk(model, params, xs, x0))[:, 0]


@functools.partial(jax.jit, static_argnums=0)
def _nudge(model, params, x0, xs, eps):
    grad = jax.grad(lambda p: model.forward(p, x0)[1][0])(params)
    moved = jax.tree_util.tree_map(lambda p, g: p + eps * g, params, grad)
    return (model.forward(moved, xs)[1] - model.forward(params, xs)[1]) / eps


@functools.partial(jax.jit, static_argnums=(0, 3))
def _random_tangents(model, params, x, num, key):
    leaves, treedef = jax.tree_util.tree_flatten(params)

    def one(k):
        keys = jax.random.split(k, len(leaves))
        delta = [jax.random.normal(kk, leaf.shape, dtype=leaf.dtype) for kk, leaf in zip(keys, leaves)]
        delta = jax.tree_util.tree_unflatten(treedef, delta)
        return jax.jvp(lambda p: model.forward(p, x)[1], (params,), (delta,))[1]

    return jax.vmap(one)(jax.random.split(key, num))


def perturbation_responses(model: MLP, params, x, num: int = 400, seed: int = 0) -> np.ndarray:
    """First-order responses of f at the inputs ``x`` to ``num`` random weight directions.

    Draws ``delta ~ N(0, I)`` in parameter space and returns ``J(x) delta`` with shape
    (num, n): one row per perturbation, one column per input. Over the random directions the
    covariance of two columns is exactly ``K(x_i, x_j)``, because
    ``E[(J_i . delta)(J_j . delta)] = J_i . J_j``.
    """
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")
    model.check_params(params)
    x = _validate.as_inputs(x, model.in_dim, "x")
    num = _validate.positive_int(num, "num", minimum=2)
    seed = _validate.positive_int(seed, "seed", minimum=0)
    return np.asarray(_random_tangents(model, params, x, num, jax.random.PRNGKey(seed)))


def similarity_figure(
    model: MLP = PICTURE_MODEL, seed: int = 0, near: float = 0.3, far: float = 2.5, num: int = 400, eps: float = 1e-3
):
    """The two pictures of "similar response to weight perturbations", side by side.

    Left: one small step ``eps`` of the weights along ``grad f(x0)`` changes f on the whole
    circle by ``eps K(x, x0)`` (measured change / eps against the kernel row). Middle and right:
    responses ``J(x) delta`` of f at ``x0`` and at a near (angle ``near``) or a far (angle ``far``)
    input to ``num`` random weight directions; their covariance is ``K(x0, x)``.

    Returns ``(fig, info)``: a pyplot figure and a dict with the nudge mismatch
    ``max |df - K| / max |K|`` and, for the near and far inputs, the sample covariance, the
    kernel value and the standard error of the sample covariance.
    """
    import matplotlib.pyplot as plt

    if not isinstance(model, MLP) or model.in_dim != 2:
        raise ValueError("model must be a course_utils.MLP with in_dim=2 (inputs on the unit circle)")
    params = model.init(_validate.positive_int(seed, "seed", minimum=0))
    gammas = np.linspace(-np.pi, np.pi, 181)
    grid = circle_points(gammas)
    x0 = circle_points(np.zeros(1))
    df, k_row = nudge_response(model, params, x0, grid, eps=eps)
    pair_points = circle_points(np.array([0.0, near, far]))
    responses = perturbation_responses(model, params, pair_points, num=num, seed=seed)
    K_pairs = np.asarray(empirical_ntk(model, params, pair_points))
    info = {"nudge_mismatch": float(np.max(np.abs(df - k_row)) / np.max(np.abs(k_row)))}

    fig, axes = plt.subplots(1, 3, figsize=(11.0, 3.3))
    axes[0].plot(gammas, k_row, color="k", lw=2.5, label="K(x, x0)")
    axes[0].plot(gammas, df, color="C1", lw=1.2, ls="--", label="change of f / step size")
    axes[0].set_xlabel("gamma (angle of x)")
    axes[0].set_title("one small step that raises f(x0)", fontsize=9)
    axes[0].legend(fontsize=7, frameon=False)
    for ax, j, name in [(axes[1], 1, "near"), (axes[2], 2, "far")]:
        a, b = responses[:, 0], responses[:, j]
        cov = float(np.mean(a * b))  # the directions have mean zero, so no centring
        stderr = float(np.std(a * b, ddof=1) / np.sqrt(len(a)))
        corr = K_pairs[0, j] / np.sqrt(K_pairs[0, 0] * K_pairs[j, j])
        sample_corr = float(np.corrcoef(a, b)[0, 1])
        info[name] = {
            "sample_cov": cov,
            "kernel": float(K_pairs[0, j]),
            "stderr": stderr,
            "kernel_corr": float(corr),
            "sample_corr": sample_corr,
        }
        ax.scatter(a, b, s=4, alpha=0.5, color="C0")
        ax.set_xlabel("response at x0")
        ax.set_ylabel(f"response at angle {[near, far][j - 1]:g}")
        ax.set_title(f"{name} input: correlation {sample_corr:.2f} (kernel: {corr:.2f})", fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return fig, info


# ---------------------------------------------------------------------- arc-cosine kernels
def arccos_kernels(cos_angle):
    """The ReLU Gaussian expectations for unit-variance inputs with correlation ``cos_angle``.

    Returns ``(kappa1, kappa0)`` with ``kappa1 = E[relu(u) relu(v)] = (sin t + (pi - t) cos t) / (2 pi)``
    and ``kappa0 = E[relu'(u) relu'(v)] = (pi - t) / (2 pi)``, ``t = arccos(cos_angle)``
    (Cho & Saul 2009). For variances ``k11, k22`` multiply ``kappa1`` by ``sqrt(k11 k22)``.
    """
    c = np.asarray(cos_angle, dtype=np.float64)
    if not np.all(np.isfinite(c)) or np.any(np.abs(c) > 1 + 1e-12):
        raise ValueError("cos_angle must contain finite values in [-1, 1]")
    theta = np.arccos(np.clip(c, -1.0, 1.0))
    return (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi), (np.pi - theta) / (2 * np.pi)


# ---------------------------------------------------------------------- exercise 1: the structured NTK
@solution("03.two_layer_ntk")
def two_layer_ntk(model, params, x1, x2):
    # One hidden layer: h = w1 * (x @ W1) + b1m * b1,  f = w2 * (relu(h) @ W2) + b2m * b2.
    (w1, _, b1m, _), (w2, _, b2m, _) = model.layer_scales()
    h1 = w1 * (x1 @ params[0]["W"]) + b1m * params[0]["b"]  # (n1, width) pre-activations
    h2 = w1 * (x2 @ params[0]["W"]) + b1m * params[0]["b"]  # (n2, width)
    a1, a2 = jnp.maximum(h1, 0), jnp.maximum(h2, 0)  # inputs of the read-out layer
    # Sensitivities df/dh of the hidden layer: read-out weight times relu'(h) = (h > 0).
    g1 = w2 * params[1]["W"][:, 0] * (h1 > 0)
    g2 = w2 * params[1]["W"][:, 0] * (h2 > 0)
    # Read-out layer: its sensitivity is 1, so its Gram is w2^2 a.a' (+ b2m^2 for the bias).
    K = w2**2 * (a1 @ a2.T) + b2m**2
    # Hidden layer: (input Gram) * (sensitivity Gram), entrywise; its input is x itself.
    K = K + w1**2 * (x1 @ x2.T) * (g1 @ g2.T) + b1m**2 * (g1 @ g2.T)
    return K


def _exercise1_cases():
    cases = []
    for width, sb2, seed, n1, n2 in [(16, 0.0, 0, 3, 4), (64, 0.1, 1, 5, 5), (256, 0.5, 2, 4, 2)]:
        model = MLP(in_dim=2, width=width, depth=1, sw2=2.0, sb2=sb2)
        params = model.init(seed)
        x = jax.random.normal(jax.random.PRNGKey(100 + seed), (n1 + n2, 2), dtype=jnp.float64)
        cases.append((model, params, x[:n1], x[n1:]))
    return cases


def check_two_layer_ntk(student_fn) -> bool:
    """Exercise 03.two_layer_ntk: the per-layer formula for a one-hidden-layer net vs ``empirical_ntk``."""
    return check_function(
        student_fn,
        lambda model, params, x1, x2: np.asarray(empirical_ntk(model, params, x1, x2, method="jacobian")),
        _exercise1_cases(),
        rtol=1e-8,
        atol=1e-10,
        what="two_layer_ntk(model, params, x1, x2)",
        hint=(
            "Sum over the two layers: w_mult^2 (A A'^T) * (G G'^T) + b_mult^2 (G G'^T), where A is the "
            "layer's input (x for the hidden layer, relu(h) for the read-out) and G = df/dh "
            "(1 for the read-out, w2 * W2[:, 0] * relu'(h) for the hidden layer)."
        ),
    )


# ---------------------------------------------------------------------- exercise 2: the analytic limit
@solution("03.relu_ntk_limit")
def relu_ntk_limit(gamma, sw2, sb2):
    # Two unit vectors in d = 2 at angle gamma: x.x' = cos(gamma), |x|^2 = 1.
    gamma = np.asarray(gamma, dtype=np.float64)
    sigma1 = sw2 * np.cos(gamma) / 2 + sb2  # first-layer covariance Sigma_1(x, x')
    var1 = sw2 / 2 + sb2  # Sigma_1(x, x) = Sigma_1(x', x'): same for both inputs
    cos_t = np.clip(sigma1 / var1, -1.0, 1.0)  # correlation of the two pre-activations
    t = np.arccos(cos_t)
    kappa1 = (np.sin(t) + (np.pi - t) * cos_t) / (2 * np.pi)  # E[relu(u) relu(v)] / var1
    kappa0 = (np.pi - t) / (2 * np.pi)  # E[relu'(u) relu'(v)]
    sigma2 = sw2 * var1 * kappa1 + sb2  # read-out covariance Sigma_2
    return sigma2 + sw2 * kappa0 * sigma1  # Theta_2 = Sigma_2 + sw2 * kappa0 * Theta_1, Theta_1 = Sigma_1


def _relu_limit_reference(gamma, sw2, sb2):
    gamma = np.asarray(gamma, dtype=np.float64)
    model = MLP(in_dim=2, width=1, depth=1, sw2=sw2, sb2=sb2)
    return np.asarray(analytic_ntk(model, circle_points(np.zeros(1)), circle_points(gamma)))[0]


def check_relu_ntk_limit(student_fn) -> bool:
    """Exercise 03.relu_ntk_limit: the one-hidden-layer ReLU NTK on the circle vs ``analytic_ntk``."""
    gammas = np.linspace(-np.pi, np.pi, 13)
    cases = [(gammas, 2.0, 0.0), (gammas, 2.0, 0.1), (gammas, 1.0, 0.5)]
    return check_function(
        student_fn,
        _relu_limit_reference,
        cases,
        rtol=1e-8,
        atol=1e-10,
        what="relu_ntk_limit(gamma, sw2, sb2)",
        hint=(
            "Sigma_1 = sw2 cos(gamma) / 2 + sb2 (d = 2); normalise by Sigma_1(x, x) to get the correlation; "
            "Theta = sw2 Sigma_1(x,x) kappa1 + sb2 + sw2 kappa0 Sigma_1."
        ),
    )


# ---------------------------------------------------------------------- a plain Jacobian, for the notebook
def flat_gradient(model: MLP, params, x):
    """The gradient ``grad_theta f(x)`` of every input as one flat vector: shape (n, P).

    Built with ``jax.jacrev``: fine for the small networks of the notebook, far too big
    for wide deep ones (that is why ``empirical_ntk`` uses the structured formula).
    """
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")
    model.check_params(params)
    x = _validate.as_inputs(x, model.in_dim, "x")
    return np.asarray(_flat_gradient(model, params, x))


@functools.partial(jax.jit, static_argnums=0)
def _flat_gradient(model, params, x):
    jac = jax.jacrev(lambda p: model.forward(p, x)[1])(params)
    return jnp.concatenate([leaf.reshape(x.shape[0], -1) for leaf in jax.tree_util.tree_leaves(jac)], axis=1)


def layer_contributions(model: MLP, params, x1, x2=None) -> list[np.ndarray]:
    """The structured formula term by term: one (n1, n2) matrix per dense layer (they sum to the NTK).

    Layer ``l`` contributes ``w_mult^2 (A_l A_l'^T) * (G_l G_l'^T) + b_mult^2 (G_l G_l'^T)`` with
    ``A_l`` the layer's input and ``G_l = df/dh_l`` the back-propagated sensitivity.
    """
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")
    model.check_params(params)
    x1 = _validate.as_inputs(x1, model.in_dim, "x1")
    x2 = x1 if x2 is None else _validate.as_inputs(x2, model.in_dim, "x2")
    return [np.asarray(term) for term in _layer_contributions(model, params, x1, x2)]


@functools.partial(jax.jit, static_argnums=0)
def _layer_contributions(model, params, x1, x2):
    phi, dphi = activation_fn(model.activation)
    scales = model.layer_scales()

    def inputs_and_sensitivities(x):
        hidden, _ = model.forward(params, x)
        inputs = [x] + [phi(h) for h in hidden]
        g = jnp.ones((x.shape[0], 1))
        sens = [g]
        for i in range(len(hidden) - 1, -1, -1):
            g = scales[i + 1].w_mult * (g @ params[i + 1]["W"].T) * dphi(hidden[i])
            sens.append(g)
        return inputs, sens[::-1]

    (a1, g1), (a2, g2) = inputs_and_sensitivities(x1), inputs_and_sensitivities(x2)
    terms = []
    for scale, ai, aj, gi, gj in zip(scales, a1, a2, g1, g2):
        gram_g = gi @ gj.T
        terms.append(scale.w_mult**2 * (ai @ aj.T) * gram_g + scale.b_mult**2 * gram_g)
    return terms


__all__ = [
    "FIG1_WIDTHS",
    "PICTURE_MODEL",
    "arccos_kernels",
    "check_relu_ntk_limit",
    "check_two_layer_ntk",
    "fig1_analytic_row",
    "fig1_angles",
    "fig1_demo",
    "fig1_model",
    "fig1_training_set",
    "fig1_width_data",
    "flat_gradient",
    "freeze_layout",
    "kernel_change",
    "layer_contributions",
    "nudge_response",
    "perturbation_responses",
    "relu_ntk_limit",
    "seed_spread",
    "two_layer_ntk",
]
