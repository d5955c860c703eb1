r"""Figures of chapter 4 (gradients and optimization): the subdifferential of :math:`|w|`,
exact zeros of proximal gradient against the hovering of subgradient descent, convergence
curves of the solvers, and finite-difference gradient checks.

Every plotting function returns ``(fig, data)``: the figure and the numbers it drew, so that a
test or a notebook can check the data without looking at pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._validation import as_float_array, check_scalar
from ._common import label, new_figure

__all__ = ["plot_subdifferential", "plot_exact_zeros", "plot_convergence", "plot_gradient_check"]


def plot_subdifferential(lam: float = 1.0, n_slopes: int = 5) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""The kink of :math:`\lambda|w|` and its subdifferential.

    Left: :math:`\lambda|w|` and the lines :math:`g\,w` for ``n_slopes`` slopes
    :math:`g \in [-\lambda, \lambda]`; each stays below the graph and touches it at :math:`w = 0`,
    which is what makes :math:`g` a subgradient there. Right: the subdifferential
    :math:`\partial(\lambda|w|)` as a set-valued map: :math:`-\lambda` for :math:`w < 0`, the
    whole segment :math:`[-\lambda, \lambda]` at :math:`w = 0`, :math:`\lambda` for :math:`w > 0`.

    Returns ``data`` with ``w``, ``value`` (:math:`\lambda|w|`), ``slopes`` and ``lines``
    (shape ``(n_slopes, len(w))``).

    Example
    -------
    >>> from normreg.viz.optimization import plot_subdifferential
    >>> fig, data = plot_subdifferential(2.0, n_slopes=3)
    >>> data["slopes"].tolist()
    [-2.0, 0.0, 2.0]
    """
    lam_ = check_scalar(lam, "lam", low=0.0, low_open=True)
    n = int(check_scalar(n_slopes, "n_slopes", low=2, integer=True))
    w = np.linspace(-1.5, 1.5, 301)
    value = lam_ * np.abs(w)
    slopes = np.linspace(-lam_, lam_, n)
    lines = slopes[:, None] * w[None, :]
    fig, (ax1, ax2) = new_figure(2)
    ax1.plot(w, value, color="k", lw=2, label=r"$\lambda|w|$")
    for g, line in zip(slopes, lines, strict=True):
        ax1.plot(w, line, lw=1, alpha=0.7, label=f"$g = {g:+.2g}$")
    ax1.set_ylim(-0.6 * lam_ * 1.5, 1.6 * lam_)
    ax1.legend(fontsize=7, loc="upper center")
    label(ax1, "$w$", "value", r"subgradients of $\lambda|w|$ at 0")
    ax2.plot([-1.5, 0], [-lam_, -lam_], color="C0", lw=2)
    ax2.plot([0, 1.5], [lam_, lam_], color="C0", lw=2)
    ax2.plot([0, 0], [-lam_, lam_], color="C3", lw=3, label=r"$[-\lambda, \lambda]$ at $w = 0$")
    ax2.axhline(0, color="gray", lw=0.5)
    ax2.legend(fontsize=8, loc="upper left")
    label(ax2, "$w$", r"$\partial(\lambda|w|)$", "the subdifferential")
    return fig, {"w": w, "value": value, "slopes": slopes, "lines": lines}


def plot_exact_zeros(
    trajectories: Mapping[str, Any], zero_set: Any, n_show: int = 4
) -> tuple[Figure, dict[str, Any]]:
    r"""Coefficients that should end at zero, under two or more methods, and the count of exact zeros.

    One panel per method shows :math:`|w_{k,j}|` for the first ``n_show`` coefficients of
    ``zero_set`` on a symmetric-log scale (linear below :math:`10^{-6}`, so an exact zero is
    drawn at 0 instead of disappearing from a log scale); the last panel shows, per method, how
    many of all ``p`` coefficients are exactly ``0.0`` after each iteration (iterations on a
    symmetric-log scale too, linear up to 10).

    Parameters
    ----------
    trajectories : mapping
        Method name to its iterates, an array of shape (n_iter + 1, p) whose row ``k`` is
        :math:`w_k` (for example collected with the ``callback`` of ``fit_linear``).
    zero_set : array_like of bool
        Shape (p,): the coefficients that are zero at the optimum.
    n_show : int
        How many of them to draw in each method's panel.

    Returns
    -------
    fig : Figure
    data : dict
        ``zeros`` (method -> number of exact zeros per iteration) and ``shown`` (indices drawn).
    """
    if not isinstance(trajectories, Mapping) or len(trajectories) == 0:
        raise TypeError("trajectories must be a non-empty mapping of method name to iterates")
    mask = np.asarray(zero_set, dtype=bool)
    traj = {}
    for name, t in trajectories.items():
        arr = as_float_array(t, f"trajectories[{name!r}]", ndim=2)
        if arr.shape[1] != mask.shape[0]:
            raise ValueError(f"trajectories[{name!r}] must have {mask.shape[0]} columns (zero_set); got {arr.shape[1]}")
        traj[name] = arr
    k = int(check_scalar(n_show, "n_show", low=1, integer=True))
    shown = np.flatnonzero(mask)[:k]
    fig, axes = new_figure(len(traj) + 1)
    zeros = {}
    for ax, (name, arr) in zip(axes, traj.items(), strict=False):
        it = np.arange(arr.shape[0])
        for j in shown:
            ax.plot(it, np.abs(arr[:, j]), lw=1, label=f"$|w_{{{j}}}|$")
        ax.set_yscale("symlog", linthresh=1e-6)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7, loc="upper right")
        label(ax, "iteration $k$", r"$|w_{k,j}|$ (0 is exact zero)", name)
        zeros[name] = np.sum(arr == 0.0, axis=1)
    ax = axes[-1]
    for name, z in zeros.items():
        ax.plot(np.arange(z.size), z, lw=1.5, label=name)
    ax.axhline(int(mask.sum()), color="gray", ls="--", lw=1, label="zeros at the optimum")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(0, max(z.size for z in zeros.values()))
    ax.legend(fontsize=7, loc="center right")
    label(ax, "iteration $k$", "number of exact zeros", "exact zeros")
    return fig, {"zeros": zeros, "shown": shown}


def plot_convergence(
    panels: Mapping[str, tuple[Mapping[str, Any], float]], floor: float = 1e-16
) -> tuple[Figure, dict[str, dict[str, np.ndarray]]]:
    r"""Suboptimality :math:`(F(x_k) - F^\star)/F^\star` per iteration, one panel per problem.

    Parameters
    ----------
    panels : mapping
        Title to ``(histories, f_star)``: ``histories`` maps a method name to its objective
        values per iteration (a ``FitResult.history``), ``f_star`` is the optimal value.
    floor : float
        Gaps below it (rounding) are drawn at ``floor`` so the log scale can show them.

    Returns
    -------
    fig : Figure
    data : dict
        Title -> method -> relative gaps (not clipped).

    Example
    -------
    >>> import numpy as np
    >>> from normreg.viz.optimization import plot_convergence
    >>> fig, data = plot_convergence({"demo": ({"a": np.array([2.0, 1.5, 1.0])}, 1.0)})
    >>> data["demo"]["a"].tolist()
    [1.0, 0.5, 0.0]
    """
    if not isinstance(panels, Mapping) or len(panels) == 0:
        raise TypeError("panels must be a non-empty mapping of title to (histories, f_star)")
    fl = check_scalar(floor, "floor", low=0.0, low_open=True)
    fig, axes = new_figure(len(panels))
    axes = np.atleast_1d(axes)
    data: dict[str, dict[str, np.ndarray]] = {}
    for ax, (title, (histories, f_star)) in zip(axes, panels.items(), strict=True):
        fs = check_scalar(f_star, "f_star", low=0.0, low_open=True)
        data[title] = {}
        for name, h in histories.items():
            arr = as_float_array(h, f"history {name!r}", ndim=1)
            gap = (arr - fs) / fs
            data[title][name] = gap
            ax.semilogy(np.arange(arr.size), np.maximum(gap, fl), lw=1.5, label=name)
        ax.legend(fontsize=8)
        label(ax, "iteration $k$", r"$(F(x_k) - F^\star)/F^\star$", title)
    return fig, data


def plot_gradient_check(hs: Sequence[float], errors: Mapping[str, Any]) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""Relative error of finite-difference gradients against the step :math:`h` (log-log).

    ``errors`` maps a method (e.g. "forward", "central") to the relative errors
    :math:`\|g_{\rm fd}(h) - g\|/\|g\|` at each ``h``. Truncation error falls like :math:`h`
    (forward) or :math:`h^2` (central) as :math:`h` shrinks, until rounding, which grows like
    :math:`\varepsilon/h`, takes over: the V shape. Reference slopes :math:`h` and :math:`h^2`
    are drawn dashed.

    Returns ``data`` with ``h`` and the errors.
    """
    h = as_float_array(hs, "hs", ndim=1)
    if (h <= 0).any():
        raise ValueError("hs must be positive")
    fig, ax = new_figure(1)
    data: dict[str, np.ndarray] = {"h": h}
    for name, e in errors.items():
        arr = as_float_array(e, f"errors[{name!r}]", ndim=1)
        if arr.shape != h.shape:
            raise ValueError(f"errors[{name!r}] must have one entry per h ({h.size}); got {arr.size}")
        data[name] = arr
        ax.loglog(h, np.maximum(arr, 1e-17), "o-", ms=3, lw=1.2, label=name)
    ax.loglog(h, h, "k--", lw=0.8, label="slope 1 ($h$)")
    ax.loglog(h, h**2, "k:", lw=0.8, label="slope 2 ($h^2$)")
    ax.set_ylim(1e-13, 1e1)
    ax.legend(fontsize=7)
    label(ax, "step $h$", "relative error", "finite-difference gradient check")
    return fig, data
