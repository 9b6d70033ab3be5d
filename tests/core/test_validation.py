"""Every bad input gets a ValueError that says what was expected."""

import jax.numpy as jnp
import numpy as np
import pytest

import course_utils as cu

MODEL = cu.MLP(in_dim=2, width=8, depth=2)
PARAMS = MODEL.init(cu.key(0))
X = cu.circle_grid(5)[1]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(in_dim=2, width=0), "width"),
        (dict(in_dim=2, width=-3), "width"),
        (dict(in_dim=2, width=2.5), "width"),
        (dict(in_dim=0, width=4), "in_dim"),
        (dict(in_dim=2, width=4, depth=0), "depth"),
        (dict(in_dim=2, width=4, activation="sigmoid"), "activation"),
        (dict(in_dim=2, width=4, parameterization="xavier"), "parameterization"),
        (dict(in_dim=2, width=4, sw2=-1.0), "sw2"),
        (dict(in_dim=2, width=4, sb2=float("nan")), "sb2"),
    ],
)
def test_bad_model_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cu.MLP(**kwargs)


@pytest.mark.parametrize(
    "x, message",
    [
        (jnp.ones(5), "shape"),
        (jnp.ones((5, 3)), "in_dim=2"),
        (jnp.ones((2, 5, 2)), "shape"),
        (jnp.full((3, 2), jnp.nan), "NaN"),
        ("abc", "numeric"),
    ],
)
def test_bad_inputs_everywhere(x, message):
    with pytest.raises(ValueError, match=message):
        MODEL.apply(PARAMS, x)
    with pytest.raises(ValueError, match=message):
        cu.empirical_ntk(MODEL, PARAMS, x)
    with pytest.raises(ValueError, match=message):
        cu.empirical_ntk(MODEL, PARAMS, X, x)
    with pytest.raises(ValueError, match=message):
        cu.analytic_ntk(MODEL, x)


def test_bad_method_activation_parameterization_for_kernels():
    with pytest.raises(ValueError, match="method"):
        cu.empirical_ntk(MODEL, PARAMS, X, method="fast")
    with pytest.raises(ValueError, match="relu' and 'erf"):
        cu.analytic_ntk(cu.MLP(in_dim=2, width=4, activation="tanh"), X)
    with pytest.raises(ValueError, match="parameterization"):
        cu.analytic_nngp(cu.MLP(in_dim=2, width=4, parameterization="mup"), X)
    with pytest.raises(ValueError, match="MLP"):
        cu.empirical_ntk("not a model", PARAMS, X)


def test_params_of_another_model():
    other = cu.MLP(in_dim=2, width=16, depth=2).init(cu.key(0))
    with pytest.raises(ValueError, match="another model"):
        cu.empirical_ntk(MODEL, other, X)
    with pytest.raises(ValueError, match="layers"):
        MODEL.apply(other[:2], X)


def test_gradient_flow_bad_input():
    K = np.eye(3)
    with pytest.raises(ValueError, match="square"):
        cu.GradientFlow(np.ones((3, 4)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="symmetric"):
        cu.GradientFlow(np.array([[1.0, 2.0], [0.0, 1.0]]), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        cu.GradientFlow(K, np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match="f0"):
        cu.GradientFlow(K, np.zeros(3), np.zeros((3, 1)))
    flow = cu.GradientFlow(K, np.zeros(3), np.ones(3))
    for bad_t, message in [(-1.0, ">= 0"), (np.inf, "finite"), (np.nan, "finite"), (np.ones((2, 2)), "1-D"), ("soon", "number")]:
        with pytest.raises(ValueError, match=message):
            flow.outputs(bad_t)
    with pytest.raises(ValueError, match=r"\(m, 3\)"):
        flow.predict(1.0, np.ones((2, 4)), np.zeros(2))
    with pytest.raises(ValueError, match="f0_star"):
        flow.predict(1.0, np.ones((2, 3)), np.zeros(3))


def test_train_bad_input():
    y = jnp.zeros(5)
    with pytest.raises(ValueError, match="lr"):
        cu.train(MODEL.apply, PARAMS, X, y, lr=0.0, steps=3)
    with pytest.raises(ValueError, match="lr"):
        cu.train(MODEL.apply, PARAMS, X, y, lr=float("inf"), steps=3)
    with pytest.raises(ValueError, match="steps"):
        cu.train(MODEL.apply, PARAMS, X, y, lr=0.1, steps=-1)
    with pytest.raises(ValueError, match="record_every"):
        cu.train(MODEL.apply, PARAMS, X, y, lr=0.1, steps=3, record_every=0)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        cu.train(MODEL.apply, PARAMS, X, jnp.zeros(4), lr=0.1, steps=3)
    with pytest.raises(ValueError, match="in_dim=2"):
        cu.train(MODEL.apply, PARAMS, jnp.ones((5, 3)), y, lr=0.1, steps=3)
    with pytest.raises(ValueError, match="function"):
        cu.train(None, PARAMS, X, y, lr=0.1, steps=3)
    with pytest.raises(ValueError, match="function"):
        cu.linearize(42, PARAMS)


def test_data_helpers_bad_input():
    with pytest.raises(ValueError, match="n must"):
        cu.circle_grid(0)
    with pytest.raises(ValueError, match="dim"):
        cu.sphere_points(0, 4, 0)
    with pytest.raises(ValueError, match="amplitudes"):
        cu.fourier_target(np.zeros(3), [1, 2], [1.0])


def test_checked_inputs_do_not_share_the_callers_buffer():
    # jax.device_put shares a numpy buffer on the CPU: a checked input must be a private copy,
    # or a student who reuses an array would change data already handed to the course.
    from course_utils import _validate

    x = np.asarray(cu.circle_grid(5)[1]).copy()
    y = np.linspace(0.0, 1.0, 5)
    x_checked, y_checked = _validate.as_inputs(x, 2), _validate.as_vector(y, 5, "y")
    lr = np.array([0.1, 0.2])
    lr_checked = _validate.to_jax(lr)
    x[0, 0], y[0], lr[0] = 99.0, 99.0, 99.0
    assert float(x_checked[0, 0]) != 99.0 and float(y_checked[0]) != 99.0 and float(lr_checked[0]) == 0.1
    assert x_checked.dtype == y_checked.dtype == jnp.float64
    assert _validate.to_jax(np.arange(3), np.int32).dtype == jnp.int32
    already = jnp.ones(3)
    assert _validate.to_jax(already) is already  # nothing copied for what is already a float64 JAX array
