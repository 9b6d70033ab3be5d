"""Analytic kernel + eigh, and the cost of one time-control evaluation (run by run_all.py).

    .venv/bin/python bench/bench_kernel_flow.py analytic --n 2000
    .venv/bin/python bench/bench_kernel_flow.py flow --n 500 --m 400

``analytic``: ``cu.analytic_ntk`` of a relu network (depth 1 and 3) on n points of the
sphere in 16 dimensions; then ``jnp.linalg.eigh`` of the depth-3 kernel (what
``cu.GradientFlow`` calls), numpy's ``eigh`` for comparison, and the whole
``cu.GradientFlow(K, y, f0)`` construction (input checks + one eigh).

``flow``: after ``GradientFlow`` is built, one time-control evaluation is what a time
slider pays per move: ``flow.outputs(t)`` (training-set outputs, n values) and a
``flow.predictor(K_star, f0_star)`` evaluated at t (m test outputs). Each call is timed with
a different t from a log-spaced grid, result blocked on, after one first (compiling) call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def timed(fn, repeats, budget_s=30.0):
    """First call, then ``repeats`` timed calls (0: the first call is the only measurement)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    if repeats == 0:
        return {"first_s": first, "median_s": first, "min_s": first, "repeats": 0}
    times = []
    total_start = time.perf_counter()
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if time.perf_counter() - total_start > budget_s and len(times) >= 2:
            break
    return {"first_s": first, "median_s": statistics.median(times), "min_s": min(times), "repeats": len(times)}


def analytic(args):
    import jax
    import jax.numpy as jnp
    import numpy as np

    import course_utils as cu

    x = jnp.asarray(common.make_inputs(args.n))
    out = {"n": args.n}
    big = args.n > 2000  # n = 4000: an eigh takes 8 s or more here, so measure it once
    kernel_repeats = 1 if big else args.repeats
    for depth in (1, 3):
        model = cu.MLP(in_dim=common.IN_DIM, width=1, depth=depth)
        out[f"analytic_d{depth}"] = timed(lambda model=model: cu.analytic_ntk(model, x).block_until_ready(),
                                          kernel_repeats)
    model = cu.MLP(in_dim=common.IN_DIM, width=1, depth=3)
    K = cu.analytic_ntk(model, x).block_until_ready()
    eig_repeats = args.repeats if args.n <= 1000 else (2 if not big else 0)
    out["jnp_eigh"] = timed(lambda: jax.block_until_ready(jnp.linalg.eigh(K)), eig_repeats)
    K_np = np.asarray(K)
    out["numpy_eigh"] = timed(lambda: np.linalg.eigh(K_np), eig_repeats)
    y = jnp.asarray(np.sin(np.arange(args.n)))
    f0 = jnp.zeros(args.n)
    if not big:
        out["gradient_flow"] = timed(lambda: jax.block_until_ready(cu.GradientFlow(K, y, f0).eigenvalues),
                                     eig_repeats)
    if args.prototypes:
        # proposed replacements for the analytic recursion (bench/prototypes.py)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import prototypes

        for name in ("analytic_ntk_single_output", "analytic_ntk_fast"):
            fn = getattr(prototypes, name)
            out[name] = timed(lambda fn=fn: fn(model, x).block_until_ready(), kernel_repeats)
            out[name]["max_rel_diff"] = float(jnp.max(jnp.abs(fn(model, x) - K)) / jnp.max(jnp.abs(K)))
            out[name]["symmetric"] = bool(jnp.all(fn(model, x) == fn(model, x).T))
    return out


def flow(args):
    import jax
    import jax.numpy as jnp
    import numpy as np

    import course_utils as cu

    x = jnp.asarray(common.make_inputs(args.n))
    x_star = jnp.asarray(common.make_inputs(args.m, seed=common.SEED + 7))
    model = cu.MLP(in_dim=common.IN_DIM, width=1, depth=3)
    K = cu.analytic_ntk(model, x)
    K_star = cu.analytic_ntk(model, x_star, x)
    y = jnp.asarray(np.sin(np.arange(args.n)))
    f0 = jnp.asarray(0.1 * np.cos(np.arange(args.n)))
    f0_star = jnp.zeros(args.m)
    start = time.perf_counter()
    gf = cu.GradientFlow(K, y, f0)
    jax.block_until_ready(gf.eigenvalues)
    out = {"n": args.n, "m": args.m, "build_s": time.perf_counter() - start}
    start = time.perf_counter()
    gf = cu.GradientFlow(K, y, f0)
    jax.block_until_ready(gf.eigenvalues)
    out["build_again_s"] = time.perf_counter() - start
    start = time.perf_counter()
    predictor = gf.predictor(K_star, f0_star)
    out["predictor_setup_s"] = time.perf_counter() - start
    grid = np.geomspace(1e-3, 1e3, 101)
    counter = iter(range(10**9))

    def next_t():
        return float(grid[next(counter) % len(grid)])

    out["outputs"] = timed(lambda: jax.block_until_ready(gf.outputs(next_t())), args.repeats)
    out["predictor"] = timed(lambda: jax.block_until_ready(predictor(next_t())), args.repeats)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import prototypes

    transposed = prototypes.flow_outputs_transposed(gf)
    out["outputs_prototype"] = timed(lambda: transposed(next_t()).block_until_ready(), args.repeats)
    out["outputs_prototype"]["max_diff"] = float(jnp.max(jnp.abs(transposed(0.3) - gf.outputs(0.3))))
    out["outputs_41_times"] = timed(lambda: jax.block_until_ready(gf.outputs(grid[::2][:41])), max(5, args.repeats // 10))
    # the result must be the closed form: f(t) = y + U exp(-lambda t) U^T (f0 - y)
    t = 0.37
    lam, U = np.linalg.eigh(np.asarray(K))
    lam = np.maximum(lam, 0)
    r0 = np.asarray(f0 - y)
    direct = np.asarray(y) + U @ (np.exp(-lam * t) * (U.T @ r0))
    out["outputs_max_error"] = float(np.max(np.abs(np.asarray(gf.outputs(t)) - direct)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["analytic", "flow"])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--m", type=int, default=400, help="test points for the predictor (flow)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--prototypes", action="store_true", help="also time bench/prototypes.py's analytic variants")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 5 if args.mode == "analytic" else 200
    load_before = common.load_average()
    result = analytic(args) if args.mode == "analytic" else flow(args)
    result.update(mode=args.mode, load_before=load_before, load_after=common.load_average(),
                  peak_rss_mb=common.peak_mb(), ok=True)
    common.emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
