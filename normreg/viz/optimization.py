r"""Figures of chapter 4 (gradients and optimization): the subdifferential of :math:`|w|`,
exact zeros of proximal gradient against the hovering of subgradient descent, convergence
curves of the solvers with their bounds, measured rates (fitted slopes), the iterations of
restarted FISTA against the condition number, early stopping against ridge, and
finite-difference gradient checks.

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

__all__ = [
    "plot_subdifferential",
    "plot_exact_zeros",
    "plot_convergence",
    "plot_gradient_check",
    "fitted_slope",
    "plot_rates",
    "plot_restart_scaling",
    "early_stopping_factors",
    "plot_early_stopping",
]


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
    panels: Mapping[str, tuple[Mapping[str, Any], float]],
    floor: float = 1e-16,
    bounds: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[Figure, dict[str, dict[str, np.ndarray]]]:
    r"""Suboptimality :math:`(F(x_k) - F^\star)/F^\star` per iteration, one panel per problem.

    Parameters
    ----------
    panels : mapping
        Title to ``(histories, f_star)``: ``histories`` maps a method name to its objective
        values per iteration (a ``FitResult.history``), ``f_star`` is the optimal value.
    floor : float
        Gaps below it (rounding) are drawn at ``floor`` so the log scale can show them.
    bounds : mapping, optional
        Title -> method -> a theoretical upper bound on the relative gap per iteration (same
        length as the method's history), drawn dashed in the method's colour.

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
        panel_bounds = {} if bounds is None else bounds.get(title, {})
        unknown = set(panel_bounds) - set(histories)
        if unknown:
            raise ValueError(f"bounds[{title!r}] names methods without a history: {sorted(unknown)}")
        for name, h in histories.items():
            arr = as_float_array(h, f"history {name!r}", ndim=1)
            gap = (arr - fs) / fs
            data[title][name] = gap
            (line,) = ax.semilogy(np.arange(arr.size), np.maximum(gap, fl), lw=1.5, label=name)
            if name in panel_bounds:
                bd = as_float_array(panel_bounds[name], f"bounds[{title!r}][{name!r}]", ndim=1)
                if bd.shape != arr.shape:
                    raise ValueError(
                        f"bounds[{title!r}][{name!r}] must have one entry per iteration ({arr.size}); got {bd.size}"
                    )
                ax.semilogy(np.arange(bd.size), np.maximum(bd, fl), ls="--", lw=0.9, color=line.get_color(),
                            label=f"bound, {name}")
        ax.legend(fontsize=7)
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


def fitted_slope(gaps: Any, window: tuple[int, int], scale: str = "linear") -> float:
    r"""Least-squares slope of :math:`\ln(\text{gap}_k)` over the iterations ``k`` in ``window``.

    ``scale="linear"`` fits :math:`\ln \text{gap}_k \approx a + s\,k` (a linear rate
    :math:`q^k` has :math:`s = \ln q`); ``scale="log"`` fits
    :math:`\ln \text{gap}_k \approx a + s \ln k` (a sublinear rate :math:`k^{-r}` has
    :math:`s = -r`). ``window = (lo, hi)`` takes the entries ``lo <= k < hi``, which must all be
    positive (a gap of exactly zero has no logarithm: choose the window before rounding).

    Example
    -------
    >>> import numpy as np
    >>> from normreg.viz.optimization import fitted_slope
    >>> k = np.arange(50)
    >>> bool(abs(fitted_slope(0.9**k, (5, 50)) - np.log(0.9)) < 1e-12)
    True
    """
    g = as_float_array(gaps, "gaps", ndim=1)
    if scale not in ("linear", "log"):
        raise ValueError(f"scale must be 'linear' or 'log'; got {scale!r}")
    if not (isinstance(window, tuple) and len(window) == 2):
        raise TypeError(f"window must be a tuple (lo, hi); got {window!r}")
    lo = int(check_scalar(window[0], "window[0]", low=1 if scale == "log" else 0, integer=True))
    hi = int(check_scalar(window[1], "window[1]", low=lo + 2, high=g.size, integer=True))
    k = np.arange(lo, hi, dtype=np.float64)
    seg = g[lo:hi]
    if np.any(seg <= 0):
        raise ValueError(f"gaps must be > 0 inside window {window}; the first non-positive is at k = "
                         f"{lo + int(np.flatnonzero(seg <= 0)[0])}")
    x = k if scale == "linear" else np.log(k)
    return float(np.polyfit(x, np.log(seg), 1)[0])


def plot_rates(panels: Mapping[str, Mapping[str, Any]]) -> tuple[Figure, dict[str, dict[str, Any]]]:
    r"""Measured convergence rates: gaps per iteration with their fitted slopes and references.

    Each panel is a mapping with

    * ``"curves"``: method -> gap per iteration (index ``k``);
    * ``"scale"``: ``"linear"`` (semilog axes: a linear rate is a straight line) or ``"log"``
      (log-log axes: a rate :math:`k^{-r}` is a straight line of slope :math:`-r`);
    * ``"window"``: ``(lo, hi)``, the iterations over which each curve's slope is fitted
      (:func:`fitted_slope`); the fitted line is drawn dotted over that window;
    * ``"references"`` (optional): label -> reference curve per iteration, drawn dashed grey.

    Returns
    -------
    fig : Figure
    data : dict
        Title -> ``{"slopes": method -> fitted slope, "fits": method -> fitted line on the window}``.
    """
    if not isinstance(panels, Mapping) or len(panels) == 0:
        raise TypeError("panels must be a non-empty mapping of title to a panel mapping")
    fig, axes = new_figure(len(panels))
    axes = np.atleast_1d(axes)
    data: dict[str, dict[str, Any]] = {}
    for ax, (title, panel) in zip(axes, panels.items(), strict=True):
        if not isinstance(panel, Mapping) or "curves" not in panel or "window" not in panel:
            raise TypeError(f"panel {title!r} must be a mapping with 'curves' and 'window'")
        scale = panel.get("scale", "linear")
        lo, hi = panel["window"]
        slopes, fits = {}, {}
        for name, c in panel["curves"].items():
            g = as_float_array(c, f"curves[{name!r}]", ndim=1)
            s = fitted_slope(g, (lo, hi), scale)
            k = np.arange(g.size)
            kw = np.arange(lo, hi)
            x = kw if scale == "linear" else np.log(kw)
            xbar, ybar = x.mean(), np.log(g[lo:hi]).mean()
            fit = np.exp(ybar + s * (x - xbar))
            slopes[name], fits[name] = s, fit
            pos = g > 0
            (line,) = ax.plot(k[pos], g[pos], lw=1.5, label=f"{name} (fitted slope {s:.3g})")
            ax.plot(kw, fit, ls=":", lw=2, color=line.get_color())
        for name, r in panel.get("references", {}).items():
            ref = as_float_array(r, f"references[{name!r}]", ndim=1)
            ax.plot(np.arange(ref.size)[ref > 0], ref[ref > 0], ls="--", lw=1, color="gray", label=name)
        ax.set_yscale("log")
        if scale == "log":
            ax.set_xscale("log")
        ax.legend(fontsize=7)
        label(ax, "iteration $k$", r"$F(x_k) - F^\star$ (relative)", title)
        data[title] = {"slopes": slopes, "fits": fits}
    return fig, data


def plot_restart_scaling(kappas: Any, iterations: Any, eps: float) -> tuple[Figure, dict[str, Any]]:
    r"""Iterations of restarted FISTA to a relative gap ``eps`` against the condition number.

    Draws ``iterations`` against ``kappas`` on log-log axes beside the reference
    :math:`\sqrt\kappa\,\ln(1/\epsilon)` (the iteration count of a method with linear rate
    :math:`1 - 1/\sqrt\kappa`) and, for contrast, :math:`\kappa\ln(1/\epsilon)` (rate
    :math:`1 - 1/\kappa`, gradient descent's).

    Returns ``data`` with ``exponent`` (fitted slope of :math:`\ln k` against
    :math:`\ln\kappa`), ``ratios`` (``iterations`` divided by :math:`\sqrt\kappa\ln(1/\epsilon)`)
    and the two references.
    """
    kap = as_float_array(kappas, "kappas", ndim=1)
    its = as_float_array(iterations, "iterations", ndim=1)
    if kap.shape != its.shape or kap.size < 2:
        raise ValueError(f"kappas and iterations must have the same length >= 2; got {kap.size} and {its.size}")
    if np.any(kap < 1) or np.any(its <= 0):
        raise ValueError("kappas must be >= 1 and iterations > 0")
    e = check_scalar(eps, "eps", low=0.0, high=1.0, low_open=True, high_open=True)
    sqrt_ref = np.sqrt(kap) * np.log(1 / e)
    lin_ref = kap * np.log(1 / e)
    exponent = float(np.polyfit(np.log(kap), np.log(its), 1)[0])
    fig, ax = new_figure(1)
    ax.loglog(kap, its, "o-", label=f"restarted FISTA (fitted exponent {exponent:.2f})")
    ax.loglog(kap, sqrt_ref, "k--", lw=1, label=r"$\sqrt{\kappa}\,\ln(1/\epsilon)$")
    ax.loglog(kap, lin_ref, "k:", lw=1, label=r"$\kappa\,\ln(1/\epsilon)$")
    ax.legend(fontsize=7)
    label(ax, r"condition number $\kappa$", rf"iterations to gap $\epsilon$ = {e:.0e}", "restarted FISTA")
    return fig, {"exponent": exponent, "ratios": its / sqrt_ref, "sqrt_reference": sqrt_ref,
                 "linear_reference": lin_ref}


def early_stopping_factors(eigenvalues: Any, eta: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Shrinkage factors of :math:`k` gradient steps from zero and of ridge with :math:`\alpha = 1/(k\eta)`.

    On the quadratic :math:`f(w) = \tfrac12 (w - w^\star)^\top H (w - w^\star)` with
    eigenvalues :math:`\lambda_i` of :math:`H`, gradient descent with step :math:`\eta` from
    :math:`w_0 = 0` gives, along eigenvector :math:`i`, the fraction
    :math:`1 - (1 - \eta\lambda_i)^k` of :math:`w^\star`; the ridge solution with penalty
    :math:`\tfrac\alpha2\|w\|^2` gives :math:`\lambda_i/(\lambda_i + \alpha)`
    (Goodfellow et al., 2016, §7.8). Returns ``(gd, ridge)``.

    Example
    -------
    >>> from normreg.viz.optimization import early_stopping_factors
    >>> gd, ridge = early_stopping_factors([1.0], 0.5, 2)
    >>> float(gd[0]), float(ridge[0])
    (0.75, 0.5)
    """
    lam = as_float_array(eigenvalues, "eigenvalues", ndim=1)
    if np.any(lam < 0):
        raise ValueError("eigenvalues must be >= 0 (H is positive semidefinite)")
    e = check_scalar(eta, "eta", low=0.0, low_open=True)
    kk = int(check_scalar(k, "k", low=1, integer=True))
    if np.any(e * lam >= 2):
        raise ValueError(f"eta * eigenvalue must be < 2 for gradient descent to converge; got eta = {e:g}")
    x = e * lam
    small = x < 0.5  # 1 - (1 - x)^k without cancellation where (1 - x)^k is close to 1
    with np.errstate(divide="ignore"):
        gd = np.where(small, -np.expm1(kk * np.log1p(-np.where(small, x, 0.0))), 1.0 - (1.0 - x) ** kk)
    ridge = lam / (lam + 1.0 / (kk * e))
    return gd, ridge


def plot_early_stopping(
    eigenvalues: Any, eta: float, ks: Sequence[int], test_errors: Mapping[str, Any] | None = None,
    steps: Any = None,
) -> tuple[Figure, dict[str, Any]]:
    r"""Early stopping beside ridge: shrinkage factors per eigendirection, and optionally test errors.

    Left panel: for each ``k`` in ``ks``, the factors of :func:`early_stopping_factors` on a
    grid of eigenvalues (solid: :math:`k` gradient steps; dashed: ridge with
    :math:`\alpha = 1/(k\eta)`), with the given ``eigenvalues`` marked along the axis. Right
    panel (if ``test_errors`` is given): each curve of ``test_errors`` (name -> values) against
    ``steps``.

    Returns ``data`` with ``grid``, ``factors`` (k -> ``(gd, ridge)`` on the grid) and
    ``at_eigenvalues`` (k -> ``(gd, ridge)`` at the given eigenvalues).
    """
    lam = as_float_array(eigenvalues, "eigenvalues", ndim=1)
    if np.any(lam <= 0):
        raise ValueError("eigenvalues must be > 0 to be drawn on a log axis")
    e = check_scalar(eta, "eta", low=0.0, low_open=True)
    grid = np.logspace(np.log10(lam.min()) - 1, np.log10(min(lam.max(), 1.0 / e)), 400)
    ncols = 1 if test_errors is None else 2
    fig, axes = new_figure(ncols)
    ax = np.atleast_1d(axes)[0]
    factors, at_eig = {}, {}
    for i, k in enumerate(ks):
        gd, ridge = early_stopping_factors(grid, e, k)
        factors[k] = (gd, ridge)
        at_eig[k] = early_stopping_factors(lam, e, k)
        ax.semilogx(grid, gd, color=f"C{i}", lw=1.5, label=f"$k = {k}$ steps")
        ax.semilogx(grid, ridge, color=f"C{i}", ls="--", lw=1.2, label=rf"ridge, $\alpha = 1/({k}\eta)$")
    ax.plot(lam, np.zeros_like(lam), "|", color="k", ms=8, label=r"eigenvalues $\lambda_i$")
    ax.legend(fontsize=6, loc="upper left")
    label(ax, r"eigenvalue $\lambda_i$ of $H$", r"fraction of $\hat w$ kept (per direction)", "shrinkage per direction")
    if test_errors is not None:
        ax2 = np.atleast_1d(axes)[1]
        if steps is None:
            raise ValueError("steps must be given with test_errors")
        st = as_float_array(steps, "steps", ndim=1)
        for name, v in test_errors.items():
            arr = as_float_array(v, f"test_errors[{name!r}]", ndim=1)
            if arr.shape != st.shape:
                raise ValueError(f"test_errors[{name!r}] must have one entry per step ({st.size}); got {arr.size}")
            ax2.semilogx(st, arr, lw=1.5, label=name)
        ax2.legend(fontsize=7)
        label(ax2, r"steps $k$ (ridge: $\alpha = 1/(k\eta)$)", "test mean squared error", "test error")
    return fig, {"grid": grid, "factors": factors, "at_eigenvalues": at_eig}
