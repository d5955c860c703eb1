"""Chapter 3's analysis helpers: ridge's shrinkage factors in the eigenbasis, checked against
the ridge closed form, scikit-learn and effective_df; the covariance estimate of the degrees
of freedom, checked against the trace of a hat matrix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normreg.analysis import covariance_df, effective_df, ridge_shrinkage_factors


@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 6)) * np.array([1.0, 3.0, 0.1, 10.0, 1.0, 0.5])
    y = X @ rng.standard_normal(6) + rng.standard_normal(30)
    return X, y


def _ridge_fitted(X, y, lam):
    m = X.shape[0]
    Xc, yc = X - X.mean(0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc / m + lam * np.eye(X.shape[1]), Xc.T @ yc / m)
    return Xc @ w + y.mean()


@given(lam=st.floats(0.0, 1e3))
@settings(max_examples=40, deadline=None)
def test_factors_reproduce_the_ridge_fit(design, lam):
    X, y = design
    d, f = ridge_shrinkage_factors(X, lam)
    Xc = X - X.mean(0)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    np.testing.assert_allclose(d, s, rtol=1e-12)
    fitted = U @ (f * (U.T @ (y - y.mean()))) + y.mean()
    np.testing.assert_allclose(fitted, _ridge_fitted(X, y, lam), rtol=1e-9, atol=1e-10)
    assert np.all(np.diff(f) <= 1e-15)  # larger d_j, less shrinkage
    assert f.sum() + 1 == pytest.approx(effective_df(X, lam), rel=1e-12)


def test_factors_against_sklearn_ridge(design):
    from sklearn.linear_model import Ridge

    X, y = design
    m, lam = X.shape[0], 0.3
    sk = Ridge(alpha=m * lam).fit(X, y).predict(X)
    Xc = X - X.mean(0)
    U = np.linalg.svd(Xc, full_matrices=False)[0]
    _, f = ridge_shrinkage_factors(X, lam)
    np.testing.assert_allclose(U @ (f * (U.T @ (y - y.mean()))) + y.mean(), sk, rtol=1e-9)


def test_array_lam_null_directions_and_no_intercept():
    X = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [0.0, 0.0, 1.0], [2.0, 2.0, 1.0]])  # rank 2
    d, f = ridge_shrinkage_factors(X, [0.0, 1.0, 1e12], fit_intercept=False)
    assert f.shape == (3, 3) and d[-1] < 1e-12
    np.testing.assert_array_equal(f[:, -1], 0.0)  # the null direction is never fitted
    np.testing.assert_allclose(f[0, :2], 1.0)  # lam = 0: least squares keeps the rest
    np.testing.assert_allclose(f[1, :2], d[:2] ** 2 / (d[:2] ** 2 + 4 * 1.0))
    assert f[2, :2].max() < 1e-10
    assert effective_df(X, 1.0, fit_intercept=False) == pytest.approx(f[1].sum(), rel=1e-12)


@pytest.mark.parametrize("exponent", [-500, 500])
def test_factors_across_the_floating_point_range(design, exponent):
    """Scaling X by c and lam by c^2 leaves the factors unchanged, even far from 1."""
    X, _ = design
    c = 2.0**exponent
    _, f = ridge_shrinkage_factors(X, 0.7)
    _, fc = ridge_shrinkage_factors(X * c, 0.7 * c * c)
    np.testing.assert_allclose(fc, f, rtol=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((np.ones(3), 1.0), {}, ValueError, "X must be 2-dimensional"),
        ((np.ones((3, 2)), -1.0), {}, ValueError, "lam must be >= 0"),
        ((np.ones((3, 2)), [1.0, -1.0]), {}, ValueError, "lam must be >= 0"),
        ((np.ones((3, 2)), 1.0), {"fit_intercept": 1}, TypeError, "fit_intercept must be a bool"),
    ],
)
def test_shrinkage_bad_arguments(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ridge_shrinkage_factors(*args, **kwargs)


def test_covariance_df_of_ridge_is_the_trace_of_its_hat_matrix(design):
    X, _ = design
    m, lam, sigma = X.shape[0], 0.05, 0.7
    Xc = X - X.mean(0)
    H = np.full((m, m), 1 / m) + Xc @ np.linalg.solve(Xc.T @ Xc + m * lam * np.eye(6), Xc.T)
    mu = X @ np.ones(6)
    rng = np.random.default_rng(1)
    Y = mu + sigma * rng.standard_normal((3000, m))
    est = covariance_df(Y @ H.T, Y, mu, sigma)
    assert est.samples.shape == (3000,)
    assert abs(est.df - np.trace(H)) < 4 * est.se
    assert est.se < 0.1  # the check has power: tr H = 6.3 here, distinct from 7 (no penalty)
    assert abs(np.trace(H) - effective_df(X, lam)) < 1e-10


def test_covariance_df_of_a_constant_is_zero_and_of_the_identity_is_m():
    rng = np.random.default_rng(2)
    mu = np.linspace(-1, 1, 10)
    Y = mu + 0.5 * rng.standard_normal((2000, 10))
    ident = covariance_df(Y, Y, mu, 0.5)
    assert abs(ident.df - 10) < 4 * ident.se
    const = covariance_df(np.ones_like(Y) * 3.0, Y, mu, 0.5)  # y_hat ignores y: df = 0
    assert const.df == 0.0 and const.se == 0.0
    shifted = covariance_df(Y + 1e6, Y, mu, 0.5)  # a constant offset of y_hat changes nothing
    assert shifted.df == pytest.approx(ident.df, rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"y": np.ones((3, 5))}, ValueError, "y must have the shape of predictions"),
        ({"mean": np.ones(5)}, ValueError, "mean must have one entry per column"),
        ({"predictions": np.ones((1, 4)), "y": np.ones((1, 4))}, ValueError, "at least 2 rows"),
        ({"sigma": 0.0}, ValueError, "sigma must be > 0"),
        ({"predictions": np.diag([1e300, -1e300, 1e300, 0])[:3], "y": np.full((3, 4), 1e300)}, ValueError, "overflows"),
    ],
)
def test_covariance_df_bad_arguments(kwargs, exc, match):
    args = {"predictions": np.ones((3, 4)), "y": np.ones((3, 4)), "mean": np.zeros(4), "sigma": 1.0, **kwargs}
    with pytest.raises(exc, match=match):
        covariance_df(**args)


def test_exercise_pen_4_orthogonal_design_closed_form():
    """Chapter 3, ex-pen-4: X_c^T X_c = m s^2 I gives df = 1 + p s^2 / (s^2 + lam), half the
    directions' degrees of freedom at lam = s^2 (the solution's construction, run here)."""
    n4, p4, s4 = 40, 6, 3.0
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((n4, p4)))[0]
    X4 = np.linalg.qr(Q - Q.mean(0))[0] * s4 * np.sqrt(n4)
    np.testing.assert_allclose(X4.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X4.T @ X4, n4 * s4**2 * np.eye(p4), atol=1e-9)
    for lam in (0.5, 2.0, s4**2, 100.0):
        assert effective_df(X4, lam) == pytest.approx(1 + p4 * s4**2 / (s4**2 + lam), rel=1e-12)
    assert effective_df(X4, s4**2) == pytest.approx(1 + p4 / 2, rel=1e-12)


def test_exercise_pen_6_best_subset_of_size_one_costs_more_than_one_df():
    """Chapter 3, ex-pen-6: best subset of size 1 among chapter 3's 12 columns, on pure noise,
    has df about 3.8 (the solution's number), far above the 1 coefficient it uses."""
    Xd = np.random.default_rng(0).standard_normal((40, 12))  # the notebook's design

    def best_single(y):
        j = np.argmax(np.abs(Xd.T @ y) / np.linalg.norm(Xd, axis=0))
        xj = Xd[:, j]
        return xj * (xj @ y) / (xj @ xj)

    Y0 = np.random.default_rng(1).standard_normal((1000, 40))
    est = covariance_df(np.array([best_single(y) for y in Y0]), Y0, np.zeros(40), 1.0)
    assert abs(est.df - 3.8) < 0.15 and est.se < 0.1
    assert est.df - 1 > 20 * est.se
