"""One empirical-NTK measurement of course_utils in this process (run by run_all.py).

    .venv/bin/python bench/bench_ntk.py --depth 3 --width 1024 --n 256 --method structured

Prints one ``BENCH_RESULT {json}`` line: median/min time of ``cu.empirical_ntk`` over
repeats after a first (compiling) call, the peak memory growth above the state after
imports and inputs, the flop count of the structured formula and the achieved GFLOP/s.
``--variant`` times a prototype from bench/prototypes.py instead of the course's code.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--method", choices=["structured", "jacobian"], default="structured")
    parser.add_argument("--variant", default=None, help="a prototype name in bench/prototypes.py")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--window", type=float, default=2.0, help="spread fast repeats over this many seconds")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds for the repeated calls")
    parser.add_argument("--save-kernel", default=None, help="write K to this .npy file")
    parser.add_argument("--dgemm", type=int, default=0,
                        help="also time a numpy (size x size) float64 matmul in this process, right after")
    args = parser.parse_args(argv)

    import jax
    import jax.numpy as jnp
    import numpy as np

    import course_utils as cu

    model = cu.MLP(in_dim=common.IN_DIM, width=args.width, depth=args.depth, activation="relu",
                   parameterization="ntk", sw2=2.0, sb2=0.0)
    params = [{"W": jnp.asarray(W), "b": jnp.zeros(W.shape[1])} for W in common.make_weights(args.width, args.depth)]
    x = jnp.asarray(common.make_inputs(args.n))
    jax.block_until_ready((params, x))

    compile_fn = None
    if args.variant:
        import prototypes

        impl = getattr(prototypes, args.variant)

        def compute():
            return impl(model, params, x)
    else:
        from course_utils import kernels

        jitted = kernels._structured_ntk if args.method == "structured" else kernels._jacobian_ntk

        def compile_fn():
            # the executable cu.empirical_ntk will call (x2 = x1, same = True), compiled ahead
            return jitted.lower(model, params, x, x, True).compile()

        def compute():
            return cu.empirical_ntk(model, params, x, method=args.method)

    load_before = common.load_average()
    timing = common.time_calls(lambda: compute().block_until_ready(), compile_fn=compile_fn, repeats=args.repeats,
                               budget_s=args.budget, window_s=args.window)
    K = np.asarray(compute())
    if args.save_kernel:
        np.save(args.save_kernel, K)
    flops = cu.ntk_flops(model, args.n)
    dgemm = {}
    if args.dgemm:
        # the reference rate measured seconds after the NTK, so both see the same contention
        import statistics
        import time

        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((args.dgemm, args.dgemm)), rng.standard_normal((args.dgemm, args.dgemm))
        a @ b
        times = []
        for _ in range(5):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        dgemm = {"dgemm_size": args.dgemm, "dgemm_gflops_per_s": 2.0 * args.dgemm**3 / statistics.median(times) / 1e9}
    result = {
        "library": "course_utils",
        "method": args.variant or args.method,
        "depth": args.depth,
        "width": args.width,
        "n": args.n,
        "params": model.num_params,
        "flops": flops,
        "gflops_per_s": flops / timing["median_s"] / 1e9,
        "peak_reset": common._PEAK_RESET,
        "finite": bool(np.all(np.isfinite(K))),
        "trace": float(np.trace(K)),
        "load_before": load_before,
        "load_after": common.load_average(),
        "jax": jax.__version__,
        **dgemm,
        **timing,
    }
    result["ok"] = result["finite"] and math.isfinite(result["median_s"])
    common.emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
