"""Small, seeded data sets for the book's examples; nothing is downloaded.

Generated problems have a known truth (the coefficients that produced them), so a chapter
can say how close a fit came. Real data comes from what scikit-learn ships inside its
package (``load_digits``, ``load_diabetes``), imported only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_scalar

__all__ = [
    "Regression",
    "make_sparse_regression",
    "make_sparse_classification",
    "make_polynomial_data",
    "Split",
    "load_digits_split",
]


@dataclass(frozen=True)
class Regression:
    """A generated problem: design ``X`` (m, p), targets ``y`` (m,), true ``coef`` (p,) and ``intercept``."""

    X: np.ndarray
    y: np.ndarray
    coef: np.ndarray
    intercept: float


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(check_scalar(seed, "seed", low=0, integer=True))


def _design(rng: np.random.Generator, m: int, p: int, correlation: float) -> np.ndarray:
    """Standard normal features with pairwise correlation ``correlation`` (equicorrelated)."""
    z = rng.standard_normal((m, p))
    if correlation == 0:
        return z
    common = rng.standard_normal((m, 1))
    return np.sqrt(1 - correlation) * z + np.sqrt(correlation) * common


def make_sparse_regression(
    n_samples: int = 100,
    n_features: int = 20,
    n_informative: int = 5,
    *,
    noise: float = 0.5,
    correlation: float = 0.0,
    intercept: float = 0.0,
    seed: int = 0,
) -> Regression:
    r"""Linear data :math:`y = Xw^\star + b + \varepsilon` whose true :math:`w^\star` has ``n_informative`` non-zeros.

    The informative coefficients are the first ones, with magnitudes spread over [1, 3] and
    alternating signs; :math:`\varepsilon \sim \mathcal N(0, \text{noise}^2)`.
    """
    m = int(check_scalar(n_samples, "n_samples", low=1, integer=True))
    p = int(check_scalar(n_features, "n_features", low=1, integer=True))
    k = int(check_scalar(n_informative, "n_informative", low=0, high=p, integer=True))
    sigma = check_scalar(noise, "noise", low=0.0)
    rho = check_scalar(correlation, "correlation", low=0.0, high=1.0, high_open=True)
    b = check_scalar(intercept, "intercept")
    rng = _rng(seed)
    X = _design(rng, m, p, rho)
    coef = np.zeros(p)
    coef[:k] = np.linspace(3.0, 1.0, k) * np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
    y = X @ coef + b + sigma * rng.standard_normal(m)
    return Regression(X, y, coef, b)


def make_sparse_classification(
    n_samples: int = 200,
    n_features: int = 20,
    n_informative: int = 5,
    *,
    correlation: float = 0.0,
    seed: int = 0,
) -> Regression:
    r"""Binary labels :math:`y \in \{0, 1\}` drawn from a logistic model with a sparse true :math:`w^\star`."""
    base = make_sparse_regression(
        n_samples, n_features, n_informative, noise=0.0, correlation=correlation, seed=seed
    )
    rng = _rng(seed + 1)
    prob = 1.0 / (1.0 + np.exp(-(base.X @ base.coef)))
    y = (rng.random(base.X.shape[0]) < prob).astype(np.float64)
    return Regression(base.X, y, base.coef, 0.0)


def make_polynomial_data(n_samples: int = 30, *, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Points :math:`(x, y)`, :math:`x \sim U[-1, 1]`, :math:`y = \sin(\pi x) + \varepsilon` (chapter 1's curve)."""
    m = int(check_scalar(n_samples, "n_samples", low=1, integer=True))
    sigma = check_scalar(noise, "noise", low=0.0)
    rng = _rng(seed)
    x = rng.uniform(-1.0, 1.0, m)
    return x, np.sin(np.pi * x) + sigma * rng.standard_normal(m)


@dataclass(frozen=True)
class Split:
    """A train/test split: ``X_train`` (n_train, p), ``X_test``, ``y_train`` (n_train,), ``y_test``."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def load_digits_split(n_train: int = 150, *, seed: int = 0) -> Split:
    r"""scikit-learn's bundled 8×8 digits (1797 images, 10 classes), split into a small training set and a test set.

    The pixel intensities (integers 0..16) are divided by 16, so every feature lies in
    :math:`[0, 1]`. The split is stratified (each class keeps its share in both parts) and
    seeded; the test set is every image not drawn for training. Nothing is downloaded: the
    images ship inside scikit-learn, which is imported only when this function is called.

    Parameters
    ----------
    n_train : int
        Number of training images, between 10 (one per class) and 1787 (ten left to test).
    seed : int
        Seed of the shuffle.

    Example
    -------
    >>> from normreg.datasets import load_digits_split
    >>> d = load_digits_split(150, seed=0)
    >>> d.X_train.shape, d.X_test.shape, float(d.X_train.max())
    ((150, 64), (1647, 64), 1.0)
    """
    n = int(check_scalar(n_train, "n_train", low=10, high=1787, integer=True))
    s = int(check_scalar(seed, "seed", low=0, integer=True))
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, train_size=n, stratify=y, random_state=s
    )
    return Split(X_train, X_test, y_train, y_test)
