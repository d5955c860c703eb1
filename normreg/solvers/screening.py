r"""The sequential strong rule (Tibshirani et al., 2012) for the first-order solvers on the
Gram matrix: iterate on the coefficients the rule keeps, then check the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..penalties import L1, ElasticNet, Penalty
from .losses import _lanczos_max, _SquaredGram
from .proximal import _proximal_gradient, _Raw


def _l1_threshold(penalty: Penalty | None) -> float | None:
    """The soft-threshold level of a separable L1-type penalty (lam, or lam*l1_ratio), else None."""
    if isinstance(penalty, ElasticNet):
        return penalty.lam * penalty.l1_ratio if penalty.l1_ratio > 0 else None
    if isinstance(penalty, L1):
        return penalty.lam
    return None



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

