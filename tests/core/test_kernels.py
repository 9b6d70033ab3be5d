"""The empirical and analytic NTK against independent references."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import course_utils as cu

CIRCLE = cu.circle_grid(12)[1]


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("activation", ["relu", "erf", "tanh"])
@pytest.mark.parametrize("parameterization", ["ntk", "standard", "mup"])
def test_structured_matches_jacobian(depth, activation, parameterization):
    model = cu.MLP(in_dim=3, width=24, depth=depth, activation=activation, parameterization=parameterization, sw2=1.7, sb2=0.2)
    params = model.init(cu.key(depth))
    x1 = jax.random.normal(cu.key(10), (9, 3))
    x2 = jax.random.normal(cu.key(11), (5, 3))
    for a, b in [(x1, None), (x1, x2)]:
        fast = cu.empirical_ntk(model, params, a, b)
        reference = cu.empirical_ntk(model, params, a, b, method="jacobian")
        assert fast.dtype == jnp.float64
        assert rel_err(fast, reference) < 1e-10


def test_structured_matches_explicit_gradients():
    """A third reference: inner products of per-example gradients from jax.grad, one at a time."""
    model = cu.MLP(in_dim=2, width=16, depth=2, sb2=0.1)
    params = model.init(cu.key(3))
    x = CIRCLE[:4]
    grads = []
    for row in x:
        g = jax.grad(lambda p: model.apply(p, row[None, :])[0])(params)
        grads.append(jnp.concatenate([leaf.ravel() for leaf in jax.tree_util.tree_leaves(g)]))
    G = jnp.stack(grads)
    assert rel_err(cu.empirical_ntk(model, params, x), G @ G.T) < 1e-12


def test_without_x2_is_exactly_symmetric_and_psd():
    model = cu.MLP(in_dim=2, width=256, depth=3, sb2=0.1)
    K = np.asarray(cu.empirical_ntk(model, model.init(cu.key(0)), CIRCLE))
    assert np.array_equal(K, K.T)
    assert np.linalg.eigvalsh(K).min() > -1e-10 * np.abs(K).max()
    Ka = np.asarray(cu.analytic_ntk(model, CIRCLE))
    assert np.array_equal(Ka, Ka.T)
    assert np.linalg.eigvalsh(Ka).min() > -1e-10 * np.abs(Ka).max()


def test_x2_none_equals_x2_x1():
    model = cu.MLP(in_dim=2, width=32, depth=2)
    params = model.init(cu.key(1))
    np.testing.assert_allclose(cu.empirical_ntk(model, params, CIRCLE), cu.empirical_ntk(model, params, CIRCLE, CIRCLE), rtol=1e-13)
    np.testing.assert_allclose(cu.analytic_ntk(model, CIRCLE), cu.analytic_ntk(model, CIRCLE, CIRCLE), rtol=1e-13)


# ------------------------------------------------------------------ analytic, depth 1 by hand
def depth1_reference(x1, x2, activation, sw2, sb2):
    """The two-layer NTK written out directly from the Gaussian integrals (numpy, no recursion code).

    f = sw/sqrt(n) relu(h) . v + sb c,  h = sw/sqrt(d) W x + sb b.
    NNGP = sw2 E[phi(u)phi(v)] + sb2;  NTK = NNGP + sw2 E[phi'(u)phi'(v)] (sw2 x.x'/d + sb2).
    """
    d = x1.shape[1]
    k12 = sw2 * x1 @ x2.T / d + sb2
    k11 = (sw2 * np.sum(x1**2, 1) / d + sb2)[:, None]
    k22 = (sw2 * np.sum(x2**2, 1) / d + sb2)[None, :]
    if activation == "relu":
        rho = np.clip(k12 / np.sqrt(k11 * k22), -1, 1)
        t = np.arccos(rho)
        e_phi = np.sqrt(k11 * k22) / (2 * np.pi) * (np.sin(t) + (np.pi - t) * np.cos(t))
        e_dphi = (np.pi - t) / (2 * np.pi)
    else:  # erf (Williams 1997)
        e_phi = 2 / np.pi * np.arcsin(2 * k12 / np.sqrt((1 + 2 * k11) * (1 + 2 * k22)))
        e_dphi = 4 / np.pi / np.sqrt((1 + 2 * k11) * (1 + 2 * k22) - 4 * k12**2)
    nngp = sw2 * e_phi + sb2
    return nngp, nngp + sw2 * e_dphi * k12


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("sw2,sb2", [(2.0, 0.0), (1.0, 0.1), (1.5, 0.5)])
def test_analytic_depth1_closed_form(activation, sw2, sb2):
    x1 = np.asarray(jax.random.normal(cu.key(0), (7, 3)))
    x2 = np.asarray(jax.random.normal(cu.key(1), (4, 3)))
    model = cu.MLP(in_dim=3, width=1, depth=1, activation=activation, sw2=sw2, sb2=sb2)
    nngp, ntk = depth1_reference(x1, x2, activation, sw2, sb2)
    np.testing.assert_allclose(cu.analytic_nngp(model, x1, x2), nngp, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cu.analytic_ntk(model, x1, x2), ntk, rtol=1e-12, atol=1e-14)


def test_relu_arccos_known_values():
    """Orthogonal unit inputs, relu, sw2=2, sb2=0: NNGP = 1/pi, NTK = 1/pi + 1/2 * 0 ... by hand."""
    model = cu.MLP(in_dim=2, width=1, depth=1)
    x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    # Sigma_1 = 2/2 * x.x' -> diag 1, off 0. E[relu relu] at theta=pi/2: 1/(2pi) * (1 + 0) = 1/(2pi).
    # NNGP off = 2 * 1/(2pi) = 1/pi; diag = 2 * 1/2 = 1. NTK off = 1/pi + 2 * (1/4) * 0; diag = 1 + 2*(1/2)*1 = 2.
    np.testing.assert_allclose(cu.analytic_nngp(model, x), [[1, 1 / math.pi], [1 / math.pi, 1]], rtol=1e-14)
    np.testing.assert_allclose(cu.analytic_ntk(model, x), [[2, 1 / math.pi], [1 / math.pi, 2]], rtol=1e-14)


# ------------------------------------------------------------------ analytic, deeper: Monte Carlo
@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_analytic_nngp_matches_monte_carlo_of_outputs(activation):
    """Output covariance of many random wide depth-3 nets against the NNGP recursion."""
    model = cu.MLP(in_dim=2, width=128, depth=3, activation=activation, sw2=1.6, sb2=0.1)
    x = CIRCLE[::3]
    outputs = jax.jit(jax.vmap(lambda k: model.forward(model.init(k), x)[1]))(jax.random.split(cu.key(5), 1500))
    mc = np.asarray(outputs.T @ outputs / outputs.shape[0])
    analytic = np.asarray(cu.analytic_nngp(model, x))
    # Standard error of a second moment from 1500 draws is about sqrt(2/1500) ~ 4% of the diagonal;
    # the finite-width bias of a depth-3, width-128 net is about 1%.
    assert rel_err(mc, analytic) < 0.12


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_analytic_ntk_matches_mean_of_wide_empirical(activation):
    model = cu.MLP(in_dim=2, width=2048, depth=3, activation=activation, sw2=1.6, sb2=0.1)
    x = CIRCLE[::2]
    kernels = [cu.empirical_ntk(model, model.init(cu.key(s)), x) for s in range(6)]
    assert rel_err(np.mean(kernels, axis=0), cu.analytic_ntk(model, x)) < 0.05


def test_empirical_converges_to_analytic_as_width_grows():
    x = CIRCLE
    errors = []
    for width in [64, 512, 4096]:
        model = cu.MLP(in_dim=2, width=width, depth=2, sb2=0.1)
        analytic = cu.analytic_ntk(model, x)
        errors.append(np.mean([rel_err(cu.empirical_ntk(model, model.init(cu.key(s)), x), analytic) for s in range(4)]))
    assert errors[0] > errors[1] > errors[2]
    # Fluctuations shrink like width^-1/2: a 64x wider net should be at least 4x closer.
    assert errors[2] < errors[0] / 4


def test_same_key_gives_identical_arrays():
    model = cu.MLP(in_dim=2, width=64, depth=2, sb2=0.1)
    p1, p2 = model.init(cu.key(7)), model.init(cu.key(7))
    for a, b in zip(jax.tree_util.tree_leaves(p1), jax.tree_util.tree_leaves(p2)):
        assert np.array_equal(a, b)
    assert np.array_equal(cu.empirical_ntk(model, p1, CIRCLE), cu.empirical_ntk(model, p2, CIRCLE))
    assert not np.array_equal(model.init(cu.key(8))[0]["W"], p1[0]["W"])


def test_ntk_flops_counts_the_three_parts():
    model = cu.MLP(in_dim=2, width=4, depth=1)
    # forward 2n(2*4 + 4*1) + backward 2n(4*1) + grams 2 n^2 ((2+4) + (4+1)), n = 3
    assert cu.ntk_flops(model, 3) == 2 * 3 * 12 + 2 * 3 * 4 + 2 * 9 * 11


# ------------------------------------------------------------------ analytic: exact on identical inputs
def relu_diagonal(sq_norm, d, depth, sw2, sb2):
    """Closed form of Theta(x, x) for relu: on the diagonal cos = 1, so E[relu(u)^2] = q / 2, E[relu'^2] = 1/2."""
    q = sw2 * sq_norm / d + sb2
    theta = q
    for _ in range(depth):
        q = sw2 * (q / 2) + sb2
        theta = q + sw2 * 0.5 * theta
    return q, theta


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("sw2,sb2", [(1.0, 0.0), (2.0, 0.1)])
def test_relu_diagonal_is_exact(depth, sw2, sb2):
    # The case: 32 equispaced circle points, K[13, 13] came out 0.4999999983 instead of 0.5.
    x = np.asarray(cu.circle_grid(32)[1])
    model = cu.MLP(in_dim=2, width=1, depth=depth, sw2=sw2, sb2=sb2)
    K, S = np.asarray(cu.analytic_ntk(model, x)), np.asarray(cu.analytic_nngp(model, x))
    q, theta = relu_diagonal(np.sum(x * x, axis=1), 2, depth, sw2, sb2)
    # Two ulps: the recursion's rounding, not arccos's 1e-8 near cos = 1.
    np.testing.assert_allclose(np.diag(K), theta, rtol=4.5e-16, atol=0)
    np.testing.assert_allclose(np.diag(S), q, rtol=4.5e-16, atol=0)
    if depth == 1 and sw2 == 1.0 and sb2 == 0.0:
        assert abs(K[13, 13] - 0.5) <= 2.3e-16


def test_repeated_rows_of_x2_give_the_diagonal_value_exactly():
    x = np.asarray(jax.random.normal(cu.key(3), (9, 5)))
    x2 = x[[4, 0, 4, 8]]
    model = cu.MLP(in_dim=5, width=1, depth=4, sb2=0.1)
    K = np.asarray(cu.analytic_ntk(model, x))
    K2 = np.asarray(cu.analytic_ntk(model, x, x2))
    for j, i in enumerate([4, 0, 4, 8]):
        assert K2[i, j] == K[i, i]
    # and the kernel with a duplicated training point is still exactly symmetric with equal rows
    xd = np.concatenate([x, x[:1]])
    Kd = np.asarray(cu.analytic_ntk(model, xd))
    np.testing.assert_array_equal(Kd, Kd.T)
    np.testing.assert_array_equal(Kd[0], Kd[-1])


def test_identical_rows_finds_exact_matches_only():
    from course_utils.kernels import identical_rows

    a = np.array([[0.0, 1.0], [2.0, 3.0], [-0.0, 1.0]])
    b = np.array([[2.0, 3.0], [0.0, 1.0 + 1e-16], [0.0, 1.0], [2.0, 3.0 + 4e-16]])
    np.testing.assert_array_equal(
        identical_rows(a, b),
        [[False, True, True, False], [True, False, False, False], [False, True, True, False]],
    )


# ------------------------------------------------------------------ per-layer contributions
@pytest.mark.parametrize("depth", [1, 3])
def test_layer_contributions_sum_to_the_kernel(depth):
    model = cu.MLP(in_dim=2, width=64, depth=depth, sb2=0.1)
    params = model.init(cu.key(1))
    terms = cu.ntk_layer_contributions(model, params, CIRCLE)
    assert len(terms) == depth + 1
    np.testing.assert_allclose(sum(terms), cu.empirical_ntk(model, params, CIRCLE), rtol=1e-12)
    # The read-out term is the feature Gram matrix (plus the bias): w_mult^2 phi(h) phi(h)^T.
    hidden, _ = model.forward(params, CIRCLE)
    features = jax.nn.relu(hidden[-1])
    w_mult = model.layer_scales()[-1].w_mult
    np.testing.assert_allclose(terms[-1], w_mult**2 * features @ features.T + model.sb2, rtol=1e-12)
    cross = cu.ntk_layer_contributions(model, params, CIRCLE[:5], CIRCLE[3:])
    np.testing.assert_allclose(sum(cross), cu.empirical_ntk(model, params, CIRCLE[:5], CIRCLE[3:]), rtol=1e-12)
