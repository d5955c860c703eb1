r"""Figures of chapter 8 (structured sparsity and pruning), and the data they draw.

A *unit* of a ``Dense`` layer is a column of its kernel (shape ``(inputs, units)``) and a
*filter* of a ``Conv2D`` layer is a slice ``K[..., j]`` of its kernel (shape
``(h, w, in, out)``): in both cases the weights that *enter* output channel :math:`j`. A
channel is *live* if any of those weights is non-zero; a dead one outputs a constant and
:func:`normreg.keras.prune_zero_units` removes it.

The chapter compares proximal training with the two classical ways to prune a network
trained without exact zeros, both computed here on plain NumPy kernels:

* :func:`magnitude_prune_units`: keep the ``n_keep`` channels whose incoming weights have the
  largest Euclidean norm, zero the others (structured magnitude pruning);
* :func:`magnitude_prune_weights`: zero the ``n_zero`` weights of smallest absolute value,
  wherever they are (unstructured magnitude pruning, Han et al., 2015).

Every plotting function returns ``(fig, data)``: the figure and the numbers it drew.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._validation import as_float_array, check_scalar
from ._common import label, new_figure

__all__ = [
    "unit_norms",
    "live_units",
    "magnitude_prune_units",
    "magnitude_prune_weights",
    "plot_sparsity_path",
    "plot_prune_time_accuracy",
]


def _kernel(kernel: Any, name: str = "kernel") -> np.ndarray:
    k = as_float_array(kernel, name)
    if k.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions (inputs, ..., units); got shape {k.shape}")
    if k.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {k.shape}")
    return k


def unit_norms(kernel: Any) -> np.ndarray:
    r"""The Euclidean norm :math:`\lVert K_{\cdot j}\rVert_2` of the weights entering each unit or filter.

    ``kernel`` has the units (filters) on its last axis; the norm runs over all other axes.
    Computed without overflow or underflow (by :func:`numpy.linalg.norm` of each column
    scaled by its largest entry).

    Example
    -------
    >>> unit_norms([[3.0, 0.0], [4.0, 0.0]]).tolist()
    [5.0, 0.0]
    """
    k = _kernel(kernel)
    cols = k.reshape(-1, k.shape[-1])
    scale = np.max(np.abs(cols), axis=0)
    safe = np.where(scale > 0, scale, 1.0)
    return scale * np.linalg.norm(cols / safe, axis=0)


def live_units(kernel: Any) -> np.ndarray:
    """A boolean mask over the last axis: ``True`` where any weight entering the unit is non-zero.

    Example
    -------
    >>> live_units([[0.0, 1e-300, 0.0], [0.0, 0.0, -0.0]]).tolist()
    [False, True, False]
    """
    k = _kernel(kernel)
    return np.any(k.reshape(-1, k.shape[-1]) != 0, axis=0)


def magnitude_prune_units(kernel: Any, n_keep: int) -> np.ndarray:
    r"""A copy of ``kernel`` with all but the ``n_keep`` units of largest :func:`unit_norms` zeroed.

    Ties are broken by the unit's index (the lower index is kept), so the result is
    deterministic. The bias is not touched: a zeroed unit then outputs the constant
    :math:`\sigma(b_j)`, which :func:`normreg.keras.prune_zero_units` folds into the next layer.

    Example
    -------
    >>> magnitude_prune_units([[1.0, -3.0, 2.0]], 2).tolist()
    [[0.0, -3.0, 2.0]]
    """
    k = _kernel(kernel)
    n = k.shape[-1]
    keep = int(check_scalar(n_keep, "n_keep", low=0, high=n, integer=True))
    norms = unit_norms(k)
    order = np.lexsort((np.arange(n), -norms))  # largest norm first, then lowest index
    out = k.copy()
    out[..., order[keep:]] = 0.0
    return out


def magnitude_prune_weights(kernel: Any, n_zero: int) -> np.ndarray:
    """A copy of ``kernel`` with its ``n_zero`` entries of smallest absolute value set to 0.

    Entries that are already zero count among them. Ties are broken by position in C order
    (the earlier entry is zeroed first).

    Example
    -------
    >>> magnitude_prune_weights([[0.5, -0.1], [2.0, 0.2]], 2).tolist()
    [[0.5, 0.0], [2.0, 0.0]]
    """
    k = _kernel(kernel)
    n = int(check_scalar(n_zero, "n_zero", low=0, high=k.size, integer=True))
    flat = k.ravel().copy()
    order = np.argsort(np.abs(flat), kind="stable")
    flat[order[:n]] = 0.0
    return flat.reshape(k.shape)


def _path(run: Mapping[str, Any], name: str) -> dict[str, np.ndarray]:
    for key in ("lams", "live", "total", "accuracy"):
        if key not in run:
            raise ValueError(
                f"runs[{name!r}] must have the keys 'lams', 'live', 'total', 'accuracy'; {key!r} is missing"
            )
    lams = as_float_array(run["lams"], f"runs[{name!r}]['lams']", ndim=1)
    live = as_float_array(run["live"], f"runs[{name!r}]['live']", ndim=1)
    acc = as_float_array(run["accuracy"], f"runs[{name!r}]['accuracy']", ndim=1)
    total = check_scalar(run["total"], f"runs[{name!r}]['total']", low=1, integer=True)
    if not lams.size == live.size == acc.size > 0:
        raise ValueError(
            f"runs[{name!r}]: 'lams', 'live' and 'accuracy' must have the same, non-zero length; "
            f"got {lams.size}, {live.size}, {acc.size}"
        )
    if np.any(lams < 0):
        raise ValueError(f"runs[{name!r}]['lams'] must be non-negative")
    if np.any(live != np.round(live)) or np.any(live < 0) or np.any(live > total):
        raise ValueError(f"runs[{name!r}]['live'] must be whole numbers between 0 and total = {total}")
    if np.any(acc < 0) or np.any(acc > 1):
        raise ValueError(f"runs[{name!r}]['accuracy'] must lie in [0, 1]")
    return {"lam": lams, "live": live, "live_fraction": live / total, "accuracy": acc}


def plot_sparsity_path(runs: Mapping[str, Mapping[str, Any]]) -> tuple[Figure, dict[str, dict[str, np.ndarray]]]:
    r"""Two panels over a few penalty strengths :math:`\lambda`: the fraction of live units, and
    validation accuracy against that fraction (one line per model).

    The :math:`\lambda` axis is symmetric-logarithmic (linear below the smallest positive
    :math:`\lambda`), so that :math:`\lambda = 0` has a place on it.

    Parameters
    ----------
    runs : mapping of str to mapping
        Model name (e.g. ``"MLP, hidden units"``) to ``{"lams", "live", "total", "accuracy"}``:
        the penalty strengths, the number of live units (or filters) at each, how many
        there are in all, and the validation accuracy (in [0, 1]) at each.

    Returns ``data``: model name -> ``{"lam", "live", "live_fraction", "accuracy"}``.
    """
    if not isinstance(runs, Mapping) or len(runs) == 0:
        raise TypeError("runs must be a non-empty mapping of model name to its path")
    data = {name: _path(run, name) for name, run in runs.items()}
    fig, (ax_l, ax_a) = new_figure(2)
    positive = np.concatenate([d["lam"][d["lam"] > 0] for d in data.values()])
    for k, (name, d) in enumerate(data.items()):
        ax_l.plot(d["lam"], d["live_fraction"], "o-", ms=4, color=f"C{k}", label=name)
        ax_a.plot(d["live_fraction"], d["accuracy"], "o-", ms=4, color=f"C{k}", label=name)
    if positive.size:
        ax_l.set_xscale("symlog", linthresh=float(positive.min()))
    ax_l.set_ylim(0, 1.05)
    ax_a.set_xlim(0, 1.05)
    ax_l.legend(fontsize=8)
    label(ax_l, r"penalty strength $\lambda$", "fraction of units alive", "exact zeros over $\\lambda$")
    label(ax_a, "fraction of units alive", "validation accuracy", "accuracy against size")
    return fig, data


def plot_prune_time_accuracy(
    results: Mapping[str, tuple[float, float]],
) -> tuple[Figure, dict[str, dict[str, float]]]:
    """Validation accuracy of each trained network before and after it is pruned: paired bars.

    Parameters
    ----------
    results : mapping of str to (float, float)
        Method name to ``(accuracy before pruning, accuracy after pruning)``, each in [0, 1].
        Names are wrapped at 16 characters under the bars.

    Returns ``data``: method name -> ``{"before", "after", "drop"}`` (``drop = before - after``).
    """
    if not isinstance(results, Mapping) or len(results) == 0:
        raise TypeError("results must be a non-empty mapping of method name to (before, after)")
    data: dict[str, dict[str, float]] = {}
    for name, pair in results.items():
        if isinstance(pair, (str, bytes)) or len(pair) != 2:
            raise ValueError(f"results[{name!r}] must be a pair (before, after); got {pair!r}")
        before, after = (
            check_scalar(v, f"results[{name!r}][{i}]", low=0.0, high=1.0) for i, v in enumerate(pair)
        )
        data[name] = {"before": before, "after": after, "drop": before - after}
    fig, ax = new_figure(1, figsize=(7.0, 3.4))
    x = np.arange(len(data))
    ax.bar(x - 0.2, [d["before"] for d in data.values()], 0.4, color="C0", label="trained")
    ax.bar(x + 0.2, [d["after"] for d in data.values()], 0.4, color="C3", label="pruned")
    ax.set_xticks(x, [textwrap.fill(name, 16) for name in data], fontsize=8)
    low = min(min(d["before"], d["after"]) for d in data.values())
    ax.set_ylim(max(0.0, low - 0.1), 1.0)
    ax.legend(fontsize=8, loc="lower left")
    label(ax, "how the network was trained and pruned", "validation accuracy", "accuracy at prune time")
    return fig, data
