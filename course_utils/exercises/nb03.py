"""Notebook 03's exercises: the structured NTK of a one-hidden-layer network, and its analytic limit."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..data import circle_points
from ..kernels import analytic_ntk, empirical_ntk
from ..models import MLP
from .checks import Verdict, check_function_slips, solution


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


def _two_layer_cases():
    cases = []
    for width, sb2, seed, n1, n2 in [(16, 0.0, 0, 3, 4), (64, 0.1, 1, 5, 5), (256, 0.5, 2, 4, 2)]:
        model = MLP(in_dim=2, width=width, depth=1, sw2=2.0, sb2=sb2)
        params = model.init(seed)
        x = jax.random.normal(jax.random.PRNGKey(100 + seed), (n1 + n2, 2), dtype=jnp.float64)
        cases.append((model, params, x[:n1], x[n1:]))
    return cases


def _two_layer_slip(*, bias=True, readout=True, hidden=True, relu_prime=True, scales=True):
    """What ``two_layer_ntk`` returns with one typical slip (a term or a factor left out)."""

    def slip(model, params, x1, x2):
        (w1, _, b1m, _), (w2, _, b2m, _) = model.layer_scales()
        if not scales:
            w1 = w2 = 1.0
        h1 = w1 * (x1 @ params[0]["W"]) + b1m * params[0]["b"]
        h2 = w1 * (x2 @ params[0]["W"]) + b1m * params[0]["b"]
        a1, a2 = jnp.maximum(h1, 0), jnp.maximum(h2, 0)
        mask1, mask2 = ((h1 > 0), (h2 > 0)) if relu_prime else (1.0, 1.0)
        g1, g2 = w2 * params[1]["W"][:, 0] * mask1, w2 * params[1]["W"][:, 0] * mask2
        K = 0.0
        if readout:
            K = K + w2**2 * (a1 @ a2.T) + (b2m**2 if bias else 0.0)
        if hidden:
            K = K + w1**2 * (x1 @ x2.T) * (g1 @ g2.T) + (b1m**2 * (g1 @ g2.T) if bias else 0.0)
        return np.asarray(K)

    return slip


TWO_LAYER_SLIPS = (
    (
        "You left out the bias terms: each layer adds b_mult^2 (G G'^T) (1 for the read-out bias).",
        _two_layer_slip(bias=False),
    ),
    (
        "You have only the hidden layer's term: add the read-out layer's w2^2 relu(h) relu(h')^T + b2^2.",
        _two_layer_slip(readout=False),
    ),
    (
        (
            "You have only the read-out layer's term (the random-features kernel): add the hidden layer's "
            "(input Gram) * (sensitivity Gram)."
        ),
        _two_layer_slip(hidden=False),
    ),
    (
        "The hidden layer's sensitivity needs relu'(h) = (h > 0): g = w2 * W2[:, 0] * (h > 0).",
        _two_layer_slip(relu_prime=False),
    ),
    (
        (
            "The weight multipliers are missing: in NTK parameterization h = w_mult * (x @ W) + b_mult * b, "
            "and each layer's Gram carries w_mult^2."
        ),
        _two_layer_slip(scales=False),
    ),
)


def check_two_layer_ntk(student_fn: Callable) -> Verdict:
    """Exercise 03.two_layer_ntk: the per-layer formula for a one-hidden-layer net vs ``empirical_ntk``.

    A wrong answer that matches one of ``TWO_LAYER_SLIPS`` (no bias terms, one layer missing,
    no relu', no multipliers) is told which.
    """
    return check_function_slips(
        student_fn,
        lambda model, params, x1, x2: np.asarray(empirical_ntk(model, params, x1, x2, method="jacobian")),
        _two_layer_cases(),
        slips=TWO_LAYER_SLIPS,
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


def _relu_limit_slip(kind):
    """What ``relu_ntk_limit`` returns with one typical slip."""

    def slip(gamma, sw2, sb2):
        gamma = np.asarray(gamma, dtype=np.float64)
        sigma1 = sw2 * np.cos(gamma) / 2 + (0.0 if kind == "no_sb2_first" else sb2)
        var1 = sw2 / 2 + (0.0 if kind == "no_sb2_first" else sb2)
        cos_t = np.clip(sigma1 / var1, -1.0, 1.0)
        t = np.arccos(cos_t)
        kappa1 = (np.sin(t) + (np.pi - t) * cos_t) / (2 * np.pi)
        kappa0 = (np.pi - t) / (2 * np.pi)
        sigma2 = sw2 * var1 * kappa1 + sb2
        if kind == "nngp":
            return sigma2
        if kind == "no_sw2_derivative":
            return sigma2 + kappa0 * sigma1
        if kind == "unnormalised":  # the correlation taken as Sigma_1 itself, not Sigma_1 / Sigma_1(x, x)
            t = np.arccos(np.clip(sigma1, -1.0, 1.0))
            kappa1 = (np.sin(t) + (np.pi - t) * np.cos(t)) / (2 * np.pi)
            return sw2 * var1 * kappa1 + sb2 + sw2 * (np.pi - t) / (2 * np.pi) * sigma1
        return sigma2 + sw2 * kappa0 * sigma1

    return slip


RELU_LIMIT_SLIPS = (
    (
        "That is the NNGP kernel Sigma_2 alone: the NTK adds the derivative term sw2 kappa0 Theta_1.",
        _relu_limit_slip("nngp"),
    ),
    (
        "The derivative term is dot Sigma_2 Theta_1 with dot Sigma_2 = sw2 kappa0: the factor sw2 is missing.",
        _relu_limit_slip("no_sw2_derivative"),
    ),
    (
        "The first layer's covariance is Sigma_1 = sw2 x.x' / d + sb2: include sb2 (in Sigma_1(x, x) too).",
        _relu_limit_slip("no_sb2_first"),
    ),
    (
        "The arc-cosine formulas need the correlation cos t = Sigma_1(x, x') / Sigma_1(x, x), not Sigma_1 itself.",
        _relu_limit_slip("unnormalised"),
    ),
)


def check_relu_ntk_limit(student_fn: Callable) -> Verdict:
    """Exercise 03.relu_ntk_limit: the one-hidden-layer ReLU NTK on the circle vs ``analytic_ntk``.

    A wrong answer that matches one of ``RELU_LIMIT_SLIPS`` is told which slip it made.
    """
    gammas = np.linspace(-np.pi, np.pi, 13)
    cases = [(gammas, 2.0, 0.0), (gammas, 2.0, 0.1), (gammas, 1.0, 0.5)]
    return check_function_slips(
        student_fn,
        _relu_limit_reference,
        cases,
        slips=RELU_LIMIT_SLIPS,
        rtol=1e-8,
        atol=1e-10,
        what="relu_ntk_limit(gamma, sw2, sb2)",
        hint=(
            "Sigma_1 = sw2 cos(gamma) / 2 + sb2 (d = 2); normalise by Sigma_1(x, x) to get the correlation; "
            "Theta = sw2 Sigma_1(x,x) kappa1 + sb2 + sw2 kappa0 Sigma_1."
        ),
    )


__all__ = [
    "RELU_LIMIT_SLIPS",
    "TWO_LAYER_SLIPS",
    "check_relu_ntk_limit",
    "check_two_layer_ntk",
    "relu_ntk_limit",
    "two_layer_ntk",
]
