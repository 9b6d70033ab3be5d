"""Notebook 07's exercises: each solution passes its check; the usual slips are named."""

import numpy as np

from course_utils.exercises import get_solution
from course_utils.exercises import nb07 as ex
from course_utils.experiments import real_data as rd


def test_normalise_solution_and_slips():
    assert ex.check_normalise(get_solution("07.normalise"))
    no_centre = ex.check_normalise(lambda im, mu: im / np.linalg.norm(im, axis=1, keepdims=True))
    assert not no_centre and "without centring" in no_centre.message
    no_scale = ex.check_normalise(lambda im, mu: im - mu)
    assert not no_scale and "did not scale" in no_scale.message
    one_norm = ex.check_normalise(lambda im, mu: (im - mu) / np.linalg.norm(im - mu))
    assert not one_norm and "whole matrix" in one_norm.message
    columns = ex.check_normalise(lambda im, mu: (im - mu) / np.linalg.norm(im - mu, axis=0, keepdims=True))
    assert not columns and "axis" in columns.message
    stub = ex.check_normalise(lambda im, mu: (_ for _ in ()).throw(NotImplementedError))
    assert not stub and "NotImplementedError" in stub.message


def test_solve_kappa_solution_and_slips():
    assert ex.check_solve_kappa(get_solution("07.solve_kappa"))
    assert ex.check_solve_kappa(lambda eta, n: rd.solve_kappa(eta, n))
    total = ex.check_solve_kappa(lambda eta, n: float(np.sum(eta)))
    assert not total and "n = 0" in total.message
    no_n = ex.check_solve_kappa(lambda eta, n: rd.solve_kappa(eta, 1))
    assert not no_n and "n = 1" in no_n.message
    wrong = ex.check_solve_kappa(lambda eta, n: 2 * rd.solve_kappa(eta, n))
    assert not wrong
