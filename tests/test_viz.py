"""The book's figures (chapters 1-3): the data each one draws, checked against independent
oracles (NumPy, scikit-learn, scipy, closed forms), and that every axis is labelled. No pixels."""

from __future__ import annotations

import numpy as np
import pytest
from figure_checks import assert_labelled
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import minimize

import normreg as nr
from normreg.constraints import MaxNorm
from normreg.viz import norms as vn
from normreg.viz import overfitting as vo
from normreg.viz import penalties as vp


# --------------------------------------------------------------------------- chapter 1
@pytest.fixture(scope="module")
def poly():
    from normreg.datasets import make_polynomial_data

    return make_polynomial_data(20, seed=0), make_polynomial_data(300, seed=1)


def test_polynomial_features_match_vander():
    x = np.array([0.5, -2.0, 3.0])
    np.testing.assert_array_equal(vo.polynomial_features(x, 4), np.vander(x, 5, increasing=True)[:, 1:])
    assert vo.polynomial_features(x, 0).shape == (3, 0)


def test_unpenalized_fit_is_numpy_polyfit(poly):
    (x, y), _ = poly
    fit = vo.fit_polynomial(x, y, 5)
    ref = np.polynomial.polynomial.Polynomial.fit(x, y, 5).convert().coef  # increasing order
    np.testing.assert_allclose(fit.intercept, ref[0], rtol=1e-8)
    np.testing.assert_allclose(fit.coef, ref[1:], rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("lam", [1e-3, 0.1])
def test_penalized_fit_is_sklearn_ridge_with_alpha_lam_m(poly, lam):
    from sklearn.linear_model import Ridge

    (x, y), _ = poly
    m = len(x)
    fit = vo.fit_polynomial(x, y, 8, lam)
    ridge = Ridge(alpha=lam * m, solver="svd").fit(vo.polynomial_features(x, 8), y)
    np.testing.assert_allclose(fit.coef, ridge.coef_, rtol=1e-7, atol=1e-9)
    assert fit.intercept == pytest.approx(ridge.intercept_, rel=1e-9)


def test_high_degree_interpolates_and_train_error_never_grows(poly):
    (x, y), (xt, yt) = poly
    assert vo.fit_polynomial(x, y, len(x) - 1).mse(x, y) < 1e-12
    sweep = vo.degree_sweep(x, y, xt, yt, range(0, 16))
    assert np.all(np.diff(sweep.train_mse) <= 1e-12)  # nested models
    np.testing.assert_allclose(sweep.train_mse[3], vo.fit_polynomial(x, y, 3).mse(x, y))
    np.testing.assert_allclose(sweep.test_mse[0], np.mean((yt - y.mean()) ** 2))
    # the L2 penalty keeps the degree-15 test error near the best one
    reg = vo.degree_sweep(x, y, xt, yt, [15], lam=1e-3)
    assert reg.test_mse[0] < 0.1 * sweep.test_mse[15]


def test_plot_degree_sweep_draws_the_sweeps(poly):
    (x, y), (xt, yt) = poly
    s0 = vo.degree_sweep(x, y, xt, yt, range(6))
    s1 = vo.degree_sweep(x, y, xt, yt, range(6), lam=0.01)
    fig, data = vo.plot_degree_sweep([s0, s1])
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 4
    for line, ys in zip(lines, (s0.train_mse, s0.test_mse, s1.train_mse, s1.test_mse), strict=True):
        np.testing.assert_array_equal(line.get_ydata(), ys)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(6))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["train, no penalty", "test, no penalty", "train, L2(λ=0.01)", "test, L2(λ=0.01)"]
    assert ax.get_yscale() == "log"
    assert data == [s0, s1]
    assert_labelled(fig)


def test_plot_polynomial_fits(poly):
    (x, y), _ = poly
    fits = [vo.fit_polynomial(x, y, 3), vo.fit_polynomial(x, y, 12, 1e-3)]
    fig, data = vo.plot_polynomial_fits(x, y, fits, truth=lambda t: np.sin(np.pi * t))
    assert len(fig.axes) == 2
    for ax, fit, curve in zip(fig.axes, fits, data["curves"], strict=True):
        np.testing.assert_allclose(curve, fit.predict(data["grid"]))
        fitted = [ln for ln in ax.get_lines() if ln.get_label() == "fit"][0]
        np.testing.assert_array_equal(fitted.get_ydata(), curve)
    np.testing.assert_allclose(data["truth"], np.sin(np.pi * data["grid"]))
    assert [ax.get_title() for ax in fig.axes] == ["degree 3", "degree 12, L2(λ=0.001)"]
    assert_labelled(fig)


def test_plot_train_test_generic_and_validation():
    fig, data = vo.plot_train_test([1, 10, 100], [0.9, 1.0, 1.0], [0.8, 0.9, 0.7],
                                   xlabel="λ", ylabel="accuracy", logx=True)
    assert fig.axes[0].get_xscale() == "log"
    np.testing.assert_array_equal(data["test"], [0.8, 0.9, 0.7])
    assert_labelled(fig)
    with pytest.raises(ValueError, match="same length"):
        vo.plot_train_test([1, 2], [1.0], [1.0, 2.0], xlabel="a", ylabel="b")
    fig, _ = vo.plot_train_test([1, 2], [1.0, 0.9], [0.5, 0.6], xlabel="a", ylabel="b", reference=(1.0, 0.4))
    flat = [ln for ln in fig.axes[0].get_lines() if ln.get_label().endswith("no penalty")]
    assert [ln.get_label() for ln in flat] == ["train, no penalty", "test, no penalty"]
    assert [ln.get_ydata()[0] for ln in flat] == [1.0, 0.4]
    with pytest.raises(ValueError, match="lam must be >= 0"):
        vo.fit_polynomial([0.0, 1.0], [0.0, 1.0], 1, lam=-1.0)
    with pytest.raises(ValueError, match="x and y must have the same length"):
        vo.fit_polynomial([0.0, 1.0], [0.0], 1)
    with pytest.raises(TypeError, match="degree must be an integer"):
        vo.fit_polynomial([0.0, 1.0], [0.0, 1.0], 1.5)


# --------------------------------------------------------------------------- chapter 2
@settings(max_examples=40)
@given(p=st.one_of(st.floats(0.3, 12.0), st.just(float("inf"))))
def test_unit_ball_boundary_lies_on_the_unit_sphere(p):
    pts = vn.unit_ball_boundary(p, n_points=101)
    a = np.abs(pts)
    if np.isinf(p):
        np.testing.assert_allclose(a.max(axis=1), 1.0, rtol=1e-15)
    else:  # independent of normreg.norm: |x|^p + |y|^p = 1
        np.testing.assert_allclose(a[:, 0] ** p + a[:, 1] ** p, 1.0, rtol=1e-12)
    # the points go round the origin once, in order of angle
    ang = np.unwrap(np.arctan2(pts[:, 1], pts[:, 0]))
    assert np.all(np.diff(ang) > 0) and ang[-1] - ang[0] == pytest.approx(2 * np.pi)


def test_plot_unit_balls_and_quasi_norm():
    fig, data = vn.plot_unit_balls((0.5, 1, 2, np.inf))
    assert list(data) == [0.5, 1.0, 2.0, np.inf]
    curves = [ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")]  # not the axes lines
    for line, pts in zip(curves, data.values(), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), pts[:, 0])
        np.testing.assert_array_equal(line.get_ydata(), pts[:, 1])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "$p=0.5$", "$p=1$", "$p=2$", r"$p=\infty$"]
    # p = 1/2: the midpoint of two points of the sphere lies outside the ball (not convex)
    mid = 0.5 * (np.array([1.0, 0.0]) + np.array([0.0, 1.0]))
    assert (np.sqrt(mid[0]) + np.sqrt(mid[1])) ** 2 > 1
    assert_labelled(fig)


def test_matrix_gain_ellipse_semi_axes_are_singular_values():
    W = np.array([[1.5, 0.5], [0.2, 0.8]])
    fig, data = vn.plot_matrix_gain(W, n_points=20_001)
    lengths = np.linalg.norm(data["image"], axis=1)
    s = np.linalg.svd(W, compute_uv=False)
    assert lengths.max() == pytest.approx(s[0], rel=1e-6)
    assert lengths.min() == pytest.approx(s[1], rel=1e-6)
    np.testing.assert_allclose(data["singular_values"], s)
    np.testing.assert_allclose(W @ data["v"], data["u"] * data["singular_values"], atol=1e-14)
    assert data["singular_values"][0] == pytest.approx(float(nr.norm(W, 2)))
    assert_labelled(fig)


def test_dual_exponent():
    assert vn.dual_exponent(1) == np.inf and vn.dual_exponent(np.inf) == 1.0
    assert 1 / 3 + 1 / vn.dual_exponent(3) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="p must be >= 1"):
        vn.dual_exponent(0.5)


@settings(max_examples=40)
@given(
    z=st.lists(st.floats(-5, 5), min_size=2, max_size=4).filter(lambda v: max(map(abs, v)) > 1e-3),
    p=st.sampled_from([1.0, 1.5, 2.0, 3.0, float("inf")]),
)
def test_dual_maximizer_attains_the_dual_norm(z, p):
    z = np.array(z)
    x = vn.dual_maximizer(z, p)
    q = vn.dual_exponent(p)
    # oracle: numpy's norms
    assert np.linalg.norm(x, p) == pytest.approx(1.0, rel=1e-12)
    assert z @ x == pytest.approx(np.linalg.norm(z, q), rel=1e-12, abs=1e-300)


def test_dual_maximizer_beats_every_point_of_the_ball():
    z = np.array([0.8, 0.5])
    for p in (1, 1.5, 2, 4, np.inf):
        best = vn.unit_ball_boundary(p, n_points=20_001) @ z
        x = vn.dual_maximizer(z, p)
        assert best.max() <= z @ x + 1e-12
        assert best.max() == pytest.approx(z @ x, rel=1e-6)


def test_plot_dual_norms_data():
    z = np.array([0.8, 0.5])
    fig, data = vn.plot_dual_norms(z)
    assert set(data) == {1.0, 2.0, np.inf}
    assert data[1.0]["value"] == pytest.approx(0.8) and data[np.inf]["value"] == pytest.approx(1.3)
    for d in data.values():
        assert d["value"] == pytest.approx(d["dual_norm"], rel=1e-14)
    assert len(fig.axes) == 3
    assert_labelled(fig)


def test_plot_overflow_float64():
    fig, data = vn.plot_overflow()
    k = data["exponents"]
    assert k.min() == -307 and k.max() == 307
    np.testing.assert_allclose(data["safe_ratio"], 1.0, rtol=1e-15)
    # naive: (4e154)^2 = 1.6e309 > max float; (4e-163)^2 is below half the smallest subnormal
    assert np.all(np.isinf(data["naive"][k >= 154])) and np.isfinite(data["naive"][k == 153]).all()
    assert np.all(data["naive"][k <= -163] == 0)
    mid = (k > -140) & (k < 140)
    np.testing.assert_allclose(data["naive_ratio"][mid], 1.0, rtol=1e-15)
    np.testing.assert_allclose(data["true"], 5.0 * 10.0**k, rtol=1e-15)
    assert_labelled(fig)


def test_plot_overflow_float32():
    fig, data = vn.plot_overflow(dtype=np.float32)
    k = data["exponents"]
    assert data["safe"].dtype == np.float32
    assert np.all(np.isinf(data["naive"][k >= 19])) and np.all(data["naive"][k <= -24] == 0)
    np.testing.assert_allclose(data["safe_ratio"], 1.0, rtol=2e-7)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        vn.plot_overflow(dtype=np.int64)


def test_naive_norm():
    assert float(vn.naive_norm(np.array([3.0, 4.0]))) == 5.0
    assert np.isinf(vn.naive_norm(np.array([3e200, 4e200])))


# --------------------------------------------------------------------------- chapter 3
@pytest.mark.parametrize(
    "pen", [nr.L1(1.0), nr.L2(2.0), nr.ElasticNet(1.0, 0.5), nr.GroupLasso(0.7, [[0, 1]])],
    ids=["l1", "l2", "enet", "group"],
)
def test_penalty_ball_lies_on_the_level_set(pen):
    pts = vp.penalty_ball(pen, level=1.0, n_points=61)
    vals = np.array([float(pen(p)) for p in pts])
    np.testing.assert_allclose(vals, 1.0, rtol=1e-12)


def test_penalty_ball_closed_forms():
    l1 = vp.penalty_ball(nr.L1(2.0), level=1.0, n_points=9)
    np.testing.assert_allclose(np.abs(l1).sum(axis=1), 0.5, rtol=1e-14)
    l2 = vp.penalty_ball(nr.L2(2.0), level=1.0, n_points=9)  # (2/2)||w||^2 = 1: the unit circle
    np.testing.assert_allclose(np.linalg.norm(l2, axis=1), 1.0, rtol=1e-14)
    with pytest.raises(ValueError, match="penalty.lam must be > 0"):
        vp.penalty_ball(nr.L1(0.0))
    with pytest.raises(TypeError, match="penalty must be a normreg penalty"):
        vp.penalty_ball(lambda w: 0.0)


def test_plot_penalty_balls():
    pens = {"L1": nr.L1(1.0), "L2": nr.L2(2.0)}
    fig, data = vp.plot_penalty_balls(pens)
    assert list(data) == ["L1", "L2"]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["L1", "L2"]
    assert_labelled(fig)


def _slsqp_ball(A, c, r, p):
    """Oracle: scipy's SLSQP on the smooth reformulation (L1 via w = u - v, u, v >= 0)."""
    f = lambda w: 0.5 * (w - c) @ A @ (w - c)  # noqa: E731
    if p == 2:
        cons = [{"type": "ineq", "fun": lambda w: r**2 - w @ w}]
        return minimize(f, np.zeros(2), method="SLSQP", constraints=cons, options={"ftol": 1e-15}).x
    cons = [{"type": "ineq", "fun": lambda uv: r - uv.sum()}]
    res = minimize(lambda uv: f(uv[:2] - uv[2:]), np.zeros(4), method="SLSQP", bounds=[(0, None)] * 4,
                   constraints=cons, options={"ftol": 1e-15, "maxiter": 1000})
    return res.x[:2] - res.x[2:]


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(0.3, 3.0), b=st.floats(-0.9, 0.9), d=st.floats(0.3, 3.0),
    c1=st.floats(-3, 3), c2=st.floats(-3, 3), p=st.sampled_from([1, 2]),
)
def test_minimize_quadratic_on_ball_against_scipy(a, b, d, c1, c2, p):
    A = np.array([[a, b * np.sqrt(a * d)], [b * np.sqrt(a * d), d]])
    c = np.array([c1, c2])
    w = vp.minimize_quadratic_on_ball(A, c, 1.0, p)
    ref = _slsqp_ball(A, c, 1.0, p)
    ref = ref / max(1.0, np.linalg.norm(ref, p))  # SLSQP may stop a hair outside the ball
    assert np.linalg.norm(w, p) <= 1 + 1e-12
    assert vp.quadratic(w, A, c) <= vp.quadratic(ref, A, c) + 1e-9
    np.testing.assert_allclose(w, ref, atol=1e-5)


def test_geometry_contour_touches_the_ball_at_the_solution():
    A, c = np.array([[1.0, 0.3], [0.3, 1.0]]), np.array([2.0, 0.8])
    fig, data = vp.plot_constrained_geometry(A, c, 1.0)
    sol1, sol2 = data[1]["solution"], data[2]["solution"]
    assert sol1[1] == 0.0 and sol1[0] == 1.0  # the L1 solution is a vertex: an exact zero
    assert np.all(sol2 != 0) and np.linalg.norm(sol2) == pytest.approx(1.0, rel=1e-14)
    for p, ax in zip((1, 2), fig.axes, strict=True):
        d = data[p]
        assert d["level"] == pytest.approx(vp.quadratic(d["solution"], A, c))
        # the red contour is drawn exactly at that level, and the other contours elsewhere
        contour_levels = [list(cs.levels) for cs in ax.collections if hasattr(cs, "levels")]
        assert [d["level"]] in contour_levels
        # the ball lies inside the super-level set {f >= level}: the contour touches, not crosses
        fb = vp.quadratic(d["boundary"], A, c)
        assert fb.min() >= d["level"] - 1e-3 * d["level"]
        np.testing.assert_allclose(np.linalg.norm(d["boundary"], p, axis=1), 1.0, rtol=1e-12)
        # KKT: -grad f(w*) is a normal of the ball at w* (a subgradient of the norm, times mu >= 0)
        g = -A @ (d["solution"] - c)
        if p == 2:
            np.testing.assert_allclose(g / np.linalg.norm(g), d["solution"], atol=1e-12)
        else:
            mu = g[0]  # w1 > 0, w2 = 0: need g1 = mu > 0 and |g2| <= mu
            assert mu > 0 and abs(g[1]) <= mu
    assert_labelled(fig)


def test_plot_shrinkage_matches_closed_forms():
    fig, data = vp.plot_shrinkage(lam=1.0)
    v = data["v"]
    np.testing.assert_allclose(data["L1"], np.sign(v) * np.maximum(np.abs(v) - 1.0, 0.0), atol=1e-15)
    np.testing.assert_allclose(data["L2"], v / 2.0, rtol=1e-15)
    np.testing.assert_allclose(data["ElasticNet"], np.sign(v) * np.maximum(np.abs(v) - 0.5, 0.0) / 1.5,
                               atol=1e-15)
    assert np.all(data["L1"][np.abs(v) <= 1.0] == 0.0)
    assert np.count_nonzero(data["L2"]) == np.count_nonzero(v)
    assert_labelled(fig)


def test_priors_against_scipy_and_penalties():
    fig, data = vp.plot_priors(std=1.3)
    w, tau, b = data["w"], data["tau"], data["b"]
    np.testing.assert_allclose(data["gauss"], stats.norm(scale=tau).pdf(w), rtol=1e-12)
    np.testing.assert_allclose(data["laplace"], stats.laplace(scale=b).pdf(w), rtol=1e-12)
    assert stats.laplace(scale=b).var() == pytest.approx(1.3**2)
    gpen = np.array([float(nr.L2(1 / tau**2)(np.array([x]))) for x in w])
    lpen = np.array([float(nr.L1(1 / b)(np.array([x]))) for x in w])
    np.testing.assert_allclose(data["gauss_penalty"], gpen, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(data["laplace_penalty"], lpen, rtol=1e-9, atol=1e-12)
    assert_labelled(fig)


def test_plot_max_norm_uses_the_projection():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((2, 12))
    fig, data = vp.plot_max_norm(W, 1.0)
    np.testing.assert_array_equal(data["after"], MaxNorm(1.0).project(W))
    np.testing.assert_allclose(np.linalg.norm(data["circle"], axis=1), 1.0)
    with pytest.raises(ValueError, match="W must have 2 rows"):
        vp.plot_max_norm(np.ones((3, 2)), 1.0)
    assert_labelled(fig)


def test_quadratic_validation():
    with pytest.raises(ValueError, match="A must be positive definite"):
        vp.minimize_quadratic_on_ball(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2), 1.0, 1)
    with pytest.raises(ValueError, match="A must be symmetric"):
        vp.minimize_quadratic_on_ball(np.array([[1.0, 0.2], [0.0, 1.0]]), np.ones(2), 1.0, 1)
    with pytest.raises(ValueError, match="ord must be 1 or 2"):
        vp.minimize_quadratic_on_ball(np.eye(2), np.ones(2), 1.0, 3)
    np.testing.assert_array_equal(vp.minimize_quadratic_on_ball(np.eye(2), [0.2, 0.1], 1.0, 1), [0.2, 0.1])
