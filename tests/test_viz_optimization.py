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
    early_stopping_factors,
    fitted_slope,
    plot_convergence,
    plot_early_stopping,
    plot_exact_zeros,
    plot_gradient_check,
    plot_rates,
    plot_restart_scaling,
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


def test_convergence_draws_bounds_in_the_methods_colour():
    h = np.array([3.0, 2.0, 1.5])
    bound = np.array([2.5, 1.5, 1.0])
    fig, data = plot_convergence({"p": ({"a": h}, 1.0)}, bounds={"p": {"a": bound}})
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.lines[1].get_linestyle() == "--"
    assert ax.lines[0].get_color() == ax.lines[1].get_color()
    np.testing.assert_allclose(ax.lines[1].get_ydata(), bound)
    plt.close(fig)
    with pytest.raises(ValueError, match="one entry per iteration"):
        plot_convergence({"p": ({"a": h}, 1.0)}, bounds={"p": {"a": bound[:2]}})
    with pytest.raises(ValueError, match="without a history"):
        plot_convergence({"p": ({"a": h}, 1.0)}, bounds={"p": {"b": bound}})


def test_fitted_slope_recovers_linear_and_power_rates():
    k = np.arange(200, dtype=float)
    assert abs(fitted_slope(3.0 * 0.97**k, (10, 200)) - np.log(0.97)) < 1e-12
    assert abs(fitted_slope(5.0 / np.maximum(k, 1) ** 0.5, (10, 200), "log") + 0.5) < 1e-12
    # a 1/k^2 curve fitted as if it were linear is not a constant rate: the two fits differ
    g = 1.0 / np.maximum(k, 1) ** 2
    assert abs(fitted_slope(g, (10, 200), "log") + 2.0) < 1e-12
    assert fitted_slope(g, (100, 200)) > fitted_slope(g, (10, 20))
    with pytest.raises(ValueError, match="> 0 inside window"):
        fitted_slope(np.r_[1.0, 0.5, 0.0, 0.1], (0, 4))
    with pytest.raises(ValueError, match="scale"):
        fitted_slope(g, (10, 20), "semilog")


def test_rates_panels_report_the_fitted_slopes():
    k = np.arange(100, dtype=float)
    lin, sub = 0.8**k, 1.0 / np.sqrt(np.maximum(k, 1))
    fig, data = plot_rates({
        "linear": {"curves": {"gd": lin}, "window": (5, 50), "references": {"bound": 0.9**k}},
        "sublinear": {"curves": {"sg": sub}, "window": (10, 100), "scale": "log"},
    })
    assert abs(data["linear"]["slopes"]["gd"] - np.log(0.8)) < 1e-10
    assert abs(data["sublinear"]["slopes"]["sg"] + 0.5) < 1e-10
    np.testing.assert_allclose(data["linear"]["fits"]["gd"], lin[5:50], rtol=1e-9)
    assert fig.axes[0].get_xscale() == "linear" and fig.axes[1].get_xscale() == "log"
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    assert len(fig.axes[0].lines) == 3  # curve, its fit, the reference
    assert_labelled(fig)
    plt.close(fig)
    with pytest.raises(TypeError, match="'curves' and 'window'"):
        plot_rates({"x": {"curves": {}}})


def test_restart_scaling_fits_the_exponent_of_the_iterations():
    kap = np.array([10.0, 100.0, 1000.0, 10000.0])
    eps = 1e-8
    its = 0.6 * np.sqrt(kap) * np.log(1 / eps)
    fig, data = plot_restart_scaling(kap, its, eps)
    assert abs(data["exponent"] - 0.5) < 1e-12
    np.testing.assert_allclose(data["ratios"], 0.6)
    np.testing.assert_allclose(data["linear_reference"], kap * np.log(1e8))
    fig2, data2 = plot_restart_scaling(kap, kap * 3.0, eps)  # gradient-descent-like scaling
    assert abs(data2["exponent"] - 1.0) < 1e-12
    assert_labelled(fig)
    plt.close(fig)
    plt.close(fig2)
    with pytest.raises(ValueError, match="same length"):
        plot_restart_scaling(kap, its[:2], eps)


def test_early_stopping_factors_match_gradient_descent_and_ridge():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 6)) * np.logspace(0, -2, 6)
    H = A.T @ A / 30
    lam, U = np.linalg.eigh(H)
    w_star = rng.standard_normal(6)
    eta, k = 1.0 / lam[-1], 37
    w = np.zeros(6)
    for _ in range(k):  # gradient descent on (w - w*)^T H (w - w*) / 2 from zero
        w = w - eta * H @ (w - w_star)
    gd, ridge = early_stopping_factors(lam, eta, k)
    np.testing.assert_allclose(U.T @ w, gd * (U.T @ w_star), rtol=1e-10, atol=1e-14)
    alpha = 1.0 / (k * eta)
    w_ridge = np.linalg.solve(H + alpha * np.eye(6), H @ w_star)
    np.testing.assert_allclose(U.T @ w_ridge, ridge * (U.T @ w_star), rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="must be < 2"):
        early_stopping_factors(lam, 2.5 / lam[-1], 3)


def test_early_stopping_figure_holds_the_factors_it_draws():
    lam = np.logspace(-3, 0, 8)
    fig, data = plot_early_stopping(lam, 1.0, [3, 30], {"gd": [3.0, 2.0], "ridge": [3.1, 2.2]}, [3, 30])
    for k in (3, 30):
        gd, ridge = early_stopping_factors(data["grid"], 1.0, k)
        np.testing.assert_array_equal(data["factors"][k][0], gd)
        np.testing.assert_array_equal(data["factors"][k][1], ridge)
        np.testing.assert_array_equal(data["at_eigenvalues"][k][0], early_stopping_factors(lam, 1.0, k)[0])
    assert data["grid"].min() < lam.min() and data["grid"].max() <= 1.0
    assert len(fig.axes) == 2
    assert_labelled(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="steps must be given"):
        plot_early_stopping(lam, 1.0, [3], {"gd": [1.0]})


def test_early_stopping_factors_are_accurate_where_one_minus_a_power_cancels():
    # tiny eta * lambda: 1 - (1 - x)^k computed naively loses every digit; the binomial series
    # k x - C(k, 2) x^2 + ... is the oracle
    x, k = 1e-13, 7
    gd, _ = early_stopping_factors([x], 1.0, k)
    series = k * x - k * (k - 1) / 2 * x**2
    assert abs(gd[0] / series - 1) < 1e-14
    assert abs((1.0 - (1.0 - x) ** k) / series - 1) > 1e-4  # what the naive formula gives
    # 1 < eta * lambda < 2: the factor overshoots and oscillates, exactly (1 - (1 - x)^k)
    gd, ridge = early_stopping_factors([1.5, 1.0], 1.0, 3)
    np.testing.assert_allclose(gd, [1.125, 1.0], rtol=1e-15)
    np.testing.assert_allclose(ridge, [1.5 / (1.5 + 1 / 3), 0.75], rtol=1e-15)


def test_gradient_check_lines_hold_the_errors():
    hs = np.logspace(-1, -6, 6)
    errs = {"forward": hs * 0.3, "central": hs**2}
    fig, _ = plot_gradient_check(hs, errs)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), errs["forward"])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), errs["central"])
    plt.close(fig)
