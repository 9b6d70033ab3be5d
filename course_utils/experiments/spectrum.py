"""The NTK spectrum on the circle, spectral filtering, spectral bias and early stopping (notebook 05).

Conventions of the course: squared loss ``L = 1/2 ||f - y||^2``, gradient-flow time
``t = lr * steps``, float64, fixed seeds. Every run is built from the core (``MLP``,
``empirical_ntk``, ``analytic_ntk``, ``GradientFlow``, ``train``) and cached per argument.

Most runs train a *centered* network ``f(x; theta) - f(x; theta_0)`` (Chizat, Oyallon & Bach
2019, ``centered_network``): it has the same neural tangent kernel as the plain network but
starts from the zero function, so the learned function is exactly the spectrally filtered
target.

The circle experiments use a two-layer ReLU network in NTK parameterization with a small
bias (``sb2 = 0.1``): without a bias the kernel of a two-layer ReLU network is exactly zero
on every odd frequency >= 3 (``odd_frequency_ratio``), so such frequencies can never be
learned.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..data import circle_grid, circle_problem, fourier_target, key, random_circle, two_harmonic_target
from ..flow import GradientFlow
from ..kernels import analytic_ntk, as_numpy, empirical_ntk
from ..measure import PowerLawFit, fit_power_law, top_eigenvalue
from ..models import MLP
from ..training import linearize, log_record_steps, train

SB2 = 0.1  # bias variance of the circle experiments (see the module docstring)
WIDTHS = (64, 256, 1024, 4096)  # the widths the notebook sweeps and its demos offer


# ---------------------------------------------------------------------- the network and its centered version
def circle_model(width: int, sb2: float = SB2, depth: int = 1) -> MLP:
    """The network of notebook 05: ReLU, NTK parameterization, inputs on the circle (in_dim = 2)."""
    return MLP(in_dim=2, width=int(width), depth=int(depth), parameterization="ntk", sb2=sb2)


@functools.lru_cache(maxsize=None)
def centered_network(model: MLP, seed: int = 0):
    """``(apply, theta0)``: the centered network ``apply(theta, x) = f(x; theta) - f(x; theta0)``.

    ``theta0 = model.init(seed)`` is baked into ``apply`` as a constant, so training ``apply``
    from ``theta0`` moves only ``theta``; its neural tangent kernel is exactly the one of
    ``model`` at ``theta0`` and its output at initialisation is exactly zero. Cached per
    (model, seed), so ``train`` compiles once per width.
    """
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")
    seed = _validate.positive_int(seed, "seed", minimum=0)
    theta0 = model.init(seed)

    def apply(theta, x):
        return model.forward(theta, x)[1] - model.forward(theta0, x)[1]

    return apply, theta0


# ---------------------------------------------------------------------- the filter
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


def discrete_filter(lam, lr: float, steps: int):
    """The fraction ``1 - (1 - lr lam)^steps`` of an eigen-component learned by ``steps`` steps of gradient descent."""
    lam = np.asarray(lam, dtype=np.float64)
    return 1.0 - (1.0 - float(lr) * lam) ** int(steps)


# ---------------------------------------------------------------------- circle spectrum
def fourier_modes(n: int, k: int):
    """The two Fourier vectors ``cos(k gamma_j)`` and ``sin(k gamma_j)`` on the ``n``-point circle grid."""
    n = _validate.positive_int(n, "n")
    k = _validate.positive_int(k, "k", minimum=0)
    angles = 2 * np.pi * np.arange(n) / n
    return np.cos(k * angles), np.sin(k * angles)


def fourier_eigenvalues(K, ks):
    """Rayleigh quotients ``c_k^T K c_k / c_k^T c_k`` of the Fourier modes of each frequency in ``ks``.

    ``K`` is an (n, n) kernel matrix on the ``n``-point grid ``circle_grid(n)``. For a
    rotation-invariant kernel the Fourier modes are exact eigenvectors and these are the
    eigenvalues; for an empirical (finite-width) kernel they are its best estimate per frequency
    (the cosine and sine quotients are averaged).
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
    lam_max = top_eigenvalue(K)
    worst = 0.0
    for k in np.atleast_1d(ks):
        for v in fourier_modes(n, int(k)):
            if v @ v < 1e-9 * n:
                continue
            lam = v @ K @ v / (v @ v)
            worst = max(worst, float(np.linalg.norm(K @ v - lam * v) / (lam_max * np.linalg.norm(v))))
    return worst


@functools.lru_cache(maxsize=None)
def analytic_circle_kernel(n: int, sb2: float = SB2, depth: int = 1) -> np.ndarray:
    """The infinite-width NTK matrix of ``circle_model`` on the ``n``-point circle grid (numpy, cached)."""
    _, X = circle_grid(n)
    return as_numpy(analytic_ntk(circle_model(1, sb2=sb2, depth=depth), X))


@functools.lru_cache(maxsize=None)
def empirical_circle_kernel(width: int, n: int, seed: int = 0) -> np.ndarray:
    """The empirical NTK at initialisation (``model.init(seed)``) of ``circle_model(width)`` on the circle grid."""
    model = circle_model(width)
    _, X = circle_grid(n)
    return as_numpy(empirical_ntk(model, model.init(seed), X))


def circle_spectrum(ks, n: int = 128, sb2: float = SB2, depth: int = 1) -> np.ndarray:
    """Eigenvalues of the infinite-width NTK matrix on the ``n``-point circle grid, per frequency ``ks``."""
    n = _validate.positive_int(n, "n", minimum=4)
    sb2 = _validate.finite_float(sb2, "sb2", minimum=0.0)
    return fourier_eigenvalues(analytic_circle_kernel(n, float(sb2), int(depth)), ks)


def odd_frequency_ratio(n: int = 128, sb2: float = 0.0, kmax: int = 31) -> float:
    """``max over odd k in [3, kmax] of |lam_k| / lam_1`` for the analytic two-layer ReLU NTK on the circle.

    Zero (to round-off) without bias: ``relu(cos u) = (cos u + |cos u|) / 2`` and ``|cos u|`` has
    only even harmonics, so a bias-free two-layer ReLU network cannot represent ``cos(3 gamma)``.
    """
    lam = circle_spectrum(np.arange(1, kmax + 1, 2), n=n, sb2=sb2)
    return float(np.max(np.abs(lam[1:])) / lam[0])


class SpectrumDecay(NamedTuple):
    """The analytic circle spectrum with and without bias, and the power law fitted to the biased one."""

    ks: np.ndarray  # frequencies 1..kmax
    with_bias: np.ndarray  # eigenvalue per frequency, sb2 = SB2
    without_bias: np.ndarray  # eigenvalue per frequency, sb2 = 0 (zero at odd k >= 3)
    fit_range: tuple  # (k_low, k_high) of the fit
    fit: PowerLawFit  # lambda_k ~ k^exponent over fit_range (theory: -2)


@functools.lru_cache(maxsize=None)
def spectrum_decay(n: int = 256, kmax: int = 64, fit_range=(8, 32)) -> SpectrumDecay:
    """Eigenvalue against frequency of the analytic NTK on the ``n``-point grid, and its fitted decay exponent."""
    ks = np.arange(1, int(kmax) + 1)
    with_bias = circle_spectrum(ks, n=n, sb2=SB2)
    without_bias = circle_spectrum(ks, n=n, sb2=0.0)
    sel = (ks >= fit_range[0]) & (ks <= fit_range[1])
    return SpectrumDecay(ks, with_bias, without_bias, tuple(fit_range), fit_power_law(ks[sel], with_bias[sel]))


# ---------------------------------------------------------------------- 1. spectral filtering
FILTER_N = 20
FILTER_FREQS = (1, 2, 5)
FILTER_AMPLITUDES = (1.0, 0.6, 0.4)


class CircleData(NamedTuple):
    """A training set on the circle and a dense grid to draw the learned function on."""

    angles: Any  # (n,) training angles
    x: Any  # (n, 2) training inputs
    y: Any  # (n,) training targets
    dense_angles: Any  # (m,) grid angles
    x_dense: Any  # (m, 2) grid inputs
    y_dense: Any  # (m,) the clean target on the grid


@functools.lru_cache(maxsize=None)
def filter_problem() -> CircleData:
    """20 random circle points (seed 5) with the target ``cos g + 0.6 cos 2g + 0.4 cos 5g``, and a 200-point grid."""
    angles, X = random_circle(5, FILTER_N)
    dense_angles, X_dense = circle_grid(200)
    return CircleData(angles, X, fourier_target(angles, FILTER_FREQS, FILTER_AMPLITUDES), dense_angles, X_dense,
                      fourier_target(dense_angles, FILTER_FREQS, FILTER_AMPLITUDES))


class KernelFlow(NamedTuple):
    """Gradient flow of a centered network on its kernel, from ``f(0) = 0``."""

    flow: GradientFlow  # on the training set
    predictor: Any  # t -> outputs on the evaluation inputs
    K_train: Any  # (n, n)
    K_test: Any  # (m, n)


def _kernel_flow(width, x, y, x_test, seed: int) -> KernelFlow:
    both = jnp.concatenate([x, x_test])
    if width == math.inf:
        K_all = analytic_ntk(circle_model(1), both)
    else:
        model = circle_model(_validate.positive_int(width, "width"))
        K_all = empirical_ntk(model, model.init(seed), both)
    n = x.shape[0]
    flow = GradientFlow(K_all[:n, :n], y, jnp.zeros(n))
    return KernelFlow(flow, flow.predictor(K_all[n:, :n], jnp.zeros(x_test.shape[0])), K_all[:n, :n], K_all[n:, :n])


@functools.lru_cache(maxsize=None)
def filter_flow(width: int, seed: int = 0) -> KernelFlow:
    """The kernel flow of the filtering demo: one empirical NTK of ``circle_model(width)`` on [train; grid], one eigh."""
    data = filter_problem()
    return _kernel_flow(int(width), data.x, data.y, data.x_dense, seed)


class FilterCheck(NamedTuple):
    """Eigen-components (on the kernel's eigenbasis) of a trained network against the filter formulas."""

    trained: np.ndarray  # u_k . f(X) after training
    discrete: np.ndarray  # (1 - (1 - lr lam_k)^steps) u_k . y
    flow: np.ndarray  # (1 - exp(-lam_k lr steps)) u_k . y
    target: np.ndarray  # u_k . y
    lr: float
    time: float
    lam_max: float


@functools.lru_cache(maxsize=None)
def filter_versus_training(width: int = 1024, steps: int = 200, linearized: bool = True, seed: int = 0) -> FilterCheck:
    """Train the (linearised, or with ``linearized=False`` the real) centered network and compare with the filter.

    Gradient descent with ``lr = 0.1 / lambda_max`` of the network's own initial kernel, ``steps``
    steps, on ``filter_problem()``. For the linearised network the discrete filter is exact.
    """
    width = _validate.positive_int(width, "width")
    steps = _validate.positive_int(steps, "steps")
    data = filter_problem()
    model = circle_model(width)
    apply, params = centered_network(model, seed)
    K = empirical_ntk(model, params, data.x)
    flow = GradientFlow(K, data.y, jnp.zeros(len(data.y)))
    lam, U = as_numpy(flow.eigenvalues), as_numpy(flow.eigenvectors)
    lr = 0.1 / lam[0]
    fn = linearized_centered_network(model, seed) if linearized else apply
    traj = train(fn, params, data.x, data.y, lr=lr, steps=steps, record_every=steps)
    target = as_numpy(data.y) @ U
    return FilterCheck(
        trained=as_numpy(traj.outputs[-1]) @ U,
        discrete=discrete_filter(lam, lr, steps) * target,
        flow=spectral_filter(lam, lr * steps) * target,
        target=target,
        lr=float(lr),
        time=float(lr * steps),
        lam_max=float(lam[0]),
    )


@functools.lru_cache(maxsize=None)
def linearized_centered_network(model: MLP, seed: int = 0):
    """``linearize`` of ``centered_network(model, seed)`` around ``theta0``, cached so ``train`` compiles once per width."""
    apply, theta0 = centered_network(model, seed)
    return linearize(apply, theta0)


# ---------------------------------------------------------------------- 3. spectral bias
BIAS_N = 32
BIAS_FREQS = (1, 4)
BIAS_T_END = 20.0
BIAS_LR = 0.25  # learning rate in units of 1 / lambda_max of the infinite-width kernel
BIAS_RECORDS = 60
BIAS_DENSE_N = 128  # the 32 training points are every 4th point of this grid


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


def arrival_time(times, amplitude, level: float = 0.9) -> float:
    """First time ``amplitude`` reaches ``level`` (linear interpolation between records; inf if never)."""
    times = np.asarray(times, dtype=np.float64)
    amplitude = np.asarray(amplitude, dtype=np.float64)
    if times.shape != amplitude.shape or times.ndim != 1:
        raise ValueError(f"times and amplitude must be 1-D of equal length; got {times.shape} and {amplitude.shape}")
    above = np.nonzero(amplitude >= level)[0]
    if len(above) == 0:
        return math.inf
    i = above[0]
    if i == 0:
        return float(times[0])
    t0, t1, a0, a1 = times[i - 1], times[i], amplitude[i - 1], amplitude[i]
    return float(t0 + (level - a0) * (t1 - t0) / (a1 - a0))


def bias_learning_rate() -> float:
    """The spectral-bias run's learning rate: ``BIAS_LR / lambda_max`` of the infinite-width kernel on the grid."""
    return BIAS_LR / top_eigenvalue(analytic_circle_kernel(BIAS_N, SB2))


@functools.lru_cache(maxsize=None)
def dense_outputs_measure(width: int, seed: int = 0):
    """``measure(params)``: the centered network's outputs on the 128-point grid (for ``train(measure=...)``).

    Cached per (width, seed), so every call hands ``train`` the same function object and the
    compiled run is reused.
    """
    apply, _ = centered_network(circle_model(width), seed)
    _, X_dense = circle_grid(BIAS_DENSE_N)

    def measure(params):
        return apply(params, X_dense)

    return measure


class BiasRun(NamedTuple):
    """A centered network trained on ``cos g + cos 4g``, recorded at log-spaced steps."""

    times: np.ndarray  # (T,) t = lr * step
    steps: np.ndarray  # (T,)
    amplitudes: np.ndarray  # (T, 2) learned amplitude of each of BIAS_FREQS on the training grid
    dense: np.ndarray  # (T, 128) the learned function on the dense grid
    dense_angles: np.ndarray  # (128,)
    lr: float
    t_low: float  # time the k = 1 amplitude reaches 0.9
    t_high: float  # time the k = 4 amplitude reaches 0.9


@functools.lru_cache(maxsize=None)
def bias_run(width: int, seed: int = 0) -> BiasRun:
    """Train the centered network of ``width`` on ``cos(gamma) + cos(4 gamma)`` at 32 grid points.

    Gradient descent with ``lr = bias_learning_rate()`` up to t = 20, recorded at about 60
    log-spaced steps; the function on the dense grid is measured inside the run.
    """
    width = _validate.positive_int(width, "width")
    angles, X = circle_grid(BIAS_N)
    y = fourier_target(angles, BIAS_FREQS)
    apply, params = centered_network(circle_model(width), seed)
    lr = bias_learning_rate()
    total = int(math.ceil(BIAS_T_END / lr))
    traj = train(apply, params, X, y, lr=lr, steps=total, record_steps=log_record_steps(total, BIAS_RECORDS),
                 measure=dense_outputs_measure(width, seed))
    amplitudes = frequency_amplitudes(as_numpy(traj.outputs), as_numpy(angles), BIAS_FREQS)
    times = np.asarray(traj.times)
    dense_angles, _ = circle_grid(BIAS_DENSE_N)
    return BiasRun(times, np.asarray(traj.steps), amplitudes, as_numpy(traj.measurements), as_numpy(dense_angles), lr,
                   arrival_time(times, amplitudes[:, 0]), arrival_time(times, amplitudes[:, 1]))


def bias_kernel_amplitudes(times, lr: float | None = None):
    """Infinite-width prediction of the learned amplitude of each frequency of the bias run, shape (T, 2).

    Gradient flow: ``1 - exp(-lam_k t)``; with ``lr`` given, gradient descent with that step:
    ``1 - (1 - lr lam_k)^(t / lr)``.
    """
    lam = circle_spectrum(BIAS_FREQS, n=BIAS_N)
    t = np.asarray(times, dtype=np.float64)[:, None]
    if lr is None:
        return spectral_filter(lam[None, :], t)
    return 1.0 - (1.0 - lr * lam[None, :]) ** (t / lr)


# ---------------------------------------------------------------------- 4. convergence time against frequency
CONVERGENCE_FREQS = (2, 4, 6, 8, 12, 16)
CONVERGENCE_AMPLITUDE = 0.01


class ConvergenceTimes(NamedTuple):
    """Time for each frequency's residual to fall to 1/e, measured on a network and predicted by the kernel."""

    freqs: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray  # lr / -log(1 - lr lambda_k), about 1 / lambda_k
    measured_fit: PowerLawFit  # over k >= fit_from
    predicted_fit: PowerLawFit
    fit_from: int


@functools.lru_cache(maxsize=None)
def convergence_times(freqs=CONVERGENCE_FREQS, width: int = 2048, n: int = 64, amplitude: float = CONVERGENCE_AMPLITUDE,
                      seed: int = 0, fit_from: int = 4) -> ConvergenceTimes:
    """Measured time for each frequency's residual to fall to 1/e of its start, from one training run.

    The centered network of ``width`` is trained by gradient descent (lr = 1 / lambda_max of the
    infinite-width kernel) on ``amplitude * sum_k cos(k gamma)`` at the ``n`` circle grid points,
    recorded at every step. In the kernel regime the residual along ``cos(k gamma)`` decays by
    ``(1 - lr lambda_k)`` per step, hence the prediction. A small amplitude keeps the network lazy.
    """
    freqs = tuple(int(k) for k in freqs)
    angles, X = circle_grid(n)
    lam = circle_spectrum(freqs, n=n)
    lr = 1.0 / top_eigenvalue(analytic_circle_kernel(n, SB2))
    predicted = lr / -np.log1p(-lr * lam)
    steps = int(math.ceil(1.5 * predicted.max() / lr))
    y = amplitude * fourier_target(angles, freqs)
    apply, params = centered_network(circle_model(int(width)), seed)
    traj = train(apply, params, X, y, lr=lr, steps=steps, record_every=1)
    residual = frequency_amplitudes(as_numpy(traj.outputs) - as_numpy(y)[None, :], as_numpy(angles), freqs)
    decay = -np.log(np.maximum(np.abs(residual / residual[0]), 1e-300))
    measured = np.asarray([arrival_time(np.asarray(traj.times), decay[:, j], 1.0) for j in range(len(freqs))])
    freqs = np.asarray(freqs)
    sel = freqs >= fit_from
    return ConvergenceTimes(freqs, measured, predicted, fit_power_law(freqs[sel], measured[sel]),
                            fit_power_law(freqs[sel], predicted[sel]), int(fit_from))


# ---------------------------------------------------------------------- 5. generalization and early stopping
GENERALIZATION_N = 16
GENERALIZATION_NOISE = 0.3
GENERALIZATION_CURVE_TIMES = np.geomspace(1e-3, 1e4, 200)


@functools.lru_cache(maxsize=None)
def generalization_problem() -> CircleData:
    """16 random circle points (seed 2) with ``two_harmonic_target`` plus noise 0.3 (key 12); clean 128-point test grid."""
    angles, X, y_clean = circle_problem(2, GENERALIZATION_N)
    y = y_clean + GENERALIZATION_NOISE * jax.random.normal(key(12), (GENERALIZATION_N,), dtype=jnp.float64)
    test_angles, X_test = circle_grid(128)
    return CircleData(angles, X, y, test_angles, X_test, two_harmonic_target(test_angles))


class GeneralizationRun(NamedTuple):
    """Kernel gradient flow of a centered network on the noisy set: errors over time, and the interpolant."""

    kernel: KernelFlow  # flow on the training set, predictor on the test grid
    limit: np.ndarray  # t -> infinity prediction on the test grid (kernel interpolant)
    curve_times: np.ndarray  # (200,) log-spaced times
    train_err: np.ndarray  # mean squared training error at curve_times
    test_err: np.ndarray  # mean squared error against the clean target at curve_times
    limit_err: float  # test error of the interpolant
    best_time: float  # early stopping: time of the smallest test error
    best_test_err: float


@functools.lru_cache(maxsize=None)
def generalization_run(width, seed: int = 0) -> GeneralizationRun:
    """Kernel gradient flow for the centered network of ``width`` (``math.inf``: the infinite-width kernel)."""
    if width != math.inf:
        width = _validate.positive_int(width, "width")
    data = generalization_problem()
    kf = _kernel_flow(width, data.x, data.y, data.x_dense, seed)
    train_out = as_numpy(kf.flow.outputs(GENERALIZATION_CURVE_TIMES))
    test_out = as_numpy(kf.predictor(GENERALIZATION_CURVE_TIMES))
    limit = as_numpy(kf.flow.predict_limit(kf.K_test, jnp.zeros(data.x_dense.shape[0])))
    y, yt = as_numpy(data.y), as_numpy(data.y_dense)
    test_err = np.mean((test_out - yt) ** 2, axis=1)
    i = int(np.argmin(test_err))
    return GeneralizationRun(kf, limit, GENERALIZATION_CURVE_TIMES, np.mean((train_out - y) ** 2, axis=1), test_err,
                             float(np.mean((limit - yt) ** 2)), float(GENERALIZATION_CURVE_TIMES[i]), float(test_err[i]))
