r"""scikit-learn estimators over :func:`~normreg.solvers.fit_linear` (chapter 6).

The only module of the core that imports scikit-learn: ``import normreg`` does not.

Regression (the squared loss :math:`\frac{1}{2m}\|Xw + b - y\|^2`):
:class:`Lasso`, :class:`ElasticNet`, :class:`GroupLasso` (which scikit-learn does not
have), and :class:`LassoCV`, :class:`ElasticNetCV`, :class:`GroupLassoCV`, which choose
:math:`\lambda` by k-fold cross-validation and expose both the best :math:`\lambda`
(``lam_``) and the one-standard-error choice (``lam_1se_``; scikit-learn's ``LassoCV``
has only the first).

Binary classification (the mean logistic loss): :class:`LogisticLasso`,
:class:`LogisticElasticNet`, :class:`LogisticGroupLasso` and their ``...CV`` versions.
They accept two classes only and refuse more with a ``ValueError`` (wrap them in
:class:`sklearn.multiclass.OneVsRestClassifier` for one-vs-rest).

Conventions
-----------
:math:`\lambda` is the book's (``lam``; the loss is a *mean* over samples, the intercept
is never penalized), which converts to scikit-learn's parameters as follows (:math:`m`
the number of samples):

=============================  ===========================================================
normreg                        scikit-learn
=============================  ===========================================================
``Lasso(lam)``                 ``Lasso(alpha=lam)``
``ElasticNet(lam, l1_ratio)``  ``ElasticNet(alpha=lam, l1_ratio=l1_ratio)``
``LogisticLasso(lam)``         ``LogisticRegression(l1_ratio=1, C=1/(lam*m), solver="saga")``
``LogisticElasticNet``         ``LogisticRegression(l1_ratio=l1_ratio, C=1/(lam*m), ...)``
``nr.L2(lam)``                 ``Ridge(alpha=lam*m)``
=============================  ===========================================================

What the estimators accept
--------------------------
* ``sample_weight`` (squared loss): the weighted mean loss
  :math:`\sum_i s_i (x_i^\top w + b - y_i)^2 / (2\sum_i s_i)`, which is scikit-learn's
  normalization for ``Lasso``/``ElasticNet`` (weights rescaled to sum to :math:`m`), so
  integer weights equal repeated rows. :func:`~normreg.solvers.fit_linear` has no weights; the
  estimators centre ``X`` and ``y`` by their weighted means, scale row :math:`i` by
  :math:`\sqrt{s_i m / \sum s}`, fit without intercept and recover
  :math:`b = \bar y_s - \bar x_s^\top w`; this is the same problem exactly. Rows of
  weight 0 are dropped; only the weights' ratios matter, at any scale (``1e307`` or
  subnormal). In the ``...CV`` estimators the weights also weight each fold's validation
  loss (as in scikit-learn's ``LassoCV``), and a fold whose training or validation
  samples all have weight 0 is refused. The logistic
  estimators have no ``sample_weight`` (their ``fit`` does not take it, which is how
  scikit-learn's meta-estimators learn that it is unsupported).
* scipy sparse ``X``: accepted, but the solvers are dense, so ``X`` is **densified**
  (``X.toarray()``, :math:`8mp` bytes in float64). Above :data:`MAX_DENSE_BYTES` the
  estimators refuse it with a ``ValueError`` rather than exhaust memory. A fit's peak
  memory is about three times the dense array (the densified ``X`` and the copies the
  scale check and the solver make; measured 3.0 times for ``Lasso``, ``LogisticLasso``
  and ``LassoCV`` on a sparse 4000 x 500 ``X``), so the limit's 1 GiB means about 3 GiB.
* ``groups`` (group estimators): a label vector (one label per feature), index lists
  ``[[0, 1], [2, 3, 4]]``, or an integer ``k``: contiguous groups of ``k`` features.
* ``cv`` (``...CV``): an integer (``KFold``, or ``StratifiedKFold`` for classifiers,
  unshuffled, as in scikit-learn), any splitter, or an iterable of ``(train, test)``;
  ``fit(X, y, groups=...)`` passes the *samples'* group labels to a splitter that needs
  them (``GroupKFold``); ``n_jobs`` fits the folds in parallel (joblib).

The logistic fits centre ``X`` before calling the solver and move the intercept back
(:math:`b = b' - \bar x^\top w`), the same problem exactly: the first-order solvers are
slow on an offset design (on features with mean 100 and standard deviation 1 the
uncentred fit has not converged after 2000 iterations, the centred one needs fewer than
200), which the squared loss avoids by eliminating the intercept.
scikit-learn's ``liblinear`` penalizes the intercept, so it matches the table's
``LogisticLasso`` row only with ``fit_intercept=False``; ``saga`` matches with one.

``get_params``, ``set_params`` and ``score`` (:math:`R^2` for the regressors, accuracy for
the classifiers) are scikit-learn's own, inherited.

A fit that stops at ``max_iter`` warns with :class:`ConvergenceWarning`, which is both
normreg's and scikit-learn's ``ConvergenceWarning`` (a filter on either catches it).
Unscaled features make the solvers slow, possibly past ``max_iter``: when the columns'
standard deviations differ by more than a factor of 1000 (on the raw breast-cancer data,
about 2e5), ``fit`` warns so *before* it starts, naming the fix. Put a
:class:`~sklearn.preprocessing.StandardScaler` in front,

>>> from sklearn.datasets import load_breast_cancer
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from normreg.estimators import LogisticLasso
>>> Xc, yc = load_breast_cancer(return_X_y=True)
>>> clf = make_pipeline(StandardScaler(), LogisticLasso(lam=0.01)).fit(Xc, yc)
>>> round(clf.score(Xc, yc), 3), int((clf[-1].coef_ != 0).sum())
(0.974, 9)

Example: :class:`LassoCV` beside scikit-learn's, on the same folds and grid
(scikit-learn reports the mean squared error, normreg half of it, the training loss's
formula; the minimizer is the same):

>>> import numpy as np
>>> import sklearn.linear_model as sk
>>> from sklearn.model_selection import KFold
>>> from normreg.datasets import make_sparse_regression
>>> from normreg.estimators import LassoCV
>>> d = make_sparse_regression(100, 20, 4, noise=1.0, seed=0)
>>> ours = LassoCV(n_lams=30, cv=KFold(5)).fit(d.X, d.y)
>>> theirs = sk.LassoCV(alphas=ours.lams_, cv=KFold(5), tol=1e-10).fit(d.X, d.y)
>>> bool(np.isclose(ours.lam_, theirs.alpha_)), bool(ours.lam_1se_ >= ours.lam_)
(True, True)
>>> bool(np.allclose(2 * ours.cv_mean_, theirs.mse_path_.mean(axis=1), rtol=1e-4))
True
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning as _SkConvergenceWarning
from sklearn.model_selection import check_cv
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import penalties as _pen
from ._validation import as_groups
from .selection import lambda_grid, lambda_max, regularization_path
from .solvers import ConvergenceWarning as _NrConvergenceWarning
from .solvers import fit_linear

__all__ = [
    "ConvergenceWarning",
    "MAX_DENSE_BYTES",
    "Lasso",
    "ElasticNet",
    "GroupLasso",
    "LassoCV",
    "ElasticNetCV",
    "GroupLassoCV",
    "LogisticLasso",
    "LogisticElasticNet",
    "LogisticGroupLasso",
    "LogisticLassoCV",
    "LogisticElasticNetCV",
    "LogisticGroupLassoCV",
]

#: Sparse ``X`` is densified for the (dense) solvers; above this many bytes of dense
#: array the estimators raise a ``ValueError`` instead (1 GiB).
MAX_DENSE_BYTES = 2**30


class ConvergenceWarning(_NrConvergenceWarning, _SkConvergenceWarning):
    """A fit stopped at ``max_iter`` before its tolerance: both normreg's and scikit-learn's
    ``ConvergenceWarning``."""


# ----------------------------------------------------------------------------------------
# helpers


def _densify(X: Any) -> np.ndarray:
    if not sp.issparse(X):
        return X
    nbytes = X.shape[0] * X.shape[1] * X.dtype.itemsize
    if nbytes > MAX_DENSE_BYTES:
        raise ValueError(
            f"X is a sparse matrix of shape {X.shape}; normreg's solvers are dense and would need "
            f"{nbytes / 2**30:.1f} GiB for it (limit normreg.estimators.MAX_DENSE_BYTES = "
            f"{MAX_DENSE_BYTES / 2**30:.1f} GiB): use scikit-learn's sparse-aware Lasso/ElasticNet"
        )
    return X.toarray()


def _check_groups(groups: Any, p: int) -> tuple[tuple[int, ...], ...]:
    if groups is None:
        raise ValueError(
            "groups must be given to the constructor (GroupLasso(lam, groups=...), GroupLassoCV(groups=...)): "
            "a label vector (one label per feature), index lists such as [[0, 1], [2, 3, 4]], or an integer k "
            "(contiguous groups of k features); the groups= argument of a ...CV's fit is the samples' groups "
            "for a splitter such as GroupKFold"
        )
    if isinstance(groups, numbers.Integral) and not isinstance(groups, (bool, np.bool_)):
        k = int(groups)
        if k < 1:
            raise ValueError(f"groups as an integer is a group size and must be >= 1; got {k}")
        return tuple(tuple(range(a, min(a + k, p))) for a in range(0, p, k))
    return as_groups(groups, "groups", n_features=p)


def _check_rule(rule: Any) -> str:
    if rule not in ("best", "1se"):
        raise ValueError(f"rule must be 'best' or '1se'; got {rule!r}")
    return rule


def _weighted_problem(
    X: np.ndarray, y: np.ndarray, sw: np.ndarray, fit_intercept: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float]:
    """The unweighted, intercept-free problem with the same minimizer in ``w``.

    Returns ``(Xs, ys, xbar, ybar)``: rows with zero weight dropped, the rest centred by
    the weighted means (if ``fit_intercept``) and scaled by ``sqrt(s_i m' / sum s)``;
    the intercept is ``ybar - xbar @ w``.
    """
    keep = sw > 0
    X, y, s = X[keep], y[keep], sw[keep].astype(np.float64)
    if fit_intercept:
        xbar = np.average(X, axis=0, weights=s).astype(X.dtype)
        ybar = float(np.average(y, weights=s))
        X = X - xbar
        y = y - ybar
    else:
        xbar, ybar = None, 0.0
    r = np.sqrt(s * (s.size / s.sum()))
    return (X * r[:, None].astype(X.dtype)), (y * r.astype(y.dtype)), xbar, ybar


def _uniform(sw: np.ndarray | None) -> bool:
    return sw is None or bool(np.all(sw == sw.flat[0]))


def _equivalent_problem(
    X: np.ndarray, y: np.ndarray, sw: np.ndarray | None, loss: str, fit_intercept: bool
) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray | None, float]:
    """The problem handed to the solvers, with the same minimizer in ``w``.

    Returns ``(Xs, ys, fi, xbar, ybar)``: fit ``fit_linear(Xs, ys, fit_intercept=fi)``,
    then the intercept is ``ybar + b - xbar @ w``. Non-uniform weights (squared loss):
    :func:`_weighted_problem`. Logistic loss with an intercept: ``X`` centred, an exact
    reparametrization (:math:`b' = b + \\bar x^\\top w`) that spares the first-order
    solvers the ill-conditioning of an offset design (see the module docs).
    """
    if loss == "squared" and sw is not None and not _uniform(sw):
        Xs, ys, xbar, ybar = _weighted_problem(X, y, sw, fit_intercept)
        return Xs, ys, False, xbar, ybar
    if loss == "logistic" and fit_intercept:
        xbar = X.mean(axis=0)
        return X - xbar, y, True, xbar, 0.0
    return X, y, fit_intercept, None, 0.0


#: Column standard deviations spread wider than this factor: warn before fitting.
_SCALE_SPREAD = 1e3


def _warn_if_badly_scaled(X: np.ndarray, owner: str) -> None:
    """A :class:`ConvergenceWarning` naming the fix, before the solver spends its budget.

    First-order solvers (also the working-set solver's inner FISTA) slow down with the
    square root of the condition number, which column scales spread by a factor
    :math:`s` multiply by :math:`s^2`; coordinate descent (scikit-learn) does not care.
    """
    top = np.abs(X).max(axis=0).astype(np.float64)
    top[top == 0] = 1.0
    # each column divided by its largest entry first: raw squares of entries near 1e-170
    # underflow (the column looked constant) and near 1e200 overflow
    sd = (X / top).std(axis=0, dtype=np.float64) * top
    sd = sd[sd > 1e-12 * top]  # constant columns (up to rounding) do not count
    if sd.size >= 2 and sd.max() > _SCALE_SPREAD * sd.min():
        warnings.warn(
            f"{owner}: the columns of X differ in scale by a factor of {sd.max() / sd.min():.3g} (standard "
            f"deviations {sd.min():.3g} to {sd.max():.3g}); normreg's solvers converge slowly on such data, "
            f"possibly not within max_iter. Standardize X first: make_pipeline(StandardScaler(), {owner}(...))",
            ConvergenceWarning,
            stacklevel=4,
        )


def _fit_one(
    X: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray | None,
    penalty: Any,
    loss: str,
    fit_intercept: bool,
    tol: float,
    max_iter: int,
    owner: str,
) -> tuple[np.ndarray, float, int, float]:
    """fit_linear with weights, its ConvergenceWarning re-issued as this module's."""
    Xs, ys, fi, xbar, ybar = _equivalent_problem(X, y, sw, loss, fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _NrConvergenceWarning)
        res = fit_linear(Xs, ys, penalty, loss, fit_intercept=fi, tol=tol, max_iter=max_iter)
    b = ybar + res.intercept - (float(xbar @ res.coef) if xbar is not None else 0.0)
    if not res.converged:
        warnings.warn(
            f"{owner} did not converge: stopped at max_iter={max_iter} with relative duality gap "
            f"{res.residual:.3g} > tol={tol:g}; raise max_iter, or standardize X (StandardScaler)",
            ConvergenceWarning,
            stacklevel=4,
        )
    return res.coef, float(b), int(res.n_iter), float(res.gap)


def _validation_loss(Z: np.ndarray, y: np.ndarray, sw: np.ndarray | None, loss: str) -> np.ndarray:
    """Mean validation loss of each column of predictions ``Z`` (weighted by ``sw``)."""
    if loss == "squared":
        L = 0.5 * (Z - y[:, None]) ** 2
    else:
        s = np.where(y > 0, 1.0, -1.0)
        L = np.logaddexp(0.0, -s[:, None] * Z)
    return np.average(L, axis=0, weights=sw)


def _standard_error(scores: np.ndarray) -> np.ndarray:
    """sd over folds (ddof=1) / sqrt(K) of each column, without over- or underflow.

    The columns are scaled by a power of two near their largest entry first (exact, so
    ordinary scores give ``scores.std(axis=0, ddof=1) / sqrt(K)`` bit for bit): squared
    deviations of scores near 1e280 (``y`` times 1e140) overflowed to inf, those of scores
    near 1e-280 underflowed to 0, and the 1-SE rule then chose the end of the grid.
    """
    top = np.abs(scores).max(axis=0)
    e = np.where(top > 0, np.frexp(top)[1], 0)
    return np.ldexp(np.ldexp(scores, -e).std(axis=0, ddof=1), e) / np.sqrt(scores.shape[0])


def _fold(
    X: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray | None,
    train: np.ndarray,
    test: np.ndarray,
    factory: Callable[[float], Any],
    lams: np.ndarray,
    loss: str,
    fit_intercept: bool,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int]:
    """Validation losses of the path fitted on ``train``, and how many lambdas did not converge."""
    swtr = None if sw is None else sw[train]
    Xs, ys, fi, xbar, ybar = _equivalent_problem(X[train], y[train], swtr, loss, fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _NrConvergenceWarning)
        path = regularization_path(Xs, ys, factory, lams=lams, loss=loss, fit_intercept=fi, tol=tol,
                                   max_iter=max_iter)  # fmt: skip
    coefs = path.coefs.astype(np.float64)
    intercepts = ybar + path.intercepts - (coefs @ xbar if xbar is not None else 0.0)
    Z = X[test].astype(np.float64) @ coefs.T + intercepts
    losses = _validation_loss(Z, y[test].astype(np.float64), None if sw is None else sw[test], loss)
    return losses, int((~path.converged).sum())


# ----------------------------------------------------------------------------------------
# base classes


class _Base(BaseEstimator):
    """Validation, the penalty and the fit shared by all estimators."""

    _loss = "squared"

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # the penalty at lam for p features (subclasses)
    def _penalty(self, lam: float, p: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _factory(self, p: int) -> Callable[[float], Any]:
        return lambda lam: self._penalty(lam, p)

    def _validate(self, X: Any, y: Any, sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray, Any]:
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc", "coo"],
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
            y_numeric=self._loss == "squared",
        )
        X = _densify(X)
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if not (sw > 0).any():
                raise ValueError("sample_weight must have at least one positive entry; got all zeros")
            # only ratios matter: bring the largest weight into [0.5, 1) by a power of two (exact),
            # so that sums of 1e307s do not overflow and subnormal weights do not give inf scales
            sw = np.ldexp(sw, -int(np.frexp(sw.max())[1]))
        return X, y, sw

    def _X(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, accept_sparse=["csr", "csc", "coo"], dtype=[np.float64, np.float32], reset=False)
        return X

    def _linear(self, X: Any) -> np.ndarray:
        X = self._X(X)
        return np.asarray(X @ self.coef_ + self.intercept_)

    def _check_common(self) -> None:
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be True or False; got {self.fit_intercept!r}")


class _RegressorBase(RegressorMixin, _Base):
    def predict(self, X: Any) -> np.ndarray:
        """Predictions :math:`Xw + b`."""
        return self._linear(X)


class _ClassifierBase(ClassifierMixin, _Base):
    _loss = "logistic"

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _labels(self, y: np.ndarray) -> np.ndarray:
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(
                f"y has a single class ({self.classes_[0]!r}); {type(self).__name__} needs two classes"
            )
        if self.classes_.size > 2 or type_of_target(y) != "binary":
            raise ValueError(
                f"Only binary classification is supported. {type(self).__name__} takes two classes; y "
                f"({type_of_target(y)}) has {self.classes_.size}. For one-vs-rest, wrap it: "
                "sklearn.multiclass.OneVsRestClassifier(estimator)"
            )
        return (y == self.classes_[1]).astype(np.float64)

    def decision_function(self, X: Any) -> np.ndarray:
        """:math:`x^\\top w + b`, positive for ``classes_[1]``."""
        return self._linear(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]``: :math:`1 - \\sigma(z)`, :math:`\\sigma(z)`."""
        z = self.decision_function(X)
        return np.column_stack((expit(-z), expit(z)))  # not 1 - expit(z): that is 0 for z > 37

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log-probabilities of ``classes_[0]`` and ``classes_[1]``: :math:`-\\log(1 + e^{z})`,
        :math:`-\\log(1 + e^{-z})`, computed without overflow or rounding to 0 (``np.logaddexp``)."""
        z = self.decision_function(X)
        return np.column_stack((-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)))

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the decision function is positive, else ``classes_[0]``."""
        z = self.decision_function(X)  # first: it raises NotFittedError before fit
        return self.classes_[(z > 0).astype(int)]


class _SingleMixin:
    """``fit`` at one ``lam``."""

    def _fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        self._check_common()  # type: ignore[attr-defined]
        X, y, sw = self._validate(X, y, sample_weight)  # type: ignore[attr-defined]
        yy = self._labels(y) if self._loss == "logistic" else y  # type: ignore[attr-defined]
        pen = self._penalty(self.lam, X.shape[1])  # type: ignore[attr-defined]
        _warn_if_badly_scaled(X, type(self).__name__)
        self.coef_, self.intercept_, self.n_iter_, self.dual_gap_ = _fit_one(
            X, yy.astype(X.dtype, copy=False), sw, pen, self._loss, bool(self.fit_intercept),  # type: ignore[attr-defined]
            self.tol, self.max_iter, type(self).__name__,  # type: ignore[attr-defined]
        )  # fmt: skip
        return self


class _CVMixin:
    """``fit``: k-fold cross-validation over a grid of ``lam``, then (``refit``) the chosen fit."""

    def _grid(self, X: np.ndarray, y: np.ndarray, sw: np.ndarray | None, factory: Any, fi: bool) -> np.ndarray:
        """``lams``, checked and sorted decreasing, or the default grid from lambda_max of all the data."""
        if self.lams is not None:  # type: ignore[attr-defined]
            lams = np.asarray(self.lams, dtype=np.float64)  # type: ignore[attr-defined]
            if lams.ndim != 1 or lams.size == 0 or not np.isfinite(lams).all() or (lams <= 0).any():
                raise ValueError(f"lams must be a non-empty 1-D array of positive numbers; got {self.lams!r}")  # type: ignore[attr-defined]
            return np.sort(np.unique(lams))[::-1]
        Xs, ys, fi_s, _, _ = _equivalent_problem(X, y, sw, self._loss, fi)  # type: ignore[attr-defined]
        lmax = lambda_max(Xs, ys, factory, loss=self._loss, fit_intercept=fi_s)  # type: ignore[attr-defined]
        if not lmax > 0:
            raise ValueError("lambda_max is 0 (y is constant or X has no variation): pass lams explicitly")
        return lambda_grid(lmax, self.n_lams, self.eps)  # type: ignore[attr-defined]

    def _fit(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> Any:
        self._check_common()  # type: ignore[attr-defined]
        rule = _check_rule(self.rule)  # type: ignore[attr-defined]
        X, y, sw = self._validate(X, y, sample_weight)  # type: ignore[attr-defined]
        name = type(self).__name__
        classifier = self._loss == "logistic"  # type: ignore[attr-defined]
        yy = (self._labels(y) if classifier else y).astype(X.dtype, copy=False)  # type: ignore[attr-defined]
        p = X.shape[1]
        factory = self._factory(p)  # type: ignore[attr-defined]
        factory(1.0)  # validates groups / l1_ratio before any fold runs
        fi = bool(self.fit_intercept)  # type: ignore[attr-defined]
        lams = self._grid(X, yy, sw, factory, fi)
        cv = check_cv(self.cv, y, classifier=classifier)  # type: ignore[attr-defined]
        folds = list(cv.split(X, y, groups))
        if len(folds) < 2:
            raise ValueError(f"cv must give at least 2 folds; got {len(folds)}")
        if sw is not None:
            for k, (tr, te) in enumerate(folds, start=1):
                for part, idx in (("training", tr), ("validation", te)):
                    if not (sw[idx] > 0).any():
                        raise ValueError(
                            f"sample_weight is zero on every sample of the {part} set of fold {k} of "
                            f"{len(folds)}: that fold can neither be fitted nor scored; choose other folds"
                        )
        _warn_if_badly_scaled(X, name)
        out = Parallel(n_jobs=self.n_jobs)(  # type: ignore[attr-defined]
            delayed(_fold)(X, yy, sw, tr, te, factory, lams, self._loss, fi, self.tol, self.max_iter)  # type: ignore[attr-defined]
            for tr, te in folds
        )
        scores = np.array([o[0] for o in out])
        n_bad = sum(o[1] for o in out)
        if n_bad:
            warnings.warn(
                f"{name}: {n_bad} of {scores.size} (fold, lambda) fits stopped at "
                f"max_iter={self.max_iter} before tol; raise max_iter, or standardize X (StandardScaler)",  # type: ignore[attr-defined]
                ConvergenceWarning,
                stacklevel=3,
            )
        mean = scores.mean(axis=0)
        se = _standard_error(scores)
        best = int(np.argmin(mean))
        i1se = int(np.flatnonzero(mean <= mean[best] + se[best])[0])
        self.lams_, self.cv_scores_, self.cv_mean_, self.cv_se_ = lams, scores, mean, se
        self.best_index_, self.index_1se_ = best, i1se
        self.lam_, self.lam_1se_ = float(lams[best]), float(lams[i1se])
        if self.refit:  # type: ignore[attr-defined]
            lam = self.lam_ if rule == "best" else self.lam_1se_
            self.coef_, self.intercept_, self.n_iter_, self.dual_gap_ = _fit_one(
                X, yy, sw, self._penalty(lam, p), self._loss, fi, self.tol, self.max_iter, name,  # type: ignore[attr-defined]
            )  # fmt: skip
        else:  # no model: none left over from an earlier fit with refit=True either
            for attr in ("coef_", "intercept_", "n_iter_", "dual_gap_"):
                self.__dict__.pop(attr, None)
        return self


# the four fit signatures (scikit-learn learns from a fit's signature whether it takes sample_weight)


class _SingleRegressor(_SingleMixin, _RegressorBase):
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Fit on ``X`` (dense or scipy sparse, densified) and ``y``; ``sample_weight``
        gives the weighted mean loss (see the module docs)."""
        return self._fit(X, y, sample_weight)


class _SingleClassifier(_SingleMixin, _ClassifierBase):
    def fit(self, X: Any, y: Any) -> Any:
        """Fit on ``X`` (dense or scipy sparse, densified) and binary labels ``y``."""
        return self._fit(X, y)


class _CVRegressor(_CVMixin, _RegressorBase):
    def fit(self, X: Any, y: Any, sample_weight: Any = None, *, groups: Any = None) -> Any:
        """Cross-validate the grid, then refit. ``sample_weight`` weights both the
        training loss and the validation loss; ``groups`` are the *samples'* group
        labels for a splitter that needs them (``GroupKFold``), not the features' groups
        of a group penalty."""
        return self._fit(X, y, sample_weight, groups)


class _CVClassifier(_CVMixin, _ClassifierBase):
    def fit(self, X: Any, y: Any, *, groups: Any = None) -> Any:
        """Cross-validate the grid on binary labels ``y``, then refit; ``groups``: the
        samples' group labels for a splitter that needs them (``GroupKFold``)."""
        return self._fit(X, y, None, groups)


_COMMON_DOC = """
    fit_intercept : bool, default=True
        Fit an unpenalized intercept.
    tol : float, default=1e-6
        Stop when the duality gap is at most ``tol`` times the objective of the model
        with :math:`w = 0` (see :func:`~normreg.solvers.fit_linear`).
    max_iter : int, default=10_000
        Iteration limit; reaching it warns with :class:`ConvergenceWarning`."""

_FIT_ATTRS = """
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Solver iterations of the (final) fit.
    dual_gap_ : float
        Duality gap at the returned point, an upper bound on its excess objective.
    n_features_in_, feature_names_in_ :
        As in scikit-learn."""

_CV_DOC = """
    lams : array_like or None, default=None
        The grid of :math:`\\lambda`; default ``n_lams`` values from :math:`\\lambda_{\\max}`
        (of all the data, weighted by ``sample_weight``) down to ``eps`` times it, log-spaced,
        as scikit-learn's. For an elastic net with ``l1_ratio`` below 0.001 (at 0 no :math:`\\lambda` zeroes every
        coefficient), :math:`\\lambda_{\\max}` is that of ``l1_ratio=0.001`` (glmnet's
        convention; scikit-learn's ``ElasticNetCV`` refuses to make a grid for 0).
    n_lams : int, default=100
    eps : float, default=1e-3
    cv : int, splitter or iterable, default=None
        5 folds by default; an integer means ``KFold`` (``StratifiedKFold`` for the
        classifiers), unshuffled, as in scikit-learn's ``check_cv``.
    rule : {"best", "1se"}, default="best"
        Which :math:`\\lambda` the refitted model uses: the one with the smallest mean
        validation loss, or the largest within one standard error of it.
    refit : bool, default=True
        Refit on all the data at the chosen :math:`\\lambda` (``coef_`` etc. exist only then).
    n_jobs : int or None, default=None
        Folds fitted in parallel by joblib."""

_CV_ATTRS = """
    Attributes
    ----------
    lams_ : ndarray of shape (n_lams,)
        The grid, decreasing.
    cv_scores_ : ndarray of shape (n_folds, n_lams)
        Validation loss of each fold: half the mean squared error (the training loss's
        formula; scikit-learn's ``mse_path_`` is twice it) or the mean log-loss,
        weighted by ``sample_weight`` where given.
    cv_mean_, cv_se_ : ndarray of shape (n_lams,)
        Mean over folds (unweighted, as scikit-learn's ``mse_path_.mean(axis=1)``) and its
        standard error :math:`\\operatorname{sd}/\\sqrt{K}` (ddof=1). glmnet's ``cvm`` and
        ``cvsd`` (``cv.glmnet``; Friedman, Hastie & Tibshirani 2010) weight the folds by their
        size and are these on equal folds.
    lam_, best_index_ :
        :math:`\\hat\\lambda = \\arg\\min` ``cv_mean_`` (the largest such on ties).
    lam_1se_, index_1se_ :
        The largest :math:`\\lambda` of the grid with ``cv_mean_ <= cv_mean_[best] + cv_se_[best]``:
        glmnet's ``lambda.1se``.
    coef_, intercept_, n_iter_, dual_gap_ :
        Of the refitted model (``refit=True``)."""


# ----------------------------------------------------------------------------------------
# penalties


class _Lasso:
    """The L1 penalty and the parameters of a fit at one ``lam`` (shared by the regressor and the classifier)."""

    def __init__(self, lam: float = 1.0, *, fit_intercept: bool = True, tol: float = 1e-6,
                 max_iter: int = 10_000) -> None:  # fmt: skip
        self.lam = lam
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def _penalty(self, lam: float, p: int) -> Any:
        return _pen.L1(lam)


class _ElasticNet:
    def __init__(self, lam: float = 1.0, l1_ratio: float = 0.5, *, fit_intercept: bool = True,
                 tol: float = 1e-6, max_iter: int = 10_000) -> None:  # fmt: skip
        self.lam = lam
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def _penalty(self, lam: float, p: int) -> Any:
        return _pen.ElasticNet(lam, self.l1_ratio)


class _GroupLasso:
    def __init__(self, lam: float = 1.0, groups: Any = None, *, fit_intercept: bool = True,
                 tol: float = 1e-6, max_iter: int = 10_000) -> None:  # fmt: skip
        self.lam = lam
        self.groups = groups
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def _penalty(self, lam: float, p: int) -> Any:
        return _pen.GroupLasso(lam, _check_groups(self.groups, p))


def _cv_init(est: Any, lams: Any, n_lams: int, eps: float, cv: Any, rule: str, refit: bool,
             n_jobs: int | None, fit_intercept: bool, tol: float, max_iter: int) -> None:  # fmt: skip
    """Store the ``...CV`` parameters (scikit-learn's ``get_params`` reads them back by name)."""
    est.lams, est.n_lams, est.eps, est.cv, est.rule, est.refit = lams, n_lams, eps, cv, rule, refit
    est.n_jobs, est.fit_intercept, est.tol, est.max_iter = n_jobs, fit_intercept, tol, max_iter


class _LassoCV(_Lasso):
    def __init__(self, *, lams: Any = None, n_lams: int = 100, eps: float = 1e-3, cv: Any = None,
                 rule: str = "best", refit: bool = True, n_jobs: int | None = None,
                 fit_intercept: bool = True, tol: float = 1e-6, max_iter: int = 10_000) -> None:  # fmt: skip
        _cv_init(self, lams, n_lams, eps, cv, rule, refit, n_jobs, fit_intercept, tol, max_iter)


class _ElasticNetCV(_ElasticNet):
    def __init__(self, l1_ratio: float = 0.5, *, lams: Any = None, n_lams: int = 100, eps: float = 1e-3,
                 cv: Any = None, rule: str = "best", refit: bool = True, n_jobs: int | None = None,
                 fit_intercept: bool = True, tol: float = 1e-6, max_iter: int = 10_000) -> None:  # fmt: skip
        self.l1_ratio = l1_ratio
        _cv_init(self, lams, n_lams, eps, cv, rule, refit, n_jobs, fit_intercept, tol, max_iter)


class _GroupLassoCV(_GroupLasso):
    def __init__(self, groups: Any = None, *, lams: Any = None, n_lams: int = 100, eps: float = 1e-3,
                 cv: Any = None, rule: str = "best", refit: bool = True, n_jobs: int | None = None,
                 fit_intercept: bool = True, tol: float = 1e-6, max_iter: int = 10_000) -> None:  # fmt: skip
        self.groups = groups
        _cv_init(self, lams, n_lams, eps, cv, rule, refit, n_jobs, fit_intercept, tol, max_iter)


# ----------------------------------------------------------------------------------------
# regression


class Lasso(_Lasso, _SingleRegressor):
    r"""Lasso: minimize :math:`\frac{1}{2m}\|Xw + b - y\|_2^2 + \lambda\|w\|_1`.

    scikit-learn equivalent: ``sklearn.linear_model.Lasso(alpha=lam)``.

    Parameters
    ----------
    lam : float, default=1.0
        :math:`\lambda \ge 0`."""

    __doc__ = (__doc__ or "") + _COMMON_DOC + "\n" + _FIT_ATTRS


class ElasticNet(_ElasticNet, _SingleRegressor):
    r"""Elastic net: minimize
    :math:`\frac{1}{2m}\|Xw + b - y\|_2^2 + \lambda\big(r\|w\|_1 + \frac{1-r}{2}\|w\|_2^2\big)`.

    scikit-learn equivalent: ``sklearn.linear_model.ElasticNet(alpha=lam, l1_ratio=r)``.

    Parameters
    ----------
    lam : float, default=1.0
    l1_ratio : float in [0, 1], default=0.5
        :math:`r`."""

    __doc__ = (__doc__ or "") + _COMMON_DOC + "\n" + _FIT_ATTRS


class GroupLasso(_GroupLasso, _SingleRegressor):
    r"""Group lasso: minimize :math:`\frac{1}{2m}\|Xw + b - y\|_2^2 + \lambda\sum_g \sqrt{|g|}\,\|w_g\|_2`.

    scikit-learn has no group lasso; with groups of one feature each this is
    ``sklearn.linear_model.Lasso(alpha=lam)``. skglm's ``GroupLasso(groups, alpha=lam,
    weights=np.sqrt(sizes))`` is the same problem; its default weights are 1, not
    :math:`\sqrt{|g|}` (``benchmarks/bench_solvers.py`` solves both, without intercept, to the same objective).

    Parameters
    ----------
    lam : float, default=1.0
    groups : label vector, index lists or int
        ``[0, 0, 1, 1, 1]``, ``[[0, 1], [2, 3, 4]]`` (the same grouping), or ``k``:
        contiguous groups of ``k`` features. Required."""

    __doc__ = (__doc__ or "") + _COMMON_DOC + "\n" + _FIT_ATTRS


class LassoCV(_LassoCV, _CVRegressor):
    r"""Lasso with :math:`\lambda` chosen by k-fold cross-validation (best and one-SE).

    scikit-learn equivalent: ``sklearn.linear_model.LassoCV(alphas=lams, cv=cv)`` (its
    ``alpha_`` is ``lam_``; it has no ``lam_1se_``).

    Parameters
    ----------"""

    __doc__ = (__doc__ or "") + _CV_DOC + _COMMON_DOC + "\n" + _CV_ATTRS


class ElasticNetCV(_ElasticNetCV, _CVRegressor):
    r"""Elastic net with :math:`\lambda` chosen by k-fold cross-validation, at a fixed ``l1_ratio``.

    scikit-learn equivalent: ``sklearn.linear_model.ElasticNetCV(alphas=lams, l1_ratio=l1_ratio, cv=cv)``.

    Parameters
    ----------
    l1_ratio : float in [0, 1], default=0.5"""

    __doc__ = (__doc__ or "") + _CV_DOC + _COMMON_DOC + "\n" + _CV_ATTRS


class GroupLassoCV(_GroupLassoCV, _CVRegressor):
    r"""Group lasso with :math:`\lambda` chosen by k-fold cross-validation (no scikit-learn equivalent).

    Parameters
    ----------
    groups : label vector, index lists or int
        As for :class:`GroupLasso`."""

    __doc__ = (__doc__ or "") + _CV_DOC + _COMMON_DOC + "\n" + _CV_ATTRS




# ----------------------------------------------------------------------------------------
# classification


class LogisticLasso(_Lasso, _SingleClassifier):
    r"""L1-penalized logistic regression, binary: minimize
    :math:`\frac1m\sum_i \log(1 + e^{-\tilde y_i(x_i^\top w + b)}) + \lambda\|w\|_1`.

    scikit-learn equivalent: ``sklearn.linear_model.LogisticRegression(l1_ratio=1.0,
    C=1/(lam*m), solver="saga")`` (``penalty="l1"`` before scikit-learn 1.8), :math:`m`
    the number of training samples. Two classes only (a ``ValueError`` otherwise);
    no ``sample_weight``. Standardize the features (``StandardScaler``) first.

    Parameters
    ----------
    lam : float, default=1.0"""

    __doc__ = (__doc__ or "") + _COMMON_DOC + "\n" + _FIT_ATTRS + "\n    classes_ : ndarray of shape (2,)"


class LogisticElasticNet(_ElasticNet, _SingleClassifier):
    r"""Elastic-net logistic regression, binary: mean logistic loss
    :math:`+\ \lambda\big(r\|w\|_1 + \frac{1-r}{2}\|w\|_2^2\big)`.

    scikit-learn equivalent: ``LogisticRegression(l1_ratio=r, C=1/(lam*m), solver="saga")``.

    Parameters
    ----------
    lam : float, default=1.0
    l1_ratio : float in [0, 1], default=0.5"""

    __doc__ = (__doc__ or "") + _COMMON_DOC + "\n" + _FIT_ATTRS + "\n    classes_ : ndarray of shape (2,)"


class LogisticGroupLasso(_GroupLasso, _SingleClassifier):
    r"""Group-lasso logistic regression, binary: mean logistic loss
    :math:`+\ \lambda\sum_g\sqrt{|g|}\,\|w_g\|_2` (no scikit-learn equivalent; with groups of
    one feature, ``LogisticRegression(l1_ratio=1, C=1/(lam*m), solver="saga")``).

    Parameters
    ----------
    lam : float, default=1.0
    groups : label vector, index lists or int
        As for :class:`GroupLasso`."""

    __doc__ = (__doc__ or "") + _COMMON_DOC + "\n" + _FIT_ATTRS + "\n    classes_ : ndarray of shape (2,)"


class LogisticLassoCV(_LassoCV, _CVClassifier):
    r"""L1-logistic regression with :math:`\lambda` chosen by stratified k-fold CV (mean log-loss).

    scikit-learn equivalent: ``LogisticRegressionCV(Cs=1/(lams*m_train), l1_ratios=[1],
    solver="saga", scoring="neg_log_loss")``, except that there :math:`C` is fixed while
    the training-fold size varies; here :math:`\lambda` is.

    Parameters
    ----------"""

    __doc__ = (__doc__ or "") + _CV_DOC + _COMMON_DOC + "\n" + _CV_ATTRS


class LogisticElasticNetCV(_ElasticNetCV, _CVClassifier):
    r"""Elastic-net logistic regression with :math:`\lambda` chosen by stratified k-fold CV.

    Parameters
    ----------
    l1_ratio : float in [0, 1], default=0.5"""

    __doc__ = (__doc__ or "") + _CV_DOC + _COMMON_DOC + "\n" + _CV_ATTRS


class LogisticGroupLassoCV(_GroupLassoCV, _CVClassifier):
    r"""Group-lasso logistic regression with :math:`\lambda` chosen by stratified k-fold CV.

    Parameters
    ----------
    groups : label vector, index lists or int
        As for :class:`GroupLasso`."""

    __doc__ = (__doc__ or "") + _CV_DOC + _COMMON_DOC + "\n" + _CV_ATTRS
