"""The data behind chapter 3's new figures (ridge in the eigenbasis, group selection), checked
against independent computations: an SVD done here, the group lasso's optimality conditions,
and the fits themselves."""

from __future__ import annotations

import numpy as np
import pytest

import normreg as nr
from normreg.viz import penalties as vp


def test_ridge_shrinkage_figure_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((25, 5)) * np.array([5.0, 1.0, 0.3, 0.1, 0.01])
    lams = [1e-4, 1e-2, 1.0]
    fig, data = vp.plot_ridge_shrinkage(X, lams)
    s = np.linalg.svd(X - X.mean(0), compute_uv=False)
    np.testing.assert_allclose(data["d"], s, rtol=1e-12)
    for i, lam in enumerate(lams):
        np.testing.assert_allclose(data["factors"][i], s**2 / (s**2 + 25 * lam), rtol=1e-12)
    np.testing.assert_allclose(data["factor_sum"], data["factors"].sum(axis=1))
    assert np.all(np.diff(data["factor_sum"]) < 0)  # more penalty, fewer degrees of freedom
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_legend().get_texts()) == 3
    with pytest.raises(ValueError, match="lams must be > 0"):
        vp.plot_ridge_shrinkage(X, [0.0, 1.0])


def test_group_entry_levels_is_where_the_zero_solution_stops_being_optimal():
    rng = np.random.default_rng(1)
    m, groups = 60, [[0], [1, 2, 3], [4, 5]]
    X = rng.standard_normal((m, 6))
    y = X @ np.array([0.5, 1.0, -1.0, 0.5, 0.0, 0.3]) + rng.standard_normal(m)
    X, y = X - X.mean(0), y - y.mean()  # no intercept: the levels are those of this X and y
    weights = np.sqrt([len(g) for g in groups])
    levels = vp.group_entry_levels(X, y, groups, weights)
    lam_max = levels.max()
    first = int(np.argmax(levels))
    # just above lam_max the group lasso solution is zero; just below, only the first group moves
    fit = dict(fit_intercept=False, tol=1e-12)
    above = nr.fit_linear(X, y, nr.GroupLasso(lam_max * 1.001, groups), **fit)
    below = nr.fit_linear(X, y, nr.GroupLasso(lam_max * 0.98, groups), **fit)
    assert np.all(above.coef == 0)
    moved = [i for i, g in enumerate(groups) if np.any(below.coef[g] != 0)]
    assert moved == [first]
    # columns of Y: one level per response
    both = vp.group_entry_levels(X, np.column_stack([y, 2 * y]), groups, weights)
    np.testing.assert_allclose(both[:, 0], levels, rtol=1e-12)
    np.testing.assert_allclose(both[:, 1], 2 * levels, rtol=1e-12)
    with pytest.raises(ValueError, match="weights must have one entry per group"):
        vp.group_entry_levels(X, y, groups, [1.0, 1.0])
    with pytest.raises(ValueError, match="Y must have 60 rows"):
        vp.group_entry_levels(X, y[:10], groups, weights)


def test_group_selection_figure_data():
    groups = [[0, 1], [2, 3, 4], [5]]
    truth = np.array([1.0, -1.0, 0.0, 0.0, 0.0, 2.0])
    fits = {"a": np.array([0.9, -0.8, 0.0, 0.0, 0.0, 1.5]), "b": np.array([0.0, -0.5, 0.0, 0.1, 0.0, 1.0])}
    fig, data = vp.plot_group_selection(fits, groups, truth)
    assert data["true_groups"] == [0, 2]
    assert data["selected"] == {"a": [0, 2], "b": [0, 1, 2]}
    assert data["nonzero"] == {"a": [2, 0, 1], "b": [1, 1, 1]}
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match=r"coefs\['x'\] must have shape"):
        vp.plot_group_selection({"x": np.ones(3)}, groups, truth)


@pytest.mark.parametrize(("c2", "at_corner"), [(0.99, True), (-0.99, True), (1.01, False), (-1.01, False)])
def test_exercise_pen_3_corner_range(c2, at_corner):
    """Chapter 3, ex-pen-3: for A = [[1, .3], [.3, 1]] and c = (2, c2) the L1-ball solution is
    the corner (1, 0) exactly for -1 <= c2 <= 1 (the KKT range derived in the solution)."""
    A = np.array([[1.0, 0.3], [0.3, 1.0]])
    w = vp.minimize_quadratic_on_ball(A, np.array([2.0, c2]), 1.0, 1)
    grad = A @ (np.array([2.0, c2]) - np.array([1.0, 0.0]))  # -grad L at the corner
    assert (abs(grad[1]) <= grad[0]) == at_corner  # the KKT condition of the solution
    if at_corner:
        np.testing.assert_array_equal(w, [1.0, 0.0])
    else:
        assert w[1] != 0 and np.sign(w[1]) == np.sign(c2) and np.isclose(np.abs(w).sum(), 1.0)
