"""The MLP: shapes, parameterizations, hashing, determinism."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import course_utils as cu


def test_frozen_and_hashable_config():
    a = cu.MLP(in_dim=2, width=8)
    b = cu.MLP(in_dim=2, width=8, depth=1, activation="relu", parameterization="ntk", sw2=2, sb2=0)
    assert a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1
    with pytest.raises(Exception):
        a.width = 16  # frozen


def test_apply_shape_and_layer_shapes():
    model = cu.MLP(in_dim=3, width=5, depth=3)
    params = model.init(cu.key(0))
    assert [p["W"].shape for p in params] == [(3, 5), (5, 5), (5, 5), (5, 1)]
    assert model.num_params == sum(p["W"].size + p["b"].size for p in params)
    out = model.apply(params, jnp.ones((4, 3)))
    assert out.shape == (4,) and out.dtype == jnp.float64


def test_ntk_parameterization_by_hand():
    model = cu.MLP(in_dim=2, width=3, depth=1, sw2=2.0, sb2=0.25)
    params = model.init(cu.key(1))
    x = np.array([[0.3, -1.2]])
    W1, b1, W2, b2 = (np.asarray(params[0]["W"]), np.asarray(params[0]["b"]), np.asarray(params[1]["W"]), np.asarray(params[1]["b"]))
    h = math.sqrt(2) / math.sqrt(2) * x @ W1 + 0.5 * b1
    expected = math.sqrt(2) / math.sqrt(3) * np.maximum(h, 0) @ W2 + 0.5 * b2
    np.testing.assert_allclose(model.apply(params, x), expected[:, 0], rtol=1e-14)


def test_parameterizations_agree_in_distribution_at_init():
    """NTK and standard give the same output variance at init; muP's output shrinks with width."""
    x = cu.circle_grid(4)[1]
    variances = {}
    for param in ["ntk", "standard", "mup"]:
        model = cu.MLP(in_dim=2, width=256, depth=2, parameterization=param)
        outs = jax.vmap(lambda k: model.forward(model.init(k), x)[1])(jax.random.split(cu.key(0), 400))
        variances[param] = float(jnp.mean(outs**2))
    assert abs(variances["ntk"] / variances["standard"] - 1) < 0.2
    assert variances["mup"] < variances["ntk"] / 50  # 1/width scaling of the read-out


def test_standard_ntk_grows_with_width_ntk_does_not():
    x = cu.circle_grid(6)[1]
    traces = {}
    for param in ["ntk", "standard"]:
        for width in [64, 1024]:
            model = cu.MLP(in_dim=2, width=width, depth=2, parameterization=param)
            traces[param, width] = float(jnp.trace(cu.empirical_ntk(model, model.init(cu.key(0)), x)))
    assert 0.8 < traces["ntk", 1024] / traces["ntk", 64] < 1.25
    assert traces["standard", 1024] / traces["standard", 64] > 8


def test_int_seed_equals_key():
    model = cu.MLP(in_dim=2, width=4)
    assert np.array_equal(model.init(3)[0]["W"], model.init(cu.key(3))[0]["W"])


def test_relu_rescaling_symmetry_holds_in_standard_parameterization():
    model = cu.MLP(in_dim=2, width=16, depth=1, parameterization="standard")
    params = model.init(cu.key(2))
    x = cu.circle_grid(8)[1]
    c = 3.7
    scaled = [{"W": params[0]["W"] * c, "b": params[0]["b"] * c}, {"W": params[1]["W"] / c, "b": params[1]["b"]}]
    np.testing.assert_allclose(model.apply(scaled, x), model.apply(params, x), rtol=1e-12, atol=1e-14)


def test_init_draws_each_layer_from_its_own_key():
    # The documented stream: layer i's W from keys[2i], its b from keys[2i + 1], whatever the
    # draws of equal shapes share inside the compiled program. The reference is compiled too:
    # op by op, the scaling rounds differently in the last bit.
    # The second model's first layer (300 x 256 numbers) needs a larger block than the others.
    for model in [cu.MLP(in_dim=3, width=8, depth=4, parameterization="standard", sb2=0.2),
                  cu.MLP(in_dim=300, width=256, depth=2, sb2=0.1)]:
        stds = [(scale.w_std, scale.b_std) for scale in model.layer_scales()]

        @jax.jit
        def layer_by_layer(key):
            keys = jax.random.split(key, 2 * len(model.layer_sizes))
            return [{"W": w_std * jax.random.normal(keys[2 * i], (fan_in, fan_out), dtype=jnp.float64),
                     "b": b_std * jax.random.normal(keys[2 * i + 1], (fan_out,), dtype=jnp.float64)}
                    for i, ((fan_in, fan_out), (w_std, b_std)) in enumerate(zip(model.layer_sizes, stds))]

        for params in [model.init(cu.key(11)), model.init(11), cu.run_slice(model.init_many([4, 11]), 1)]:
            for layer, expected in zip(params, layer_by_layer(cu.key(11))):
                np.testing.assert_array_equal(layer["W"], expected["W"])
                np.testing.assert_array_equal(layer["b"], expected["b"])
        assert not np.array_equal(params[1]["b"], params[0]["b"])  # equal shapes, different keys
    typed = model.init(jax.random.key(11))  # a typed key gives the same numbers as the raw one
    np.testing.assert_array_equal(typed[0]["W"], params[0]["W"])


def test_init_traced_inside_vmap_draws_the_same_numbers():
    model = cu.MLP(in_dim=2, width=16, depth=2, sb2=0.1)
    keys = jax.random.split(cu.key(2), 3)
    batched = jax.jit(jax.vmap(model.init))(keys)
    for i in range(3):
        for layer_batch, layer in zip(batched, model.init(keys[i])):
            np.testing.assert_array_equal(layer_batch["W"][i], layer["W"])
            np.testing.assert_array_equal(layer_batch["b"][i], layer["b"])


def test_init_many_stacks_the_single_draws():
    model = cu.MLP(in_dim=3, width=8, depth=2, sb2=0.1)
    stacked = model.init_many([5, 0, 7])
    for i, seed in enumerate([5, 0, 7]):
        single = model.init(seed)
        for layer_batch, layer in zip(stacked, single):
            np.testing.assert_array_equal(layer_batch["W"][i], layer["W"])
            np.testing.assert_array_equal(layer_batch["b"][i], layer["b"])
    with pytest.raises(ValueError, match="seed"):
        model.init_many([-1])
    with pytest.raises(ValueError, match="non-empty"):
        model.init_many([])
