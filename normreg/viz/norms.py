r"""Figures of chapter 2 (norms): unit balls, what a matrix does to the unit circle, dual norms, overflow.

Every plotting function returns ``(fig, data)``: the figure and the numbers it drew. The norms
themselves are computed with :func:`normreg.norm`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._validation import as_float_array, check_scalar
from ..norms import norm
from ._common import label, new_figure

__all__ = [
    "unit_ball_boundary",
    "plot_unit_balls",
    "plot_matrix_gain",
    "dual_exponent",
    "dual_maximizer",
    "plot_dual_norms",
    "naive_norm",
    "plot_overflow",
]


def _check_p(p: Any, name: str = "p") -> float:
    if isinstance(p, (int, float, np.integer, np.floating)) and not isinstance(p, bool) and p == np.inf:
        return float(np.inf)
    return check_scalar(p, name, low=0.0, low_open=True)


def _p_label(p: float) -> str:
    return r"$p=\infty$" if np.isinf(p) else f"$p={p:g}$"


def unit_ball_boundary(p: float, n_points: int = 721) -> np.ndarray:
    r"""Points of the unit sphere :math:`\{x \in \mathbb R^2: \|x\|_p = 1\}`, shape ``(n_points, 2)``.

    Each direction :math:`u_\theta = (\cos\theta, \sin\theta)`, :math:`\theta` evenly spaced on
    :math:`[0, 2\pi]`, is scaled to :math:`u_\theta / \|u_\theta\|_p`: a closed curve that, for
    :math:`p \ge 1`, bounds a convex set. ``p`` is any positive real or ``inf``; for
    :math:`p < 1` the set is not convex (:math:`\|\cdot\|_p` is then not a norm).

    Example
    -------
    >>> from normreg.viz.norms import unit_ball_boundary
    >>> unit_ball_boundary(1, n_points=5).round(12) + 0.0
    array([[ 1.,  0.],
           [ 0.,  1.],
           [-1.,  0.],
           [ 0., -1.],
           [ 1.,  0.]])
    """
    p_ = _check_p(p)
    n = int(check_scalar(n_points, "n_points", low=3, integer=True))
    theta = np.linspace(0.0, 2.0 * np.pi, n)
    u = np.column_stack([np.cos(theta), np.sin(theta)])
    return u / norm(u, ord=p_, axis=1, keepdims=True)


def plot_unit_balls(ps: Sequence[float] = (0.5, 1, 2, 4, np.inf)) -> tuple[Figure, dict[float, np.ndarray]]:
    """The unit spheres of several :math:`\\|\\cdot\\|_p` in one panel; data: ``{p: boundary points}``."""
    if len(ps) == 0:
        raise ValueError("ps must not be empty")
    fig, ax = new_figure(figsize=(4.4, 4.0))
    data: dict[float, np.ndarray] = {}
    for p in ps:
        pts = unit_ball_boundary(p)
        data[float(_check_p(p))] = pts
        ax.plot(pts[:, 0], pts[:, 1], "--" if p < 1 else "-", label=_p_label(float(p)))
    ax.set_aspect("equal")
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    label(ax, "$x_1$", "$x_2$", r"unit spheres $\|x\|_p = 1$")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    return fig, data


def plot_matrix_gain(W: Any, n_points: int = 361) -> tuple[Figure, dict[str, Any]]:
    r"""The unit circle and its image under a 2×2 matrix ``W``: an ellipse with semi-axes the singular values.

    The longest semi-axis is the spectral norm :math:`\|W\|_2 = \sigma_1 = \max_{\|x\|_2=1}\|Wx\|_2`,
    the largest factor by which the layer :math:`x \mapsto Wx` can stretch an input.

    Data: ``circle`` and ``image`` (``(n_points, 2)`` each), ``singular_values`` (descending),
    ``u`` and ``v`` (left/right singular vectors as columns, :math:`W v_k = \sigma_k u_k`).
    """
    w = as_float_array(W, "W", ndim=2, allow_int=True)
    if w.shape != (2, 2):
        raise ValueError(f"W must be a 2x2 matrix; got shape {w.shape}")
    n = int(check_scalar(n_points, "n_points", low=3, integer=True))
    theta = np.linspace(0.0, 2.0 * np.pi, n)
    circle = np.column_stack([np.cos(theta), np.sin(theta)])
    image = circle @ w.T
    u, s, vt = np.linalg.svd(w)
    fig, ax = new_figure(figsize=(4.4, 4.0))
    ax.plot(circle[:, 0], circle[:, 1], color="0.5", label=r"$\|x\|_2 = 1$")
    ax.plot(image[:, 0], image[:, 1], color="C0", label=r"$Wx$")
    for k, color in ((0, "C3"), (1, "C2")):
        ax.annotate("", xy=s[k] * u[:, k], xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": color, "lw": 1.5})
        ax.plot([], [], color=color, label=rf"$\sigma_{k + 1} u_{k + 1}$, $\sigma_{k + 1}={s[k]:.2f}$")
    ax.set_aspect("equal")
    label(ax, "$x_1$", "$x_2$", "the unit circle and its image")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    return fig, {"circle": circle, "image": image, "singular_values": s, "u": u, "v": vt.T}


def dual_exponent(p: float) -> float:
    r"""The Hölder conjugate :math:`q` of :math:`p \ge 1`: :math:`1/p + 1/q = 1` (:math:`1 \leftrightarrow \infty`).

    :math:`\|\cdot\|_q` is the dual norm of :math:`\|\cdot\|_p`:
    :math:`\|z\|_q = \max_{\|x\|_p \le 1} z^\top x`.

    >>> from normreg.viz.norms import dual_exponent
    >>> dual_exponent(1), dual_exponent(2), dual_exponent(3), dual_exponent(float("inf"))
    (inf, 2.0, 1.5, 1.0)
    """
    p_ = _check_p(p)
    if p_ < 1:
        raise ValueError(f"p must be >= 1 (a norm) to have a dual exponent; got {p!r}")
    if p_ == 1:
        return float(np.inf)
    if np.isinf(p_):
        return 1.0
    return p_ / (p_ - 1.0)


def dual_maximizer(z: Any, p: float) -> np.ndarray:
    r"""A point :math:`x^\star` of the unit ball of :math:`\|\cdot\|_p` where :math:`z^\top x` is largest.

    Hölder's inequality :math:`z^\top x \le \|z\|_q\|x\|_p` is an equality at

    * :math:`p = 1`: :math:`x^\star = \operatorname{sign}(z_k)\,e_k`, :math:`k = \arg\max_i |z_i|` (a vertex),
    * :math:`1 < p < \infty`: :math:`x^\star_i = \operatorname{sign}(z_i)\,|z_i|^{q-1} / \|z\|_q^{q-1}`,
    * :math:`p = \infty`: :math:`x^\star = \operatorname{sign}(z)` (a corner of the cube),

    so that :math:`z^\top x^\star = \|z\|_q`.
    """
    za = as_float_array(z, "z", ndim=1, allow_int=True)
    p_ = _check_p(p)
    q = dual_exponent(p_)
    if not np.any(za):
        raise ValueError("z must not be the zero vector")
    if p_ == 1:
        x = np.zeros_like(za)
        k = int(np.argmax(np.abs(za)))
        x[k] = np.sign(za[k])
        return x
    if np.isinf(p_):
        return np.sign(za)
    scale = norm(za, ord=np.inf)
    t = np.abs(za) / scale  # scaled so the powers neither overflow nor underflow
    return np.sign(za) * t ** (q - 1.0) / norm(t, ord=q) ** (q - 1.0)


def plot_dual_norms(z: Any, ps: Sequence[float] = (1, 2, np.inf)) -> tuple[Figure, dict[float, dict[str, Any]]]:
    r"""For each ``p``, the unit ball of :math:`\|\cdot\|_p`, the vector ``z`` and the line
    :math:`z^\top x = \|z\|_q` that touches the ball at :func:`dual_maximizer`.

    Data: ``{p: {"q", "boundary", "maximizer", "value" (z·x*), "dual_norm" (‖z‖_q by normreg.norm)}}``.
    """
    za = as_float_array(z, "z", ndim=1, allow_int=True)
    if za.shape != (2,):
        raise ValueError(f"z must have 2 entries to be drawn; got shape {za.shape}")
    fig, axes = new_figure(ncols=len(ps), sharey=True)
    axes = np.atleast_1d(axes)
    data: dict[float, dict[str, Any]] = {}
    span = np.linspace(-2.0, 2.0, 2)
    perp = np.array([-za[1], za[0]]) / norm(za)
    for ax, p in zip(axes, ps, strict=True):
        p_ = _check_p(p)
        q = dual_exponent(p_)
        pts = unit_ball_boundary(p_)
        xs = dual_maximizer(za, p_)
        value = float(za @ xs)
        data[p_] = {"q": q, "boundary": pts, "maximizer": xs, "value": value, "dual_norm": float(norm(za, ord=q))}
        ax.fill(pts[:, 0], pts[:, 1], color="C0", alpha=0.2)
        ax.plot(pts[:, 0], pts[:, 1], color="C0", label=r"$\|x\|_p \leq 1$")
        line = xs[None, :] + span[:, None] * perp[None, :]
        ax.plot(line[:, 0], line[:, 1], "--", color="C3", label=rf"$z^\top x = {value:.3g}$")
        ax.annotate("", xy=za / norm(za), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "k"})
        ax.plot(*xs, "o", color="C3")
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(-1.6, 1.6)
        ax.set_aspect("equal")
        qs = r"\infty" if np.isinf(q) else f"{q:g}"
        label(ax, "$x_1$", "$x_2$", f"{_p_label(p_)}: " + rf"$\|z\|_{{{qs}}} = {value:.3g}$")
        ax.legend(loc="lower left", fontsize="x-small")
    return fig, data


def naive_norm(x: Any) -> np.floating:
    r"""The textbook :math:`\sqrt{\sum_i x_i^2}` with no scaling (overflow and underflow silenced).

    For comparison only: it returns ``inf`` once a square exceeds the largest float and loses
    entries whose squares fall below the smallest one. Use :func:`normreg.norm`.
    """
    xa = as_float_array(x, "x", allow_int=True)
    with np.errstate(over="ignore", under="ignore"):
        return np.sqrt(np.sum(xa * xa))


def plot_overflow(exponents: Any = None, dtype: Any = np.float64) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""Computed norm / true norm of :math:`x = 10^k\,(3, 4)` for a range of exponents :math:`k`.

    The true norm is :math:`5\cdot 10^k`. The naive formula returns ``inf`` (drawn as a gap, above
    the shaded band) once :math:`(4\cdot10^k)^2` overflows and ``0`` once the squares underflow;
    :func:`normreg.norm` is right across the whole range.

    Data: ``exponents``, ``naive``, ``safe`` and ``true`` (the norms, in ``dtype``), ``naive_ratio``
    and ``safe_ratio`` (computed / true, as float64).
    """
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dt}")
    if exponents is None:
        top = np.floor(np.log10(np.finfo(dt).max / 5.0))
        exponents = np.arange(-top, top + 1)
    k = as_float_array(exponents, "exponents", ndim=1, allow_int=True).astype(np.float64)
    x = (10.0 ** k[:, None] * np.array([3.0, 4.0])).astype(dt)
    true = (5.0 * 10.0**k).astype(dt)
    naive = np.array([naive_norm(row) for row in x], dtype=dt)
    safe = np.array([norm(row) for row in x], dtype=dt)
    naive_ratio = naive.astype(np.float64) / true.astype(np.float64)
    safe_ratio = safe.astype(np.float64) / true.astype(np.float64)
    fig, ax = new_figure(figsize=(6.0, 3.2))
    ax.plot(k, np.where(np.isinf(naive_ratio), np.nan, naive_ratio), "o", ms=3, color="C3",
            label=r"naive $\sqrt{\sum x_i^2}$")
    ax.plot(k, safe_ratio, "-", color="C0", label="normreg.norm")
    over = k[np.isinf(naive_ratio)]
    if over.size:
        ax.axvspan(over.min(), over.max(), color="C3", alpha=0.1, label="naive gives inf")
    label(ax, r"exponent $k$ in $x = 10^k\,(3, 4)$", "computed / true norm", f"{dt.name}")
    ax.set_ylim(-0.1, 1.3)
    ax.legend(loc="center left", fontsize="small")
    return fig, {"exponents": k, "naive": naive, "safe": safe, "true": true,
                 "naive_ratio": naive_ratio, "safe_ratio": safe_ratio}
