"""One empirical-NTK measurement of neural-tangents in this process (run by run_all.py).

Runs in the throwaway venv bench/.nt-venv (neural-tangents 0.6.5, jax 0.4.25, numpy < 2),
never in the course's .venv:

    bench/.nt-venv/bin/python bench/bench_nt.py --depth 3 --width 1024 --n 256 --impl structured

The network is the course's benchmark network built with neural-tangents' own ``stax``:
``Dense(width, W_std=sqrt(2), b_std=None, parameterization="ntk")`` + ``Relu`` per hidden
layer, then ``Dense(1, ...)``, with the same weight arrays (stored (fan_in, fan_out) and
used as ``h @ W``, the layout neural-tangents' structured derivatives are written for).
float64 (``jax_enable_x64``), ``vmap_axes=0`` (examples are independent), ``x2=None``,
``trace_axes=()`` on the scalar output, wrapped in ``jax.jit``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

IMPLEMENTATIONS = {
    "structured": "STRUCTURED_DERIVATIVES",
    "jacobian": "JACOBIAN_CONTRACTION",
    "ntvp": "NTK_VECTOR_PRODUCTS",
    "auto": "AUTO",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--impl", choices=sorted(IMPLEMENTATIONS), default="structured")
    parser.add_argument("--vmap-axes", choices=["0", "none"], default="0")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--window", type=float, default=2.0, help="spread fast repeats over this many seconds")
    parser.add_argument("--budget", type=float, default=15.0)
    parser.add_argument("--save-kernel", default=None)
    parser.add_argument("--import-tensorflow", action="store_true",
                        help="import neural_tangents.experimental (and so TensorFlow) as usual")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not args.import_tensorflow:
        # neural_tangents/__init__ imports its TensorFlow bridge (experimental.empirical_tf),
        # which loads TensorFlow: about 5 s and 480 MB per process, none of it used by the
        # JAX empirical NTK measured here. An empty stand-in module skips it.
        import types

        sys.modules["neural_tangents.experimental"] = types.ModuleType("neural_tangents.experimental")
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import neural_tangents as nt
    import numpy as np
    from neural_tangents import stax

    sw = math.sqrt(2.0)
    layers = []
    for _ in range(args.depth):
        layers += [stax.Dense(args.width, W_std=sw, b_std=None, parameterization="ntk"), stax.Relu()]
    layers.append(stax.Dense(1, W_std=sw, b_std=None, parameterization="ntk"))
    init_fn, apply_fn, _ = stax.serial(*layers)
    _, shaped = init_fn(jax.random.PRNGKey(0), (-1, common.IN_DIM))
    weights = iter(common.make_weights(args.width, args.depth))
    params = []
    for layer in shaped:
        if layer == ():
            params.append(())
        else:
            W, b = layer
            Wn = next(weights)
            assert W.shape == Wn.shape and b is None, (W.shape, Wn.shape, b)
            params.append((jnp.asarray(Wn), None))
    x = jnp.asarray(common.make_inputs(args.n))
    jax.block_until_ready((params, x))

    implementation = getattr(nt.NtkImplementation, IMPLEMENTATIONS[args.impl])
    vmap_axes = 0 if args.vmap_axes == "0" else None
    kernel_fn = jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=vmap_axes,
                                            implementation=implementation))

    def compute():
        return kernel_fn(x, None, params)

    load_before = common.load_average()
    def compile_fn():
        return kernel_fn.lower(x, None, params).compile()

    timing = common.time_calls(lambda: compute().block_until_ready(), compile_fn=compile_fn, repeats=args.repeats,
                               budget_s=args.budget, window_s=args.window)
    K = np.asarray(compute()).reshape(args.n, args.n)
    if args.save_kernel:
        np.save(args.save_kernel, K)
    result = {
        "library": "neural-tangents",
        "method": args.impl,
        "vmap_axes": args.vmap_axes,
        "depth": args.depth,
        "width": args.width,
        "n": args.n,
        "params": common.num_params(args.width, args.depth),
        "peak_reset": common._PEAK_RESET,
        "finite": bool(np.all(np.isfinite(K))),
        "trace": float(np.trace(K)),
        "load_before": load_before,
        "load_after": common.load_average(),
        "jax": jax.__version__,
        "neural_tangents": nt.__version__,
        **timing,
    }
    result["ok"] = result["finite"] and math.isfinite(result["median_s"])
    common.emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
