"""fit_linear against independent oracles: scikit-learn (Lasso, ElasticNet, Ridge,
LogisticRegression), closed forms (ridge, least squares), the optimality (KKT) conditions
written out with NumPy, finite differences, and the documented behaviour of each solver."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

import normreg as nr
from normreg.datasets import make_sparse_classification, make_sparse_regression
from normreg.solvers import (
    ConvergenceWarning,
    _Problem,
    _solve,
    fit_linear,
    gradient,
    lipschitz_constant,
    objective,
)

TIGHT = dict(tol=1e-12, max_iter=200_000)


# ---------------------------------------------------------------------------------- data


def _diabetes():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def _generated():
    d = make_sparse_regression(150, 30, 6, noise=0.5, correlation=0.3, intercept=2.0, seed=3)
    return d.X, d.y


def _wide():
    d = make_sparse_regression(40, 90, 5, noise=0.3, intercept=-1.0, seed=4)
    return d.X, d.y


DATASETS = {"diabetes": _diabetes, "generated": _generated, "wide": _wide}


@pytest.fixture(scope="module", params=list(DATASETS))
def reg_data(request):
    X, y = DATASETS[request.param]()
    return request.param, X, y


def lam_max(X, y, fit_intercept=True):
    yc = y - y.mean() if fit_intercept else y
    Xc = X - X.mean(0) if fit_intercept else X
    return np.abs(Xc.T @ yc).max() / len(y)


def book_objective(X, y, w, b, pen_value):
    """(1/2m)||Xw + b - y||^2 + penalty, written out independently of the package."""
    return 0.5 * np.mean((X @ w + b - y) ** 2) + pen_value


def assert_coef_close(ours, ref, rtol=1e-6):
    scale = max(np.abs(ref).max(), 1e-12)
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=rtol * scale)


# ---------------------------------------------------------------------- scikit-learn oracles


@pytest.mark.parametrize("frac", [0.6, 0.1, 0.01])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lasso_matches_sklearn(reg_data, frac, fit_intercept):
    from sklearn.linear_model import Lasso

    name, X, y = reg_data
    alpha = frac * lam_max(X, y, fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn may say it could not reach tol=1e-14
        sk = Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-14, max_iter=1_000_000).fit(X, y)
    f_sk = book_objective(X, y, sk.coef_, sk.intercept_, alpha * np.abs(sk.coef_).sum())
    res = fit_linear(X, y, nr.L1(alpha), fit_intercept=fit_intercept, **TIGHT)
    assert res.converged
    assert_coef_close(res.coef, sk.coef_)
    assert res.intercept == pytest.approx(sk.intercept_, rel=1e-6, abs=1e-8 * (1 + abs(y).max()))
    f_ours = book_objective(X, y, res.coef, res.intercept, alpha * np.abs(res.coef).sum())
    assert res.objective == pytest.approx(f_ours, rel=1e-12)
    assert abs(f_ours - f_sk) <= 1e-8 * f_sk
    # exact zeros where scikit-learn has them
    np.testing.assert_array_equal(res.coef == 0, sk.coef_ == 0)


@pytest.mark.parametrize("solver", ["ista", "fista"])
@pytest.mark.parametrize("r", [0.2, 0.7])
def test_elastic_net_matches_sklearn(reg_data, solver, r):
    from sklearn.linear_model import ElasticNet

    name, X, y = reg_data
    alpha = 0.05 * lam_max(X, y) / r
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = ElasticNet(alpha=alpha, l1_ratio=r, tol=1e-14, max_iter=1_000_000).fit(X, y)
    pen = nr.ElasticNet(alpha, r)
    res = fit_linear(X, y, pen, solver=solver, **TIGHT)
    assert res.converged
    assert_coef_close(res.coef, sk.coef_)
    f_sk = book_objective(X, y, sk.coef_, sk.intercept_, float(pen(sk.coef_)))
    assert abs(res.objective - f_sk) <= 1e-8 * f_sk


@pytest.mark.parametrize("solver", ["gd", "ista", "fista"])
def test_ridge_matches_sklearn_and_the_closed_form(reg_data, solver):
    from sklearn.linear_model import Ridge

    name, X, y = reg_data
    m, p = X.shape
    a = 0.05
    sk = Ridge(alpha=a * m, solver="cholesky").fit(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    closed = np.linalg.solve(Xc.T @ Xc / m + a * np.eye(p), Xc.T @ yc / m)
    np.testing.assert_allclose(sk.coef_, closed, rtol=1e-9)  # the two oracles agree
    res = fit_linear(X, y, nr.L2(a), solver=solver, **TIGHT)
    assert res.converged
    assert_coef_close(res.coef, closed)
    assert res.intercept == pytest.approx(y.mean() - X.mean(0) @ closed, rel=1e-8)
    f_ref = book_objective(X, y, closed, y.mean() - X.mean(0) @ closed, 0.5 * a * closed @ closed)
    assert abs(res.objective - f_ref) <= 1e-10 * f_ref


def test_unpenalized_least_squares_matches_lstsq():
    X, y = _generated()
    A = np.column_stack([X, np.ones(len(y))])
    sol = np.linalg.lstsq(A, y, rcond=None)[0]
    for solver in ["gd", "fista"]:
        res = fit_linear(X, y, None, solver=solver, **TIGHT)
        assert_coef_close(res.coef, sol[:-1])
        assert res.intercept == pytest.approx(sol[-1], rel=1e-8)


@pytest.mark.parametrize("solver", ["gd", "fista", "ista"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_logistic_l2_matches_sklearn(solver, fit_intercept):
    from sklearn.linear_model import LogisticRegression

    d = make_sparse_classification(300, 12, 4, correlation=0.2, seed=5)
    X, y = d.X, d.y
    m = len(y)
    a = 0.02
    sk = LogisticRegression(C=1.0 / (a * m), solver="newton-cholesky", tol=1e-12, max_iter=1000,
                            fit_intercept=fit_intercept).fit(X, y)
    res = fit_linear(X, y, nr.L2(a), loss="logistic", solver=solver, fit_intercept=fit_intercept, **TIGHT)
    assert res.converged
    assert_coef_close(res.coef, sk.coef_[0])
    assert res.intercept == pytest.approx(float(np.ravel(sk.intercept_)[0]), rel=1e-6, abs=1e-9)
    z = X @ sk.coef_[0] + np.ravel(sk.intercept_)[0]
    s = 2 * y - 1
    f_sk = np.mean(np.log1p(np.exp(-s * z))) + 0.5 * a * sk.coef_[0] @ sk.coef_[0]
    assert abs(res.objective - f_sk) <= 1e-8 * f_sk


def test_logistic_accepts_plus_minus_one_labels():
    d = make_sparse_classification(200, 6, 3, seed=2)
    a = fit_linear(d.X, d.y, nr.L1(0.01), loss="logistic", **TIGHT)
    b = fit_linear(d.X, 2 * d.y - 1, nr.L1(0.01), loss="logistic", **TIGHT)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------ KKT oracles


def _kkt_l1(grad_f, w, lam, atol):
    """Optimality of w for f + lam||w||_1: grad_j = -lam sign(w_j) where w_j != 0, |grad_j| <= lam where 0."""
    nz = w != 0
    np.testing.assert_allclose(grad_f[nz], -lam * np.sign(w[nz]), atol=atol)
    assert np.all(np.abs(grad_f[~nz]) <= lam + atol)


@pytest.mark.parametrize("solver", ["ista", "fista"])
def test_logistic_l1_satisfies_kkt(solver):
    d = make_sparse_classification(300, 15, 4, seed=7)
    X, y = d.X, d.y
    lam = 0.02
    res = fit_linear(X, y, nr.L1(lam), loss="logistic", solver=solver, **TIGHT)
    r = expit(X @ res.coef + res.intercept) - y  # d/dz of the logistic loss, by hand
    grad_w, grad_b = X.T @ r / len(y), r.mean()
    assert abs(grad_b) < 1e-9
    _kkt_l1(grad_w, res.coef, lam, atol=1e-9)
    assert 0 < np.count_nonzero(res.coef) < X.shape[1]


def test_group_lasso_satisfies_kkt():
    d = make_sparse_regression(120, 9, 3, noise=0.5, seed=8)
    X, y = d.X, d.y
    groups = [[0, 1, 2], [3, 4], [5, 6, 7, 8]]
    lam = 0.1
    res = fit_linear(X, y, nr.GroupLasso(lam, groups), **TIGHT)
    g = X.T @ (X @ res.coef + res.intercept - y) / len(y)
    n_zero_groups = 0
    for grp in groups:
        wg, gg, wt = res.coef[grp], g[grp], lam * np.sqrt(len(grp))
        if np.all(wg == 0):
            n_zero_groups += 1
            assert np.linalg.norm(gg) <= wt + 1e-9
        else:
            np.testing.assert_allclose(gg, -wt * wg / np.linalg.norm(wg), atol=1e-9)
    assert n_zero_groups == 2  # the truth lives in the first group only


# ----------------------------------------------------------------------- solver behaviour


def _lasso_problem():
    d = make_sparse_regression(100, 40, 5, noise=0.5, correlation=0.6, seed=11)
    return d.X, d.y, 0.05


def test_subgradient_hovers_while_proximal_gradient_gives_exact_zeros():
    d = make_sparse_regression(200, 40, 5, noise=0.5, seed=11)
    X, y, lam = d.X, d.y, 0.05
    prox = fit_linear(X, y, nr.L1(lam), solver="ista", **TIGHT)
    with pytest.warns(ConvergenceWarning, match="max_iter=1000"):
        sub = fit_linear(X, y, nr.L1(lam), solver="subgradient", max_iter=1000)
    assert not sub.converged
    assert prox.n_iter < 100
    n_zero = int(np.sum(prox.coef == 0))
    assert n_zero >= 25
    assert int(np.sum(sub.coef == 0)) == 0  # not one exact zero after 10x the iterations
    # ... although close to the optimum, in value and in the coefficients that should be zero
    assert sub.objective - prox.objective < 1e-3 * prox.objective
    assert np.abs(sub.coef[prox.coef == 0]).max() < 0.01
    # it is not a descent method: the returned point is the best one it met
    assert sub.objective == pytest.approx(sub.history.min(), rel=1e-12)
    assert np.any(np.diff(sub.history) > 0)


def test_fista_needs_far_fewer_iterations_than_ista_on_an_ill_conditioned_problem():
    d = make_sparse_regression(200, 100, 10, noise=0.5, correlation=0.9, seed=12)
    runs = {s: fit_linear(d.X, d.y, nr.L1(0.01), solver=s, **TIGHT) for s in ["ista", "fista"]}
    assert all(r.converged for r in runs.values())
    assert runs["fista"].n_iter * 5 < runs["ista"].n_iter
    assert_coef_close(runs["fista"].coef, runs["ista"].coef, rtol=1e-6)
    no_restart = fit_linear(d.X, d.y, nr.L1(0.01), solver="fista", restart=False, **TIGHT)
    assert no_restart.converged
    assert_coef_close(no_restart.coef, runs["fista"].coef, rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), solver=st.sampled_from(["gd", "ista"]), lam=st.floats(1e-3, 1.0))
def test_gd_and_ista_descend_monotonically(seed, solver, lam):
    d = make_sparse_regression(60, 8, 3, noise=0.5, correlation=0.5, seed=seed)
    pen = nr.L2(lam) if solver == "gd" else nr.L1(lam)
    res = fit_linear(d.X, d.y, pen, solver=solver, tol=1e-9, max_iter=100_000)
    h = res.history
    assert len(h) == res.n_iter + 1
    assert np.all(np.diff(h) <= 1e-12 * np.abs(h[:-1]))
    assert h[0] == pytest.approx(0.5 * np.mean((d.y - d.y.mean()) ** 2), rel=1e-10)  # w = 0, b = mean(y)
    assert h[-1] == pytest.approx(res.objective, rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(1e-3, 0.5), loss=st.sampled_from(["squared", "logistic"]))
def test_stopping_rule_certifies_optimality(seed, lam, loss):
    """At convergence FISTA's optimality conditions hold to the documented 2*tol*g0 (the
    working-set solver's certificate, the duality gap, is tested in test_solvers_working_set)."""
    if loss == "squared":
        d = make_sparse_regression(80, 10, 3, noise=0.5, seed=seed)
        X, y = d.X, d.y
        r_of = lambda w, b: X @ w + b - y  # noqa: E731
        g0 = np.abs((X - X.mean(0)).T @ (y - y.mean())).max() / len(y)
    else:
        d = make_sparse_classification(120, 10, 3, seed=seed)
        X, y = d.X, d.y
        r_of = lambda w, b: expit(X @ w + b) - y  # noqa: E731
        g0 = np.abs(X.T @ (y - y.mean())).max() / len(y)
    tol = 1e-7
    res = fit_linear(X, y, nr.L1(lam * g0), loss=loss, solver="fista", tol=tol)
    assert res.converged and res.residual <= tol
    r = r_of(res.coef, res.intercept)
    _kkt_l1(X.T @ r / len(y), res.coef, lam * g0, atol=2 * tol * g0 * (1 + 1e-6))


def test_max_iter_warns_and_says_so():
    X, y, lam = _lasso_problem()
    for solver in ["gd", "ista", "fista", "subgradient"]:
        pen = nr.L2(lam) if solver == "gd" else nr.L1(lam)
        with pytest.warns(ConvergenceWarning, match=f"solver='{solver}'.*converged=False"):
            res = fit_linear(X, y, pen, solver=solver, tol=1e-12, max_iter=3)
        assert res.n_iter == 3 and not res.converged and len(res.history) == 4
        assert res.residual > 1e-12
    assert issubclass(ConvergenceWarning, UserWarning)


def test_warm_start_at_the_solution_stops_at_once_and_callback_sees_every_iterate():
    X, y, lam = _lasso_problem()
    res = fit_linear(X, y, nr.L1(lam), **TIGHT)
    again = fit_linear(X, y, nr.L1(lam), coef_init=res.coef, **TIGHT)
    assert again.n_iter <= 2
    seen = []
    fit_linear(X, y, nr.L1(lam), tol=1e-8, callback=lambda k, w: seen.append((k, w.copy())))
    assert [k for k, _ in seen] == list(range(1, len(seen) + 1))
    assert all(w.shape == (X.shape[1],) for _, w in seen)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_float32_input_gives_float32_coef_of_the_float64_answer(loss):
    d = make_sparse_classification(150, 8, 3, seed=3) if loss == "logistic" else make_sparse_regression(150, 8, 3)
    r64 = fit_linear(d.X, d.y, nr.L1(0.01), loss=loss, **TIGHT)
    r32 = fit_linear(d.X.astype(np.float32), d.y.astype(np.float32), nr.L1(0.01), loss=loss, **TIGHT)
    assert r32.coef.dtype == np.float32 and r64.coef.dtype == np.float64
    np.testing.assert_allclose(r32.coef, r64.coef, rtol=1e-5, atol=1e-6)


def test_gram_and_data_forms_and_screening_agree():
    X, y = _generated()
    lam = 0.8 * lam_max(X, y)  # close to lambda_max: the strong rule discards most features
    a = fit_linear(X, y, nr.L1(lam), precompute=True, **TIGHT)
    b = fit_linear(X, y, nr.L1(lam), precompute=False, **TIGHT)
    assert_coef_close(a.coef, b.coef, rtol=1e-8)
    # a deliberately wrong strong rule (previous threshold 0) discards active features: the
    # KKT check must bring them back and give the same answer
    prob = _Problem(X, y, "squared", True, precompute=True)
    lam = 0.05 * lam_max(X, y)
    raw = _solve(prob, nr.L1(lam), "fista", 1e-12, 100_000, np.zeros(X.shape[1]), prev_threshold=0.0)
    ref = fit_linear(X, y, nr.L1(lam), precompute=False, **TIGHT)
    assert raw.converged
    assert_coef_close(raw.theta, ref.coef, rtol=1e-8)


def test_lipschitz_constant_is_the_largest_eigenvalue():
    X, _ = _generated()
    Xc = X - X.mean(0)
    m = len(X)
    assert lipschitz_constant(X) == pytest.approx(np.linalg.eigvalsh(Xc.T @ Xc / m)[-1], rel=1e-6)
    A = np.column_stack([X, np.ones(m)])
    assert lipschitz_constant(X, loss="logistic") == pytest.approx(np.linalg.eigvalsh(A.T @ A / m)[-1] / 4, rel=1e-6)


# ------------------------------------------------------------- objective and its gradient


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    loss=st.sampled_from(["squared", "logistic"]),
    which=st.sampled_from(["none", "l2", "en", "l1"]),
)
def test_gradient_matches_central_finite_differences(seed, loss, which):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((30, 5))
    y = (rng.random(30) < 0.5).astype(float) if loss == "logistic" else rng.standard_normal(30)
    w = rng.standard_normal(5)
    w[np.abs(w) < 0.05] = 0.1  # away from the kinks of |w|
    b = float(rng.standard_normal())
    pen = {"none": None, "l2": nr.L2(0.3), "en": nr.ElasticNet(0.3, 0.5), "l1": nr.L1(0.3)}[which]
    gw, gb = gradient(X, y, w, b, pen, loss)
    h = 1e-6
    fd = np.array([(objective(X, y, w + h * e, b, pen, loss) - objective(X, y, w - h * e, b, pen, loss)) / (2 * h)
                   for e in np.eye(5)])
    fd_b = (objective(X, y, w, b + h, pen, loss) - objective(X, y, w, b - h, pen, loss)) / (2 * h)
    np.testing.assert_allclose(gw, fd, rtol=1e-6, atol=1e-7)
    assert gb == pytest.approx(fd_b, rel=1e-6, abs=1e-7)


def test_objective_matches_the_formula():
    X, y = _generated()
    w = np.linspace(-1, 1, X.shape[1])
    assert objective(X, y, w, 0.5, nr.L1(0.2)) == pytest.approx(book_objective(X, y, w, 0.5, 0.2 * np.abs(w).sum()))
    yb = (y > np.median(y)).astype(float)
    z = X @ w + 0.5
    expected = np.mean(np.log1p(np.exp(-(2 * yb - 1) * z)))
    assert objective(X, yb, w, 0.5, loss="logistic") == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------- bad input


def test_bad_input_raises_named_errors():
    X, y = _generated()
    with pytest.raises(ValueError, match="y must have one entry per row of X"):
        fit_linear(X, y[:-1])
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="X must not contain NaN"):
        fit_linear(Xn, y)
    yn = y.copy()
    yn[0] = np.inf
    with pytest.raises(ValueError, match="y must not contain NaN"):
        fit_linear(X, yn)
    with pytest.raises(ValueError, match="y must hold binary labels"):
        fit_linear(X, np.arange(len(y)) % 3, loss="logistic")
    with pytest.raises(ValueError, match="y must hold binary labels"):
        fit_linear(X, np.ones(len(y)), loss="logistic")  # one class only
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        fit_linear(X, y, max_iter=0)
    with pytest.raises(ValueError, match="tol must be > 0"):
        fit_linear(X, y, tol=0.0)
    with pytest.raises(ValueError, match="solver='gd' needs a smooth penalty"):
        fit_linear(X, y, nr.L1(0.1), solver="gd")
    with pytest.raises(ValueError, match="solver must be one of"):
        fit_linear(X, y, solver="newton")
    with pytest.raises(ValueError, match="loss must be one of"):
        fit_linear(X, y, loss="hinge")
    with pytest.raises(TypeError, match="penalty must be a normreg penalty"):
        fit_linear(X, y, penalty=0.1)
    with pytest.raises(ValueError, match="penalty GroupLasso.*does not fit 30 coefficients"):
        fit_linear(X, y, nr.GroupLasso(0.1, [[0, 1], [2]]))
    with pytest.raises(ValueError, match="coef_init must have one entry per column"):
        fit_linear(X, y, coef_init=np.zeros(3))
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        fit_linear(y, y)
    with pytest.raises(TypeError, match="fit_intercept must be True or False"):
        fit_linear(X, y, fit_intercept="yes")
