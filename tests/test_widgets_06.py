"""In-kernel widget tests of notebook 06's demos: drive every control (width, time, depth, lr),
check the drawn data against a direct course_utils computation, and check for leaks.

A redraw costs 0.05-0.1 s of CPU here: every value of every control is visited once (widths and
extras twice, a subset of times twice); the full 200-event leak check runs on the cheapest demo
(all demos share one redraw pattern), the others get 40 events.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from widget_driver import assert_no_leak, option_values, sweep

import course_utils as cu
from course_utils import nb05, nb06


def line(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert found, f"no artist with gid {gid!r}"
    return found[0]


def sweep_all(demo, check, extras=()):
    """Every value of every control once, then a few of them back and forth twice more."""
    for name in ("width", *extras, "time"):
        redraws, moves = sweep(demo, name, rounds=1, check=check)
        assert redraws == moves > 0
        values = option_values(demo.controls[name])
        redraws, moves = sweep(demo, name, values=values[:: max(1, len(values) // 4)], rounds=2, check=check)
        assert redraws == moves


# ---------------------------------------------------------------------- lazy vs feature learning
def test_lazy_demo():
    demo = nb06.lazy_demo()
    assert list(demo.controls) == ["width", "time"]
    _, X, y = nb06.task()
    _, X_dense = cu.circle_grid(128)

    @functools.lru_cache(maxsize=None)
    def replay(par, width):
        model = cu.MLP(in_dim=2, width=width, parameterization=par, sb2=nb06.TASK_SB2)
        traj = cu.train(model.apply, nb05.init_params(model, 0), X, y, lr=nb06.TASK_LR, steps=nb06.TASK_STEPS,
                        record_every=1, record_params=True)
        return model, traj

    def check(d):
        for ax, par in zip(d.axes[:2], ("ntk", "mup")):
            run = nb06.feature_run(par, "relu", d.width)
            i = int(np.argmin(np.abs(run["times"] - d.time)))
            np.testing.assert_allclose(line(ax, f"{par}-unit2").get_ydata(), run["units"][i, :, 2])
            if d.width == 64:  # recompute the hidden features from a cu.train replay
                model, traj = replay(par, 64)
                step = int(round(run["times"][i] / nb06.TASK_LR))
                p = jax.tree_util.tree_map(lambda a: a[step], traj.param_history)
                s = model.layer_scales()[0]
                h = s.w_mult * (X_dense @ p[0]["W"][:, 2]) + s.b_mult * p[0]["b"][2]
                expected = np.maximum(np.asarray(h), 0)
                np.testing.assert_allclose(line(ax, f"{par}-unit2").get_ydata(), expected, rtol=1e-7, atol=1e-9)
        for w in nb06.WIDTHS:
            expected = nb06.feature_run("ntk", "relu", w)["feature_change"][1:]
            np.testing.assert_allclose(line(d.axes[2], f"ntk-{w}").get_ydata(), expected)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- depth
def test_depth_demo():
    demo = nb06.depth_demo()
    assert list(demo.controls) == ["width", "time", "depth"]
    _, X_grid = cu.circle_grid(nb06.PROFILE_N)
    angles, X_train = cu.random_circle(6, nb06.DEPTH_TRAIN)
    y = cu.fourier_target(angles, (1, 2), (1.0, 0.5))

    @functools.lru_cache(maxsize=None)
    def direct(depth):
        # one analytic kernel on [train; grid] (the shapes the demo compiled for), sliced here
        model = cu.MLP(in_dim=2, width=1, depth=depth)
        K = np.asarray(cu.analytic_ntk(model, jnp.concatenate([X_train, X_grid])))
        n = nb06.DEPTH_TRAIN
        profile = K[n, n:] / np.sqrt(K[n, n] * np.diag(K)[n:])
        flow = cu.GradientFlow(K[:n, :n], y, jnp.zeros(n))
        return profile, flow, K[n:, :n]

    @functools.lru_cache(maxsize=None)
    def empirical(depth, width):
        model = cu.MLP(in_dim=2, width=width, depth=depth)
        _, X = cu.circle_grid(nb06.DEPTH_GRID)
        K = np.asarray(cu.empirical_ntk(model, nb05.init_params(model, 0), X))
        return K[0] / np.sqrt(K[0, 0] * np.diag(K))

    def check(d):
        depth = d.values["depth"]
        profile, flow, K_star = direct(depth)
        np.testing.assert_allclose(line(d.axes[0], "limit").get_ydata(), profile, rtol=1e-7, atol=1e-9)
        got = line(d.axes[0], "empirical").get_ydata()
        np.testing.assert_allclose(got, empirical(depth, d.width), rtol=1e-7, atol=1e-9)
        expected = flow.predict(d.time, K_star, jnp.zeros(K_star.shape[0]))
        np.testing.assert_allclose(line(d.axes[1], "function").get_ydata(), np.asarray(expected), rtol=1e-6, atol=1e-8)

    check(demo)
    sweep_all(demo, check, extras=("depth",))
    assert_no_leak(demo, events=200)


# ---------------------------------------------------------------------- kernel drift
def test_drift_demo():
    demo = nb06.drift_demo()
    _, X, y = nb06.task()

    @functools.lru_cache(maxsize=None)
    def replay_drift(act, width):
        # the drift of the NTK-parameterised net of width 64, recomputed with cu.train + cu.empirical_ntk
        out = []
        for seed in nb06.SEEDS:
            model = cu.MLP(in_dim=2, width=width, activation=act, sb2=nb06.TASK_SB2)
            p0 = nb05.init_params(model, seed)
            traj = cu.train(model.apply, p0, X, y, lr=nb06.TASK_LR, steps=nb06.TASK_STEPS, record_every=1,
                            record_params=True)
            K0 = np.asarray(cu.empirical_ntk(model, p0, X))
            out.append((model, traj, K0))
        return out

    def drift_at(act, width, step):
        values = []
        for model, traj, K0 in replay_drift(act, width):
            p = jax.tree_util.tree_map(lambda a: a[step], traj.param_history)
            K = np.asarray(cu.empirical_ntk(model, p, X))
            values.append(np.linalg.norm(K - K0) / np.linalg.norm(K0))
        return np.mean(values)

    times = nb06.feature_run("ntk", "relu", 64)["times"]

    def check(d):
        i = int(np.argmin(np.abs(times - d.time)))
        for act in nb06.ACTIVATIONS:
            expected = np.maximum([nb06.mean_drift(act, w)[i] for w in nb06.WIDTHS], 1e-12)
            np.testing.assert_allclose(line(d.axes[1], f"vs-width-{act}").get_ydata(), expected)
        if i in (1, len(times) // 2, len(times) - 1):
            step = int(round(times[i] / nb06.TASK_LR))
            got = line(d.axes[1], "vs-width-erf").get_ydata()[0]
            np.testing.assert_allclose(got, drift_at("erf", 64, step), rtol=1e-6)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- catapult
def test_catapult_demo():
    demo = nb06.catapult_demo()
    assert list(demo.controls) == ["width", "time", "lr"]
    X, y = nb06.catapult_task()

    @functools.lru_cache(maxsize=None)
    def replay(multiple):
        runs = nb06.catapult_runs(256)
        model = runs["model"]
        lr = float(multiple / runs["lam0"])
        traj = cu.train(model.apply, nb05.init_params(model, 0), X, y, lr=lr, steps=nb06.CAT_STEPS, record_every=1)
        return np.asarray(traj.loss)

    def check(d):
        runs = nb06.catapult_runs(d.width)
        i = nb06._multiple_index(d.values["lr"])
        s = int(d.time)
        np.testing.assert_allclose(line(d.axes[0], "loss").get_ydata(), runs["loss"][i, : s + 1])
        np.testing.assert_allclose(line(d.axes[1], "lam").get_ydata(), runs["lam"][i, : s + 1])
        if d.width == 256 and d.values["lr"] in (1.5, 3.0):
            np.testing.assert_allclose(line(d.axes[0], "loss").get_ydata(), replay(d.values["lr"])[: s + 1], rtol=1e-7)

    check(demo)
    sweep_all(demo, check, extras=("lr",))
    demo.set(width=256, lr=3.0)  # the replayed width: a few times checked against cu.train
    times = option_values(demo.controls["time"])
    sweep(demo, "time", values=times[::6], rounds=1, check=check)
    assert_no_leak(demo, events=40)
