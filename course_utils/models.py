"""The fully connected network used throughout the course.

A model is a frozen, hashable description of the architecture; the weights live in a
separate pytree. That split (as in neural-tangents' ``stax``) lets the model be a static
argument of ``jax.jit``, so every compiled function is reused for every parameter draw of
the same architecture.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import jax.scipy.special as jsp_special

from . import _memory, _validate

ACTIVATIONS = ("relu", "erf", "tanh")
PARAMETERIZATIONS = ("ntk", "standard", "mup")


class LayerScale(NamedTuple):
    """How one dense layer turns stored parameters into its pre-activation.

    ``h = w_mult * (a @ W) + b_mult * b`` with ``W ~ N(0, w_std^2)`` and
    ``b ~ N(0, b_std^2)`` entrywise at initialisation.
    """

    w_mult: float
    w_std: float
    b_mult: float
    b_std: float


def activation_fn(name: str):
    """The activation phi and its derivative phi' for a known activation name."""
    if name == "relu":
        return jax.nn.relu, lambda h: (h > 0).astype(h.dtype)
    if name == "erf":
        return jsp_special.erf, lambda h: (2.0 / math.sqrt(math.pi)) * jnp.exp(-h * h)
    if name == "tanh":
        return jnp.tanh, lambda h: 1.0 - jnp.tanh(h) ** 2
    raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(map(repr, ACTIVATIONS))}")


@dataclasses.dataclass(frozen=True)
class MLP:
    """A scalar-output multilayer perceptron with ``depth`` hidden layers of ``width`` units.

    Layers are dense, ``h_{l+1} = w_mult * (x_l @ W_{l+1}) + b_mult * b_{l+1}`` followed by the
    activation; the last (read-out) layer maps to one output. Weights are stored as
    (fan_in, fan_out) so the forward pass is ``h @ W``. The three parameterizations give the
    same network function at initialisation in distribution (except muP's read-out, see
    below) but different gradients, and therefore different training dynamics:

    ``"ntk"`` (Jacot et al. 2018; neural-tangents' default)
        ``h = sw / sqrt(fan_in) * (x @ W) + sb * b`` with ``W, b ~ N(0, 1)``. The empirical
        NTK converges to a finite deterministic limit as width grows.
    ``"standard"``
        ``h = x @ W + b`` with ``W ~ N(0, sw^2 / fan_in)``, ``b ~ N(0, sb^2)``. Same function
        at initialisation, but the NTK grows linearly with width, so the usable learning
        rate shrinks as ``1 / width``.
    ``"mup"`` (maximal update parameterization, Yang & Hu 2021, table 3 for SGD)
        input layer ``W ~ N(0, 1/n)`` with multiplier ``sw * sqrt(n / d)`` (so an effective
        ``N(0, sw^2/d)`` weight whose gradient step is ``n`` times larger); hidden layers as
        in standard parameterization; read-out ``W ~ N(0, 1/n)`` with multiplier
        ``sw / sqrt(n)``, so the output at initialisation shrinks like ``1/sqrt(n)``; hidden
        biases ``b ~ N(0, 1/n)`` with multiplier ``sb * sqrt(n)``, read-out bias as in NTK.
        With one learning rate for every tensor, features move by order one at any width.

    Parameters
    ----------
    in_dim : number of input features ``d``.
    width : hidden units per layer ``n`` (>= 1).
    depth : number of hidden layers (>= 1); the network has ``depth + 1`` dense layers.
    activation : ``"relu"`` (default), ``"erf"`` or ``"tanh"``.
    parameterization : ``"ntk"`` (default), ``"standard"`` or ``"mup"``.
    sw2, sb2 : weight and bias variance scales ``sigma_w^2`` and ``sigma_b^2``.
    """

    in_dim: int
    width: int
    depth: int = 1
    activation: str = "relu"
    parameterization: str = "ntk"
    sw2: float = 2.0
    sb2: float = 0.0

    def __post_init__(self):
        _validate.positive_int(self.in_dim, "in_dim")
        _validate.positive_int(self.width, "width")
        _validate.positive_int(self.depth, "depth")
        _validate.choice(self.activation, ACTIVATIONS, "activation")
        _validate.choice(self.parameterization, PARAMETERIZATIONS, "parameterization")
        _validate.finite_float(self.sw2, "sw2", minimum=0.0, strict=True)
        _validate.finite_float(self.sb2, "sb2", minimum=0.0)
        # Store plain Python numbers so equal configurations hash equally.
        object.__setattr__(self, "sw2", float(self.sw2))
        object.__setattr__(self, "sb2", float(self.sb2))

    # ------------------------------------------------------------------ structure
    @property
    def layer_sizes(self) -> tuple[tuple[int, int], ...]:
        """(fan_in, fan_out) of every dense layer, read-out last."""
        sizes = [(self.in_dim, self.width)]
        sizes += [(self.width, self.width)] * (self.depth - 1)
        sizes.append((self.width, 1))
        return tuple(sizes)

    @property
    def num_params(self) -> int:
        return sum(fi * fo + fo for fi, fo in self.layer_sizes)

    def layer_scales(self) -> tuple[LayerScale, ...]:
        """Multipliers and initial standard deviations of every layer (see class docstring)."""
        sw, sb = math.sqrt(self.sw2), math.sqrt(self.sb2)
        n_layers = self.depth + 1
        scales = []
        for index, (fan_in, _) in enumerate(self.layer_sizes):
            if self.parameterization == "ntk":
                scale = LayerScale(sw / math.sqrt(fan_in), 1.0, sb, 1.0)
            elif self.parameterization == "standard":
                scale = LayerScale(1.0, sw / math.sqrt(fan_in), 1.0, sb)
            else:  # mup
                n = float(self.width)
                if index == 0:
                    scale = LayerScale(sw * math.sqrt(n / fan_in), 1 / math.sqrt(n), sb * math.sqrt(n), 1 / math.sqrt(n))
                elif index < n_layers - 1:
                    scale = LayerScale(1.0, sw / math.sqrt(fan_in), sb * math.sqrt(n), 1 / math.sqrt(n))
                else:
                    scale = LayerScale(sw / math.sqrt(n), 1 / math.sqrt(n), sb, 1.0)
            scales.append(scale)
        return tuple(scales)

    # ------------------------------------------------------------------ parameters
    def init(self, key) -> list[dict]:
        """Draw parameters: a list with one ``{"W": (fan_in, fan_out), "b": (fan_out,)}`` per layer.

        ``key`` is a ``jax.random`` key (``jax.random.PRNGKey(seed)``) or an int seed.
        """
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return _init_from_seeds(self.layer_sizes, self._init_stds(), np.asarray([_validate.positive_int(int(key), "seed", minimum=0)]), False)
        return _init_from_key(self.layer_sizes, self._init_stds(), key)

    def init_many(self, seeds) -> list[dict]:
        """Parameters of several networks stacked on a leading axis, one per seed.

        Run ``i`` equals ``model.init(seeds[i])`` exactly; ``cu.train(..., batch=True)`` trains
        them side by side in one compiled program.
        """
        seeds = [_validate.positive_int(int(s) if isinstance(s, numbers.Integral) else s, "seed", minimum=0) for s in seeds]
        if not seeds:
            raise ValueError("seeds must be a non-empty list of integers >= 0")
        return _init_from_seeds(self.layer_sizes, self._init_stds(), np.asarray(seeds), True)

    def _init_stds(self):
        """(layers, 2) initial standard deviations of W and b: data for the draw, not part of its compiled program."""
        return np.asarray([(scale.w_std, scale.b_std) for scale in self.layer_scales()], dtype=np.float64)

    def check_params(self, params) -> None:
        """Raise ValueError unless ``params`` has this model's layer shapes."""
        if not isinstance(params, (list, tuple)) or len(params) != len(self.layer_sizes):
            raise ValueError(
                f"params must be a list of {len(self.layer_sizes)} layers as returned by model.init(key)"
            )
        for i, (layer, (fan_in, fan_out)) in enumerate(zip(params, self.layer_sizes)):
            try:
                w_shape, b_shape = tuple(jnp.shape(layer["W"])), tuple(jnp.shape(layer["b"]))
            except (TypeError, KeyError) as err:
                raise ValueError(f"layer {i} of params must be a dict with keys 'W' and 'b'") from err
            if w_shape != (fan_in, fan_out) or b_shape != (fan_out,):
                raise ValueError(
                    f"layer {i} of params has W {w_shape}, b {b_shape}; this model expects "
                    f"W {(fan_in, fan_out)}, b {(fan_out,)} (was params made by another model?)"
                )

    # ------------------------------------------------------------------ forward
    def forward(self, params, x):
        """Pre-activations of every hidden layer and the output, without input checks.

        Returns ``(hidden, out)`` where ``hidden`` is a list of (n, width) pre-activations.
        Safe to call inside jit.
        """
        phi, _ = activation_fn(self.activation)
        a = x
        hidden = []
        scales = self.layer_scales()
        for layer, scale in zip(params[:-1], scales[:-1]):
            h = scale.w_mult * (a @ layer["W"]) + scale.b_mult * layer["b"]
            hidden.append(h)
            a = phi(h)
        last, scale = params[-1], scales[-1]
        out = scale.w_mult * (a @ last["W"]) + scale.b_mult * last["b"]
        return hidden, out[:, 0]

    def apply(self, params, x):
        """Network output f(x; params) of shape (n,) for inputs ``x`` of shape (n, in_dim)."""
        self.check_params(params)
        x = _validate.as_inputs(x, self.in_dim)
        return _output(self, params, x)

    def __call__(self, params, x):
        return self.apply(params, x)


# Layer i's W is ``std * normal(keys[2i], (fan_in, fan_out))`` and its b ``std *
# normal(keys[2i + 1], (fan_out,))``, with ``keys = jax.random.split(key, 2 * layers)``.
#
# Compiling the generator is what costs: threefry and the float64 inverse error function took
# 0.7 s and about 100 MB of peak memory for a two-layer network, 2.4 s and 330 MB at depth 10,
# every time a new width or depth was drawn. JAX's generator is counter based
# (``jax_threefry_partitionable``, the default since JAX 0.5): a key's first n numbers do not
# depend on how many are drawn, so ``normal(k, (a, b))`` is ``normal(k, (M,))[:a * b]``
# reshaped, bit for bit, for any M >= a * b. Every draw is therefore taken from one program
# that draws a block of rows of M numbers (M = 2^16, 2^18, 2^20, ...: the smallest that holds
# it; 8 rows of 2^16, 2 of 2^18, then one) and cut to its shape, and a new width or depth reuses the programs already
# compiled (or read from the compilation cache) instead of compiling its own. Tested bit for bit
# against the per-layer draw; measured in bench/README.md.
_BLOCK_ROWS = 8
_SMALLEST_BLOCK = 2**16


def _block_size(count: int) -> int:
    size = _SMALLEST_BLOCK
    while size < count:
        size *= 4
    return size


@functools.partial(jax.jit, static_argnums=(2,))
def _normal_rows(keys, stds, size: int):
    """``stds[r] * normal(keys[r], (size,))`` for every row r of ``keys``."""
    return jax.vmap(lambda k, std: std * jax.random.normal(k, (size,), dtype=jnp.float64))(keys, stds)


@functools.partial(jax.jit, static_argnums=(1,))
def _keys_of_seeds(seeds, count: int):
    return jax.vmap(lambda seed: jax.random.split(jax.random.PRNGKey(seed), count))(seeds)


@functools.partial(jax.jit, static_argnums=(1,))
def _keys_of_key(key, count: int):
    return jax.random.split(key, count)[None]


def _draw(layer_sizes, stds, keys) -> list[dict]:
    """Parameters of ``len(keys)`` networks stacked on a leading axis (numpy arrays unless traced); ``keys[s]`` holds network
    s's ``2 * layers`` draw keys, ``stds`` (layers, 2) the standard deviations of W and b."""
    shapes = [shape for fan_in, fan_out in layer_sizes for shape in ((fan_in, fan_out), (fan_out,))]
    # Inside jit or vmap (``jax.vmap(model.init)(keys)``) the same cuts are traced with jnp; outside,
    # they are made in numpy, which compiles nothing.
    traced = isinstance(keys, jax.core.Tracer)
    xp = jnp if traced else np
    keys = keys if traced else np.asarray(keys)
    networks = keys.shape[0]
    flat_keys = keys.reshape(networks * len(shapes), keys.shape[-1])
    flat_stds = np.tile(np.asarray(stds, dtype=np.float64).reshape(-1), networks)
    counts = [math.prod(shape) for shape in shapes] * networks
    rows_of_block: dict[int, list[int]] = {}
    for row, count in enumerate(counts):
        # Traced, the draw is compiled into the caller's program anyway: exact sizes, no padding
        # (vmapped over 1500 keys, blocks of 2^16 computed 15 times the numbers needed).
        rows_of_block.setdefault(count if traced else _block_size(count), []).append(row)
    drawn = [None] * len(counts)
    for size, rows in rows_of_block.items():
        per_call = len(rows) if traced else max(1, _BLOCK_ROWS * _SMALLEST_BLOCK // size)  # <= 2^19 numbers a call
        for start in range(0, len(rows), per_call):
            chunk = rows[start:start + per_call]
            padded = chunk + [chunk[-1]] * (per_call - len(chunk))  # a full block: one program per size
            block = _normal_rows(flat_keys[np.asarray(padded)], flat_stds[padded], size)
            block = block if traced else np.asarray(block)
            for position, row in enumerate(chunk):
                drawn[row] = block[position, :counts[row]]
    params = []
    for i in range(len(layer_sizes)):
        layer = {}
        for name, j in (("W", 2 * i), ("b", 2 * i + 1)):
            stacked = xp.stack([drawn[s * len(shapes) + j] for s in range(networks)])
            layer[name] = stacked.reshape((networks,) + shapes[j])
        params.append(layer)
    return params


def _as_params(drawn, stacked: bool) -> list[dict]:
    # Unstacked in numpy and handed to JAX as they are: slicing JAX arrays here would compile a
    # small program per shape, which is what the block draw avoids (and so would jnp.asarray).
    return [{name: _validate.to_jax(leaf if stacked else leaf[0], copy=False) for name, leaf in layer.items()} for layer in drawn]


def _init_from_key(layer_sizes, stds, key):
    if jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):  # a typed key (jax.random.key)
        key = jax.random.key_data(key)
    return _as_params(_draw(layer_sizes, stds, _keys_of_key(key, 2 * len(layer_sizes))), False)


def _init_from_seeds(layer_sizes, stds, seeds, stacked: bool):
    return _as_params(_draw(layer_sizes, stds, _keys_of_seeds(seeds, 2 * len(layer_sizes))), stacked)


@_memory.large_programs
@functools.partial(jax.jit, static_argnums=(0,))
def _output(model: MLP, params, x):
    return model.forward(params, x)[1]
