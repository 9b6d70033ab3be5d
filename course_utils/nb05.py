"""Notebook 05: the NTK spectrum, spectral bias, generalization and muP.

Everything the notebook computes lives here so that tests can build and drive the same
figures without running the notebook. Conventions of the course: squared loss
``L = 1/2 ||f - y||^2``, gradient-flow time ``t = lr * steps``, float64, fixed seeds.

Most experiments use a *centered* network ``f(x; theta) - f(x; theta_0)`` (Chizat, Oyallon &
Bach 2019): it has the same neural tangent kernel as the plain network but starts from the
zero function, so the learned function is exactly the spectrally filtered target and the
random initial function does not blur the picture.

The circle experiments use a two-layer ReLU network in NTK parameterization with a small
bias (``sb2 = 0.1``): without a bias the kernel of a two-layer ReLU network is exactly zero
on every odd frequency >= 3 (see ``odd_frequency_ratio``), so such frequencies can never
be learned.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

import course_utils as cu

from . import _validate
from .exercises import check_function, solution
from .widgets import InteractiveFigure, log_times

SB2 = 0.1  # bias variance of the circle experiments (see the module docstring)
WIDTHS = (64, 256, 1024, 4096)  # widths offered by the demos


# ---------------------------------------------------------------------- small tools
def model_for(width: int, parameterization: str = "ntk", sb2: float = SB2, depth: int = 1) -> cu.MLP:
    """The network of this notebook: ReLU, input on the circle (in_dim = 2), ``depth`` hidden layers."""
    return cu.MLP(in_dim=2, width=width, depth=depth, parameterization=parameterization, sb2=sb2)


def spectral_filter(lam, t):
    """The fraction ``1 - exp(-lam t)`` of an eigen-component learned by gradient flow at time ``t``.

    ``lam`` : eigenvalue(s) of the kernel matrix (>= 0), scalar or array.
    ``t`` : time (>= 0), scalar or array broadcastable against ``lam``.
    """
    lam = np.asarray(lam, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(t))):
        raise ValueError("lam and t must be finite")
    if np.any(lam < 0):
        raise ValueError("eigenvalues lam must be >= 0 (a kernel matrix is positive semi-definite)")
    if np.any(t < 0):
        raise ValueError("time t must be >= 0")
    return -np.expm1(-lam * t)


def loglog_slope(x, y) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (both must be positive)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x and y must be 1-D arrays of the same length >= 2; got {x.shape} and {y.shape}")
    if np.any(x <= 0) or np.any(y <= 0) or not np.all(np.isfinite(y)):
        raise ValueError("x and y must be positive and finite for a log-log fit")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _pick(values, preferred):
    """``preferred`` if it is one of ``values``, else the middle value."""
    values = list(values)
    return preferred if preferred in values else values[len(values) // 2]


def layout_once(fig) -> None:
    """``fig.tight_layout()`` on the first draw only (it costs a few hundred ms per call)."""
    if not getattr(fig, "_course_laid_out", False):
        fig.tight_layout()
        fig._course_laid_out = True


def _plain_number(value, _pos=None) -> str:
    return f"{value:g}"


def plain_log_ticks(axes) -> None:
    """Plain-text labels ("0.01", "1e+03") and no minor ticks on every log-scaled axis of ``axes``.

    Matplotlib's default log labels are mathtext, re-parsed on every draw, and its minor log
    ticks are many small artists; together they made up more than half of a redraw's time here.
    """
    from matplotlib.ticker import FuncFormatter, NullLocator

    for ax in np.atleast_1d(axes):
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                axis.set_major_formatter(FuncFormatter(_plain_number))
                axis.set_minor_locator(NullLocator())


def staged_draw(full, update):
    """A draw function for ``InteractiveFigure`` that redraws only what a control changed.

    ``full(axes, **values)`` draws everything (called when any control other than time changes);
    ``update(axes, time, **values)`` moves only the time-dependent artists (``set_data``), which
    keeps a time-slider move cheap.
    """
    state = {"key": None}

    def draw(axes, time, **values):
        key = tuple(sorted(values.items()))
        if state["key"] != key:
            full(axes, **values)
            plain_log_ticks(axes)
            state["key"] = key
        update(axes, time, **values)
        layout_once(axes[0].figure)

    return draw


def set_time_line(line, time: float) -> None:
    """Move a vertical time marker (from ``ax.axvline``) to ``time``; hide it at t = 0 (log axes)."""
    line.set_visible(time > 0)
    if time > 0:
        line.set_xdata([time, time])


def init_params(model: cu.MLP, seed: int):
    """Initial parameters of ``model`` drawn with numpy's seeded generator (same distribution as ``model.init``).

    Every entry is an independent ``N(0, std^2)`` with the layer's ``w_std`` / ``b_std`` from
    ``model.layer_scales()``. Drawing with numpy avoids compiling JAX's random-number kernels for
    every new width (about a second each on a busy two-core machine), which keeps demos quick.
    """
    if not isinstance(model, cu.MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")
    seed = _validate.positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    params = []
    for (fan_in, fan_out), scale in zip(model.layer_sizes, model.layer_scales()):
        W = scale.w_std * rng.standard_normal((fan_in, fan_out))
        b = scale.b_std * rng.standard_normal(fan_out)
        params.append({"W": jnp.asarray(W), "b": jnp.asarray(b)})
    return params


# ---------------------------------------------------------------------- centered network
@functools.lru_cache(maxsize=None)
def centered_network(model: cu.MLP, seed: int = 0):
    """``(apply, theta0)``: the centered network ``apply(theta, x) = f(x; theta) - f(x; theta0)``.

    ``theta0 = init_params(model, seed)`` is baked into ``apply`` as a constant, so training
    ``apply`` from ``theta0`` moves only ``theta``; its neural tangent kernel is exactly the one
    of ``model`` at ``theta0`` and its output at initialisation is exactly zero. Cached per
    (model, seed), so ``cu.train`` compiles once per width.
    """
    if not isinstance(model, cu.MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")
    theta0 = init_params(model, seed)

    def apply(theta, x):
        return model.forward(theta, x)[1] - model.forward(theta0, x)[1]

    return apply, theta0


@functools.partial(jax.jit, static_argnums=0)
def _outputs_along(model: cu.MLP, history, x):
    """Network outputs at ``x`` for every recorded parameter set (leading axis of ``history``).

    ``lax.map`` evaluates the records one after another: a ``vmap`` would hold every record's
    hidden layer at once (a gigabyte for width 4096).
    """
    return jax.lax.map(lambda p: model.forward(p, x)[1], history)


def log_steps(total: int, num: int) -> np.ndarray:
    """About ``num`` distinct, roughly log-spaced step counts from 0 to ``total`` (both included)."""
    total = _validate.positive_int(total, "total")
    num = _validate.positive_int(num, "num", minimum=2)
    steps = np.unique(np.round(np.geomspace(1, total, num)).astype(int))
    return np.concatenate([[0], steps])


@functools.partial(jax.jit, static_argnames=("apply_fn",))
def _train_segments(apply_fn, params, x, y, lr, lengths):
    grad_fn = jax.grad(lambda p: 0.5 * jnp.sum((apply_fn(p, x) - y) ** 2))

    def gd_step(_, p):
        g = grad_fn(p)
        return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g)

    def segment(p, length):
        p = jax.lax.fori_loop(0, length, gd_step, p)
        return p, p

    return jax.lax.scan(segment, params, lengths)


def train_log_recorded(apply_fn, params, x, y, *, lr: float, record_steps):
    """Full-batch gradient descent that keeps the parameters at the given (e.g. log-spaced) steps.

    Same update and loss as ``cu.train`` (``L = 1/2 ||f - y||^2``), but the records sit at
    ``record_steps`` (increasing, starting at 0) instead of every ``record_every`` steps, so a
    log-scaled time slider gets early and late times without storing thousands of copies.
    Returns ``(times, history)``: ``times = lr * record_steps`` and the parameters at each record
    (leaves with a leading axis).
    """
    if not callable(apply_fn):
        raise ValueError("apply_fn must be a function apply_fn(params, x)")
    lr = _validate.finite_float(lr, "lr", minimum=0.0, strict=True)
    steps = np.asarray(record_steps)
    if steps.ndim != 1 or len(steps) < 1 or steps[0] != 0 or np.any(np.diff(steps) <= 0):
        raise ValueError("record_steps must be a 1-D increasing sequence of integers starting at 0")
    x = _validate.as_inputs(x)
    y = _validate.as_vector(y, x.shape[0], "y")
    lengths = jnp.asarray(np.diff(steps), dtype=jnp.int32)
    _, history = _train_segments(apply_fn, params, x, y, lr, lengths)
    history = jax.tree_util.tree_map(lambda p0, h: jnp.concatenate([jnp.asarray(p0)[None], h]), params, history)
    return lr * steps.astype(np.float64), history


def round_times(times) -> list[float]:
    """Times rounded to 3 significant digits for a slider (readable, and identical on every machine)."""
    return [float(f"{float(t):.3g}") for t in times]


# ---------------------------------------------------------------------- circle spectrum
def fourier_modes(n: int, k: int):
    """The two Fourier vectors ``cos(k gamma_j)`` and ``sin(k gamma_j)`` on the ``n``-point circle grid."""
    n = _validate.positive_int(n, "n")
    k = _validate.positive_int(k, "k", minimum=0)
    angles = 2 * np.pi * np.arange(n) / n
    return np.cos(k * angles), np.sin(k * angles)


def fourier_eigenvalues(K, ks):
    """Rayleigh quotients ``c_k^T K c_k / c_k^T c_k`` of the cosine mode of each frequency in ``ks``.

    ``K`` is an (n, n) kernel matrix on the ``n``-point grid ``cu.circle_grid(n)``. For a
    rotation-invariant kernel the cosine modes are exact eigenvectors and these are the
    eigenvalues; for an empirical (finite-width) kernel they are its best estimate per frequency
    (the sine mode is averaged in).
    """
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square (n, n) matrix on the circle grid; got shape {K.shape}")
    n = K.shape[0]
    out = []
    for k in np.atleast_1d(ks):
        k = int(k)
        if not 0 <= k <= n // 2:
            raise ValueError(f"frequency {k} is not resolved by {n} grid points (need 0 <= k <= {n // 2})")
        c, s = fourier_modes(n, k)
        values = [v @ K @ v / (v @ v) for v in (c, s) if v @ v > 1e-9 * n]
        out.append(np.mean(values))
    return np.asarray(out)


def circulant_error(K) -> float:
    """How far an (n, n) matrix is from circulant: ``max |K[i, j] - K[0, (j - i) mod n]| / max |K|``."""
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be square; got shape {K.shape}")
    n = K.shape[0]
    idx = (np.arange(n)[None, :] - np.arange(n)[:, None]) % n
    return float(np.max(np.abs(K - K[0][idx])) / np.max(np.abs(K)))


def fourier_eigenvector_error(K, ks) -> float:
    """Largest relative residual ``||K c - lam c|| / (lam_max ||c||)`` over the Fourier vectors of ``ks``."""
    K = np.asarray(K, dtype=np.float64)
    n = K.shape[0]
    lam_max = np.linalg.eigvalsh(K)[-1]
    worst = 0.0
    for k in np.atleast_1d(ks):
        for v in fourier_modes(n, int(k)):
            if v @ v < 1e-9 * n:
                continue
            lam = v @ K @ v / (v @ v)
            worst = max(worst, float(np.linalg.norm(K @ v - lam * v) / (lam_max * np.linalg.norm(v))))
    return worst


@functools.lru_cache(maxsize=None)
def _analytic_circle_kernel(n: int, sb2: float, depth: int = 1) -> np.ndarray:
    _, X = cu.circle_grid(n)
    return cu.as_numpy(cu.analytic_ntk(model_for(1, sb2=sb2, depth=depth), X))


def circle_spectrum(ks, n: int = 128, sb2: float = SB2, depth: int = 1) -> np.ndarray:
    """Eigenvalues of the infinite-width NTK matrix on the ``n``-point circle grid, per frequency ``ks``."""
    n = _validate.positive_int(n, "n", minimum=4)
    sb2 = _validate.finite_float(sb2, "sb2", minimum=0.0)
    return fourier_eigenvalues(_analytic_circle_kernel(n, float(sb2), int(depth)), ks)


def odd_frequency_ratio(n: int = 128, sb2: float = 0.0, kmax: int = 31) -> float:
    """``max over odd k in [3, kmax] of |lam_k| / lam_1`` for the analytic two-layer ReLU NTK on the circle.

    Zero (to round-off) without bias: ``relu(cos u) = (cos u + |cos u|) / 2`` and ``|cos u|`` has
    only even harmonics, so a bias-free two-layer ReLU network cannot represent ``cos(3 gamma)``.
    """
    lam = circle_spectrum(np.arange(1, kmax + 1, 2), n=n, sb2=sb2)
    return float(np.max(np.abs(lam[1:])) / lam[0])


@functools.lru_cache(maxsize=None)
def _empirical_circle_kernel(width: int, n: int, seed: int = 0) -> np.ndarray:
    model = model_for(width)
    _, X = cu.circle_grid(n)
    return cu.as_numpy(cu.empirical_ntk(model, init_params(model, seed), X))


def spectrum_figure(n: int = 128, kmax: int = 48, fit=(8, 48)):
    """Static figure: analytic NTK eigenvalue against frequency (log-log), with and without bias.

    Returns ``(fig, slope)`` with the fitted log-log slope over ``fit`` for ``sb2 = SB2``.
    """
    import matplotlib.pyplot as plt

    ks = np.arange(1, kmax + 1)
    lam_b = circle_spectrum(ks, n=n, sb2=SB2)
    lam_0 = circle_spectrum(ks, n=n, sb2=0.0)
    sel = (ks >= fit[0]) & (ks <= fit[1])
    slope = loglog_slope(ks[sel], lam_b[sel])
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    _ = ax.loglog(ks, lam_b, "o-", ms=3, label=f"sb2 = {SB2}: all frequencies")
    floor = 1e-6 * lam_0[0]
    even = ks % 2 == 0
    _ = ax.loglog(ks[even], lam_0[even], "s", ms=4, mfc="none", color="C1", label="sb2 = 0, even k")
    odd_label = "sb2 = 0, odd k (0, drawn at floor)"
    _ = ax.loglog(ks[~even], np.maximum(np.abs(lam_0[~even]), floor), "x", color="C3", label=odd_label)
    ref = lam_b[sel][0] * (ks[sel] / ks[sel][0]) ** (-2.0)
    _ = ax.loglog(ks[sel], ref, "k--", lw=1, label="slope -2")
    ax.set_xlabel("frequency k")
    ax.set_ylabel("eigenvalue of K on the grid")
    ax.set_title(f"two-layer ReLU NTK on the circle: fitted slope {slope:.3g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, slope


# ---------------------------------------------------------------------- 1. spectral filtering
FILTER_N = 20
FILTER_TIMES = round_times(log_times(1e-3, 1e3, 41))


@functools.lru_cache(maxsize=None)
def filter_setup():
    """Training set of the filtering demo: 20 random circle points and a three-frequency target.

    Returns ``(angles, X, y, dense_angles, X_dense)``.
    """
    angles, X = cu.random_circle(5, FILTER_N)
    y = cu.fourier_target(angles, (1, 2, 5), (1.0, 0.6, 0.4))
    dense_angles, X_dense = cu.circle_grid(200)
    return angles, X, y, dense_angles, X_dense


@functools.lru_cache(maxsize=None)
def filter_flow(width: int, seed: int = 0):
    """``(flow, predictor)`` for the centered network of ``width``: one empirical NTK, one eigh.

    ``flow`` is the ``cu.GradientFlow`` on the training set (f0 = 0); ``predictor(t)`` gives the
    learned function on the dense grid of ``filter_setup``.
    """
    _, X, y, _, X_dense = filter_setup()
    model = model_for(width)
    params = init_params(model, seed)
    both = jnp.concatenate([X, X_dense])
    K_all = cu.empirical_ntk(model, params, both)
    n = X.shape[0]
    flow = cu.GradientFlow(K_all[:n, :n], y, jnp.zeros(n))
    predictor = flow.predictor(K_all[n:, :n], jnp.zeros(X_dense.shape[0]))
    return flow, predictor


def filter_demo(widths=WIDTHS, times=FILTER_TIMES) -> InteractiveFigure:
    """Spectral filtering on the eigenbasis of the empirical NTK, with width and time controls.

    Left: the filter ``1 - exp(-lam t)`` against eigenvalue (one marker per eigenvalue of K, gid
    "filter"). Middle: components ``u_k . y`` of the target (grey) and of the learned function
    (bars, gid "components"). Right: the learned function on the circle (gid "function").
    """
    angles, X, y, dense_angles, X_dense = filter_setup()
    for w in widths:
        filter_flow(int(w))
    lam_grid = np.geomspace(1e-4, 1e3, 200)
    y_np = cu.as_numpy(y)
    target_dense = cu.as_numpy(cu.fourier_target(dense_angles, (1, 2, 5), (1.0, 0.6, 0.4)))
    art = {}

    def full(axes, width):
        flow, predictor = filter_flow(int(width))
        lam = cu.as_numpy(flow.eigenvalues)
        comp = y_np @ cu.as_numpy(flow.eigenvectors)
        art.update(lam=lam, comp=comp, predictor=predictor)
        ax = axes[0]
        ax.clear()
        (art["curve"],) = ax.semilogx(lam_grid, np.zeros_like(lam_grid), color="0.6", lw=1)
        (art["marks"],) = ax.semilogx(np.maximum(lam, 1e-4), np.zeros_like(lam), "o", ms=4, color="C0", gid="filter")
        art["vline"] = ax.axvline(1.0, color="C3", ls=":", lw=1)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("eigenvalue lambda_k")
        ax.set_title("kept: 1 - exp(-lambda t); dotted: 1/t", fontsize=9)
        ax = axes[1]
        ax.clear()
        idx = np.arange(len(lam))
        ax.bar(idx, comp, color="0.8", label="target u_k.y")
        art["bars"] = ax.bar(idx, np.zeros_like(comp), width=0.5, color="C0", label="learned", gid="components")
        ax.set_xlabel("eigen-direction k (fast -> slow)")
        ax.set_title("components on the eigenbasis", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        ax = axes[2]
        ax.clear()
        ax.plot(dense_angles, target_dense, color="0.6", lw=1, label="target")
        (art["fn"],) = ax.plot(dense_angles, np.zeros(len(dense_angles)), color="C0", gid="function", label="learned")
        ax.plot(cu.as_numpy(angles), y_np, "k.", ms=5)
        ax.set_ylim(-2.3, 2.3)
        ax.set_xlabel("angle gamma")
        ax.legend(fontsize=7, loc="lower right")

    def update(axes, time, width):
        kept = spectral_filter(art["lam"], time)
        art["curve"].set_ydata(spectral_filter(lam_grid, time))
        art["marks"].set_ydata(kept)
        art["vline"].set_visible(time > 0)
        if time > 0:
            art["vline"].set_xdata([1.0 / time, 1.0 / time])
        for rect, height in zip(art["bars"], kept * art["comp"]):
            rect.set_height(height)
        art["fn"].set_ydata(cu.as_numpy(art["predictor"](time)))
        axes[2].set_title(f"width {width}, t = {time:.3g}", fontsize=9)

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=list(times), ncols=3,
                             figsize=(10.5, 3.1),
                             width=_pick([int(w) for w in widths], 1024), time=float(times[len(times) // 2]))


def filter_versus_training(width: int = 1024, lr: float | None = None, steps: int = 200, seed: int = 0):
    """Train the linearised centered network by gradient descent and compare with the filter.

    Returns a dict with the eigen-components of the trained outputs (``trained``), the
    discrete-step filter ``(1 - (1 - lr lam)^steps) u.y`` (``discrete``), the gradient-flow
    filter ``(1 - exp(-lam lr steps)) u.y`` (``flow``), and ``lr``, ``time``.
    """
    width = _validate.positive_int(width, "width")
    steps = _validate.positive_int(steps, "steps")
    _, X, y, _, _ = filter_setup()
    model = model_for(width)
    apply, params = centered_network(model, seed)
    flow, _ = filter_flow(width, seed)
    lam = cu.as_numpy(flow.eigenvalues)
    U = cu.as_numpy(flow.eigenvectors)
    lr = 0.1 / lam[0] if lr is None else _validate.finite_float(lr, "lr", minimum=0.0, strict=True)
    apply_lin = cu.linearize(apply, params)
    traj = cu.train(apply_lin, params, X, y, lr=lr, steps=steps, record_every=steps)
    comp_y = cu.as_numpy(y) @ U
    trained = cu.as_numpy(traj.outputs[-1]) @ U
    return {
        "trained": trained,
        "discrete": (1.0 - (1.0 - lr * lam) ** steps) * comp_y,
        "flow": spectral_filter(lam, lr * steps) * comp_y,
        "target": comp_y,
        "lr": lr,
        "time": lr * steps,
    }


def wide_network_versus_filter(width: int = 4096, steps: int = 200, seed: int = 0):
    """Train the real (nonlinear) centered network; return ``(trained, predicted)`` eigen-components.

    ``predicted`` is the gradient-descent filter of its own initial kernel, so the gap is only
    the network's departure from the kernel regime.
    """
    _, X, y, _, _ = filter_setup()
    model = model_for(width)
    apply, params = centered_network(model, seed)
    flow, _ = filter_flow(width, seed)
    lam = cu.as_numpy(flow.eigenvalues)
    U = cu.as_numpy(flow.eigenvectors)
    lr = 0.1 / lam[0]
    traj = cu.train(apply, params, X, y, lr=lr, steps=steps, record_every=steps)
    comp_y = cu.as_numpy(y) @ U
    return cu.as_numpy(traj.outputs[-1]) @ U, (1.0 - (1.0 - lr * lam) ** steps) * comp_y


# ---------------------------------------------------------------------- 2. spectrum demo
SPECTRUM_N = 64
SPECTRUM_TIMES = round_times(log_times(1e-3, 1e3, 41))


def spectrum_demo(widths=WIDTHS, times=SPECTRUM_TIMES, n: int = SPECTRUM_N) -> InteractiveFigure:
    """Eigenvalue against frequency on the circle (analytic line, empirical dots with gid "empirical"),
    and the fraction ``1 - exp(-lam_k t)`` of each frequency learned by time t (gid "learned")."""
    ks = np.arange(1, n // 2 + 1)
    lam_inf = circle_spectrum(ks, n=n)
    for w in widths:
        _empirical_circle_kernel(int(w), n)
    art = {}

    def full(axes, width):
        lam_emp = np.maximum(fourier_eigenvalues(_empirical_circle_kernel(int(width), n), ks), 0.0)
        art["lam_emp"] = lam_emp
        ax = axes[0]
        ax.clear()
        ax.loglog(ks, lam_inf, "-", color="0.3", lw=1.5, label="infinite width")
        ax.loglog(ks, np.maximum(lam_emp, 1e-8), "o", ms=3, color="C0", gid="empirical", label=f"width {width}")
        ax.set_xlabel("frequency k")
        ax.set_ylabel("eigenvalue")
        ax.legend(fontsize=7)
        ax.set_title("NTK spectrum on the circle", fontsize=9)
        ax = axes[1]
        ax.clear()
        (art["inf"],) = ax.semilogx(ks, np.zeros(len(ks)), "-", color="0.3", lw=1.5, label="infinite width")
        (art["emp"],) = ax.semilogx(ks, np.zeros(len(ks)), "o", ms=3, color="C0", gid="learned", label=f"width {width}")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("frequency k")
        ax.legend(fontsize=7)

    def update(axes, time, width):
        art["inf"].set_ydata(spectral_filter(lam_inf, time))
        art["emp"].set_ydata(spectral_filter(art["lam_emp"], time))
        axes[1].set_title(f"fraction learned by t = {time:.3g}", fontsize=9)

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=list(times), ncols=2,
                             figsize=(9.0, 3.2),
                             width=_pick([int(w) for w in widths], 1024), time=1.0)


# ---------------------------------------------------------------------- 3. spectral bias
BIAS_N = 32
BIAS_FREQS = (1, 4)
BIAS_T_END = 20.0
BIAS_LR = 0.25  # learning rate in units of 1 / lambda_max


@functools.lru_cache(maxsize=None)
def _bias_setup(n: int = BIAS_N, freqs=BIAS_FREQS):
    angles, X = cu.circle_grid(n)
    y = cu.fourier_target(angles, freqs)
    lam_max = float(np.linalg.eigvalsh(_analytic_circle_kernel(n, SB2))[-1])
    return angles, X, y, lam_max


def frequency_amplitudes(outputs, angles, freqs):
    """Amplitude ``a_k`` of ``cos(k gamma)`` in outputs on an equispaced grid: ``(2/n) sum_j f_j cos(k gamma_j)``.

    ``outputs``: (n,) or (T, n). Returns (len(freqs),) or (T, len(freqs)).
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    angles = np.asarray(angles, dtype=np.float64)
    if outputs.shape[-1] != angles.shape[0]:
        raise ValueError(f"outputs have {outputs.shape[-1]} values per row but there are {angles.shape[0]} angles")
    basis = np.stack([np.cos(int(k) * angles) for k in freqs], axis=1)  # (n, F)
    return outputs @ basis / np.sum(basis**2, axis=0)


@functools.lru_cache(maxsize=None)
def bias_run(width: int, seed: int = 0):
    """Train the centered network of ``width`` on ``cos(gamma) + cos(4 gamma)`` at 32 grid points.

    Gradient descent with lr = 0.25 / lambda_max of the infinite-width kernel up to t = 20,
    parameters kept at about 60 log-spaced steps. Returns a dict: ``times`` (T,), ``amplitudes``
    (T, 2) learned amplitude of each frequency, ``dense`` (T, 128) the learned function on a
    dense grid, ``dense_angles``, ``lr``.
    """
    angles, X, y, lam_max = _bias_setup()
    model = model_for(int(width))
    apply, params = centered_network(model, seed)
    lr = BIAS_LR / lam_max
    steps = log_steps(int(math.ceil(BIAS_T_END / lr)), 60)
    times, history = train_log_recorded(apply, params, X, y, lr=lr, record_steps=steps)
    dense_angles, X_dense = cu.circle_grid(128)
    f0 = model.forward(params, X_dense)[1]
    dense = cu.as_numpy(_outputs_along(model, history, X_dense) - f0[None, :])
    train_out = dense[:, ::4]  # the 32 training points are every 4th point of the dense grid
    return {
        "times": times,
        "amplitudes": frequency_amplitudes(train_out, cu.as_numpy(angles), BIAS_FREQS),
        "dense": dense,
        "dense_angles": cu.as_numpy(dense_angles),
        "lr": lr,
    }


def bias_kernel_amplitudes(times, lr: float | None = None):
    """Infinite-width prediction of the learned amplitude of each frequency of the bias demo.

    Gradient flow: ``1 - exp(-lam_k t)``; with ``lr`` given, gradient descent with that step:
    ``1 - (1 - lr lam_k)^(t / lr)``. Returns (T, 2).
    """
    lam = circle_spectrum(BIAS_FREQS, n=BIAS_N)
    t = np.asarray(times, dtype=np.float64)[:, None]
    if lr is None:
        return spectral_filter(lam[None, :], t)
    return 1.0 - (1.0 - lr * lam[None, :]) ** (t / lr)


def arrival_time(times, amplitude, level: float = 0.9) -> float:
    """First time ``amplitude`` reaches ``level`` (linear interpolation between records; inf if never)."""
    times = np.asarray(times, dtype=np.float64)
    amplitude = np.asarray(amplitude, dtype=np.float64)
    if times.shape != amplitude.shape or times.ndim != 1:
        raise ValueError(f"times and amplitude must be 1-D of equal length; got {times.shape} and {amplitude.shape}")
    above = np.nonzero(amplitude >= level)[0]
    if len(above) == 0:
        return float("inf")
    i = above[0]
    if i == 0:
        return float(times[0])
    t0, t1, a0, a1 = times[i - 1], times[i], amplitude[i - 1], amplitude[i]
    return float(t0 + (level - a0) * (t1 - t0) / (a1 - a0))


def spectral_bias_demo(widths=WIDTHS) -> InteractiveFigure:
    """Watch the low frequency arrive before the high one: network of each width against the kernel.

    Left: the network's function at time t (gid "network") and the kernel prediction; right: the
    learned amplitude of each frequency over time (gids "amplitude1", "amplitude4").
    """
    for w in widths:
        bias_run(int(w))
    run0 = bias_run(int(widths[0]))
    times = round_times(run0["times"])
    curve_t = run0["times"][1:]
    theory = bias_kernel_amplitudes(curve_t, run0["lr"])
    dense_angles = run0["dense_angles"]
    target = sum(np.cos(k * dense_angles) for k in BIAS_FREQS)
    art = {}

    def full(axes, width):
        run = bias_run(int(width))
        art["run"] = run
        ax = axes[0]
        ax.clear()
        ax.plot(dense_angles, target, color="0.7", lw=1, label="target")
        (art["kern"],) = ax.plot(dense_angles, np.zeros_like(target), "k--", lw=1, label="kernel (infinite width)")
        (art["net"],) = ax.plot(dense_angles, np.zeros_like(target), color="C0", gid="network",
                                label=f"network, width {width}")
        ax.set_ylim(-2.3, 2.6)
        ax.set_xlabel("angle gamma")
        ax.legend(fontsize=7, loc="lower right", ncol=3)
        ax = axes[1]
        ax.clear()
        for j, (k, colour) in enumerate(zip(BIAS_FREQS, ("C0", "C3"))):
            ax.semilogx(curve_t, run["amplitudes"][1:, j], color=colour, gid=f"amplitude{k}", label=f"k = {k} network")
            ax.semilogx(curve_t, theory[:, j], "--", color=colour, lw=1, label=f"k = {k} kernel")
        art["vline"] = ax.axvline(1.0, color="0.4", ls=":", lw=1)
        ax.set_ylim(-0.05, 1.1)
        ax.set_xlabel("time t")
        ax.set_title("learned amplitude of each frequency", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")

    def update(axes, time, width):
        run = art["run"]
        i = int(np.argmin(np.abs(run["times"] - time)))
        kept = bias_kernel_amplitudes([run["times"][i]], run["lr"])[0]
        art["kern"].set_ydata(sum(a * np.cos(k * dense_angles) for k, a in zip(BIAS_FREQS, kept)))
        art["net"].set_ydata(run["dense"][i])
        set_time_line(art["vline"], time)
        axes[0].set_title(f"t = {time:.3g}", fontsize=9)

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=times, ncols=2, figsize=(9.5, 3.2),
                             width=_pick([int(w) for w in widths], 1024), time=times[len(times) // 2])


# ---------------------------------------------------------------------- 4. convergence time vs frequency
CONV_FREQS = (2, 4, 6, 8, 12, 16)
CONV_AMPLITUDE = 0.01


@functools.lru_cache(maxsize=None)
def convergence_times(freqs=CONV_FREQS, width: int = 2048, n: int = 64, amplitude: float = CONV_AMPLITUDE,
                      seed: int = 0):
    """Measured time for each frequency's residual to fall to 1/e of its start, from one training run.

    The centered network of ``width`` is trained by gradient descent (lr = 1 / lambda_max) on
    ``amplitude * sum_k cos(k gamma)`` at the ``n`` circle grid points. The residual's component
    along each ``cos(k gamma)`` is tracked; the time it falls to 1/e is the convergence time of
    frequency k. In the kernel regime that component decays by ``(1 - lr lambda_k)`` per step, so
    the prediction is ``lr / -log(1 - lr lambda_k)`` (about ``1 / lambda_k``). A small amplitude keeps
    the network in the kernel regime (the weights need to move only a little).
    Returns ``(freqs, measured, predicted)`` as numpy arrays.
    """
    freqs = tuple(int(k) for k in freqs)
    angles, X = cu.circle_grid(n)
    lam = circle_spectrum(freqs, n=n)
    lam_max = float(np.linalg.eigvalsh(_analytic_circle_kernel(n, SB2))[-1])
    lr = 1.0 / lam_max
    predicted = lr / -np.log1p(-lr * lam)
    steps = int(math.ceil(1.5 * predicted.max() / lr))
    model = model_for(int(width))
    y = amplitude * cu.fourier_target(angles, freqs)
    apply, params = centered_network(model, seed)
    traj = cu.train(apply, params, X, y, lr=lr, steps=steps, record_every=1)
    residual = frequency_amplitudes(cu.as_numpy(traj.outputs) - cu.as_numpy(y)[None, :], cu.as_numpy(angles), freqs)
    decay = -np.log(np.maximum(np.abs(residual / residual[0]), 1e-300))
    measured = [arrival_time(np.asarray(traj.times), decay[:, j], 1.0) for j in range(len(freqs))]
    return np.asarray(freqs), np.asarray(measured), predicted


def convergence_figure(result=None, fit_from: int = 4):
    """Static log-log figure of measured and predicted convergence times against frequency.

    Returns ``(fig, measured_slope, predicted_slope)``, slopes fitted over ``k >= fit_from``.
    """
    import matplotlib.pyplot as plt

    freqs, measured, predicted = convergence_times() if result is None else result
    sel = freqs >= fit_from
    s_meas = loglog_slope(freqs[sel], measured[sel])
    s_pred = loglog_slope(freqs[sel], predicted[sel])
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    _ = ax.loglog(freqs, predicted, "k--", lw=1, label=f"kernel prediction (slope {s_pred:.3g})")
    _ = ax.loglog(freqs, measured, "o", color="C0", label=f"measured, network (slope {s_meas:.3g})")
    ref = predicted[sel][-1] * (freqs[sel] / freqs[sel][-1]) ** 2.0
    _ = ax.loglog(freqs[sel], ref, ":", color="C3", label="slope 2 (Basri et al. 2019)")
    ax.set_xticks(freqs)
    ax.set_xticklabels([str(int(k)) for k in freqs])
    ax.minorticks_off()
    ax.set_xlabel("frequency k")
    ax.set_ylabel("time for the residual to fall to 1/e")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, s_meas, s_pred


# ---------------------------------------------------------------------- 5. generalization
GEN_N = 16
GEN_NOISE = 0.3
GEN_TIMES = round_times(log_times(1e-3, 1e4, 41))


def gen_target(angles):
    """The clean target of the generalization demo: ``cos(gamma) + 0.5 cos(2 gamma)``."""
    return cu.fourier_target(angles, (1, 2), (1.0, 0.5))


@functools.lru_cache(maxsize=None)
def gen_setup():
    """16 random circle points with noisy targets (noise 0.3) and a 128-point clean test grid.

    Returns ``(angles, X, y, test_angles, X_test, y_test)``.
    """
    angles, X = cu.random_circle(2, GEN_N)
    y = gen_target(angles) + GEN_NOISE * jax.random.normal(cu.key(12), (GEN_N,), dtype=jnp.float64)
    test_angles, X_test = cu.circle_grid(128)
    return angles, X, y, test_angles, X_test, gen_target(test_angles)


@functools.lru_cache(maxsize=None)
def gen_flow(width: int | None, seed: int = 0):
    """Kernel gradient flow for the centered network of ``width`` (None: the infinite-width kernel).

    Returns a dict with ``flow``, ``predictor`` (t -> test outputs), ``limit`` (the t -> infinity
    kernel interpolant on the test grid), and error curves ``train_err``/``test_err`` (mean squared
    error) on ``curve_times``.
    """
    _, X, y, _, X_test, y_test = gen_setup()
    both = jnp.concatenate([X, X_test])
    if width is None:
        K_all = cu.analytic_ntk(model_for(1), both)
    else:
        model = model_for(int(width))
        K_all = cu.empirical_ntk(model, init_params(model, seed), both)
    n = X.shape[0]
    flow = cu.GradientFlow(K_all[:n, :n], y, jnp.zeros(n))
    zeros_test = jnp.zeros(X_test.shape[0])
    predictor = flow.predictor(K_all[n:, :n], zeros_test)
    curve_times = np.geomspace(1e-3, 1e4, 200)
    train_out = cu.as_numpy(flow.outputs(curve_times))
    test_out = cu.as_numpy(predictor(curve_times))
    limit = cu.as_numpy(flow.predict_limit(K_all[n:, :n], zeros_test))
    y_np, yt = cu.as_numpy(y), cu.as_numpy(y_test)
    return {
        "flow": flow,
        "predictor": predictor,
        "K_train": K_all[:n, :n],
        "K_test": K_all[n:, :n],
        "limit": limit,
        "curve_times": curve_times,
        "train_err": np.mean((train_out - y_np) ** 2, axis=1),
        "test_err": np.mean((test_out - yt) ** 2, axis=1),
        "limit_err": float(np.mean((limit - yt) ** 2)),
    }


def early_stopping(width: int | None = None):
    """``(best_time, best_test_error, interpolant_test_error)`` of the kernel flow of ``width``."""
    g = gen_flow(width)
    i = int(np.argmin(g["test_err"]))
    return float(g["curve_times"][i]), float(g["test_err"][i]), g["limit_err"]


def generalization_demo(widths=WIDTHS, times=GEN_TIMES) -> InteractiveFigure:
    """Train and test error over time (gids "train", "test"), early stopping, the learned function at
    time t (gid "function") and the t -> infinity kernel interpolant."""
    angles, X, y, test_angles, X_test, y_test = gen_setup()
    for w in widths:
        gen_flow(int(w))
    inf = gen_flow(None)
    ta, yt, a_np, y_np = cu.as_numpy(test_angles), cu.as_numpy(y_test), cu.as_numpy(angles), cu.as_numpy(y)
    art = {}

    def full(axes, width):
        g = gen_flow(int(width))
        art["g"] = g
        ax = axes[0]
        ax.clear()
        ax.plot(ta, yt, color="0.6", lw=1, label="clean target")
        ax.plot(ta, g["limit"], "--", color="C1", lw=1, label="t -> infinity (interpolant)")
        (art["fn"],) = ax.plot(ta, np.zeros_like(ta), color="C0", gid="function", label="learned at time t")
        ax.plot(a_np, y_np, "k.", ms=6, label="noisy training data")
        ax.set_ylim(-2.5, 2.5)
        ax.set_xlabel("angle gamma")
        ax.legend(fontsize=7, loc="lower left")
        ax = axes[1]
        ax.clear()
        ct = g["curve_times"]
        ax.loglog(ct, g["train_err"], color="C0", gid="train", label="train error")
        ax.loglog(ct, g["test_err"], color="C3", gid="test", label="test error")
        ax.loglog(ct, inf["test_err"], ":", color="0.5", lw=1, label="test, infinite width")
        ax.axhline(g["limit_err"], color="C1", ls="--", lw=1, label="interpolant test error")
        i = int(np.argmin(g["test_err"]))
        ax.plot(ct[i], g["test_err"][i], "v", color="k", ms=6, label="early stopping")
        art["vline"] = ax.axvline(1.0, color="0.4", ls=":", lw=1)
        ax.set_xlabel("time t")
        ax.set_ylim(1e-4, 5)
        ax.legend(fontsize=7, loc="lower left")
        ax.set_title("mean squared error", fontsize=9)

    def update(axes, time, width):
        art["fn"].set_ydata(cu.as_numpy(art["g"]["predictor"](time)))
        set_time_line(art["vline"], time)
        axes[0].set_title(f"width {width}, t = {time:.3g}", fontsize=9)

    return InteractiveFigure(staged_draw(full, update), widths=list(widths), times=list(times), ncols=2,
                             figsize=(9.5, 3.3),
                             width=_pick([int(w) for w in widths], 1024), time=1.0)


# ---------------------------------------------------------------------- 6. muP learning-rate transfer
MUP_WIDTHS = (64, 256, 1024, 2048)
MUP_LRS = {  # power-of-two learning-rate grids, each covering its parameterization's stable range
    "standard": tuple(float(v) for v in 2.0 ** np.arange(-20, -3)),
    "mup": tuple(float(v) for v in 2.0 ** np.arange(-12, 1)),
}
MUP_STEPS = 128
MUP_N = 32
MUP_TIMES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
MUP_PARAMETERIZATIONS = ("standard", "mup")
_DIVERGED = 1e3  # losses above this (or non-finite) count as diverged


@functools.lru_cache(maxsize=None)
def mup_data():
    """The learning-rate-transfer task: 32 random circle points, target ``cos(gamma) + 0.5 cos(2 gamma)``."""
    angles, X = cu.random_circle(4, MUP_N)
    return X, cu.fourier_target(angles, (1, 2), (1.0, 0.5))


def two_layer_forward(params, multipliers, x):
    """A two-layer network with its layer multipliers passed as data (not baked into the model).

    ``multipliers = [w_mult_0, b_mult_0, w_mult_1, b_mult_1]`` as in ``MLP.layer_scales()``; with
    them this equals ``MLP.forward`` for any parameterization, so the standard and muP networks
    of one width share one compiled training loop.
    """
    h = multipliers[0] * (x @ params[0]["W"]) + multipliers[1] * params[0]["b"]
    out = multipliers[2] * (jax.nn.relu(h) @ params[1]["W"]) + multipliers[3] * params[1]["b"]
    return out[:, 0]


def layer_multipliers(model: cu.MLP) -> np.ndarray:
    """``[w_mult_0, b_mult_0, w_mult_1, b_mult_1]`` of a two-layer ``MLP``."""
    if model.depth != 1:
        raise ValueError(f"layer_multipliers expects a two-layer network (depth=1); got depth={model.depth}")
    (s0, s1) = model.layer_scales()
    return np.array([s0.w_mult, s0.b_mult, s1.w_mult, s1.b_mult])


@functools.lru_cache(maxsize=None)
def _sweep_fn(steps: int):
    X, y = mup_data()

    def loss(p, mult):
        r = two_layer_forward(p, mult, X) - y
        return 0.5 * jnp.dot(r, r)

    def run(p, mult, lr):
        def step(p, _):
            value, g = jax.value_and_grad(loss)(p, mult)
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g), value

        p, values = jax.lax.scan(step, p, None, length=steps)
        return jnp.concatenate([values, loss(p, mult)[None]])

    return jax.jit(jax.vmap(run))


@functools.lru_cache(maxsize=None)
def lr_sweeps(width: int, steps: int = MUP_STEPS, seed: int = 0) -> dict:
    """Training-loss curves of the two-layer ReLU net of ``width`` for every learning rate in ``MUP_LRS``.

    Returns ``{"standard": (L_sp, steps + 1), "mup": (L_mup, steps + 1)}``: full-batch gradient
    descent on ``mup_data()`` (sb2 = 0). Both parameterizations and all learning rates run in one
    vmapped, compiled scan. Diverged runs are ``inf`` from the step they blow up on.
    """
    width = _validate.positive_int(width, "width")
    batch_p, batch_m, batch_lr, sizes = [], [], [], []
    for par in MUP_PARAMETERIZATIONS:
        model = cu.MLP(in_dim=2, width=width, parameterization=par, sb2=0.0)
        params = init_params(model, seed)
        lrs = MUP_LRS[par]
        batch_p += [params] * len(lrs)
        batch_m += [layer_multipliers(model)] * len(lrs)
        batch_lr += list(lrs)
        sizes.append(len(lrs))
    stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *batch_p)
    losses = np.asarray(_sweep_fn(int(steps))(stacked, jnp.asarray(np.stack(batch_m)), jnp.asarray(batch_lr)))
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(losses) | (losses > _DIVERGED)
    bad = np.maximum.accumulate(bad, axis=1)  # once diverged, stay diverged
    losses = np.where(bad, np.inf, losses)
    return dict(zip(MUP_PARAMETERIZATIONS, np.split(losses, np.cumsum(sizes)[:-1])))


def best_lrs(parameterization: str, widths=MUP_WIDTHS, step: int = MUP_STEPS) -> np.ndarray:
    """The learning rate (from the power-of-two grid) with the lowest loss after ``step`` steps, per width."""
    _validate.choice(parameterization, MUP_PARAMETERIZATIONS, "parameterization")
    lrs = np.asarray(MUP_LRS[parameterization])
    return np.asarray([lrs[int(np.argmin(lr_sweeps(int(w))[parameterization][:, int(step)]))] for w in widths])


def ntk_scale(parameterization: str, widths=(64, 256, 1024), seed: int = 0) -> np.ndarray:
    """Largest eigenvalue of the empirical NTK at initialisation on the muP task, per width.

    Standard parameterization: grows like the width (so the largest stable learning rate
    ``2 / lambda_max`` shrinks like 1 / width). NTK parameterization and muP: about constant.
    """
    _validate.choice(parameterization, ("standard", "ntk", "mup"), "parameterization")
    X, _ = mup_data()
    out = []
    for w in widths:
        model = cu.MLP(in_dim=2, width=int(w), parameterization=parameterization, sb2=0.0)
        K = cu.empirical_ntk(model, init_params(model, seed), X)
        out.append(float(np.linalg.eigvalsh(cu.as_numpy(K))[-1]))
    return np.asarray(out)


def mup_transfer_demo(widths=MUP_WIDTHS, times=MUP_TIMES) -> InteractiveFigure:
    """Loss after ``time`` steps against learning rate, for every width: standard parameterization vs muP.

    Here the time control counts gradient-descent *steps* (the learning rate varies along the x
    axis, so ``lr * steps`` would differ from curve to curve). Lines have gids "standard-<width>"
    and "mup-<width>" (diverged learning rates are left out).
    """
    for w in widths:
        lr_sweeps(int(w))
    colours = {int(w): f"C{i}" for i, w in enumerate(widths)}
    names = {"standard": "standard parameterization", "mup": "muP"}

    def draw(axes, width, time):
        step = int(time)
        for ax, par in zip(axes, MUP_PARAMETERIZATIONS):
            lrs = np.asarray(MUP_LRS[par])
            ax.clear()
            for w in widths:
                losses = lr_sweeps(int(w))[par][:, step]
                finite = np.isfinite(losses)
                bold = int(w) == int(width)
                ax.loglog(lrs[finite], losses[finite], "o-" if bold else "-", ms=3, lw=2.2 if bold else 1,
                          color=colours[int(w)], alpha=1.0 if bold else 0.6, gid=f"{par}-{w}", label=f"width {w}")
                if finite.any():
                    j = int(np.argmin(losses))
                    ax.plot(lrs[j], losses[j], "*", ms=10 if bold else 6, color=colours[int(w)])
            ax.set_xlabel("learning rate")
            ax.set_xlim(lrs[0] / 1.5, lrs[-1] * 1.5)
            ax.set_ylim(1e-4, 30)
            ax.set_title(f"{names[par]}: loss after {step} steps", fontsize=9)
        axes[0].set_ylabel("training loss")
        axes[1].legend(fontsize=7, loc="lower left")
        plain_log_ticks(axes)
        layout_once(axes[0].figure)

    return InteractiveFigure(draw, widths=list(widths), times=list(times), ncols=2, figsize=(9.5, 3.3),
                             width=_pick([int(w) for w in widths], 1024), time=float(times[-1]))


# ---------------------------------------------------------------------- exercises
@solution("05.filtered_prediction")
def filtered_prediction(K, y, t):
    # Gradient flow from f(0) = 0 on a fixed kernel: f(t) = (I - exp(-K t)) y.
    # In the eigenbasis K = U diag(lam) U^T each component of y is multiplied by 1 - exp(-lam t).
    lam, U = np.linalg.eigh(np.asarray(K, dtype=np.float64))
    lam = np.maximum(lam, 0.0)          # clip round-off below zero
    coeffs = U.T @ np.asarray(y, dtype=np.float64)  # components of the target
    return U @ ((1.0 - np.exp(-lam * t)) * coeffs)


def _exercise_kernels():
    rng = np.random.default_rng(5)
    cases = []
    for n, t in [(4, 0.0), (5, 0.3), (6, 2.0), (8, 50.0)]:
        A = rng.normal(size=(n, n))
        cases.append((A @ A.T, rng.normal(size=n), t))
    _, X = cu.circle_grid(12)
    K = cu.as_numpy(cu.analytic_ntk(model_for(1), X))
    cases.append((K, np.cos(2 * np.pi * np.arange(12) / 12), 0.5))
    return cases


def check_filtered_prediction(student_fn) -> bool:
    """05 exercise: ``student_fn(K, y, t)`` should return ``(I - exp(-K t)) y`` (gradient flow from zero)."""

    def reference(K, y, t):
        flow = cu.GradientFlow(K, y, np.zeros(len(y)))
        return cu.as_numpy(flow.outputs(t))

    return check_function(
        student_fn,
        reference,
        _exercise_kernels(),
        rtol=1e-6,
        atol=1e-8,
        what="filtered_prediction(K, y, t)",
        hint="Diagonalise K with np.linalg.eigh, multiply each component U^T y by 1 - exp(-lambda t), map back with U.",
    )


@solution("05.circle_eigenvalue")
def circle_eigenvalue(first_row, k):
    # A rotation-invariant kernel on n equally spaced points is a circulant matrix: row i is
    # row 0 shifted by i. Its eigenvectors are the Fourier modes, and the eigenvalue of
    # cos(k gamma) is the cosine transform of the first row: sum_j K[0, j] cos(2 pi j k / n).
    first_row = np.asarray(first_row, dtype=np.float64)
    n = len(first_row)
    return float(np.sum(first_row * np.cos(2 * np.pi * np.arange(n) * k / n)))


def check_circle_eigenvalue(student_fn) -> bool:
    """05 exercise: ``student_fn(first_row, k)`` should return the circulant eigenvalue at frequency k."""
    K = _analytic_circle_kernel(32, SB2)
    cases = [(K[0], k) for k in (0, 1, 2, 3, 7, 16)]

    def reference(first_row, k):
        return float(np.real(np.fft.fft(first_row))[k])

    return check_function(
        student_fn,
        reference,
        cases,
        rtol=1e-8,
        atol=1e-10,
        what="circle_eigenvalue(first_row, k)",
        hint="Multiply the first row by cos(2 pi j k / n) and sum over j (a discrete cosine transform).",
    )
