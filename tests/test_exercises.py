"""Figures stated in exercise solutions that no notebook cell computes.

The solutions sit in dropdowns of the chapters; each test here redoes the exercise as its
statement asks, on the chapter's data (the generating code is repeated from the chapter),
and checks what the solution says.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import Lasso  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import PolynomialFeatures, StandardScaler  # noqa: E402


def _faq_sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """book/10_faq.ipynb's ``sample``: n noisy samples of sin(pi x) on [-1, 1]."""
    x = rng.uniform(-1, 1, (n, 1))
    return x, np.sin(np.pi * x[:, 0]) + 0.3 * rng.standard_normal(n)


def test_ex_faq_1_lasso_in_the_q3_cell():
    """ex-faq-1: the lasso's 5-fold CV on Q3's data picks 1e-2 (as ridge does there), keeps
    6 of the 12 polynomial coefficients (degrees 1, 2, 3, 5, 8, 10), and scikit-learn warns
    of non-convergence for lambda <= 1e-4 only, even with max_iter=100_000."""
    x30, y30 = _faq_sample(30, np.random.default_rng(2))
    lams = 10.0 ** np.arange(-7, 2)
    folds = KFold(5, shuffle=True, random_state=0)

    def lasso(lam: float):
        features = PolynomialFeatures(12, include_bias=False)
        return make_pipeline(features, StandardScaler(), Lasso(alpha=lam, max_iter=100_000))

    cv, warned = [], []
    for lam in lams:
        errors = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            for fit_idx, val_idx in folds.split(x30):
                model = lasso(lam).fit(x30[fit_idx], y30[fit_idx])
                errors.append(np.mean((model.predict(x30[val_idx]) - y30[val_idx]) ** 2))
        cv.append(np.mean(errors))
        warned.append(any(issubclass(w.category, ConvergenceWarning) for w in caught))
    best = lams[int(np.argmin(cv))]
    assert best == 1e-2
    assert warned == [lam <= 1e-4 for lam in lams]
    coef = lasso(best).fit(x30, y30)[-1].coef_
    assert np.sum(coef == 0) == 6
    assert list(np.flatnonzero(coef) + 1) == [1, 2, 3, 5, 8, 10]
