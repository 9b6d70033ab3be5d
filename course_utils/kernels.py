"""Neural tangent kernels: empirical (finite width) and analytic (infinite width).

The empirical NTK of a scalar network is ``K(x, x') = <grad_theta f(x), grad_theta f(x')>``.
For a dense layer ``h = w_mult * (a @ W) + b_mult * b`` the gradient of f with respect to
``W`` at input x is the outer product ``w_mult * a(x) g(x)^T`` of the layer's input and the
back-propagated sensitivity ``g = df/dh``. Inner products of outer products factorise, so

    K = sum over layers of  w_mult^2 (A A'^T) * (G G'^T)  +  b_mult^2 (G G'^T)

with ``*`` the entrywise product. That is the "structured" path: two small Gram matrices
per layer, never the (n, P) Jacobian. The "jacobian" path builds the Jacobian with
``jax.jacrev`` and contracts it; it is slow and memory hungry, and exists as the
independent reference the tests compare against.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _memory, _validate
from .models import MLP, activation_fn

METHODS = ("structured", "jacobian")


def _check_model(model) -> None:
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a course_utils.MLP; got {type(model).__name__}")


def _symmetrise(K):
    # A Gram matrix computed by blocked BLAS is symmetric only up to rounding; the course
    # promises an exactly symmetric matrix when x2 is omitted (eigh relies on it).
    return 0.5 * (K + K.T)


# ---------------------------------------------------------------------- empirical NTK
def _activations_and_sensitivities(model: MLP, params, x):
    """Inputs ``a_l`` of every layer and sensitivities ``g_l = df/dh_l`` (read-out g = 1)."""
    phi, dphi = activation_fn(model.activation)
    scales = model.layer_scales()
    hidden, _ = model.forward(params, x)
    inputs = [x] + [phi(h) for h in hidden]
    g = jnp.ones((x.shape[0], 1), dtype=x.dtype)
    sensitivities = [g]
    # Walk back from the read-out: g_l = (g_{l+1} @ W_{l+1}^T) * w_mult_{l+1} * phi'(h_l).
    for layer_index in range(len(hidden) - 1, -1, -1):
        upper = params[layer_index + 1]
        g = (scales[layer_index + 1].w_mult * (g @ upper["W"].T)) * dphi(hidden[layer_index])
        sensitivities.append(g)
    sensitivities.reverse()
    return inputs, sensitivities


def _layer_terms(model: MLP, params, x1, x2, same: bool):
    """The structured NTK split by layer: one (n1, n2) contribution per dense layer (weights + bias)."""
    a1, g1 = _activations_and_sensitivities(model, params, x1)
    a2, g2 = (a1, g1) if same else _activations_and_sensitivities(model, params, x2)
    terms = []
    for scale, ai, aj, gi, gj in zip(model.layer_scales(), a1, a2, g1, g2):
        gram_g = gi @ gj.T
        term = (scale.w_mult**2) * (ai @ aj.T) * gram_g
        if scale.b_mult != 0.0:
            term = term + (scale.b_mult**2) * gram_g
        terms.append(_symmetrise(term) if same else term)
    return terms


@_memory.large_programs
@functools.partial(jax.jit, static_argnums=(0, 4))
def _structured_ntk(model: MLP, params, x1, x2, same: bool):
    K = functools.reduce(jnp.add, _layer_terms(model, params, x1, x2, same))
    return _symmetrise(K) if same else K


@_memory.large_programs
@functools.partial(jax.jit, static_argnums=(0, 4))
def _structured_layer_terms(model: MLP, params, x1, x2, same: bool):
    return _layer_terms(model, params, x1, x2, same)


@_memory.large_programs
@functools.partial(jax.jit, static_argnums=(0, 4))
def _jacobian_ntk(model: MLP, params, x1, x2, same: bool):
    def flat_jacobian(x):
        jac = jax.jacrev(lambda p: model.forward(p, x)[1])(params)
        leaves = jax.tree_util.tree_leaves(jac)
        return jnp.concatenate([leaf.reshape(x.shape[0], -1) for leaf in leaves], axis=1)

    J1 = flat_jacobian(x1)
    J2 = J1 if same else flat_jacobian(x2)
    K = J1 @ J2.T
    return _symmetrise(K) if same else K


def empirical_ntk(model: MLP, params, x1, x2=None, method: str = "structured"):
    """The finite-width NTK ``K[i, j] = grad f(x1_i) . grad f(x2_j)`` at ``params``.

    Parameters
    ----------
    model : the ``MLP`` whose parameters ``params`` are (from ``model.init``).
    x1 : (n1, in_dim) inputs.
    x2 : (n2, in_dim) inputs, or None for ``x2 = x1`` (then K is exactly symmetric).
    method : ``"structured"`` (default: per-layer Gram matrices, memory O(n^2 + n width depth))
        or ``"jacobian"`` (reference: materialises the (n, P) Jacobian).

    Returns a float64 array of shape (n1, n2).
    """
    _check_model(model)
    _validate.choice(method, METHODS, "method")
    model.check_params(params)
    x1 = _validate.as_inputs(x1, model.in_dim, "x1")
    same = x2 is None
    x2 = x1 if same else _validate.as_inputs(x2, model.in_dim, "x2")
    impl = _structured_ntk if method == "structured" else _jacobian_ntk
    return _memory.released_after(impl(model, params, x1, x2, same))


def ntk_layer_contributions(model: MLP, params, x1, x2=None) -> list:
    """The empirical NTK split by layer: ``empirical_ntk = sum(ntk_layer_contributions(...))``.

    Entry ``l`` is the part of the kernel that comes from the parameters (weights and bias) of
    dense layer ``l + 1`` (the read-out last), computed by the same per-layer Gram formula as
    ``empirical_ntk``'s structured path. Same arguments as ``empirical_ntk``.
    """
    _check_model(model)
    model.check_params(params)
    x1 = _validate.as_inputs(x1, model.in_dim, "x1")
    same = x2 is None
    x2 = x1 if same else _validate.as_inputs(x2, model.in_dim, "x2")
    return list(_structured_layer_terms(model, params, x1, x2, same))


def ntk_flops(model: MLP, n1: int, n2: int | None = None) -> float:
    """Floating-point operations of the structured NTK (forward, backward and Gram products).

    Counts multiply-adds as two flops and ignores entrywise work; used by the benchmark to
    turn a time into GFLOP/s.
    """
    same = n2 is None
    n2 = n1 if same else n2
    passes = [n1] if same else [n1, n2]
    flops = 0.0
    for n in passes:
        flops += sum(2.0 * n * fi * fo for fi, fo in model.layer_sizes)  # forward
        flops += sum(2.0 * n * fi * fo for fi, fo in model.layer_sizes[1:])  # backward
    for fan_in, fan_out in model.layer_sizes:
        flops += 2.0 * n1 * n2 * (fan_in + fan_out)  # the two Gram matrices of the layer
    return flops


# ---------------------------------------------------------------------- analytic NTK
# XLA's float64 arccos on CPU is scalar code (about 45 ns an entry, 10x slower than the rest of
# the recursion together), so the kernels use this one, built from +, *, / and sqrt, which XLA
# vectorises: the rational approximation of asin on |x| <= 0.5 from Cephes (asin.c,
# S. L. Moshier; about 1 ulp), with acos(x) = 2 asin(sqrt((1 - x) / 2)) for |x| > 0.5.
# Measured in bench/prototypes.py: maximum error 4.4e-16 against numpy, 15x faster kernels.
_ASIN_P = (4.253011369004428248960e-3, -6.019598008014123785661e-1, 5.444622390564711410273e0,
           -1.626247967210700244449e1, 1.956261983317594739197e1, -8.198089802484824371615e0)
_ASIN_Q = (-1.474091372988853791896e1, 7.049610280856842141659e1, -1.471791292232726029859e2,
           1.395105614657485689735e2, -4.918853881490881290097e1)


def _asin_small(x):
    """asin(x) for |x| <= 0.5."""
    z = x * x
    p = _ASIN_P[0]
    for c in _ASIN_P[1:]:
        p = p * z + c
    q = z + _ASIN_Q[0]
    for c in _ASIN_Q[1:]:
        q = q * z + c
    return x + x * z * p / q


def _arccos(c):
    """arccos on [-1, 1], vectorisable (see above)."""
    a = jnp.abs(c)
    small = a <= 0.5
    s = jnp.sqrt(jnp.maximum(0.5 * (1.0 - a), 0.0))
    t = _asin_small(jnp.where(small, c, s))
    far = 2.0 * t  # acos(|c|) for |c| > 0.5
    return jnp.where(small, 0.5 * math.pi - t, jnp.where(c > 0, far, math.pi - far))


def _relu_expectations(k11, k22, k12, identical):
    """E[relu(u) relu(v)] and E[relu'(u) relu'(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]).

    The arc-cosine kernels of degree 1 and 0 (Cho & Saul 2009), with ``sin(theta) =
    sqrt(1 - cos^2)``. arccos is steep at 1 (an error of one ulp in cos moves theta by 1e-8),
    so where the two inputs are identical (``identical``) cos is set to exactly 1, and the
    formulas are arranged so that theta = 0 gives exactly ``k / 2`` and ``1 / 2``.
    """
    norm = jnp.sqrt(k11 * k22)
    safe = jnp.where(norm > 0, norm, 1.0)
    cos = jnp.where(norm > 0, jnp.clip(k12 / safe, -1.0, 1.0), 0.0)
    cos = jnp.where(identical, 1.0, cos)
    theta = _arccos(cos)
    sin = jnp.sqrt(jnp.maximum(1.0 - cos * cos, 0.0))
    derivative = 0.5 - theta / (2 * math.pi)
    value = norm * (sin / (2 * math.pi) + derivative * cos)
    return value, derivative


def _erf_expectations(k11, k22, k12):
    """E[erf(u) erf(v)] and E[erf'(u) erf'(v)] for the same Gaussian pair (Williams 1997)."""
    denominator = (1 + 2 * k11) * (1 + 2 * k22)
    # arcsin(z) = pi/2 - arccos(z), with the vectorised arccos.
    value = (2 / math.pi) * (0.5 * math.pi - _arccos(jnp.clip(2 * k12 / jnp.sqrt(denominator), -1.0, 1.0)))
    derivative = (4 / math.pi) / jnp.sqrt(denominator - 4 * k12**2)
    return value, derivative


@_memory.large_programs
@functools.partial(jax.jit, static_argnums=(0, 4, 5))
def _analytic_kernel(model: MLP, x1, x2, identical, same: bool, want: str):
    """NNGP (``want="nngp"``) or NTK (``want="ntk"``) of the infinite-width network.

    Sigma_1 = sw2 x.x'/d + sb2;  Theta_1 = Sigma_1;
    Sigma_{l+1} = sw2 E[phi(u) phi(v)] + sb2;  Theta_{l+1} = Sigma_{l+1} + sw2 E[phi'(u) phi'(v)] Theta_l,
    with (u, v) ~ N(0, Sigma_l restricted to {x, x'}). The read-out is layer depth + 1.

    ``identical`` (n1, n2) marks pairs of identical inputs: there the input Gram entry is set
    to the squared norm, so every layer's entry equals its diagonal value exactly (as a
    closed form Theta(x, x) gives it), instead of differing by the rounding of a matrix product.
    One kernel per compiled function: XLA on CPU runs a fusion with two (n, n) outputs 10-20x
    slower than one. Every step is entrywise and symmetric in (x, x'), so a symmetric input
    Gram matrix gives an exactly symmetric kernel.
    """
    d = model.in_dim
    sq1 = jnp.sum(x1 * x1, axis=1)
    sq2 = jnp.sum(x2 * x2, axis=1)
    gram = x1 @ x2.T
    if same:
        gram = 0.5 * (gram + gram.T)
    gram = jnp.where(identical, sq1[:, None], gram)
    sigma12 = model.sw2 * gram / d + model.sb2
    sigma11 = model.sw2 * sq1 / d + model.sb2
    sigma22 = model.sw2 * sq2 / d + model.sb2
    theta12 = sigma12
    for _ in range(model.depth):
        if model.activation == "relu":
            value12, derivative12 = _relu_expectations(sigma11[:, None], sigma22[None, :], sigma12, identical)
            # On the diagonal cos = 1 and theta = 0: E[relu(u)^2] = k / 2 exactly.
            value11, value22 = 0.5 * sigma11, 0.5 * sigma22
        else:
            value12, derivative12 = _erf_expectations(sigma11[:, None], sigma22[None, :], sigma12)
            value11 = _erf_expectations(sigma11, sigma11, sigma11)[0]
            value22 = _erf_expectations(sigma22, sigma22, sigma22)[0]
        sigma12 = model.sw2 * value12 + model.sb2
        sigma11 = model.sw2 * value11 + model.sb2
        sigma22 = model.sw2 * value22 + model.sb2
        if want == "ntk":
            theta12 = sigma12 + model.sw2 * derivative12 * theta12
    return theta12 if want == "ntk" else sigma12


def identical_rows(x1, x2) -> np.ndarray:
    """(n1, n2) boolean matrix, True where row i of x1 equals row j of x2 exactly.

    Found by hashing rows (O((n1 + n2) d) work, no (n1, n2, d) comparison); -0.0 counts as 0.0.
    """
    a = np.asarray(x1, dtype=np.float64) + 0.0
    b = np.asarray(x2, dtype=np.float64) + 0.0
    rows: dict[bytes, list[int]] = {}
    for i, row in enumerate(a):
        rows.setdefault(row.tobytes(), []).append(i)
    mask = np.zeros((a.shape[0], b.shape[0]), dtype=bool)
    for j, row in enumerate(b):
        for i in rows.get(row.tobytes(), ()):
            mask[i, j] = True
    return mask


def _analytic(model, x1, x2, want):
    _check_model(model)
    if model.activation not in ("relu", "erf"):
        raise ValueError(
            f"the analytic kernel has a closed form for 'relu' and 'erf' only; got activation {model.activation!r}"
        )
    if model.parameterization != "ntk":
        raise ValueError(
            "analytic kernels are defined for parameterization='ntk' (the limit of the other "
            f"parameterizations is degenerate or width-dependent); got {model.parameterization!r}"
        )
    x1 = _validate.as_inputs(x1, model.in_dim, "x1")
    same = x2 is None
    x2 = x1 if same else _validate.as_inputs(x2, model.in_dim, "x2")
    if isinstance(x1, jax.core.Tracer) or isinstance(x2, jax.core.Tracer):
        # Inside a traced function the rows cannot be compared; only x2 = x1 is known.
        identical = jnp.eye(x1.shape[0], dtype=bool) if same else jnp.zeros((x1.shape[0], x2.shape[0]), dtype=bool)
    else:
        identical = identical_rows(x1, x2)
    return _memory.released_after(_analytic_kernel(model, x1, x2, identical, same, want))


def analytic_ntk(model: MLP, x1, x2=None):
    """The infinite-width NTK of ``model``'s architecture (width is ignored), shape (n1, n2).

    NTK parameterization as in neural-tangents: the first layer contributes
    ``sw2 * x.x'/d + sb2`` and every later layer follows the recursion in
    ``_analytic_kernel`` (Jacot et al. 2018; Arora et al. 2019), with closed-form Gaussian
    expectations for relu (arc-cosine kernels) and erf.
    """
    return _analytic(model, x1, x2, "ntk")


def analytic_nngp(model: MLP, x1, x2=None):
    """The infinite-width covariance of the network output at initialisation (the NNGP kernel)."""
    return _analytic(model, x1, x2, "nngp")


def as_numpy(a) -> np.ndarray:
    """A float64 numpy copy of a JAX array (for plotting and printing)."""
    return np.asarray(a, dtype=np.float64)
