"""In-kernel widget tests of notebook 05's demos: drive every control, check the drawn data
against a direct course_utils computation, and check that redrawing leaks nothing.

Redrawing one figure costs 0.05-0.1 s of CPU here, so each demo sweeps every value of every
control once (widths twice, a subset of times twice) and the full 200-event leak check runs on
the cheapest demo (all demos share the same redraw pattern); the others get 40 events.
"""

import functools

import jax.numpy as jnp
import numpy as np
import pytest
from widget_driver import assert_no_leak, option_values, sweep

import course_utils as cu
from course_utils import nb05


def by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert found, f"no artist with gid {gid!r}"
    return found


def line(ax, gid):
    return by_gid(ax, gid)[0]


def sweep_all(demo, check, extras=()):
    """Every value of every control once, then a few of them back and forth twice more."""
    for name in ("width", *extras, "time"):
        redraws, moves = sweep(demo, name, rounds=1, check=check)
        assert redraws == moves > 0
        values = option_values(demo.controls[name])
        redraws, moves = sweep(demo, name, values=values[:: max(1, len(values) // 4)], rounds=2, check=check)
        assert redraws == moves


def test_controls_are_width_and_time():
    demo = nb05.spectrum_demo()
    assert list(demo.controls) == ["width", "time"]
    assert option_values(demo.controls["width"]) == list(nb05.WIDTHS)
    assert demo.draw_count == 1 and demo.image.value[:4] == b"\x89PNG"


# ---------------------------------------------------------------------- filter demo
@functools.lru_cache(maxsize=None)
def direct_filter(width):
    # one kernel on [train; dense] (the shapes the demo compiled for), sliced here
    _, X, y, _, X_dense = nb05.filter_setup()
    model = nb05.model_for(width)
    K = cu.empirical_ntk(model, nb05.init_params(model, 0), jnp.concatenate([X, X_dense]))
    n = X.shape[0]
    flow = cu.GradientFlow(K[:n, :n], y, jnp.zeros(n))
    return flow, K[n:, :n], np.asarray(y)


def test_filter_demo():
    demo = nb05.filter_demo()

    def check(d):
        flow, K_star, y = direct_filter(d.width)
        lam = np.asarray(flow.eigenvalues)
        kept = 1 - np.exp(-lam * d.time)
        np.testing.assert_allclose(line(d.axes[0], "filter").get_ydata(), kept, rtol=1e-6, atol=1e-9)
        heights = [r.get_height() for r in by_gid(d.axes[1], "components")]
        np.testing.assert_allclose(heights, kept * (y @ np.asarray(flow.eigenvectors)), rtol=1e-6, atol=1e-9)
        expected = flow.predict(d.time, K_star, jnp.zeros(K_star.shape[0]))
        np.testing.assert_allclose(line(d.axes[2], "function").get_ydata(), np.asarray(expected), rtol=1e-6, atol=1e-9)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- spectrum demo
def test_spectrum_demo():
    demo = nb05.spectrum_demo()
    ks = np.arange(1, nb05.SPECTRUM_N // 2 + 1)
    _, X = cu.circle_grid(nb05.SPECTRUM_N)

    @functools.lru_cache(maxsize=None)
    def lam_emp(width):
        model = nb05.model_for(width)
        K = cu.empirical_ntk(model, nb05.init_params(model, 0), X)
        return np.maximum(nb05.fourier_eigenvalues(np.asarray(K), ks), 0.0)

    def check(d):
        lam = lam_emp(d.width)
        np.testing.assert_allclose(line(d.axes[0], "empirical").get_ydata(), np.maximum(lam, 1e-8), rtol=1e-9)
        learned = line(d.axes[1], "learned").get_ydata()
        np.testing.assert_allclose(learned, 1 - np.exp(-lam * d.time), rtol=1e-9, atol=1e-12)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=200)


# ---------------------------------------------------------------------- spectral bias demo
def test_spectral_bias_demo():
    demo = nb05.spectral_bias_demo()
    angles, X = cu.circle_grid(nb05.BIAS_N)
    y = cu.fourier_target(angles, nb05.BIAS_FREQS)
    checked = {}

    @functools.lru_cache(maxsize=None)
    def replay(width):
        # the same run with cu.train, recorded at every step
        model = nb05.model_for(width)
        apply, params = nb05.centered_network(model, 0)
        run = nb05.bias_run(width)
        steps = int(round(run["times"][-1] / run["lr"]))
        traj = cu.train(apply, params, X, y, lr=run["lr"], steps=steps, record_every=1)
        return np.asarray(traj.outputs), run

    def check(d):
        run = nb05.bias_run(d.width)
        i = int(np.argmin(np.abs(run["times"] - d.time)))
        np.testing.assert_allclose(line(d.axes[0], "network").get_ydata(), run["dense"][i])
        if d.width in (64, 256):  # direct replay where it is cheap
            outputs, run = replay(d.width)
            step = int(round(run["times"][i] / run["lr"]))
            np.testing.assert_allclose(line(d.axes[0], "network").get_ydata()[::4], outputs[step], rtol=1e-7, atol=1e-9)
            amp = nb05.frequency_amplitudes(outputs[step], np.asarray(angles), nb05.BIAS_FREQS)
            if i > 0:  # the amplitude curves start at the first record after t = 0
                got = line(d.axes[1], "amplitude1").get_ydata()[i - 1]
                np.testing.assert_allclose(got, amp[0], rtol=1e-6, atol=1e-9)
            checked[d.width] = True

    check(demo)
    sweep_all(demo, check)
    assert checked
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- generalization demo
def test_generalization_demo():
    demo = nb05.generalization_demo()
    _, X, y, _, X_test, y_test = nb05.gen_setup()

    @functools.lru_cache(maxsize=None)
    def direct(width):
        model = nb05.model_for(width)
        K = cu.empirical_ntk(model, nb05.init_params(model, 0), jnp.concatenate([X, X_test]))
        n = X.shape[0]
        return cu.GradientFlow(K[:n, :n], y, jnp.zeros(n)), K[n:, :n]

    def check(d):
        flow, K_star = direct(d.width)
        expected = np.asarray(flow.predict(d.time, K_star, jnp.zeros(K_star.shape[0])))
        np.testing.assert_allclose(line(d.axes[0], "function").get_ydata(), expected, rtol=1e-6, atol=1e-8)
        ct = line(d.axes[1], "test").get_xdata()
        pred = np.asarray(flow.predict(ct[[0, 100, -1]], K_star, jnp.zeros(K_star.shape[0])))
        test_err = np.mean((pred - np.asarray(y_test)) ** 2, axis=1)
        np.testing.assert_allclose(line(d.axes[1], "test").get_ydata()[[0, 100, -1]], test_err, rtol=1e-6)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- muP demo
def test_mup_transfer_demo():
    demo = nb05.mup_transfer_demo()
    X, y = nb05.mup_data()

    @functools.lru_cache(maxsize=None)
    def direct_loss(par, width, j):
        model = cu.MLP(in_dim=2, width=width, parameterization=par, sb2=0.0)
        p0 = nb05.init_params(model, 0)
        traj = cu.train(model.apply, p0, X, y, lr=nb05.MUP_LRS[par][j], steps=nb05.MUP_STEPS, record_every=1)
        return np.asarray(traj.loss)

    def check(d):
        step = int(d.time)
        for ax, par in zip(d.axes, ("standard", "mup")):
            for w in nb05.MUP_WIDTHS:
                ln = line(ax, f"{par}-{w}")
                losses = nb05.lr_sweeps(w)[par][:, step]
                np.testing.assert_allclose(ln.get_ydata(), losses[np.isfinite(losses)])
            # one learning rate recomputed directly with cu.train
            j = 4 if par == "mup" else 8
            x = np.asarray(line(ax, f"{par}-64").get_xdata())
            k = int(np.argmin(np.abs(x - nb05.MUP_LRS[par][j])))
            assert x[k] == nb05.MUP_LRS[par][j]
            np.testing.assert_allclose(line(ax, f"{par}-64").get_ydata()[k], direct_loss(par, 64, j)[step], rtol=1e-8)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=40)


def test_demos_do_not_accept_unknown_controls():
    demo = nb05.filter_demo(widths=(64, 256))
    with pytest.raises(ValueError, match="no control"):
        demo.set(depth=3)
    assert demo.width == 64 or demo.width == 256
