"""Training: full-batch gradient descent recorded by one ``lax.scan``, and linearisation."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _memory, _validate


class Trajectory(NamedTuple):
    """What ``train`` records.

    times : (T,) gradient-flow time ``lr * step`` of each record (starts at 0); (S, T) for a
        batch run with one learning rate per run.
    steps : (T,) step index of each record.
    outputs : (T, n) network outputs on the training inputs; (S, T, n) for a batch run.
    loss : (T,) ``1/2 ||f - y||^2``; (S, T) for a batch run.
    params : the parameters after the last step (leaves with a leading S axis for a batch run).
    param_history : parameters at every record (leaves with a T axis after any S axis), or
        None unless ``record_params=True``.
    measurements : what ``measure(params)`` returned at every record (leaves with a T axis
        after any S axis), or None without a ``measure`` function.
    """

    times: Any
    steps: Any
    outputs: Any
    loss: Any
    params: Any
    param_history: Any = None
    measurements: Any = None


def linearize(apply_fn, params0):
    """The first-order Taylor model of ``apply_fn`` around ``params0``.

    Returns ``f_lin(params, x) = f(params0, x) + J(x) (params - params0)``, evaluated with one
    ``jax.jvp`` (a forward-mode product: the Jacobian ``J`` is never built). ``f_lin`` has the
    same signature as ``apply_fn`` so it can be trained by ``train``.
    """
    if not callable(apply_fn):
        raise ValueError("apply_fn must be a function apply_fn(params, x)")

    def apply_linearized(params, x):
        delta = jax.tree_util.tree_map(lambda p, p0: p - p0, params, params0)
        out0, tangent = jax.jvp(lambda p: apply_fn(p, x), (params0,), (delta,))
        return out0 + tangent

    return apply_linearized


def _sq_loss(apply_fn, params, x, y):
    residual = apply_fn(params, x) - y
    return 0.5 * jnp.dot(residual, residual)


def _one_run(apply_fn, measure, record_params, params, lr, x, y, chunk_lengths):
    """Gradient descent from ``params`` for ``sum(chunk_lengths)`` steps, recording after each chunk.

    Chunk lengths are traced values (each chunk is a ``fori_loop`` with a dynamic trip count),
    so every record schedule with the same number of records reuses one compile.
    """
    grad_fn = jax.grad(functools.partial(_sq_loss, apply_fn))

    def step(_, p):
        grads = grad_fn(p, x, y)
        return jax.tree_util.tree_map(lambda a, g: a - lr * g, p, grads)

    def record(p):
        out = apply_fn(p, x)
        return (
            out,
            0.5 * jnp.sum((out - y) ** 2),
            p if record_params else None,
            measure(p) if measure is not None else None,
        )

    def chunk(p, length):
        p = jax.lax.fori_loop(0, length, step, p)
        return p, record(p)

    first = record(params)
    p, records = jax.lax.scan(chunk, params, chunk_lengths)
    records = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, records)
    return p, records


@_memory.large_programs
@functools.partial(jax.jit, static_argnames=("apply_fn", "measure", "record_params", "batch_lr"))
def _train_scan(apply_fn, params, x, y, lr, chunk_lengths, *, measure, record_params, batch_lr):
    run = functools.partial(_one_run, apply_fn, measure, record_params)
    if batch_lr is None:  # one run
        return run(params, lr, x, y, chunk_lengths)
    # A batch of runs (seeds, or learning rates) in one compiled program: vmap over the
    # leading axis of params, and of lr when each run has its own.
    return jax.vmap(run, in_axes=(0, 0 if batch_lr else None, None, None, None))(params, lr, x, y, chunk_lengths)


def recorded_steps(steps: int, record_every: int) -> np.ndarray:
    """Step indices that ``train`` records: 0, every ``record_every``, and the last step."""
    recorded = list(range(0, steps + 1, record_every))
    if recorded[-1] != steps:
        recorded.append(steps)
    return np.asarray(recorded)


def log_record_steps(steps: int, num: int = 40) -> np.ndarray:
    """About ``num`` step indices from 0 to ``steps``, log-spaced (for a log-scale time slider)."""
    steps = _validate.positive_int(steps, "steps")
    num = _validate.positive_int(num, "num", minimum=2)
    return np.unique(np.concatenate([[0], np.geomspace(1, steps, num - 1).round().astype(int)]))


def _check_record_steps(record_steps, steps: int) -> np.ndarray:
    try:
        recorded = np.asarray(record_steps)
    except (TypeError, ValueError) as err:
        raise ValueError("record_steps must be a 1-D array of increasing step indices") from err
    if recorded.ndim != 1 or recorded.size == 0 or not np.issubdtype(recorded.dtype, np.integer):
        raise ValueError(f"record_steps must be a non-empty 1-D array of integers; got {record_steps!r}")
    if np.any(np.diff(recorded) <= 0) or recorded[0] < 0 or recorded[-1] > steps:
        raise ValueError(f"record_steps must increase strictly and lie in [0, steps={steps}]")
    recorded = recorded.astype(int)
    if recorded[0] != 0:
        recorded = np.concatenate([[0], recorded])
    if recorded[-1] != steps:
        recorded = np.concatenate([recorded, [steps]])
    return recorded


def _batch_size(params) -> int:
    leaves = jax.tree_util.tree_leaves(params)
    sizes = {int(np.shape(leaf)[0]) if np.ndim(leaf) else -1 for leaf in leaves}
    if len(sizes) != 1 or -1 in sizes:
        raise ValueError(
            "batch=True needs params whose every leaf has the same leading (batch) axis, "
            "e.g. model.init_many(seeds)"
        )
    return sizes.pop()


def train(
    apply_fn,
    params,
    x,
    y,
    *,
    lr,
    steps,
    record_every=1,
    record_params=False,
    record_steps=None,
    measure=None,
    batch=False,
) -> Trajectory:
    """Full-batch gradient descent on ``L = 1/2 ||apply_fn(params, x) - y||^2``.

    The whole course trains through this one function. The run is one compiled ``lax.scan``;
    outputs and loss are recorded at step 0, every ``record_every`` steps and at the last step
    (or at ``record_steps``), so a time slider can replay the run without training again.
    ``times = lr * step`` is the gradient-flow time.

    Parameters
    ----------
    apply_fn : ``apply_fn(params, x) -> (n,)``, e.g. ``model.apply`` or a ``linearize``-d model.
    params : initial parameters (a pytree); with ``batch=True``, every leaf has a leading
        axis of S runs (``model.init_many(seeds)``), trained side by side by ``vmap``.
    x : (n, d) training inputs.  y : (n,) targets.
    lr : learning rate (> 0); with ``batch=True`` also an (S,) array, one per run.
    steps : number of steps (>= 0).
    record_every : record spacing in steps (>= 1).
    record_params : also keep the parameters at every record (memory: one copy per record).
    record_steps : explicit step indices to record instead of every ``record_every`` steps,
        e.g. ``log_record_steps(steps, 40)`` for a log-scale time slider (0 and ``steps`` are
        always recorded).
    measure : ``measure(params) -> pytree`` evaluated at every record inside the compiled run
        (a kernel, features, a weight norm); results in ``Trajectory.measurements``. Pass the
        same function object each time (a module-level function) so the compiled run is reused.
    batch : train the S runs stacked on the leading axis of ``params`` at once.
    """
    if not callable(apply_fn):
        raise ValueError("apply_fn must be a function apply_fn(params, x)")
    if measure is not None and not callable(measure):
        raise ValueError("measure must be a function measure(params) -> arrays, or None")
    in_dim = getattr(getattr(apply_fn, "__self__", None), "in_dim", None)
    x = _validate.as_inputs(x, in_dim)
    y = _validate.as_vector(y, x.shape[0], "y")
    steps = _validate.positive_int(steps, "steps", minimum=0)
    record_every = _validate.positive_int(record_every, "record_every")
    if record_steps is None:
        step_index = recorded_steps(steps, record_every)
    else:
        step_index = _check_record_steps(record_steps, steps)
    params = jax.tree_util.tree_map(_validate.to_jax, params)
    batch_lr = None
    if batch:
        runs = _batch_size(params)
        lr_values = np.asarray(lr, dtype=np.float64)
        if lr_values.ndim == 0:
            _validate.finite_float(float(lr_values), "lr", minimum=0.0, strict=True)
            batch_lr = False
        elif lr_values.shape == (runs,) and np.all(np.isfinite(lr_values)) and np.all(lr_values > 0):
            batch_lr = True
        else:
            raise ValueError(f"lr must be a positive number or {runs} positive numbers (one per run); got {lr!r}")
        lr = _validate.to_jax(lr_values)
    else:
        lr = _validate.finite_float(lr, "lr", minimum=0.0, strict=True)
    chunk_lengths = _validate.to_jax(np.diff(step_index), np.int32, copy=False)
    final, (outputs, loss, history, measured) = _train_scan(
        apply_fn, params, x, y, lr, chunk_lengths, measure=measure, record_params=bool(record_params), batch_lr=batch_lr
    )
    recorded = step_index.astype(np.float64)
    times = np.asarray(lr)[:, None] * recorded[None, :] if batch_lr else float(lr) * recorded
    _memory.released_after((final, outputs, loss, history, measured))
    return Trajectory(
        times=times,
        steps=step_index,
        outputs=outputs,
        loss=loss,
        params=final,
        param_history=history if record_params else None,
        measurements=measured,
    )


def run_slice(tree, index: int):
    """Run ``index`` of a batch: the leading-axis slice of every leaf of ``tree`` (params, records)."""
    return jax.tree_util.tree_map(lambda leaf: leaf[index], tree)
