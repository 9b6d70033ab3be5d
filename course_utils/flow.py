"""Gradient flow of the squared loss in the kernel (lazy) regime, solved in closed form.

With ``L = 1/2 ||f(X) - y||^2`` and a constant kernel matrix ``K`` the training outputs obey
``d f/dt = -K (f - y)``, so ``f(t) - y = exp(-K t) (f(0) - y)``. One eigendecomposition
``K = U diag(lambda) U^T`` turns every later time into a cheap product, which is what makes
a time slider instant. (neural-tangents' ``predict.gradient_descent_mse`` uses the same idea.)
"""

from __future__ import annotations

import numpy as np

from . import _validate


def _decay(lam, t, lr):
    """How much of an eigen-direction's residual is left at time t.

    Gradient flow (``lr = 0``): ``exp(-lambda t)``. Gradient descent with step ``lr``:
    ``(1 - lr lambda)^k`` after ``k = t / lr`` steps (rounded to whole steps), which is
    negative (oscillating) for ``lr lambda > 1`` and grows for ``lr lambda > 2``.
    """
    if lr == 0.0:
        return np.exp(-lam * t)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.power(1.0 - lr * lam, np.round(t / lr))


def _integrated_decay(lam, t, lr):
    """``(1 - decay) / lambda``, equal to ``t`` where ``lambda = 0``.

    For the flow it is the integral of ``exp(-lambda s)`` over ``[0, t]`` (expm1 keeps it
    accurate when ``lambda t`` is tiny); for gradient descent, ``lr`` times the sum of the
    first k powers of ``1 - lr lambda``.
    """
    positive = lam > 0
    safe = np.where(positive, lam, 1.0)
    if lr == 0.0:
        return np.where(positive, -np.expm1(-lam * t) / safe, t)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(positive, (1.0 - _decay(lam, t, lr)) / safe, lr * np.round(t / lr))


# The flow runs in numpy, not JAX: its arrays are small (n <= 2000), each call is a few BLAS
# products, and numpy compiles nothing. In JAX every new shape and every learning rate cost a
# compilation of each operation on first use (about 1 s per new kernel size), paid again
# whenever the memory budget released the compiled programs.


class GradientFlow:
    """Closed-form gradient flow ``f(t) = y + exp(-K t) (f0 - y)`` on the training set.

    Parameters
    ----------
    K : (n, n) symmetric positive semi-definite kernel matrix on the training inputs.
    y : (n,) targets.
    f0 : (n,) outputs at initialisation.
    lr : 0 (default) for gradient flow; a learning rate for gradient descent on the same
        linear model, ``r_{k+1} = (I - lr K) r_k``, read at time ``t = lr k`` (rounded to whole
        steps). A network trained with that learning rate should be compared with this one:
        at ``lr lambda_max = 0.1`` the two already differ by a few percent of the residual.

    Everything is computed in numpy and returned as numpy arrays.

    Attributes
    ----------
    eigenvalues : (n,) eigenvalues of K in descending order (tiny negative round-off clipped to 0).
    eigenvectors : (n, n) matching orthonormal eigenvectors, one per column.
    initial_residual_coefficients : (n,) components of ``f0 - y`` along the eigenvectors.
    """

    def __init__(self, K, y, f0, lr=0.0):
        try:
            K = np.asarray(K, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError("K must be a square numeric matrix of shape (n, n)") from err
        if K.ndim != 2 or K.shape[0] != K.shape[1]:
            raise ValueError(f"K must be a square matrix of shape (n, n); got shape {tuple(K.shape)}")
        if not np.all(np.isfinite(K)):
            raise ValueError("K contains NaN or infinite values")
        scale = float(np.max(np.abs(K))) or 1.0
        if float(np.max(np.abs(K - K.T))) > 1e-8 * scale:
            raise ValueError("K must be symmetric (a kernel matrix on one set of inputs)")
        n = K.shape[0]
        self.lr = _validate.finite_float(lr, "lr", minimum=0.0)
        self.y = np.asarray(_validate.as_vector(y, n, "y"))
        self.f0 = np.asarray(_validate.as_vector(f0, n, "f0"))
        lam, U = np.linalg.eigh(0.5 * (K + K.T))
        self.eigenvalues = np.maximum(lam[::-1], 0.0)  # descending: mode 0 is the fastest
        self.eigenvectors = np.ascontiguousarray(U[:, ::-1])
        # A row-major copy of U^T, so that each time value is one contiguous (n,) x (n, n) product.
        self._eigenvectors_T = np.ascontiguousarray(self.eigenvectors.T)
        # U^T r0 computed once; later times only rescale these n numbers.
        self.initial_residual_coefficients = (self.f0 - self.y) @ self.eigenvectors
        self.n = n

    # -------------------------------------------------------------- training set
    def residual_coefficients(self, t):
        """Components of ``f(t) - y`` along each eigenvector: ``exp(-lambda_k t) (U^T r0)_k``."""
        times, scalar = _validate.times(t)
        coeffs = _decay(self.eigenvalues[None, :], times[:, None], self.lr) * self.initial_residual_coefficients
        return coeffs[0] if scalar else coeffs

    def outputs(self, t):
        """Training-set outputs: shape (n,) for a scalar t, (T, n) for t of shape (T,)."""
        times, scalar = _validate.times(t)
        decay = _decay(self.eigenvalues[None, :], times[:, None], self.lr)  # (T, n)
        out = self.y[None, :] + (decay * self.initial_residual_coefficients[None, :]) @ self._eigenvectors_T
        return out[0] if scalar else out

    def loss(self, t):
        """``1/2 ||f(t) - y||^2``: scalar for scalar t, (T,) for an array."""
        coeffs = self.residual_coefficients(t)
        return 0.5 * np.sum(coeffs**2, axis=-1)

    # -------------------------------------------------------------- any input
    def _check_star(self, K_star, f0_star):
        try:
            K_star = np.asarray(K_star, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"K_star must be a numeric matrix of shape (m, {self.n})") from err
        if K_star.ndim != 2 or K_star.shape[1] != self.n:
            raise ValueError(
                f"K_star must have shape (m, {self.n}) = K(x_test, x_train); got {tuple(K_star.shape)}"
            )
        f0_star = np.asarray(_validate.as_vector(f0_star, K_star.shape[0], "f0_star"))
        return K_star, f0_star

    def predict(self, t, K_star, f0_star):
        """Outputs at any inputs: ``f_t(x) = f_0(x) - K(x, X) K^-1 (I - exp(-K t)) (f_0(X) - y)``.

        ``K^-1 (I - exp(-K t))`` is applied in the eigenbasis as ``(1 - exp(-lambda t)) / lambda``,
        which tends to ``t`` at a zero eigenvalue, so singular kernels are safe.
        K_star : (m, n) kernel between the new inputs and the training inputs.
        f0_star : (m,) outputs of the network at initialisation on the new inputs.
        Returns (m,) for scalar t, (T, m) for t of shape (T,).
        """
        times, scalar = _validate.times(t)
        K_star, f0_star = self._check_star(K_star, f0_star)
        UT_Kstar = self._eigenvectors_T @ K_star.T
        out = self._predict_from(times, UT_Kstar, f0_star)
        return out[0] if scalar else out

    def _predict_from(self, times, UT_Kstar, f0_star):
        weights = _integrated_decay(self.eigenvalues[None, :], times[:, None], self.lr)
        return f0_star[None, :] - (weights * self.initial_residual_coefficients[None, :]) @ UT_Kstar

    def predictor(self, K_star, f0_star):
        """A fast function ``t -> predict(t, K_star, f0_star)`` for a time slider.

        Precomputes ``U^T K_star^T`` once so each call is one (n,) x (n, m) product.
        """
        K_star, f0_star = self._check_star(K_star, f0_star)
        UT_Kstar = np.ascontiguousarray(self._eigenvectors_T @ K_star.T)

        def at(t):
            times, scalar = _validate.times(t)
            out = self._predict_from(times, UT_Kstar, f0_star)
            return out[0] if scalar else out

        return at

    def predict_limit(self, K_star, f0_star):
        """The t -> infinity prediction: ``f_0(x) - K(x, X) K^+ (f_0(X) - y)`` (kernel regression).

        Uses the pseudo-inverse (eigenvalues below ``1e-12 * lambda_max`` are treated as zero).
        """
        K_star, f0_star = self._check_star(K_star, f0_star)
        lam = self.eigenvalues
        cutoff = 1e-12 * float(lam[0])
        inv = np.where(lam > cutoff, 1.0 / np.where(lam > cutoff, lam, 1.0), 0.0)
        return f0_star - K_star @ (self.eigenvectors @ (inv * self.initial_residual_coefficients))


def kernel_regression(K_train, y, K_star, ridge: float = 0.0):
    """Kernel (ridge) regression ``K_star (K_train + ridge I)^-1 y`` by a symmetric solve."""
    K_train = np.asarray(K_train, dtype=np.float64)
    n = K_train.shape[0]
    if K_train.ndim != 2 or K_train.shape[1] != n:
        raise ValueError(f"K_train must be square; got shape {tuple(K_train.shape)}")
    y = _validate.as_vector(y, n, "y")
    K_star = np.asarray(K_star, dtype=np.float64)
    if K_star.ndim != 2 or K_star.shape[1] != n:
        raise ValueError(f"K_star must have shape (m, {n}); got {tuple(K_star.shape)}")
    ridge = _validate.finite_float(ridge, "ridge", minimum=0.0)
    alpha = np.linalg.solve(K_train + ridge * np.eye(n), np.asarray(y))
    return K_star @ alpha


def discrete_residuals(K, r0, lr, steps):
    """Residuals of gradient descent on the linear model: ``r_{k+1} = (I - lr K) r_k``.

    Returns (steps + 1, n). Stable iff ``lr < 2 / lambda_max(K)``.
    """
    K = np.asarray(K, dtype=np.float64)
    r = np.asarray(r0, dtype=np.float64)
    lr = _validate.finite_float(lr, "lr", minimum=0.0, strict=True)
    steps = _validate.positive_int(steps, "steps", minimum=0)
    out = [r]
    step = np.eye(K.shape[0]) - lr * K
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            r = step @ r
            out.append(r)
    return np.stack(out)

