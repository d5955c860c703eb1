r"""Figures of chapter 3 (penalties): penalty balls, the constrained problem's geometry,
shrinkage maps, priors and the max-norm projection.

The geometry figure minimizes a quadratic loss

.. math::

    f(w) = \tfrac12 (w - c)^\top A (w - c), \qquad A \succ 0,

over a ball :math:`\{w : \|w\|_p \le r\}` in two dimensions, exactly
(:func:`minimize_quadratic_on_ball`), and draws the contour of :math:`f` through the solution:
the largest sub-level set of the loss that still touches the ball.

Every plotting function returns ``(fig, data)``: the figure and the numbers it drew.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._validation import as_float_array, check_scalar
from ..analysis import ridge_shrinkage_factors
from ..constraints import MaxNorm
from ..norms import norm
from ..penalties import L1, L2, ElasticNet, Penalty
from ._common import label, new_figure

__all__ = [
    "penalty_ball",
    "plot_penalty_balls",
    "quadratic",
    "minimize_quadratic_on_ball",
    "plot_constrained_geometry",
    "plot_shrinkage",
    "gaussian_density",
    "laplace_density",
    "plot_priors",
    "plot_max_norm",
    "plot_ridge_shrinkage",
    "group_entry_levels",
    "plot_group_selection",
]


def penalty_ball(penalty: Penalty, level: float = 1.0, n_points: int = 361) -> np.ndarray:
    r"""Boundary of the 2-D set :math:`\{w \in \mathbb R^2 : \Omega(w) \le \text{level}\}`, shape ``(n_points, 2)``.

    ``penalty`` is any convex penalty of :mod:`normreg.penalties` with :math:`\Omega(0) = 0`
    (so :math:`s \mapsto \Omega(s u)` increases on :math:`s \ge 0`). Along each direction
    :math:`u_\theta = (\cos\theta, \sin\theta)` the radius :math:`s` with
    :math:`\Omega(s u_\theta) = \text{level}` is found by bisection to full precision.

    Example
    -------
    >>> import normreg as nr
    >>> from normreg.viz.penalties import penalty_ball
    >>> penalty_ball(nr.L1(2.0), level=1.0, n_points=5).round(12) + 0.0
    array([[ 0.5,  0. ],
           [ 0. ,  0.5],
           [-0.5,  0. ],
           [ 0. , -0.5],
           [ 0.5,  0. ]])
    """
    if not isinstance(penalty, Penalty):
        raise TypeError(f"penalty must be a normreg penalty (L1, L2, ElasticNet, GroupLasso); got {penalty!r}")
    lev = check_scalar(level, "level", low=0.0, low_open=True)
    n = int(check_scalar(n_points, "n_points", low=3, integer=True))
    if penalty.lam == 0:
        raise ValueError("penalty.lam must be > 0: with lam = 0 the set is the whole plane")
    theta = np.linspace(0.0, 2.0 * np.pi, n)
    u = np.column_stack([np.cos(theta), np.sin(theta)])

    def values(s: np.ndarray) -> np.ndarray:
        return np.array([float(penalty(si * ui)) for si, ui in zip(s, u, strict=True)])

    lo, hi = np.zeros(n), np.ones(n)
    for _ in range(2100):  # grow hi until every direction has left the set
        too_small = values(hi) < lev
        if not too_small.any():
            break
        hi[too_small] *= 2.0
    else:  # pragma: no cover - only a penalty that vanishes along a direction gets here
        raise ValueError("the set {penalty <= level} is unbounded along some direction")
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        inside = values(mid) <= lev
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return u * lo[:, None]


def plot_penalty_balls(
    penalties: Mapping[str, Penalty], level: float = 1.0
) -> tuple[Figure, dict[str, np.ndarray]]:
    """The sets :math:`\\Omega(w) \\le` ``level`` of several penalties, in one panel; data: ``{name: boundary}``."""
    if len(penalties) == 0:
        raise ValueError("penalties must not be empty")
    fig, ax = new_figure(figsize=(4.4, 4.0))
    data: dict[str, np.ndarray] = {}
    for name, pen in penalties.items():
        pts = penalty_ball(pen, level)
        data[name] = pts
        ax.plot(pts[:, 0], pts[:, 1], label=name)
    ax.set_aspect("equal")
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    label(ax, "$w_1$", "$w_2$", rf"$\Omega(w) \leq {level:g}$")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    return fig, data


def _check_quadratic(A: Any, c: Any) -> tuple[np.ndarray, np.ndarray]:
    a = as_float_array(A, "A", ndim=2, allow_int=True).astype(np.float64)
    ca = as_float_array(c, "c", ndim=1, allow_int=True).astype(np.float64)
    if a.shape != (2, 2) or ca.shape != (2,):
        raise ValueError(f"A must be 2x2 and c of length 2; got shapes {a.shape} and {ca.shape}")
    if not np.allclose(a, a.T, rtol=1e-12, atol=0.0):
        raise ValueError("A must be symmetric")
    if np.linalg.eigvalsh(a).min() <= 0:
        raise ValueError("A must be positive definite")
    return a, ca


def quadratic(w: Any, A: Any, c: Any) -> np.ndarray:
    r""":math:`f(w) = \frac12 (w - c)^\top A (w - c)` for one point ``w`` (2,) or many (n, 2)."""
    a, ca = _check_quadratic(A, c)
    wa = as_float_array(w, "w", allow_int=True)
    d = wa - ca
    return 0.5 * np.einsum("...i,ij,...j->...", d, a, d)


def minimize_quadratic_on_ball(A: Any, c: Any, radius: float, ord: float) -> np.ndarray:
    r"""The exact minimizer of :math:`f(w) = \frac12(w - c)^\top A(w - c)` over the ball :math:`\|w\|_p \le r` in 2-D.

    If :math:`\|c\|_p \le r` the answer is :math:`c`. Otherwise it lies on the sphere:

    * ``ord=2``: :math:`w(\mu) = (A + \mu I)^{-1} A c` with the :math:`\mu > 0` that gives
      :math:`\|w(\mu)\|_2 = r` (KKT), found by bisection; :math:`\|w(\mu)\|_2` decreases in :math:`\mu`.
    * ``ord=1``: the diamond's boundary is four segments :math:`P + t(Q - P)`, :math:`t \in [0, 1]`,
      between its vertices; on each, :math:`f` is a quadratic in :math:`t` minimized in closed form
      and clipped to :math:`[0, 1]`. The best of the four is returned; a clipped :math:`t`
      returns the vertex itself, with an exact zero.
    """
    a, ca = _check_quadratic(A, c)
    r = check_scalar(radius, "radius", low=0.0, low_open=True)
    if ord not in (1, 2):
        raise ValueError(f"ord must be 1 or 2; got {ord!r}")
    if norm(ca, ord=ord) <= r:
        return ca.copy()
    if ord == 2:
        evals, q = np.linalg.eigh(a)
        qc = q.T @ (a @ ca)

        def radius_at(mu: float) -> float:
            return float(norm(qc / (evals + mu)))

        lo, hi = 0.0, 1.0
        while radius_at(hi) > r:
            hi *= 2.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                break
            lo, hi = (mid, hi) if radius_at(mid) > r else (lo, mid)
        return q @ (qc / (evals + hi))
    vertices = r * np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    best, best_val = vertices[0], np.inf
    for k in range(4):
        p_, q_ = vertices[k], vertices[(k + 1) % 4]
        d = q_ - p_
        t = float(np.clip(-((p_ - ca) @ a @ d) / (d @ a @ d), 0.0, 1.0))
        cand = p_ if t == 0.0 else q_ if t == 1.0 else p_ + t * d
        val = float(quadratic(cand, a, ca))
        if val < best_val:
            best, best_val = cand, val
    return best.copy()


def plot_constrained_geometry(
    A: Any, c: Any, radius: float = 1.0, *, n_grid: int = 201
) -> tuple[Figure, dict[int, dict[str, Any]]]:
    r"""Contours of the loss :math:`f` touching the L1 diamond (left) and the L2 disc (right) of radius ``radius``.

    Data, for ``ord`` in ``(1, 2)``: ``solution`` (:func:`minimize_quadratic_on_ball`), ``level``
    (:math:`f` at the solution: the contour drawn in red), ``boundary`` (points of the sphere
    :math:`\|w\|_p = r`), ``levels`` (all contour levels drawn) and ``grid`` (the ``(w1, w2, f)``
    arrays the contours were traced on).
    """
    a, ca = _check_quadratic(A, c)
    r = check_scalar(radius, "radius", low=0.0, low_open=True)
    n = int(check_scalar(n_grid, "n_grid", low=10, integer=True))
    lim = 1.25 * max(r, float(np.abs(ca).max()) + 0.5)
    g1, g2 = np.meshgrid(np.linspace(-lim, lim, n), np.linspace(-lim, lim, n))
    fvals = quadratic(np.stack([g1, g2], axis=-1), a, ca)
    fig, axes = new_figure(ncols=2, figsize=(8.4, 4.0))
    data: dict[int, dict[str, Any]] = {}
    from .norms import unit_ball_boundary

    for ax, p in zip(axes, (1, 2), strict=True):
        sol = minimize_quadratic_on_ball(a, ca, r, p)
        level = float(quadratic(sol, a, ca))
        boundary = r * unit_ball_boundary(p)
        levels = level * np.array([0.25, 1.0, 2.25, 4.0])
        others = [lv for lv in levels if lv != level]
        ax.contour(g1, g2, fvals, levels=others, colors="0.6", linewidths=0.8)
        ax.contour(g1, g2, fvals, levels=[level], colors="C3", linewidths=1.5)
        ax.fill(boundary[:, 0], boundary[:, 1], color="C0", alpha=0.25)
        ax.plot(boundary[:, 0], boundary[:, 1], color="C0")
        ax.plot(*ca, "k+", ms=10, label="unconstrained minimum")
        ax.plot(*sol, "o", color="C3", label=f"solution ({sol[0]:.2f}, {sol[1]:.2f})")
        ax.set_aspect("equal")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        name = rf"$\|w\|_{p} \leq {r:g}$"
        label(ax, "$w_1$", "$w_2$", name)
        ax.legend(loc="lower left", fontsize="x-small")
        data[p] = {"solution": sol, "level": level, "boundary": boundary, "levels": levels, "grid": (g1, g2, fvals)}
    return fig, data


def plot_shrinkage(lam: float = 1.0, v: Any = None) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""The proximal maps :math:`v \mapsto \arg\min_w \Omega(w) + \frac12 (w - v)^2` of L1, L2 and elastic net.

    These are what one penalized step does to a coefficient whose unpenalized value is :math:`v`:
    L1 soft-thresholds (every :math:`|v| \le \lambda` becomes exactly 0), L2 shrinks by the factor
    :math:`1/(1 + \lambda)` and never reaches 0, and the elastic net (``l1_ratio=0.5``) does both.
    Data: ``v`` and one array per penalty (computed by the penalties' ``prox`` with ``step=1``).
    """
    lam_ = check_scalar(lam, "lam", low=0.0, low_open=True)
    vs = np.linspace(-3 * lam_, 3 * lam_, 601) if v is None else as_float_array(v, "v", ndim=1, allow_int=True)
    pens = {
        rf"L1($\lambda={lam_:g}$)": L1(lam_),
        rf"L2($\lambda={lam_:g}$)": L2(lam_),
        rf"ElasticNet($\lambda={lam_:g}$, $r=0.5$)": ElasticNet(lam_, 0.5),
    }
    fig, ax = new_figure(figsize=(5.6, 3.6))
    data: dict[str, np.ndarray] = {"v": vs}
    ax.plot(vs, vs, ":", color="0.5", label="no penalty ($w = v$)")
    for (name, pen), style in zip(pens.items(), ("-", "--", "-."), strict=True):
        w = pen.prox(vs, 1.0)
        data[name.split("(")[0]] = w
        ax.plot(vs, w, style, label=name)
    ax.axvspan(-lam_, lam_, color="C0", alpha=0.08)
    label(ax, "unpenalized value $v$", r"penalized solution $w$", "one-coordinate problem")
    ax.legend(loc="upper left", fontsize="x-small")
    return fig, data


def gaussian_density(w: Any, tau: float) -> np.ndarray:
    r"""Density of :math:`\mathcal N(0, \tau^2)`: :math:`\frac{1}{\sqrt{2\pi}\,\tau} e^{-w^2/(2\tau^2)}`."""
    t = check_scalar(tau, "tau", low=0.0, low_open=True)
    wa = as_float_array(w, "w", allow_int=True)
    return np.exp(-0.5 * (wa / t) ** 2) / (np.sqrt(2.0 * np.pi) * t)


def laplace_density(w: Any, b: float) -> np.ndarray:
    r"""Density of the Laplace distribution with scale :math:`b`: :math:`\frac{1}{2b} e^{-|w|/b}`."""
    bb = check_scalar(b, "b", low=0.0, low_open=True)
    wa = as_float_array(w, "w", allow_int=True)
    return np.exp(-np.abs(wa) / bb) / (2.0 * bb)


def plot_priors(std: float = 1.0, n_grid: int = 801) -> tuple[Figure, dict[str, Any]]:
    r"""A Gaussian and a Laplace prior with the same standard deviation ``std`` (left) and their
    negative log-densities, shifted to 0 at :math:`w = 0` (right): the penalties they stand for.

    With :math:`\tau = \text{std}` and :math:`b = \text{std}/\sqrt 2` (the Laplace variance is
    :math:`2b^2`), :math:`-\log p(w) + \log p(0)` is :math:`w^2/(2\tau^2)` (``L2(1/tau**2)`` of a
    scalar) and :math:`|w|/b` (``L1(1/b)``). Data: ``w``, ``tau``, ``b``, ``gauss``, ``laplace``
    (densities) and ``gauss_penalty``, ``laplace_penalty``.
    """
    s = check_scalar(std, "std", low=0.0, low_open=True)
    n = int(check_scalar(n_grid, "n_grid", low=3, integer=True))
    tau, b = s, s / np.sqrt(2.0)
    w = np.linspace(-4 * s, 4 * s, n)
    gauss, lap = gaussian_density(w, tau), laplace_density(w, b)
    gpen = -np.log(gauss) + np.log(gaussian_density(0.0, tau))
    lpen = -np.log(lap) + np.log(laplace_density(0.0, b))
    fig, (ax1, ax2) = new_figure(ncols=2, figsize=(8.4, 3.4))
    ax1.plot(w, gauss, label=rf"Gaussian, $\tau={tau:.3g}$")
    ax1.plot(w, lap, "--", label=rf"Laplace, $b={b:.3g}$")
    label(ax1, "weight $w$", "prior density $p(w)$", "priors (same variance)")
    ax1.legend(fontsize="small")
    ax2.plot(w, gpen, label=r"$w^2/(2\tau^2)$: L2")
    ax2.plot(w, lpen, "--", label=r"$|w|/b$: L1")
    label(ax2, "weight $w$", r"$-\log p(w) + \log p(0)$", "the penalty each prior adds")
    ax2.legend(fontsize="small")
    return fig, {"w": w, "tau": tau, "b": b, "gauss": gauss, "laplace": lap,
                 "gauss_penalty": gpen, "laplace_penalty": lpen}


def plot_max_norm(W: Any, c: float) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""The columns of a 2×n matrix as points, before and after the max-norm projection onto :math:`\|w_j\|_2 \le c`.

    Columns outside the disc move radially onto its boundary; columns inside stay. Data:
    ``before`` (``W``), ``after`` (``MaxNorm(c).project(W)``) and ``circle``.
    """
    w = as_float_array(W, "W", ndim=2, allow_int=True)
    if w.shape[0] != 2:
        raise ValueError(f"W must have 2 rows (each column a point of the plane); got shape {w.shape}")
    con = MaxNorm(c, axis=0)
    after = con.project(w)
    theta = np.linspace(0.0, 2.0 * np.pi, 361)
    circle = con.c * np.column_stack([np.cos(theta), np.sin(theta)])
    fig, ax = new_figure(figsize=(4.4, 4.0))
    ax.fill(circle[:, 0], circle[:, 1], color="C0", alpha=0.15)
    ax.plot(circle[:, 0], circle[:, 1], color="C0", label=rf"$\|w_j\|_2 \leq {con.c:g}$")
    moved = np.any(after != w, axis=0)
    for j in np.flatnonzero(moved):
        ax.annotate("", xy=after[:, j], xytext=w[:, j], arrowprops={"arrowstyle": "->", "color": "0.5"})
    ax.plot(w[0], w[1], "o", mfc="none", color="C3", label="columns of $W$")
    ax.plot(after[0], after[1], ".", color="k", label="after projection")
    ax.set_aspect("equal")
    label(ax, "first weight of a unit", "second weight of a unit", "max-norm projection")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    return fig, {"before": w, "after": after, "circle": circle}


def plot_ridge_shrinkage(
    X: Any, lams: Any, *, fit_intercept: bool = True
) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""Ridge's shrinkage factors :math:`d_j^2/(d_j^2 + m\lambda)` of the design ``X``, one curve per ``lam``.

    Each marker is one principal direction of the (centred) design, at its singular value
    :math:`d_j` (log axis); the line through a marker set is the function
    :math:`d \mapsto d^2/(d^2 + m\lambda)`, which is :math:`\tfrac12` at
    :math:`d = \sqrt{m\lambda}`. Directions with :math:`d_j = 0` are left out. Data: ``d``
    (the singular values), ``lams``, ``factors`` (one row per ``lam``, from
    :func:`normreg.analysis.ridge_shrinkage_factors`) and ``factor_sum`` (their row sums,
    the degrees of freedom without the intercept's 1).
    """
    lam_arr = as_float_array(lams, "lams", ndim=1, allow_int=True).astype(np.float64)
    if np.any(lam_arr <= 0):
        raise ValueError(f"lams must be > 0 (a log-spaced figure); got min(lams) = {lam_arr.min()!r}")
    d, factors = ridge_shrinkage_factors(X, lam_arr, fit_intercept=fit_intercept)
    m = np.shape(X)[0]
    keep = factors.max(axis=0) > 0
    fig, ax = new_figure(figsize=(6.0, 3.6))
    dk = d[keep]
    grid = np.geomspace(dk.min() / 3, dk.max() * 3, 400)
    for i, lam in enumerate(lam_arr):
        line = ax.plot(grid, grid**2 / (grid**2 + m * lam), lw=0.8, alpha=0.6)[0]
        total = factors[i].sum()
        ax.plot(dk, factors[i, keep], "o", color=line.get_color(),
                label=rf"$\lambda={lam:g}$, $\sum_j$ factors $={total:.2f}$")
    ax.set_xscale("log")
    label(ax, "singular value $d_j$ of the centred design", r"factor $d_j^2/(d_j^2 + m\lambda)$",
          "ridge in the eigenbasis")
    ax.legend(fontsize="x-small", loc="upper left")
    return fig, {"d": d, "lams": lam_arr, "factors": factors, "factor_sum": factors.sum(axis=1)}


def group_entry_levels(X: Any, Y: Any, groups: Any, weights: Any) -> np.ndarray:
    r"""Each group's level :math:`\lVert X_g^\top y\rVert_2/(m c_g)`: where it leaves the all-zero solution.

    For :math:`\frac{1}{2m}\lVert Xw - y\rVert^2 + \lambda\sum_g c_g\lVert w_g\rVert_2` (no
    intercept: centre ``X`` and ``Y`` first if the model has one), the all-zero solution
    satisfies the optimality conditions iff :math:`\lVert X_g^\top y\rVert_2/m \le \lambda c_g`
    for every group. The largest level is therefore :math:`\lambda_{\max}`, below which the
    solution is no longer zero, and the group that has it is the first to leave zero as
    :math:`\lambda` decreases. The other levels say how close each group's zero condition is
    at :math:`w = 0`; once a group has entered, the residual changes, and they are not the
    points where those groups enter the path. ``Y`` may hold several
    responses as columns, shape ``(m, n)``: the result then has shape ``(n_groups, n)``.
    ``groups`` is a list of index lists; ``weights`` the :math:`c_g` (e.g. ``sqrt(|g|)``).
    """
    Xa = as_float_array(X, "X", ndim=2, allow_int=True)
    Ya = as_float_array(Y, "Y", allow_int=True)
    if Ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"Y must have {Xa.shape[0]} rows (one per row of X); got shape {Ya.shape}")
    c = as_float_array(weights, "weights", ndim=1, allow_int=True)
    gl = [np.asarray(g, dtype=np.intp) for g in groups]
    if len(gl) != c.size:
        raise ValueError(f"weights must have one entry per group ({len(gl)}); got {c.size}")
    if np.any(c <= 0):
        raise ValueError("weights must be > 0")
    Z = Xa.T @ Ya / Xa.shape[0]
    return np.array([norm(Z[g], 2, axis=0) / cg for g, cg in zip(gl, c, strict=True)])


def plot_group_selection(
    coefs: Mapping[str, Any], groups: Any, truth: Any
) -> tuple[Figure, dict[str, Any]]:
    r"""Coefficients of several fits, one panel each, with the groups shaded and the true ones marked.

    ``coefs`` maps a name (e.g. ``"group lasso"``, ``"lasso"``) to a coefficient vector;
    ``groups`` is a list of index lists covering them, ``truth`` the true coefficients. A group
    is *selected* by a fit when any of its coefficients is non-zero. Data: ``selected``
    (name -> sorted list of selected group numbers), ``nonzero`` (name -> number of non-zero
    coefficients in each group) and ``true_groups``.
    """
    w_true = as_float_array(truth, "truth", ndim=1, allow_int=True)
    gl = [np.asarray(g, dtype=np.intp) for g in groups]
    if len(coefs) == 0:
        raise ValueError("coefs must not be empty")
    fig, axes = new_figure(nrows=len(coefs), figsize=(7.0, 1.9 * len(coefs) + 0.4), sharex=True)
    axes = np.atleast_1d(axes)
    true_groups = [i for i, g in enumerate(gl) if np.any(w_true[g] != 0)]
    data: dict[str, Any] = {"selected": {}, "nonzero": {}, "true_groups": true_groups}
    idx = np.arange(w_true.size)
    for ax, (name, w) in zip(axes, coefs.items(), strict=True):
        wa = as_float_array(w, f"coefs[{name!r}]", ndim=1, allow_int=True)
        if wa.shape != w_true.shape:
            raise ValueError(f"coefs[{name!r}] must have shape {w_true.shape}; got {wa.shape}")
        for i, g in enumerate(gl):
            if i in true_groups:
                ax.axvspan(g.min() - 0.5, g.max() + 0.5, color="C2", alpha=0.12, lw=0)
            ax.axvline(g.max() + 0.5, color="0.8", lw=0.6)
        ax.plot(idx, w_true, "_", color="k", ms=9, label="true coefficient")
        ax.vlines(idx, 0, wa, color="C0", lw=2.5)
        ax.axhline(0, color="0.5", lw=0.5)
        nz = [int(np.count_nonzero(wa[g])) for g in gl]
        data["nonzero"][name] = nz
        data["selected"][name] = [i for i, k in enumerate(nz) if k > 0]
        label(ax, "", "coefficient", f"{name}: {sum(nz)} non-zero, groups {data['selected'][name]}")
    axes[-1].set_xlabel("coefficient index (true groups shaded)")
    axes[0].legend(fontsize="x-small", loc="upper right")
    return fig, data
