"""Input checks shared by the public functions.

Every public entry point of ``course_utils`` runs its arguments through these helpers
first, so that a student who passes a wrong shape gets one sentence that says what was
expected instead of a JAX tracing error from deep inside a jitted function.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np


def to_jax(value, dtype=np.float64, *, copy: bool = True) -> jax.Array:
    """``value`` as a JAX array of ``dtype``, without compiling anything.

    ``jnp.asarray`` of a numpy array compiles a small copy program for every new shape (10-25 ms
    each, which adds up to seconds in a fresh kernel); ``jax.device_put`` does not. On the CPU it
    shares the numpy buffer, so it is handed a private copy unless ``copy=False`` says that nobody
    else holds the array (a fresh draw). A JAX array that already has ``dtype`` is returned as it is.
    """
    if isinstance(value, jax.Array) and value.dtype == dtype:
        return value
    if isinstance(value, jax.core.Tracer):
        return jnp.asarray(value, dtype=dtype)
    return jax.device_put(np.array(value, dtype=dtype, copy=True) if copy else np.asarray(value, dtype=dtype))


def as_inputs(x, in_dim: int | None = None, name: str = "x") -> jnp.ndarray:
    """Return ``x`` as a float64 array of shape (n, in_dim), or raise ValueError.

    The checks run in numpy on concrete values, so they also work when called while a jitted
    function is being traced with ``x`` as a closed-over constant.
    """
    if isinstance(x, jax.core.Tracer):
        if x.ndim != 2 or (in_dim is not None and x.shape[1] != in_dim):
            raise ValueError(f"{name} must have shape (n, {in_dim if in_dim is not None else 'in_dim'}); got {tuple(x.shape)}")
        return x
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array of shape (n, in_dim); got {type(x).__name__}") from err
    if arr.ndim != 2:
        expected = f"(n, {in_dim})" if in_dim is not None else "(n, in_dim)"
        raise ValueError(f"{name} must have shape {expected}; got an array of shape {tuple(arr.shape)}")
    if in_dim is not None and arr.shape[1] != in_dim:
        raise ValueError(
            f"{name} has {arr.shape[1]} features per row but the model expects in_dim={in_dim}; "
            f"got shape {tuple(arr.shape)}"
        )
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must contain at least one row; got shape {tuple(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return to_jax(x if isinstance(x, jax.Array) else arr)


def as_vector(v, n: int, name: str) -> jnp.ndarray:
    """Return ``v`` as a float64 vector of length ``n``, or raise ValueError."""
    if isinstance(v, jax.core.Tracer):
        if v.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},); got {tuple(v.shape)}")
        return v
    try:
        arr = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric vector of shape ({n},)") from err
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},); got {tuple(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return to_jax(v if isinstance(v, jax.Array) else arr)


def positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def finite_float(value, name: str, *, minimum: float | None = None, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if minimum is not None:
        if strict and value <= minimum:
            raise ValueError(f"{name} must be > {minimum}; got {value}")
        if not strict and value < minimum:
            raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def times(t, name: str = "t") -> tuple[np.ndarray, bool]:
    """Validate a time or an array of times: finite and >= 0.

    Returns the times as a float64 numpy array of shape (T,) and whether the input was a
    scalar, so callers can give a scalar answer back for a scalar question.
    """
    try:
        arr = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number or a 1-D array of numbers; got {t!r}") from err
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (use predict_limit for t -> infinity); got {t!r}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (time runs forward from initialisation); got {t!r}")
    return np.atleast_1d(arr), arr.ndim == 0


def choice(value, options, name: str) -> str:
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, options))}")
    return value
