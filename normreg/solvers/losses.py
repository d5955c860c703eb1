r"""The smooth parts :math:`f` of the objective: squared loss (on the data or on its Gram
matrix) and logistic loss, with the Lipschitz estimates that set the step size.

Each class offers a linear map ``aux`` of :math:`\theta` (the Gram product or the linear
predictor), the value and the gradient from :math:`(\theta, \mathrm{aux})`, and the Bregman
distance :math:`f(x^+) - f(y) - \nabla f(y)^\top(x^+ - y)` that the line search tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


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


def _safe_norm(u: np.ndarray) -> float:
    """``||u||_2``, rescaled by ``max|u|`` only where the plain sum of squares over- or
    underflows (bit-identical to ``np.linalg.norm`` otherwise)."""
    with np.errstate(over="ignore", under="ignore"):
        n = float(np.linalg.norm(u))
    if n == 0.0 or not math.isfinite(n) or n < 1e-150:
        top = float(np.abs(u).max())
        if top == 0.0 or not math.isfinite(top):
            return top
        n = top * float(np.linalg.norm(u / top))
    return n


def _power_iteration(matvec: Callable[[np.ndarray], np.ndarray], q: int, n_iter: int = 50, rtol: float = 1e-4) -> float:
    """Largest eigenvalue of a symmetric positive semi-definite operator (Rayleigh quotient)."""
    v = np.random.default_rng(0).standard_normal(q)  # fixed start: results are reproducible
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(n_iter):
        u = matvec(v)
        new = float(v @ u)
        nu = _safe_norm(u)
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
        beta = _safe_norm(u)
        if beta <= 1e-12 * max(new, 1e-300) or (k > 0 and abs(new - top) <= rtol * new):
            return new
        top = new
        if k + 1 < n_iter:
            T[k, k + 1] = T[k + 1, k] = beta
        v_prev, v = v, u / beta
    return top

