"""Validation of the data and options, and the prepared problem shared by :func:`fit_linear`,
the regularization path and cross-validation (built once per data set)."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from .._validation import as_float_array, check_scalar
from ..penalties import L2, ElasticNet, Penalty
from .losses import _lanczos_max, _Logistic, _Smooth, _SquaredData, _SquaredGram

LOSSES = ("squared", "logistic")
SOLVERS = ("auto", "working-set", "fista", "ista", "gd", "subgradient")

Loss = Literal["squared", "logistic"]
Solver = Literal["auto", "working-set", "fista", "ista", "gd", "subgradient"]


def _check_loss(loss: Any) -> str:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    return loss


def _check_solver(solver: Any) -> str:
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}; got {solver!r}")
    return solver


def _check_Xy(X: Any, y: Any, loss: str) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    Xa = as_float_array(X, "X", ndim=2, allow_int=True)
    ya = as_float_array(y, "y", ndim=1, allow_int=True)
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"y must have one entry per row of X ({Xa.shape[0]}); got {ya.shape[0]} entries")
    dtype = Xa.dtype
    Xa = np.ascontiguousarray(Xa, dtype=np.float64)
    ya = ya.astype(np.float64, copy=False)
    if loss == "logistic":
        labels = np.unique(ya)
        if not (set(labels.tolist()) <= {0.0, 1.0} or set(labels.tolist()) <= {-1.0, 1.0}) or labels.size != 2:
            shown = labels[:5].tolist()
            raise ValueError(
                "y must hold binary labels, both classes present, as {0, 1} or {-1, 1} for the logistic loss; "
                f"got labels {shown}{' ...' if labels.size > 5 else ''}"
            )
    return Xa, ya, dtype


def _check_penalty(penalty: Any, p: int, name: str = "penalty") -> Penalty | None:
    if penalty is None:
        return None
    if not isinstance(penalty, Penalty):
        raise TypeError(
            f"{name} must be a normreg penalty (L1, L2, ElasticNet, GroupLasso) or None; got {type(penalty).__name__}"
        )
    try:
        penalty(np.zeros(p))  # GroupLasso checks that its groups cover the p coefficients
    except ValueError as exc:
        raise ValueError(f"{name} {penalty!r} does not fit {p} coefficients: {exc}") from exc
    return penalty


def _smooth_l2(penalty: Penalty | None) -> float | None:
    """The L2 coefficient if ``penalty`` is smooth (a ridge term or nothing), else None."""
    if penalty is None or penalty.lam == 0.0:
        return 0.0
    if isinstance(penalty, L2):
        return penalty.lam
    if isinstance(penalty, ElasticNet) and penalty.l1_ratio == 0.0:
        return penalty.lam
    return None


#: The range of entries the solvers handle: squares of entries, summed over the m rows (the
#: Gram matrix, the Lipschitz constant, the loss), must stay in float64's normal range.
_SCALE_LOW, _SCALE_HIGH = 1e-150, 1e150


def _check_scale(a: np.ndarray, name: str, m: int) -> None:
    """Refuse data whose squares leave float64's normal range (a clear error, where the solvers
    would otherwise return a wrong point or loop: the review of issue 14 found both)."""
    top = max(float(a.max()), -float(a.min()))  # max |a| without a copy of X
    if top == 0.0 or _SCALE_LOW <= top <= _SCALE_HIGH / math.sqrt(m):
        return
    if name == "X":
        what = "its columns' squared norms (the Gram matrix, the Lipschitz constant)"
    else:
        what = "the squared loss"
    raise ValueError(
        f"{name} is too {'small' if top < _SCALE_LOW else 'large'} for float64: its largest entry"
        f"{' after centring' if name == 'y' else ''} is {top:.3g}, and {what} would "
        f"{'underflow' if top < _SCALE_LOW else 'overflow'} (entries must lie within "
        f"[{_SCALE_LOW:g}, {_SCALE_HIGH:g}/sqrt(m)]); rescale {name} (e.g. divide it by {top:.0e}) "
        "and lam with it"
    )


class _Problem:
    """Validated data, the smooth part, the scale g0 and a Lipschitz estimate, built once."""

    def __init__(
        self, X: Any, y: Any, loss: str, fit_intercept: bool, precompute: Any = "auto", gram_auto_p: float = 128
    ) -> None:
        self.loss = _check_loss(loss)
        if not isinstance(fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be True or False; got {fit_intercept!r}")
        self.fit_intercept = bool(fit_intercept)
        if precompute not in ("auto", True, False):
            raise ValueError(f"precompute must be 'auto', True or False; got {precompute!r}")
        X, y, self.dtype = _check_Xy(X, y, loss)
        self.X, self.y = X, y
        self.m, self.p = X.shape
        m = self.m
        _check_scale(X, "X", m)
        if loss == "squared":
            _check_scale(y - y.mean() if fit_intercept else y, "y", m)
        if loss == "squared":
            if fit_intercept:
                self.xbar = X.mean(axis=0)
                self.ybar = float(y.mean())
            else:
                self.xbar = np.zeros(self.p)
                self.ybar = 0.0
            yc = y - self.ybar
            if precompute == "auto":
                # The Gram matrix costs about m p^2/2 operations once, then p^2 per iteration
                # instead of 2mp: worth it for small p, or over a whole path (gram_auto_p=inf).
                use_gram = m >= self.p and self.p <= gram_auto_p
            else:
                use_gram = bool(precompute)
            if use_gram:
                if fit_intercept:
                    Xc = X - self.xbar  # centering before the product keeps the Gram matrix accurate
                    G = Xc.T @ Xc
                    c = Xc.T @ yc
                else:
                    G = X.T @ X
                    c = X.T @ yc
                G /= m
                c /= m
                self.smooth: _Smooth = _SquaredGram(G, c, float(yc @ yc) / (2 * m))
                self.grad0 = -c
            else:
                self.smooth = _SquaredData(X, self.xbar if fit_intercept else None, yc)
                self.grad0 = -self.smooth._rmatvec(yc) / m
            self.q = self.p
        else:
            self.s = np.where(y > 0, 1.0, -1.0)
            self.smooth = _Logistic(X, self.s, self.fit_intercept)
            y01 = (self.s + 1.0) / 2.0
            r = (y01.mean() if fit_intercept else 0.5) - y01
            self.grad0 = X.T @ r / m
            self.q = self.smooth.q
        #: gradient of the loss in w at w = 0 (with the best intercept for w = 0), and its size g0
        self.g0 = float(np.abs(self.grad0).max())
        if not np.isfinite(self.g0):
            raise ValueError("X and y are too large: the gradient at w = 0 overflows")
        self.scale = self.g0 if self.g0 > 0.0 else 1.0
        self._lipschitz: float | None = None
        self._lipschitz_global: float | None = None

    @property
    def lipschitz(self) -> float:
        """A starting L for the line search: two Lanczos steps, a cheap lower estimate of the
        Lipschitz constant. Backtracking raises it only where the iterates need it, which in
        practice gives longer steps than the global constant would."""
        if self._lipschitz is None:
            L = _lanczos_max(self.smooth.hess_bound, self.q, n_iter=2)
            self._lipschitz = L if L > 0.0 else 1.0
        return self._lipschitz

    @property
    def lipschitz_global(self) -> float:
        """The Lipschitz constant itself (to 0.1 %), for the subgradient method, which has no line search."""
        if self._lipschitz_global is None:
            L = _lanczos_max(self.smooth.hess_bound, self.q, n_iter=30, rtol=1e-4)
            self._lipschitz_global = L if L > 0.0 else 1.0
        return self._lipschitz_global

    def theta0(self, coef_init: Any, intercept_init: Any) -> np.ndarray:
        theta = np.zeros(self.q)
        if coef_init is not None:
            w = as_float_array(coef_init, "coef_init", ndim=1, allow_int=True)
            if w.shape[0] != self.p:
                raise ValueError(f"coef_init must have one entry per column of X ({self.p}); got {w.shape[0]}")
            theta[: self.p] = w
        if self.loss == "logistic" and self.fit_intercept:
            if intercept_init is None:
                ybar = float(((self.s + 1) / 2).mean())
                theta[self.p] = math.log(ybar / (1.0 - ybar))  # best intercept for w = 0
            else:
                theta[self.p] = check_scalar(intercept_init, "intercept_init")
        return theta

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, float]:
        w = theta[: self.p].copy()
        if self.loss == "squared":
            b = self.ybar - float(self.xbar @ w) if self.fit_intercept else 0.0
        else:
            b = float(theta[self.p]) if self.fit_intercept else 0.0
        return w, b

    def exact_objective(self, w: np.ndarray, b: float, penalty: Penalty | None) -> float:
        return _loss_value(self.X, self.y if self.loss == "squared" else self.s, w, b, self.loss) + (
            float(penalty(w)) if penalty is not None else 0.0
        )


def _loss_value(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, loss: str) -> float:
    nz = np.flatnonzero(w)
    z = (X[:, nz] @ w[nz] if nz.size < 0.25 * w.size else X @ w) + b  # sparse w: its columns only
    if loss == "squared":
        r = z - y
        return float(r @ r) / (2 * X.shape[0])
    s = np.where(y > 0, 1.0, -1.0)
    return float(np.logaddexp(0.0, -s * z).mean())


def _check_tol_iter(tol: Any, max_iter: Any) -> tuple[float, int]:
    return (
        check_scalar(tol, "tol", low=0.0, low_open=True),
        int(check_scalar(max_iter, "max_iter", low=1, integer=True)),
    )



def _check_coef(coef: Any, p: int) -> np.ndarray:
    w = as_float_array(coef, "coef", ndim=1, allow_int=True).astype(np.float64, copy=False)
    if w.shape[0] != p:
        raise ValueError(f"coef must have one entry per column of X ({p}); got {w.shape[0]}")
    return w

