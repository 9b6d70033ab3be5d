"""Small synthetic data sets. Every random draw takes an explicit seed or key."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate


def key(seed: int):
    """A JAX PRNG key from an integer seed (``jax.random.PRNGKey(seed)``)."""
    _validate.positive_int(seed, "seed", minimum=0)
    return jax.random.PRNGKey(seed)


def _as_key(seed_or_key):
    if isinstance(seed_or_key, (int, np.integer)) and not isinstance(seed_or_key, bool):
        return key(int(seed_or_key))
    return seed_or_key


def circle_points(angles) -> jnp.ndarray:
    """Points ``(cos gamma, sin gamma)`` on the unit circle, shape (n, 2)."""
    # checked in numpy (jnp.atleast_1d would compile a program per shape); traced angles stay traced
    xp = jnp if isinstance(angles, jax.core.Tracer) else np
    angles = xp.atleast_1d(xp.asarray(angles, dtype=xp.float64))
    if angles.ndim != 1:
        raise ValueError(f"angles must be a scalar or a 1-D array; got shape {tuple(angles.shape)}")
    return _circle_points(angles)


# The helpers below are compiled once per shape: op by op, each JAX operation of a new shape
# compiles on its own on first use (10-50 ms each).
@jax.jit
def _circle_points(angles):
    return jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1)


def circle_grid(n: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """``n`` equally spaced angles in [0, 2 pi) and their points on the unit circle."""
    n = _validate.positive_int(n, "n")
    angles = jnp.arange(n, dtype=jnp.float64) * (2 * np.pi / n)
    return angles, circle_points(angles)


def random_circle(seed_or_key, n: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """``n`` uniformly random angles (sorted) and their points on the unit circle."""
    n = _validate.positive_int(n, "n")
    angles = _sorted_uniform(_as_key(seed_or_key), n, 0.0, 2 * np.pi)
    return angles, circle_points(angles)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _sorted_uniform(key, n: int, low: float, high: float):
    return jnp.sort(jax.random.uniform(key, (n,), dtype=jnp.float64, minval=low, maxval=high))


def sphere_points(seed_or_key, n: int, dim: int) -> jnp.ndarray:
    """``n`` points drawn uniformly on the unit sphere in ``dim`` dimensions, shape (n, dim)."""
    n = _validate.positive_int(n, "n")
    dim = _validate.positive_int(dim, "dim")
    return _sphere_points(_as_key(seed_or_key), n, dim)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _sphere_points(key, n: int, dim: int):
    g = jax.random.normal(key, (n, dim), dtype=jnp.float64)
    return g / jnp.linalg.norm(g, axis=1, keepdims=True)


def fourier_target(angles, frequencies=(1,), amplitudes=None) -> jnp.ndarray:
    """``sum_k a_k cos(k gamma)`` on the circle: a target with known frequency content."""
    angles = jnp.asarray(angles, dtype=jnp.float64)
    frequencies = [int(k) for k in np.atleast_1d(frequencies)]
    amplitudes = np.ones(len(frequencies)) if amplitudes is None else np.atleast_1d(amplitudes)
    if len(amplitudes) != len(frequencies):
        raise ValueError(f"got {len(frequencies)} frequencies but {len(amplitudes)} amplitudes")
    return sum(float(a) * jnp.cos(k * angles) for k, a in zip(frequencies, amplitudes))


def regression_1d(seed_or_key, n: int, *, noise: float = 0.0, low: float = -1.0, high: float = 1.0):
    """A 1-D regression set: sorted inputs in [low, high] as (n, 1) and ``sin(3x) + noise`` targets.

    Returns ``(x, y)``. With ``noise = 0`` the targets are exact.
    """
    n = _validate.positive_int(n, "n")
    noise = _validate.finite_float(noise, "noise", minimum=0.0)
    k1, k2 = jax.random.split(_as_key(seed_or_key))
    x = jnp.sort(jax.random.uniform(k1, (n,), dtype=jnp.float64, minval=low, maxval=high))
    y = target_1d(x) + noise * jax.random.normal(k2, (n,), dtype=jnp.float64)
    return x[:, None], y


def target_1d(x) -> jnp.ndarray:
    """The smooth 1-D target used across the course, ``sin(3x) + 0.3 x``."""
    x = jnp.asarray(x, dtype=jnp.float64)
    return jnp.sin(3 * x) + 0.3 * x


def with_bias_feature(x) -> jnp.ndarray:
    """Append a constant feature 1 to 1-D inputs so a bias-free net can fit offsets: (n, 1) -> (n, 2)."""
    x = jnp.asarray(x, dtype=jnp.float64)
    if x.ndim == 1:
        x = x[:, None]
    return jnp.concatenate([x, jnp.ones_like(x[:, :1])], axis=1)


def two_harmonic_target(angles) -> jnp.ndarray:
    """The circle target of notebooks 05-06, ``cos(gamma) + 0.5 cos(2 gamma)``: one slow and one faster mode."""
    return fourier_target(angles, (1, 2), (1.0, 0.5))


def circle_problem(seed: int, n: int):
    """``n`` random points on the unit circle (seeded) with ``two_harmonic_target``: ``(angles, x, y)``."""
    angles, x = random_circle(seed, n)
    return angles, x, two_harmonic_target(angles)


def interval_problem(n: int = 8):
    """The 1-D training set of notebooks 01-02: ``n`` equally spaced inputs in [-1, 1], smooth targets.

    Returns ``(x, X, y)``: ``x`` of shape (n, 1), ``X = [x, 1]`` of shape (n, 2) (the constant
    feature plays the role of a first-layer bias) and ``y = sin(3x) + 0.3x`` of shape (n,).
    """
    n = _validate.positive_int(n, "n", minimum=2)
    x = jnp.linspace(-1.0, 1.0, n, dtype=jnp.float64)[:, None]
    return x, with_bias_feature(x), target_1d(x[:, 0])
