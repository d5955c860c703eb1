r"""Summarize a hyperparameter grid trained with several seeds, and choose by the one-standard-error rule (chapter 7).

A network's validation score depends on its random initialization and data order as well
as on its hyperparameters, so one run per grid point cannot tell a real difference from
seed noise. Train every grid point with :math:`n \ge 2` seeds, giving scores
:math:`s_{g,k}` (grid point :math:`g`, seed :math:`k`), and summarize each point by its mean
and the standard error of that mean,

.. math::

    \bar s_g = \frac1n\sum_{k=1}^n s_{g,k}, \qquad
    \mathrm{SE}_g = \frac{1}{\sqrt n}\sqrt{\frac{1}{n-1}\sum_{k=1}^n (s_{g,k} - \bar s_g)^2} .

The best point :math:`g^\star` has the best mean. The **one-standard-error rule** (chapter 6,
with seeds in place of folds as the source of the standard error) prefers the *simplest*
point whose mean is within one standard error of the best: for a score to maximize, the
candidates are :math:`\{g : \bar s_g \ge \bar s_{g^\star} - \mathrm{SE}_{g^\star}\}`, and among
them the one with the largest (or smallest) value of the parameter named ``simpler``, e.g.
the largest weight decay; ties go to the better mean.

Only NumPy is needed: the training loop that fills the score array is the caller's.

Example
-------
>>> import numpy as np
>>> from normreg.tuning import summarize_grid
>>> scores = np.array([[0.80, 0.82], [0.84, 0.86], [0.84, 0.85], [0.70, 0.71]])  # 4 wd x 2 seeds
>>> res = summarize_grid(scores, {"weight_decay": [1e-4, 1e-3, 1e-2, 1e-1]}, simpler="weight_decay")
>>> res.best["weight_decay"], res.choice_1se["weight_decay"]
(0.001, 0.01)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import as_float_array

__all__ = ["GridSummary", "summarize_grid"]


@dataclass(frozen=True)
class GridSummary:
    """What :func:`summarize_grid` returns.

    Attributes
    ----------
    params : dict of str to ndarray
        The grid's axes, in order (each a 1-D array).
    mean, se : ndarray, shape = grid shape
        Mean score over seeds and its standard error.
    n_seeds : int
        Number of seeds per grid point.
    best_index, index_1se : tuple of int
        Grid index of the best mean and of the one-standard-error choice.
    best, choice_1se : dict of str to float
        The parameter values at those indices.
    threshold : float
        The mean that a candidate must reach (maximize) or stay under (minimize).
    """

    params: dict[str, np.ndarray]
    mean: np.ndarray
    se: np.ndarray
    n_seeds: int
    best_index: tuple[int, ...]
    index_1se: tuple[int, ...]
    best: dict[str, float]
    choice_1se: dict[str, float]
    threshold: float


def _check_grid(grid: Any) -> dict[str, np.ndarray]:
    if not isinstance(grid, Mapping) or len(grid) == 0:
        raise TypeError(f"grid must be a non-empty mapping of parameter name to values; got {grid!r}")
    params: dict[str, np.ndarray] = {}
    for name, values in grid.items():
        if not isinstance(name, str):
            raise TypeError(f"grid keys must be parameter names (str); got {name!r}")
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            raise TypeError(f"grid[{name!r}] must be a sequence of numbers; got {values!r}")
        v = np.asarray(as_float_array(values, f"grid[{name!r}]", ndim=1), dtype=np.float64)
        if v.size == 0:
            raise ValueError(f"grid[{name!r}] must not be empty")
        if np.unique(v).size != v.size:
            raise ValueError(f"grid[{name!r}] must hold distinct values; got {v.tolist()}")
        params[name] = v
    return params


def summarize_grid(
    scores: Any,
    grid: Mapping[str, Sequence[float]],
    *,
    simpler: str,
    larger_is_simpler: bool = True,
    maximize: bool = True,
) -> GridSummary:
    r"""Mean, standard error, best point and one-standard-error choice of a grid scored over seeds.

    Parameters
    ----------
    scores : array_like, shape ``(len(v1), len(v2), ..., n_seeds)``
        One score per grid point and seed; the last axis is the seeds (at least 2), the
        others follow the order of ``grid``.
    grid : mapping of str to sequence of float
        Parameter name to its values, e.g. ``{"lr": [0.1, 0.3], "weight_decay": [...]}``.
    simpler : str
        The parameter whose value decides which candidate is simplest (a key of ``grid``).
    larger_is_simpler : bool
        ``True`` (default) where a larger value regularizes more (a weight decay, a dropout
        rate); ``False`` where a smaller one does (a number of epochs, a width).
    maximize : bool
        ``True`` (default) for scores to maximize (accuracy), ``False`` for losses.

    Returns
    -------
    GridSummary

    Raises
    ------
    ValueError
        If ``scores`` does not have the grid's shape plus a seed axis of length at least 2,
        holds NaN or Inf, or ``simpler`` is not a parameter of ``grid``.
    TypeError
        If ``grid`` is not a non-empty mapping of names to sequences, ``simpler`` is not a
        str, or ``maximize`` / ``larger_is_simpler`` is not a bool.
    """
    params = _check_grid(grid)
    if not isinstance(simpler, str):
        raise TypeError(f"simpler must be a str (a parameter name of grid); got {simpler!r}")
    for flag, value in (("larger_is_simpler", larger_is_simpler), ("maximize", maximize)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{flag} must be a bool; got {value!r}")
    if simpler not in params:
        raise ValueError(f"simpler must be one of the grid's parameters {list(params)}; got {simpler!r}")
    s = np.asarray(as_float_array(scores, "scores"), dtype=np.float64)
    shape = tuple(v.size for v in params.values())
    if s.ndim != len(shape) + 1 or s.shape[:-1] != shape:
        raise ValueError(
            f"scores must have shape {shape} + (n_seeds,) (the grid's axes, then the seeds); got {s.shape}"
        )
    n = s.shape[-1]
    if n < 2:
        raise ValueError(f"scores needs at least 2 seeds per grid point for a standard error; got {n}")
    # scaled by the largest magnitude per point: no overflow or underflow anywhere in the
    # float range; deviations from the mean before squaring: no cancellation
    scale = np.max(np.abs(s), axis=-1, keepdims=True)
    scale[scale == 0] = 1.0
    t = s / scale
    t_mean = t.mean(axis=-1, keepdims=True)
    mean = (t_mean * scale)[..., 0]
    se = (np.sqrt(np.sum((t - t_mean) ** 2, axis=-1, keepdims=True) / (n - 1) / n) * scale)[..., 0]
    sign = 1.0 if maximize else -1.0
    flat_best = int(np.argmax(sign * mean))
    best_index = tuple(int(i) for i in np.unravel_index(flat_best, shape))
    threshold = float(mean[best_index] - sign * se[best_index])
    candidates = sign * mean >= sign * threshold
    axis = list(params).index(simpler)
    simplicity = np.broadcast_to(
        np.expand_dims(params[simpler], [d for d in range(len(shape)) if d != axis]), shape
    )
    key = simplicity if larger_is_simpler else -simplicity
    top = np.max(key[candidates])
    pool = candidates & (key == top)
    flat_choice = int(np.argmax(np.where(pool, sign * mean, -np.inf)))
    index_1se = tuple(int(i) for i in np.unravel_index(flat_choice, shape))

    def values(index: tuple[int, ...]) -> dict[str, float]:
        return {name: float(v[i]) for (name, v), i in zip(params.items(), index, strict=True)}

    return GridSummary(
        params=params,
        mean=mean,
        se=se,
        n_seeds=n,
        best_index=best_index,
        index_1se=index_1se,
        best=values(best_index),
        choice_1se=values(index_1se),
        threshold=threshold,
    )
