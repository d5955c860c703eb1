"""Every row of the conventions table, checked against the library itself (scikit-learn,
Keras) or, where the project does not install it (PyTorch, optax), against its documented
update rule; plus the source article's formula."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

import normreg as nr
from normreg import conventions as cv


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    m, p = 60, 5
    X = rng.standard_normal((m, p))
    w_true = np.array([1.5, 0.0, -2.0, 0.0, 0.5])
    y = X @ w_true + 0.3 * rng.standard_normal(m)
    return X, y


def book_squared_objective(w, X, y, pen):
    return 0.5 * np.mean((X @ w - y) ** 2) + pen(w)


def test_sklearn_lasso_alpha_is_the_book_lambda(data):
    from sklearn.linear_model import Lasso

    X, y = data
    alpha = 0.1
    w = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y).coef_
    pen = nr.L1(cv.to_book(alpha, "sklearn-lasso", penalty="l1"))
    # w minimizes the book's objective: (X^T(y - Xw))/m is a subgradient of pen at w
    assert cv.to_book(alpha, "sklearn-lasso", penalty="l1") == alpha
    s = X.T @ (y - X @ w) / len(y)
    for wi, si in zip(w, s, strict=True):
        if wi != 0:
            assert si == pytest.approx(pen.lam * np.sign(wi), abs=1e-8)
        else:
            assert abs(si) <= pen.lam + 1e-8


def test_sklearn_ridge_alpha_over_m(data):
    from sklearn.linear_model import Ridge

    X, y = data
    m = len(y)
    alpha = 3.0
    w = Ridge(alpha=alpha, fit_intercept=False).fit(X, y).coef_
    lam = cv.to_book(alpha, "sklearn-ridge", penalty="l2", n_samples=m)
    assert lam == pytest.approx(alpha / m)
    closed_form = np.linalg.solve(X.T @ X / m + lam * np.eye(X.shape[1]), X.T @ y / m)
    np.testing.assert_allclose(w, closed_form, rtol=1e-10)


def test_sklearn_logistic_c(data):
    from sklearn.linear_model import LogisticRegression

    X, y_reg = data
    y = (y_reg > 0).astype(float)
    m = len(y)
    C = 0.5
    w_sk = LogisticRegression(C=C, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(X, y).coef_.ravel()
    lam = cv.to_book(C, "sklearn-logistic", penalty="l2", n_samples=m)
    yt = 2 * y - 1

    def objective(w):
        return np.mean(np.logaddexp(0, -yt * (X @ w))) + nr.L2(lam)(w)

    w_book = minimize(objective, np.zeros(X.shape[1]), method="BFGS", options={"gtol": 1e-12}).x
    np.testing.assert_allclose(w_sk, w_book, atol=1e-5)


def test_keras_rows_against_keras_itself():
    keras = pytest.importorskip("keras")
    w = np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32)
    l1, l2 = 0.01, 0.03
    got_l1 = float(keras.regularizers.L1(l1)(w))
    got_l2 = float(keras.regularizers.L2(l2)(w))
    assert got_l1 == pytest.approx(float(nr.L1(cv.to_book(l1, "keras", penalty="l1"))(w)), rel=1e-6)
    assert got_l2 == pytest.approx(float(nr.L2(cv.to_book(l2, "keras", penalty="l2"))(w)), rel=1e-6)


def optax_sgd_with_decayed_weights(grad, w0, *, lr, wd, momentum, nesterov, steps):
    """``optax.chain(optax.add_decayed_weights(wd), optax.sgd(lr, momentum, nesterov))`` as optax
    documents its transforms: ``u = g + wd * w``; ``trace``: ``t = u + momentum * t`` (Nesterov:
    ``u + momentum * t``); ``scale_by_learning_rate``: ``w += -lr * update``."""
    w, t = np.array(w0, dtype=float), np.zeros(len(w0))
    for _ in range(steps):
        u = grad(w) + wd * w
        t = u + momentum * t
        w = w - lr * (u + momentum * t if nesterov else t)
    return w


@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.9, False), (0.9, True)])
def test_coupled_decay_rows_reach_the_ridge_solution(data, momentum, nesterov):
    """The "pytorch-weight-decay" / "optax-decayed-weights" rows: weight decay added to the gradient
    before a momentum optimizer ends at the ridge solution of ``L2(to_book(wd))`` (closed form), for
    any momentum; a row that halved wd or applied (1 - momentum) would miss it."""
    X, y = data
    m, p = X.shape
    wd = 0.2
    w = optax_sgd_with_decayed_weights(
        lambda w: X.T @ (X @ w - y) / m, np.zeros(p), lr=0.05, wd=wd, momentum=momentum, nesterov=nesterov,
        steps=3000,
    )
    for convention in ("pytorch-weight-decay", "optax-decayed-weights"):
        lam = cv.to_book(wd, convention)
        ridge = np.linalg.solve(X.T @ X / m + lam * np.eye(p), X.T @ y / m)
        np.testing.assert_allclose(w, ridge, rtol=1e-9)


def test_article_formula(data):
    """The article's J = 1/(2m) sum (h - y)^2 + lambda/(2m) ||w||_1, term by term."""
    X, y = data
    m = len(y)
    w = np.array([0.3, -0.2, 1.0, 0.0, 0.4])
    lam_article = 0.8
    J = np.sum((X @ w - y) ** 2) / (2 * m) + lam_article / (2 * m) * np.sum(np.abs(w))
    lam = cv.to_book(lam_article, "article", penalty="l1", n_samples=m)
    assert J == pytest.approx(book_squared_objective(w, X, y, nr.L1(lam)), rel=1e-14)
    J2 = np.sum((X @ w - y) ** 2) / (2 * m) + lam_article / (2 * m) * np.sum(w**2)
    lam2 = cv.to_book(lam_article, "article", penalty="l2", n_samples=m)
    assert J2 == pytest.approx(book_squared_objective(w, X, y, nr.L2(lam2)), rel=1e-14)


@given(value=st.floats(1e-6, 1e3), m=st.integers(1, 10_000))
def test_round_trip(value, m):
    for conv, pens in cv.CONVENTIONS.items():
        for pen in pens:
            lam = cv.to_book(value, conv, penalty=pen, n_samples=m)
            assert cv.from_book(lam, conv, penalty=pen, n_samples=m) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0.1, "torch"), {}, "convention must be one of"),
        ((0.1, "sklearn-lasso"), {"penalty": "l2"}, r"penalty must be one of \('l1',\)"),
        ((0.1, "sklearn-ridge"), {}, "n_samples is required"),
        ((0.1, "sklearn-ridge"), {"n_samples": 0}, "n_samples must be >= 1"),
        ((-0.1, "keras"), {}, "value must be >= 0"),
        ((0.0, "sklearn-logistic"), {"n_samples": 10}, "value must be > 0"),
    ],
)
def test_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cv.to_book(*args, **kwargs)


@pytest.mark.parametrize(
    ("value", "m", "expected"),
    [
        (2.0**1000, 2**40, 2.0**-1040),  # C * m overflows; 1 / (C m) is a subnormal
        (2.0**-1000, 2**20, 2.0**980),  # nothing overflows
        (2.0**-1060, 2**60, 2.0**1000),  # 1 / C overflows, 1 / (C m) does not
        (2.0**-1074, 1, np.inf),  # the true value 2^1074 is not representable
    ],
)
def test_sklearn_logistic_across_the_floating_point_range(value, m, expected):
    """1 / (C m) is never 0 or inf by an intermediate overflow (C * m or 1 / C); to_book and
    from_book are the same formula, so both are checked."""
    for func in (cv.to_book, cv.from_book):
        got = func(value, "sklearn-logistic", n_samples=m)
        if np.isinf(expected):
            assert got == np.inf
        else:
            assert got == expected  # powers of two: exact


def test_sklearn_logistic_unpenalized_is_c_infinity():
    """scikit-learn documents ``C=np.inf`` as unpenalized logistic regression: it is L2(0), and
    L2(0) is ``C=inf`` (both used to raise)."""
    assert cv.to_book(np.inf, "sklearn-logistic", n_samples=10) == 0.0
    assert cv.to_book(float("inf"), "sklearn-logistic", n_samples=10) == 0.0
    assert cv.from_book(0.0, "sklearn-logistic", n_samples=10) == np.inf
    with pytest.raises(ValueError, match="value must be > 0"):
        cv.to_book(0.0, "sklearn-logistic", n_samples=10)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        cv.from_book(-1.0, "sklearn-logistic", n_samples=10)
    with pytest.raises(ValueError, match="value must be finite"):
        cv.to_book(np.inf, "keras", penalty="l2")
