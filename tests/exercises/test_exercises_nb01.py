"""Notebook 01's exercises: each solution passes its check, typical slips are explained."""

import numpy as np

import course_utils as cu
from course_utils.exercises import nb01
from course_utils.experiments import landscape


def test_permute_hidden_check_accepts_the_solution():
    assert nb01.check_permute_hidden(nb01.permute_hidden_solution)
    assert nb01.check_permute_hidden(landscape.permute_hidden)
    assert cu.exercises.get_solution("01.permute_hidden") is nb01.permute_hidden_solution


def test_permute_hidden_check_explains_wrong_answers():
    def unchanged(params, perm):
        return params

    def inverse(params, perm):
        return landscape.permute_hidden(params, np.argsort(perm))

    def first_layer_only(params, perm):
        return [{"W": params[0]["W"][:, perm], "b": params[0]["b"][perm]}, params[1]]

    def stub(params, perm):
        raise NotImplementedError

    expectations = [
        (unchanged, "unchanged"),
        (inverse, "inverse"),
        (first_layer_only, "outputs changed"),
        (stub, "NotImplementedError"),
    ]
    for fn, phrase in expectations:
        verdict = nb01.check_permute_hidden(fn)
        assert not verdict and phrase in verdict.message, (fn.__name__, verdict.message)
    assert not nb01.check_permute_hidden("not a function")


def test_convexity_gap_check():
    assert nb01.check_convexity_gap(nb01.convexity_gap_solution)
    one_unit = lambda t: float(landscape.one_unit_loss(t[0], t[1]))
    gap = nb01.convexity_gap_solution(one_unit, np.array([0.5, 2.0]), np.array([2.0, 0.5]), 0.5)
    np.testing.assert_allclose(gap, 81 / 512)

    def flipped(loss_fn, a, b, s):
        return -nb01.convexity_gap_solution(loss_fn, a, b, s)

    def swapped(loss_fn, a, b, s):
        return loss_fn(s * a + (1 - s) * b) - ((1 - s) * loss_fn(a) + s * loss_fn(b))

    def stub(loss_fn, a, b, s):
        raise NotImplementedError

    for fn, phrase in [(flipped, "sign"), (swapped, "s = "), (stub, "NotImplementedError")]:
        verdict = nb01.check_convexity_gap(fn)
        assert not verdict and phrase in verdict.message, (fn.__name__, verdict.message)
    assert cu.exercises.get_solution("01.convexity_gap") is nb01.convexity_gap_solution
