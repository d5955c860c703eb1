r"""Duality gaps: certificates of optimality for the lasso, the elastic net, the group lasso and
their logistic counterparts (chapter 6).

For a loss :math:`f(z)` of the linear predictor :math:`z = Xw` and a penalty :math:`\Omega`,
Fenchel duality gives, for every dual vector :math:`u \in \mathbb R^m`,

.. math::

    F^\star = \min_w f(Xw) + \Omega(w) \;\ge\; D(u) = -f^*(-u) - \Omega^*(X^\top u),

with :math:`1^\top u = 0` when an unpenalized intercept is fitted. At the optimum
:math:`u^\star = -\nabla f(Xw^\star)`, so the *gap* :math:`F(w) - D(u)` at
:math:`u = -\nabla f(Xw)` (rescaled into the dual's domain) is zero exactly at a solution and
otherwise bounds :math:`F(w) - F^\star` from above: a certificate, not an estimate.

* Squared loss, :math:`f(z) = \frac1{2m}\|y - z\|^2`: :math:`-f^*(-u) = u^\top y - \frac m2\|u\|^2`,
  and :math:`u = r/m` with :math:`r = y - Xw` (data and :math:`X` centered for the intercept).
* Logistic loss: :math:`-f^*(-u) = \frac1m\sum_i H(m\,\tilde y_i u_i)` with
  :math:`H(\rho) = -\rho\ln\rho - (1 - \rho)\ln(1 - \rho)` and
  :math:`\rho_i = \sigma(-\tilde y_i z_i) \in (0, 1)`; the intercept is first re-optimized
  for the given :math:`w` (a few Newton steps), so that :math:`1^\top u = 0`.
* ``L1(lam)``: :math:`\Omega^*` is the indicator of :math:`\|v\|_\infty \le \lambda`, so
  :math:`u` is scaled by :math:`\min(1, \lambda/\|X^\top u\|_\infty)` (Mairal, 2010).
* ``GroupLasso(lam)``: the same with the dual norm :math:`\max_g \|v_g\|_2/\sqrt{|g|}`.
* ``ElasticNet(lam, r)`` with :math:`a = \lambda r`, :math:`b = \lambda(1 - r) > 0`, and ``L2``:
  :math:`\Omega^*(v) = \frac1{2b}\sum_j (|v_j| - a)_+^2`, finite everywhere: no scaling.

With :math:`u = r/m` unscaled the squared-loss gap is the Fenchel--Young gap
:math:`\Omega(w) + \Omega^*(v) - v^\top w`, :math:`v = X^\top u`, which is how it is computed
(no cancellation between two large numbers). The dual is strongly concave (modulus
:math:`m` for the squared loss, :math:`4m` for the logistic loss), so
:math:`\|u^\star - u\|_2 \le \sqrt{2\,\mathrm{gap}/\text{modulus}}`: the *gap safe sphere*
that screening uses (Fercoq, Gramfort & Salmon, 2015).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..penalties import L1, L2, ElasticNet, GroupLasso, Penalty


@dataclass(frozen=True)
class _Structure:
    """What the gap, screening and working sets need to know of a penalty.

    ``kind``: ``"l1"`` (L1, or ElasticNet with ``l1_ratio > 0``: per-coefficient blocks),
    ``"group"`` (GroupLasso), or ``"l2"`` (ridge: a gap, but nothing to screen).
    ``a``: the L1 level (or the group lasso's lam); ``b``: the ridge coefficient.
    """

    kind: str
    a: float
    b: float
    order: np.ndarray | None = None  # group lasso: coefficients group after group
    starts: np.ndarray | None = None
    sizes: np.ndarray | None = None
    weights: np.ndarray | None = None  # sqrt(|g|)

    @property
    def scaled(self) -> bool:
        """Whether the dual point must be scaled into a norm ball (no ridge part)."""
        return self.b == 0.0

    def n_blocks(self, p: int) -> int:
        return p if self.kind != "group" else int(self.sizes.size)  # type: ignore[union-attr]

    def block_norms(self, v: np.ndarray) -> np.ndarray:
        """:math:`|v_j|` per coefficient, or :math:`\\|v_g\\|_2` per group."""
        if self.kind != "group":
            return np.abs(v)
        t = v[self.order]
        return np.sqrt(np.add.reduceat(t * t, self.starts))

    def thresholds(self) -> np.ndarray | float:
        """The level each block norm is compared with at the optimum (:math:`a`, or :math:`\\lambda\\sqrt{|g|}`)."""
        return self.a if self.kind != "group" else self.a * self.weights  # type: ignore[operator]

    def block_of(self, mask_blocks: np.ndarray, p: int) -> np.ndarray:
        """A boolean mask over coefficients from one over blocks."""
        if self.kind != "group":
            return mask_blocks
        out = np.zeros(p, dtype=bool)
        out[self.order] = np.repeat(mask_blocks, self.sizes)  # type: ignore[arg-type]
        return out

    def conjugate(self, v: np.ndarray) -> float:
        """:math:`\\Omega^*(v)` for the unscaled kinds (ridge part ``b > 0``)."""
        excess = np.maximum(np.abs(v) - self.a, 0.0) if self.a else v
        return float(excess @ excess) / (2.0 * self.b)

    def value(self, w: np.ndarray) -> float:
        if self.kind == "group":
            t = w[self.order]
            norms = np.sqrt(np.add.reduceat(t * t, self.starts))
            return self.a * float(self.weights @ norms)  # type: ignore[operator]
        return self.a * float(np.abs(w).sum()) + (0.5 * self.b * float(w @ w) if self.b else 0.0)


def _structure(penalty: Penalty | None) -> _Structure | None:
    """The penalty's structure, or None where the problem has no certificate here (no penalty,
    ``lam = 0``: the dual constraint :math:`X^\\top u = 0` cannot be met by scaling)."""
    if penalty is None or penalty.lam == 0.0:
        return None
    if type(penalty) is L1:
        return _Structure("l1", penalty.lam, 0.0)
    if type(penalty) is ElasticNet:
        r = penalty.l1_ratio
        if r == 0.0:
            return _Structure("l2", 0.0, penalty.lam)
        return _Structure("l1", penalty.lam * r, penalty.lam * (1.0 - r))
    if type(penalty) is L2:
        return _Structure("l2", 0.0, penalty.lam)
    if type(penalty) is GroupLasso:
        from .proximal import _group_layout

        return _Structure("group", penalty.lam, 0.0, *_group_layout(penalty.groups))
    return None


def _dual_scale(st: _Structure, v: np.ndarray) -> float:
    """:math:`\\min(1, 1/\\max_g (\\|v_g\\|/t_g))` for the norm-ball kinds, 1 otherwise."""
    if not st.scaled:
        return 1.0
    worst = float(np.max(st.block_norms(v) / st.thresholds()))
    return 1.0 if worst <= 1.0 else 1.0 / worst


def squared_gap(st: _Structure, w: np.ndarray, v: np.ndarray, fl: float) -> tuple[float, float]:
    r"""``(gap, scale)`` for the squared loss from :math:`w`, :math:`v = X_c^\top r/m` and
    :math:`f = \|r\|^2/(2m)`.

    With :math:`u = s\,r/m`, :math:`D(u) = s\,r^\top y_c/m - s^2 f` and
    :math:`r^\top y_c/m = 2f + v^\top w`, so the gap is
    :math:`f(1 - s)^2 + \Omega(w) - s\,v^\top w` (plus :math:`\Omega^*(v)` for the ridge kinds).
    """
    s = _dual_scale(st, v)
    vw = float(v @ w)
    if st.scaled:
        gap = fl * (1.0 - s) ** 2 + st.value(w) - s * vw
    else:
        gap = st.value(w) + st.conjugate(v) - vw
    return max(gap, 0.0), s


def _xlogx(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0.0, x * np.log(np.where(x > 0.0, x, 1.0)), 0.0)


def binary_entropy_mean(rho: np.ndarray) -> float:
    """:math:`\\frac1m\\sum_i H(\\rho_i)`, :math:`H(\\rho) = -\\rho\\ln\\rho - (1-\\rho)\\ln(1-\\rho)`."""
    return -float(np.mean(_xlogx(rho) + _xlogx(1.0 - rho)))


def best_intercept(z0: np.ndarray, s: np.ndarray, b: float, n_iter: int = 50) -> float:
    r"""The intercept minimizing the mean logistic loss of :math:`z_0 + b` (Newton's method on
    a one-dimensional convex function, with halving of steps that do not decrease it)."""
    m = z0.size

    def loss(bb: float) -> float:
        return float(np.logaddexp(0.0, -s * (z0 + bb)).mean())

    fb = loss(b)
    for _ in range(n_iter):
        t = s * (z0 + b)
        rho = np.exp(-np.logaddexp(0.0, t))  # sigma(-t)
        g = -float(s @ rho) / m
        h = float((rho * (1.0 - rho)).sum()) / m
        if h <= 0.0 or abs(g) <= 1e-15 * max(1.0, float(rho.sum()) / m):
            break
        step = -g / h
        for _ in range(60):
            fn = loss(b + step)
            if fn <= fb:
                break
            step *= 0.5
        else:
            break
        b, fb = b + step, fn
        if abs(step) <= 1e-15 * max(1.0, abs(b)):
            break
    return b


def logistic_gap(
    st: _Structure,
    X: np.ndarray,
    s: np.ndarray,
    w: np.ndarray,
    b: float,
    fit_intercept: bool,
    z0: np.ndarray,
    cols: np.ndarray | None = None,
) -> tuple[float, np.ndarray, float, float]:
    r"""``(gap, v, scale, b_best)`` for the logistic loss at :math:`(w, b)`; ``z0 = X w``.
    With ``cols``, ``X`` holds only those columns of the design (screening) and ``v`` is theirs.

    The dual point is built at the best intercept :math:`b'` for :math:`w` (so that
    :math:`1^\top u = 0`), and the gap is :math:`F(w, b) - D(u)`, which bounds
    :math:`F(w, b) - F^\star` for the point as given.
    """
    m = X.shape[0]
    bb = best_intercept(z0, s, b) if fit_intercept else 0.0
    rho = np.exp(-np.logaddexp(0.0, s * (z0 + bb)))  # sigma(-s z)
    u = s * rho / m
    v = X.T @ u
    scale = _dual_scale(st, v if cols is None else _embed(v, cols, w.size))
    primal = float(np.logaddexp(0.0, -s * (z0 + b)).mean()) + st.value(w)
    if st.scaled:
        dual = binary_entropy_mean(scale * rho)
    else:
        dual = binary_entropy_mean(rho) - st.conjugate(v)  # zero-padding adds nothing
    return max(primal - dual, 0.0), v, scale, bb


def _embed(v: np.ndarray, cols: np.ndarray, p: int) -> np.ndarray:
    out = np.zeros(p)
    out[cols] = v
    return out

