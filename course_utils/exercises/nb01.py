"""Notebook 01's exercises: permuting hidden units, and the convexity gap.

Checks ``check_permute_hidden`` and ``check_convexity_gap``, next to their worked solutions
(registered as ``01.permute_hidden`` and ``01.convexity_gap``).
"""

from __future__ import annotations

import math
import numbers

import jax
import numpy as np

from ..data import interval_problem
from ..experiments.landscape import one_unit_loss, permute_hidden, two_layer
from .checks import Verdict, report, solution


@solution("01.permute_hidden")
def permute_hidden_solution(params, perm):
    # Hidden unit j is the j-th column of W1 (its incoming weights), the j-th entry of b1
    # and the j-th row of W2 (its outgoing weight). Reordering the units means applying the
    # same reordering to all three; the read-out bias b2 belongs to no unit and stays put.
    W1, b1 = params[0]["W"], params[0]["b"]
    W2, b2 = params[1]["W"], params[1]["b"]
    return [{"W": W1[:, perm], "b": b1[perm]}, {"W": W2[perm, :], "b": b2}]


def _flat(params) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(leaf)) for leaf in jax.tree_util.tree_leaves(params)])


def _numpy_params(model, seed: int):
    """``model.init(seed)`` as numpy arrays (what a student's numpy code expects)."""
    return jax.tree_util.tree_map(np.asarray, model.init(seed))


def check_permute_hidden(student_fn) -> Verdict:
    """Exercise 01.permute_hidden: ``student_fn(params, perm)`` must reorder the hidden units.

    Checks, on three networks and permutations: the parameters equal the reference
    reordering (new unit j = old unit perm[j]) and the network outputs are unchanged.
    """
    if not callable(student_fn):
        return report(False, "permute_hidden should be a function permute_hidden(params, perm).")
    _, X, _ = interval_problem()
    for width, seed in [(5, 0), (8, 1), (16, 2)]:
        model = two_layer(width)
        params = _numpy_params(model, seed)
        perm = np.random.default_rng(seed).permutation(width)
        if np.array_equal(perm, np.arange(width)):
            perm = np.roll(np.arange(width), 1)
        try:
            got = student_fn(params, perm)
        except NotImplementedError:
            return report(False, "permute_hidden still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code: report it, do not crash the notebook  # noqa: BLE001
            return report(False, f"permute_hidden raised {type(err).__name__}: {err}.")
        try:
            model.check_params(got)
        except ValueError as err:
            return report(False, f"the result is not a parameter list of the same network: {err}")
        expected = permute_hidden(params, perm)
        try:
            out = np.asarray(model.apply(got, X))
        except Exception as err:  # e.g. the student returned something that is not arrays  # noqa: BLE001
            return report(False, f"the result cannot be evaluated as the network's parameters: {err}")
        same_output = np.allclose(out, model.apply(params, X), rtol=1e-12, atol=1e-12)
        if np.allclose(_flat(got), _flat(expected), rtol=0, atol=0):
            continue
        if np.allclose(_flat(got), _flat(params)):
            return report(False, "you returned the parameters unchanged: the outputs agree, but no unit moved.")
        inverse = permute_hidden(params, np.argsort(perm))
        if np.allclose(_flat(got), _flat(inverse)):
            return report(False, "you applied the inverse permutation: new unit j should be old unit perm[j], "
                                 "i.e. W1[:, perm], not W1[:, argsort(perm)].")
        if not same_output:
            return report(False, "the network's outputs changed. Permute the same units in both layers: the "
                                 "columns of W1, the entries of b1 and the rows of W2 (leave b2 alone).")
        return report(False, "the outputs are unchanged but the parameters differ from the reordering "
                             "new unit j = old unit perm[j]; did you move b2 or permute b1 differently?")
    return report(True, "all three networks were reordered correctly, and their outputs did not change.")


@solution("01.convexity_gap")
def convexity_gap_solution(loss_fn, theta_a, theta_b, s):
    # Convexity says: the loss at a point of the segment is at most the same mix of the
    # endpoint losses,  L((1-s) a + s b) <= (1-s) L(a) + s L(b).
    # The gap is the left side minus the right side; a positive gap anywhere proves that
    # the loss is not convex.
    theta_s = (1 - s) * theta_a + s * theta_b
    return loss_fn(theta_s) - ((1 - s) * loss_fn(theta_a) + s * loss_fn(theta_b))


def _gap_cases():
    quadratic = lambda t: float(0.5 * np.sum(np.asarray(t) ** 2))
    one_unit = lambda t: float(one_unit_loss(t[0], t[1]))
    model = two_layer(4)
    _, X, y = interval_problem()
    params = _numpy_params(model, 3)
    W1, W2 = params[0]["W"], params[1]["W"]

    def net_loss(t):  # the width-4 network's loss as a function of its 12 weights
        t = np.asarray(t, dtype=np.float64)
        p = [{"W": t[:8].reshape(2, 4), "b": params[0]["b"]}, {"W": t[8:].reshape(4, 1), "b": params[1]["b"]}]
        return float(0.5 * np.sum((np.asarray(model.apply(p, X)) - np.asarray(y)) ** 2))

    theta = np.concatenate([W1.ravel(), W2.ravel()])
    return [
        (quadratic, np.array([1.0, -2.0]), np.array([3.0, 0.5]), 0.5),
        (quadratic, np.array([0.0, 1.0, 2.0]), np.array([-1.0, 0.0, 4.0]), 0.25),
        (one_unit, np.array([0.5, 2.0]), np.array([2.0, 0.5]), 0.5),
        (one_unit, np.array([0.5, 2.0]), np.array([2.0, 0.5]), 0.9),
        (net_loss, theta, -theta, 0.5),
        (net_loss, theta, 1.5 * theta, 0.3),
    ]


def check_convexity_gap(student_fn) -> Verdict:
    """Exercise 01.convexity_gap: ``student_fn(loss_fn, theta_a, theta_b, s)`` returns
    ``L((1-s) a + s b) - ((1-s) L(a) + s L(b))``; checked on convex and non-convex losses."""
    if not callable(student_fn):
        return report(False, "convexity_gap should be a function convexity_gap(loss_fn, theta_a, theta_b, s).")
    for loss_fn, a, b, s in _gap_cases():
        expected = convexity_gap_solution(loss_fn, a, b, s)
        try:
            got = student_fn(loss_fn, a, b, s)
        except NotImplementedError:
            return report(False, "convexity_gap still raises NotImplementedError: fill in the stub first.")
        except Exception as err:  # the student's code  # noqa: BLE001
            return report(False, f"convexity_gap raised {type(err).__name__}: {err}.")
        if not isinstance(got, numbers.Real) and np.ndim(got) != 0:
            return report(False, f"convexity_gap should return one number; got an array of shape {np.shape(got)}.")
        got = float(got)
        if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
            continue
        if math.isclose(got, -expected, rel_tol=1e-9, abs_tol=1e-12):
            return report(False, "the sign is flipped: the gap is L(on the segment) minus the chord, so it is "
                                 "positive exactly where convexity fails.")
        swapped = convexity_gap_solution(loss_fn, a, b, 1 - s)
        if math.isclose(got, swapped, rel_tol=1e-9, abs_tol=1e-12):
            return report(False, f"at s = {s} you seem to use the mix s a + (1 - s) b; the point is "
                                 "(1 - s) theta_a + s theta_b, so s = 0 is theta_a.")
        return report(False, f"at s = {s} you returned {got:.4g}, the gap is {expected:.4g}. Compare "
                             "L((1-s) a + s b) with (1-s) L(a) + s L(b), evaluated at the same s.")
    return report(True, "your gap agrees on convex and non-convex losses: it is <= 0 on the quadratic and "
                        "positive between the minima of the one-unit net.")


__all__ = ["check_convexity_gap", "check_permute_hidden", "convexity_gap_solution", "permute_hidden_solution"]
