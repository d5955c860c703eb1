r"""Fitting penalized linear models: gradient descent, the subgradient method, ISTA and FISTA (chapter 4).

:func:`fit_linear` minimizes, over the coefficients :math:`w \in \mathbb R^p` and an
intercept :math:`b` that is never penalized,

.. math::

    F(w, b) = f(w, b) + \Omega(w), \qquad
    f(w, b) = \begin{cases}
        \dfrac{1}{2m}\,\|Xw + b - y\|_2^2 & \text{squared loss,}\\[1ex]
        \dfrac1m \sum_{i=1}^m \log\!\big(1 + e^{-\tilde y_i (x_i^\top w + b)}\big),
        \ \tilde y_i = 2y_i - 1 & \text{logistic loss,}
    \end{cases}

where :math:`\Omega` is one of the penalties of :mod:`normreg.penalties` (or none). With these
conventions ``L1(a)`` solves scikit-learn's ``Lasso(alpha=a)``, ``ElasticNet(a, r)`` its
``ElasticNet(alpha=a, l1_ratio=r)``, ``L2(a)`` its ``Ridge(alpha=a*m)`` and, for the logistic
loss, ``L2(a)`` its ``LogisticRegression(C=1/(a*m))``.

The four solvers
----------------
All four take steps of size :math:`t = 1/L`, where :math:`L` estimates the Lipschitz constant
of :math:`\nabla f` (the largest eigenvalue of :math:`X_c^\top X_c/m` for the squared loss, a
quarter of that of :math:`[X, 1]^\top [X, 1]/m` for the logistic loss), found by Lanczos
iteration. Except in the subgradient method, it is raised by backtracking whenever the
sufficient-decrease condition

.. math::

    f(x^+) \le f(y) + \nabla f(y)^\top (x^+ - y) + \tfrac{L}{2}\|x^+ - y\|_2^2

fails (Beck & Teboulle, 2009).

* ``"gd"`` -- gradient descent on :math:`F`; only for smooth penalties (``None``, ``L2``,
  ``ElasticNet`` with ``l1_ratio=0``, or any penalty with ``lam=0``).
* ``"subgradient"`` -- :math:`w_{k+1} = w_k - \eta_k\,(\nabla f(w_k) + g_k)` with
  :math:`g_k` the penalty's minimum-norm subgradient and :math:`\eta_k = 1/(L\sqrt{k})`. It is
  not a descent method, so it returns the best iterate it met. It never produces exact zeros.
* ``"ista"`` -- proximal gradient, :math:`x_{k+1} = \operatorname{prox}_{t\Omega}(x_k - t\nabla f(x_k))`;
  for ``L1`` the prox is soft-thresholding, which sets small coefficients exactly to zero.
* ``"fista"`` -- the accelerated proximal gradient method of Beck & Teboulle (2009): the
  prox step is taken from the extrapolated point
  :math:`y_k = x_k + \frac{t_{k-1} - 1}{t_k}(x_k - x_{k-1})`, which improves the rate from
  :math:`O(1/k)` to :math:`O(1/k^2)`; with ``restart=True`` the momentum is reset whenever
  :math:`(y_{k} - x_{k+1})^\top (x_{k+1} - x_k) > 0` (the gradient restart of O'Donoghue &
  Candès, 2015), which makes it converge linearly on strongly convex problems.

Stopping rule
-------------
Every solver measures optimality by the *gradient mapping*
:math:`G_t(y) = \big(y - \operatorname{prox}_{t\Omega}(y - t\nabla f(y))\big)/t`, which is
zero exactly at a minimizer (for ``"gd"`` it is :math:`\nabla F`). A solver stops, with
``converged=True``, at the first iteration where

.. math::

    \|G_t(y_k)\|_\infty \le \texttt{tol}\cdot g_0, \qquad g_0 = \|\nabla_w f(0, b_0)\|_\infty,

where :math:`b_0` is the best intercept for :math:`w = 0`. For the squared loss
:math:`g_0 = \|X^\top(y - \bar y)\|_\infty/m`, the smallest :math:`\lambda` for which the lasso
solution is :math:`w = 0`, so ``tol`` is relative to the scale of the problem. Before it stops,
the solver recomputes the gradient from scratch at the point it returns, :math:`x_{k+1}`, and
requires :math:`\|G_t(x_{k+1})\|_\infty \le 2\,\texttt{tol}\cdot g_0` as well (otherwise it goes
on). A solver that reaches ``max_iter`` first sets ``converged=False`` and warns with
:class:`ConvergenceWarning`.

Implementation notes
--------------------
For the squared loss the intercept is eliminated exactly (:math:`b = \bar y - \bar x^\top w`,
which centers :math:`X` and :math:`y`). The solvers then work either with the data (two
products with :math:`X` per iteration) or with the Gram matrix :math:`X_c^\top X_c/m` and
:math:`X_c^\top y_c/m` (one :math:`p\times p` product per iteration, after a one-off cost of
about :math:`mp^2/2`); ``precompute="auto"`` picks the Gram matrix for :math:`m \ge p` and
:math:`p \le 128` in a single fit, and for every :math:`m \ge p` along a regularization path.
With the Gram matrix and an ``L1``/``ElasticNet`` penalty, ``"ista"`` and ``"fista"`` iterate only
on the coefficients kept by the sequential strong rule (Tibshirani et al., 2012) and then check
the optimality conditions of all the others, adding any violator and solving again, so the
answer is that of the full problem. All solvers keep the linear image (:math:`Gx` or
:math:`Xw + b`) of their iterates up to date by linearity, recomputed every 256 iterations, so
FISTA's extrapolation and its line search cost no extra product. The starting :math:`L` is a
two-step Lanczos estimate, which is below the Lipschitz constant: the line search raises it only
as far as the iterates need. Computations are in float64; ``coef`` has ``X``'s dtype.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._validation import as_float_array, check_scalar
from .penalties import L1, L2, ElasticNet, Penalty

__all__ = [
    "ConvergenceWarning",
    "FitResult",
    "fit_linear",
    "objective",
    "gradient",
    "lipschitz_constant",
    "numerical_gradient",
    "LOSSES",
    "SOLVERS",
]

LOSSES = ("squared", "logistic")
SOLVERS = ("fista", "ista", "gd", "subgradient")

Loss = Literal["squared", "logistic"]
Solver = Literal["fista", "ista", "gd", "subgradient"]

#: Iterations between exact recomputations of the linear image of the iterates (which is
#: otherwise updated by linearity and could drift by rounding).
_REFRESH = 256


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
        :math:`F(w, b)` at the returned point, computed from the data.
    n_iter : int
        Iterations performed.
    history : ndarray of shape (n_iter + 1,)
        :math:`F` at the starting point and after each iteration (float64).
    converged : bool
        Whether the stopping rule was met before ``max_iter``.
    residual : float
        The last optimality measure :math:`\|G_t\|_\infty / g_0` (compare with ``tol``).
    lipschitz : float
        The final :math:`L` (the step size was :math:`1/L`).
    solver, loss : str
        The solver and loss used.
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


# ----------------------------------------------------------------------------------------------
# Smooth parts f(theta).  Each offers a linear map `aux` of theta (the Gram product or the
# linear predictor), the value and the gradient from (theta, aux), and the exact or computed
# Bregman distance f(x+) - f(y) - grad f(y)^T (x+ - y) that the line search tests.
# ----------------------------------------------------------------------------------------------


class _Smooth:
    q: int  # length of theta
    p: int  # number of coefficients (theta[:p] is w)
    needs_fy = False  # whether the line search needs f at the extrapolated point
    l2 = 0.0  # a smooth L2 term (lam/2)||w||^2 folded in (solver "gd")

    def aux(self, v: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def value(self, v: np.ndarray, a: np.ndarray) -> float:
        raise NotImplementedError

    def grad(self, v: np.ndarray, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def bregman(self, d: np.ndarray, ad: np.ndarray, fx: float, fy: float, gy: np.ndarray) -> tuple[float, float]:
        """``(f(x+) - f(y) - g^T d, slack)``: the line search accepts if it is <= L/2 ||d||^2 + slack.

        For the squared loss it is computed exactly from ``ad`` (no cancellation), and ``fx``,
        ``fy`` are not used."""
        raise NotImplementedError

    def hess_bound(self, v: np.ndarray) -> np.ndarray:
        """A symmetric matrix times v whose largest eigenvalue is a Lipschitz constant of grad f."""
        raise NotImplementedError

    def with_l2(self, lam: float) -> _Smooth:
        import copy

        out = copy.copy(self)
        out.l2 = lam
        return out

    def _l2_value(self, v: np.ndarray) -> float:
        w = v[: self.p]
        return 0.5 * self.l2 * float(w @ w) if self.l2 else 0.0


class _SquaredGram(_Smooth):
    """f(w) = 1/2 w^T G w - c^T w + k with G = Xc^T Xc/m, c = Xc^T yc/m, k = ||yc||^2/(2m)."""

    def __init__(self, G: np.ndarray, c: np.ndarray, k: float) -> None:
        self.G, self.c, self.k = G, c, k
        self.q = self.p = c.shape[0]
        self._sub: tuple[bytes, _SquaredGram] | None = None  # last screened sub-problem

    def aux(self, v: np.ndarray) -> np.ndarray:
        return self.G @ v

    def value(self, v: np.ndarray, a: np.ndarray) -> float:
        return 0.5 * float(v @ a) - float(self.c @ v) + self.k + self._l2_value(v)

    def grad(self, v: np.ndarray, a: np.ndarray) -> np.ndarray:
        g = a - self.c
        if self.l2:
            g += self.l2 * v
        return g

    def bregman(self, d: np.ndarray, ad: np.ndarray, fx: float, fy: float, gy: np.ndarray) -> tuple[float, float]:
        b = 0.5 * float(d @ ad)
        if self.l2:
            b += 0.5 * self.l2 * float(d @ d)
        return b, 0.0

    def hess_bound(self, v: np.ndarray) -> np.ndarray:
        return self.G @ v


class _SquaredData(_Smooth):
    """f(w) = ||Xc w - yc||^2/(2m), with Xc = X - 1 xbar^T applied implicitly (no copy of X)."""

    def __init__(self, X: np.ndarray, xbar: np.ndarray | None, yc: np.ndarray) -> None:
        self.X, self.xbar, self.yc = X, xbar, yc
        self.m = X.shape[0]
        self.q = self.p = X.shape[1]

    def aux(self, v: np.ndarray) -> np.ndarray:
        a = self.X @ v
        if self.xbar is not None:
            a -= float(self.xbar @ v)
        return a

    def _rmatvec(self, r: np.ndarray) -> np.ndarray:
        g = self.X.T @ r
        if self.xbar is not None:
            g -= float(r.sum()) * self.xbar
        return g

    def value(self, v: np.ndarray, a: np.ndarray) -> float:
        r = a - self.yc
        return float(r @ r) / (2 * self.m) + self._l2_value(v)

    def grad(self, v: np.ndarray, a: np.ndarray) -> np.ndarray:
        g = self._rmatvec(a - self.yc)
        g /= self.m
        if self.l2:
            g += self.l2 * v
        return g

    def bregman(self, d: np.ndarray, ad: np.ndarray, fx: float, fy: float, gy: np.ndarray) -> tuple[float, float]:
        b = float(ad @ ad) / (2 * self.m)
        if self.l2:
            b += 0.5 * self.l2 * float(d @ d)
        return b, 0.0

    def hess_bound(self, v: np.ndarray) -> np.ndarray:
        return self._rmatvec(self.aux(v)) / self.m


class _Logistic(_Smooth):
    """f(w, b) = mean(log(1 + exp(-s * (Xw + b)))), s = +-1; theta = (w, b) or w."""

    needs_fy = True

    def __init__(self, X: np.ndarray, s: np.ndarray, fit_intercept: bool) -> None:
        self.X, self.s = X, s
        self.m, self.p = X.shape
        self.fit_intercept = fit_intercept
        self.q = self.p + (1 if fit_intercept else 0)

    def aux(self, v: np.ndarray) -> np.ndarray:
        a = self.X @ v[: self.p]
        if self.fit_intercept:
            a += v[self.p]
        return a

    def value(self, v: np.ndarray, a: np.ndarray) -> float:
        return float(np.logaddexp(0.0, -self.s * a).mean()) + self._l2_value(v)

    def grad(self, v: np.ndarray, a: np.ndarray) -> np.ndarray:
        # d/da log(1 + exp(-s a)) = -s * sigmoid(-s a) = -s * exp(-log(1 + exp(s a)))
        r = -self.s * np.exp(-np.logaddexp(0.0, self.s * a))
        r /= self.m
        g = np.empty(self.q)
        g[: self.p] = self.X.T @ r
        if self.fit_intercept:
            g[self.p] = r.sum()
        if self.l2:
            g[: self.p] += self.l2 * v[: self.p]
        return g

    def bregman(self, d: np.ndarray, ad: np.ndarray, fx: float, fy: float, gy: np.ndarray) -> tuple[float, float]:
        # Computed from values: allow for their rounding, so that the test does not fail on noise.
        return fx - fy - float(gy @ d), 32 * np.finfo(np.float64).eps * (abs(fx) + abs(fy))

    def hess_bound(self, v: np.ndarray) -> np.ndarray:
        a = self.aux(v)
        out = np.empty(self.q)
        out[: self.p] = self.X.T @ a
        if self.fit_intercept:
            out[self.p] = a.sum()
        out /= 4 * self.m
        if self.l2:
            out[: self.p] += self.l2 * v[: self.p]
        return out


def _power_iteration(matvec: Callable[[np.ndarray], np.ndarray], q: int, n_iter: int = 50, rtol: float = 1e-4) -> float:
    """Largest eigenvalue of a symmetric positive semi-definite operator (Rayleigh quotient)."""
    v = np.random.default_rng(0).standard_normal(q)  # fixed start: results are reproducible
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(n_iter):
        u = matvec(v)
        new = float(v @ u)
        nu = float(np.linalg.norm(u))
        if nu == 0.0:
            return 0.0
        v = u / nu
        if abs(new - lam) <= rtol * new:
            return new
        lam = new
    return lam


def _lanczos_max(matvec: Callable[[np.ndarray], np.ndarray], q: int, n_iter: int = 12, rtol: float = 1e-3) -> float:
    """Largest eigenvalue of a symmetric PSD operator by a few Lanczos steps: a lower bound, within
    a fraction of a percent after about ten products where power iteration needs hundreds."""
    v = np.random.default_rng(0).standard_normal(q)  # fixed start: results are reproducible
    v /= np.linalg.norm(v)
    v_prev = np.zeros(q)
    T = np.zeros((n_iter, n_iter))
    beta = 0.0
    top = 0.0
    for k in range(min(n_iter, q)):
        u = matvec(v)
        alpha = float(v @ u)
        u -= alpha * v + beta * v_prev
        T[k, k] = alpha
        new = float(np.linalg.eigvalsh(T[: k + 1, : k + 1])[-1]) if k else alpha
        beta = float(np.linalg.norm(u))
        if beta <= 1e-12 * max(new, 1e-300) or (k > 0 and abs(new - top) <= rtol * new):
            return new
        top = new
        if k + 1 < n_iter:
            T[k, k + 1] = T[k + 1, k] = beta
        v_prev, v = v, u / beta
    return top


# ----------------------------------------------------------------------------------------------
# Validation and the prepared problem (shared by fit_linear and the regularization path).
# ----------------------------------------------------------------------------------------------


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
    z = X @ w + b
    if loss == "squared":
        r = z - y
        return float(r @ r) / (2 * X.shape[0])
    s = np.where(y > 0, 1.0, -1.0)
    return float(np.logaddexp(0.0, -s * z).mean())


# ----------------------------------------------------------------------------------------------
# The solvers, on theta (w, or (w, b) for the logistic loss with an intercept).
# ----------------------------------------------------------------------------------------------


_Prox = Callable[[np.ndarray, float], np.ndarray]


@dataclass
class _Raw:
    theta: np.ndarray
    n_iter: int
    history: list[float]
    converged: bool
    residual: float
    lipschitz: float


def _penalty_ops(
    penalty: Penalty | None, p: int, q: int
) -> tuple[_Prox, Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]:
    """prox, value and subgradient of the penalty acting on theta[:p] (validated once, so the
    per-iteration calls go to the unchecked implementations)."""
    if penalty is None:
        return (lambda v, t: v), (lambda v: 0.0), (lambda v: np.zeros_like(v))
    _prox, _value, _grad = penalty._prox, penalty._value, penalty._grad
    if type(penalty) in (L1, ElasticNet):
        # the per-iteration value on a small vector: one ufunc and one sum (the penalty's own
        # blocked reduction is built for 10^7 weights)
        r = 1.0 if type(penalty) is L1 else penalty.l1_ratio  # type: ignore[attr-defined]
        a, b = penalty.lam * r, 0.5 * penalty.lam * (1.0 - r)

        def _value(v: np.ndarray) -> float:
            return a * float(np.abs(v).sum()) + (b * float(v @ v) if b else 0.0)

    if q == p:
        return (_prox, lambda v: float(_value(v)), _grad)

    def prox(v: np.ndarray, t: float) -> np.ndarray:
        out = v.copy()
        out[:p] = _prox(v[:p], t)
        return out

    def grad(v: np.ndarray) -> np.ndarray:
        out = np.zeros_like(v)
        out[:p] = _grad(v[:p])
        return out

    return prox, (lambda v: float(_value(v[:p]))), grad


def _proximal_gradient(
    sm: _Smooth,
    prox: Callable[[np.ndarray, float], np.ndarray],
    pen_value: Callable[[np.ndarray], float],
    theta0: np.ndarray,
    L: float,
    tol_abs: float,
    max_iter: int,
    accelerate: bool,
    restart: bool,
    callback: Callable[[int, np.ndarray], Any] | None,
    p: int,
    eta: float = 1.25,
    track: bool = True,
) -> _Raw:
    """ISTA / FISTA (and GD, with the identity as prox) with backtracking on L.

    With ``track=False`` (regularization paths) the objective is computed only where the line
    search needs it and once at the end, and ``history`` holds that final value alone.
    """
    need_f = track or sm.needs_fy
    x = theta0
    ax = sm.aux(x)
    fx = sm.value(x, ax) if need_f else 0.0
    history = [fx + pen_value(x)] if track else []
    y, ay, fy = x, ax, fx
    gy = sm.grad(y, ay)
    t = 1.0
    residual = math.inf
    converged = False
    k = 0
    xn, axn = x, ax
    for k in range(1, max_iter + 1):
        while True:
            step = 1.0 / L
            xn = prox(y - step * gy, step)
            d = xn - y
            ad = sm.aux(d)
            axn = ay + ad
            fxn = sm.value(xn, axn) if need_f else 0.0
            dd = float(d @ d)
            brg, slack = sm.bregman(d, ad, fxn, fy, gy)
            if brg <= 0.5 * L * dd + slack:
                break
            L = max(eta * L, 2.0 * brg / dd) if dd > 0.0 else eta * L
        if track:
            history.append(fxn + pen_value(xn))
        if callback is not None:
            callback(k, xn[:p].copy())
        # ||d||_inf <= ||d||_2 <= sqrt(q) ||d||_inf: the max is only computed when it could pass
        if L * L * dd > tol_abs * tol_abs * d.size:
            residual = L * math.sqrt(dd / d.size)  # a lower bound of the residual, for the record
            ok = False
        else:
            residual = L * float(np.abs(d).max())
            ok = residual <= tol_abs
        if ok:
            # Confirm from scratch (the images were updated by linearity): the gradient mapping
            # at x+ itself, from a freshly computed gradient, must be small too.
            axn = sm.aux(xn)
            g = sm.grad(xn, axn)
            if L * float(np.abs(prox(xn - g / L, 1.0 / L) - xn).max()) <= 2.0 * tol_abs:
                converged = True
                break
            ax = sm.aux(x)  # not confirmed: go on, with both images fresh
        if accelerate:
            dx = xn - x
            if restart and float(d @ dx) < 0.0:  # (y - x+)^T (x+ - x) > 0: momentum points uphill
                t = 1.0
                y, ay, fy = xn, axn, fxn
            else:
                tn = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
                beta = (t - 1.0) / tn
                t = tn
                y = xn + beta * dx
                ay = axn + beta * (axn - ax)
                if sm.needs_fy:
                    fy = sm.value(y, ay)
        else:
            y, ay, fy = xn, axn, fxn
        x, ax = xn, axn
        if k % _REFRESH == 0:  # both images, so that the extrapolation y = x+ + beta (x+ - x) stays consistent
            ax = sm.aux(x)
            ay = ax if y is x else sm.aux(y)
            if sm.needs_fy:
                fy = sm.value(y, ay)
        gy = sm.grad(y, ay)
    if not converged and k:
        residual = L * float(np.abs(d).max())
    if not track:
        history = [sm.value(xn, axn) + pen_value(xn)]
    return _Raw(xn, k, history, converged, residual, L)


def _subgradient(
    sm: _Smooth,
    prox: Callable[[np.ndarray, float], np.ndarray],
    pen_value: Callable[[np.ndarray], float],
    pen_grad: Callable[[np.ndarray], np.ndarray],
    theta0: np.ndarray,
    L: float,
    tol_abs: float,
    max_iter: int,
    callback: Callable[[int, np.ndarray], Any] | None,
    p: int,
) -> _Raw:
    """w <- w - (1/(L sqrt(k))) (grad f(w) + g), g the minimum-norm subgradient; keeps the best iterate."""
    x = theta0
    ax = sm.aux(x)
    fx = sm.value(x, ax) + pen_value(x)
    history = [fx]
    best, f_best = x, fx
    residual = math.inf
    converged = False
    k = 0
    for k in range(1, max_iter + 1):
        g = sm.grad(x, ax)
        # optimality test at x: the gradient mapping with step 1/L
        residual = L * float(np.abs(prox(x - g / L, 1.0 / L) - x).max())
        if residual <= tol_abs:
            converged, best = True, x
            k -= 1
            break
        x = x - (g + pen_grad(x)) / (L * math.sqrt(k))
        ax = sm.aux(x)
        fx = sm.value(x, ax) + pen_value(x)
        history.append(fx)
        if callback is not None:
            callback(k, x[:p].copy())
        if fx < f_best:
            best, f_best = x, fx
    return _Raw(best, k, history, converged, residual, L)


def _l1_threshold(penalty: Penalty | None) -> float | None:
    """The soft-threshold level of a separable L1-type penalty (lam, or lam*l1_ratio), else None."""
    if isinstance(penalty, ElasticNet):
        return penalty.lam * penalty.l1_ratio if penalty.l1_ratio > 0 else None
    if isinstance(penalty, L1):
        return penalty.lam
    return None


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
    if solver == "subgradient":
        L = prob.lipschitz_global
    else:
        L = prob.lipschitz if lipschitz is None else lipschitz
    tol_abs = tol * prob.scale
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
            track=track,
        )
    prox, value, grad = _penalty_ops(penalty, prob.p, prob.q)
    if solver == "subgradient":
        return _subgradient(sm, prox, value, grad, theta0, L, tol_abs, max_iter, callback, prob.p)
    thr = _l1_threshold(penalty)
    accelerate = solver == "fista"
    if screen and thr is not None and isinstance(sm, _SquaredGram):
        prev = prob.g0 if prev_threshold is None else prev_threshold
        return _screened(
            sm, prox, value, theta0, L, tol_abs, max_iter, accelerate, restart, callback, thr, prev, track
        )
    return _proximal_gradient(
        sm, prox, value, theta0, L, tol_abs, max_iter, accelerate, restart, callback, prob.p, track=track
    )


def _screened(
    sm: _SquaredGram,
    prox: Callable[[np.ndarray, float], np.ndarray],
    pen_value: Callable[[np.ndarray], float],
    theta0: np.ndarray,
    L: float,
    tol_abs: float,
    max_iter: int,
    accelerate: bool,
    restart: bool,
    callback: Callable[[int, np.ndarray], Any] | None,
    thr: float,
    prev_thr: float,
    track: bool,
) -> _Raw:
    r"""(F)ISTA on the coefficients that the sequential strong rule keeps, then a KKT check on the others.

    Strong rule (Tibshirani et al., 2012): coefficient :math:`j` is probably zero at threshold
    :math:`\tau` if :math:`|\nabla_j f(w^{\rm prev})| < 2\tau - \tau_{\rm prev}`. The rule can err,
    so after solving on the kept set :math:`S` every discarded :math:`j` is checked against the
    optimality condition :math:`|\nabla_j f(w)| \le \tau` (up to the tolerance); violators join
    :math:`S` and the problem is solved again, warm. The answer is the full problem's. The
    step starts from ``L`` (the sub-problem's curvature is at most the full one's) and the
    line search adjusts it.
    """
    p = sm.p
    G, c = sm.G, sm.c
    g = sm.grad(theta0, sm.aux(theta0))
    keep = (np.abs(g) >= 2.0 * thr - prev_thr) | (theta0 != 0)
    keep[np.argmax(np.abs(g))] = True  # never an empty problem
    if keep.sum() >= 0.5 * p:  # little to gain: solve the full problem
        return _proximal_gradient(
            sm, prox, pen_value, theta0, L, tol_abs, max_iter, accelerate, restart, callback, p, track=track
        )
    theta = theta0
    history: list[float] = []
    used = 0
    while True:
        S = np.flatnonzero(keep)
        key = S.tobytes()
        if sm._sub is not None and sm._sub[0] == key:  # along a path the kept set often repeats
            sub = sm._sub[1]
        else:
            sub = _SquaredGram(G[np.ix_(S, S)], c[S], sm.k)
            sm._sub = (key, sub)
        cb = None
        if callback is not None:

            def cb(k: int, wS: np.ndarray, S: np.ndarray = S, offset: int = used) -> None:
                full = np.zeros(p)
                full[S] = wS
                callback(k + offset, full)

        L_sub = min(L, _lanczos_max(sub.hess_bound, S.size, n_iter=2)) if S.size > 1 else float(sub.G[0, 0])
        raw = _proximal_gradient(
            sub, prox, pen_value, theta[S], max(L_sub, 1e-12 * L), tol_abs, max_iter - used, accelerate, restart, cb,
            S.size, track=track,
        )
        if track:
            history.extend(raw.history if not history else raw.history[1:])
        else:
            history = raw.history
        used += raw.n_iter
        L = raw.lipschitz
        theta = np.zeros(p)
        theta[S] = raw.theta
        if not raw.converged:
            return _Raw(theta, used, history, False, raw.residual, L)
        grad_out = G @ theta - c  # theta is zero off S: no copy of the columns G[:, S]
        excess = np.where(keep, 0.0, np.abs(grad_out) - thr)
        violators = excess > tol_abs
        if not violators.any() or used >= max_iter:
            residual = max(raw.residual, float(excess.max(initial=0.0)))
            return _Raw(theta, used, history, not violators.any(), residual, L)
        keep |= violators


def _check_tol_iter(tol: Any, max_iter: Any) -> tuple[float, int]:
    return (
        check_scalar(tol, "tol", low=0.0, low_open=True),
        int(check_scalar(max_iter, "max_iter", low=1, integer=True)),
    )


def fit_linear(
    X: Any,
    y: Any,
    penalty: Penalty | None = None,
    loss: Loss = "squared",
    solver: Solver = "fista",
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
    solver : {"fista", "ista", "gd", "subgradient"}
        See the module docs; ``"gd"`` only for smooth penalties.
    fit_intercept : bool
        Fit an (unpenalized) intercept :math:`b`.
    tol : float
        Stop when :math:`\|G_t\|_\infty \le \texttt{tol}\cdot g_0` (the stopping rule above).
    max_iter : int
        At most this many iterations (>= 1); reaching it warns with :class:`ConvergenceWarning`.
    coef_init, intercept_init : optional
        Starting point (warm start). For the squared loss the intercept is eliminated and
        ``intercept_init`` is ignored.
    restart : bool
        FISTA's adaptive (gradient) restart.
    precompute : bool or "auto"
        Squared loss: work with the Gram matrix :math:`X_c^\top X_c/m` ("auto": if :math:`m \ge p`
        and :math:`p \le 128`).
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
        ``tol <= 0``, ``max_iter < 1``, an unknown ``loss``/``solver``, or ``solver="gd"`` with
        a non-smooth penalty.
    TypeError
        A ``penalty`` that is not a normreg penalty, non-numeric input.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> from normreg.datasets import make_sparse_regression
    >>> from normreg.solvers import fit_linear
    >>> data = make_sparse_regression(200, 10, 3, noise=0.1, seed=0)
    >>> res = fit_linear(data.X, data.y, nr.L1(0.05), tol=1e-10)
    >>> res.converged, int(np.count_nonzero(res.coef))
    (True, 3)
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
    res = _result(prob, pen, solver, raw)
    if not res.converged:
        warnings.warn(
            f"fit_linear(solver={solver!r}) stopped at max_iter={max_iter_} before reaching tol={tol_:g} "
            f"(residual {res.residual:.3g}); the result has converged=False",
            ConvergenceWarning,
            stacklevel=2,
        )
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
        residual=raw.residual / prob.scale,
        lipschitz=raw.lipschitz,
        solver=solver,
        loss=prob.loss,
    )


# ----------------------------------------------------------------------------------------------
# The objective and its gradient, for readers and for gradient checking (chapter 4).
# ----------------------------------------------------------------------------------------------


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


def _check_coef(coef: Any, p: int) -> np.ndarray:
    w = as_float_array(coef, "coef", ndim=1, allow_int=True).astype(np.float64, copy=False)
    if w.shape[0] != p:
        raise ValueError(f"coef must have one entry per column of X ({p}); got {w.shape[0]}")
    return w


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
