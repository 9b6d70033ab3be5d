"""The machine's matrix-multiply rate in GFLOP/s (run by run_all.py).

    .venv/bin/python bench/bench_dgemm.py --size 2048

Times a float64 (size x size) @ (size x size) product with numpy (OpenBLAS) and with a
jitted ``jax.numpy`` matmul (XLA's CPU dot), median of repeats after a warm-up, and
reports ``2 size^3 / time``. It also reports which OpenBLAS kernel numpy runs: on this
machine OPENBLAS_CORETYPE may be set (see the environment notes), which pins an older
kernel; run_all.py measures once with the environment as it is and once with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, in that subprocess only.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def openblas_info() -> dict:
    """OpenBLAS core name and configuration, read from numpy's bundled library via ctypes."""
    import numpy as np

    info = {}
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    if not libs:
        return {"openblas": "not found"}
    lib = ctypes.CDLL(libs[0])
    getters = {
        "corename": ["scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"],
        "config": ["scipy_openblas_get_config64_", "openblas_get_config64_", "openblas_get_config"],
    }
    for key, names in getters.items():
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                info[key] = fn().decode()
                break
    for name in ["scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads"]:
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = ctypes.c_int
            info["threads"] = fn()
            break
    return info


def rate(fn, size, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"median_s": median, "gflops_per_s": 2.0 * size**3 / median / 1e9,
            "best_gflops_per_s": 2.0 * size**3 / min(times) / 1e9}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-jax", action="store_true")
    args = parser.parse_args(argv)

    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((args.size, args.size))
    b = rng.standard_normal((args.size, args.size))
    result = {"size": args.size, "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
              "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"), "load_before": common.load_average(),
              "numpy": np.__version__, **openblas_info()}
    result["numpy_dgemm"] = rate(lambda: a @ b, args.size, args.repeats)
    if not args.no_jax:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        ja, jb = jnp.asarray(a), jnp.asarray(b)
        matmul = jax.jit(lambda u, v: u @ v)
        result["jax_dgemm"] = rate(lambda: matmul(ja, jb).block_until_ready(), args.size, args.repeats)
        result["jax"] = jax.__version__
    result["load_after"] = common.load_average()
    result["ok"] = True
    common.emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
