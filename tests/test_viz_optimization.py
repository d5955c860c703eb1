"""Chapter 4's figures: the data each one draws, checked against independent computations,
and the axes labelled (images are not compared by nbval, so the data is tested here)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from figure_checks import assert_labelled

import normreg as nr
from normreg.datasets import make_sparse_regression
from normreg.solvers import fit_linear
from normreg.viz.optimization import (
    plot_convergence,
    plot_exact_zeros,
    plot_gradient_check,
    plot_subdifferential,
)


def test_subdifferential_lines_support_the_graph_and_touch_it_at_zero():
    fig, data = plot_subdifferential(1.5, n_slopes=7)
    w, value, lines = data["w"], data["value"], data["lines"]
    np.testing.assert_allclose(value, 1.5 * np.abs(w))
    np.testing.assert_allclose(data["slopes"], np.linspace(-1.5, 1.5, 7))
    assert np.all(lines <= value + 1e-15)  # every g in [-lam, lam] is a subgradient at 0
    i0 = np.argmin(np.abs(w))
    assert w[i0] == 0 and np.all(lines[:, i0] == 0)
    assert len(fig.axes) == 2
    assert_labelled(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="lam must be > 0"):
        plot_subdifferential(0.0)


def test_exact_zeros_counts_what_the_iterates_hold():
    d = make_sparse_regression(120, 15, 3, noise=0.5, seed=1)
    ista = fit_linear(d.X, d.y, nr.L1(0.1), solver="ista", tol=1e-10)
    traj = {"ista": [], "subgradient": []}
    fit_linear(d.X, d.y, nr.L1(0.1), solver="ista", tol=1e-10, callback=lambda k, w: traj["ista"].append(w))
    import warnings

    from normreg.solvers import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_linear(d.X, d.y, nr.L1(0.1), solver="subgradient", max_iter=200,
                   callback=lambda k, w: traj["subgradient"].append(w))
    arrays = {k: np.vstack([np.zeros(15)] + v) for k, v in traj.items()}
    zero_set = ista.coef == 0
    fig, data = plot_exact_zeros(arrays, zero_set, n_show=3)
    for name, arr in arrays.items():
        np.testing.assert_array_equal(data["zeros"][name], [(row == 0).sum() for row in arr])
    assert data["zeros"]["ista"][-1] == zero_set.sum() == 12
    assert data["zeros"]["subgradient"][-1] == 0
    assert set(data["shown"]) <= set(np.flatnonzero(zero_set)) and len(data["shown"]) == 3
    assert len(fig.axes) == 3
    assert_labelled(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="must have 15 columns"):
        plot_exact_zeros({"a": np.zeros((3, 4))}, zero_set)


def test_convergence_panels_hold_relative_gaps():
    h1 = np.array([3.0, 2.0, 1.5, 1.0 + 1e-20])
    fig, data = plot_convergence({"p1": ({"a": h1, "b": h1[:2]}, 1.0), "p2": ({"c": 2 * h1}, 2.0)})
    np.testing.assert_allclose(data["p1"]["a"], [2.0, 1.0, 0.5, 0.0])
    np.testing.assert_allclose(data["p2"]["c"], [2.0, 1.0, 0.5, 0.0])
    assert len(fig.axes) == 2 and all(ax.get_yscale() == "log" for ax in fig.axes)
    assert [len(ax.lines) for ax in fig.axes] == [2, 1]
    assert fig.axes[0].get_title() == "p1"
    assert_labelled(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="f_star must be > 0"):
        plot_convergence({"p": ({"a": h1}, 0.0)})


def test_gradient_check_draws_the_errors_it_is_given():
    hs = np.logspace(-12, -1, 12)
    x = 0.7
    f, g = np.sin, np.cos(x)
    fwd = np.abs((f(x + hs) - f(x)) / hs - g) / abs(g)
    cen = np.abs((f(x + hs) - f(x - hs)) / (2 * hs) - g) / abs(g)
    fig, data = plot_gradient_check(hs, {"forward": fwd, "central": cen})
    np.testing.assert_array_equal(data["forward"], fwd)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"
    # the V: central differences are best at a moderate h, and beat forward differences there
    assert 1e-7 <= hs[np.argmin(cen)] <= 1e-3 and cen.min() < fwd.min()
    assert_labelled(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="one entry per h"):
        plot_gradient_check(hs, {"x": fwd[:3]})
