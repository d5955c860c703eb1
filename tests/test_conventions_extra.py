"""The rows added to the conventions table for chapter 3 (scikit-learn's ElasticNet and MLP
``alpha``), checked against scikit-learn itself, and decoupled weight decay checked against its
documented update rule and Keras's AdamW."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def test_decoupled_decay_equals_l2_under_plain_sgd_only():
    """Documented rules (PyTorch AdamW, optax.adamw, Keras weight_decay): w <- w - lr*wd*w, then the
    optimizer's step on the data gradient. Under Adam that is not the step of L2(wd) (under SGD it
    is: Keras itself is checked in test_keras_sgd_without_momentum_is_l2_step_for_step)."""
    rng = np.random.default_rng(2)
    w, g = rng.standard_normal(5), rng.standard_normal(5)
    lr, wd, eps = 0.1, 0.05, 1e-8

    def adam_first_step(w, grad):  # Adam (Kingma & Ba) from zero moments: m_hat = g, v_hat = g^2
        return w - lr * grad / (np.sqrt(grad**2) + eps)

    coupled = adam_first_step(w, g + nr.L2(wd).grad(w))
    decoupled = adam_first_step(w, g) - lr * wd * w
    assert not np.allclose(coupled, decoupled, rtol=1e-3)
    # from zero moments the step is ~ -lr * sign(gradient): the coupled L2 changes nothing
    # unless wd * w flips a sign, while the decoupled decay always shrinks by lr * wd * w
    assert np.all(np.sign(g + wd * w) == np.sign(g))
    np.testing.assert_allclose(coupled, adam_first_step(w, g), rtol=0, atol=1e-7)
    np.testing.assert_allclose(decoupled - adam_first_step(w, g), -lr * wd * w, rtol=1e-12)


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


# -- weight decay given to an optimizer: the documented update rules, trained to a fixed point ---
#
# The reference optimizers below are written from the libraries' documentation (PyTorch's
# torch.optim.SGD / Adam / AdamW "Algorithm" boxes), not from normreg.conventions; the oracle for
# a fixed point is the ridge closed form (X^T X / m + lam I)^{-1} X^T y / m.


@pytest.fixture(scope="module")
def ridge_problem():
    rng = np.random.default_rng(7)
    m, p = 50, 3
    X = rng.standard_normal((m, p))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(m)
    return X, y


def _ridge(X, y, lam):
    m, p = X.shape
    return np.linalg.solve(X.T @ X / m + lam * np.eye(p), X.T @ y / m)


def _mean_grad(X, y):
    return lambda w: X.T @ (X @ w - y) / len(y)


def torch_sgd(grad, w0, *, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, steps):
    """torch.optim.SGD as its documentation states it, step by step."""
    theta, b = np.array(w0, dtype=float), None
    path = []
    for t in range(1, steps + 1):
        g = grad(theta)
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            b = g.copy() if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        path.append(theta)
    return np.array(path)


def torch_adam(grad, w0, *, lr, weight_decay=0.0, decoupled=False, steps, betas=(0.9, 0.999), eps=1e-8):
    """torch.optim.Adam (coupled weight_decay) or torch.optim.AdamW (decoupled), as documented."""
    b1, b2 = betas
    theta = np.array(w0, dtype=float)
    m1, v = np.zeros_like(theta), np.zeros_like(theta)
    for t in range(1, steps + 1):
        g = grad(theta)
        if decoupled:
            theta = theta - lr(t) * weight_decay * theta
        elif weight_decay != 0:
            g = g + weight_decay * theta
        m1 = b1 * m1 + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr(t) * (m1 / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return theta


@pytest.mark.parametrize(
    ("momentum", "dampening", "nesterov"), [(0.0, 0.0, False), (0.9, 0.0, False), (0.9, 0.5, False), (0.9, 0.0, True)]
)
def test_torch_sgd_weight_decay_is_l2_step_for_step(ridge_problem, momentum, dampening, nesterov):
    """PyTorch's coupled weight_decay gives the same iterates as training on L + L2(lam), and its
    fixed point is the ridge solution of that lam, with any momentum."""
    X, y = ridge_problem
    wd = 0.05
    lam = cv.weight_decay_to_l2(wd, "torch-sgd", momentum=momentum)
    kw = dict(lr=0.1, momentum=momentum, dampening=dampening, nesterov=nesterov, steps=1500)
    decayed = torch_sgd(_mean_grad(X, y), np.zeros(3), weight_decay=wd, **kw)
    pen = nr.L2(lam)
    penalized = torch_sgd(lambda w: _mean_grad(X, y)(w) + pen.grad(w), np.zeros(3), **kw)
    np.testing.assert_allclose(decayed, penalized, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(decayed[-1], _ridge(X, y, lam), rtol=1e-9)
    assert np.abs(decayed[-1] - _ridge(X, y, (1 - momentum) * wd)).max() > 1e-3 or momentum == 0


def test_torch_sum_reduction_divides_by_the_batch(ridge_problem):
    """With reduction='sum' the data gradient is m times the mean one: the fixed point is L2(wd/m)."""
    X, y = ridge_problem
    m = len(y)
    wd = 0.5
    sum_grad = lambda w: m * _mean_grad(X, y)(w)  # noqa: E731
    w = torch_sgd(sum_grad, np.zeros(3), lr=0.002, momentum=0.9, weight_decay=wd, steps=3000)[-1]
    lam = cv.weight_decay_to_l2(wd, "torch-sgd", momentum=0.9, reduction="sum", n_samples=m)
    assert lam == pytest.approx(wd / m)
    np.testing.assert_allclose(w, _ridge(X, y, lam), rtol=1e-9)


def test_torch_adam_coupled_reaches_ridge_adamw_does_not(ridge_problem):
    """Coupled Adam(weight_decay) stops at the L2(wd) solution. AdamW does not: at its full-batch
    fixed point g_j / (|g_j| + eps) = -wd w_j, so while |w_j| < 1/wd the data gradient is of order
    eps, and here (|w| < 1/wd) AdamW converges to the unpenalized least-squares solution."""
    X, y = ridge_problem
    grad = _mean_grad(X, y)
    wd = 0.3
    lr = lambda t: 0.05 / np.sqrt(t)  # noqa: E731  (decaying, so that Adam settles)
    adam = torch_adam(grad, np.zeros(3), lr=lr, weight_decay=wd, steps=4000)
    lam = cv.weight_decay_to_l2(wd, "torch-adam")
    np.testing.assert_allclose(adam, _ridge(X, y, lam), rtol=1e-6)
    adamw = torch_adam(grad, np.zeros(3), lr=lr, weight_decay=wd, decoupled=True, steps=30_000)
    assert np.abs(adamw - _ridge(X, y, 0.0)).max() < 1e-3  # least squares: the decay vanished
    assert np.abs(adamw - _ridge(X, y, wd)).max() > 0.1  # far from the naive L2(wd)
    assert np.abs(adamw).max() < 1 / wd
    with pytest.raises(ValueError, match="not an L2 penalty"):
        cv.weight_decay_to_l2(wd, "torch-adamw")


def _keras_train(opt, X, y, steps):
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    Xt, yt = tf.constant(X), tf.constant(y)
    w = keras.Variable(np.zeros(X.shape[1]), dtype="float64")

    @tf.function
    def step():
        g = tf.linalg.matvec(Xt, tf.linalg.matvec(Xt, w.value) - yt, transpose_a=True) / len(y)
        opt.apply_gradients([(g, w)])

    for _ in range(steps):
        step()
    return np.asarray(w)


@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.5, False), (0.9, False), (0.9, True)])
def test_keras_sgd_weight_decay_fixed_point_is_one_minus_mu(ridge_problem, momentum, nesterov):
    """Keras 3 itself: 3000 steps of SGD(0.1, momentum=mu, weight_decay=0.01) end at the ridge
    solution of L2((1 - mu) * 0.01), not of L2(0.01) (issue 10 item 6)."""
    keras = pytest.importorskip("keras")
    X, y = ridge_problem
    wd = 0.01
    opt = keras.optimizers.SGD(0.1, momentum=momentum, nesterov=nesterov, weight_decay=wd)
    w = _keras_train(opt, X, y, 3000)
    lam = cv.keras_weight_decay_to_l2(wd, momentum=momentum)
    assert lam == pytest.approx((1 - momentum) * wd, rel=1e-15)
    np.testing.assert_allclose(w, _ridge(X, y, lam), rtol=1e-8)
    if momentum > 0:  # the naive reading L2(wd) is visibly wrong
        assert np.abs(w - _ridge(X, y, wd)).max() > 100 * np.abs(w - _ridge(X, y, lam)).max()
    assert cv.l2_to_keras_weight_decay(lam, momentum=momentum) == pytest.approx(wd, rel=1e-12)


def test_keras_sgd_without_momentum_is_l2_step_for_step(ridge_problem):
    """momentum=0: Keras's decayed iterates are those of plain SGD on L + L2(wd)."""
    keras = pytest.importorskip("keras")
    X, y = ridge_problem
    wd, lr = 0.25, 0.125  # exact in float32, the dtype of Keras's learning-rate variable
    w = _keras_train(keras.optimizers.SGD(lr, weight_decay=wd), X, y, 5)
    pen = nr.L2(cv.keras_weight_decay_to_l2(wd))
    ref = torch_sgd(lambda v: _mean_grad(X, y)(v) + pen.grad(v), np.zeros(3), lr=lr, steps=5)[-1]
    np.testing.assert_allclose(w, ref, rtol=1e-12)


@given(wd=st.floats(0.0, 1e3), mu=st.floats(0.0, 0.999), opt=st.sampled_from(["torch-sgd", "keras-sgd", "optax-sgd"]))
def test_weight_decay_round_trip(wd, mu, opt):
    lam = cv.weight_decay_to_l2(wd, opt, momentum=mu)
    assert lam <= wd
    assert cv.l2_to_weight_decay(lam, opt, momentum=mu) == pytest.approx(wd, rel=1e-9, abs=1e-300)


def test_weight_decay_conversion_across_the_floating_point_range():
    """No intermediate overflow or underflow: wd * (1 - mu) / m is computed in that order."""
    big_m = 10**300
    assert cv.weight_decay_to_l2(1e300, "torch-sgd", reduction="sum", n_samples=big_m) == pytest.approx(1.0)
    assert cv.l2_to_weight_decay(1e-300, "torch-sgd", reduction="sum", n_samples=big_m) == pytest.approx(1.0)
    assert cv.weight_decay_to_l2(5e-324, "keras-sgd", momentum=0.5) in (0.0, 5e-324)  # true value 2.5e-324
    assert cv.l2_to_weight_decay(1e308, "keras-sgd", momentum=0.9) == np.inf  # 1e309 is not representable


@pytest.mark.parametrize("opt", ["keras-adam", "keras-adamw", "torch-adamw", "optax-adamw"])
def test_decoupled_adaptive_decay_is_refused(opt):
    assert cv.WEIGHT_DECAY[opt] == "decoupled-adaptive"
    with pytest.raises(ValueError, match="do not convert it into a loss term"):
        cv.weight_decay_to_l2(0.01, opt)
    with pytest.raises(ValueError, match="not an L2 penalty"):
        cv.l2_to_weight_decay(0.01, opt)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"optimizer": "sgd"}, ValueError, "optimizer must be one of"),
        ({"momentum": 1.0}, ValueError, "momentum must be < 1.0"),
        ({"momentum": -0.1}, ValueError, "momentum must be >= 0.0"),
        ({"weight_decay": -1.0}, ValueError, "weight_decay must be >= 0"),
        ({"weight_decay": float("nan")}, ValueError, "weight_decay must be finite"),
        ({"reduction": "none"}, ValueError, "reduction must be 'mean' or 'sum'"),
        ({"reduction": "sum"}, ValueError, "n_samples is required"),
        ({"momentum": "0.9"}, TypeError, "momentum must be a real number"),
    ],
)
def test_weight_decay_bad_arguments(kwargs, exc, match):
    args = {"weight_decay": 0.01, "optimizer": "keras-sgd", **kwargs}
    with pytest.raises(exc, match=match):
        cv.weight_decay_to_l2(args.pop("weight_decay"), args.pop("optimizer"), **args)
