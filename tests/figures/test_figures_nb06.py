"""In-kernel widget tests of notebook 06's demos: drive every control (width, time or steps, depth, lr),
compare the data each draw returned (``demo.drawn``) with a direct course_utils computation, and
check for leaks.

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
from course_utils.experiments import catapult, depth, feature_learning, kernel_drift
from course_utils.figures import nb06 as figures


def sweep_all(demo, check, cheap="time", extras=()):
    """Every value of every control once, then a few of them back and forth twice more."""
    for name in ("width", *extras, cheap):
        redraws, moves = sweep(demo, name, rounds=1, check=check)
        assert redraws == moves > 0
        values = option_values(demo.controls[name])
        redraws, moves = sweep(demo, name, values=values[:: max(1, len(values) // 4)], rounds=2, check=check)
        assert redraws == moves


# ---------------------------------------------------------------------- lazy vs feature learning
def test_lazy_demo():
    demo = figures.lazy_demo()
    assert list(demo.controls) == ["width", "time"]
    _, x, y = cu.circle_problem(feature_learning.DATA_SEED, feature_learning.N_TRAIN)
    _, x_dense = cu.circle_grid(feature_learning.DENSE_N)
    record_times = feature_learning.LR * np.asarray(feature_learning.RECORD_STEPS)

    @functools.cache
    def replay(par, width):  # seed 0 trained alone by cu.train, every step kept
        model = cu.MLP(in_dim=2, width=width, parameterization=par, sb2=feature_learning.SB2)
        traj = cu.train(model.apply, model.init(0), x, y, lr=feature_learning.LR, steps=feature_learning.STEPS,
                        record_every=1, record_params=True)
        return model, traj

    def check(d):
        drawn = d.drawn
        i = drawn["time_index"]
        assert i == int(np.argmin(np.abs(record_times - d.time)))
        for par in ("ntk", "mup"):
            run = feature_learning.feature_runs(par, d.width)
            np.testing.assert_array_equal(drawn["units"][par], run.units[0, i])
            if d.width == 64:  # the hidden features recomputed from the replay
                model, traj = replay(par, 64)
                p = cu.run_slice(traj.param_history, feature_learning.RECORD_STEPS[i])
                expected = np.asarray(jax.nn.relu(model.forward(p, x_dense)[0][0]))[:, : feature_learning.N_UNITS]
                np.testing.assert_allclose(drawn["units"][par], expected, rtol=1e-7, atol=1e-9)
            for w in feature_learning.WIDTHS:
                expected = feature_learning.feature_runs(par, w).feature_change[0, 1:]
                np.testing.assert_array_equal(drawn["feature_change"][par][w], expected)
        # nothing clipped: the y range holds every drawn feature at every width and time
        low, high = drawn["feature_range"]
        for par in ("ntk", "mup"):
            for w in feature_learning.WIDTHS:
                units = feature_learning.feature_runs(par, w).units[0]
                assert low < units.min() and units.max() < high

    # staged: N = 1024 is drawn first, alone in the side panel; the stages bring the other widths
    assert set(demo.drawn["feature_change"]["ntk"]) == {1024}
    assert demo.finish() == len(feature_learning.WIDTHS) - 1 and not demo.pending
    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- depth
def test_depth_slider():
    s = figures.depth_slider()
    assert s.description == "depth" and option_values(s) == list(depth.DEPTHS) and not s.continuous_update


def test_depth_demo():
    demo = figures.depth_demo()
    assert list(demo.controls) == ["width", "time", "depth"]
    assert len(demo.pending) == len(depth.DEPTHS) * len(depth.WIDTHS) - 1  # every other (depth, width)
    _, x_grid = cu.circle_grid(depth.PROFILE_N)
    _, x_train, y = cu.circle_problem(depth.TRAIN_SEED, depth.N_TRAIN)
    n = depth.N_TRAIN

    @functools.cache
    def direct(L):
        # one analytic kernel on [train; grid] (the shapes the demo compiled for), sliced here
        K = np.asarray(cu.analytic_ntk(cu.MLP(in_dim=2, width=1, depth=L), jnp.concatenate([x_train, x_grid])))
        profile = K[n, n:] / np.sqrt(K[n, n] * np.diag(K)[n:])
        return profile, cu.GradientFlow(K[:n, :n], y, jnp.zeros(n)), K[n:, :n]

    @functools.cache
    def empirical(L, width):
        model = cu.MLP(in_dim=2, width=width, depth=L)
        _, x = cu.circle_grid(depth.EMPIRICAL_N)
        K = np.asarray(cu.empirical_ntk(model, model.init(0), x))
        return K[0] / np.sqrt(K[0, 0] * np.diag(K))

    def check(d):
        L = d.values["depth"]
        profile, flow, K_star = direct(L)
        np.testing.assert_allclose(d.drawn["limit"], profile, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(d.drawn["empirical"], empirical(L, d.width), rtol=1e-7, atol=1e-9)
        expected = flow.predict(d.time, K_star, jnp.zeros(K_star.shape[0]))
        np.testing.assert_allclose(d.drawn["function"], np.asarray(expected), rtol=1e-6, atol=1e-8)

    check(demo)
    sweep_all(demo, check, extras=("depth",))
    assert_no_leak(demo, events=200)


# ---------------------------------------------------------------------- kernel drift
def test_drift_demo():
    demo = figures.drift_demo()
    assert list(demo.controls) == ["width", "time"]
    _, x, y = cu.circle_problem(kernel_drift.DATA_SEED, kernel_drift.N_TRAIN)
    record_times = kernel_drift.LR * np.asarray(kernel_drift.RECORD_STEPS)

    @functools.cache
    def replay(act, width, seed):  # one seed trained alone by cu.train, every step kept
        model = cu.MLP(in_dim=2, width=width, activation=act, sb2=kernel_drift.SB2)
        p0 = model.init(seed)
        traj = cu.train(model.apply, p0, x, y, lr=kernel_drift.LR, steps=kernel_drift.STEPS, record_every=1,
                        record_params=True)
        return model, traj, np.asarray(cu.empirical_ntk(model, p0, x))

    def drift_at(act, width, seed, step):
        model, traj, K0 = replay(act, width, seed)
        K = np.asarray(cu.empirical_ntk(model, cu.run_slice(traj.param_history, step), x))
        return cu.relative_distance(K, K0)

    def check(d):
        i = d.drawn["time_index"]
        assert i == int(np.argmin(np.abs(record_times - d.time)))
        for act in kernel_drift.ACTIVATIONS:
            runs = [kernel_drift.drift_runs(act, w) for w in kernel_drift.WIDTHS]
            expected = np.maximum([r.mean_drift[i] for r in runs], 1e-12)
            np.testing.assert_allclose(d.drawn["drift"][act], expected)
            np.testing.assert_array_equal(d.drawn["seeds"][act], [r.drift[:, i] for r in runs])
            np.testing.assert_allclose(d.drawn["seeds"][act].mean(axis=1), d.drawn["drift"][act], rtol=1e-12, atol=1e-12)
            np.testing.assert_array_equal(d.drawn["per_seed"][act], kernel_drift.drift_runs(act, d.width).drift[:, 1:])
            if i > 0:
                fit = cu.fit_power_law(np.asarray(kernel_drift.WIDTHS), expected)
                assert d.drawn["exponent"][act] == fit.exponent
        if i in (1, len(record_times) // 2, len(record_times) - 1):
            for seed in (0, 1):  # the drawn per-seed drift of width 64, recomputed from single cu.train runs
                got = d.drawn["seeds"]["erf"][0, seed]
                np.testing.assert_allclose(got, drift_at("erf", 64, seed, kernel_drift.RECORD_STEPS[i]), rtol=1e-6)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- catapult
def test_catapult_controls():
    s = figures.lr_slider()
    assert s.description == "lr" and s.value == 3.0
    assert option_values(s) == [float(m) for m in catapult.MULTIPLES]
    assert all("1/lambda_0" in label for label, _ in s.options)
    demo = figures.catapult_demo()
    assert list(demo.controls) == ["width", "steps", "lr"]
    assert demo.controls["steps"].description == "steps"
    assert option_values(demo.controls["steps"])[-1] == catapult.STEPS


def test_catapult_demo():
    demo = figures.catapult_demo()
    _, x, y = cu.circle_problem(catapult.DATA_SEED, catapult.N_TRAIN)

    @functools.cache
    def replay(multiple):  # width 256 trained alone by cu.train at lr = multiple / lambda_0
        model = cu.MLP(in_dim=2, width=256)
        p0 = model.init(0)
        lr = multiple / cu.top_eigenvalue(cu.empirical_ntk(model, p0, x))
        return np.asarray(cu.train(model.apply, p0, x, y, lr=lr, steps=catapult.STEPS, record_every=1).loss)

    def check(d):
        runs = catapult.catapult_runs(d.width)
        i = catapult.multiple_index(d.values["lr"])
        s = d.values["steps"]
        np.testing.assert_array_equal(d.drawn["loss"], runs.loss[i, : s + 1])
        np.testing.assert_array_equal(d.drawn["top_eigenvalue"], runs.top_eigenvalue[i, : s + 1])
        np.testing.assert_array_equal(d.drawn["final"], runs.top_eigenvalue[:, -1] * runs.lrs)
        if d.width == 256 and d.values["lr"] in (1.5, 3.0):
            np.testing.assert_allclose(d.drawn["loss"], replay(d.values["lr"])[: s + 1], rtol=1e-7)

    check(demo)
    sweep_all(demo, check, cheap="steps", extras=("lr",))
    demo.set(width=256, lr=3.0)  # the replayed width: a few step counts checked against cu.train
    steps = option_values(demo.controls["steps"])
    sweep(demo, "steps", values=steps[::6], rounds=1, check=check)
    assert_no_leak(demo, events=40)
