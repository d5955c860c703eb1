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
    pair ``(train, test)``, is drawn as two horizontal dotted lines labelled "no penalty"
    (for a sweep over :math:`\lambda > 0` on a log axis, where :math:`\lambda = 0` has no place).
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
