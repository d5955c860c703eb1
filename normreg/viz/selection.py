r"""Figures of chapter 6 (choosing :math:`\lambda`): coefficient paths, cross-validation curves
with error bars, training and test loss against :math:`\lambda`, and the chosen :math:`\lambda`
against the number of samples.

Every plotting function returns ``(fig, data)``: the figure and the numbers it drew.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._validation import as_float_array
from ..selection import CVResult, PathResult
from ._common import label, new_figure

__all__ = ["plot_paths", "plot_cv_curve", "plot_train_test_vs_lambda", "plot_lambda_vs_samples"]


def plot_paths(paths: Mapping[str, PathResult], informative: Any = None) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""Coefficient paths :math:`\hat w_j(\lambda)`, one panel per penalty, :math:`\lambda` decreasing to the right.

    ``informative`` (boolean mask, optional) draws the coefficients that are non-zero in the
    truth in colour and the others in grey.

    Returns ``data``: name -> ``(lams, coefs)`` stacked as a dict ``{"lams": ..., "coefs": ...}``.
    """
    if not isinstance(paths, Mapping) or len(paths) == 0:
        raise TypeError("paths must be a non-empty mapping of name to PathResult")
    fig, axes = new_figure(len(paths))
    axes = np.atleast_1d(axes)
    data: dict[str, Any] = {}
    for ax, (name, path) in zip(axes, paths.items(), strict=True):
        if not isinstance(path, PathResult):
            raise TypeError(f"paths[{name!r}] must be a PathResult; got {type(path).__name__}")
        mask = np.ones(path.coefs.shape[1], bool) if informative is None else np.asarray(informative, bool)
        for j in range(path.coefs.shape[1]):
            kw = {"lw": 1.4} if mask[j] else {"lw": 0.8, "color": "0.65"}
            ax.plot(path.lams, path.coefs[:, j], **kw)
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.axhline(0, color="k", lw=0.5)
        label(ax, r"$\lambda$ (decreasing)", r"coefficient $\hat w_j(\lambda)$", name)
        data[name] = {"lams": path.lams, "coefs": path.coefs}
    return fig, data


def plot_cv_curve(cv: CVResult, title: str = "k-fold cross-validation") -> tuple[Figure, dict[str, Any]]:
    r"""Mean validation loss :math:`\pm` one standard error against :math:`\lambda`, with the best and the
    one-standard-error :math:`\lambda` marked.

    Returns ``data`` with ``lams``, ``mean``, ``se``, ``best_lam`` and ``lam_1se``.
    """
    if not isinstance(cv, CVResult):
        raise TypeError(f"cv must be a CVResult (from select_lambda); got {type(cv).__name__}")
    fig, ax = new_figure(1, figsize=(6.0, 3.6))
    ax.errorbar(cv.lams, cv.mean_scores, yerr=cv.std_errors, fmt="o-", ms=3, lw=1, capsize=2, color="C0",
                label="mean $\\pm$ 1 SE")
    ax.axvline(cv.best_lam, color="C3", ls="--", lw=1, label=f"best $\\lambda$ = {cv.best_lam:.3g}")
    ax.axvline(cv.lam_1se, color="C2", ls=":", lw=1.5, label=f"1-SE $\\lambda$ = {cv.lam_1se:.3g}")
    ax.axhline(cv.mean_scores[cv.best_index] + cv.std_errors[cv.best_index], color="0.6", lw=0.8)
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.legend(fontsize=8)
    label(ax, r"$\lambda$ (decreasing)", "validation loss", title)
    return fig, {"lams": cv.lams, "mean": cv.mean_scores, "se": cv.std_errors, "best_lam": cv.best_lam,
                 "lam_1se": cv.lam_1se}


def plot_train_test_vs_lambda(
    lams: Any, train: Any, test: Any, marks: Mapping[str, float] | None = None
) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""Training and test loss against :math:`\lambda` (log scale, decreasing to the right).

    ``marks`` draws named vertical lines (e.g. the cross-validated :math:`\lambda`).
    """
    lam = as_float_array(lams, "lams", ndim=1)
    tr = as_float_array(train, "train", ndim=1)
    te = as_float_array(test, "test", ndim=1)
    if not (lam.shape == tr.shape == te.shape):
        raise ValueError(f"lams, train and test must have the same length; got {lam.size}, {tr.size}, {te.size}")
    fig, ax = new_figure(1, figsize=(6.0, 3.6))
    ax.plot(lam, tr, "-", lw=1.5, label="training loss")
    ax.plot(lam, te, "-", lw=1.5, label="test loss")
    styles = [("C3", "--"), ("C2", ":"), ("C4", "-."), ("C5", "--")]  # as in plot_cv_curve: best red, 1-SE green
    for k, (name, value) in enumerate((marks or {}).items()):
        color, ls = styles[k % len(styles)]
        ax.axvline(value, color=color, ls=ls, lw=1.2, label=name)
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.legend(fontsize=8)
    label(ax, r"$\lambda$ (decreasing)", r"loss $\frac{1}{2m}\|X\hat w + \hat b - y\|^2$",
          "too much regularization underfits")
    return fig, {"lams": lam, "train": tr, "test": te}


def plot_lambda_vs_samples(
    ns: Any, lams: Mapping[str, Any], reference: Any = None
) -> tuple[Figure, dict[str, np.ndarray]]:
    r"""Chosen :math:`\lambda` against the number of samples :math:`m` (log-log).

    ``lams`` maps a rule (e.g. "best", "1-SE") to its :math:`\lambda` per ``m``; ``reference``
    (optional) is drawn dashed, e.g. :math:`\sigma\sqrt{2\log p/m}`.
    """
    n = as_float_array(ns, "ns", ndim=1, allow_int=True)
    fig, ax = new_figure(1)
    data: dict[str, np.ndarray] = {"ns": n}
    for name, v in lams.items():
        arr = as_float_array(v, f"lams[{name!r}]", ndim=1)
        if arr.shape != n.shape:
            raise ValueError(f"lams[{name!r}] must have one entry per m ({n.size}); got {arr.size}")
        data[name] = arr
        ax.loglog(n, arr, "o-", ms=4, lw=1.2, label=name)
    if reference is not None:
        ref = as_float_array(reference, "reference", ndim=1)
        data["reference"] = ref
        ax.loglog(n, ref, "k--", lw=1, label=r"$\sigma\sqrt{2\log p / m}$")
    ax.legend(fontsize=8)
    label(ax, "number of samples $m$", r"chosen $\lambda$", r"$\lambda$ shrinks as data grows")
    return fig, data
