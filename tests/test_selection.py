"""Regularization paths and cross-validation against scikit-learn (lasso_path, enet_path,
LassoCV on the same folds, LogisticRegression per fold), ridge's closed form, and the
definitions of lambda_max, the standard error and the one-standard-error rule."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import normreg as nr
from normreg.datasets import make_sparse_classification, make_sparse_regression
from normreg.selection import kfold, lambda_grid, lambda_max, regularization_path, select_lambda
from normreg.solvers import ConvergenceWarning, fit_linear

TIGHT = dict(tol=1e-12, max_iter=100_000)


@pytest.fixture(scope="module")
def data():
    d = make_sparse_regression(120, 25, 5, noise=1.0, correlation=0.3, intercept=3.0, seed=21)
    return d.X, d.y


def _lam_max(X, y):
    return np.abs((X - X.mean(0)).T @ (y - y.mean())).max() / len(y)


def test_default_grid_starts_at_lambda_max_where_every_coefficient_is_zero(data):
    X, y = data
    path = regularization_path(X, y, nr.L1, n_lams=20, eps=1e-2, **TIGHT)
    lm = _lam_max(X, y)
    assert path.lams[0] == pytest.approx(lm, rel=1e-12)
    assert path.lams[-1] == pytest.approx(1e-2 * lm, rel=1e-12)
    np.testing.assert_allclose(np.diff(np.log(path.lams)), np.log(1e-2) / 19, rtol=1e-10)
    assert path.coefs.shape == (20, X.shape[1]) and path.intercepts.shape == (20,)
    assert np.all(path.coefs[0] == 0) and path.intercepts[0] == pytest.approx(y.mean())
    assert np.count_nonzero(path.coefs[1]) >= 1
    assert path.converged.all()
    # the lasso's active set only grows along this (well-conditioned) path, down to the small lambdas
    assert np.count_nonzero(path.coefs[-1]) > np.count_nonzero(path.coefs[5])


def test_lasso_path_matches_sklearn(data):
    from sklearn.linear_model import lasso_path

    X, y = data
    lams = lambda_grid(_lam_max(X, y), 30, 1e-3)
    path = regularization_path(X, y, nr.L1, lams, **TIGHT)
    # scikit-learn's path has no intercept: give it centered data (what ours does internally)
    _, sk_coefs, _ = lasso_path(X - X.mean(0), y - y.mean(), alphas=lams, tol=1e-14, max_iter=1_000_000)
    scale = np.abs(sk_coefs).max()
    np.testing.assert_allclose(path.coefs, sk_coefs.T, rtol=1e-6, atol=1e-7 * scale)
    np.testing.assert_allclose(path.intercepts, y.mean() - path.coefs @ X.mean(0), rtol=1e-12)


def test_elastic_net_path_matches_sklearn_and_lambda_max_scales_with_l1_ratio(data):
    from sklearn.linear_model import enet_path

    X, y = data
    r = 0.4
    path = regularization_path(X, y, lambda lam: nr.ElasticNet(lam, r), n_lams=15, eps=1e-2, **TIGHT)
    assert path.lams[0] == pytest.approx(_lam_max(X, y) / r, rel=1e-12)
    assert np.all(path.coefs[0] == 0) and np.count_nonzero(path.coefs[1]) >= 1
    _, sk_coefs, _ = enet_path(X - X.mean(0), y - y.mean(), l1_ratio=r, alphas=path.lams, tol=1e-14,
                               max_iter=1_000_000)
    np.testing.assert_allclose(path.coefs, sk_coefs.T, rtol=1e-6, atol=1e-7 * np.abs(sk_coefs).max())


def test_ridge_path_matches_closed_form(data):
    X, y = data
    m, p = X.shape
    lams = np.array([10.0, 1.0, 0.1, 0.01])
    path = regularization_path(X, y, nr.L2, lams, **TIGHT)
    Xc, yc = X - X.mean(0), y - y.mean()
    for lam, coef in zip(lams, path.coefs, strict=True):
        closed = np.linalg.solve(Xc.T @ Xc / m + lam * np.eye(p), Xc.T @ yc / m)
        np.testing.assert_allclose(coef, closed, rtol=1e-7, atol=1e-9)


def test_group_lasso_and_logistic_lambda_max_are_exact_thresholds():
    d = make_sparse_regression(100, 6, 2, noise=0.5, seed=5)
    groups = [[0, 1], [2, 3, 4], [5]]
    factory = lambda lam: nr.GroupLasso(lam, groups)  # noqa: E731
    lm = lambda_max(d.X, d.y, factory)
    g = (d.X - d.X.mean(0)).T @ (d.y - d.y.mean()) / len(d.y)
    assert lm == pytest.approx(max(np.linalg.norm(g[gr]) / np.sqrt(len(gr)) for gr in groups), rel=1e-12)
    assert np.all(fit_linear(d.X, d.y, factory(1.001 * lm), **TIGHT).coef == 0)
    assert np.count_nonzero(fit_linear(d.X, d.y, factory(0.99 * lm), **TIGHT).coef) > 0
    c = make_sparse_classification(150, 6, 2, seed=5)
    lmc = lambda_max(c.X, c.y, nr.L1, loss="logistic")
    assert lmc == pytest.approx(np.abs(c.X.T @ (c.y - c.y.mean())).max() / len(c.y), rel=1e-12)
    assert np.all(fit_linear(c.X, c.y, nr.L1(1.001 * lmc), loss="logistic", **TIGHT).coef == 0)
    assert np.count_nonzero(fit_linear(c.X, c.y, nr.L1(0.99 * lmc), loss="logistic", **TIGHT).coef) > 0


def test_warm_starts_save_iterations_and_give_the_cold_answers(data):
    X, y = data
    lams = lambda_grid(_lam_max(X, y), 40, 1e-3)
    # FISTA: warm starts save most iterations; the working-set solver, whose iterations are
    # on small working sets, saves fewer of them (and most of its passes over X)
    for solver, bound in (("fista", 0.6), ("auto", 0.8)):
        path = regularization_path(X, y, nr.L1, lams, tol=1e-6, solver=solver)
        cold = [fit_linear(X, y, nr.L1(lam), tol=1e-6, solver=solver) for lam in lams]
        assert path.n_iters.sum() < bound * sum(c.n_iter for c in cold)
        np.testing.assert_allclose(path.coefs, [c.coef for c in cold], rtol=1e-4, atol=1e-4)


def test_path_rejects_bad_grids_and_factories(data):
    X, y = data
    with pytest.raises(ValueError, match="lams must be strictly decreasing"):
        regularization_path(X, y, nr.L1, [0.1, 0.2, 0.05])
    with pytest.raises(ValueError, match="lams must be strictly decreasing"):
        regularization_path(X, y, nr.L1, [0.1, 0.1])
    with pytest.raises(ValueError, match="lams must be >= 0"):
        regularization_path(X, y, nr.L1, [0.1, -0.2])
    with pytest.raises(ValueError, match="lams must not contain NaN"):
        regularization_path(X, y, nr.L1, [0.1, np.nan])
    with pytest.raises(TypeError, match="penalty_factory must be a callable"):
        regularization_path(X, y, 0.1)
    with pytest.raises(TypeError, match=r"penalty_factory\(1.0\) must be a normreg penalty"):
        regularization_path(X, y, lambda lam: lam)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        regularization_path(X, y, nr.L1, max_iter=0)
    with pytest.raises(ValueError, match="y must have one entry per row of X"):
        regularization_path(X, y[:10], nr.L1)
    with pytest.warns(ConvergenceWarning, match="lambdas stopped before reaching tol, at max_iter=2"):
        res = regularization_path(X, y, nr.L1, n_lams=5, eps=0.01, tol=1e-12, max_iter=2)
    assert not res.converged.all()


# --------------------------------------------------------------------------- cross-validation


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 60), k=st.integers(2, 10), seed=st.integers(0, 1000))
def test_kfold_partitions_the_samples(m, k, seed):
    k = min(k, m)
    folds = kfold(m, k, seed)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(m))
    sizes = [len(te) for _, te in folds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    for tr, te in folds:
        assert np.intersect1d(tr, te).size == 0 and tr.size + te.size == m
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, kfold(m, k, seed), strict=True))


def test_select_lambda_agrees_with_lassocv_on_the_same_folds(data):
    from sklearn.linear_model import LassoCV
    from sklearn.model_selection import KFold

    X, y = data
    folds = list(KFold(5, shuffle=True, random_state=0).split(X))
    lams = lambda_grid(_lam_max(X, y), 25, 1e-3)
    ours = select_lambda(X, y, nr.L1, lams, cv=folds, **TIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = LassoCV(alphas=lams, cv=folds, tol=1e-14, max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(sk.alphas_, lams, rtol=1e-14)
    # scikit-learn reports the mean squared error; the book's squared loss has the 1/2
    np.testing.assert_allclose(2 * ours.fold_scores.T, sk.mse_path_, rtol=1e-6)
    np.testing.assert_allclose(2 * ours.mean_scores, sk.mse_path_.mean(axis=1), rtol=1e-6)
    assert ours.best_lam == sk.alpha_
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(ours.folds, folds, strict=True))


def test_standard_errors_and_one_standard_error_rule(data):
    X, y = data
    res = select_lambda(X, y, nr.L1, n_lams=30, cv=6, seed=3, tol=1e-8)
    K = len(res.folds)
    assert res.fold_scores.shape == (K, 30) and K == 6
    np.testing.assert_allclose(res.mean_scores, res.fold_scores.mean(axis=0), rtol=1e-14)
    se = np.sqrt(((res.fold_scores - res.mean_scores) ** 2).sum(axis=0) / (K - 1)) / np.sqrt(K)
    np.testing.assert_allclose(res.std_errors, se, rtol=1e-12)
    b = res.best_index
    assert res.mean_scores[b] == res.mean_scores.min() and res.best_lam == res.lams[b]
    threshold = res.mean_scores[b] + res.std_errors[b]
    i = res.index_1se
    assert res.mean_scores[i] <= threshold and np.all(res.mean_scores[:i] > threshold)
    assert res.lam_1se == res.lams[i] >= res.best_lam
    # seeded: the same call gives the same folds and scores
    again = select_lambda(X, y, nr.L1, n_lams=30, cv=6, seed=3, tol=1e-8)
    np.testing.assert_array_equal(again.fold_scores, res.fold_scores)


def test_select_lambda_logistic_scores_match_sklearn_per_fold():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    d = make_sparse_classification(150, 8, 3, seed=9)
    X, y = d.X, d.y
    lams = np.array([0.3, 0.1, 0.03, 0.01])
    res = select_lambda(X, y, nr.L2, lams, cv=3, seed=1, loss="logistic", **TIGHT)
    for k, (tr, te) in enumerate(res.folds):
        for j, lam in enumerate(lams):
            sk = LogisticRegression(C=1 / (lam * len(tr)), solver="newton-cholesky", tol=1e-12).fit(X[tr], y[tr])
            expected = log_loss(y[te], sk.predict_proba(X[te])[:, 1])
            assert res.fold_scores[k, j] == pytest.approx(expected, rel=1e-7)


def test_select_lambda_rejects_bad_cv(data):
    X, y = data
    with pytest.raises(ValueError, match="cv must be <= 120"):
        select_lambda(X, y, nr.L1, cv=500)
    with pytest.raises(ValueError, match="cv must be >= 2"):
        select_lambda(X, y, nr.L1, cv=1)
    with pytest.raises(TypeError, match="cv must be a number of folds or an iterable"):
        select_lambda(X, y, nr.L1, cv="kfold")
    with pytest.raises(ValueError, match=r"cv\[0\] test indices must lie in"):
        select_lambda(X, y, nr.L1, cv=[(np.arange(10), np.array([500])), (np.arange(10), np.arange(3))])
    with pytest.raises(ValueError, match="lams must be strictly decreasing"):
        select_lambda(X, y, nr.L1, [0.01, 0.1])


# ------------------------------------------------------------- figures (normreg.viz.selection)


def test_figures_of_chapter_6_draw_the_results(data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from normreg.viz.selection import plot_cv_curve, plot_lambda_vs_samples, plot_paths, plot_train_test_vs_lambda

    X, y = data
    paths = {"lasso": regularization_path(X, y, nr.L1, n_lams=10, eps=1e-2),
             "ridge": regularization_path(X, y, nr.L2, np.geomspace(10, 0.01, 10))}
    fig, d = plot_paths(paths, informative=np.arange(X.shape[1]) < 5)
    np.testing.assert_array_equal(d["lasso"]["coefs"], paths["lasso"].coefs)
    assert [len(ax.lines) for ax in fig.axes] == [X.shape[1] + 1] * 2  # one line per coefficient, plus y = 0
    assert all(ax.get_xlim()[0] > ax.get_xlim()[1] for ax in fig.axes)  # lambda decreases to the right
    cv = select_lambda(X, y, nr.L1, n_lams=12, eps=1e-2, cv=4)
    fig2, d2 = plot_cv_curve(cv)
    assert d2["best_lam"] == cv.best_lam and d2["lam_1se"] == cv.lam_1se
    vlines = [ln.get_xdata()[0] for ln in fig2.axes[0].lines if len(set(ln.get_xdata())) == 1]
    assert cv.best_lam in vlines and cv.lam_1se in vlines
    fig3, d3 = plot_train_test_vs_lambda(cv.lams, cv.mean_scores, cv.mean_scores * 2, marks={"best": cv.best_lam})
    np.testing.assert_array_equal(d3["test"], cv.mean_scores * 2)
    fig4, d4 = plot_lambda_vs_samples([50, 100], {"best": [0.2, 0.1]}, reference=[0.3, 0.2])
    assert d4["best"].tolist() == [0.2, 0.1] and fig4.axes[0].get_xscale() == "log"
    for f in (fig, fig2, fig3, fig4):
        for ax in f.axes:
            assert ax.get_xlabel() and ax.get_ylabel()
        plt.close(f)
    with pytest.raises(TypeError, match="cv must be a CVResult"):
        plot_cv_curve(paths["lasso"])
    with pytest.raises(ValueError, match="same length"):
        plot_train_test_vs_lambda([1.0, 0.5], [1.0], [1.0])


def test_a_penalty_instead_of_a_factory_gets_a_clear_error(data):
    # issue 10 item 26: this used to fail with "... got float64"
    X, y = data
    for call in (regularization_path, select_lambda):
        with pytest.raises(TypeError, match=r"penalty_factory must be a callable lam -> penalty.*got the penalty L1"):
            call(X, y, nr.L1(0.1), n_lams=3)
    with pytest.raises(TypeError, match=r"lambda lam: nr.GroupLasso\(lam, groups\)"):
        regularization_path(X, y, nr.GroupLasso(0.1, [list(range(X.shape[1]))]), n_lams=3)


def test_path_warning_names_a_stalled_gap():
    # a tol below the rounding floor of the gap: the path must not claim max_iter was hit
    d = make_sparse_regression(200, 50, 10, noise=0.5, correlation=0.8, seed=12)
    with pytest.warns(ConvergenceWarning, match="rounding floor"):
        res = regularization_path(d.X, d.y, lams=[0.05, 0.02], tol=1e-17, max_iter=1_000_000)
    assert not res.converged.any()
