"""Faster variants of course_utils kernels, prototyped here to measure proposed changes.

Nothing in the course imports this module; bench scripts time these against the course's
code (``bench_ntk.py --variant NAME``, ``bench_kernel_flow.py --prototypes``). Each variant
must give the same numbers as the course's function to float64 round-off;
``bench_kernel_flow.py`` records the largest relative difference beside each time.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from course_utils.kernels import _activations_and_sensitivities, _symmetrise
from course_utils.models import MLP

# ---------------------------------------------------------------------- arccos
# The vectorisable arccos first prototyped here (Cephes' asin rational approximation plus
# half-angle identities) now lives in course_utils.kernels; the prototype reuses it.
from course_utils.kernels import _arccos as fast_arccos  # noqa: E402


def _relu_expectations_fast(k11, k22, k12, root11, root22):
    """Arc-cosine kernels of degree 1 and 0 with sin(theta) = sqrt(1 - cos^2) and the norm
    sqrt(k11 k22) formed as an outer product of square roots (no n^2 square roots)."""
    norm = root11 * root22
    inv = jnp.where(norm > 0, 1.0 / jnp.where(norm > 0, norm, 1.0), 0.0)
    cos = jnp.clip(k12 * inv, -1.0, 1.0)
    theta = fast_arccos(cos)
    sin = jnp.sqrt(jnp.maximum(1.0 - cos * cos, 0.0))
    value = norm * (sin + (math.pi - theta) * cos) / (2 * math.pi)
    derivative = (math.pi - theta) / (2 * math.pi)
    return value, derivative


@functools.partial(jax.jit, static_argnums=(0, 3, 4, 5))
def _analytic_relu_fast(model: MLP, x1, x2, same: bool, want: str = "ntk", fast_acos: bool = True):
    """The relu NTK/NNGP recursion, returning only the kernel asked for.

    Two changes against the earlier course_utils.kernels._analytic_kernels (now adopted in course_utils), both measured in
    bench/README.md: (1) one output instead of (NNGP, NTK): XLA on CPU runs a fusion with
    two n x n outputs (and the two transposes of ``_symmetrise``) 10-20x slower than a
    single-output one; (2) exact symmetry is imposed once on the input Gram matrix
    (every later step is entrywise and commutes with the transpose) instead of on the
    outputs. Optionally (3) the vectorisable arccos above.
    """
    d = model.in_dim
    gram = x1 @ x2.T
    if same:
        gram = 0.5 * (gram + gram.T)
    sigma12 = model.sw2 * gram / d + model.sb2
    sigma11 = model.sw2 * jnp.sum(x1 * x1, axis=1) / d + model.sb2
    sigma22 = model.sw2 * jnp.sum(x2 * x2, axis=1) / d + model.sb2
    theta12 = sigma12
    for _ in range(model.depth):
        r11, r22 = jnp.sqrt(sigma11)[:, None], jnp.sqrt(sigma22)[None, :]
        if fast_acos:
            value12, derivative12 = _relu_expectations_fast(None, None, sigma12, r11, r22)
        else:
            from course_utils.kernels import _relu_expectations

            value12, derivative12 = _relu_expectations(sigma11[:, None], sigma22[None, :], sigma12, False)
        # on the diagonal cos = 1, theta = 0: E[relu(u)^2] = k / 2
        sigma12 = model.sw2 * value12 + model.sb2
        sigma11 = model.sw2 * 0.5 * sigma11 + model.sb2
        sigma22 = model.sw2 * 0.5 * sigma22 + model.sb2
        if want == "ntk":
            theta12 = sigma12 + model.sw2 * derivative12 * theta12
    return theta12 if want == "ntk" else sigma12


def analytic_ntk_fast(model: MLP, x1, x2=None):
    """Drop-in for ``cu.analytic_ntk`` for relu networks (prototype, no input checks)."""
    if model.activation != "relu":
        raise ValueError("prototype covers relu only")
    same = x2 is None
    return _analytic_relu_fast(model, x1, x1 if same else x2, same, "ntk", True)


def analytic_ntk_single_output(model: MLP, x1, x2=None):
    """Only changes (1) and (2): one output, symmetry imposed on the input Gram; XLA's arccos."""
    same = x2 is None
    return _analytic_relu_fast(model, x1, x1 if same else x2, same, "ntk", False)


# ---------------------------------------------------------------------- structured NTK
def structured_no_checks(model, params, x):
    """course_utils' ``_structured_ntk`` itself, skipping ``empirical_ntk``'s input checks."""
    from course_utils.kernels import _structured_ntk

    return _structured_ntk(model, params, x, x, True)


@functools.partial(jax.jit, static_argnums=(0,))
def _structured_concat(model: MLP, params, x):
    """Same sum of per-layer Gram products, but one big matmul for all hidden layers.

    For hidden layers of equal width the entrywise products (A_l A_l^T) * (G_l G_l^T) are
    kept, but the Gram matrices of all layers come from one batched matmul
    (einsum over a stacked (L, n, width) array) instead of 2 L separate small ones.
    """
    a, g = _activations_and_sensitivities(model, params, x)
    scales = model.layer_scales()
    K = jnp.zeros((x.shape[0], x.shape[0]), dtype=x.dtype)
    # first layer (input dim) and read-out (width 1) separately, hidden ones batched
    hidden = list(range(1, len(a) - 1))
    for i in [0, len(a) - 1]:
        gram_g = g[i] @ g[i].T
        K = K + (scales[i].w_mult ** 2) * (a[i] @ a[i].T) * gram_g
        if scales[i].b_mult != 0.0:
            K = K + (scales[i].b_mult ** 2) * gram_g
    if hidden:
        A = jnp.stack([a[i] for i in hidden])
        G = jnp.stack([g[i] for i in hidden])
        AA = jnp.einsum("lnw,lmw->lnm", A, A)
        GG = jnp.einsum("lnw,lmw->lnm", G, G)
        w2 = jnp.asarray([scales[i].w_mult ** 2 for i in hidden])
        K = K + jnp.einsum("l,lnm->nm", w2, AA * GG)
        b2 = jnp.asarray([scales[i].b_mult ** 2 for i in hidden])
        K = K + jnp.einsum("l,lnm->nm", b2, GG)
    return _symmetrise(K)


def structured_concat(model, params, x):
    return _structured_concat(model, params, x)


# ---------------------------------------------------------------------- gradient flow
@jax.jit
def _outputs_from_transposed(times, lam, Ut, coeffs, y):
    decay = jnp.exp(-times[:, None] * lam[None, :])  # (T, n)
    return y[None, :] + (decay * coeffs[None, :]) @ Ut


def flow_outputs_transposed(flow):
    """``flow.outputs`` with ``U^T`` stored once as its own (row-major) array.

    ``GradientFlow.outputs`` computes ``(decay * c) @ U.T`` inside jit, which contracts
    over U's second axis; XLA on CPU runs that product several times slower than the same
    product against a stored transpose (see bench/README.md, "Findings and proposed changes").
    """
    Ut = jnp.asarray(flow.eigenvectors.T).copy()
    jax.block_until_ready(Ut)

    def outputs(t):
        times = jnp.atleast_1d(jnp.asarray(t, dtype=jnp.float64))
        out = _outputs_from_transposed(times, flow.eigenvalues, Ut, flow.initial_residual_coefficients, flow.y)
        return out[0] if jnp.ndim(t) == 0 else out

    return outputs
