"""The data generators: shapes, determinism, the truth they claim (checked by refitting or from
the formula), and argument validation; the digits split against scikit-learn's own copy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normreg import datasets as ds


def test_sparse_regression_truth_and_noise():
    d = ds.make_sparse_regression(200, 8, 3, noise=0.0, intercept=1.5, seed=1)
    assert d.X.shape == (200, 8) and d.y.shape == (200,) and d.coef.shape == (8,)
    np.testing.assert_allclose(d.coef[:3], [3.0, -2.0, 1.0])
    assert np.all(d.coef[3:] == 0)
    np.testing.assert_allclose(d.y, d.X @ d.coef + 1.5, rtol=1e-14)
    noisy = ds.make_sparse_regression(20_000, 4, 2, noise=0.5, seed=1)
    resid = noisy.y - noisy.X @ noisy.coef
    assert resid.std() == pytest.approx(0.5, rel=0.03)
    # least squares recovers the true coefficients
    coef = np.linalg.lstsq(noisy.X, noisy.y, rcond=None)[0]
    np.testing.assert_allclose(coef, noisy.coef, atol=0.02)


def test_sparse_regression_correlation():
    d = ds.make_sparse_regression(50_000, 3, 1, correlation=0.6, seed=0)
    corr = np.corrcoef(d.X, rowvar=False)
    np.testing.assert_allclose(corr[np.triu_indices(3, 1)], 0.6, atol=0.02)
    np.testing.assert_allclose(d.X.var(axis=0), 1.0, atol=0.03)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_generators_are_deterministic(seed):
    a, b = ds.make_sparse_regression(seed=seed), ds.make_sparse_regression(seed=seed)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    x1, y1 = ds.make_polynomial_data(seed=seed)
    x2, y2 = ds.make_polynomial_data(seed=seed)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(ds.make_polynomial_data(seed=seed)[0], ds.make_polynomial_data(seed=seed + 1)[0])


def test_sparse_classification_follows_the_logistic_model():
    d = ds.make_sparse_classification(40_000, 5, 2, seed=3)
    assert set(np.unique(d.y)) == {0.0, 1.0}
    prob = 1 / (1 + np.exp(-(d.X @ d.coef)))
    # calibration: in each probability bin the label frequency matches the model's probability
    bins = np.digitize(prob, [0.2, 0.4, 0.6, 0.8])
    for k in range(5):
        sel = bins == k
        assert d.y[sel].mean() == pytest.approx(prob[sel].mean(), abs=0.02)


def test_polynomial_data():
    x, y = ds.make_polynomial_data(500, noise=0.0, seed=2)
    assert x.shape == y.shape == (500,)
    assert x.min() >= -1 and x.max() <= 1
    np.testing.assert_allclose(y, np.sin(np.pi * x), rtol=0, atol=1e-15)
    _, yn = ds.make_polynomial_data(20_000, noise=0.2, seed=2)
    xn, _ = ds.make_polynomial_data(20_000, noise=0.2, seed=2)
    assert (yn - np.sin(np.pi * xn)).std() == pytest.approx(0.2, rel=0.03)


def test_digits_split_is_a_stratified_partition_of_sklearns_digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    d = ds.load_digits_split(150, seed=0)
    assert d.X_train.shape == (150, 64) and d.X_test.shape == (1647, 64)
    assert d.y_train.shape == (150,) and d.y_test.shape == (1647,)
    assert d.X_train.min() >= 0 and d.X_train.max() <= 1
    # together the two parts are exactly the data set (as multisets of (image, label) rows)
    ours = np.column_stack([np.vstack([d.X_train, d.X_test]) * 16, np.concatenate([d.y_train, d.y_test])])
    theirs = np.column_stack([X, y])
    np.testing.assert_array_equal(ours[np.lexsort(ours.T)], theirs[np.lexsort(theirs.T)])
    # stratified: each class's share in the training part matches the whole within one image
    counts = np.bincount(d.y_train, minlength=10)
    np.testing.assert_allclose(counts, 150 * np.bincount(y) / len(y), atol=1.0)


def test_digits_split_seeded():
    a, b, c = ds.load_digits_split(50, seed=1), ds.load_digits_split(50, seed=1), ds.load_digits_split(50, seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)
    assert np.array_equal(np.bincount(ds.load_digits_split(10).y_train), np.ones(10))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ds.make_sparse_regression(0), ValueError, "n_samples must be >= 1"),
        (lambda: ds.make_sparse_regression(10, 3, 4), ValueError, "n_informative must be <= 3"),
        (lambda: ds.make_sparse_regression(noise=-1.0), ValueError, "noise must be >= 0"),
        (lambda: ds.make_sparse_regression(correlation=1.0), ValueError, "correlation must be < 1"),
        (lambda: ds.make_sparse_regression(seed=-1), ValueError, "seed must be >= 0"),
        (lambda: ds.make_sparse_regression(seed=1.5), TypeError, "seed must be an integer"),
        (lambda: ds.make_polynomial_data(n_samples=2.0), TypeError, "n_samples must be an integer"),
        (lambda: ds.load_digits_split(9), ValueError, "n_train must be >= 10"),
        (lambda: ds.load_digits_split(1788), ValueError, "n_train must be <= 1787"),
        (lambda: ds.load_digits_split(100, seed=-3), ValueError, "seed must be >= 0"),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
