r"""Proximal gradient methods (ISTA, FISTA with adaptive restart), gradient descent and the
subgradient method, on :math:`\theta` (``w``, or ``(w, b)`` for the logistic loss with an
intercept). Chapter 4 explains them; :mod:`normreg.solvers` documents the rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..penalties import L1, L2, ElasticNet, GroupLasso, Penalty
from .losses import _Smooth

#: Iterations between exact recomputations of the linear image of the iterates (which is
#: otherwise updated by linearity and could drift by rounding).
_REFRESH = 256

_Prox = Callable[[np.ndarray, float], np.ndarray]


@dataclass
class _Raw:
    theta: np.ndarray
    n_iter: int
    history: list[float]
    converged: bool
    residual: float
    lipschitz: float
    gap: float = math.nan  # the duality gap at theta, where the solver computed it
    relative: bool = False  # residual already relative (working set: gap / F0), else absolute
    solver: str | None = None  # the method "auto" resolved to
    stalled: bool = False  # working set: stopped because the gap no longer decreased


def _group_layout(groups: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(order, starts, sizes, weights)`` of a group lasso: the coefficients group after group,
    where each group starts, its size and its weight :math:`\\sqrt{|g|}`."""
    order = np.concatenate([np.asarray(g, dtype=np.intp) for g in groups])
    sizes = np.array([len(g) for g in groups], dtype=np.intp)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)
    return order, starts, sizes, np.sqrt(sizes.astype(np.float64))


def _separable_ops(
    penalty: Penalty,
) -> tuple[_Prox, Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]:
    """prox, value and subgradient of a penalty on a float64 vector, written out for the four
    penalties of the book (one or two NumPy operations each, no validation: the solvers call
    them thousands of times on small vectors) and the public methods for any other."""
    kind = type(penalty)
    if kind is L1 or kind is ElasticNet:
        r = 1.0 if kind is L1 else penalty.l1_ratio  # type: ignore[attr-defined]
        a, b = penalty.lam * r, penalty.lam * (1.0 - r)

        def prox(v: np.ndarray, t: float) -> np.ndarray:
            out = np.clip(v, -t * a, t * a)
            np.subtract(v, out, out=out)  # soft-thresholding: sign(v) max(|v| - t a, 0)
            if b:
                out /= 1.0 + t * b
            return out

        def value(v: np.ndarray) -> float:
            return a * float(np.abs(v).sum()) + (0.5 * b * float(v @ v) if b else 0.0)

        def grad(v: np.ndarray) -> np.ndarray:
            return a * np.sign(v) + b * v if b else a * np.sign(v)

        return prox, value, grad
    if kind is L2:
        lam = penalty.lam
        return (lambda v, t: v / (1.0 + t * lam)), (lambda v: 0.5 * lam * float(v @ v)), (lambda v: lam * v)
    if kind is GroupLasso:
        order, starts, sizes, weights = _group_layout(penalty.groups)  # type: ignore[attr-defined]
        lw = penalty.lam * weights

        def norms(v: np.ndarray) -> np.ndarray:
            t = v[order]
            return np.sqrt(np.add.reduceat(t * t, starts))

        def scale(v: np.ndarray, factors: np.ndarray) -> np.ndarray:
            out = np.empty_like(v)
            out[order] = v[order] * np.repeat(factors, sizes)
            return out

        def prox(v: np.ndarray, t: float) -> np.ndarray:
            n = norms(v)
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(n > 0, np.maximum(0.0, 1.0 - t * lw / n), 0.0)
            return scale(v, f)  # block soft-thresholding

        def gvalue(v: np.ndarray) -> float:
            return float(lw @ norms(v))

        def ggrad(v: np.ndarray) -> np.ndarray:
            n = norms(v)
            return scale(v, np.where(n > 0, lw / np.where(n > 0, n, 1.0), 0.0))

        return prox, gvalue, ggrad
    return (lambda v, t: penalty.prox(v, t)), (lambda v: float(penalty(v))), (lambda v: penalty.grad(v))


def _penalty_ops(
    penalty: Penalty | None, p: int, q: int
) -> tuple[_Prox, Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]:
    """prox, value and subgradient of the penalty acting on theta[:p] (theta[p:] is the
    logistic loss's intercept, never penalized)."""
    if penalty is None:
        return (lambda v, t: v), (lambda v: 0.0), (lambda v: np.zeros_like(v))
    _prox, _value, _grad = _separable_ops(penalty)
    if q == p:
        return _prox, _value, _grad

    def prox(v: np.ndarray, t: float) -> np.ndarray:
        out = v.copy()
        out[:p] = _prox(v[:p], t)
        return out

    def grad(v: np.ndarray) -> np.ndarray:
        out = np.zeros_like(v)
        out[:p] = _grad(v[:p])
        return out

    return prox, (lambda v: _value(v[:p])), grad


def _wmax(v: np.ndarray, p: int, b_weight: float) -> float:
    """``max |v|`` with the entries past ``p`` (the logistic intercept) times ``b_weight``."""
    if b_weight == 1.0 or v.size == p:
        return float(np.abs(v).max())
    return max(float(np.abs(v[:p]).max(initial=0.0)), b_weight * float(np.abs(v[p:]).max()))


def _above(L: float, dd: float, tol_abs: float, n: int) -> bool:
    """``L ||d||_2 / sqrt(n) > tol_abs``, i.e. ``L^2 dd > tol_abs^2 n``, the cheap test that the
    residual cannot pass yet; in square roots where the squares over- or underflow."""
    lhs, rhs = L * L * dd, tol_abs * tol_abs * n
    if math.isfinite(lhs) and 1e-290 < rhs < 1e290 and (lhs > 1e-290 or dd == 0.0):
        return lhs > rhs  # the usual case, unchanged
    return L * math.sqrt(dd) > tol_abs * math.sqrt(n)


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
    stop: Callable[[np.ndarray, np.ndarray], bool] | None = None,
    stop_every: int = 10,
    b_weight: float = 1.0,
) -> _Raw:
    """ISTA / FISTA (and GD, with the identity as prox) with backtracking on L.

    With ``track=False`` (regularization paths) the objective is computed only where the line
    search needs it and once at the end, and ``history`` holds that final value alone.

    ``stop(x, aux)``, if given, is a second condition beside the gradient-mapping test, both
    made every ``stop_every`` iterations only (``tol_abs=inf`` leaves ``stop`` alone). The
    working-set solver passes a bound on the duality gap of its sub-problem here.

    ``b_weight`` multiplies the intercept's entry ``theta[p:]`` (logistic loss) in the
    residual: :func:`normreg.solvers.fit._solve` sets it so that the intercept's gradient is
    held to ``tol`` times its own scale, not ``g0`` (which grows with ``X``).
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
            if not math.isfinite(L):  # NaN or inf: no step can pass, so never loop for ever
                raise FloatingPointError(
                    "the line search found no step size: the loss or its curvature is not finite "
                    f"(L = {L}); check the scale of X and y"
                )
        if track:
            history.append(fxn + pen_value(xn))
        if callback is not None:
            callback(k, xn[:p].copy())
        if stop is not None and k % stop_every and dd > 0.0:
            ok = False  # the extra test is made every stop_every iterations only
        # ||d||_inf <= ||d||_2 <= sqrt(q) ||d||_inf: the max is only computed when it could pass
        elif _above(L, dd, tol_abs, d.size):
            residual = L * math.sqrt(dd / d.size)  # a lower bound of the residual, for the record
            ok = False
        else:
            residual = L * _wmax(d, p, b_weight)
            ok = residual <= tol_abs
        if ok:
            # Confirm from scratch (the images were updated by linearity): the gradient mapping
            # at x+ itself, from a freshly computed gradient, must be small too.
            axn = sm.aux(xn)
            g = sm.grad(xn, axn)
            if L * _wmax(prox(xn - g / L, 1.0 / L) - xn, p, b_weight) <= 2.0 * tol_abs and (
                stop is None or dd == 0.0 or stop(xn, axn)
            ):
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
        residual = L * _wmax(d, p, b_weight)
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
    b_weight: float = 1.0,
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
        residual = L * _wmax(prox(x - g / L, 1.0 / L) - x, p, b_weight)
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

