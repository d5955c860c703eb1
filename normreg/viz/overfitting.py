r"""Figures of chapter 1 (overfitting): polynomial fits and train/test curves.

A polynomial of degree :math:`d` in one variable is a linear model on the features
:math:`\phi(x) = (x, x^2, \dots, x^d)`. :func:`fit_polynomial` fits it in the book's
convention, with an optional L2 penalty on the coefficients (never on the intercept):

.. math::

    \min_{w, b}\; \frac{1}{2m}\sum_{i=1}^m \big(\phi(x_i)^\top w + b - y_i\big)^2 + \frac{\lambda}{2}\|w\|_2^2 .

Every plotting function returns ``(fig, data)``: the figure and the numbers it drew, so that
a test or a notebook can check the data without looking at pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._validation import as_float_array, check_scalar
from ._common import label, new_figure

__all__ = [
    "polynomial_features",
    "PolynomialFit",
    "fit_polynomial",
    "DegreeSweep",
    "degree_sweep",
    "plot_train_test",
    "plot_degree_sweep",
    "plot_polynomial_fits",
    "resampled_predictions",
    "resampled_test_errors",
    "plot_fit_spread",
    "plot_error_vs_df",
]


def _check_xy(x: Any, y: Any, xname: str = "x", yname: str = "y") -> tuple[np.ndarray, np.ndarray]:
    xa = as_float_array(x, xname, ndim=1, allow_int=True)
    ya = as_float_array(y, yname, ndim=1, allow_int=True)
    if xa.shape != ya.shape:
        raise ValueError(f"{xname} and {yname} must have the same length; got {xa.shape[0]} and {ya.shape[0]}")
    return xa, ya


def polynomial_features(x: Any, degree: int) -> np.ndarray:
    r"""The matrix :math:`\Phi` with rows :math:`(x_i, x_i^2, \dots, x_i^d)`, shape ``(m, degree)``.

    The constant column is left out: the intercept is fitted separately and never penalized.

    Example
    -------
    >>> import numpy as np
    >>> from normreg.viz.overfitting import polynomial_features
    >>> polynomial_features(np.array([2.0, -1.0]), 3)
    array([[ 2.,  4.,  8.],
           [-1.,  1., -1.]])
    """
    xa = as_float_array(x, "x", ndim=1, allow_int=True)
    d = int(check_scalar(degree, "degree", low=0, integer=True))
    return xa[:, None] ** np.arange(1, d + 1)


@dataclass(frozen=True)
class PolynomialFit:
    r"""A fitted polynomial :math:`b + \sum_{k=1}^d w_k x^k`: ``coef`` holds :math:`w_1..w_d`."""

    degree: int
    lam: float
    coef: np.ndarray
    intercept: float

    def predict(self, x: Any) -> np.ndarray:
        """The polynomial's values at the points ``x`` (1-D)."""
        return polynomial_features(x, self.degree) @ self.coef + self.intercept

    def mse(self, x: Any, y: Any) -> float:
        r"""Mean squared error :math:`\frac1m\sum_i (\hat y_i - y_i)^2` on ``(x, y)``."""
        xa, ya = _check_xy(x, y)
        return float(np.mean((self.predict(xa) - ya) ** 2))


def fit_polynomial(x: Any, y: Any, degree: int, lam: float = 0.0) -> PolynomialFit:
    r"""Least-squares polynomial of degree ``degree``, with the penalty ``L2(lam)`` on its coefficients.

    Minimizes :math:`\frac{1}{2m}\|\Phi w + b - y\|_2^2 + \frac{\lambda}{2}\|w\|_2^2` (the intercept
    :math:`b` is not penalized). With centred :math:`\Phi_c` and :math:`y_c` the minimizer solves the
    stacked least-squares problem

    .. math::

        \begin{bmatrix}\Phi_c/\sqrt m\\ \sqrt\lambda\, I\end{bmatrix} w \approx
        \begin{bmatrix} y_c/\sqrt m \\ 0\end{bmatrix}, \qquad b = \bar y - \bar\phi^\top w,

    which is solved by an SVD (``numpy.linalg.lstsq``) rather than through the normal equations,
    whose matrix :math:`\Phi^\top\Phi` is hopelessly ill-conditioned for high degrees. With
    ``lam = 0`` and more coefficients than points it returns the interpolant of least norm.

    Example
    -------
    >>> import numpy as np
    >>> from normreg.viz.overfitting import fit_polynomial
    >>> x = np.linspace(-1, 1, 5)
    >>> fit = fit_polynomial(x, 1 + 2 * x - x**2, degree=2)
    >>> np.round(fit.coef, 10), round(fit.intercept, 10)
    (array([ 2., -1.]), 1.0)
    """
    xa, ya = _check_xy(x, y)
    d = int(check_scalar(degree, "degree", low=0, integer=True))
    lam_ = check_scalar(lam, "lam", low=0.0)
    m = xa.shape[0]
    phi = polynomial_features(xa, d)
    if d == 0:
        return PolynomialFit(0, lam_, np.zeros(0), float(ya.mean()))
    mean_phi = phi.mean(axis=0)
    a = np.vstack([(phi - mean_phi) / np.sqrt(m), np.sqrt(lam_) * np.eye(d)])
    rhs = np.concatenate([(ya - ya.mean()) / np.sqrt(m), np.zeros(d)])
    coef = np.linalg.lstsq(a, rhs, rcond=None)[0]
    return PolynomialFit(d, lam_, coef, float(ya.mean() - mean_phi @ coef))


@dataclass(frozen=True)
class DegreeSweep:
    """Train and test mean squared errors of :func:`fit_polynomial` for each degree, at one ``lam``."""

    degrees: np.ndarray
    lam: float
    train_mse: np.ndarray
    test_mse: np.ndarray


def degree_sweep(
    x_train: Any, y_train: Any, x_test: Any, y_test: Any, degrees: Sequence[int], lam: float = 0.0
) -> DegreeSweep:
    """Fit one polynomial per degree on the training points; record train and test MSE."""
    xtr, ytr = _check_xy(x_train, y_train, "x_train", "y_train")
    xte, yte = _check_xy(x_test, y_test, "x_test", "y_test")
    degs = np.asarray([int(check_scalar(d, "degrees", low=0, integer=True)) for d in degrees])
    if degs.size == 0:
        raise ValueError("degrees must not be empty")
    fits = [fit_polynomial(xtr, ytr, int(d), lam) for d in degs]
    return DegreeSweep(
        degs,
        float(lam),
        np.array([f.mse(xtr, ytr) for f in fits]),
        np.array([f.mse(xte, yte) for f in fits]),
    )


def plot_train_test(
    x: Any,
    train: Any,
    test: Any,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    logx: bool = False,
    logy: bool = False,
    ax: Any = None,
    suffix: str = "",
    reference: tuple[float, float] | None = None,
) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""Two curves against ``x``: the training metric (solid) and the test metric (dashed).

    Returns the figure and ``{"x", "train", "test"}``. With ``ax`` given, draws into it
    (and returns its figure); ``suffix`` is appended to the legend labels. ``reference``, a
    pair ``(train, test)``, is drawn as two horizontal green lines (dotted: train,
    dash-dotted: test) labelled "train, no penalty" and "test, no penalty" (for a sweep
    over :math:`\lambda > 0` on a log axis, where :math:`\lambda = 0` has no place).
    """
    xs = as_float_array(x, "x", ndim=1, allow_int=True)
    tr = as_float_array(train, "train", ndim=1, allow_int=True)
    te = as_float_array(test, "test", ndim=1, allow_int=True)
    if not (xs.shape == tr.shape == te.shape):
        raise ValueError(f"x, train and test must have the same length; got {xs.size}, {tr.size}, {te.size}")
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    line = ax.plot(xs, tr, "o-", label=f"train{suffix}")[0]
    ax.plot(xs, te, "s--", color=line.get_color() if suffix else None, label=f"test{suffix}")
    if reference is not None:
        ref_tr = check_scalar(reference[0], "reference[0]")
        ref_te = check_scalar(reference[1], "reference[1]")
        ax.axhline(ref_tr, ls=":", color="C2", label="train, no penalty")
        ax.axhline(ref_te, ls="-.", color="C2", label="test, no penalty")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    label(ax, xlabel, ylabel, title)
    ax.legend()
    return fig, {"x": xs, "train": tr, "test": te}


def plot_degree_sweep(sweeps: Sequence[DegreeSweep]) -> tuple[Figure, list[DegreeSweep]]:
    """Train and test MSE against the degree, one pair of curves per sweep (log scale)."""
    if len(sweeps) == 0:
        raise ValueError("sweeps must not be empty")
    fig, ax = new_figure(figsize=(6.0, 3.6))
    for s in sweeps:
        suffix = ", no penalty" if s.lam == 0 else f", L2(λ={s.lam:g})"
        plot_train_test(
            s.degrees, s.train_mse, s.test_mse, xlabel="polynomial degree $d$",
            ylabel="mean squared error", logy=True, ax=ax, suffix=suffix,
        )
    return fig, list(sweeps)


def plot_polynomial_fits(
    x_train: Any,
    y_train: Any,
    fits: Sequence[PolynomialFit],
    truth: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    ylim: tuple[float, float] = (-2.0, 2.0),
    n_grid: int = 400,
) -> tuple[Figure, dict[str, Any]]:
    """One panel per fit: the training points, the fitted curve and (dotted) the true function.

    Returns the figure and ``{"grid": x, "curves": [values of each fit on x], "truth": values or None}``.
    """
    xtr, ytr = _check_xy(x_train, y_train, "x_train", "y_train")
    if len(fits) == 0:
        raise ValueError("fits must not be empty")
    n = int(check_scalar(n_grid, "n_grid", low=2, integer=True))
    grid = np.linspace(-1.0, 1.0, n)
    fig, axes = new_figure(ncols=len(fits), sharey=True)
    axes = np.atleast_1d(axes)
    curves = [f.predict(grid) for f in fits]
    true_vals = None if truth is None else np.asarray(truth(grid), dtype=float)
    for ax, f, c in zip(axes, fits, curves, strict=True):
        ax.plot(xtr, ytr, "o", color="0.3", markersize=4, label="training points")
        if true_vals is not None:
            ax.plot(grid, true_vals, ":", color="k", label="true function")
        ax.plot(grid, c, "-", color="C3", label="fit")
        ax.set_ylim(*ylim)
        title = f"degree {f.degree}" + ("" if f.lam == 0 else f", L2(λ={f.lam:g})")
        label(ax, "$x$", "$y$", title)
    axes[0].legend(loc="lower right", fontsize="small")
    return fig, {"grid": grid, "curves": curves, "truth": true_vals}


def _check_resampling(n_sets: Any, degree: Any, lam: Any, n_samples: Any, noise: Any, seed: Any) -> tuple:
    return (
        int(check_scalar(n_sets, "n_sets", low=1, integer=True)),
        int(check_scalar(degree, "degree", low=0, integer=True)),
        check_scalar(lam, "lam", low=0.0),
        int(check_scalar(n_samples, "n_samples", low=1, integer=True)),
        check_scalar(noise, "noise", low=0.0),
        int(check_scalar(seed, "seed", low=0, integer=True)),
    )


def resampled_predictions(
    x_eval: Any,
    n_sets: int,
    degree: int,
    lam: float = 0.0,
    *,
    n_samples: int = 20,
    noise: float = 0.2,
    seed: int = 0,
) -> np.ndarray:
    r"""Fit the same model on ``n_sets`` fresh training sets; its values at ``x_eval``.

    Training set :math:`r` is ``make_polynomial_data(n_samples, noise=noise, seed=seed + r)``
    (chapter 1's distribution: :math:`x \sim U[-1, 1]`, :math:`y = \sin(\pi x) + \varepsilon`).
    Returns an array of shape ``(n_sets, len(x_eval))``, the input of
    :func:`normreg.analysis.bias_variance_decomposition`.
    """
    from ..datasets import make_polynomial_data

    xe = as_float_array(x_eval, "x_eval", ndim=1, allow_int=True)
    R, d, lam_, m, sigma, s = _check_resampling(n_sets, degree, lam, n_samples, noise, seed)
    out = np.empty((R, xe.size))
    for r in range(R):
        x, y = make_polynomial_data(m, noise=sigma, seed=s + r)
        out[r] = fit_polynomial(x, y, d, lam_).predict(xe)
    return out


def resampled_test_errors(
    n_sets: int,
    degree: int,
    lam: float = 0.0,
    *,
    n_samples: int = 20,
    n_test: int = 200,
    noise: float = 0.2,
    seed: int = 0,
) -> np.ndarray:
    r"""Monte Carlo of the expected test error: one test MSE per fresh training set.

    For :math:`r = 0..R-1` a training set (seed ``seed + 2r``) and an independent test set of
    ``n_test`` points (seed ``seed + 2r + 1``) are drawn from chapter 1's distribution; the
    model is fitted on the first and its mean squared error measured on the second. The mean
    of the returned ``(n_sets,)`` array estimates :math:`\operatorname{E}(y - \hat f(x))^2`
    over training sets, test points and noise, with no decomposition involved.
    """
    from ..datasets import make_polynomial_data

    R, d, lam_, m, sigma, s = _check_resampling(n_sets, degree, lam, n_samples, noise, seed)
    nt = int(check_scalar(n_test, "n_test", low=1, integer=True))
    out = np.empty(R)
    for r in range(R):
        x, y = make_polynomial_data(m, noise=sigma, seed=s + 2 * r)
        xt, yt = make_polynomial_data(nt, noise=sigma, seed=s + 2 * r + 1)
        out[r] = fit_polynomial(x, y, d, lam_).mse(xt, yt)
    return out


def plot_fit_spread(
    x_eval: Any,
    predictions: Sequence[Any],
    titles: Sequence[str],
    truth: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    n_show: int = 30,
    ylim: tuple[float, float] = (-2.0, 2.0),
) -> tuple[Figure, dict[str, Any]]:
    """One panel per method: ``n_show`` of its fitted curves (thin), their mean over *all* fits
    (thick) and the true function (dotted).

    ``predictions[k]`` has shape ``(n_fits, len(x_eval))`` (from :func:`resampled_predictions`).
    Returns the figure and ``{"x", "shown": [first n_show rows], "mean": [column means],
    "truth"}``. Curves leaving ``ylim`` are clipped by the axes, not by the data.
    """
    xe = as_float_array(x_eval, "x_eval", ndim=1, allow_int=True)
    if len(predictions) == 0 or len(predictions) != len(titles):
        raise ValueError(
            f"predictions and titles must be non-empty and of equal length; got {len(predictions)} and {len(titles)}"
        )
    preds = []
    for k, p in enumerate(predictions):
        pa = as_float_array(p, f"predictions[{k}]", ndim=2)
        if pa.shape[1] != xe.size:
            raise ValueError(f"predictions[{k}] must have {xe.size} columns (one per x_eval); got {pa.shape[1]}")
        preds.append(pa)
    k_show = int(check_scalar(n_show, "n_show", low=1, integer=True))
    fig, axes = new_figure(ncols=len(preds), sharey=True)
    axes = np.atleast_1d(axes)
    true_vals = None if truth is None else np.asarray(truth(xe), dtype=float)
    shown, means = [], []
    for ax, p, title in zip(axes, preds, titles, strict=True):
        sub = p[:k_show]
        ax.plot(xe, sub.T, "-", color="C0", alpha=0.25, lw=0.8)
        mean = p.mean(axis=0)
        ax.plot(xe, mean, "-", color="C3", lw=2.0, label=f"mean of {p.shape[0]} fits")
        if true_vals is not None:
            ax.plot(xe, true_vals, ":", color="k", lw=1.5, label="true function")
        ax.set_ylim(*ylim)
        label(ax, "$x$", "$y$", title)
        shown.append(sub)
        means.append(mean)
    axes[0].legend(loc="lower right", fontsize="small")
    return fig, {"x": xe, "shown": shown, "mean": means, "truth": true_vals}


def plot_error_vs_df(
    curves: Sequence[tuple[str, Any, Any, Any]],
) -> tuple[Figure, list[dict[str, np.ndarray]]]:
    r"""Training (solid) and test (dashed) error against the effective degrees of freedom.

    Each entry of ``curves`` is ``(name, df, train, test)``, e.g. the unpenalized polynomials
    of degree :math:`d` (df :math:`= d + 1`) and the degree-15 polynomial under ``L2(lam)``
    for a range of :math:`\lambda` (df from :func:`normreg.analysis.effective_df`). Log
    scale on the error axis. Returns the figure and one ``{"x", "train", "test"}`` per curve.
    """
    if len(curves) == 0:
        raise ValueError("curves must not be empty")
    fig, ax = new_figure(figsize=(6.0, 3.6))
    data = []
    for name, df, train, test in curves:
        _, d = plot_train_test(
            df, train, test, xlabel="effective degrees of freedom df",
            ylabel="mean squared error", logy=True, ax=ax, suffix=f", {name}",
        )
        data.append(d)
    return fig, data
