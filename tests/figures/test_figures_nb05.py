"""In-kernel widget tests of notebook 05's demos: drive every control, check the drawn data
(``demo.drawn``) against a direct course_utils computation, and check that redrawing leaks nothing.

Redrawing one figure costs 0.05-0.1 s of CPU here, so each demo sweeps every value of every
control once (a subset twice more); the 200-event leak check runs on the cheapest demo (all
demos share the same redraw pattern), the others get 40 events.
"""

import functools
import math

import jax.numpy as jnp
import numpy as np
import pytest
from widget_driver import assert_no_leak, option_values, sweep

import course_utils as cu
from course_utils.experiments import parameterizations as pz
from course_utils.experiments import spectrum
from course_utils.figures import nb05 as figures
from course_utils.figures.interactive import nearest_index


def sweep_all(demo, check, names=("width", "time")):
    """Every value of every control once, then a few of them back and forth twice more."""
    for name in names:
        redraws, moves = sweep(demo, name, rounds=1, check=check)
        assert redraws == moves > 0
        values = option_values(demo.controls[name])
        redraws, moves = sweep(demo, name, values=values[:: max(1, len(values) // 4)], rounds=2, check=check)
        assert redraws == moves


def test_controls_are_width_and_time():
    demo = figures.spectrum_demo()
    assert list(demo.controls) == ["width", "time"]
    assert option_values(demo.controls["width"]) == list(spectrum.WIDTHS)
    assert demo.draw_count == 1 and demo.image.value[:4] == b"\x89PNG"


# ---------------------------------------------------------------------- filter demo
@functools.lru_cache(maxsize=None)
def direct_filter(width):
    data = spectrum.filter_problem()
    model = cu.MLP(in_dim=2, width=width, parameterization="ntk", sb2=spectrum.SB2)
    K = cu.empirical_ntk(model, model.init(0), jnp.concatenate([data.x, data.x_dense]))
    n = data.x.shape[0]
    return cu.GradientFlow(K[:n, :n], data.y, jnp.zeros(n)), K[n:, :n], np.asarray(data.y)


def test_filter_demo():
    demo = figures.filter_demo()

    def check(d):
        flow, K_star, y = direct_filter(d.width)
        lam = np.asarray(flow.eigenvalues)
        kept = 1 - np.exp(-lam * d.time)
        np.testing.assert_allclose(d.drawn["kept"], kept, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(d.drawn["components"], kept * (y @ np.asarray(flow.eigenvectors)), rtol=1e-6, atol=1e-9)
        expected = flow.predict(d.time, K_star, jnp.zeros(K_star.shape[0]))
        np.testing.assert_allclose(d.drawn["function"], np.asarray(expected), rtol=1e-6, atol=1e-9)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- spectrum demo
def test_spectrum_demo():
    demo = figures.spectrum_demo()
    n = figures.SPECTRUM_N
    ks = np.arange(1, n // 2 + 1)
    angles, X = cu.circle_grid(n)

    @functools.lru_cache(maxsize=None)
    def lam_emp(width):
        model = spectrum.circle_model(width)
        K = np.asarray(cu.empirical_ntk(model, model.init(0), X))
        c = np.cos(np.outer(angles, ks))  # Rayleigh quotients of cos and sin modes, averaged
        s = np.sin(np.outer(angles, ks))
        rc = np.einsum("ik,ij,jk->k", c, K, c) / np.sum(c**2, axis=0)
        rs = np.einsum("ik,ij,jk->k", s, K, s) / np.maximum(np.sum(s**2, axis=0), 1e-300)
        both = np.where(np.sum(s**2, axis=0) > 1e-9 * n, (rc + rs) / 2, rc)
        return np.maximum(both, 0.0)

    def check(d):
        lam = lam_emp(d.width)
        np.testing.assert_allclose(d.drawn["empirical"], lam, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(d.drawn["learned"], 1 - np.exp(-lam * d.time), rtol=1e-9, atol=1e-12)
        lam_inf = spectrum.circle_spectrum(ks, n=n)
        np.testing.assert_allclose(d.drawn["learned_analytic"], 1 - np.exp(-lam_inf * d.time), rtol=1e-9, atol=1e-12)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=200)


# ---------------------------------------------------------------------- spectral bias demo
def test_spectral_bias_demo():
    demo = figures.spectral_bias_demo()
    angles, X = cu.circle_grid(spectrum.BIAS_N)
    y = cu.fourier_target(angles, spectrum.BIAS_FREQS)
    checked = {}

    @functools.lru_cache(maxsize=None)
    def replay(width):
        # seed 0 of the batched runs, trained alone with cu.train and recorded at every step
        apply, params = spectrum.centered_network(spectrum.circle_model(width), 0)
        runs = spectrum.bias_runs(width)
        traj = cu.train(apply, params, X, y, lr=runs.lr, steps=int(runs.steps[-1]), record_every=1)
        model = spectrum.circle_model(width)
        K0 = np.asarray(cu.empirical_ntk(model, model.init(0), X))
        return np.asarray(traj.outputs), K0

    def check(d):
        runs = spectrum.bias_runs(d.width)
        i = nearest_index(runs.times, d.time)
        assert d.drawn["index"] == i
        np.testing.assert_allclose(d.drawn["network"], runs.dense[0, i])
        lam = spectrum.circle_spectrum(spectrum.BIAS_FREQS, n=spectrum.BIAS_N)
        kept = 1 - (1 - runs.lr * lam) ** runs.steps[i]
        dense_angles = np.asarray(cu.circle_grid(128)[0])
        np.testing.assert_allclose(d.drawn["kernel"], kept @ np.cos(np.outer(spectrum.BIAS_FREQS, dense_angles)),
                                   rtol=1e-8, atol=1e-10)
        if d.width in (64, 256):  # direct replay where it is cheap
            outputs, K0 = replay(d.width)
            step = runs.steps[i]
            np.testing.assert_allclose(d.drawn["network"][::4], outputs[step], rtol=1e-7, atol=1e-9)
            amp = spectrum.frequency_amplitudes(outputs[step], np.asarray(angles), spectrum.BIAS_FREQS)
            own = np.asarray(y) - np.linalg.matrix_power(np.eye(spectrum.BIAS_N) - runs.lr * K0, int(step)) @ np.asarray(y)
            own_amp = spectrum.frequency_amplitudes(own, np.asarray(angles), spectrum.BIAS_FREQS)
            if i > 0:  # the amplitude curves start at the first record after t = 0
                np.testing.assert_allclose(d.drawn["amplitudes"][i - 1], amp, rtol=1e-6, atol=1e-9)
                np.testing.assert_allclose(d.drawn["own_kernel"][i - 1], own_amp, rtol=1e-6, atol=1e-9)
            checked[d.width] = True

    check(demo)
    sweep_all(demo, check)
    assert checked
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- generalization demo
def test_generalization_demo():
    demo = figures.generalization_demo()
    data = spectrum.generalization_problem()

    @functools.lru_cache(maxsize=None)
    def direct(width):
        model = spectrum.circle_model(width)
        K = cu.empirical_ntk(model, model.init(0), jnp.concatenate([data.x, data.x_dense]))
        n = data.x.shape[0]
        return cu.GradientFlow(K[:n, :n], data.y, jnp.zeros(n)), K[n:, :n], K[:n, :n]

    def check(d):
        flow, K_star, K_train = direct(d.width)
        zeros = jnp.zeros(K_star.shape[0])
        np.testing.assert_allclose(d.drawn["function"], np.asarray(flow.predict(d.time, K_star, zeros)),
                                   rtol=1e-6, atol=1e-8)
        ct = d.drawn["curve_times"]
        pred = np.asarray(flow.predict(ct[[0, 100, -1]], K_star, zeros))
        test_err = np.mean((pred - np.asarray(data.y_dense)) ** 2, axis=1)
        np.testing.assert_allclose(d.drawn["test_err"][[0, 100, -1]], test_err, rtol=1e-6)
        np.testing.assert_allclose(d.drawn["limit"], np.asarray(cu.kernel_regression(K_train, data.y, K_star)),
                                   rtol=1e-6, atol=1e-8)

    check(demo)
    sweep_all(demo, check)
    assert_no_leak(demo, events=40)


# ---------------------------------------------------------------------- learning-rate transfer demo
def test_lr_transfer_demo():
    demo = figures.lr_transfer_demo()
    assert list(demo.controls) == ["width", "steps"]
    assert demo.controls["steps"].description == "steps"
    x, y = pz.transfer_problem()

    @functools.lru_cache(maxsize=None)
    def direct_loss(par, width, j):
        model = cu.MLP(in_dim=2, width=width, parameterization=par, sb2=0.0)
        traj = cu.train(model.apply, model.init(0), x, y, lr=pz.LEARNING_RATES[par][j], steps=pz.STEPS, record_every=1)
        return np.asarray(traj.loss)

    @functools.lru_cache(maxsize=None)
    def edge(par, width):
        model = cu.MLP(in_dim=2, width=width, parameterization=par, sb2=0.0)
        return 2 / cu.top_eigenvalue(cu.empirical_ntk(model, model.init(0), x))

    def check(d):
        step = d.controls["steps"].value
        assert d.drawn["steps"] == step
        for par in pz.PARAMETERIZATIONS:
            assert d.drawn["edge"][par] == pytest.approx(edge(par, d.width), rel=1e-9)
            for w in pz.WIDTHS:
                lrs, losses = d.drawn[par][w]
                full = pz.lr_sweep(par, w).loss[:, step]
                np.testing.assert_allclose(losses, full[np.isfinite(full)])
            # one learning rate recomputed directly with cu.train
            j = 4 if par != "standard" else 8
            lrs, losses = d.drawn[par][64]
            k = int(np.argmin(np.abs(lrs - pz.LEARNING_RATES[par][j])))
            assert lrs[k] == pz.LEARNING_RATES[par][j]
            np.testing.assert_allclose(losses[k], direct_loss(par, 64, j)[step], rtol=1e-8)

    check(demo)
    sweep_all(demo, check, names=("width", "steps"))
    assert_no_leak(demo, events=40)


def test_coordinate_check_demo():
    demo = figures.coordinate_check_demo()
    assert list(demo.controls) == ["steps"]
    assert demo.controls["steps"].description == "steps"
    x, y = pz.transfer_problem()

    @functools.lru_cache(maxsize=None)
    def direct(par, steps):  # the narrowest width, recomputed with cu.train and the model's forward pass
        model = cu.MLP(in_dim=2, width=64, parameterization=par, sb2=0.0)
        traj = cu.train(model.apply, model.init_many(list(pz.COORD_SEEDS)), x, y, lr=pz.coordinate_lr(par), steps=steps,
                        record_every=1, batch=True, record_params=True)
        h = [np.asarray(model.forward(cu.run_slice(cu.run_slice(traj.param_history, i), s), x)[0][0])
             for i in range(len(pz.COORD_SEEDS)) for s in (0, steps)]
        h = np.asarray(h).reshape(len(pz.COORD_SEEDS), 2, *h[0].shape)
        return np.sqrt(np.mean((h[:, 1] - h[:, 0]) ** 2)), np.sqrt(np.mean(np.asarray(traj.outputs)[:, -1] ** 2))

    def check(d):
        steps = d.controls["steps"].value
        assert d.drawn["steps"] == steps
        for par in pz.PARAMETERIZATIONS:
            widths, change, output = d.drawn[par]
            assert list(widths) == list(pz.COORD_WIDTHS)
            c = pz.coordinate_check(par)
            np.testing.assert_allclose(change, c.change[:, steps - 1])
            np.testing.assert_allclose(output, c.output[:, steps])
            np.testing.assert_allclose([change[0], output[0]], direct(par, steps), rtol=1e-8)
            for values, (low, high) in zip((change, output), d.drawn["ylims"]):  # nothing clipped
                assert low < values.min() and values.max() < high

    check(demo)
    sweep_all(demo, check, names=("steps",))
    assert_no_leak(demo, events=40)


def test_static_figures_show_the_experiment_numbers():
    import matplotlib.pyplot as plt

    decay = spectrum.spectrum_decay(n=128, kmax=32, fit_range=(8, 32))
    fig = figures.spectrum_figure(decay)
    assert str(decay.fit) in fig.axes[0].get_title()
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), (decay.ks**2 * decay.with_bias)[decay.ks % 2 == 0])
    assert all(ax.get_ylabel() for ax in fig.axes)
    plt.close(fig)
    res = spectrum.convergence_times(freqs=(2, 3, 4, 5, 8, 9), width=1024, n=32, fit_from=2)
    fig = figures.convergence_figure(res)
    even = res.freqs % 2 == 0
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), res.measured[even])
    np.testing.assert_allclose(fig.axes[0].lines[2].get_ydata(), res.measured[~even])
    assert fig.axes[0].get_ylabel()
    plt.close(fig)


def test_demos_do_not_accept_unknown_controls():
    demo = figures.filter_demo(widths=(64, 256))
    with pytest.raises(ValueError, match="no control"):
        demo.set(depth=3)
    assert demo.width in (64, 256)
    assert math.isfinite(demo.time)
