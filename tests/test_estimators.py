"""normreg.estimators against scikit-learn and the optimality conditions of the book's objectives.

Oracles: scikit-learn's ``Lasso``/``ElasticNet``/``Ridge``/``LogisticRegression`` at tight
tolerances (the module's convention table, row by row), the KKT conditions of the group
lasso written out here, scikit-learn's ``LassoCV``/``ElasticNetCV`` and ``GridSearchCV``,
the 1-SE rule computed by a loop over scikit-learn's per-fold errors, repeated rows for
integer sample weights, dense for sparse, and scikit-learn's own estimator checks.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import normreg as nr
import normreg.estimators as E
from normreg.datasets import make_sparse_regression

TIGHT = {"tol": 1e-12, "max_iter": 100_000}


@pytest.fixture(scope="module")
def reg():
    d = make_sparse_regression(80, 12, 4, noise=1.0, seed=0)
    return d.X, d.y


@pytest.fixture(scope="module")
def clf():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[:150, :8], y[:150]


def _quiet_fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*args, **kwargs)


# ----------------------------------------------------------------------------------------
# 1. the convention table, row by row, and the group lasso's optimality conditions


@pytest.mark.parametrize("lam", [0.01, 0.1, 1.0])
def test_lasso_row_equals_sklearn_lasso(reg, lam):
    X, y = reg
    ours = E.Lasso(lam=lam, **TIGHT).fit(X, y)
    theirs = sk.Lasso(alpha=lam, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-9)
    assert abs(ours.intercept_ - theirs.intercept_) < 1e-9
    assert ours.dual_gap_ >= 0 and ours.n_iter_ >= 1


@pytest.mark.parametrize(("lam", "r"), [(0.05, 0.3), (0.5, 0.9), (0.2, 0.0)])
def test_elastic_net_row_equals_sklearn_elastic_net(reg, lam, r):
    X, y = reg
    ours = E.ElasticNet(lam=lam, l1_ratio=r, **TIGHT).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's warning for l1_ratio=0
        theirs = sk.ElasticNet(alpha=lam, l1_ratio=r, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-9)
    assert abs(ours.intercept_ - theirs.intercept_) < 1e-9


def test_l2_row_equals_ridge_with_alpha_lam_times_m(reg):
    """``nr.L2(lam)`` (and ``ElasticNet(lam, 0)``, which is ``L2(lam)``) is ``Ridge(alpha=lam*m)``."""
    X, y = reg
    lam, m = 0.3, X.shape[0]
    ridge = sk.Ridge(alpha=lam * m).fit(X, y)  # closed form
    res = nr.fit_linear(X, y, nr.L2(lam), tol=1e-12, max_iter=100_000)
    np.testing.assert_allclose(res.coef, ridge.coef_, rtol=0, atol=1e-8)
    est = E.ElasticNet(lam=lam, l1_ratio=0.0, **TIGHT).fit(X, y)
    np.testing.assert_allclose(est.coef_, ridge.coef_, rtol=0, atol=1e-8)
    assert abs(est.intercept_ - ridge.intercept_) < 1e-8


@pytest.mark.parametrize(("cls", "r"), [(E.LogisticLasso, 1.0), (E.LogisticElasticNet, 0.5)])
@pytest.mark.parametrize("lam", [0.01, 0.05])
def test_logistic_rows_equal_sklearn_saga_with_c_one_over_lam_m(clf, cls, r, lam):
    X, y = clf
    m = X.shape[0]
    ours = (cls(lam=lam, **TIGHT) if r == 1.0 else cls(lam=lam, l1_ratio=r, **TIGHT)).fit(X, y)
    theirs = _quiet_fit(
        sk.LogisticRegression(l1_ratio=r, C=1 / (lam * m), solver="saga", tol=1e-12, max_iter=100_000), X, y
    )
    np.testing.assert_allclose(ours.coef_, theirs.coef_.ravel(), rtol=0, atol=1e-6)
    assert abs(ours.intercept_ - theirs.intercept_[0]) < 1e-6


def test_logistic_lasso_without_intercept_equals_liblinear(clf):
    """liblinear penalizes its intercept, so the comparison is without one: exact there."""
    X, y = clf
    lam, m = 0.02, X.shape[0]
    ours = E.LogisticLasso(lam=lam, fit_intercept=False, **TIGHT).fit(X, y)
    theirs = _quiet_fit(
        sk.LogisticRegression(l1_ratio=1.0, C=1 / (lam * m), solver="liblinear", fit_intercept=False, tol=1e-12,
                              max_iter=100_000), X, y)  # fmt: skip
    np.testing.assert_allclose(ours.coef_, theirs.coef_.ravel(), rtol=0, atol=1e-6)
    assert ours.intercept_ == 0.0


GROUPS = [[0, 1, 2], [3, 4], [5, 6, 7, 8], [9, 10, 11]]


def _kkt(X, w, grad, lam, groups):
    """Largest violation of the group lasso's optimality conditions, given the loss gradient in w.

    Zero group: ||grad_g|| <= lam sqrt|g|; non-zero group: -grad_g = lam sqrt|g| w_g/||w_g||.
    """
    worst, n_zero = 0.0, 0
    for g in groups:
        lg = lam * np.sqrt(len(g))
        if np.all(w[g] == 0):
            n_zero += 1
            worst = max(worst, np.linalg.norm(grad[g]) - lg)
        else:
            worst = max(worst, np.abs(grad[g] + lg * w[g] / np.linalg.norm(w[g])).max())
    return worst, n_zero


def test_group_lasso_satisfies_its_kkt_conditions(reg):
    X, y = reg
    m = X.shape[0]
    est = E.GroupLasso(lam=0.3, groups=GROUPS, **TIGHT).fit(X, y)
    r = X @ est.coef_ + est.intercept_ - y
    assert abs(r.mean()) < 1e-12  # the intercept's condition
    worst, n_zero = _kkt(X, est.coef_, X.T @ r / m, 0.3, GROUPS)
    assert 0 < n_zero < len(GROUPS)  # both kinds of group are checked
    assert worst < 1e-7


def test_logistic_group_lasso_satisfies_its_kkt_conditions(clf):
    X, y = clf
    X = np.hstack([X, X[:, :4] * 0.5])  # 12 columns
    m = X.shape[0]
    est = E.LogisticGroupLasso(lam=0.05, groups=GROUPS, **TIGHT).fit(X, y)
    pr = 1 / (1 + np.exp(-(X @ est.coef_ + est.intercept_)))
    assert abs((pr - y).mean()) < 1e-8
    worst, n_zero = _kkt(X, est.coef_, X.T @ (pr - y) / m, 0.05, GROUPS)
    assert 0 < n_zero < len(GROUPS)
    assert worst < 1e-6


def test_logistic_fit_on_an_offset_design_is_centred_and_exact():
    """The module docs: uncentred, not converged after 2000 iterations; centred, under 200, and optimal."""
    rng = np.random.default_rng(0)
    X = rng.normal(100.0, 1.0, (100, 2))
    y = (X[:, 0] - 100 + 0.5 * rng.standard_normal(100) > 0).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nr.solvers.ConvergenceWarning)
        raw = nr.fit_linear(X, y, nr.L1(0.01), "logistic", max_iter=2000)
    assert not raw.converged
    est = E.LogisticLasso(lam=0.01, tol=1e-12).fit(X, y)
    assert est.n_iter_ < 200
    pr = 1 / (1 + np.exp(-(X @ est.coef_ + est.intercept_)))  # optimality on the original X
    assert abs((pr - y).mean()) < 1e-9
    g = X.T @ (pr - y) / X.shape[0]
    assert np.all(est.coef_ != 0)
    np.testing.assert_allclose(g, -0.01 * np.sign(est.coef_), rtol=0, atol=1e-7)


def test_group_lasso_of_singletons_is_the_lasso(reg, clf):
    X, y = reg
    g = E.GroupLasso(lam=0.1, groups=1, **TIGHT).fit(X, y)
    theirs = sk.Lasso(alpha=0.1, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(g.coef_, theirs.coef_, rtol=0, atol=1e-9)
    Xc, yc = clf
    gl = E.LogisticGroupLasso(lam=0.02, groups=1, **TIGHT).fit(Xc, yc)
    ll = E.LogisticLasso(lam=0.02, **TIGHT).fit(Xc, yc)
    np.testing.assert_allclose(gl.coef_, ll.coef_, rtol=0, atol=1e-7)


def _one_se_by_loop(alphas, mse_path):
    """The largest alpha whose mean CV error is within one standard error of the best."""
    mean = mse_path.mean(axis=1)
    se = mse_path.std(axis=1, ddof=1) / np.sqrt(mse_path.shape[1])
    best = int(np.argmin(mean))
    chosen = None
    for a, mu in zip(alphas, mean, strict=True):
        if mu <= mean[best] + se[best] and (chosen is None or a > chosen):
            chosen = a
    return chosen


def test_lasso_cv_matches_sklearn_lasso_cv_and_the_one_se_rule(reg):
    X, y = reg
    ours = E.LassoCV(n_lams=25, cv=KFold(5), tol=1e-10).fit(X, y)
    theirs = sk.LassoCV(alphas=25, eps=1e-3, cv=KFold(5), tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.lams_, theirs.alphas_, rtol=1e-12)  # the same default grid
    np.testing.assert_allclose(2 * ours.cv_scores_.T, theirs.mse_path_, rtol=1e-6)
    assert ours.lam_ == theirs.alpha_
    assert ours.lam_1se_ == _one_se_by_loop(theirs.alphas_, theirs.mse_path_)
    assert ours.lam_1se_ > ours.lam_  # the rule did something here
    # glmnet's cvsd (cran/glmnet R/cv.elnet.R) on equal folds: sqrt(mean sq. deviation / (K - 1)) = sd(ddof=1)/sqrt(K)
    mse = theirs.mse_path_
    glmnet_sd = np.sqrt(((mse - mse.mean(axis=1, keepdims=True)) ** 2).mean(axis=1) / (5 - 1))
    np.testing.assert_allclose(2 * ours.cv_se_, glmnet_sd, rtol=1e-6)
    # the overflow-safe standard error is the plain formula bit for bit in the normal range
    np.testing.assert_array_equal(ours.cv_se_, ours.cv_scores_.std(axis=0, ddof=1) / np.sqrt(5))
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-6)
    one_se = E.LassoCV(lams=ours.lams_, cv=KFold(5), rule="1se", tol=1e-10).fit(X, y)
    direct = E.Lasso(lam=ours.lam_1se_, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(one_se.coef_, direct.coef_, rtol=0, atol=1e-9)


def test_elastic_net_cv_matches_sklearn(reg):
    X, y = reg
    lams = np.geomspace(1.0, 0.005, 12)
    ours = E.ElasticNetCV(l1_ratio=0.5, lams=lams, cv=KFold(4), tol=1e-10).fit(X, y)
    theirs = sk.ElasticNetCV(l1_ratio=0.5, alphas=lams, cv=KFold(4), tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(2 * ours.cv_scores_.T, theirs.mse_path_, rtol=1e-6)
    assert ours.lam_ == theirs.alpha_


def test_logistic_lasso_cv_matches_per_fold_liblinear_log_loss(clf):
    X, y = clf
    lams = np.geomspace(0.2, 0.005, 6)
    folds = list(StratifiedKFold(3).split(X, y))
    ours = E.LogisticLassoCV(lams=lams, cv=StratifiedKFold(3), fit_intercept=False, tol=1e-10).fit(X, y)
    scores = np.empty((3, lams.size))
    for k, (tr, te) in enumerate(folds):
        for j, lam in enumerate(lams):
            sk_m = sk.LogisticRegression(l1_ratio=1.0, C=1 / (lam * tr.size), solver="liblinear",
                                         fit_intercept=False, tol=1e-12, max_iter=100_000)  # fmt: skip
            m = _quiet_fit(sk_m, X[tr], y[tr])
            scores[k, j] = log_loss(y[te], m.predict_proba(X[te]))
    np.testing.assert_allclose(ours.cv_scores_, scores, rtol=1e-5)
    assert ours.lam_ == lams[np.argmin(scores.mean(axis=0))]


# ----------------------------------------------------------------------------------------
# 2. scikit-learn's own estimator checks, every public estimator

FAST = {"tol": 1e-3}  # the checks test the interface, the oracles above the numbers
FAST_CV = {"n_lams": 2, "eps": 0.1, "cv": 2, **FAST}
ALL_ESTIMATORS = [
    E.Lasso(lam=0.1, **FAST),
    E.ElasticNet(lam=0.1, **FAST),
    E.GroupLasso(lam=0.1, groups=1, **FAST),
    E.LassoCV(**FAST_CV),
    E.ElasticNetCV(**FAST_CV),
    E.GroupLassoCV(groups=1, **FAST_CV),
    E.LogisticLasso(lam=0.05, **FAST),
    E.LogisticElasticNet(lam=0.05, **FAST),
    E.LogisticGroupLasso(lam=0.05, groups=1, **FAST),
    E.LogisticLassoCV(**FAST_CV),
    E.LogisticElasticNetCV(**FAST_CV),
    E.LogisticGroupLassoCV(groups=1, **FAST_CV),
]


def test_every_public_estimator_is_checked():
    public = {n for n in E.__all__ if isinstance(getattr(E, n), type) and issubclass(getattr(E, n), E.BaseEstimator)}
    assert public == {type(e).__name__ for e in ALL_ESTIMATORS}
    from sklearn.base import ClassifierMixin, RegressorMixin  # the module docs: score is scikit-learn's

    assert all(getattr(E, n).score in (RegressorMixin.score, ClassifierMixin.score) for n in public)


@parametrize_with_checks(ALL_ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    if "sample_weight_equivalence" in getattr(check, "func", check).__name__:
        # this check compares weighted and repeated-row predictions to rtol 1e-7: solve to match
        estimator = clone(estimator).set_params(tol=1e-8, max_iter=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", E.ConvergenceWarning)
        check(estimator)


# ----------------------------------------------------------------------------------------
# 3. Pipeline and GridSearchCV


def test_grid_search_over_lam_in_a_pipeline_matches_sklearn(reg):
    X, y = reg
    X = X * np.array([1.0, 10.0, 0.1] * 4)  # scales for the StandardScaler to undo
    grid = [0.01, 0.1, 0.3, 1.0]
    cv = KFold(4, shuffle=True, random_state=0)
    ours = GridSearchCV(make_pipeline(StandardScaler(), E.Lasso(tol=1e-10)), {"lasso__lam": grid}, cv=cv).fit(X, y)
    theirs = GridSearchCV(make_pipeline(StandardScaler(), sk.Lasso(tol=1e-12)), {"lasso__alpha": grid}, cv=cv).fit(
        X, y
    )
    assert ours.best_params_["lasso__lam"] == theirs.best_params_["lasso__alpha"]
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], rtol=1e-7
    )
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=0, atol=1e-7)


# ----------------------------------------------------------------------------------------
# 4. sample weights


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=20, max_size=20).filter(lambda s: sum(v > 0 for v in s) >= 6))
def test_integer_sample_weights_equal_repeated_rows(weights):
    d = make_sparse_regression(20, 5, 2, noise=0.5, seed=1)
    s = np.array(weights)
    for est in (E.Lasso(lam=0.05, **TIGHT), E.ElasticNet(lam=0.05, l1_ratio=0.4, **TIGHT),
                E.GroupLasso(lam=0.05, groups=[[0, 1], [2, 3, 4]], **TIGHT)):  # fmt: skip
        weighted = _quiet_fit(est, d.X, d.y, sample_weight=s)
        rep_X, rep_y = np.repeat(d.X, s, axis=0), np.repeat(d.y, s)
        repeated = _quiet_fit(type(est)(**est.get_params()), rep_X, rep_y)
        np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=0, atol=1e-8)
        assert abs(weighted.intercept_ - repeated.intercept_) < 1e-8


def test_sample_weights_match_sklearn_and_zero_weight_removes_the_row(reg):
    X, y = reg
    s = np.random.default_rng(3).uniform(0.0, 2.0, X.shape[0])
    s[:5] = 0.0
    ours = E.Lasso(lam=0.05, **TIGHT).fit(X, y, sample_weight=s)
    theirs = sk.Lasso(alpha=0.05, tol=1e-14, max_iter=100_000).fit(X, y, sample_weight=s)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-8)
    dropped = E.Lasso(lam=0.05, **TIGHT).fit(X[5:], y[5:], sample_weight=s[5:])
    np.testing.assert_allclose(ours.coef_, dropped.coef_, rtol=0, atol=1e-10)
    # a weighted CV: zero-weight rows change neither the fits nor the (weighted) validation losses
    lams = [0.3, 0.1, 0.03]
    w = np.r_[np.ones(40), 2 * np.ones(40)]
    w[::9] = 0.0
    cv_w = E.LassoCV(lams=lams, cv=KFold(3), tol=1e-12).fit(X, y, sample_weight=w)
    for k, (tr, te) in enumerate(KFold(3).split(X)):
        for j, lam in enumerate(lams):
            keep = w[tr] > 0
            f = sk.Lasso(alpha=lam, tol=1e-14, max_iter=100_000)
            f.fit(X[tr][keep], y[tr][keep], sample_weight=w[tr][keep])
            expected = np.average(0.5 * (f.predict(X[te]) - y[te]) ** 2, weights=w[te])
            assert abs(cv_w.cv_scores_[k, j] - expected) < 1e-9 * expected


# ----------------------------------------------------------------------------------------
# 5. sparse X


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize(
    "est",
    [E.Lasso(lam=0.05), E.ElasticNet(lam=0.05), E.GroupLasso(lam=0.05, groups=3),
     E.LassoCV(lams=[0.3, 0.1, 0.03], cv=3), E.LogisticLasso(lam=0.02)],  # fmt: skip
    ids=type,
)
def test_sparse_x_gives_the_dense_fit(reg, clf, fmt, est):
    X, y = clf if isinstance(est, E.ClassifierMixin) else reg
    X = np.where(np.abs(X) < 0.5, 0.0, X)  # really sparse
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    dense = _quiet_fit(type(est)(**est.get_params()), X, y)
    sparse = _quiet_fit(type(est)(**est.get_params()), Xs, y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-12, atol=1e-14)  # CSC densifies F-ordered
    assert abs(sparse.intercept_ - dense.intercept_) < 1e-12
    np.testing.assert_allclose(sparse.predict(Xs), dense.predict(X), rtol=1e-12)


def test_sparse_x_above_the_size_limit_is_refused_by_name(monkeypatch, reg):
    X, y = reg
    monkeypatch.setattr(E, "MAX_DENSE_BYTES", 1000)
    with pytest.raises(ValueError, match=r"sparse matrix of shape \(80, 12\).*MAX_DENSE_BYTES"):
        E.Lasso(lam=0.1).fit(sp.csr_matrix(X), y)
    E.Lasso(lam=0.1).fit(X, y)  # dense X is not limited


# ----------------------------------------------------------------------------------------
# 6. cv, groups, refit, n_jobs


def test_cv_integer_is_kfold_and_stratified_kfold_for_classifiers(reg, clf):
    X, y = reg
    a = E.LassoCV(lams=[0.3, 0.1, 0.03], cv=4).fit(X, y)
    b = E.LassoCV(lams=[0.3, 0.1, 0.03], cv=KFold(4)).fit(X, y)
    np.testing.assert_array_equal(a.cv_scores_, b.cv_scores_)
    Xc, yc = clf
    a = E.LogisticLassoCV(lams=[0.1, 0.03], cv=3).fit(Xc, yc)
    b = E.LogisticLassoCV(lams=[0.1, 0.03], cv=StratifiedKFold(3)).fit(Xc, yc)
    c = E.LogisticLassoCV(lams=[0.1, 0.03], cv=KFold(3)).fit(Xc, yc)
    np.testing.assert_array_equal(a.cv_scores_, b.cv_scores_)
    assert not np.array_equal(a.cv_scores_, c.cv_scores_)  # the stratification matters here


def test_group_kfold_with_sample_groups_passed_to_fit(reg):
    X, y = reg
    sample_groups = np.arange(X.shape[0]) % 7
    lams = [0.3, 0.1, 0.03]
    ours = E.LassoCV(lams=lams, cv=GroupKFold(3), tol=1e-10).fit(X, y, groups=sample_groups)
    explicit = E.LassoCV(lams=lams, cv=list(GroupKFold(3).split(X, y, sample_groups)), tol=1e-10).fit(X, y)
    np.testing.assert_array_equal(ours.cv_scores_, explicit.cv_scores_)
    theirs = sk.LassoCV(alphas=lams, cv=list(GroupKFold(3).split(X, y, sample_groups)), tol=1e-12).fit(X, y)
    np.testing.assert_allclose(2 * ours.cv_scores_.T, theirs.mse_path_, rtol=1e-6)
    with pytest.raises(ValueError, match="groups"):
        E.LassoCV(lams=lams, cv=GroupKFold(3)).fit(X, y)  # the splitter needs them
    g = E.GroupLassoCV(groups=3, lams=lams, cv=GroupKFold(3), tol=1e-10).fit(X, y, groups=sample_groups)
    assert g.coef_.shape == (12,)


def test_groups_as_labels_index_lists_or_size_give_identical_fits(reg):
    X, y = reg
    labels = np.repeat(["a", "b", "c", "d"], 3)
    lists = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    fits = [E.GroupLasso(lam=0.2, groups=g).fit(X, y).coef_ for g in (labels, lists, 3, np.array(lists))]
    for f in fits[1:]:
        np.testing.assert_array_equal(f, fits[0])
    cvs = [E.GroupLassoCV(groups=g, lams=[0.5, 0.2, 0.05], cv=3).fit(X, y) for g in (labels, lists)]
    np.testing.assert_array_equal(cvs[0].cv_scores_, cvs[1].cv_scores_)
    np.testing.assert_array_equal(cvs[0].coef_, cvs[1].coef_)


def test_refit_false_chooses_without_a_model(reg):
    X, y = reg
    est = E.LassoCV(lams=[0.3, 0.1, 0.03], cv=3, refit=False).fit(X, y)
    assert est.lam_ in (0.3, 0.1, 0.03) and est.lam_1se_ >= est.lam_
    assert not hasattr(est, "coef_")
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_n_jobs_2_gives_the_n_jobs_1_results(reg):
    X, y = reg
    a = E.LassoCV(n_lams=8, cv=4, n_jobs=1).fit(X, y)
    with joblib.parallel_config(backend="threading"):  # the same dispatch, without loky's start-up (~10 s here)
        b = E.LassoCV(n_lams=8, cv=4, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(a.cv_scores_, b.cv_scores_)
    np.testing.assert_array_equal(a.coef_, b.coef_)


@pytest.mark.parametrize(
    "est", [E.Lasso(lam=0.05), E.GroupLasso(lam=0.05, groups=3), E.LogisticElasticNet(lam=0.02)], ids=type
)
def test_float32_stays_float32_and_near_the_float64_fit(reg, clf, est):
    X, y = clf if isinstance(est, E.ClassifierMixin) else reg
    f64 = type(est)(**est.get_params()).fit(X, y)
    f32 = type(est)(**est.get_params()).fit(X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32
    np.testing.assert_allclose(f32.coef_, f64.coef_, rtol=0, atol=1e-4)
    assert abs(f32.intercept_ - f64.intercept_) < 1e-4


# ----------------------------------------------------------------------------------------
# 7. bad input


@pytest.mark.parametrize(
    ("est", "exc", "match"),
    [
        (E.Lasso(lam=-1.0), ValueError, "lam"),
        (E.Lasso(lam=float("nan")), ValueError, "lam"),
        (E.Lasso(lam="big"), TypeError, "lam"),
        (E.ElasticNet(lam=0.1, l1_ratio=1.5), ValueError, "l1_ratio"),
        (E.ElasticNet(lam=0.1, l1_ratio=-0.1), ValueError, "l1_ratio"),
        (E.ElasticNetCV(l1_ratio=2.0, n_lams=3), ValueError, "l1_ratio"),
        (E.GroupLasso(lam=0.1), ValueError, "groups"),
        (E.GroupLasso(lam=0.1, groups=[[0, 1], [2]]), ValueError, "groups"),
        (E.GroupLasso(lam=0.1, groups=[0, 0, 1]), ValueError, "groups"),
        (E.GroupLasso(lam=0.1, groups=0), ValueError, "groups"),
        (E.GroupLassoCV(groups=[[0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], n_lams=3), ValueError, "groups"),
        (E.Lasso(fit_intercept="yes"), TypeError, "fit_intercept"),
        (E.Lasso(tol=-1.0), ValueError, "tol"),
        (E.Lasso(max_iter=0), ValueError, "max_iter"),
        (E.LassoCV(lams=[0.1, -0.1]), ValueError, "lams"),
        (E.LassoCV(n_lams=0), ValueError, "n_lams"),
        (E.LassoCV(eps=2.0), ValueError, "eps"),
        (E.LassoCV(rule="smallest"), ValueError, "rule"),
        (E.LassoCV(cv=1), ValueError, "n_splits|cv"),
    ],
    ids=repr,
)
def test_bad_parameters_raise_naming_the_argument(reg, est, exc, match):
    X, y = reg
    with pytest.raises(exc, match=match):
        est.fit(X, y)


def test_bad_data_raise_naming_the_argument(reg, clf):
    X, y = reg
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        E.Lasso().fit(Xn, y)
    with pytest.raises(ValueError, match="Input y contains infinity"):
        E.Lasso().fit(X, np.r_[np.inf, y[1:]])
    with pytest.raises(ValueError, match="sample_weight"):
        E.Lasso().fit(X, y, sample_weight=-np.ones(X.shape[0]))
    with pytest.raises(ValueError, match="(?i)sample.weight"):  # scikit-learn's check: "Sample weights ..."
        E.Lasso().fit(X, y, sample_weight=np.zeros(X.shape[0]))
    Xc, yc = clf
    y3 = yc.copy()
    y3[:10] = 2
    for est in (E.LogisticLasso(), E.LogisticLassoCV(n_lams=3)):
        with pytest.raises(ValueError, match="Only binary classification is supported.*OneVsRestClassifier"):
            est.fit(Xc, y3)
    with pytest.raises(ValueError, match="Unknown label type"):
        E.LogisticLasso().fit(Xc, yc + 0.5)
    with pytest.raises(NotFittedError):
        E.LogisticLasso().predict(Xc)


def test_one_vs_rest_wrapping_as_the_error_message_advises():
    from sklearn.datasets import load_iris
    from sklearn.multiclass import OneVsRestClassifier

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ovr = OneVsRestClassifier(E.LogisticLasso(lam=0.01)).fit(X, y)
    sk_ovr = OneVsRestClassifier(
        sk.LogisticRegression(l1_ratio=1.0, C=1 / (0.01 * X.shape[0]), solver="saga", tol=1e-10, max_iter=100_000)
    )
    _quiet_fit(sk_ovr, X, y)
    np.testing.assert_allclose(
        [e.coef_ for e in ovr.estimators_], [e.coef_.ravel() for e in sk_ovr.estimators_], rtol=0, atol=1e-4
    )
    assert ovr.score(X, y) > 0.85


# ----------------------------------------------------------------------------------------
# 8. scikit-learn is imported by normreg.estimators only


def test_import_normreg_does_not_import_sklearn_but_estimators_does():
    code = (
        "import sys, normreg, normreg.solvers, normreg.selection\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'sklearn'], 'sklearn imported'\n"
        "import normreg.estimators\n"
        "assert 'sklearn' in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


# ----------------------------------------------------------------------------------------
# 9. unscaled features: loud, before the solver spends its budget


def test_unscaled_features_warn_before_the_solver_runs(monkeypatch):
    X, y = load_breast_cancer(return_X_y=True)  # column scales span five orders of magnitude
    calls = []
    monkeypatch.setattr(E, "fit_linear", lambda *a, **k: calls.append(1) or nr.fit_linear(*a, **k))
    for est in (E.LogisticLasso(lam=0.01), E.LogisticLassoCV(n_lams=3), E.Lasso(lam=0.01)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", E.ConvergenceWarning)
            with pytest.raises(E.ConvergenceWarning, match=r"StandardScaler") as info:
                est.fit(X, y)
        assert "differ in scale by a factor of 2.15e+05" in str(info.value)  # the module docs' "about 2e5"
    assert calls == []  # the warning came before any solver iteration
    with warnings.catch_warnings():
        warnings.simplefilter("error", E.ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), E.LogisticLasso(lam=0.01)).fit(X, y)  # the fix: no warning
    assert pipe[-1].dual_gap_ >= 0 and pipe.score(X, y) > 0.95


# ----------------------------------------------------------------------------------------
# 10. review findings (each test failed on the code before its fix)


def test_cv_choice_is_scale_equivariant_at_extreme_y(reg):
    """y x 1e140 is within the solvers' range; the fold scores (~1e280) squared overflowed in
    ``std``, cv_se_ became inf and lam_1se_ silently lambda_max (2.52 instead of 0.080)."""
    X, y = reg
    base = E.LassoCV(n_lams=6, cv=3, tol=1e-10).fit(X, y)
    assert base.index_1se_ > 0  # the rule picks a point inside the grid
    for c in (1e140, 1e-140):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no overflow on the way
            big = E.LassoCV(n_lams=6, cv=3, tol=1e-10).fit(X, y * c)
        np.testing.assert_allclose(big.lams_, c * base.lams_, rtol=1e-12)
        np.testing.assert_allclose(big.cv_se_, c**2 * base.cv_se_, rtol=1e-6)
        assert (big.best_index_, big.index_1se_) == (base.best_index_, base.index_1se_)


def test_sample_weights_at_the_ends_of_the_float_range(reg):
    """Only the weights' ratios matter: their sum overflowing (1e307 each) gave NaN ("X must not
    contain NaN"), subnormal weights an infinite scale factor."""
    X, y = reg
    s = np.random.default_rng(5).uniform(0.5, 2.0, X.shape[0])
    ref = E.Lasso(lam=0.05, **TIGHT).fit(X, y, sample_weight=s)
    ref_cv = E.LassoCV(lams=[0.3, 0.1, 0.03], cv=3, tol=1e-12).fit(X, y, sample_weight=s)
    for c in (1e307, 1e-310):
        est = E.Lasso(lam=0.05, **TIGHT).fit(X, y, sample_weight=s * c)
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=0, atol=1e-10)
        assert abs(est.intercept_ - ref.intercept_) < 1e-10
        cv = E.LassoCV(lams=[0.3, 0.1, 0.03], cv=3, tol=1e-12).fit(X, y, sample_weight=s * c)
        np.testing.assert_allclose(cv.cv_scores_, ref_cv.cv_scores_, rtol=1e-8)


def test_a_fold_without_weight_is_refused_naming_sample_weight(reg):
    X, y = reg
    on_first = np.arange(X.shape[0]) < 27  # KFold(3)'s first validation set
    for w, part in ((np.where(on_first, 0.0, 1.0), "validation"), (np.where(on_first, 1.0, 0.0), "training")):
        with pytest.raises(ValueError, match=f"sample_weight is zero on every sample of the {part} set of fold 1"):
            E.LassoCV(lams=[0.3, 0.1], cv=KFold(3)).fit(X, y, sample_weight=w)  # was ZeroDivisionError


def test_refit_false_after_a_refit_leaves_no_stale_model(reg):
    X, y = reg
    est = E.LassoCV(lams=[0.3, 0.1, 0.03], cv=3).fit(X, y)
    est.set_params(refit=False).fit(X[:, :6], y)
    assert est.n_features_in_ == 6
    for attr in ("coef_", "intercept_", "n_iter_", "dual_gap_"):
        assert not hasattr(est, attr), attr
    with pytest.raises(NotFittedError):
        est.predict(X[:, :6])


def test_predict_proba_follows_classes_and_keeps_small_probabilities(reg):
    """String labels: column j is P(classes_[j]); probabilities far below eps are not rounded to 0
    (1 - sigmoid(40) was 0.0 exactly; predict_log_proba gave -40)."""
    from scipy.special import expit

    X, y = reg
    labels = np.where(y > 0, "yes", "no")
    est = E.LogisticLasso(lam=0.001, **TIGHT).fit(X, labels)
    assert list(est.classes_) == ["no", "yes"]
    Xt = 20 * X  # |x w + b| up to a few hundred: probabilities down to 1e-100 and below, not 0
    z = est.decision_function(Xt)
    assert 100 < np.abs(z).max() < 700
    P = est.predict_proba(Xt)
    np.testing.assert_allclose(P, np.column_stack((expit(-z), expit(z))), rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.log(P), est.predict_log_proba(Xt), rtol=1e-12, atol=1e-14)
    assert np.array_equal(est.predict(Xt), np.where(P[:, 1] > P[:, 0], "yes", "no"))
    sk_fit = _quiet_fit(sk.LogisticRegression(l1_ratio=1.0, C=1 / (0.001 * X.shape[0]), solver="saga",
                                              tol=1e-12, max_iter=100_000), X, labels)  # fmt: skip
    np.testing.assert_array_equal(sk_fit.classes_, est.classes_)


def test_weighted_lasso_cv_equals_sklearn_weighted_lasso_cv(reg):
    """sample_weight in the default grid (lambda_max of the weighted problem), in each fold's fit and
    in its validation loss: scikit-learn's LassoCV does all three the same way."""
    X, y = reg
    s = np.random.default_rng(4).uniform(0.0, 3.0, X.shape[0])
    ours = E.LassoCV(n_lams=8, cv=KFold(4), tol=1e-12).fit(X, y, sample_weight=s)
    theirs = sk.LassoCV(alphas=8, cv=KFold(4), tol=1e-14, max_iter=100_000).fit(X, y, sample_weight=s)
    np.testing.assert_allclose(ours.lams_, theirs.alphas_, rtol=1e-12)
    np.testing.assert_allclose(2 * ours.cv_scores_.T, theirs.mse_path_, rtol=1e-7)
    assert ours.best_index_ == int(np.argmin(theirs.mse_path_.mean(axis=1)))
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-8)


def test_ridge_end_default_grid_is_glmnets_and_sklearn_refuses_it(reg):
    X, y = reg
    ref = E.ElasticNetCV(l1_ratio=1e-3, n_lams=3, cv=2, refit=False).fit(X, y).lams_
    for r in (0.0, 1e-4):
        np.testing.assert_array_equal(E.ElasticNetCV(l1_ratio=r, n_lams=3, cv=2, refit=False).fit(X, y).lams_, ref)
    lasso_max = E.LassoCV(n_lams=3, cv=2, refit=False).fit(X, y).lams_[0]
    np.testing.assert_allclose(ref[0], 1000 * lasso_max, rtol=1e-12)
    with pytest.raises(ValueError, match="l1_ratio=0"):
        sk.ElasticNetCV(l1_ratio=0.0, cv=2).fit(X, y)


def test_scale_warning_at_the_ends_of_the_float_range():
    """The spread is measured without squaring raw entries: a column at 1e-170 beside one at 1 (its
    squares underflowed, so it counted as constant) warns; X x 1e200 raises the solver's ValueError
    naming X, with no overflow RuntimeWarning from the check before it."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) * np.array([1e-170, 1.0, 2.0])
    y = X[:, 1] + rng.standard_normal(40)
    with pytest.warns(E.ConvergenceWarning, match=r"factor of [0-9.]+e\+170.*StandardScaler"):
        _quiet_fit_except_scale(E.Lasso(lam=0.01), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="X is too large"):
            E.Lasso(lam=0.01).fit(X[:, 1:] * 1e200, y)
        E.Lasso(lam=0.01).fit(X[:, 1:] * np.array([4e-3, 1.0]), y)  # a spread of a few hundred: no warning


def _quiet_fit_except_scale(est, X, y):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not converge")
        return est.fit(X, y)


def test_feature_groups_passed_to_fit_by_mistake_are_explained(reg):
    """``fit(X, y, groups=...)`` of a ...CV is the samples' groups (GroupKFold); a reader who passes
    the features' groups there gets an error that says where they go."""
    X, y = reg
    with pytest.raises(ValueError, match=r"to the constructor.*GroupLassoCV\(groups=.*samples' groups"):
        E.GroupLassoCV(n_lams=3).fit(X, y, groups=np.repeat([0, 1, 2, 3], 3))


def test_lasso_cv_on_repeated_rows_converges():
    """The data of scikit-learn's sample-weight-equivalence check for a CV estimator (rows repeated by
    integer weights, LeaveOneGroupOut folds): every (fold, lambda) fit converges well within max_iter.
    891ccbe's gram_active_set stalled there at max_iter=10000 (81 iterations before; reverted in 30f48aa)."""
    from sklearn.model_selection import LeaveOneGroupOut

    rng = np.random.RandomState(42)
    X, y, sw = rng.rand(15, 30), rng.randint(0, 3, size=15).astype(float), rng.randint(0, 5, size=15)
    Xr, yr = np.vstack([X.repeat(sw, axis=0), X, X]), np.r_[y.repeat(sw), y, y]
    folds = list(LeaveOneGroupOut().split(Xr, groups=np.r_[np.zeros(sw.sum()), np.ones(15), 2 * np.ones(15)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", E.ConvergenceWarning)
        E.LassoCV(n_lams=2, eps=0.1, cv=folds, tol=1e-3, max_iter=500).fit(Xr, yr)


def test_peak_memory_of_a_sparse_fit_is_about_three_dense_copies():
    """The module docs: densified, a fit's peak memory is about 3 times 8mp (here 3.0)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    m, p = 2000, 200
    X = sp.random(m, p, density=0.05, random_state=0, format="csr")
    y = rng.standard_normal(m)
    tracemalloc.start()
    try:
        E.Lasso(lam=0.05).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 2.5 < peak / (8 * m * p) < 3.5
