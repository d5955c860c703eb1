r"""Regularization paths and choosing :math:`\lambda` by k-fold cross-validation (chapter 6).

A *regularization path* is the solution :math:`\hat w(\lambda)` of :func:`normreg.solvers.fit_linear`
for a decreasing sequence :math:`\lambda_1 > \lambda_2 > \dots`. It starts at

.. math::

    \lambda_{\max} = \frac{\|X^\top (y - \bar y)\|_\infty}{m},

the smallest :math:`\lambda` for which the lasso solution is :math:`w = 0` (divided by
``l1_ratio`` for the elastic net), and each solve starts from the previous solution (a *warm
start*), so that the whole path costs little more than one fit (Friedman, Hastie &
Tibshirani, 2010). With the default ``solver="auto"`` the lasso, elastic-net and group-lasso
paths use the working-set solver (:mod:`normreg.solvers.working_set`): the previous support
seeds the working set, gap safe screening discards coefficients that are certainly zero, and
each solve stops on its duality gap. With ``solver="fista"`` or ``"ista"`` the squared-loss
path instead discards, by the sequential strong rule, the coefficients that will probably stay
zero, and checks the optimality conditions afterwards; either way the answer is that of the
full problem.

:func:`select_lambda` estimates the validation loss of every :math:`\lambda` by k-fold
cross-validation and returns the best :math:`\lambda` and the one-standard-error choice
(Hastie, Tibshirani & Friedman, 2009, §7.10).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import as_float_array, check_scalar
from .penalties import L1, L2, ElasticNet, GroupLasso, Penalty
from .solvers import (
    ConvergenceWarning,
    Loss,
    Solver,
    _check_penalty,
    _check_solver,
    _check_tol_iter,
    _l1_threshold,
    _Problem,
    _solve,
)

__all__ = ["PathResult", "CVResult", "lambda_max", "lambda_grid", "regularization_path", "select_lambda", "kfold"]

PenaltyFactory = Callable[[float], Penalty]

#: glmnet's convention: for a pure or almost pure ridge penalty, lambda_max is that of l1_ratio = 0.001.
_MIN_L1_RATIO = 1e-3


@dataclass(frozen=True)
class PathResult:
    """What :func:`regularization_path` returns (one row per :math:`\\lambda`).

    Attributes
    ----------
    lams : ndarray of shape (n_lams,)
        The :math:`\\lambda` values, strictly decreasing.
    coefs : ndarray of shape (n_lams, n_features)
        ``coefs[i]`` is :math:`\\hat w(\\lambda_i)`, in ``X``'s dtype.
    intercepts : ndarray of shape (n_lams,)
    objectives : ndarray of shape (n_lams,)
        The objective at each solution, as tracked by the solver.
    n_iters : ndarray of shape (n_lams,)
        Iterations spent on each :math:`\\lambda`.
    converged : ndarray of shape (n_lams,), bool
    """

    lams: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    objectives: np.ndarray
    n_iters: np.ndarray
    converged: np.ndarray


@dataclass(frozen=True)
class CVResult:
    r"""What :func:`select_lambda` returns.

    Attributes
    ----------
    lams : ndarray of shape (n_lams,)
    fold_scores : ndarray of shape (n_folds, n_lams)
        Validation loss of the model fitted without fold ``k``, on fold ``k``.
    mean_scores : ndarray of shape (n_lams,)
        :math:`\bar s(\lambda) = \frac1K\sum_k s_k(\lambda)`.
    std_errors : ndarray of shape (n_lams,)
        :math:`\operatorname{SE}(\lambda) = \operatorname{sd}_k(s_k(\lambda))/\sqrt K` (``ddof=1``).
    best_index, best_lam :
        :math:`\hat\lambda = \arg\min_\lambda \bar s(\lambda)`.
    index_1se, lam_1se :
        The largest :math:`\lambda` with
        :math:`\bar s(\lambda) \le \bar s(\hat\lambda) + \operatorname{SE}(\hat\lambda)`.
    folds : list of (train, test) index arrays
        The splits used, so the computation can be repeated elsewhere (e.g. scikit-learn's ``cv=``).
    """

    lams: np.ndarray
    fold_scores: np.ndarray = field(repr=False)
    mean_scores: np.ndarray = field(repr=False)
    std_errors: np.ndarray = field(repr=False)
    best_index: int
    best_lam: float
    index_1se: int
    lam_1se: float
    folds: list[tuple[np.ndarray, np.ndarray]] = field(repr=False)


# ----------------------------------------------------------------------------------------------


def _probe_penalty(penalty_factory: Any, p: int) -> Penalty:
    if isinstance(penalty_factory, Penalty):
        # a penalty is callable too (its value), which used to end in a message about float64
        name = type(penalty_factory).__name__
        hint = {
            "GroupLasso": "lambda lam: nr.GroupLasso(lam, groups)",
            "ElasticNet": "lambda lam: nr.ElasticNet(lam, 0.5)",
        }
        raise TypeError(
            f"penalty_factory must be a callable lam -> penalty, which the path calls at every lambda; got the "
            f"penalty {penalty_factory!r}: pass {hint.get(name, 'nr.' + name)} instead"
        )
    if not callable(penalty_factory):
        raise TypeError(
            f"penalty_factory must be a callable lam -> penalty, e.g. nr.L1; got {type(penalty_factory).__name__}"
        )
    pen = penalty_factory(1.0)
    return _check_penalty(pen, p, name="penalty_factory(1.0)")  # type: ignore[return-value]


def _lambda_max(prob: _Problem, pen: Penalty) -> float:
    if isinstance(pen, GroupLasso):
        g = prob.grad0
        return max(float(np.linalg.norm(g[list(grp)])) / np.sqrt(len(grp)) for grp in pen.groups)
    if isinstance(pen, ElasticNet):
        return prob.g0 / max(pen.l1_ratio, _MIN_L1_RATIO)
    if isinstance(pen, L2):
        return prob.g0 / _MIN_L1_RATIO
    if isinstance(pen, L1):
        return prob.g0
    raise ValueError(f"lams must be given for a penalty whose lambda_max is unknown ({type(pen).__name__})")


def lambda_max(
    X: Any, y: Any, penalty_factory: PenaltyFactory = L1, loss: Loss = "squared", fit_intercept: bool = True
) -> float:
    r"""The smallest :math:`\lambda` at which the penalized fit is :math:`w = 0`.

    .. math::

        \lambda_{\max} = \frac{\|\nabla_w f(0, b_0)\|_\infty}{r}
        = \frac{\|X^\top (y - \bar y)\|_\infty}{r\,m}

    for ``L1`` (:math:`r = 1`) and ``ElasticNet`` (:math:`r` = ``l1_ratio``), with the best intercept
    :math:`b_0` for :math:`w = 0` (the second form holds for both losses with an intercept and labels
    in {0, 1}). For ``GroupLasso`` it is :math:`\max_g \|\nabla_{w_g} f\|_2/\sqrt{|g|}`. A ridge
    penalty never zeroes coefficients; as glmnet does, it gets the value of ``l1_ratio=0.001``.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> from normreg.selection import lambda_max
    >>> from normreg.solvers import fit_linear
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = np.array([1.0, 2.0, 4.0])
    >>> lam = lambda_max(X, y)
    >>> round(lam, 6)   # ||X^T (y - mean(y))||_inf / m = max(1/9, 4/9)
    0.444444
    >>> [int(np.count_nonzero(fit_linear(X, y, nr.L1(f * lam)).coef)) for f in (1.01, 0.99)]
    [0, 1]
    """
    prob = _Problem(X, y, loss, fit_intercept, precompute=False)
    return _lambda_max(prob, _probe_penalty(penalty_factory, prob.p))


def lambda_grid(lam_max: float, n_lams: int = 50, eps: float = 1e-3) -> np.ndarray:
    r"""``n_lams`` values from ``lam_max`` down to ``eps * lam_max``, evenly spaced on a log scale.

    Example
    -------
    >>> from normreg.selection import lambda_grid
    >>> lambda_grid(1.0, n_lams=3, eps=0.01)
    array([1.  , 0.1 , 0.01])
    """
    lm = check_scalar(lam_max, "lam_max", low=0.0, low_open=True)
    n = int(check_scalar(n_lams, "n_lams", low=1, integer=True))
    e = check_scalar(eps, "eps", low=0.0, high=1.0, low_open=True, high_open=True)
    if not lm * e > 0.0:
        raise ValueError(
            f"eps * lam_max must be a positive float64; got eps={e!r}, lam_max={lm!r} (it underflows to 0)"
        )
    grid = np.geomspace(lm, lm * e, n)
    if n > 1 and not (np.diff(grid) < 0).all():
        raise ValueError(
            f"n_lams={n} values between lam_max and eps * lam_max (eps={e!r}) are not all distinct in float64: "
            "use fewer n_lams or a smaller eps"
        )
    return grid


def _default_grid(prob: _Problem, probe: Penalty, n_lams: Any, eps: Any) -> np.ndarray:
    r""":func:`lambda_grid` from :func:`lambda_max`, with an error that names the data where
    :math:`\lambda_{\max} = 0` (every :math:`\lambda > 0` gives :math:`w = 0`)."""
    lam_max = _lambda_max(prob, probe)
    if lam_max == 0.0:
        raise ValueError(
            "lambda_max is 0 for this X and y (y is constant, or X^T (y - mean(y)) = 0): every lambda > 0 "
            "gives w = 0, so there is no default grid; pass lams explicitly"
        )
    return lambda_grid(lam_max, n_lams, eps)


def _check_lams(lams: Any) -> np.ndarray:
    arr = as_float_array(lams, "lams", ndim=1, allow_int=True).astype(np.float64)
    if (arr < 0).any():
        raise ValueError(f"lams must be >= 0; got {arr[arr < 0][:3].tolist()}")
    if arr.size > 1 and not (np.diff(arr) < 0).all():
        k = int(np.argmax(np.diff(arr) >= 0))
        raise ValueError(
            "lams must be strictly decreasing (the path is warm-started from large to small lambda); "
            f"got lams[{k}]={arr[k]!r}, lams[{k + 1}]={arr[k + 1]!r}"
        )
    return arr


def _path(
    prob: _Problem,
    penalty_factory: PenaltyFactory,
    lams: np.ndarray,
    solver: str,
    tol: float,
    max_iter: int,
) -> PathResult:
    n = lams.size
    coefs = np.empty((n, prob.p))
    intercepts = np.empty(n)
    objectives = np.empty(n)
    n_iters = np.empty(n, dtype=np.intp)
    converged = np.empty(n, dtype=bool)
    theta = prob.theta0(None, None)
    prev_thr: float | None = None
    L: float | None = None
    for i, lam in enumerate(lams):
        pen = _check_penalty(penalty_factory(float(lam)), prob.p, name=f"penalty_factory({lam!r})")
        raw = _solve(prob, pen, solver, tol, max_iter, theta, prev_threshold=prev_thr, track=False, lipschitz=L)
        theta = raw.theta
        prev_thr = _l1_threshold(pen)
        if solver != "gd":  # gd folds the ridge term into its L
            L = raw.lipschitz
        coefs[i], intercepts[i] = prob.split(theta)
        objectives[i] = raw.history[-1]
        n_iters[i] = raw.n_iter
        converged[i] = raw.converged
    return PathResult(lams.copy(), coefs.astype(prob.dtype, copy=False), intercepts, objectives, n_iters, converged)


def _warn_unconverged(res: PathResult, solver: str, max_iter: int, where: str = "") -> None:
    if not res.converged.all():
        bad = res.lams[~res.converged]
        warnings.warn(
            f"{where}regularization_path(solver={solver!r}): {bad.size} of {res.lams.size} lambdas stopped "
            f"before reaching tol, at max_iter={max_iter} or where the duality gap stalled at the rounding "
            f"floor of the arithmetic (largest {bad.max():.3g}); their converged flag is False",
            ConvergenceWarning,
            stacklevel=3,
        )


def regularization_path(
    X: Any,
    y: Any,
    penalty_factory: PenaltyFactory = L1,
    lams: Any = None,
    n_lams: int = 50,
    eps: float = 1e-3,
    loss: Loss = "squared",
    solver: Solver = "auto",
    fit_intercept: bool = True,
    tol: float = 1e-6,
    max_iter: int = 10_000,
) -> PathResult:
    r"""Solutions :math:`\hat w(\lambda)` for a decreasing grid of :math:`\lambda`, each warm-started from the last.

    Parameters
    ----------
    X, y : array_like
        Data, as for :func:`normreg.solvers.fit_linear`.
    penalty_factory : callable
        ``lam -> penalty``, e.g. ``nr.L1`` or ``lambda lam: nr.ElasticNet(lam, 0.5)``.
    lams : array_like, optional
        Strictly decreasing values of :math:`\lambda`. Default: ``n_lams`` values from
        :func:`lambda_max` down to ``eps`` times it, log-spaced (:func:`lambda_grid`).
    n_lams, eps : int, float
        The default grid.
    loss, solver, fit_intercept, tol, max_iter :
        As for :func:`normreg.solvers.fit_linear` (``max_iter`` per :math:`\lambda`).

    Returns
    -------
    PathResult
        ``lams``, ``coefs`` of shape (n_lams, n_features), ``intercepts``, ``objectives``, ``n_iters``, ``converged``.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> from normreg.datasets import make_sparse_regression
    >>> from normreg.selection import regularization_path
    >>> data = make_sparse_regression(100, 8, 3, seed=0)
    >>> path = regularization_path(data.X, data.y, nr.L1, n_lams=5, eps=0.01)
    >>> path.coefs.shape, [int(np.count_nonzero(c)) for c in path.coefs]
    ((5, 8), [0, 3, 3, 5, 7])
    """
    solver = _check_solver(solver)
    tol_, max_iter_ = _check_tol_iter(tol, max_iter)
    # over a whole path the Gram matrix (m p^2/2 once, then no pass over X) pays for itself
    # up to p of a few thousand for the working-set solver (its active-set method runs on it),
    # always for the first-order solvers
    gram_p = 2048 if solver in ("auto", "working-set") else np.inf
    prob = _Problem(X, y, loss, fit_intercept, gram_auto_p=gram_p)
    probe = _probe_penalty(penalty_factory, prob.p)
    grid = _check_lams(lams) if lams is not None else _default_grid(prob, probe, n_lams, eps)
    res = _path(prob, penalty_factory, grid, solver, tol_, max_iter_)
    _warn_unconverged(res, solver, max_iter_)
    return res


def kfold(n_samples: int, n_folds: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled k-fold splits ``[(train, test), ...]``: the first ``n_samples % n_folds`` folds have one more sample.

    Example
    -------
    >>> from normreg.selection import kfold
    >>> [test.tolist() for _, test in kfold(5, 2, seed=0)]
    [[2, 3, 4], [0, 1]]
    """
    m = int(check_scalar(n_samples, "n_samples", low=2, integer=True))
    k = int(check_scalar(n_folds, "cv", low=2, high=m, integer=True))
    perm = np.random.default_rng(int(check_scalar(seed, "seed", low=0, integer=True))).permutation(m)
    sizes = np.full(k, m // k)
    sizes[: m % k] += 1
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        test = np.sort(perm[a:b])
        mask = np.ones(m, dtype=bool)
        mask[test] = False
        out.append((np.flatnonzero(mask), test))
    return out


def _check_folds(cv: Any, m: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, (bool, np.bool_)):
        return kfold(m, int(cv), seed)
    if isinstance(cv, (str, bytes)) or not isinstance(cv, Iterable):
        raise TypeError(f"cv must be a number of folds or an iterable of (train, test) index arrays; got {cv!r}")
    folds = []
    for k, split in enumerate(cv):
        try:
            train, test = split
        except (TypeError, ValueError) as exc:
            raise TypeError(f"cv[{k}] must be a pair (train, test) of index arrays") from exc
        pair = []
        for name, idx in (("train", train), ("test", test)):
            arr = np.asarray(idx)
            if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
                raise ValueError(f"cv[{k}] {name} indices must be a non-empty 1-D integer array; got {arr!r}")
            if arr.min() < 0 or arr.max() >= m:
                raise ValueError(f"cv[{k}] {name} indices must lie in [0, {m}); got {arr.min()}..{arr.max()}")
            pair.append(arr.astype(np.intp))
        folds.append((pair[0], pair[1]))
    if len(folds) < 2:
        raise ValueError(f"cv must give at least 2 folds; got {len(folds)}")
    return folds


def _validation_loss(X: np.ndarray, y: np.ndarray, res: PathResult, loss: str) -> np.ndarray:
    """Validation loss of every solution on the path (the book's convention: the mean loss, 1/2 for squared)."""
    Z = X @ res.coefs.astype(np.float64).T + res.intercepts  # (m_val, n_lams)
    if loss == "squared":
        return 0.5 * np.mean((Z - y[:, None]) ** 2, axis=0)
    s = np.where(y > 0, 1.0, -1.0)
    return np.mean(np.logaddexp(0.0, -s[:, None] * Z), axis=0)


def select_lambda(
    X: Any,
    y: Any,
    penalty_factory: PenaltyFactory = L1,
    lams: Any = None,
    cv: int | Sequence[tuple[Any, Any]] = 5,
    seed: int = 0,
    loss: Loss = "squared",
    solver: Solver = "auto",
    fit_intercept: bool = True,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    n_lams: int = 50,
    eps: float = 1e-3,
) -> CVResult:
    r"""Choose :math:`\lambda` by k-fold cross-validation.

    For each fold :math:`k` the path is fitted on the other folds and scored on fold :math:`k` by
    the validation loss :math:`s_k(\lambda)` (the training loss's formula: :math:`\frac{1}{2m_k}\sum(\hat y - y)^2`
    for the squared loss, half the mean squared error, or the mean logistic loss). Then

    .. math::

        \bar s(\lambda) = \frac1K\sum_{k=1}^K s_k(\lambda), \qquad
        \operatorname{SE}(\lambda)
        = \frac{1}{\sqrt K}\sqrt{\frac{1}{K-1}\sum_k \big(s_k(\lambda) - \bar s(\lambda)\big)^2},

    :math:`\hat\lambda = \arg\min \bar s`, and the one-standard-error rule picks the largest
    :math:`\lambda` with :math:`\bar s(\lambda) \le \bar s(\hat\lambda) + \operatorname{SE}(\hat\lambda)`:
    the simplest model that is statistically as good as the best one.

    Parameters
    ----------
    X, y, penalty_factory, loss, solver, fit_intercept, tol, max_iter :
        As for :func:`regularization_path`.
    lams : array_like, optional
        Strictly decreasing grid; default: :func:`lambda_grid` from :func:`lambda_max` of all the data.
    cv : int or iterable of (train, test)
        Number of folds (shuffled with ``seed``, see :func:`kfold`), or the splits themselves, e.g.
        ``sklearn.model_selection.KFold(5).split(X)``.
    seed : int
        Seed of the shuffle when ``cv`` is a number.

    Returns
    -------
    CVResult

    Example
    -------
    >>> import normreg as nr
    >>> from normreg.datasets import make_sparse_regression
    >>> from normreg.selection import select_lambda
    >>> data = make_sparse_regression(100, 20, 3, noise=1.0, seed=0)
    >>> res = select_lambda(data.X, data.y, nr.L1, n_lams=20, cv=5, seed=0)
    >>> res.lam_1se >= res.best_lam
    True
    """
    solver = _check_solver(solver)
    tol_, max_iter_ = _check_tol_iter(tol, max_iter)
    full = _Problem(X, y, loss, fit_intercept, precompute=False)
    probe = _probe_penalty(penalty_factory, full.p)
    grid = _check_lams(lams) if lams is not None else _default_grid(full, probe, n_lams, eps)
    seed_ = int(check_scalar(seed, "seed", low=0, integer=True))
    folds = _check_folds(cv, full.m, seed_)
    scores = np.empty((len(folds), grid.size))
    for k, (train, test) in enumerate(folds):
        gram_p = 2048 if solver in ("auto", "working-set") else np.inf
        prob = _Problem(full.X[train], full.y[train], loss, fit_intercept, gram_auto_p=gram_p)
        res = _path(prob, penalty_factory, grid, solver, tol_, max_iter_)
        _warn_unconverged(res, solver, max_iter_, where=f"select_lambda fold {k}: ")
        scores[k] = _validation_loss(full.X[test], full.y[test], res, loss)
    mean = scores.mean(axis=0)
    se = scores.std(axis=0, ddof=1) / np.sqrt(len(folds))
    best = int(np.argmin(mean))
    i1se = int(np.flatnonzero(mean <= mean[best] + se[best])[0])
    return CVResult(
        lams=grid,
        fold_scores=scores,
        mean_scores=mean,
        std_errors=se,
        best_index=best,
        best_lam=float(grid[best]),
        index_1se=i1se,
        lam_1se=float(grid[i1se]),
        folds=folds,
    )
