r"""Figures of chapter 7 (regularizing deep networks): the norm of a scale-invariant kernel and
its effective learning rate over training, validation accuracy against weight decay for a
few learning rates, regularizers compared with error bars, and embedding rows shrunk by
token frequency.

Every plotting function returns ``(fig, data)``: the figure and the numbers it drew.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._validation import as_float_array, check_scalar
from ._common import label, new_figure

__all__ = [
    "effective_learning_rate",
    "plot_effective_lr",
    "plot_tuning_grid",
    "plot_regularizer_comparison",
    "plot_embedding_shrinkage",
]


def effective_learning_rate(norms: Any, lr: Any) -> np.ndarray:
    r"""The effective learning rate :math:`\eta_t/\lVert W_t\rVert_2^2` of a scale-invariant kernel.

    If the loss satisfies :math:`L(cW) = L(W)` for every :math:`c > 0`, a gradient step of size
    :math:`\eta` on :math:`W` moves the direction :math:`W/\lVert W\rVert` as a step of size
    :math:`\eta/\lVert W\rVert^2` on the unit sphere would (to first order).

    Parameters
    ----------
    norms : array_like, shape (n_steps,)
        :math:`\lVert W_t\rVert_2`, all positive.
    lr : float or array_like, shape (n_steps,)
        The learning rate :math:`\eta_t` (a constant or one value per step), non-negative.

    Example
    -------
    >>> effective_learning_rate([1.0, 2.0], 0.5).tolist()
    [0.5, 0.125]
    """
    n = as_float_array(norms, "norms", ndim=1)
    if np.any(n <= 0):
        raise ValueError("norms must be positive (a zero kernel has no direction)")
    eta = as_float_array(lr, "lr")
    if eta.ndim > 1 or (eta.ndim == 1 and eta.shape != n.shape):
        raise ValueError(f"lr must be a scalar or have the shape of norms {n.shape}; got shape {eta.shape}")
    if np.any(eta < 0):
        raise ValueError("lr must be non-negative")
    # divided twice: n**2 would overflow for norms above 1e154
    return (eta / n) / n


def plot_effective_lr(
    runs: Mapping[str, Any], lr: float, equilibrium: Mapping[str, float] | None = None
) -> tuple[Figure, dict[str, dict[str, np.ndarray]]]:
    r"""Two panels over training steps: :math:`\lVert W_t\rVert_2` and :math:`\eta/\lVert W_t\rVert_2^2` (log scale).

    Parameters
    ----------
    runs : mapping of str to array_like
        Run name (e.g. ``"no decay"``) to the kernel norms :math:`\lVert W_t\rVert`, ``t = 0..T``.
    lr : float
        The constant learning rate :math:`\eta`.
    equilibrium : mapping of str to float, optional
        Predicted equilibrium norms, drawn as dashed horizontal lines in the first panel.

    Returns ``data``: run name -> ``{"step", "norm", "effective_lr"}``.
    """
    if not isinstance(runs, Mapping) or len(runs) == 0:
        raise TypeError("runs must be a non-empty mapping of run name to kernel norms")
    fig, (ax_n, ax_e) = new_figure(2)
    data: dict[str, dict[str, np.ndarray]] = {}
    for k, (name, norms) in enumerate(runs.items()):
        n = as_float_array(norms, f"runs[{name!r}]", ndim=1)
        eff = effective_learning_rate(n, lr)
        step = np.arange(n.size)
        ax_n.plot(step, n, color=f"C{k}", label=name)
        ax_e.plot(step, eff, color=f"C{k}", label=name)
        data[name] = {"step": step, "norm": n, "effective_lr": eff}
    for name, value in (equilibrium or {}).items():
        v = check_scalar(value, f"equilibrium[{name!r}]", low=0.0, low_open=True)
        ax_n.axhline(v, color="0.4", ls="--", lw=1, label=f"predicted equilibrium ({name})")
    ax_e.set_yscale("log")
    ax_n.legend(fontsize=8)
    label(ax_n, "step $t$", r"kernel norm $\|W_t\|_2$", "norm of the kernel")
    label(ax_e, "step $t$", r"$\eta/\|W_t\|_2^2$", "effective learning rate")
    return fig, data


def plot_tuning_grid(
    weight_decays: Any, lrs: Any, mean: Any, se: Any, choice: tuple[float, float] | None = None
) -> tuple[Figure, dict[str, Any]]:
    r"""Validation accuracy :math:`\pm` one standard error against weight decay, one line per learning rate.

    Parameters
    ----------
    weight_decays : array_like, shape (n_wd,)
        Positive weight decays (log axis).
    lrs : array_like, shape (n_lr,)
        Learning rates, one line each.
    mean, se : array_like, shape (n_lr, n_wd)
        Mean validation accuracy over seeds and its standard error.
    choice : (lr, weight_decay), optional
        A chosen configuration, marked with a star.

    Returns ``data`` with ``weight_decays``, ``lrs``, ``mean``, ``se`` (and ``choice``).
    """
    wd = as_float_array(weight_decays, "weight_decays", ndim=1)
    lr = as_float_array(lrs, "lrs", ndim=1)
    if np.any(wd <= 0):
        raise ValueError("weight_decays must be positive (they are drawn on a log axis)")
    shape = (lr.size, wd.size)
    mu = as_float_array(mean, "mean", ndim=2)
    s = as_float_array(se, "se", ndim=2)
    for name, a in (("mean", mu), ("se", s)):
        if a.shape != shape:
            raise ValueError(f"{name} must have shape (len(lrs), len(weight_decays)) = {shape}; got {a.shape}")
    if np.any(s < 0):
        raise ValueError("se must be non-negative (standard errors)")
    fig, ax = new_figure(1, figsize=(6.0, 3.6))
    for k in range(lr.size):
        ax.errorbar(wd, mu[k], yerr=s[k], fmt="o-", ms=3, lw=1, capsize=2, color=f"C{k}",
                    label=f"learning rate {lr[k]:g}")
    data: dict[str, Any] = {"weight_decays": wd, "lrs": lr, "mean": mu, "se": s}
    if choice is not None:
        c_lr, c_wd = (float(v) for v in choice)
        # relative match only: np.isclose's default atol=1e-8 equates 1e-10 with 1e-9
        k_hit = np.flatnonzero(np.isclose(lr, c_lr, rtol=1e-9, atol=0.0))
        j_hit = np.flatnonzero(np.isclose(wd, c_wd, rtol=1e-9, atol=0.0))
        k = int(k_hit[0]) if k_hit.size else None
        j = int(j_hit[0]) if j_hit.size else None
        if k is None or j is None:
            raise ValueError(f"choice must be a (lr, weight_decay) pair of the grid; got {choice!r}")
        ax.plot([wd[j]], [mu[k, j]], "*", ms=14, color="k", label="one-standard-error choice")
        data["choice"] = (c_lr, c_wd)
    ax.set_xscale("log")
    ax.legend(fontsize=8)
    label(ax, "weight decay", "validation accuracy", "weight decay and learning rate, tuned together")
    return fig, data


def plot_regularizer_comparison(scores: Mapping[str, Any]) -> tuple[Figure, dict[str, Any]]:
    r"""Mean test accuracy :math:`\pm` one standard error over seeds, one point per regularizer.

    Parameters
    ----------
    scores : mapping of str to array_like
        Regularizer name to its scores over seeds (at least two each).

    Returns ``data`` with ``names``, ``mean`` and ``se`` (``std(ddof=1) / sqrt(n)``).
    """
    if not isinstance(scores, Mapping) or len(scores) == 0:
        raise TypeError("scores must be a non-empty mapping of regularizer name to scores over seeds")
    names = list(scores)
    arrays = [as_float_array(scores[n], f"scores[{n!r}]", ndim=1) for n in names]
    for n, a in zip(names, arrays, strict=True):
        if a.size < 2:
            raise ValueError(f"scores[{n!r}] needs at least two seeds for a standard error; got {a.size}")
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.array([a.mean() for a in arrays])
        se = np.array([a.std(ddof=1) / np.sqrt(a.size) for a in arrays])
    for k, a in enumerate(arrays):
        if not (np.isfinite(mean[k]) and np.isfinite(se[k])):  # overflow: scale by max|a|
            m = np.max(np.abs(a))
            t = a / m
            mean[k] = t.mean() * m
            se[k] = t.std(ddof=1) / np.sqrt(a.size) * m
    fig, ax = new_figure(1, figsize=(1.25 * len(names) + 1.5, 3.2))
    pos = np.arange(len(names))
    ax.errorbar(pos, mean, yerr=se, fmt="o", ms=5, capsize=4, color="C0", label="mean $\\pm$ 1 SE")
    for k, a in enumerate(arrays):
        ax.plot(np.full(a.size, pos[k]) + 0.15, a, ".", color="0.6", ms=4)
    ax.set_xticks(pos, names)
    label(ax, "regularizer", "test accuracy", "the same network, regularized in different ways")
    return fig, {"names": names, "mean": mean, "se": se}


def plot_embedding_shrinkage(
    counts: Any, norms: Mapping[str, Any], initial: Any
) -> tuple[Figure, dict[str, Any]]:
    r"""Each embedding row's norm after training over its initial norm, against how often its token occurred.

    Parameters
    ----------
    counts : array_like, shape (n_tokens,)
        Occurrences of each token during training (tokens never seen are drawn at 0.5 on the
        log axis).
    norms : mapping of str to array_like, shape (n_tokens,)
        Method name to the row norms after training.
    initial : array_like, shape (n_tokens,)
        Row norms before training (positive).

    Returns ``data`` with ``counts`` and, per method, the ratio ``norm / initial``.
    """
    c = as_float_array(counts, "counts", ndim=1)
    init = as_float_array(initial, "initial", ndim=1)
    if np.any(c < 0):
        raise ValueError("counts must be non-negative (occurrences of each token)")
    if init.shape != c.shape or np.any(init <= 0):
        raise ValueError(f"initial must be positive with the shape of counts {c.shape}")
    if not isinstance(norms, Mapping) or len(norms) == 0:
        raise TypeError("norms must be a non-empty mapping of method name to row norms")
    fig, ax = new_figure(1, figsize=(6.0, 3.6))
    x = np.where(c > 0, c, 0.5)
    data: dict[str, Any] = {"counts": c}
    for k, (name, nrm) in enumerate(norms.items()):
        n = as_float_array(nrm, f"norms[{name!r}]", ndim=1)
        if n.shape != c.shape:
            raise ValueError(f"norms[{name!r}] must have shape {c.shape}; got {n.shape}")
        ratio = n / init
        ax.plot(x, ratio, ".", ms=4, color=f"C{k}", label=name)
        data[name] = ratio
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    label(ax, "occurrences of the token in training (0 drawn at 0.5)", "row norm / initial row norm",
          "embedding rows after training")
    return fig, data

