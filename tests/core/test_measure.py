"""The shared measurements: power-law fits, relative distances, top eigenvalues."""

import numpy as np
import pytest

import course_utils as cu


def test_power_law_fit_recovers_exponent_and_prefactor():
    widths = np.array([64, 128, 256, 512, 1024])
    fit = cu.fit_power_law(widths, 3.0 * widths**-0.5)
    assert abs(fit.exponent + 0.5) < 1e-12 and abs(fit.prefactor - 3.0) < 1e-10 and fit.stderr < 1e-12
    np.testing.assert_allclose(fit.predict(2048), 3.0 * 2048**-0.5)
    assert str(fit) == "-0.50 +/- 0.00"


def test_power_law_stderr_grows_with_scatter():
    rng = np.random.default_rng(0)
    widths = np.geomspace(64, 4096, 7)
    clean = widths**-1.0
    small = cu.fit_power_law(widths, clean * np.exp(0.01 * rng.standard_normal(7)))
    large = cu.fit_power_law(widths, clean * np.exp(0.3 * rng.standard_normal(7)))
    assert small.stderr < large.stderr
    assert abs(small.exponent + 1) < 3 * small.stderr + 0.02


def test_power_law_bad_input():
    with pytest.raises(ValueError, match="positive"):
        cu.fit_power_law([1, 2, 3], [1, 0, 2])
    with pytest.raises(ValueError, match="two points"):
        cu.fit_power_law([1], [1])
    with pytest.raises(ValueError, match="same length"):
        cu.fit_power_law([1, 2], [1, 2, 3])


def test_relative_distance_and_top_eigenvalue():
    K = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert cu.relative_distance(1.15 * K, K) == pytest.approx(0.15)
    assert cu.top_eigenvalue(K) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="zero"):
        cu.relative_distance(K, 0 * K)
    with pytest.raises(ValueError, match="square"):
        cu.top_eigenvalue(np.ones((2, 3)))


def test_claim_check_reports_and_asserts():
    good = cu.claim("the gap shrinks", measured="-0.48", predicted="-0.5", holds=np.bool_(True))
    assert good.holds is True and str(good) == "[holds] the gap shrinks: measured -0.48; theory -0.5"
    good.assert_holds()
    bad = cu.claim("the gap shrinks", measured="+0.1", predicted="-0.5", holds=False)
    with pytest.raises(AssertionError, match="FAILS.*measured \\+0.1"):
        bad.assert_holds()
