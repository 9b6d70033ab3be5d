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
from ..flow import GradientFlow, kernel_regression
from ..kernels import analytic_ntk, as_numpy, empirical_ntk
from ..measure import ClaimCheck, PowerLawFit, claim, fit_power_law, relative_distance, top_eigenvalue
from ..models import MLP
from ..training import linearize, log_record_steps, run_slice, train

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


def claim_fourier_eigenvectors(K, ks=None, tolerance: float = 1e-6) -> ClaimCheck:
    """A kernel matrix on the circle grid is circulant and its Fourier vectors are eigenvectors."""
    K = np.asarray(K, dtype=np.float64)
    ks = range(K.shape[0] // 2 + 1) if ks is None else ks
    circ, eig = circulant_error(K), fourier_eigenvector_error(K, ks)
    return claim("the kernel on the grid is circulant, Fourier vectors are eigenvectors",
                 measured=f"circulant deviation {circ:.1e}, eigenvector residual {eig:.1e}",
                 predicted=f"0 (round-off, < {tolerance:g})", holds=circ < tolerance and eig < tolerance)


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


def claim_spectrum_decay(decay: SpectrumDecay, theory: float = -2.0, tolerance: float = 0.15) -> ClaimCheck:
    """The biased circle spectrum decays like ``k^-2`` over the fit range (``k^-d``, ``d = 2``)."""
    sel = (decay.ks >= decay.fit_range[0]) & (decay.ks <= decay.fit_range[1])
    fit = fit_power_law(decay.ks[sel], decay.with_bias[sel])
    return claim(f"eigenvalue ~ k^-2 for k = {decay.fit_range[0]}..{decay.fit_range[1]}", measured=f"exponent {fit}",
                 predicted=f"{theory:g} (+/- {tolerance})", holds=abs(fit.exponent - theory) < tolerance)


def kink_weights(decay: SpectrumDecay, k_range=(16, 32)):
    """Mean of ``k^2 lambda_k`` over ``k_range``: (biased even k, biased odd k, bias-free even k, bias-free odd k).

    ``k^2 lambda_k`` tends to a constant for each kink of the kernel function ``kappa(gamma)``:
    without bias ``kappa`` has two equal kinks, at ``gamma = 0`` and ``gamma = pi``, whose
    contributions ``c`` and ``(-1)^k c`` add up to ``2c`` at even k and cancel at odd k; a bias keeps
    the pre-activations of opposite inputs from being exactly anti-correlated, smooths the kink at
    ``pi``, and leaves only the one at 0: ``c`` at every k.
    """
    k = decay.ks
    sel = (k >= k_range[0]) & (k <= k_range[1])
    even, odd = sel & (k % 2 == 0), sel & (k % 2 == 1)
    w_b, w_0 = k**2 * decay.with_bias, k**2 * decay.without_bias
    return float(np.mean(w_b[even])), float(np.mean(w_b[odd])), float(np.mean(w_0[even])), float(np.mean(w_0[odd]))


PARITY_TOLERANCE = 0.02  # the k-range means of k^2 lambda_k are converged to about 1 %


def claim_spectrum_parity(decay: SpectrumDecay, k_range=(16, 32)) -> ClaimCheck:
    """The staircase: bias-free odd frequencies vanish and even ones carry two kinks; with bias one kink remains.

    Holds when, over ``k_range``, the bias-free odd eigenvalues are zero (< 1e-6 of the even ones), the
    biased odd and even ``k^2 lambda_k`` agree to ``PARITY_TOLERANCE``, and the bias-free even ones
    are twice the bias-free kink ``c_0`` (two kinks against one), where the bias also enlarges the
    kink at 0 by ``sqrt(1 + sb2)`` (the pre-activation scale): ``c_b = sqrt(1 + sb2) c_0``, so the
    prediction is ``even_0 = 2 c_0 = 2 c_b / sqrt(1 + sb2)``, to ``PARITY_TOLERANCE``.
    """
    even_b, odd_b, even_0, odd_0 = kink_weights(decay, k_range)
    predicted_even_0 = 2 * even_b / math.sqrt(1 + SB2)
    holds = (abs(odd_0) < 1e-6 * even_0 and abs(odd_b / even_b - 1) < PARITY_TOLERANCE
             and abs(even_0 / predicted_even_0 - 1) < PARITY_TOLERANCE)
    return claim(f"k^2 lambda_k for k = {k_range[0]}..{k_range[1]}: one kink with bias, two (even k) or none (odd k) without",
                 measured=f"bias: even {even_b:.3g}, odd {odd_b:.3g}; no bias: even {even_0:.3g}, odd {odd_0:.1e}",
                 predicted=f"bias: even = odd = c; no bias: even 2c / sqrt(1 + sb2) = {predicted_even_0:.3g}, odd 0 "
                           f"(each to {PARITY_TOLERANCE:.0%})", holds=holds)


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
    lam: np.ndarray  # eigenvalues of the network's initial kernel, largest first
    width: int


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
        lam=lam,
        width=width,
    )


def flow_gap_leading_term(res: FilterCheck) -> np.ndarray:
    """The leading term of ``discrete - flow`` filter components: ``(lr t lam_k^2 / 2) exp(-lam_k t) u_k.y``.

    ``(1 - lr lam)^s = exp(s log(1 - lr lam)) = exp(-lam t - lr lam^2 t / 2 - ...)`` with ``t = lr s``,
    and ``exp(-lam t - lr lam^2 t / 2) < exp(-lam t)``: gradient descent keeps *less* residual than
    the flow, i.e. it has learned ``exp(-lam t) lr lam^2 t / 2`` *more* of each component (to first
    order in ``lr``; gradient descent is slightly ahead of the flow at the same ``t``). That
    positive gap, ``discrete - flow``, is what the claim check predicts.
    """
    return 0.5 * res.lr * res.time * res.lam**2 * np.exp(-res.lam * res.time) * res.target


def claim_linearised_gd_is_discrete_filter(res: FilterCheck) -> ClaimCheck:
    """Gradient descent on the linearised centered network equals ``(1 - (1 - lr lam_k)^s) u_k.y`` (round-off)."""
    dev = float(np.max(np.abs(res.trained - res.discrete)) / np.max(np.abs(res.target)))
    return claim("numerical identity: linearised GD = discrete filter (1 - (1 - lr lam)^s) u.y",
                 measured=f"max deviation {dev:.1e}",
                 predicted="0 (round-off, < 1e-10)", holds=dev < 1e-10)


FLOW_GAP_TOLERANCE = 0.05  # relative error allowed on the O(lr) gap; the next term is ~ lr lam^2 t / 4 of it, large only where exp(-lam t) kills the mode


def claim_flow_gap_is_leading_order(res: FilterCheck) -> ClaimCheck:
    """The gap between linearised GD and the gradient-flow filter is its leading O(lr) term, to 5%."""
    gap = res.trained - res.flow
    lead = flow_gap_leading_term(res)
    scale = np.max(np.abs(res.target))
    err = relative_distance(gap, lead)
    return claim("GD - gradient-flow filter = its O(lr) term +(lr t lam^2 / 2) exp(-lam t) u.y (GD slightly ahead)",
                 measured=f"gap {np.max(np.abs(gap)) / scale:.3g} of max |u.y|, off its leading term by {err:.2%}",
                 predicted=f"leading term {np.max(np.abs(lead)) / scale:.3g}, off by < {FLOW_GAP_TOLERANCE:.0%}",
                 holds=err < FLOW_GAP_TOLERANCE)


def claim_network_follows_its_filter(res: FilterCheck, tolerance: float = 0.01) -> ClaimCheck:
    """The real (nonlinear) network's components stay within ``tolerance`` of its own kernel's discrete filter.

    One width: the check says the deviation is small at that width, not how it scales.
    """
    dev = float(np.max(np.abs(res.trained - res.discrete)) / np.max(np.abs(res.discrete)))
    return claim(f"width-{res.width} network follows the filter of its own initial kernel",
                 measured=f"max deviation {dev:.3g} of max component",
                 predicted=f"small at this width (< {tolerance}; lazy-regime departure)",
                 holds=dev < tolerance)


@functools.lru_cache(maxsize=None)
def linearized_centered_network(model: MLP, seed: int = 0):
    """``linearize`` of ``centered_network(model, seed)`` around ``theta0``, cached so ``train`` compiles once per width."""
    apply, theta0 = centered_network(model, seed)
    return linearize(apply, theta0)


# ---------------------------------------------------------------------- 3. spectral bias
BIAS_N = 32
BIAS_FREQS = (1, 4)
BIAS_T_END = 20.0
BIAS_LR = 0.5  # learning rate in units of 1 / lambda_max of the infinite-width kernel
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


BIAS_SEEDS = (0, 1, 2, 3)  # every width of the spectral-bias sweep is trained from these seeds


@functools.lru_cache(maxsize=None)
def centered_pair(model: MLP):
    """``apply(pair, x)`` with ``pair = (theta, theta0)``: ``f(x; theta) - f(x; theta0)``, theta0 frozen.

    The batched twin of ``centered_network``: ``theta0`` travels with the parameters (so each run
    of ``train(..., batch=True)`` has its own), behind ``jax.lax.stop_gradient``, so gradient
    descent never moves it. Start from ``(model.init_many(seeds), model.init_many(seeds))``.
    Cached per model, so every call hands ``train`` the same function and the compile is reused.
    """
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")

    def apply(pair, x):
        theta, theta0 = pair
        return model.forward(theta, x)[1] - model.forward(jax.lax.stop_gradient(theta0), x)[1]

    return apply


@functools.lru_cache(maxsize=None)
def dense_outputs_measure(width: int):
    """``measure(pair)``: the centered network's outputs on the 128-point grid (for ``train(measure=...)``).

    Cached per width, so every call hands ``train`` the same function object and the compiled
    run is reused.
    """
    apply = centered_pair(circle_model(width))
    _, X_dense = circle_grid(BIAS_DENSE_N)

    def measure(pair):
        return apply(pair, X_dense)

    return measure


class BiasRuns(NamedTuple):
    """Centered networks of one width (one run per seed) trained on ``cos g + cos 4g``, log-spaced records.

    Each run is compared with two kernel predictions: its **own initial kernel** ``K_0`` (gradient
    descent on a fixed ``K_0``: ``1 - (1 - lr K_0)^s`` applied to y) and the infinite-width kernel.
    """

    width: int
    seeds: tuple
    times: np.ndarray  # (T,) t = lr * step
    steps: np.ndarray  # (T,)
    amplitudes: np.ndarray  # (S, T, 2) learned amplitude of each of BIAS_FREQS, network
    own_kernel: np.ndarray  # (S, T, 2) the same amplitudes predicted by each run's own K_0
    dense: np.ndarray  # (S, T, 128) the learned function on the dense grid
    dense_angles: np.ndarray  # (128,)
    lr: float
    t_low: np.ndarray  # (S,) time the k = 1 amplitude reaches 0.9, network
    t_high: np.ndarray  # (S,) time the k = 4 amplitude reaches 0.9, network
    t_high_own: np.ndarray  # (S,) the same for the run's own initial kernel
    t_high_analytic: float  # the same for the infinite-width kernel


@functools.lru_cache(maxsize=None)
def bias_runs(width: int, seeds=BIAS_SEEDS) -> BiasRuns:
    """Train the centered network of ``width`` from every seed on ``cos(gamma) + cos(4 gamma)`` at 32 grid points.

    One ``train(..., batch=True)`` call: gradient descent with ``lr = bias_learning_rate()`` up to
    t = 20, recorded at about 60 log-spaced steps, the function on the dense grid measured inside
    the run. Each run's own initial kernel (one ``empirical_ntk`` and one ``eigh`` per seed) gives
    the lazy prediction it is compared with.
    """
    width = _validate.positive_int(width, "width")
    seeds = tuple(int(s) for s in seeds)
    model = circle_model(width)
    angles, X = circle_grid(BIAS_N)
    y = fourier_target(angles, BIAS_FREQS)
    lr = bias_learning_rate()
    total = int(math.ceil(BIAS_T_END / lr))
    theta0 = model.init_many(seeds)
    traj = train(centered_pair(model), (theta0, theta0), X, y, lr=lr, steps=total,
                 record_steps=log_record_steps(total, BIAS_RECORDS), measure=dense_outputs_measure(width), batch=True)
    angles_np, y_np = as_numpy(angles), as_numpy(y)
    times, steps = np.asarray(traj.times), np.asarray(traj.steps)
    amplitudes = frequency_amplitudes(as_numpy(traj.outputs), angles_np, BIAS_FREQS)  # (S, T, 2)
    own = []
    for i in range(len(seeds)):
        flow = GradientFlow(empirical_ntk(model, run_slice(theta0, i), X), y, jnp.zeros(BIAS_N))
        lam, U = as_numpy(flow.eigenvalues), as_numpy(flow.eigenvectors)
        kept = 1.0 - (1.0 - lr * lam[None, :]) ** steps[:, None]  # (T, n)
        own.append(frequency_amplitudes((kept * (y_np @ U)) @ U.T, angles_np, BIAS_FREQS))
    own = np.asarray(own)
    analytic = bias_kernel_amplitudes(times, lr)
    dense_angles, _ = circle_grid(BIAS_DENSE_N)
    return BiasRuns(width, seeds, times, steps, amplitudes, own, as_numpy(traj.measurements), as_numpy(dense_angles),
                    float(lr), np.asarray([arrival_time(times, a[:, 0]) for a in amplitudes]),
                    np.asarray([arrival_time(times, a[:, 1]) for a in amplitudes]),
                    np.asarray([arrival_time(times, a[:, 1]) for a in own]), arrival_time(times, analytic[:, 1]))


def predicted_arrival_ratio(runs) -> float:
    """``t_4 / t_1`` of the infinite-width kernel under the runs' own gradient descent, read on their records.

    Both arrival times from the discrete filter ``1 - (1 - lr lam_k)^s`` (``bias_kernel_amplitudes``
    with the runs' ``lr``) on the same log-spaced records and the same interpolation as the
    networks: at ``lr = 0.5 / lambda_max`` the steps and the records shorten ``t_1`` (the flow's
    ``lambda_1 / lambda_4`` would be 49.7).
    """
    run = runs[0]
    amp = bias_kernel_amplitudes(run.times, run.lr)
    return arrival_time(run.times, amp[:, 1]) / arrival_time(run.times, amp[:, 0])


ARRIVAL_TOLERANCE = 0.25  # at the widest width; the finite-width delay of cos 4g there is about 15 %


def claim_low_frequency_first(runs) -> ClaimCheck:
    """``cos g`` arrives more than ten times before ``cos 4g`` in every run, by the kernel's factor at the widest width.

    Every run of every width: ``t_4 / t_1 > 10``. The widest width's runs: ``t_4 / t_1`` within
    ``ARRIVAL_TOLERANCE`` of ``predicted_arrival_ratio`` (narrower widths arrive later, section 3's delay).
    """
    ratios = np.concatenate([r.t_high / r.t_low for r in runs])
    widest = max(runs, key=lambda r: r.width)
    wide_ratios = widest.t_high / widest.t_low
    predicted = predicted_arrival_ratio(runs)
    holds = bool(np.all(ratios > 10) and np.all(np.abs(wide_ratios / predicted - 1) < ARRIVAL_TOLERANCE))
    return claim("cos 4g arrives > 10x later than cos g (every width, every seed), by the kernel's factor at the widest width",
                 measured=f"t_4 / t_1 from {np.min(ratios):.3g} to {np.max(ratios):.3g}; at N = {widest.width}: "
                          f"{np.min(wide_ratios):.3g} to {np.max(wide_ratios):.3g}",
                 predicted=f"> 10; at N = {widest.width} the discrete filter's {predicted:.3g} (+/- {ARRIVAL_TOLERANCE:.0%})",
                 holds=holds)


class KernelMotionDelay(NamedTuple):
    """The k = 4 arrival of the network against its own initial kernel's, averaged over seeds, per width."""

    widths: np.ndarray
    delay: np.ndarray  # mean over seeds of t_high / t_high_own - 1
    delay_stderr: np.ndarray
    own_spread: np.ndarray  # standard deviation over seeds of t_high_own (the initial kernel's randomness)
    fit_from: int
    fit: PowerLawFit | None  # delay ~ width^exponent for widths >= fit_from (None unless every delay there is > 0)


def kernel_motion_delay(runs, fit_from: int = 256) -> KernelMotionDelay:
    """Summarise ``bias_runs`` of several widths: the delay that kernel motion adds, and its power law."""
    widths = np.asarray([r.width for r in runs])
    ratio = [r.t_high / r.t_high_own for r in runs]
    delay = np.asarray([np.mean(q) - 1 for q in ratio])
    stderr = np.asarray([np.std(q, ddof=1) / math.sqrt(len(q)) if len(q) > 1 else math.nan for q in ratio])
    spread = np.asarray([np.std(r.t_high_own, ddof=1) if len(r.seeds) > 1 else 0.0 for r in runs])
    sel = widths >= fit_from
    fit = fit_power_law(widths[sel], delay[sel]) if np.all(delay[sel] > 0) else None
    return KernelMotionDelay(widths, delay, stderr, spread, int(fit_from), fit)


def claim_kernel_motion_delay(summary: KernelMotionDelay, theory: float = -0.5, tolerance: float = 0.25) -> ClaimCheck:
    """Against its own initial kernel, the network's extra delay is positive and shrinks like ``N^-1/2``."""
    sel = summary.widths >= summary.fit_from
    fit = fit_power_law(summary.widths[sel], summary.delay[sel]) if np.all(summary.delay[sel] > 0) else None
    holds = fit is not None and abs(fit.exponent - theory) < tolerance
    return claim(f"extra delay of cos 4g vs the run's own K_0 shrinks with width (N >= {summary.fit_from}; N = 64 is outside the law)",
                 measured=("delays " + ", ".join(f"{d:.3g}" for d in summary.delay[sel])
                           + (f", exponent {fit}" if fit is not None else ", not all positive")),
                 predicted=f"exponent {theory:g} (+/- {tolerance}), kernel motion ~ N^-1/2", holds=holds)


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
CONVERGENCE_FREQS = (2, 3, 4, 5, 8, 9, 16, 17)  # both parities (see ConvergenceTimes)
CONVERGENCE_AMPLITUDE = 0.01


class ConvergenceTimes(NamedTuple):
    """Time for each frequency's residual to fall to 1/e, measured on a network and predicted by the kernel.

    Power laws are fitted to each parity separately (k >= ``fit_from``): with a bias the even
    eigenvalues still carry the remains of the bias-free kernel's second kink at low k (the
    staircase of section 2), so the two parities approach ``k^-2`` along different curves.
    """

    freqs: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray  # lr / -log(1 - lr lambda_k), about 1 / lambda_k
    measured_fit: PowerLawFit  # even k >= fit_from
    predicted_fit: PowerLawFit
    odd_measured_fit: PowerLawFit  # odd k >= fit_from
    odd_predicted_fit: PowerLawFit
    fit_from: int


def _parity_fits(freqs, times, fit_from):
    even = (freqs >= fit_from) & (freqs % 2 == 0)
    odd = (freqs >= fit_from) & (freqs % 2 == 1)
    return fit_power_law(freqs[even], times[even]), fit_power_law(freqs[odd], times[odd])


@functools.lru_cache(maxsize=None)
def convergence_times(freqs=CONVERGENCE_FREQS, width: int = 4096, n: int = 64, amplitude: float = CONVERGENCE_AMPLITUDE,
                      seed: int = 0, fit_from: int = 4) -> ConvergenceTimes:
    """Measured time for each frequency's residual to fall to 1/e of its start, from one training run.

    The centered network of ``width`` is trained by gradient descent (lr = 1 / lambda_max of the
    infinite-width kernel) on ``amplitude * sum_k cos(k gamma)`` at the ``n`` circle grid points,
    recorded at every step. In the kernel regime the residual along ``cos(k gamma)`` decays by
    ``(1 - lr lambda_k)`` per step, hence the prediction. A small amplitude keeps the network lazy
    (it is the lazy output scaling in disguise: fitting ``a y`` with ``f`` is fitting ``y`` with
    ``f / a``, a network whose output is multiplied by ``1 / a``).
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
    m_even, m_odd = _parity_fits(freqs, measured, fit_from)
    p_even, p_odd = _parity_fits(freqs, predicted, fit_from)
    return ConvergenceTimes(freqs, measured, predicted, m_even, p_even, m_odd, p_odd, int(fit_from))


def claim_convergence_times(res: ConvergenceTimes, ratio_tolerance: float = 0.2, exponent_tolerance: float = 0.2) -> ClaimCheck:
    """Every frequency's 1/e time is within 20 % of the kernel's, and each parity's exponent within 0.2 of the kernel's."""
    ratio = res.measured / res.predicted
    m_even, m_odd = _parity_fits(res.freqs, res.measured, res.fit_from)
    p_even, p_odd = _parity_fits(res.freqs, res.predicted, res.fit_from)
    holds = (np.all(np.abs(ratio - 1) < ratio_tolerance) and abs(m_even.exponent - p_even.exponent) < exponent_tolerance
             and abs(m_odd.exponent - p_odd.exponent) < exponent_tolerance)
    return claim(f"convergence time follows the kernel's 1 / lambda_k (k >= {res.fit_from}, each parity)",
                 measured=f"time / prediction {np.min(ratio):.3g}..{np.max(ratio):.3g}; exponent even {m_even}, odd {m_odd}",
                 predicted=f"ratio 1 (+/- {ratio_tolerance}); kernel exponent even {p_even.exponent:.3g}, "
                           f"odd {p_odd.exponent:.3g} (+/- {exponent_tolerance}); asymptotically 2",
                 holds=holds)


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


def claim_early_stopping(runs, factor: float = 0.8) -> ClaimCheck:
    """At every width the test error has an interior minimum below ``factor`` x the interpolant's."""
    best = np.asarray([np.min(g.test_err) for g in runs])
    limit = np.asarray([g.limit_err for g in runs])
    interior = all(0 < int(np.argmin(g.test_err)) < len(g.test_err) - 1 for g in runs)
    return claim("early stopping beats the t -> infinity interpolant (every width)",
                 measured=f"best / interpolant test error {np.min(best / limit):.3g}..{np.max(best / limit):.3g}",
                 predicted=f"< {factor} with a minimum inside the time range", holds=interior and np.all(best < factor * limit))


def claim_interpolant_is_kernel_regression(g: GeneralizationRun, tolerance: float = 1e-8) -> ClaimCheck:
    """The ``t -> infinity`` prediction equals ``K(x, X) K^-1 y`` and passes through every training point."""
    data = generalization_problem()
    regression = as_numpy(kernel_regression(g.kernel.K_train, data.y, g.kernel.K_test))
    diff = float(np.max(np.abs(regression - g.limit)))
    train_fit = as_numpy(g.kernel.flow.predict_limit(g.kernel.K_train, jnp.zeros(len(data.y))))
    gap = float(np.max(np.abs(train_fit - as_numpy(data.y))))
    return claim("numerical identity: t -> infinity = kernel regression, interpolating the noisy labels",
                 measured=f"difference {diff:.1e}, training gap {gap:.1e}", predicted=f"0 (< {tolerance:g})",
                 holds=diff < tolerance and gap < tolerance)


def spectral_risk(lam, signal, noise: float, times) -> np.ndarray:
    """Expected mean squared error against the clean target on the training inputs, from the spectrum alone.

    Gradient flow from zero on labels ``y = f* + eps`` (``eps ~ N(0, noise^2 I)``) learns
    ``(1 - exp(-lam_k t)) (s_k + eps_k)`` along eigenvector k, where ``s_k = u_k . f*`` (``signal``).
    The error along k is ``-exp(-lam_k t) s_k + (1 - exp(-lam_k t)) eps_k``, so its expected square
    is ``exp(-2 lam_k t) s_k^2 + (1 - exp(-lam_k t))^2 noise^2``: unlearned signal plus learned noise.
    Returns the mean over the n components at each time, shape (T,).
    """
    lam = np.asarray(lam, dtype=np.float64)[None, :]
    signal = np.asarray(signal, dtype=np.float64)[None, :]
    t = np.asarray(times, dtype=np.float64).reshape(-1, 1)
    decay = np.exp(-lam * t)
    return np.mean(decay**2 * signal**2 + (1.0 - decay) ** 2 * float(noise) ** 2, axis=1)


def spectral_stopping_time(g: GeneralizationRun) -> float:
    """The early-stopping time the spectrum predicts: the minimiser of ``spectral_risk`` on ``g.curve_times``."""
    data = generalization_problem()
    U = as_numpy(g.kernel.flow.eigenvectors)
    signal = as_numpy(two_harmonic_target(data.angles)) @ U
    risk = spectral_risk(as_numpy(g.kernel.flow.eigenvalues), signal, GENERALIZATION_NOISE, g.curve_times)
    return float(g.curve_times[int(np.argmin(risk))])


def claim_stopping_time_from_spectrum(g: GeneralizationRun, factor: float = 1.5) -> ClaimCheck:
    """The spectrum's expected-risk minimiser is within ``factor`` of the measured best stopping time."""
    predicted = spectral_stopping_time(g)
    measured = float(g.curve_times[int(np.argmin(g.test_err))])
    ratio = measured / predicted
    return claim("the spectrum predicts the early-stopping time", measured=f"best test error at t = {measured:.3g}",
                 predicted=f"t = {predicted:.3g} (within a factor {factor})", holds=1 / factor < ratio < factor)
