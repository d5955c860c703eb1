"""normreg.analysis against independent oracles.

effective_df: the trace of the hat matrix built with np.linalg.solve, the columns of the
hat matrix obtained by fitting ridge to unit vectors, scikit-learn's Ridge, and
properties (monotone, bounds, scale equivariance over the whole floating-point range).
bias_variance_decomposition: closed forms for a linear smoother and brute-force Monte
Carlo of the expected test error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normreg.analysis import bias_variance_decomposition, effective_df


def hat_trace(X: np.ndarray, lam: float, fit_intercept: bool = True) -> float:
    """tr H for ridge in the book's convention, H built explicitly with np.linalg.solve."""
    m, p = X.shape
    if fit_intercept:
        Xc = X - X.mean(axis=0)
        H = np.full((m, m), 1.0 / m)
    else:
        Xc = X
        H = np.zeros((m, m))
    H = H + Xc @ np.linalg.solve(Xc.T @ Xc + m * lam * np.eye(p), Xc.T)
    return float(np.trace(H))


def ridge_fitted(X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Fitted values of (1/(2m))||Xw + b - y||^2 + (lam/2)||w||^2, via the normal equations."""
    m, p = X.shape
    xm, ym = X.mean(axis=0), y.mean()
    Xc = X - xm
    w = np.linalg.solve(Xc.T @ Xc + m * lam * np.eye(p), Xc.T @ (y - ym))
    return X @ w + (ym - xm @ w)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("lam", [1e-3, 0.1, 1.0, 30.0])
def test_effective_df_is_the_trace_of_the_hat_matrix(lam, fit_intercept):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((25, 6)) * np.array([1, 2, 5, 0.1, 1, 3])
    assert effective_df(X, lam, fit_intercept=fit_intercept) == pytest.approx(
        hat_trace(X, lam, fit_intercept), rel=1e-12
    )


def test_effective_df_matches_hat_matrix_built_column_by_column():
    # Column i of H is the vector of fitted values for y = e_i: no formula for H needed.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((15, 4))
    lam = 0.05
    H = np.column_stack([ridge_fitted(X, np.eye(15)[i], lam) for i in range(15)])
    assert effective_df(X, lam) == pytest.approx(np.trace(H), rel=1e-12)


def test_effective_df_matches_scikit_learn_ridge():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(2)
    X = rng.standard_normal((12, 3))
    m, lam = 12, 0.2
    H = np.column_stack(
        [Ridge(alpha=m * lam).fit(X, np.eye(m)[i]).predict(X) for i in range(m)]
    )
    assert effective_df(X, lam) == pytest.approx(np.trace(H), rel=1e-10)


def test_effective_df_covariance_definition_by_monte_carlo():
    # ESL (7.31): df = sum_i Cov(yhat_i, y_i) / sigma^2, estimated by simulation.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((10, 5))
    f = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.0])
    lam, sigma, R = 0.3, 1.0, 20_000
    Y = f + sigma * rng.standard_normal((R, 10))
    fitted = np.array([ridge_fitted(X, y, lam) for y in Y])
    cov = np.mean((fitted - fitted.mean(0)) * (Y - f), axis=0).sum() / sigma**2
    assert cov == pytest.approx(effective_df(X, lam), abs=0.1)


def test_effective_df_limits_and_rank():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((8, 3))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])  # rank 3
    assert effective_df(X, 0.0) == pytest.approx(4.0, abs=1e-12)
    assert effective_df(X, 0.0, fit_intercept=False) == pytest.approx(3.0, abs=1e-12)
    # more features than samples: the centred X has rank m - 1
    Xw = rng.standard_normal((5, 40))
    assert effective_df(Xw, 0.0) == pytest.approx(5.0, abs=1e-12)
    assert effective_df(X, 1e300) == pytest.approx(1.0, abs=1e-12)
    assert effective_df(X, np.finfo(np.float64).max) == 1.0
    assert effective_df(np.zeros((4, 2)), 0.0) == 1.0


def test_effective_df_array_of_lams():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((9, 4))
    lams = np.array([[0.0, 0.1], [1.0, 10.0]])
    out = effective_df(X, lams)
    assert out.shape == (2, 2)
    assert np.allclose(out, [[effective_df(X, float(v)) for v in r] for r in lams], rtol=1e-14)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    m=st.integers(2, 12),
    p=st.integers(1, 8),
    lam=st.floats(1e-6, 1e6),
    k=st.integers(-1000, 1000),
)
def test_effective_df_properties(seed, m, p, lam, k):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p))
    df = effective_df(X, lam)
    assert 1.0 <= df <= min(m, p + 1) + 1e-9
    assert effective_df(X, 2 * lam) <= df + 1e-12  # non-increasing in lam
    # df depends on X and lam only through X^T X / lam: scale X by 2^k and lam by 4^k
    with np.errstate(over="ignore", under="ignore"):
        lam_s = float(np.ldexp(lam, 2 * k))
        Xs = np.ldexp(X, k)
    if 1e-300 < lam_s < 1e300 and np.all(np.isfinite(Xs)) and np.all(Xs[X != 0] != 0):
        assert effective_df(Xs, lam_s) == pytest.approx(df, rel=1e-10)


def test_effective_df_extreme_entries():
    # df(2^k X, 4^k lam) = df(X, lam) wherever both are representable, and the rank at
    # lam = 0 is found for entries from subnormal to near the largest float64.
    rng = np.random.default_rng(9)
    X = rng.standard_normal((10, 3))
    for k in (-530, -300, 300, 511):
        Xs = np.ldexp(X, k)
        assert effective_df(Xs, float(np.ldexp(0.5, 2 * k))) == pytest.approx(
            effective_df(X, 0.5), rel=1e-10
        )
    for k in (-1060, 1020):
        Xs = np.ldexp(X, k)
        assert effective_df(Xs, 0.0) == pytest.approx(4.0, abs=1e-9)
    # entries near 1e-319: any lam >= 1 dwarfs X^T X; entries near 1e307: lam = 1 is ~0
    assert effective_df(np.ldexp(X, -1060), 1.0) == pytest.approx(1.0, abs=1e-12)
    assert effective_df(np.ldexp(X, 1020), 1.0) == pytest.approx(4.0, abs=1e-12)


def test_effective_df_float32_and_int_inputs():
    X = np.array([[1, 0], [0, 1], [-1, -1]])
    assert effective_df(X, 1.0) == pytest.approx(1.75)
    assert effective_df(X.astype(np.float32), 1.0) == pytest.approx(1.75)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: effective_df(np.ones(3), 1.0), ValueError, "X must be 2-dimensional"),
        (lambda: effective_df([[1.0, np.nan]], 1.0), ValueError, "X must not contain NaN"),
        (lambda: effective_df(np.ones((3, 2)), -1.0), ValueError, "lam must be >= 0"),
        (lambda: effective_df(np.ones((3, 2)), [1.0, -1.0]), ValueError, "lam must be >= 0"),
        (lambda: effective_df(np.ones((3, 2)), np.inf), ValueError, "lam must be finite"),
        (lambda: effective_df(np.ones((3, 2)), "1"), TypeError, "lam must be a real"),
        (lambda: effective_df(np.ones((3, 2)), 1.0, fit_intercept=1), TypeError, "fit_intercept"),
        (lambda: bias_variance_decomposition(np.ones((1, 3)), np.ones(3)), ValueError, "at least 2"),
        (lambda: bias_variance_decomposition(np.ones((2, 3)), np.ones(2)), ValueError, "truth must"),
        (lambda: bias_variance_decomposition(np.ones((2, 3)), np.ones(3), -1), ValueError, "noise"),
        (lambda: bias_variance_decomposition(np.ones(3), np.ones(3)), ValueError, "2-dimensional"),
        (
            lambda: bias_variance_decomposition(np.array([[1e308] * 2, [-1e308] * 2]), [0, 0]),
            ValueError,
            "overflows",
        ),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_bias_variance_closed_form_for_a_linear_smoother():
    # Fixed design, y = f + eps: ridge is yhat = S y, so E yhat = S f and Cov yhat = s^2 S S^T.
    rng = np.random.default_rng(6)
    m, lam, sigma, R = 20, 0.05, 0.3, 4000
    x = np.linspace(-1, 1, m)
    X = x[:, None] ** np.arange(1, 6)
    f = np.sin(np.pi * x)
    S = np.column_stack([ridge_fitted(X, np.eye(m)[i], lam) for i in range(m)])
    preds = np.array([S @ (f + sigma * rng.standard_normal(m)) for _ in range(R)])
    bv = bias_variance_decomposition(preds, f, noise=sigma)
    bias2_exact = np.mean((S @ f - f) ** 2)
    var_exact = sigma**2 * np.trace(S @ S.T) / m
    assert bv.variance == pytest.approx(var_exact, rel=0.05)
    assert bv.bias2 == pytest.approx(bias2_exact, rel=0.05, abs=2e-4)
    assert bv.noise == pytest.approx(sigma**2)


def test_bias_variance_adds_up_to_monte_carlo_test_error():
    # Brute force: fresh training sets, fresh test points with fresh noise, average the
    # squared error. The decomposition is computed from other training sets on a grid.
    rng = np.random.default_rng(7)
    sigma, m, deg, lam = 0.4, 15, 4, 1e-2

    def fit_predict(x_new):
        x = rng.uniform(-1, 1, m)
        y = np.sin(np.pi * x) + sigma * rng.standard_normal(m)
        X = x[:, None] ** np.arange(1, deg + 1)
        xm, ym = X.mean(0), y.mean()
        w = np.linalg.solve((X - xm).T @ (X - xm) + m * lam * np.eye(deg), (X - xm).T @ (y - ym))
        return (x_new[:, None] ** np.arange(1, deg + 1)) @ w + (ym - xm @ w)

    grid = np.linspace(-1, 1, 401)
    bv = bias_variance_decomposition(
        np.array([fit_predict(grid) for _ in range(2000)]), np.sin(np.pi * grid), sigma
    )
    errs = []
    for _ in range(2000):
        xt = rng.uniform(-1, 1, 50)
        yt = np.sin(np.pi * xt) + sigma * rng.standard_normal(50)
        errs.append(np.mean((fit_predict(xt) - yt) ** 2))
    mc, se = np.mean(errs), np.std(errs) / np.sqrt(len(errs))
    assert abs(bv.expected_error - mc) < 4 * se + 0.01 * mc
    # and it is not just sigma^2: both other terms matter here
    assert bv.bias2 > 0.01 and bv.variance > 0.01


def test_bias_variance_pointwise_and_unbiased_bias():
    preds = np.array([[1.0, 2.0], [3.0, 2.0]])
    bv = bias_variance_decomposition(preds, [0.0, 2.0], noise=0.5)
    assert np.allclose(bv.mean_prediction, [2.0, 2.0])
    assert np.allclose(bv.variance_pointwise, [2.0, 0.0])
    assert np.allclose(bv.bias2_pointwise, [3.0, 0.0])
    assert bv.expected_error == pytest.approx(2.75)
    # an unbiased estimator with pure noise: bias^2 estimate averages to ~0, not var / R
    rng = np.random.default_rng(8)
    b = [bias_variance_decomposition(rng.standard_normal((5, 200)), np.zeros(200)).bias2
         for _ in range(400)]
    assert abs(np.mean(b)) < 0.01
