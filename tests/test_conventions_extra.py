"""The rows added to the conventions table for chapter 3 (scikit-learn's ElasticNet and MLP
``alpha``), checked against scikit-learn itself, and decoupled weight decay checked against its
documented update rule and Keras's AdamW."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import normreg as nr
from normreg import conventions as cv


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    m, p = 80, 6
    X = rng.standard_normal((m, p))
    y = X @ np.array([2.0, 0.0, -1.0, 0.0, 0.5, 0.0]) + 0.3 * rng.standard_normal(m)
    return X, y


def test_sklearn_elasticnet_solves_the_books_objective(data):
    from sklearn.linear_model import ElasticNet

    X, y = data
    m = len(y)
    alpha, r = 0.2, 0.7
    w = ElasticNet(alpha=alpha, l1_ratio=r, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y).coef_
    lam = cv.to_book(alpha, "sklearn-elasticnet", penalty="elasticnet")
    assert lam == alpha
    pen = nr.ElasticNet(lam, r)
    # optimality of (1/2m)||Xw - y||^2 + pen(w): X^T(y - Xw)/m - lam(1-r)w is in lam*r*d|w|
    s = X.T @ (y - X @ w) / m - lam * (1 - r) * w
    assert np.count_nonzero(w) < w.size  # the check covers both cases
    for wi, si in zip(w, s, strict=True):
        if wi != 0:
            assert si == pytest.approx(lam * r * np.sign(wi), abs=1e-9)
        else:
            assert abs(si) <= lam * r + 1e-9
    # and it is the value of the book's penalty at the fitted weights that sklearn adds
    sk_pen = alpha * r * np.abs(w).sum() + 0.5 * alpha * (1 - r) * (w @ w)
    assert float(pen(w)) == pytest.approx(sk_pen, rel=1e-14)


def _mlp_l2(coefs, lam):
    return sum(float(nr.L2(lam)(W)) for W in coefs)


def test_sklearn_mlp_lbfgs_loss_is_mean_cross_entropy_plus_book_l2(data):
    """MLPClassifier's reported loss at its fitted weights is mean log-loss + L2(alpha/m) on every
    weight matrix (biases excluded), with m the training-set size for lbfgs."""
    from sklearn.neural_network import MLPClassifier

    X, y_reg = data
    y = (y_reg > 0).astype(int)
    m = len(y)
    alpha = 0.7
    clf = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", alpha=alpha, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: the identity holds at any iterate
        clf.fit(X, y)
    p = clf.predict_proba(X)[:, 1]
    ce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    lam = cv.to_book(alpha, "sklearn-mlp", n_samples=m)
    assert lam == pytest.approx(alpha / m)
    assert clf.loss_ == pytest.approx(ce + _mlp_l2(clf.coefs_, lam), rel=1e-9)


@pytest.mark.parametrize("batch_size", [10, 40])
def test_sklearn_mlp_sgd_divides_alpha_by_the_batch_size(batch_size):
    """With zero inputs the first layer's data gradient is exactly 0, so one epoch of plain SGD
    multiplies its weights by (1 - lr * lam)^(number of batches), lam = alpha / batch_size."""
    from sklearn.neural_network import MLPClassifier

    m, lr, alpha = 40, 0.01, 2.0
    X = np.zeros((m, 3))
    y = np.arange(m) % 2

    def first_layer(a):
        clf = MLPClassifier(
            hidden_layer_sizes=(4,), solver="sgd", alpha=a, batch_size=batch_size, learning_rate_init=lr,
            momentum=0.0, nesterovs_momentum=False, shuffle=False, max_iter=1, random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning after one epoch
            clf.fit(X, y)
        return clf.coefs_[0]

    W0 = first_layer(0.0)  # no penalty: the initial weights, untouched
    lam = cv.to_book(alpha, "sklearn-mlp", n_samples=batch_size)
    np.testing.assert_allclose(first_layer(alpha), W0 * (1 - lr * lam) ** (m // batch_size), rtol=1e-12)


def test_decoupled_decay_equals_l2_under_sgd_only():
    """Documented rules (PyTorch AdamW, optax.adamw, Keras weight_decay): w <- w - lr*wd*w, then the
    optimizer's step on the data gradient. Under SGD that is the step of L2(wd); under Adam it is not."""
    rng = np.random.default_rng(2)
    w, g = rng.standard_normal(5), rng.standard_normal(5)
    lr, wd, eps = 0.1, 0.05, 1e-8
    decoupled_sgd = w - lr * wd * w - lr * g
    np.testing.assert_allclose(decoupled_sgd, w - lr * (g + nr.L2(wd).grad(w)), rtol=1e-15)

    def adam_first_step(w, grad):  # Adam (Kingma & Ba) from zero moments: m_hat = g, v_hat = g^2
        return w - lr * grad / (np.sqrt(grad**2) + eps)

    coupled = adam_first_step(w, g + nr.L2(wd).grad(w))
    decoupled = adam_first_step(w, g) - lr * wd * w
    assert not np.allclose(coupled, decoupled, rtol=1e-3)


def test_keras_adamw_is_decoupled():
    """Keras's AdamW implements the documented decoupled rule (the same as PyTorch's AdamW and optax.adamw)."""
    keras = pytest.importorskip("keras")
    w0 = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    g = np.array([0.3, 0.1, -0.2], dtype=np.float32)
    lr, wd, eps = 0.1, 0.05, 1e-12  # a negligible epsilon (Keras adds it before the bias correction)
    var = keras.Variable(w0)
    opt = keras.optimizers.AdamW(learning_rate=lr, weight_decay=wd, epsilon=eps)
    opt.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
    expected = (w0 - lr * wd * w0) - lr * g / (np.abs(g) + eps)
    np.testing.assert_allclose(np.asarray(var), expected, rtol=1e-5)  # float32 arithmetic
    gc = g + wd * w0  # coupled: the L2 gradient goes through Adam's normalization
    coupled = w0 - lr * gc / (np.abs(gc) + eps)
    assert np.abs(np.asarray(var) - coupled).max() > 1e-3


def test_new_rows_round_trip_and_need_m():
    lam = cv.to_book(0.3, "sklearn-mlp", n_samples=150)
    assert cv.from_book(lam, "sklearn-mlp", n_samples=150) == pytest.approx(0.3)
    assert cv.CONVENTIONS["sklearn-elasticnet"] == ("elasticnet",)
    with pytest.raises(ValueError, match="n_samples is required"):
        cv.to_book(0.1, "sklearn-mlp")
    with pytest.raises(ValueError, match="penalty must be one of"):
        cv.to_book(0.1, "sklearn-elasticnet", penalty="l1")
