"""Notebook 03's exercises: the structured NTK of a one-hidden-layer network, and its analytic limit."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..data import circle_points
from ..kernels import analytic_ntk, empirical_ntk
from ..models import MLP
from .checks import Verdict, check_function, solution


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


def check_two_layer_ntk(student_fn: Callable) -> Verdict:
    """Exercise 03.two_layer_ntk: the per-layer formula for a one-hidden-layer net vs ``empirical_ntk``."""
    return check_function(
        student_fn,
        lambda model, params, x1, x2: np.asarray(empirical_ntk(model, params, x1, x2, method="jacobian")),
        _two_layer_cases(),
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


def check_relu_ntk_limit(student_fn: Callable) -> Verdict:
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


__all__ = ["check_relu_ntk_limit", "check_two_layer_ntk", "relu_ntk_limit", "two_layer_ntk"]
