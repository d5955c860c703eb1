r"""The working-set solver for sparse problems (``solver="auto"``, chapter 6): gap safe
screening, working sets grown from the optimality conditions, FISTA on the working set, and
the duality gap as the stopping certificate.

For the lasso, the elastic net, the group lasso and their logistic counterparts the solution
is sparse: most coefficients (or groups) are zero, and a coefficient :math:`j` is zero at the
optimum exactly when the dual point satisfies its constraint strictly,
:math:`|x_j^\top u^\star| < a` (the group version: :math:`\|X_g^\top u^\star\|_2 < \lambda\sqrt{|g|}`).
The solver exploits this in an outer loop (the design of celer, Massias, Gramfort & Salmon,
2018, and skglm, Bertrand et al., 2022):

1. At the current :math:`w` compute the full gradient :math:`v = -X^\top\nabla f` (the one
   product with all of :math:`X` per outer iteration), the dual point and the duality gap
   (:mod:`normreg.solvers.duality`). Stop if ``gap <= tol * F0``, where :math:`F_0` is the
   objective of the model with :math:`w = 0` and its best intercept, and no zero coefficient
   (or group) violates its optimality condition by more than ``tol * g0`` (the first-order
   solvers' scale, :mod:`normreg.solvers`): a small gap alone would accept :math:`w = 0` just
   below :math:`\lambda_{\max}`.
2. *Gap safe screening* (Fercoq, Gramfort & Salmon, 2015): the dual optimum lies in the ball
   of radius :math:`R = \sqrt{2\,\mathrm{gap}/\mu}` around the dual point (:math:`\mu = m` for
   the squared loss, :math:`4m` for the logistic loss), so every block with
   :math:`\|X_g^\top u\| + R\,\|X_g\|_F < t_g` is zero at the optimum: it is set to zero and
   never looked at again for this :math:`\lambda`. The rule is safe, not a heuristic.
3. *Working set*: the blocks in the support, plus the blocks whose dual constraint is
   closest to active, :math:`d_g = (t_g - \|X_g^\top u\|)/\|X_g\|`, up to
   ``max(30, 2 * size of support)`` blocks (violated constraints have :math:`d_g < 0` and
   come first).
4. Solve the problem restricted to the working set with FISTA and adaptive restart
   (``normreg.solvers.proximal``), for the squared loss on the working set's Gram matrix
   :math:`X_W^\top X_W/m` (one :math:`|W|\times|W|` product per iteration), warm-started,
   until the sub-problem's own duality gap is below ``0.3 * gap`` (or below the final target
   once no constraint outside the working set is violated, when the two gaps coincide).

The inner solver gets at most 1000 iterations per outer iteration (doubled while the gap
makes no progress), so the working set is always re-checked. Where ``tol`` is below what the
floating-point arithmetic can certify, the gap stalls at its rounding floor: after five outer
iterations in which it did not halve, with the gap below :math:`1.5\cdot 10^{-8} F_0` (about
:math:`\sqrt\epsilon`; a larger gap that does not halve is slow progress, which goes on to
``max_iter``), the solver stops with ``converged=False`` and a warning that says so, and
returns the point with the smallest gap it found (never the last one, if that is worse).

Along a regularization path every :math:`\lambda` starts from the previous solution (warm
start), whose support seeds the first working set.

Where the problem is held as its Gram matrix (squared loss with ``m >= p``: ``precompute``
in :func:`normreg.solvers.fit_linear`, and regularization paths up to a few thousand
features), the lasso and the elastic net are first solved by a primal-dual active set
method (``gram_active_set``): Newton's method on the optimality conditions, one linear
solve on the active set per step, with :math:`(G_{AA} + bI)^{-1}` updated as coefficients
enter and leave (:class:`_ActiveInverse`), and the same duality-gap certificate computed
from :math:`G` in :math:`O(p|A|)` per step, with no pass over the data (except where the
Gram form's rounding error could reach 1 % of the target: then from the residual). Along a path it
typically needs two or three steps per :math:`\lambda` and ends at the exact solution (up to
rounding). Where it does not certify, the loop above takes over from its best point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..penalties import GroupLasso, Penalty
from .duality import _Structure, _structure, logistic_gap, squared_gap
from .losses import _lanczos_max, _Logistic, _Smooth, _SquaredData, _SquaredGram
from .problem import _Problem
from .proximal import _penalty_ops, _proximal_gradient, _Raw

#: The smallest working set (in blocks), and the ratio of the inner to the outer gap target.
_P0 = 30
_INNER = 0.3
#: The inner solver's iteration budget per outer iteration (doubled each time it is used
#: up without progress of the gap, reset when the gap halves), and the stall rule: the
#: solver gives up, with the best point found, when the gap has not fallen below
#: ``_PROGRESS`` times its best value in ``_STALL`` outer iterations (a ``tol`` below what
#: the arithmetic can certify).
_INNER_CAP = 1000
_PROGRESS = 0.5
_STALL = 5
#: ... and only where the best gap is below this fraction of F0 (about sqrt(eps)): a larger
#: gap that does not halve is slow progress (an ill-conditioned problem), not a rounding floor
_FLOOR = 1.5e-8
#: Gap safe screening is run where there are at least this many blocks (below, one pass over
#: X for the column norms costs more than the screening saves), and the screened columns are
#: dropped from X once at most this fraction of them is left.
_SCREEN_MIN_BLOCKS = 1000
_COMPACT = 0.5


def _column_norms(prob: _Problem) -> np.ndarray:
    """:math:`\\|x_j - \\bar x_j\\|_2` (centered where an intercept is fitted), cached on ``prob``."""
    cached = getattr(prob, "_colnorms", None)
    if cached is not None:
        return cached
    sm = prob.smooth
    if isinstance(sm, _SquaredGram):
        sq = prob.m * np.diag(sm.G).copy()
    else:
        X = prob.X
        sq = np.einsum("ij,ij->j", X, X)
        if prob.fit_intercept:
            xbar = X.mean(axis=0) if prob.loss == "logistic" else prob.xbar
            sq -= prob.m * xbar * xbar
    out = np.sqrt(np.maximum(sq, 0.0))
    prob._colnorms = out  # type: ignore[attr-defined]
    return out


def null_objective(prob: _Problem) -> float:
    """:math:`F(0, b_0)`, the scale of ``tol``: :math:`\\|y - \\bar y\\|^2/(2m)` for the squared
    loss, the mean binary entropy of the labels (or :math:`\\ln 2`) for the logistic loss."""
    cached = getattr(prob, "_f0", None)
    if cached is not None:
        return cached
    if prob.loss == "squared":
        sm = prob.smooth
        out = sm.k if isinstance(sm, _SquaredGram) else float(sm.yc @ sm.yc) / (2 * prob.m)
    elif prob.fit_intercept:
        q = float(((prob.s + 1.0) / 2.0).mean())
        out = -(q * math.log(q) + (1.0 - q) * math.log(1.0 - q))
    else:
        out = math.log(2.0)
    out = out if out > 0.0 else 1.0
    prob._f0 = out  # type: ignore[attr-defined]
    return out


def _modulus(prob: _Problem) -> float:
    return float(prob.m) if prob.loss == "squared" else 4.0 * prob.m


def full_state(
    prob: _Problem, st: _Structure, theta: np.ndarray, cols: np.ndarray | None = None, Xa: np.ndarray | None = None
) -> tuple[float, np.ndarray, float, float]:
    """``(gap, v, scale, b)`` at ``theta``: the duality gap, :math:`v = -\\nabla_w f`, the dual
    scaling and (logistic loss with intercept) the best intercept for ``theta``'s :math:`w`.

    With ``cols`` (the columns that screening left, and ``Xa = X[:, cols]``), :math:`v` is
    computed on those columns only and is 0 elsewhere: the gap is then that of the screened
    problem, whose optimum is the full problem's (the screening is safe).
    """
    p = prob.p
    w = theta[:p]
    nz = np.flatnonzero(w)
    sparse = nz.size < 0.25 * p
    sm = prob.smooth
    if prob.loss == "squared":
        if isinstance(sm, _SquaredGram):
            aux = sm.G[:, nz] @ w[nz] if sparse else sm.G @ w
            v = sm.c - aux
            fl = max(0.5 * float(w @ aux) - float(sm.c @ w) + sm.k, 0.0)
        elif nz.size == 0:  # w = 0: the gradient was computed with the problem
            v = -prob.grad0
            fl = float(sm.yc @ sm.yc) / (2 * prob.m)
        else:
            xw = prob.X[:, nz] @ w[nz] if sparse else prob.X @ w
            r = sm.yc - xw
            if sm.xbar is not None:
                r += float(sm.xbar @ w)
            fl = float(r @ r) / (2 * prob.m)
            if cols is None:
                v = sm._rmatvec(r) / prob.m
            else:
                v = np.zeros(p)
                va = Xa.T @ r  # type: ignore[union-attr]
                if sm.xbar is not None:
                    va -= float(r.sum()) * sm.xbar[cols]
                v[cols] = va / prob.m
        gap, scale = squared_gap(st, w, v, fl)
        return gap, v, scale, 0.0
    z0 = prob.X[:, nz] @ w[nz] if sparse else prob.X @ w
    b = float(theta[p]) if prob.fit_intercept else 0.0
    if cols is None:
        gap, v, scale, bb = logistic_gap(st, prob.X, prob.s, w, b, prob.fit_intercept, z0)
    else:
        gap, va, scale, bb = logistic_gap(st, Xa, prob.s, w, b, prob.fit_intercept, z0, cols)  # type: ignore[arg-type]
        v = np.zeros(p)
        v[cols] = va
    return gap, v, scale, bb


def certificate(prob: _Problem, penalty: Penalty | None, theta: np.ndarray) -> float:
    """The duality gap at ``theta`` (NaN where the problem has none, see :func:`_structure`)."""
    st = _structure(penalty)
    if st is None:
        return math.nan
    return full_state(prob, st, theta)[0]


class _GramCache:
    """Gram entries :math:`x_j^\\top x_k/m` (centered columns) of every column that has been in a
    working set of this problem, computed once each: along a path, or from one outer
    iteration to the next, a working set mostly repeats the previous one, and rebuilding its
    Gram matrix from the data would cost :math:`m|W|^2` each time."""

    def __init__(self, prob: _Problem) -> None:
        self.prob = prob
        self.pos = np.full(prob.p, -1, dtype=np.intp)  # column j is at pos[j] in the cache
        self.n = 0
        self.cap = 0
        self.Xc = np.empty((prob.m, 0), order="F")
        self.G = np.empty((0, 0))
        self.c = np.empty(0)

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self.cap, 64)
        Xc = np.empty((self.prob.m, cap), order="F")
        G = np.empty((cap, cap))
        c = np.empty(cap)
        n = self.n
        Xc[:, :n], G[:n, :n], c[:n] = self.Xc[:, :n], self.G[:n, :n], self.c[:n]
        self.Xc, self.G, self.c, self.cap = Xc, G, c, cap

    def sub(self, W: np.ndarray) -> _SquaredGram:
        prob, sm = self.prob, self.prob.smooth
        new = W[self.pos[W] < 0]
        if new.size:
            n, k = self.n, new.size
            if n + k > self.cap:
                self._grow(n + k)
            XN = prob.X[:, new]
            if sm.xbar is not None:  # type: ignore[attr-defined]
                XN -= sm.xbar[new]  # type: ignore[attr-defined]
            self.Xc[:, n : n + k] = XN
            cross = XN.T @ self.Xc[:, : n + k]
            cross /= prob.m
            self.G[n : n + k, : n + k] = cross
            self.G[: n + k, n : n + k] = cross.T
            self.c[n : n + k] = XN.T @ sm.yc / prob.m  # type: ignore[attr-defined]
            self.pos[new] = np.arange(n, n + k)
            self.n = n + k
        idx = self.pos[W]
        k0 = float(sm.yc @ sm.yc) / (2 * prob.m)  # type: ignore[attr-defined]
        return _SquaredGram(self.G[np.ix_(idx, idx)], self.c[idx], k0)


def _sub_problem(prob: _Problem, W: np.ndarray) -> _Smooth:
    """The smooth part restricted to the columns ``W`` (for the squared loss, the working
    set's Gram matrix, from the problem's :class:`_GramCache`)."""
    sm = prob.smooth
    if isinstance(sm, _SquaredGram):
        return _SquaredGram(sm.G[np.ix_(W, W)], sm.c[W], sm.k)
    if prob.loss == "squared":
        if W.size <= prob.m:
            cache = getattr(prob, "_gram_cache", None)
            if cache is None:
                cache = prob._gram_cache = _GramCache(prob)  # type: ignore[attr-defined]
            return cache.sub(W)
        XW = prob.X[:, W]
        if sm.xbar is not None:
            XW -= sm.xbar[W]
        return _SquaredData(XW, None, sm.yc)
    return _Logistic(np.ascontiguousarray(prob.X[:, W]), prob.s, prob.fit_intercept)


def _sub_gap(sub: _Smooth, st: _Structure, nW: int, fit_intercept: bool) -> Callable[[np.ndarray, np.ndarray], float]:
    """The sub-problem's duality gap from ``(theta, aux)`` (``aux`` as the solver keeps it)."""
    if isinstance(sub, _SquaredGram):

        def gap(x: np.ndarray, a: np.ndarray) -> float:
            v = sub.c - a
            fl = max(0.5 * float(x @ a) - float(sub.c @ x) + sub.k, 0.0)
            return squared_gap(st, x, v, fl)[0]

    elif isinstance(sub, _SquaredData):

        def gap(x: np.ndarray, a: np.ndarray) -> float:
            r = sub.yc - a
            return squared_gap(st, x, sub._rmatvec(r) / sub.m, float(r @ r) / (2 * sub.m))[0]

    else:

        def gap(x: np.ndarray, a: np.ndarray) -> float:
            b = float(x[nW]) if fit_intercept else 0.0
            z0 = a - b if fit_intercept else a
            return logistic_gap(st, sub.X, sub.s, x[:nW], b, fit_intercept, z0)[0]  # type: ignore[attr-defined]

    return gap


def working_set(
    prob: _Problem,
    penalty: Penalty,
    st: _Structure,
    tol: float,
    max_iter: int,
    theta0: np.ndarray,
    callback: Callable[[int, np.ndarray], Any] | None = None,
    track: bool = True,
    restart: bool = True,
) -> _Raw:
    """Minimize over ``theta`` by working sets (see the module docs); ``tol`` is relative to
    :func:`null_objective`. Returns the raw result with ``gap`` set and a relative residual."""
    p = prob.p
    nb = st.n_blocks(p)
    thr = st.thresholds()
    screen = nb >= _SCREEN_MIN_BLOCKS
    if screen:
        cn = _column_norms(prob)
        cn_b = cn if st.kind != "group" else np.sqrt(np.add.reduceat(cn[st.order] ** 2, st.starts))
    else:
        cn_b = np.ones(nb)  # the working-set scores only
    cols: np.ndarray | None = None
    Xa: np.ndarray | None = None
    compactable = not isinstance(prob.smooth, _SquaredGram)
    f0 = null_objective(prob)
    eps = tol * f0
    mod = _modulus(prob)
    logistic = prob.loss == "logistic"
    theta = np.array(theta0, dtype=np.float64)
    alive = np.ones(nb, dtype=bool)
    history: list[float] = []
    used = 0
    L: float | None = None
    converged = False
    stalled = False
    gap = math.inf
    # the best certified point so far (lowest gap), returned if the target is not reached;
    # the inner budget per outer iteration (doubled each time the inner solver uses it all),
    # so that the outer loop always comes back to check the working set
    best_gap, best_theta, since_best = math.inf, theta.copy(), 0
    cap = _INNER_CAP
    if isinstance(prob.smooth, _SquaredGram) and st.kind == "l1":
        # lasso / elastic net on the Gram matrix: the active-set method first; FISTA on
        # working sets (below) only where it does not certify
        raw = gram_active_set(prob, st, tol, max_iter, theta0, callback, track)
        if raw.converged or raw.n_iter >= max_iter:
            return raw
        theta, used = raw.theta.copy(), raw.n_iter
        history = list(raw.history) if track else []
        best_gap, best_theta = raw.gap, raw.theta.copy()
    gram = isinstance(prob.smooth, _SquaredGram)
    while True:
        gap, v, scale, bb = full_state(prob, st, theta, cols, Xa)
        if logistic and prob.fit_intercept:
            theta[p] = bb
        if gram and (
            gap <= eps
            if st.kind == "group"
            else _gap_error_bound(prob, st, theta[:p], v, _gram_loss(prob, theta[:p], v)) > 0.01 * max(gap, eps)
        ):
            # the Gram form's v = c - G w and loss cancel where large coefficients do: a gap
            # not accurate to 1 % is recomputed from the residual (the bound is written for
            # per-coefficient blocks; the group lasso's gap is recomputed where it certifies)
            gap = squared_gap(st, theta[:p], *_true_state(prob, theta[:p]))[0]
        if gap < _PROGRESS * best_gap:
            since_best, cap = 0, _INNER_CAP
        else:
            since_best += 1
        if gap < best_gap:
            best_gap, best_theta = gap, theta.copy()
        bn = st.block_norms(v)
        # the first-order solvers' rule as well: no zero block violates its optimality
        # condition by more than tol * g0 (a small gap alone allows w = 0 just below lambda_max)
        w = theta[:p]
        zero = ~(st.block_norms(w) > 0 if st.kind == "group" else w != 0)
        violation = float(np.max(np.where(zero & alive, bn - thr, 0.0), initial=0.0))
        if gap <= eps and violation <= tol * prob.scale:
            converged = True
            break
        if used >= max_iter:
            break
        if since_best >= _STALL and best_gap <= _FLOOR * f0:
            # the gap no longer decreases, at a level rounding can explain: the arithmetic's
            # floor (above it, slow progress: on to max_iter, and said so)
            stalled = True
            break
        violated = bn > thr * (1.0 + 1e-12)  # before scaling: the scaled dual point violates nothing
        bn *= scale
        if screen:  # gap safe screening: these blocks are zero at the optimum
            radius = math.sqrt(2.0 * gap / mod)
            newly = alive & (bn + radius * cn_b < thr)
            if newly.any():
                alive &= ~newly
                theta[:p][st.block_of(newly, p)] = 0.0
                keep = np.flatnonzero(st.block_of(alive, p))
                if compactable and keep.size <= _COMPACT * (p if cols is None else cols.size):
                    cols, Xa = keep, prob.X[:, keep]
        w = theta[:p]
        supp = st.block_norms(w) > 0 if st.kind == "group" else w != 0
        n_alive = int(alive.sum())
        if n_alive == 0:  # every block screened: w = 0 is the solution, certified by the safe rule
            converged = True
            break
        size = min(n_alive, max(_P0, 2 * int(supp.sum())))
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(cn_b > 0, (thr - bn) / cn_b, np.inf)
        score[supp] = -np.inf
        score[~alive] = np.inf
        if size < nb:
            ws = np.argpartition(score, size - 1)[:size]
        else:
            ws = np.flatnonzero(alive)
        in_ws = np.zeros(nb, dtype=bool)
        in_ws[ws] = True
        violated_outside = bool(np.any(violated & alive & ~in_ws))
        # coarse while the working set is still wrong; at the end, the target gap and the
        # first-order solvers' gradient-mapping rule (tol * g0), which pins the coefficients
        # down better than a small gap alone where the problem is ill-conditioned
        tol_in = max(_INNER * gap, 0.5 * eps) if violated_outside else 0.5 * eps
        tol_gm = math.inf if violated_outside else tol * prob.scale
        if st.kind == "group":
            groups = [st.order[st.starts[g] : st.starts[g] + st.sizes[g]] for g in np.sort(ws)]
            W = np.concatenate(groups)
            labels = np.repeat(np.arange(len(groups)), [g.size for g in groups])
            pen_sub: Penalty = GroupLasso(penalty.lam, labels)
            st_sub = _structure(pen_sub)
        else:
            W = np.sort(ws)
            pen_sub, st_sub = penalty, st
        nW = W.size
        sub = _sub_problem(prob, W)
        theta_sub = np.concatenate((theta[W], theta[p:])) if logistic and prob.fit_intercept else theta[W].copy()
        prox, value, _ = _penalty_ops(pen_sub, nW, sub.q)
        sub_gap = _sub_gap(sub, st_sub, nW, prob.fit_intercept)  # type: ignore[arg-type]
        L_sub = _lanczos_max(sub.hess_bound, sub.q, n_iter=2) if sub.q > 1 else float(sub.hess_bound(np.ones(1))[0])
        if L is not None:
            L_sub = min(L, L_sub)
        # a floor relative to the problem's curvature (an absolute 1e-12 made steps 1e28 times
        # too short on a design scaled by 1e-20, and the line search only raises L)
        L_sub = L_sub if L_sub > 0.0 else (prob.lipschitz if prob.lipschitz > 0.0 else 1.0)
        cb = None
        if callback is not None:

            def cb(k: int, wW: np.ndarray, W: np.ndarray = W, offset: int = used) -> None:
                full = np.zeros(p)
                full[W] = wW
                callback(k + offset, full)

        raw = _proximal_gradient(
            sub, prox, value, theta_sub, L_sub, tol_gm, min(max_iter - used, cap), True, restart, cb, nW,
            track=track, stop=lambda x, a, f=sub_gap, t=tol_in: f(x, a) <= t, stop_every=10,
        )  # fmt: skip
        if track:
            history.extend(raw.history if not history else raw.history[1:])
        used += raw.n_iter
        if not raw.converged:
            cap *= 2
        L = raw.lipschitz
        theta[:p] = 0.0
        theta[W] = raw.theta[:nW]
        if logistic and prob.fit_intercept:
            theta[p] = raw.theta[nW]
    if not converged and best_gap < gap:
        theta, gap = best_theta, best_gap
        if track and history:  # the last entry is the returned point's (n_iter + 1 entries)
            history[-1] = _objective(prob, st, theta)
    if not track or not history:
        history = [_objective(prob, st, theta)]
    return _Raw(
        theta, used, history, converged, gap / f0, L if L is not None else 1.0,
        gap=gap, relative=True, solver="working-set", stalled=stalled,
    )  # fmt: skip


#: The primal-dual active-set solver on the Gram matrix (lasso and elastic net, squared loss):
#: at most this many new coefficients per step (beyond the size of the active set), at most
#: this many steps before it hands over to the FISTA working sets, and the relative size of
#: the smallest pivot of a Schur complement it accepts (below, the active columns are
#: numerically dependent and the inverse is not trusted).
_AS_STEPS = 50
_AS_PIVOT = 1e-10
#: the rank of the pending corrections at which :class:`_ActiveInverse` folds them in
_AS_FOLD = 48


class _ActiveInverse:
    r""":math:`H = (G_{AA} + bI)^{-1}` for an active set :math:`A` (in the order of ``idx``),
    kept up to date as coefficients leave (the set :math:`R`) and enter (:math:`N`) the
    active set by low-rank corrections, where solving from scratch would cost
    :math:`O(|A|^3)`: dropping :math:`R` is :math:`H_{KK} - H_{KR}H_{RR}^{-1}H_{RK}` on the
    kept set :math:`K`, and adding :math:`N` borders the result with the inverse of the Schur
    complement :math:`S = G_{NN} + bI - G_{NK}H_KG_{KN}`. The corrections are kept as factors,
    :math:`H = H_0 + UV^\top`, and applied to every product in :math:`O(|A|\,\mathrm{rank})`;
    they are folded into :math:`H_0` (one product, and the dropped rows and columns removed)
    only once their rank reaches ``_AS_FOLD`` (a rank-one update of the whole
    :math:`|A|\times|A|` matrix per change would cost more than the rest of a step). Along a
    path the active set changes by a few coefficients per :math:`\lambda`, and the inverse is
    carried from one :math:`\lambda` to the next."""

    def __init__(self, G: np.ndarray, b: float) -> None:
        self.G, self.b = G, b
        self._feat = np.empty(0, dtype=np.intp)  # the feature in each slot of H0
        self._alive = np.empty(0, dtype=bool)  # slots in the active set (others dropped)
        self._buf = np.empty((0, 0))  # H0 in its leading block
        self._U = np.empty((0, 0))
        self._V = np.empty((0, 0))
        self._set_idx()

    def _set_idx(self) -> None:
        self._slots = np.flatnonzero(self._alive)
        self.idx = self._feat[self._slots]

    @property
    def H(self) -> np.ndarray:
        """:math:`H` itself (folds the corrections in)."""
        self._fold()
        k = self.idx.size
        return self._buf[:k, :k]

    def _fold(self) -> np.ndarray:
        """Fold the corrections into H0 and remove the dropped slots; returns, for each
        active position after, the active position before (the live slots of the tail are
        moved into the dropped ones)."""
        ks = self._feat.size
        H0 = self._buf[:ks, :ks]
        if self._U.shape[1]:
            H0 += self._U @ self._V.T
        if not self._alive.all():  # move the live slots from the tail into the dropped ones
            k = self._slots.size
            holes = np.flatnonzero(~self._alive[:k])
            src = np.flatnonzero(self._alive[k:]) + k
            H0[holes] = H0[src]
            H0[:k, holes] = H0[:k, src]
            feat = self._feat.copy()
            feat[holes] = feat[src]
            old = np.arange(k)
            old[holes] = src
            perm = (np.cumsum(self._alive) - 1)[old]
            self._feat, self._alive = feat[:k], np.ones(k, dtype=bool)
        else:
            perm = np.arange(ks)
        self._U = self._V = np.empty((self._feat.size, 0))
        self._set_idx()
        return perm

    def _apply(self, Xf: np.ndarray) -> np.ndarray:
        """:math:`H X` over all slots (``Xf`` zero on the dropped ones)."""
        ks = self._feat.size
        out = self._buf[:ks, :ks] @ Xf
        if self._U.shape[1]:
            out += self._U @ (self._V.T @ Xf)
        return out

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """:math:`H\\,r` for ``rhs`` over the active set (in the order of ``idx``)."""
        x = np.zeros(self._feat.size)
        x[self._slots] = rhs
        return self._apply(x)[self._slots]

    def update(self, keep: np.ndarray, new: np.ndarray) -> np.ndarray | None:
        """Keep the positions ``keep`` (a boolean mask over ``idx``) and append the columns
        ``new``. Returns, for each position of the new ``idx``, its position in the old
        ``idx`` followed by ``new`` (the order may change); None, with nothing changed, if
        the new columns are numerically dependent on the kept ones (a Schur complement not
        safely positive definite)."""
        n = new.size
        R = self._slots[~keep]
        r = R.size
        order = np.concatenate((np.flatnonzero(keep), np.arange(keep.size, keep.size + n)))
        if r == 0 and n == 0:
            return order
        ks = self._feat.size
        cols_U, cols_V = [], []
        if r:
            HR = self._buf[R, :ks]  # rows R of H: r x ks
            if self._U.shape[1]:
                HR = HR + self._U[R] @ self._V.T
            X = np.linalg.solve(HR[:, R], HR)  # H_RR^{-1} H_R:
            cols_U.append(HR.T)
            cols_V.append(-X.T)
        if n:
            GN = self.G[new]  # n x p
            D = GN[:, new]
            if self.b:
                D = D + self.b * np.eye(n)
            K = self._slots[keep]
            if K.size:
                Bf = np.zeros((ks, n))
                Bf[K] = GN[:, self._feat[K]].T  # G_{KN}, zero on the other slots
                HB = self._apply(Bf)
                if r:
                    HB -= HR.T @ (X @ Bf)  # rows K: H_K G_{KN} (H_K: H after the drop)
                    HB[R] = 0.0
                dead = ~self._alive
                if dead.any():
                    HB[dead] = 0.0
                S = D - Bf.T @ HB
            else:
                S = D
            floor = _AS_PIVOT * max(float(np.max(np.diag(D))), 1e-300)
            if n == 1:  # a scalar Schur complement (the usual case along a path)
                if not float(S[0, 0]) > floor:
                    return None
                Si = 1.0 / S
            else:
                S = 0.5 * (S + S.T)
                try:
                    Lc = np.linalg.cholesky(S)
                except np.linalg.LinAlgError:
                    return None
                if not float(np.min(np.diag(Lc))) ** 2 > floor:
                    return None
                Si = np.linalg.inv(S)
                Si = 0.5 * (Si + Si.T)
            if K.size:
                T = HB @ Si
                cols_U.append(T)
                cols_V.append(HB)
        # nothing can fail from here on
        if r:
            self._alive[R] = False
        if cols_U:
            self._U = np.hstack([self._U, *cols_U])
            self._V = np.hstack([self._V, *cols_V])
        if n:
            if ks + n > self._buf.shape[0]:
                cap = min(max(ks + n, 2 * self._buf.shape[0], 64), max(self.G.shape[0], ks + n))
                buf = np.empty((cap, cap))
                buf[:ks, :ks] = self._buf[:ks, :ks]
                self._buf = buf
            B = self._buf
            if K.size:
                B[:ks, ks : ks + n] = -T
                B[ks : ks + n, :ks] = -T.T
            else:
                B[:ks, ks : ks + n] = 0.0
                B[ks : ks + n, :ks] = 0.0
            B[ks : ks + n, ks : ks + n] = Si
            zeros = np.zeros((n, self._U.shape[1]))
            self._U, self._V = np.vstack((self._U, zeros)), np.vstack((self._V, zeros))
            self._feat = np.concatenate((self._feat, new))
            self._alive = np.concatenate((self._alive, np.ones(n, dtype=bool)))
        self._set_idx()
        if self._U.shape[1] >= _AS_FOLD or (~self._alive).sum() > max(16, self._feat.size // 4):
            order = order[self._fold()]
        return order

    def drop(self, keep: np.ndarray) -> np.ndarray:
        """Keep the positions ``keep`` only (see :meth:`update`)."""
        return self.update(keep, np.empty(0, dtype=np.intp))  # type: ignore[return-value]

    def add(self, new: np.ndarray) -> bool:
        """Append the columns ``new``; False (and nothing changed) if they are numerically
        dependent on the active ones."""
        return self.update(np.ones(self.idx.size, dtype=bool), new) is not None

    def reset(self, idx: np.ndarray) -> bool:
        """From scratch on the columns ``idx`` (False if they are numerically dependent)."""
        self.__init__(self.G, self.b)  # type: ignore[misc]
        return self.add(idx)


def _rounding_bound(prob: _Problem, w: np.ndarray) -> float:
    r"""A bound on the rounding error of the Gram form of the loss,
    :math:`\tfrac12 w^\top G w - c^\top w + k`, against :math:`\|y_c - X_c w\|^2/(2m)`:
    each entry of :math:`G`, :math:`c` and :math:`k` is a sum of :math:`m` products, wrong by
    at most :math:`m\epsilon` times the sum of their magnitudes, which gives
    :math:`m\epsilon\,(\sum_j |w_j|\,\|x_j\| + \|y_c\|)^2/(2m)` (and the evaluation adds
    :math:`p\epsilon` times the same scale)."""
    cn = _column_norms(prob)
    A = float(np.abs(w) @ cn)
    yn = math.sqrt(2.0 * prob.m * prob.smooth.k)  # type: ignore[attr-defined]
    return (prob.m + prob.p + 4) * np.finfo(np.float64).eps * (A + yn) ** 2 / (2 * prob.m)


def _true_loss(prob: _Problem, w: np.ndarray) -> float:
    """:math:`\\|y_c - X_c w\\|^2/(2m)` from the data (the residual itself, no cancellation)."""
    nz = np.flatnonzero(w)
    r = prob.X[:, nz] @ w[nz] - (prob.y - prob.ybar)
    if prob.fit_intercept:
        r -= float(prob.xbar[nz] @ w[nz])
    return float(r @ r) / (2 * prob.m)


def _gap_error_bound(prob: _Problem, st: _Structure, w: np.ndarray, v: np.ndarray, fl: float) -> float:
    r"""A bound on the rounding error of the duality gap computed from the Gram form, beside
    that of its loss (:func:`_rounding_bound`, :math:`R`): :math:`v = c - Gw` cancels too,
    each entry wrong by at most :math:`e_j = \beta\|x_j\|(\sum_k |w_k|\|x_k\| + \|y_c\|)/m`,
    :math:`\beta = (m + p + 4)\epsilon`. That moves :math:`v^\top w` by
    :math:`\sum_j |w_j| e_j`, the dual scaling :math:`\min(1, a/\|v\|_\infty)` by at most
    :math:`\max_j e_j/a` (times :math:`2f + |v^\top w|` in the gap), and the elastic net's
    conjugate :math:`\sum_j (|v_j| - a)_+^2/(2b)` by
    :math:`\sum_j ((|v_j| - a)_+ e_j + e_j^2/2)/b`."""
    m, p = prob.m, prob.p
    cn = _column_norms(prob)
    yn = math.sqrt(2.0 * m * prob.smooth.k)  # type: ignore[attr-defined]
    beta = (m + p + 4) * np.finfo(np.float64).eps
    e = beta * cn * (float(np.abs(w) @ cn) + yn) / m
    err = _rounding_bound(prob, w) + float(np.abs(w) @ e)
    if st.scaled:
        err += (2.0 * fl + abs(float(v @ w)) + float(np.abs(w) @ e)) * float(e.max(initial=0.0)) / st.a
    else:
        ex = np.maximum(np.abs(v) - st.a, 0.0)
        err += float(ex @ e + 0.5 * (e @ e)) / st.b
    return err


def _gram_loss(prob: _Problem, w: np.ndarray, v: np.ndarray) -> float:
    r"""The Gram form of the loss from :math:`v = c - Gw`: :math:`k - w^\top(c + v)/2`."""
    sm = prob.smooth
    return max(sm.k - 0.5 * float(w @ (sm.c + v)), 0.0)  # type: ignore[attr-defined]


def _true_state(prob: _Problem, w: np.ndarray) -> tuple[np.ndarray, float]:
    r""":math:`v = X_c^\top r/m` and :math:`\|r\|^2/(2m)` from the residual
    :math:`r = y_c - X_c w` itself (one pass over the data; no cancellation)."""
    nz = np.flatnonzero(w)
    r = (prob.y - prob.ybar) - prob.X[:, nz] @ w[nz]
    if prob.fit_intercept:
        r += float(prob.xbar[nz] @ w[nz])
    v = prob.X.T @ r
    if prob.fit_intercept:
        v -= float(r.sum()) * prob.xbar
    v /= prob.m
    return v, float(r @ r) / (2 * prob.m)


def gram_active_set(
    prob: _Problem,
    st: _Structure,
    tol: float,
    max_iter: int,
    theta0: np.ndarray,
    callback: Callable[[int, np.ndarray], Any] | None = None,
    track: bool = True,
) -> _Raw:
    r"""The lasso or elastic net (squared loss) on the Gram matrix by a primal-dual active set
    method (Newton's method on the optimality conditions, Hintermüller, Ito & Kunisch, 2002;
    with warm starts along a path, Fan, Jiao & Lu, 2014).

    With :math:`G = X_c^\top X_c/m` and :math:`c = X_c^\top y_c/m`, the optimality conditions
    of :math:`\tfrac12 w^\top G w - c^\top w + a\|w\|_1 + \tfrac b2\|w\|^2` are
    :math:`u_j = a\,\mathrm{sign}(w_j)` where :math:`w_j \ne 0` and :math:`|u_j| \le a`
    elsewhere, for :math:`u = c - (G + bI)w`. Given signs :math:`s` on an active set
    :math:`A`, they are a linear system, :math:`w_A = (G_{AA} + bI)^{-1}(c_A - a s_A)`,
    :math:`w = 0` off :math:`A`. Each step solves it, then drops from :math:`A` the
    coefficients whose sign came out against :math:`s` and adds those whose condition
    :math:`|u_j| \le a` is violated (the largest violations first, at most
    ``max(30, |A|)`` of them), with :math:`s_j = \mathrm{sign}(u_j)`. When :math:`A` and
    :math:`s` stop changing, :math:`w` is the solution up to rounding. Every step costs
    one product :math:`G_{:,A} w_A` (:math:`p|A|`, the full optimality check, and the
    duality gap where no condition is violated beyond the tolerance; no pass over the data)
    and the update of :math:`(G_{AA} + bI)^{-1}` (:class:`_ActiveInverse`). The first step
    solves on the starting support and signs before any check: along a path, where the
    start is the previous :math:`\lambda`'s solution and the inverse is carried over, that
    is the new solution unless the support changes.

    It stops on the duality gap like :func:`working_set`. The gap comes from the Gram form,
    :math:`v = c - Gw` and :math:`\tfrac12 w^\top G w - c^\top w + k`, both of which cancel
    where large coefficients do (nearly equal columns with large opposite coefficients, small
    :math:`\lambda`); where the bound on the gap's rounding error (:func:`_gap_error_bound`)
    is not below 1 % of the target, a gap that would certify is recomputed from the residual
    :math:`y_c - X_c w` itself (:math:`v` and the loss, one pass over the data), and so is the
    gap of the point handed on where the method does not certify. The method has no global
    convergence guarantee from a cold start: if it does not certify within ``_AS_STEPS``
    steps, or the active columns are numerically dependent, the caller goes on with
    FISTA on working sets from the best point found (``converged=False`` here).
    """
    sm = prob.smooth
    G, c, k0 = sm.G, sm.c, sm.k  # type: ignore[attr-defined]
    p = prob.p
    a, b = st.a, st.b
    f0 = null_objective(prob)
    eps = tol * f0
    w = np.array(theta0[:p], dtype=np.float64)
    inv = getattr(prob, "_active_inverse", None)
    if inv is None or inv.b != b:
        inv = _ActiveInverse(G, b)
    def state(w: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, float, float]:
        aux = G @ w if A.size > 0.1 * p else w[A] @ G[A]  # (a large gather costs more than G @ w)
        wA = w[A]
        fl = max(0.5 * float(wA @ aux[A]) - float(c[A] @ wA) + k0, 0.0)
        return c - aux, fl, fl + st.value(w)  # v (minus the gradient of the loss), f, F

    # start from the cached active set (along a path, the previous lambda's), updated to
    # the support of the starting point
    supp = np.flatnonzero(w)
    in_supp = np.zeros(p, dtype=bool)
    in_supp[supp] = True
    if inv.idx.size != supp.size or not in_supp[inv.idx].all():
        inv.drop(in_supp[inv.idx])
        in_inv = np.zeros(p, dtype=bool)
        in_inv[inv.idx] = True
        if not inv.add(supp[~in_inv[supp]]) and not inv.reset(supp):
            # the starting support is numerically dependent (duplicated columns, whose weight
            # FISTA splits): the starting point goes to the FISTA working sets as it is (it
            # used to be replaced by w = 0, which threw the warm start away)
            prob._active_inverse = _ActiveInverse(G, b)  # type: ignore[attr-defined]
            v, fl, fval = state(w, supp)
            gap = squared_gap(st, w, v, fl)[0]
            return _Raw(w, 0, [fval], False, gap / f0, 1.0, gap=gap, relative=True, solver="working-set")
    prob._active_inverse = inv  # type: ignore[attr-defined]
    s = np.sign(w[inv.idx])
    history: list[float] = []
    if track:  # F at the starting point
        history.append(0.5 * float(w @ (G @ w)) - float(c @ w) + k0 + st.value(w))
    if inv.idx.size:
        # the first Newton step on the starting support and signs, before any check: along
        # a path this is the solution at the new lambda unless the support changes (the
        # homotopy prediction), and it needs no update of the inverse
        w[inv.idx] = inv.solve(c[inv.idx] - a * s)
        n_pred = 1
    else:
        n_pred = 0
        if track:
            history.clear()  # the first state below is the starting point
    best_gap, best_w, since_best = math.inf, w.copy(), 0
    gap = math.inf
    converged = False
    n = n_pred
    f_best = math.nan
    polished = False

    while True:
        A = inv.idx
        v, fl, fval = state(w, A)
        if track:
            history.append(fval)
        u = v - b * w if b else v
        zero = np.ones(p, dtype=bool)
        zero[A] = False
        excess = np.where(zero, np.abs(u) - a, 0.0)
        violation = float(excess.max(initial=0.0))
        wA = w[A]
        keep = s * wA > 0
        # the gap only where it can certify (no violation beyond the tolerance); a state
        # that has to change its active set anyway is not checked
        gap = squared_gap(st, w, v, fl)[0] if violation <= tol * prob.scale else math.inf
        certified = gap <= eps
        if certified and _gap_error_bound(prob, st, w, v, fl) > 0.01 * eps:  # the Gram form may not certify
            gap = squared_gap(st, w, *_true_state(prob, w))[0]  # v and the loss from the residual
            certified = gap <= eps
        if certified:
            converged = True
            best_gap, best_w, f_best = gap, w.copy(), fval
            # certified, but the active set would still change (a violation below the
            # tolerance, a sign against s): one more step, kept only if it certifies too,
            # usually gives the exact solution (and its exact zeros)
            if polished or n >= max_iter or (keep.all() and not (excess > 0.0).any()):
                break
            polished = True
        elif converged:  # the extra step did not certify: the point before it is returned
            if track:  # the last entry is the returned point's (n_iter + 1 entries)
                history[-1] = f_best
            break
        if gap < math.inf:
            if gap < _PROGRESS * best_gap:
                since_best = 0
            else:
                since_best += 1
            if gap < best_gap:
                best_gap, best_w, f_best = gap, w.copy(), fval
        if n >= min(max_iter, _AS_STEPS) or since_best >= _STALL:
            break
        # the next active set: drop sign changes, add the largest violations
        viol = np.flatnonzero(excess > 0.0)
        if keep.all() and viol.size == 0:
            # the active set is right: refine (one Newton step on the residual of the linear
            # system), with the inverse rebuilt from scratch if refining has stopped helping
            if since_best >= 2 and not inv.reset(A):
                break
            w[A] += inv.solve(u[A] - a * s)
        else:
            cap = max(_P0, A.size)
            if viol.size > cap:
                viol = viol[np.argpartition(-excess[viol], cap - 1)[:cap]]
            order = inv.update(keep, viol)
            if order is None:  # numerically dependent columns: FISTA on working sets takes over
                # (adding them one at a time, skipping the refused ones, was tried in 891ccbe
                # and reverted: on rank-deficient designs, e.g. repeated rows, it handed FISTA
                # a point from which the path stalled at max_iter)
                break
            s = np.concatenate((s, np.sign(u[viol])))[order]
            A = inv.idx
            w[:] = 0.0
            w[A] = inv.solve(c[A] - a * s)
        n += 1
        if callback is not None:
            callback(n, w.copy())
    if not converged and best_gap == math.inf:  # no gap computed: that of the current point
        v, fl, f_best = state(w, inv.idx)
        best_gap, best_w = squared_gap(st, w, v, fl)[0], w.copy()
    w, gap = best_w, best_gap  # the last certified point, or the best one found
    if not converged:  # the gap handed on (and reported) is that of w, accurate to 1 %
        v, fl, _ = state(w, np.flatnonzero(w))
        if _gap_error_bound(prob, st, w, v, fl) > 0.01 * max(gap, eps):
            gap = squared_gap(st, w, *_true_state(prob, w))[0]
    if not track:
        history = [f_best]
    else:  # the last entry is the returned point's (the best one, not always the last)
        history[-1] = f_best
    return _Raw(w, n, history, converged, gap / f0, 1.0, gap=gap, relative=True, solver="working-set")


def _objective(prob: _Problem, st: _Structure, theta: np.ndarray) -> float:
    """The objective at ``theta`` from scratch."""
    p = prob.p
    if prob.loss == "logistic":
        z = prob.X @ theta[:p] + (theta[p] if prob.fit_intercept else 0.0)
        fval = float(np.logaddexp(0.0, -prob.s * z).mean())
    else:
        fval = prob.smooth.value(theta, prob.smooth.aux(theta))
    return fval + st.value(theta[:p])
