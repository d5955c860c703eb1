"""The duality-gap certificates and the working-set solver (``solver="auto"``) against
independent oracles: scikit-learn's coordinate descent (Lasso, ElasticNet), FISTA run to a
tight gradient-mapping tolerance (a different algorithm and stopping rule), the optimality
conditions written out with NumPy, and the gap's defining property, gap >= F(w) - F*."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import normreg as nr
import normreg.solvers.working_set as ws_module
from normreg.datasets import make_sparse_classification, make_sparse_regression
from normreg.solvers import ConvergenceWarning, duality_gap, fit_linear, objective

REF = dict(solver="fista", tol=1e-13, max_iter=500_000)


def _lam_max(X, y):
    return np.abs((X - X.mean(0)).T @ (y - y.mean())).max() / len(y)


def _groups(p, rng):
    sizes, start = [], 0
    while start < p:
        s = int(min(rng.integers(5, 11), p - start))
        sizes.append(list(range(start, start + s)))
        start += s
    return sizes


def _penalty(kind, lam, p, rng):
    return {
        "l1": lambda: nr.L1(lam),
        "enet": lambda: nr.ElasticNet(lam, 0.5),
        "group": lambda: nr.GroupLasso(lam, _groups(p, rng)),
        "ridge": lambda: nr.L2(lam),
    }[kind]()


def _data(loss, seed, m=80, p=30):
    if loss == "squared":
        d = make_sparse_regression(m, p, 4, noise=0.5, correlation=0.3, intercept=1.0, seed=seed)
    else:
        d = make_sparse_classification(m, p, 4, seed=seed)
    return d.X, d.y


# ------------------------------------------------------------------------ the certificate


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1000),
    kind=st.sampled_from(["l1", "enet", "group", "ridge"]),
    loss=st.sampled_from(["squared", "logistic"]),
    frac=st.floats(0.02, 0.8),
    noise=st.floats(0.0, 2.0),
)
def test_gap_bounds_the_suboptimality_and_vanishes_at_the_optimum(seed, kind, loss, frac, noise):
    X, y = _data(loss, seed)
    rng = np.random.default_rng(seed)
    lam = frac * (_lam_max(X, y) if loss == "squared" else np.abs(X.T @ (y - y.mean())).max() / len(y))
    pen = _penalty(kind, lam, X.shape[1], rng)
    ref = fit_linear(X, y, pen, loss=loss, **REF)  # F* from FISTA, not from the gap
    assert duality_gap(X, y, ref.coef, ref.intercept, pen, loss) <= 1e-9 * ref.objective
    # any other point: the gap is at least its excess objective (a certificate, not an estimate)
    w = ref.coef + noise * rng.standard_normal(ref.coef.size) * (rng.random(ref.coef.size) < 0.3)
    b = ref.intercept + noise * rng.standard_normal()
    excess = objective(X, y, w, b, pen, loss) - ref.objective
    gap = duality_gap(X, y, w, b, pen, loss)
    assert gap >= excess - 1e-10 * max(1.0, ref.objective)
    assert gap >= 0.0


def test_lasso_gap_matches_the_closed_form_at_zero():
    # at w = 0, b = ybar with lam >= lam_max the dual point r/m is feasible and the gap is 0;
    # with lam = lam_max / 2 it is ||yc||^2/(2m) (1 - s)^2, s = 1/2: F(0) / 4
    X, y = _data("squared", 0)
    lm = _lam_max(X, y)
    f0 = 0.5 * np.mean((y - y.mean()) ** 2)
    assert duality_gap(X, y, np.zeros(X.shape[1]), y.mean(), nr.L1(lm)) == pytest.approx(0.0, abs=1e-15)
    assert duality_gap(X, y, np.zeros(X.shape[1]), y.mean(), nr.L1(lm / 2)) == pytest.approx(f0 / 4, rel=1e-12)


def test_no_certificate_without_a_penalty():
    X, y = _data("squared", 0)
    assert np.isnan(fit_linear(X, y, None).gap)
    assert np.isnan(fit_linear(X, y, nr.L1(0.0)).gap)


# ------------------------------------------------------------------ the working-set solver


@pytest.mark.parametrize("shape", [(200, 50), (60, 300), (150, 1500)])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("frac", [0.5, 0.1, 0.02])
def test_lasso_matches_sklearn(shape, fit_intercept, frac):
    from sklearn.linear_model import Lasso

    m, p = shape
    d = make_sparse_regression(m, p, 8, noise=0.5, correlation=0.5, intercept=2.0, seed=p)
    X, y = d.X, d.y
    lam = frac * (_lam_max(X, y) if fit_intercept else np.abs(X.T @ y).max() / m)
    res = fit_linear(X, y, nr.L1(lam), fit_intercept=fit_intercept, tol=1e-12, max_iter=100_000)
    sk = Lasso(alpha=lam, fit_intercept=fit_intercept, tol=1e-14, max_iter=1_000_000).fit(X, y)
    assert res.solver == "working-set" and res.converged
    f_sk = objective(X, y, sk.coef_, sk.intercept_ if fit_intercept else 0.0, nr.L1(lam))
    assert res.objective <= f_sk + 1e-12 * f_sk
    assert res.gap <= 1e-12 * res.null_objective
    np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-6 * max(1.0, np.abs(sk.coef_).max()))


@pytest.mark.parametrize("l1_ratio", [0.9, 0.5, 0.1])
def test_elastic_net_matches_sklearn(l1_ratio):
    from sklearn.linear_model import ElasticNet

    d = make_sparse_regression(150, 400, 10, noise=0.5, correlation=0.5, seed=1)
    lam = 0.05 * _lam_max(d.X, d.y) / l1_ratio
    res = fit_linear(d.X, d.y, nr.ElasticNet(lam, l1_ratio), tol=1e-12, max_iter=100_000)
    sk = ElasticNet(alpha=lam, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(d.X, d.y)
    assert res.converged and res.solver == "working-set"
    np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-6 * np.abs(sk.coef_).max())
    assert res.intercept == pytest.approx(sk.intercept_, rel=1e-6)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_group_lasso_matches_fista_and_zeroes_whole_groups(loss):
    X, y = _data(loss, 5, m=150, p=60)
    groups = _groups(60, np.random.default_rng(0))
    lam = 0.05 if loss == "squared" else 0.01
    pen = nr.GroupLasso(lam, groups)
    res = fit_linear(X, y, pen, loss=loss, tol=1e-12)
    ref = fit_linear(X, y, pen, loss=loss, **REF)
    assert res.solver == "working-set" and res.converged
    assert res.objective <= ref.objective + 1e-11 * ref.objective
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-5 * np.abs(ref.coef).max())
    zero = [np.all(res.coef[g] == 0) for g in groups]
    assert any(zero) and not all(zero)
    for g, z in zip(groups, zero, strict=True):
        assert z or np.all(res.coef[g] != 0)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_l1_logistic_satisfies_kkt_and_matches_fista(fit_intercept):
    from scipy.special import expit

    d = make_sparse_classification(200, 1000, 6, seed=2)
    X, y = d.X, d.y
    lam = 0.15 * np.abs(X.T @ (y - y.mean())).max() / len(y)
    res = fit_linear(X, y, nr.L1(lam), loss="logistic", fit_intercept=fit_intercept, tol=1e-12)
    assert res.converged and res.solver == "working-set"
    g = X.T @ (expit(X @ res.coef + res.intercept) - y) / len(y)
    nz = res.coef != 0
    assert 0 < nz.sum() < 150
    np.testing.assert_allclose(g[nz], -lam * np.sign(res.coef[nz]), atol=1e-6 * lam)
    assert np.abs(g[~nz]).max() <= lam * (1 + 1e-6)
    if fit_intercept:
        assert abs(np.mean(expit(X @ res.coef + res.intercept) - y)) < 1e-8
    ref = fit_linear(X, y, nr.L1(lam), loss="logistic", fit_intercept=fit_intercept, **REF)
    assert res.objective <= ref.objective + 1e-11


def test_screening_is_safe(monkeypatch):
    """With p >= 1000 gap safe screening drops columns; the answer is the one without it.
    Warm-started from a nearby lambda (as on a path) the first gap is small enough to screen."""
    d = make_sparse_regression(200, 3000, 10, noise=0.5, correlation=0.5, seed=7)
    lam = 0.1 * _lam_max(d.X, d.y)
    start = fit_linear(d.X, d.y, nr.L1(1.05 * lam), tol=1e-3).coef
    calls = []
    original = ws_module.full_state

    def spy(prob, st_, theta, cols=None, Xa=None):
        calls.append(None if cols is None else cols.size)
        return original(prob, st_, theta, cols, Xa)

    monkeypatch.setattr(ws_module, "full_state", spy)
    screened = fit_linear(d.X, d.y, nr.L1(lam), tol=1e-12, coef_init=start)
    assert any(c is not None and c < 1500 for c in calls)  # the screening did drop columns
    monkeypatch.setattr(ws_module, "_SCREEN_MIN_BLOCKS", 10**9)
    plain = fit_linear(d.X, d.y, nr.L1(lam), tol=1e-12, coef_init=start)
    np.testing.assert_allclose(screened.coef, plain.coef, atol=1e-9 * np.abs(plain.coef).max())
    assert np.array_equal(screened.coef != 0, plain.coef != 0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), frac=st.floats(1e-3, 0.9), loss=st.sampled_from(["squared", "logistic"]),
       tol=st.sampled_from([1e-4, 1e-7, 1e-10]))
def test_converged_means_certified(seed, frac, loss, tol):
    X, y = _data(loss, seed, m=60, p=40)
    lam = frac * (_lam_max(X, y) if loss == "squared" else np.abs(X.T @ (y - y.mean())).max() / len(y))
    res = fit_linear(X, y, nr.L1(lam), loss=loss, tol=tol)
    assert res.converged and res.residual <= tol
    # recompute the certificate independently of the solver's own bookkeeping
    gap = duality_gap(X, y, res.coef, res.intercept, nr.L1(lam), loss)
    assert gap <= tol * res.null_objective * (1 + 1e-6) + 1e-15
    ref = fit_linear(X, y, nr.L1(lam), loss=loss, **REF)
    assert res.objective - ref.objective <= tol * res.null_objective + 1e-12


def test_float32_stays_float32():
    d = make_sparse_regression(100, 200, 5, seed=3)
    X32, y32 = d.X.astype(np.float32), d.y.astype(np.float32)
    res = fit_linear(X32, y32, nr.L1(0.1))
    assert res.coef.dtype == np.float32 and res.solver == "working-set"
    ref = fit_linear(d.X, d.y, nr.L1(0.1))
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-4)


def test_max_iter_warns_and_says_so():
    d = make_sparse_regression(100, 300, 10, noise=0.5, correlation=0.8, seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = fit_linear(d.X, d.y, nr.L1(0.01), tol=1e-12, max_iter=5)
    assert [type(c.message) for c in caught] == [ConvergenceWarning]
    assert not res.converged and res.n_iter <= 10
    assert res.gap > 1e-12 * res.null_objective and res.residual > 1e-12


def test_working_set_needs_a_sparse_penalty():
    X, y = _data("squared", 0)
    with pytest.raises(ValueError, match="solver='working-set' needs a sparse penalty"):
        fit_linear(X, y, nr.L2(0.1), solver="working-set")
    assert fit_linear(X, y, nr.L2(0.1)).solver == "fista"


def test_path_is_warm_started_and_matches_sklearn():
    from sklearn.linear_model import lasso_path

    d = make_sparse_regression(100, 1500, 10, noise=0.5, correlation=0.5, seed=11)
    Xc, yc = d.X - d.X.mean(0), d.y - d.y.mean()
    lams = nr.selection.lambda_grid(_lam_max(Xc, yc), 20, 1e-2)
    path = nr.regularization_path(Xc, yc, nr.L1, lams, fit_intercept=False, tol=1e-12)
    _, sk, _ = lasso_path(Xc, yc, alphas=lams, tol=1e-14, max_iter=1_000_000)
    np.testing.assert_allclose(path.coefs, sk.T, atol=1e-6 * np.abs(sk).max())
    assert path.converged.all()


def test_sparse_and_foreign_input_is_refused_with_what_to_pass():
    # issue 10 item 26: a scipy sparse X used to fail with a message about "dtype object"
    import scipy.sparse as sp

    X, y = _data("squared", 0)
    with pytest.raises(TypeError, match=r"X is a SciPy sparse matrix.*X.toarray\(\)"):
        fit_linear(sp.csr_matrix(X), y, nr.L1(0.1))
    with pytest.raises(TypeError, match="X is a SciPy sparse matrix"):
        nr.regularization_path(sp.csc_matrix(X), y, nr.L1, n_lams=3)


@pytest.mark.parametrize(
    "seed, shape, frac, max_iter",
    [(12, (200, 50), None, 2000), (12, (200, 50), None, 20_000), (9, (200, 50), 0.05, 3000),
     (8, (100, 300), 0.05, 3000)],
)
def test_unreachable_tol_returns_the_best_point_and_says_so(seed, shape, frac, max_iter):
    # A tol below what float64 can certify (1e-15, 1e-16 of F0) must not leave the solver
    # spending its whole budget on a wrong working set: it ends at (or next to) the optimum
    # found with a reachable tol, warns, and reports converged=False. (Before the fix the
    # first case ended at 3.67x the optimum, the third at a relative gap of 0.19.)
    m, p = shape
    d = make_sparse_regression(m, p, 10, noise=0.5, correlation=0.8, seed=seed)
    lam = 0.02 if frac is None else frac * _lam_max(d.X, d.y)
    ref = fit_linear(d.X, d.y, nr.L1(lam), tol=1e-12, max_iter=100_000)
    assert ref.converged
    with pytest.warns(ConvergenceWarning, match="converged=False"):
        res = fit_linear(d.X, d.y, nr.L1(lam), tol=1e-16, max_iter=max_iter)
    assert not res.converged
    assert res.objective - ref.objective <= 1e-11 * ref.null_objective
    assert res.gap <= 1e-10 * res.null_objective  # the certificate it reports is small too
    # the gap it reports is the gap of the point it returns
    gap = duality_gap(d.X, d.y, res.coef, res.intercept, nr.L1(lam))
    assert gap == pytest.approx(res.gap, rel=1e-3, abs=1e-12 * res.null_objective)


def test_a_stalled_gap_stops_before_max_iter_with_an_honest_warning():
    d = make_sparse_regression(200, 50, 10, noise=0.5, correlation=0.8, seed=12)
    with pytest.warns(ConvergenceWarning, match="cannot be certified"):
        res = fit_linear(d.X, d.y, nr.L1(0.02), tol=1e-17, max_iter=1_000_000)
    assert not res.converged and res.n_iter < 1_000_000
    assert res.gap <= 1e-11 * res.null_objective


# ------------------------------------------------- the active-set method on the Gram matrix


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), b=st.sampled_from([0.0, 0.3]), steps=st.integers(1, 25))
def test_active_inverse_stays_the_inverse_under_adds_and_drops(seed, b, steps):
    # the block updates against NumPy's inverse of the same submatrix, formed from scratch
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((80, 40)) + 0.5 * rng.standard_normal((80, 1))  # correlated columns
    G = X.T @ X / 80
    inv = ws_module._ActiveInverse(G, b)
    for _ in range(steps):
        if inv.idx.size and rng.random() < 0.4:
            order = inv.drop(rng.random(inv.idx.size) < 0.7)
            assert order.size == inv.idx.size
        else:
            free = np.setdiff1d(np.arange(40), inv.idx)
            assert inv.add(rng.choice(free, min(free.size, int(rng.integers(1, 8))), replace=False))
        A = inv.idx
        assert np.unique(A).size == A.size
        if A.size == 0:
            continue
        # products with the pending low-rank corrections, then H itself (which folds them in)
        want = np.linalg.inv(G[np.ix_(A, A)] + b * np.eye(A.size))
        rhs = rng.standard_normal(A.size)
        np.testing.assert_allclose(inv.solve(rhs), want @ rhs, atol=1e-9 * max(1.0, np.abs(want).max()) * 10)
        if rng.random() < 0.3:  # H itself (folding the corrections in may reorder idx)
            H, A = inv.H, inv.idx
            want = np.linalg.inv(G[np.ix_(A, A)] + b * np.eye(A.size))
            np.testing.assert_allclose(H, want, atol=1e-9 * max(1.0, np.abs(want).max()))


def test_active_inverse_refuses_dependent_columns():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6))
    X = np.column_stack((X, X[:, 0] - 2.0 * X[:, 3]))  # column 6 is a combination of 0 and 3
    inv = ws_module._ActiveInverse(X.T @ X / 50, 0.0)
    assert inv.add(np.array([0, 3, 5]))
    assert not inv.add(np.array([6]))
    assert inv.idx.tolist() == [0, 3, 5]  # nothing changed
    assert ws_module._ActiveInverse(X.T @ X / 50, 0.1).add(np.array([0, 3, 6]))  # the ridge term fixes it


@pytest.mark.parametrize("kind", ["l1", "enet"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gram_path_matches_the_data_path_and_sklearn(kind, fit_intercept):
    from sklearn.linear_model import enet_path

    from normreg.selection import _path
    from normreg.solvers import _Problem

    d = make_sparse_regression(300, 60, 8, noise=0.5, correlation=0.6, intercept=2.0, seed=4)
    r = 1.0 if kind == "l1" else 0.5
    lams = nr.selection.lambda_grid(_lam_max(d.X, d.y) / r, 30, 1e-3)
    factory = nr.L1 if kind == "l1" else (lambda lam: nr.ElasticNet(lam, 0.5))
    paths = {}
    for gram in (True, False):
        prob = _Problem(d.X, d.y, "squared", fit_intercept, precompute=gram)
        paths[gram] = _path(prob, factory, lams, "auto", 1e-12, 100_000)
        assert paths[gram].converged.all()
    assert isinstance(_Problem(d.X, d.y, "squared", fit_intercept, precompute=True).smooth, ws_module._SquaredGram)
    X, y = (d.X - d.X.mean(0), d.y - d.y.mean()) if fit_intercept else (d.X, d.y)
    _, sk, _ = enet_path(X, y, l1_ratio=r, alphas=lams, tol=1e-14, max_iter=1_000_000)
    scale = np.abs(sk).max()
    np.testing.assert_allclose(paths[True].coefs, paths[False].coefs, atol=1e-8 * scale)
    np.testing.assert_allclose(paths[True].coefs, sk.T, atol=1e-7 * scale)
    np.testing.assert_array_equal(paths[True].coefs != 0, sk.T != 0)  # exact zeros where sklearn has them


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), frac=st.floats(1e-3, 0.9), tol=st.sampled_from([1e-3, 1e-5, 1e-8]),
       l1_ratio=st.sampled_from([1.0, 0.7]))
def test_gram_active_set_gap_bounds_the_excess_objective(seed, frac, tol, l1_ratio):
    # p <= 128 and m >= p: fit_linear works on the Gram matrix, the active-set method first.
    # The gap it reports must bound F(w) - F* with F* from a very tight solve of another method.
    from sklearn.linear_model import ElasticNet

    d = make_sparse_regression(150, 40, 6, noise=1.0, correlation=0.7, intercept=1.0, seed=seed)
    lam = frac * _lam_max(d.X, d.y) / l1_ratio
    pen = nr.L1(lam) if l1_ratio == 1.0 else nr.ElasticNet(lam, l1_ratio)
    res = fit_linear(d.X, d.y, pen, tol=tol)
    assert res.converged and res.gap <= tol * res.null_objective
    sk = ElasticNet(alpha=lam, l1_ratio=l1_ratio, tol=1e-15, max_iter=1_000_000).fit(d.X, d.y)
    f_star = min(objective(d.X, d.y, sk.coef_, sk.intercept_, pen), fit_linear(d.X, d.y, pen, **REF).objective)
    assert res.objective - f_star <= res.gap + 1e-13 * res.null_objective
    # the gap it reports is the gap of the point it returns, recomputed from the data
    assert res.gap == pytest.approx(duality_gap(d.X, d.y, res.coef, res.intercept, pen), rel=1e-6,
                                    abs=1e-12 * res.null_objective)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([1e-8, 1.0, 1e6]), offset=st.floats(-100.0, 100.0),
       fit_intercept=st.booleans())
def test_rounding_bound_bounds_the_error_of_the_gram_form_of_the_loss(seed, scale, offset, fit_intercept):
    # the Gram form 1/2 w'Gw - c'w + k against ||y_c - X_c w||^2/(2m) computed in extended precision
    from normreg.solvers import _Problem

    rng = np.random.default_rng(seed)
    X = scale * (rng.standard_normal((120, 30)) + offset)
    w = rng.standard_normal(30) * (rng.random(30) < 0.4) / scale
    y = X @ w + rng.choice([1e-9, 1e-3, 1.0]) * rng.standard_normal(120) + offset
    prob = _Problem(X, y, "squared", fit_intercept, precompute=True)
    sm = prob.smooth
    gram = 0.5 * float(w @ (sm.G @ w)) - float(sm.c @ w) + sm.k
    Xl, yl = X.astype(np.longdouble), y.astype(np.longdouble)
    if fit_intercept:
        Xl, yl = Xl - Xl.mean(0), yl - yl.mean()
    r = yl - Xl @ w.astype(np.longdouble)
    exact = float((r @ r) / (2 * len(y)))
    assert abs(gram - exact) <= ws_module._rounding_bound(prob, w)


def test_gram_gap_falls_back_to_the_residual_where_the_gram_form_cancels(monkeypatch):
    # an almost noiseless fit: the loss is ~1e-15 of ||y_c||^2/(2m), below what
    # 1/2 w'Gw - c'w + k resolves; the certificate must come from the residual itself
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 30))
    w_true = np.zeros(30)
    w_true[:5] = [3.0, -2.0, 1.5, 1.0, -1.0]
    y = X @ w_true + 1e-7 * rng.standard_normal(200) + 5.0
    calls = []
    real = ws_module._true_state
    monkeypatch.setattr(ws_module, "_true_state", lambda prob, w: calls.append(1) or real(prob, w))
    pen = nr.L1(1e-9)
    res = fit_linear(X, y, pen, tol=1e-13)
    assert calls and res.converged and res.solver == "working-set"
    # both gaps are at the rounding level of F0 here: they agree to that level, and the
    # reported one bounds the excess over a tight solve on the data (no Gram matrix)
    assert abs(res.gap - duality_gap(X, y, res.coef, res.intercept, pen)) <= 1e-13 * res.null_objective
    ref = fit_linear(X, y, pen, precompute=False, tol=1e-13, max_iter=1_000_000)
    assert res.objective - ref.objective <= res.gap + 1e-15 * res.null_objective
    # where the Gram form is accurate, the residual is not recomputed
    calls.clear()
    d = make_sparse_regression(200, 30, 5, noise=1.0, seed=0)
    assert fit_linear(d.X, d.y, nr.L1(0.01), tol=1e-8).converged and not calls


@pytest.mark.parametrize("steps", [1, 50])
def test_gram_active_set_hands_over_to_fista_where_it_cannot_certify(monkeypatch, steps):
    # duplicated columns: the active-set method's linear systems are singular; FISTA on
    # working sets takes over from its best point and still certifies the lasso solution (with
    # one step allowed, the handover happens on any problem)
    from sklearn.linear_model import Lasso

    monkeypatch.setattr(ws_module, "_AS_STEPS", steps)
    d = make_sparse_regression(120, 20, 4, noise=0.5, seed=2)
    X = np.column_stack((d.X, d.X[:, :3]))
    lam = 0.01 * _lam_max(X, d.y)
    res = fit_linear(X, d.y, nr.L1(lam), tol=1e-10, max_iter=100_000)
    assert res.converged and res.gap <= 1e-10 * res.null_objective
    assert res.n_iter > 10  # FISTA iterations after the handover
    sk = Lasso(alpha=lam, tol=1e-14, max_iter=1_000_000).fit(X, d.y)
    f_sk = objective(X, d.y, sk.coef_, sk.intercept_, nr.L1(lam))
    assert res.objective <= f_sk + 1e-10 * res.null_objective


def test_group_lasso_path_on_the_gram_matrix_matches_the_data_path():
    # regularization_path now holds m >= p problems (p <= 2048) as their Gram matrix; the
    # group lasso runs FISTA working sets on it (no active-set method): same answers
    from normreg.selection import _path
    from normreg.solvers import _Problem

    d = make_sparse_regression(300, 200, 10, noise=0.5, correlation=0.5, intercept=1.0, seed=6)
    groups = _groups(200, np.random.default_rng(1))
    factory = lambda lam: nr.GroupLasso(lam, groups)  # noqa: E731
    lams = nr.selection.lambda_grid(nr.selection.lambda_max(d.X, d.y, factory), 15, 1e-2)
    paths = [_path(_Problem(d.X, d.y, "squared", True, precompute=g), factory, lams, "auto", 1e-11, 100_000)
             for g in (True, False)]
    assert all(pth.converged.all() for pth in paths)
    np.testing.assert_allclose(paths[0].coefs, paths[1].coefs, atol=1e-7 * np.abs(paths[1].coefs).max())
    gram = nr.regularization_path(d.X, d.y, factory, lams, tol=1e-11, max_iter=100_000)
    np.testing.assert_allclose(gram.coefs, paths[0].coefs, atol=1e-7 * np.abs(paths[1].coefs).max())


def test_a_warm_start_on_duplicated_columns_is_kept():
    # review: FISTA splits the weight of duplicated columns between them, so its solution's
    # support is numerically dependent and the active-set method cannot factor it; it used to
    # restart from w = 0 (history[0] = F(0), 40 iterations here), throwing the warm start away
    d = make_sparse_regression(120, 20, 4, noise=0.5, seed=2)
    X = np.column_stack((d.X, d.X[:, :3]))
    pen = nr.L1(0.01 * _lam_max(X, d.y))
    sol = fit_linear(X, d.y, pen, tol=1e-10, max_iter=100_000)
    start = sol.coef.copy()
    start[[0, 1, 2]] = start[[20, 21, 22]] = 0.5 * (sol.coef[[0, 1, 2]] + sol.coef[[20, 21, 22]])
    assert sol.converged and np.all(start[[0, 1, 2, 20, 21, 22]] != 0)  # a split support, as optimal
    again = fit_linear(X, d.y, pen, tol=1e-8, max_iter=100_000, coef_init=start)
    assert again.converged
    assert again.history[0] == pytest.approx(sol.objective, rel=1e-12)  # F of the start, not F(0)
    assert again.n_iter <= 5 and again.objective <= sol.objective + 1e-8 * sol.null_objective


def _objective_longdouble(X, y, w, a, b, fit_intercept):
    """F(w) (the intercept profiled out) in extended precision, independent of the solvers."""
    Xl, yl, wl = X.astype(np.longdouble), y.astype(np.longdouble), np.asarray(w, dtype=np.longdouble)
    if fit_intercept:
        Xl, yl = Xl - Xl.mean(0), yl - yl.mean()
    r = yl - Xl @ wl
    return (r @ r) / (2 * len(y)) + np.longdouble(a) * np.abs(wl).sum() + np.longdouble(b) / 2 * (wl @ wl)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), kind=st.sampled_from(["plain", "duplicate", "big column", "n = p"]),
       frac=st.sampled_from([1 - 1e-9, 0.999, 0.3, 1e-2, 1e-4]), l1_ratio=st.sampled_from([1.0, 0.7]),
       fit_intercept=st.booleans(), tol=st.sampled_from([1e-5, 1e-10]))
def test_gram_active_set_on_adversarial_problems_against_sklearn_in_extended_precision(
        seed, kind, frac, l1_ratio, fit_intercept, tol):
    # review: duplicated columns (non-unique solutions, singular G_AA), a column x 1e8,
    # n = p (rank p - 1 after centring), lambda next to lambda_max and far below it. Wherever
    # fit_linear says converged, its gap bounds F(w) - F(w_sklearn) computed in long double,
    # and it is at most tol * F0; where it says not converged, it warned.
    from sklearn.linear_model import enet_path

    rng = np.random.default_rng(seed)
    m = int(rng.integers(8, 50))
    p = m if kind == "n = p" else int(rng.integers(3, m + 1))
    X = rng.standard_normal((m, p))
    if kind == "duplicate":
        X[:, 1] = X[:, 0]
    if kind == "big column":
        X[:, 0] *= 1e8
    w_true = rng.standard_normal(p) * (rng.random(p) < 0.3)
    if kind == "big column":
        w_true[0] *= 1e-8
    y = X @ w_true + rng.choice([1e-6, 1.0]) * rng.standard_normal(m) + 3.0
    Xc, yc = (X - X.mean(0), y - y.mean()) if fit_intercept else (X, y)
    lam = frac * np.abs(Xc.T @ yc).max() / m / l1_ratio
    pen = nr.L1(lam) if l1_ratio == 1.0 else nr.ElasticNet(lam, l1_ratio)
    a, b = lam * l1_ratio, lam * (1 - l1_ratio)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = fit_linear(X, y, pen, fit_intercept=fit_intercept, tol=tol, max_iter=3000, precompute=True)
    assert res.converged or any(issubclass(c.category, ConvergenceWarning) for c in caught)
    if not res.converged:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, sk, _ = enet_path(Xc, yc, l1_ratio=l1_ratio, alphas=[lam], tol=1e-15, max_iter=100_000)
    f0 = res.null_objective
    assert res.gap <= tol * f0
    f_res = _objective_longdouble(X, y, res.coef, a, b, fit_intercept)
    f_sk = _objective_longdouble(X, y, sk[:, 0], a, b, fit_intercept)
    assert float(f_res - f_sk) <= res.gap + 1e-14 * f0
    gap = duality_gap(X, y, res.coef, res.intercept, pen, fit_intercept=fit_intercept)
    assert gap <= tol * f0 * (1 + 1e-6) + 1e-15 * f0


def _gap_longdouble(X, y, w, a, b, fit_intercept):
    """The squared-loss duality gap at w (dual point the scaled residual), in long double."""
    L = np.longdouble
    Xl, yl, wl = X.astype(L), y.astype(L), np.asarray(w, dtype=L)
    if fit_intercept:
        Xl, yl = Xl - Xl.mean(0), yl - yl.mean()
    r = yl - Xl @ wl
    v, fl, m = Xl.T @ r / len(y), (r @ r) / (2 * len(y)), len(y)
    if b == 0.0:
        s = min(L(1), L(a) / np.abs(v).max())
        return float(fl * (1 - s) ** 2 + L(a) * np.abs(wl).sum() - s * (v @ wl)), m
    ex = np.maximum(np.abs(v) - L(a), 0)
    return float(L(a) * np.abs(wl).sum() + L(b) / 2 * (wl @ wl) + (ex @ ex) / (2 * L(b)) - v @ wl), m


def _collinear(seed):
    """Two nearly equal columns carrying large opposite coefficients (y = C (x0 - x1) + ...)."""
    rng = np.random.default_rng(seed)
    m, p = int(rng.integers(20, 200)), int(rng.integers(3, 30))
    X = rng.standard_normal((m, p))
    X[:, 1] = X[:, 0] + 10.0 ** rng.uniform(-5, -2) * rng.standard_normal(m)
    y = 10.0 ** rng.uniform(0, 5) * (X[:, 0] - X[:, 1]) + 0.1 * X[:, 2:].sum(1) + 5.0
    y += rng.choice([1e-9, 1e-3, 1.0]) * rng.standard_normal(m)
    return X, y, rng


@pytest.mark.parametrize("seed, frac, fit_intercept", [(241, 4.0988309820239616e-11, True), (146, 1e-5, False)])
def test_gram_certificate_holds_in_extended_precision_where_v_cancels(seed, frac, fit_intercept):
    # review: the Gram form's v = c - G w cancels as badly as its loss where large coefficients
    # of nearly equal columns cancel; the fallback recomputed the loss from the residual but
    # kept that v, and the FISTA working sets on the Gram matrix had no fallback at all. Here
    # they certified gap = 1.7e-14 F0 (seed 241) and 9.1e-12 F0 (146) at tol = 1e-12, where
    # the gap of the point returned, in long double, is 8.5e-10 F0 and 4.0e-12 F0.
    X, y, _ = _collinear(seed)
    Xc, yc = (X - X.mean(0), y - y.mean()) if fit_intercept else (X, y)
    lam = frac * np.abs(Xc.T @ yc).max() / len(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fit_linear(X, y, nr.L1(lam), fit_intercept=fit_intercept, tol=1e-12, max_iter=3000, precompute=True)
    gap, _ = _gap_longdouble(X, y, res.coef, lam, 0.0, fit_intercept)
    if res.converged:
        assert gap <= 1.01e-12 * res.null_objective
    assert res.gap == pytest.approx(gap, rel=0.3, abs=1e-14 * res.null_objective)  # the gap it reports


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), log_lam=st.floats(-12.0, -3.0), l1_ratio=st.sampled_from([1.0, 0.8]),
       fit_intercept=st.booleans(), tol=st.sampled_from([1e-8, 1e-10]))
def test_converged_means_certified_in_extended_precision_on_collinear_columns(
        seed, log_lam, l1_ratio, fit_intercept, tol):
    X, y, _ = _collinear(seed)
    Xc, yc = (X - X.mean(0), y - y.mean()) if fit_intercept else (X, y)
    lam = 10.0**log_lam * np.abs(Xc.T @ yc).max() / len(y)
    pen = nr.L1(lam) if l1_ratio == 1.0 else nr.ElasticNet(lam, l1_ratio)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fit_linear(X, y, pen, fit_intercept=fit_intercept, tol=tol, max_iter=3000, precompute=True)
    if res.converged:
        gap, _ = _gap_longdouble(X, y, res.coef, lam * l1_ratio, lam * (1 - l1_ratio), fit_intercept)
        assert gap <= tol * res.null_objective * 1.01 + 1e-15 * res.null_objective


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), l1_ratio=st.sampled_from([1.0, 0.8]), fit_intercept=st.booleans(),
       log_lam=st.floats(-10.0, -1.0), shake=st.sampled_from([0.0, 1e-6, 1e-2]))
def test_gap_error_bound_bounds_the_gram_gap_against_extended_precision(seed, l1_ratio, fit_intercept, log_lam,
                                                                        shake):
    # the gap from the Gram form (v = c - G w and its loss) against the gap in long double, at
    # points near and away from the solution of collinear problems (where both cancel)
    from normreg.solvers import _Problem

    X, y, rng = _collinear(seed)
    prob = _Problem(X, y, "squared", fit_intercept, precompute=True)
    lam = 10.0**log_lam * prob.g0
    a, b = lam * l1_ratio, lam * (1 - l1_ratio)
    pen = nr.L1(lam) if l1_ratio == 1.0 else nr.ElasticNet(lam, l1_ratio)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        w = fit_linear(X, y, pen, fit_intercept=fit_intercept, tol=1e-10, max_iter=2000, precompute=False).coef
    w = w * (1 + shake * rng.standard_normal(w.size))
    sm, stc = prob.smooth, ws_module._structure(pen)
    v = sm.c - sm.G @ w
    fl = max(0.5 * float(w @ (sm.G @ w)) - float(sm.c @ w) + sm.k, 0.0)
    gram_gap = ws_module.squared_gap(stc, w, v, fl)[0]
    exact, _ = _gap_longdouble(X, y, w, a, b, fit_intercept)
    assert abs(gram_gap - exact) <= ws_module._gap_error_bound(prob, stc, w, v, fl) + 1e-15 * sm.k


def test_slow_progress_is_not_called_the_rounding_floor():
    # review: two columns 1e-4 apart carrying +-1e3 (condition number ~1e8) and lam = 1e-8:
    # FISTA progresses slowly, the gap (1.9e-5 F0, far above any rounding floor) did not halve
    # in five outer iterations, and the solver stopped at 15 010 of 30 000 iterations saying
    # the gap had reached "the rounding floor of the arithmetic"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 10))
    X[:, 1] = X[:, 0] + 1e-4 * rng.standard_normal(100)
    y = 1e3 * (X[:, 0] - X[:, 1]) + 1e-6 * rng.standard_normal(100) + X[:, 2]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = fit_linear(X, y, nr.L1(1e-8), tol=1e-6, max_iter=30_000)
    if not res.converged:
        (msg,) = [str(c.message) for c in caught]
        assert res.residual <= 1e-8 or ("rounding floor" not in msg and res.n_iter == 30_000)


def test_group_lasso_on_a_design_scaled_by_1e_minus_20_converges():
    # the other review's xfail (tests/test_solvers_review.py): the inner FISTA started from the
    # absolute floor L = 1e-12 where the curvature is ~1e-40 (steps 1e28 times too short)
    d = make_sparse_regression(100, 20, 4, noise=0.5, seed=0)
    groups = [list(range(i, i + 5)) for i in range(0, 20, 5)]
    lam = 0.3 * nr.selection.lambda_max(d.X, d.y, nr.L1)
    ref = fit_linear(d.X, d.y, nr.GroupLasso(lam, groups), tol=1e-12)
    res = fit_linear(1e-20 * d.X, d.y, nr.GroupLasso(1e-20 * lam, groups), max_iter=3000)
    assert res.converged
    np.testing.assert_allclose(1e-20 * res.coef, ref.coef, rtol=0, atol=1e-5 * np.abs(ref.coef).max())


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(60, 300), (150, 40)]),
       max_iter=st.sampled_from([3, 50, 10_000]),
       tol=st.sampled_from([1e-6, 1e-16]), log_frac=st.floats(-3.0, -0.1))
def test_history_has_one_entry_per_iteration_plus_the_start(seed, shape, max_iter, tol, log_frac):
    # the other review's xfail (tests/test_solvers_review.py): where the best-gap point was
    # returned, its objective was appended (n_iter + 2 entries); now the last entry is its F
    d = make_sparse_regression(*shape, 5, noise=0.1, correlation=0.9, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fit_linear(d.X, d.y, nr.L1(10.0**log_frac * _lam_max(d.X, d.y)), tol=tol, max_iter=max_iter)
    assert res.history.shape == (res.n_iter + 1,)
    assert res.history[-1] == pytest.approx(res.objective, rel=1e-9, abs=1e-12 * res.null_objective)


def test_lasso_paths_on_repeated_rows_converge():
    # the estimators' review (tests/test_estimators.py) found 891ccbe's change (adding dependent
    # columns one at a time) made these rank-deficient paths stall at max_iter; reverted
    rng = np.random.RandomState(42)
    X, y, sw = rng.rand(15, 30), rng.randint(0, 3, size=15).astype(float), rng.randint(0, 5, size=15)
    Xr, yr = np.vstack([X.repeat(sw, axis=0), X, X]), np.r_[y.repeat(sw), y, y]
    groups = np.r_[np.zeros(sw.sum()), np.ones(15), 2 * np.ones(15)]
    lams = nr.selection.lambda_grid(_lam_max(Xr, yr), 2, 0.1)
    for g in range(3):
        path = nr.regularization_path(Xr[groups != g], yr[groups != g], nr.L1, lams, tol=1e-3, max_iter=2000)
        assert path.converged.all() and path.n_iters.max() < 500
