"""The public entry points: :func:`fit_linear`, its result, and the objective and gradient
written out for readers (chapter 4)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._validation import as_float_array, check_scalar
from ..penalties import Penalty
from .duality import _structure
from .losses import _power_iteration, _SquaredGram
from .problem import (
    Loss,
    Solver,
    _check_coef,
    _check_loss,
    _check_penalty,
    _check_solver,
    _check_tol_iter,
    _check_Xy,
    _loss_value,
    _Problem,
    _smooth_l2,
)
from .proximal import _penalty_ops, _proximal_gradient, _Raw, _subgradient
from .screening import _l1_threshold, _screened
from .working_set import certificate, null_objective, working_set


class ConvergenceWarning(UserWarning):
    """A solver stopped at ``max_iter`` before meeting its tolerance; the result says ``converged=False``."""


@dataclass(frozen=True)
class FitResult:
    r"""What :func:`fit_linear` returns.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        The coefficients :math:`w`, in ``X``'s dtype.
    intercept : float
        The intercept :math:`b` (``0.0`` if ``fit_intercept=False``).
    objective : float
        :math:`F(w, b)` at the solution, computed from the data in float64 (for float32 input,
        at the float64 solution before ``coef`` is rounded to float32; so are ``gap`` and
        ``intercept``).
    n_iter : int
        Iterations performed.
    history : ndarray of shape (n_iter + 1,)
        :math:`F` at the starting point and after each iteration (float64).
    converged : bool
        Whether the stopping rule was met before ``max_iter``.
    residual : float
        The last optimality measure, to compare with ``tol``: the relative duality gap
        ``gap / null_objective`` for the working-set solver, :math:`\|G_t\|_\infty / g_0` for
        the first-order solvers.
    lipschitz : float
        The final :math:`L` (the step size was :math:`1/L`).
    solver, loss : str
        The solver and loss used (``"auto"`` is resolved: ``"working-set"`` or ``"fista"``).
    gap : float
        The duality gap at the returned point (:mod:`normreg.solvers.duality`), a certified
        upper bound on ``objective`` minus the optimal objective; NaN where the problem has no
        such certificate here (no penalty, or ``lam = 0``).
    null_objective : float
        :math:`F_0`, the objective of the model with :math:`w = 0` and its best intercept: the
        scale of ``tol`` for the working-set solver.
    """

    coef: np.ndarray
    intercept: float
    objective: float
    n_iter: int
    history: np.ndarray = field(repr=False)
    converged: bool
    residual: float
    lipschitz: float
    solver: str
    loss: str
    gap: float = math.nan
    null_objective: float = math.nan



def _solve(
    prob: _Problem,
    penalty: Penalty | None,
    solver: str,
    tol: float,
    max_iter: int,
    theta0: np.ndarray,
    restart: bool = True,
    callback: Callable[[int, np.ndarray], Any] | None = None,
    prev_threshold: float | None = None,
    screen: bool = True,
    track: bool = True,
    lipschitz: float | None = None,
) -> _Raw:
    """Run ``solver`` on the prepared problem from ``theta0``.

    ``prev_threshold`` and ``lipschitz`` carry state along a regularization path: the previous
    soft-threshold level (for the strong rule) and the previous final L (a starting step).
    """
    if solver in ("auto", "working-set"):
        st = _structure(penalty)
        if st is not None and st.kind in ("l1", "group"):
            return working_set(prob, penalty, st, tol, max_iter, theta0, callback, track, restart)  # type: ignore[arg-type]
        if solver == "working-set":
            raise ValueError(
                "solver='working-set' needs a sparse penalty (L1, ElasticNet with l1_ratio > 0 or "
                f"GroupLasso, with lam > 0); got {penalty!r}: use solver='auto' or 'fista'"
            )
        raw = _solve(prob, penalty, "fista", tol, max_iter, theta0, restart, callback, prev_threshold, screen, track,
                     lipschitz)  # fmt: skip
        raw.solver = "fista"
        return raw
    if solver == "subgradient":
        L = prob.lipschitz_global
    else:
        L = prob.lipschitz if lipschitz is None else lipschitz
    tol_abs = tol * prob.scale
    # the logistic intercept's gradient is a mean of numbers in [-1, 1], whatever the scale of
    # X: it is held to tol * min(g0, 1), not tol * g0 (a g0 that grows with X let FISTA stop
    # with the intercept 0.06 off on features scaled by 1e6)
    bw = max(prob.scale, 1.0) if prob.q > prob.p else 1.0
    sm = prob.smooth
    if solver == "gd":
        l2 = _smooth_l2(penalty)
        if l2 is None:
            raise ValueError(
                f"solver='gd' needs a smooth penalty (None, L2, ElasticNet with l1_ratio=0); got {penalty!r}: "
                "use solver='ista', 'fista' or 'subgradient'"
            )
        if l2:
            sm = sm.with_l2(l2)
            L = L + l2
        return _proximal_gradient(
            sm, lambda v, t: v, lambda v: 0.0, theta0, L, tol_abs, max_iter, False, False, callback, prob.p,
            track=track, b_weight=bw,
        )
    prox, value, grad = _penalty_ops(penalty, prob.p, prob.q)
    if solver == "subgradient":
        return _subgradient(sm, prox, value, grad, theta0, L, tol_abs, max_iter, callback, prob.p, b_weight=bw)
    thr = _l1_threshold(penalty)
    accelerate = solver == "fista"
    if screen and thr is not None and isinstance(sm, _SquaredGram):
        prev = prob.g0 if prev_threshold is None else prev_threshold
        return _screened(
            sm, prox, value, theta0, L, tol_abs, max_iter, accelerate, restart, callback, thr, prev, track
        )
    return _proximal_gradient(
        sm, prox, value, theta0, L, tol_abs, max_iter, accelerate, restart, callback, prob.p, track=track,
        b_weight=bw,
    )



def fit_linear(
    X: Any,
    y: Any,
    penalty: Penalty | None = None,
    loss: Loss = "squared",
    solver: Solver = "auto",
    fit_intercept: bool = True,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    *,
    coef_init: Any = None,
    intercept_init: float | None = None,
    restart: bool = True,
    precompute: bool | Literal["auto"] = "auto",
    callback: Callable[[int, np.ndarray], Any] | None = None,
) -> FitResult:
    r"""Fit a linear model with a norm penalty: minimize :math:`f(w, b) + \Omega(w)` (see the module docs).

    Parameters
    ----------
    X : array_like of shape (m, p)
        Design matrix (float32/float64; integers are converted).
    y : array_like of shape (m,)
        Targets; for ``loss="logistic"`` binary labels in {0, 1} or {-1, 1}.
    penalty : Penalty or None
        :math:`\Omega`, e.g. ``nr.L1(0.1)``; ``None`` fits the unpenalized model.
    loss : {"squared", "logistic"}
        :math:`\frac{1}{2m}\|Xw + b - y\|^2` or the mean logistic loss.
    solver : {"auto", "working-set", "fista", "ista", "gd", "subgradient"}
        See the module docs. ``"auto"`` (the default) is the working-set solver for ``L1``,
        ``ElasticNet`` with ``l1_ratio > 0`` and ``GroupLasso`` (both losses), and FISTA
        otherwise; ``"gd"`` only for smooth penalties.
    fit_intercept : bool
        Fit an (unpenalized) intercept :math:`b`.
    tol : float
        The working-set solver stops on a certificate: when the duality gap, which bounds
        :math:`F(w, b) - F^\star` from above, is at most ``tol`` times :math:`F_0`, the
        objective of the model with :math:`w = 0` and its best intercept; so ``tol=1e-6``
        guarantees an objective within a millionth of :math:`F_0` of the optimum; it also
        requires that no zero coefficient violates its optimality condition by more than
        ``tol`` times :math:`g_0` (the first-order solvers' scale, below). The
        first-order solvers of chapter 4 (``"fista"``, ``"ista"``, ``"gd"``,
        ``"subgradient"``) stop when :math:`\|G_t\|_\infty \le \texttt{tol}\cdot g_0` (the
        gradient-mapping rule above); their result carries the gap too. A ``tol`` below
        what float64 arithmetic can certify (about ``1e-13`` on ill-conditioned data) ends
        the working-set solver early with the best point found, ``converged=False`` and a
        :class:`ConvergenceWarning` saying why.
    max_iter : int
        At most this many iterations (>= 1); reaching it warns with :class:`ConvergenceWarning`.
    coef_init, intercept_init : optional
        Starting point (warm start). For the squared loss the intercept is eliminated and
        ``intercept_init`` is ignored.
    restart : bool
        FISTA's adaptive (gradient) restart.
    precompute : bool or "auto"
        Squared loss: work with the Gram matrix :math:`X_c^\top X_c/m` ("auto": if :math:`m \ge p`
        and :math:`p \le 128`). The working-set solver always uses the Gram matrix of its
        working set.
    callback : callable, optional
        Called as ``callback(k, coef)`` after each iteration ``k`` with a copy of the coefficients.

    Returns
    -------
    FitResult
        ``coef``, ``intercept``, ``objective``, ``n_iter``, ``history``, ``converged``, ...

    Raises
    ------
    ValueError
        Mismatched or non-finite ``X``/``y``, non-binary labels for the logistic loss,
        ``tol <= 0``, ``max_iter < 1``, an unknown ``loss``/``solver``, ``solver="gd"`` with
        a non-smooth penalty, or ``X`` (or, for the squared loss, the centred ``y``) with a
        largest entry outside :math:`[10^{-150}, 10^{150}/\sqrt m]`, where the squares the
        solvers form would leave float64's normal range (rescale the data, and ``lam`` with it).
    TypeError
        A ``penalty`` that is not a normreg penalty, non-numeric input.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> from normreg.datasets import make_sparse_regression
    >>> from normreg.solvers import fit_linear
    >>> data = make_sparse_regression(200, 10, 3, noise=0.1, seed=0)
    >>> res = fit_linear(data.X, data.y, nr.L1(0.05), tol=1e-10)
    >>> res.converged, int(np.count_nonzero(res.coef)), res.solver
    (True, 3, 'working-set')
    >>> bool(res.gap <= 1e-10 * res.null_objective)   # the certificate behind converged=True
    True
    """
    solver = _check_solver(solver)
    tol_, max_iter_ = _check_tol_iter(tol, max_iter)
    if not isinstance(restart, (bool, np.bool_)):
        raise TypeError(f"restart must be True or False; got {restart!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {type(callback).__name__}")
    prob = _Problem(X, y, loss, fit_intercept, precompute)
    pen = _check_penalty(penalty, prob.p)
    if solver == "gd" and _smooth_l2(pen) is None:
        raise ValueError(
            f"solver='gd' needs a smooth penalty (None, L2, ElasticNet with l1_ratio=0); got {pen!r}: "
            "use solver='ista', 'fista' or 'subgradient'"
        )
    raw = _solve(prob, pen, solver, tol_, max_iter_, prob.theta0(coef_init, intercept_init), restart, callback)
    res = _result(prob, pen, raw.solver or solver, raw)
    if not res.converged:
        if raw.stalled:
            why = (
                f"stopped after {res.n_iter} iterations before reaching tol={tol_:g}: the duality gap "
                f"stopped decreasing at {res.residual:.3g} of F0 (the rounding floor of the arithmetic "
                "for this problem: a smaller tol cannot be certified); the result is the best point "
                "found and has converged=False"
            )
        else:
            why = (
                f"stopped at max_iter={max_iter_} before reaching tol={tol_:g} "
                f"(residual {res.residual:.3g}); the result has converged=False"
            )
        warnings.warn(f"fit_linear(solver={solver!r}) {why}", ConvergenceWarning, stacklevel=2)
    return res


def _result(prob: _Problem, pen: Penalty | None, solver: str, raw: _Raw) -> FitResult:
    w, b = prob.split(raw.theta)
    objective = prob.exact_objective(w, b, pen)
    if not np.isfinite(objective):
        raise FloatingPointError(f"fit_linear(solver={solver!r}) diverged: the objective is {objective}")
    return FitResult(
        coef=w.astype(prob.dtype, copy=False),
        intercept=float(b),
        objective=objective,
        n_iter=raw.n_iter,
        history=np.asarray(raw.history, dtype=np.float64),
        converged=raw.converged,
        residual=raw.residual if raw.relative else raw.residual / prob.scale,
        lipschitz=raw.lipschitz,
        solver=solver,
        loss=prob.loss,
        gap=raw.gap if not math.isnan(raw.gap) else certificate(prob, pen, raw.theta),
        null_objective=null_objective(prob),
    )



def duality_gap(
    X: Any,
    y: Any,
    coef: Any,
    intercept: float = 0.0,
    penalty: Penalty | None = None,
    loss: Loss = "squared",
    fit_intercept: bool = True,
) -> float:
    r"""The duality gap at :math:`(w, b)`: a certified upper bound on :math:`F(w, b) - F^\star`.

    For the lasso, the elastic net, the group lasso and ridge, with either loss (see
    :mod:`normreg.solvers.duality` for the dual points). It is :math:`\ge 0`, zero exactly at a
    minimizer, and needs no knowledge of :math:`F^\star`: this is what the working-set solver
    stops on. NaN where there is no certificate (no penalty, or ``lam = 0``).
    ``fit_intercept`` says which problem :math:`F^\star` is the optimum of, as in
    :func:`fit_linear`: with ``False`` the model has no intercept (``intercept`` must be 0),
    and the gap vanishes at that model's minimizer, not the one with an intercept.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> from normreg.solvers import duality_gap, fit_linear, objective
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = np.array([1.0, 2.0, 4.0])
    >>> res = fit_linear(X, y, nr.L1(0.1), tol=1e-12)
    >>> bool(duality_gap(X, y, res.coef, res.intercept, nr.L1(0.1)) < 1e-12)
    True
    >>> gap = duality_gap(X, y, np.zeros(2), 0.0, nr.L1(0.1))   # at w = 0, b = 0
    >>> excess = objective(X, y, np.zeros(2), 0.0, nr.L1(0.1)) - res.objective   # F(0, 0) - F*
    >>> round(gap, 4), round(excess, 4), bool(gap >= excess)
    (3.1894, 3.09, True)
    """
    loss = _check_loss(loss)
    Xa, ya, _ = _check_Xy(X, y, loss)
    w = _check_coef(coef, Xa.shape[1])
    b = check_scalar(intercept, "intercept")
    pen = _check_penalty(penalty, Xa.shape[1])
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be True or False; got {fit_intercept!r}")
    prob = _Problem(Xa, ya, loss, bool(fit_intercept), precompute=False)
    if not fit_intercept:
        if b != 0.0:
            raise ValueError(f"intercept must be 0 with fit_intercept=False (a model without one); got {b!r}")
        return certificate(prob, pen, w)
    if loss == "squared":
        # the intercept is eliminated: the gap at (w, b*(w)) plus F(w, b) - F(w, b*(w)),
        # which is (b - b*)^2 / 2 for the squared loss
        b_star = prob.ybar - float(prob.xbar @ w)
        return certificate(prob, pen, w) + 0.5 * (b - b_star) ** 2
    return certificate(prob, pen, np.concatenate((w, [b])))


def objective(
    X: Any, y: Any, coef: Any, intercept: float = 0.0, penalty: Penalty | None = None, loss: Loss = "squared"
) -> float:
    r"""The penalized objective :math:`F(w, b) = f(w, b) + \Omega(w)` that :func:`fit_linear` minimizes.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> from normreg.solvers import objective
    >>> X, y = np.eye(2), np.array([1.0, 3.0])
    >>> objective(X, y, np.zeros(2), penalty=nr.L1(1.0))   # (1 + 9) / (2 * 2)
    2.5
    """
    loss = _check_loss(loss)
    Xa, ya, _ = _check_Xy(X, y, loss)
    w = _check_coef(coef, Xa.shape[1])
    b = check_scalar(intercept, "intercept")
    pen = _check_penalty(penalty, Xa.shape[1])
    return _loss_value(Xa, ya, w, b, loss) + (float(pen(w)) if pen is not None else 0.0)


def gradient(
    X: Any, y: Any, coef: Any, intercept: float = 0.0, penalty: Penalty | None = None, loss: Loss = "squared"
) -> tuple[np.ndarray, float]:
    r"""Gradient :math:`(\nabla_w F, \partial F/\partial b)` of the penalized objective.

    .. math::

        \nabla_w F = \frac1m X^\top r + \nabla\Omega(w), \qquad \frac{\partial F}{\partial b} = \frac1m \sum_i r_i,

    with :math:`r = Xw + b - y` for the squared loss and
    :math:`r_i = -\tilde y_i\,\sigma(-\tilde y_i(x_i^\top w + b))` for the logistic loss
    (:math:`\sigma` the sigmoid). Where :math:`\Omega` has a kink the penalty's minimum-norm
    subgradient is used (for ``L1``: 0 at :math:`w_i = 0`).

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> from normreg.solvers import gradient
    >>> gw, gb = gradient(np.eye(2), np.array([1.0, 3.0]), np.zeros(2), penalty=nr.L2(1.0))
    >>> gw, gb
    (array([-0.5, -1.5]), -2.0)
    """
    loss = _check_loss(loss)
    Xa, ya, _ = _check_Xy(X, y, loss)
    w = _check_coef(coef, Xa.shape[1])
    b = check_scalar(intercept, "intercept")
    pen = _check_penalty(penalty, Xa.shape[1])
    z = Xa @ w + b
    if loss == "squared":
        r = z - ya
    else:
        s = np.where(ya > 0, 1.0, -1.0)
        r = -s * np.exp(-np.logaddexp(0.0, s * z))
    m = Xa.shape[0]
    gw = Xa.T @ r / m
    if pen is not None:
        gw = gw + pen.grad(w)
    return gw, float(r.sum() / m)



def lipschitz_constant(X: Any, loss: Loss = "squared", fit_intercept: bool = True) -> float:
    r"""The Lipschitz constant :math:`L` of :math:`\nabla f` (by power iteration), so :math:`1/L` is a safe step.

    :math:`L = \lambda_{\max}(X_c^\top X_c)/m` for the squared loss (:math:`X_c` centered if
    ``fit_intercept``), :math:`\lambda_{\max}(\tilde X^\top \tilde X)/(4m)` with
    :math:`\tilde X = [X, 1]` for the logistic loss.

    Example
    -------
    >>> import numpy as np
    >>> from normreg.solvers import lipschitz_constant
    >>> round(lipschitz_constant(np.diag([1.0, 2.0]), fit_intercept=False), 6)   # largest eigenvalue of X^T X / 2
    2.0
    """
    Xa = as_float_array(X, "X", ndim=2, allow_int=True)
    m = Xa.shape[0]
    y = np.zeros(m) if loss == "squared" else (np.arange(m) % 2).astype(np.float64)
    if loss == "logistic" and m < 2:
        raise ValueError(f"X must have at least 2 rows for the logistic loss; got {m}")
    prob = _Problem(Xa, y, loss, fit_intercept)
    return _power_iteration(prob.smooth.hess_bound, prob.q, n_iter=10_000, rtol=1e-12)


def numerical_gradient(fun: Callable[[np.ndarray], float], x: Any, h: float = 1e-6, central: bool = True) -> np.ndarray:
    r"""Finite-difference gradient of a scalar function, for checking an analytic gradient.

    Central differences :math:`\frac{f(x + h e_i) - f(x - h e_i)}{2h}` have truncation error
    :math:`O(h^2)`; forward differences :math:`\frac{f(x + h e_i) - f(x)}{h}` only :math:`O(h)`.
    Both suffer a rounding error of about :math:`\varepsilon |f| / h`, so ``h`` should be neither
    too large nor too small (about :math:`\varepsilon^{1/3}` for central differences).

    Example
    -------
    >>> import numpy as np
    >>> from normreg.solvers import numerical_gradient
    >>> numerical_gradient(lambda v: float(v @ v), np.array([1.0, -2.0])).round(8)
    array([ 2., -4.])
    """
    xa = as_float_array(x, "x", ndim=1, allow_int=True).astype(np.float64)
    hh = check_scalar(h, "h", low=0.0, low_open=True)
    if not callable(fun):
        raise TypeError(f"fun must be callable; got {type(fun).__name__}")
    out = np.empty_like(xa)
    f0 = None if central else float(fun(xa))
    for i in range(xa.size):
        e = np.zeros_like(xa)
        e[i] = hh
        if central:
            out[i] = (float(fun(xa + e)) - float(fun(xa - e))) / (2 * hh)
        else:
            out[i] = (float(fun(xa + e)) - f0) / hh  # type: ignore[operator]
    return out
