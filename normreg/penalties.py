r"""Norm penalties: value, (sub)gradient and proximal operator (chapter 3).

Every penalty :math:`\Omega` in this module follows the book's convention (see the
conventions table in chapter 3) and offers three operations, read together:

* ``pen(w)`` -- the value :math:`\Omega(w)`,
* ``pen.grad(w)`` -- the gradient; where :math:`\Omega` is not differentiable, the
  subgradient of minimum norm (for :math:`|w|` at :math:`w=0` that is :math:`0`),
* ``pen.prox(v, step)`` -- the proximal operator
  :math:`\operatorname{prox}_{t\Omega}(v) = \arg\min_w \Omega(w) + \tfrac{1}{2t}\|w - v\|_2^2`.

Inputs must be float32 or float64 and finite; results keep the input's dtype. The
value is a NumPy scalar (``np.float64`` is a ``float``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._validation import as_float_array, as_groups, check_scalar, check_step, raise_if_not_finite
from .norms import _pow2_scale

__all__ = ["Penalty", "L1", "L2", "ElasticNet", "GroupLasso"]

#: Elements per block of the blocked reductions below: 1 MiB of float32, about the size
#: of a core's L2 cache, and enough work per block that the Python loop costs nothing.
_BLOCK = 1 << 18


def _blocks(flat: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, flat.size, _BLOCK):
        yield flat[start : start + _BLOCK]


def _sum_sq(flat: np.ndarray) -> float:
    """:math:`\\sum_i w_i^2` as a Python float, in one pass and with no temporary array.

    Each block is one BLAS dot product, and the block sums are added in float64: a single
    float32 ``np.dot`` over 10^8 entries accumulates a relative error of about 3e-3, the
    blocked sum a few 1e-7 (a few float32 rounding units). ``np.vdot`` rather than
    ``np.dot``: the same BLAS call, but it does not check the floating-point flags, so an
    overflow costs no ``np.errstate`` around every call (2 us, a third of the time of the
    whole sum of 10^5 weights). If the squares overflow while ``w`` is finite (entries
    above the square root of the largest float), the sum is ``inf``; callers that can
    represent the final value recompute it with :func:`_scaled_sum_sq`.
    """
    if flat.size <= _BLOCK:
        return float(np.vdot(flat, flat))
    return float(sum(float(np.vdot(b, b)) for b in _blocks(flat)))


def _scaled_sum_sq(flat: np.ndarray, coef: float) -> float:
    """``coef`` times :math:`\\sum_i w_i^2`, ``inf`` only if that value itself overflows.

    Computed as ``(coef * s) * s * sum((w/s)**2)`` with ``s`` a power of two, which is the
    slow path taken only when the plain sum of squares overflowed.
    """
    total = _sum_sq(flat)
    if total != np.inf:
        return coef * total
    if not np.isfinite(flat).all():
        return np.nan  # reported as bad input by Penalty.__call__
    scale = float(_pow2_scale(np.abs(flat).max()))
    return (coef * scale) * scale * _sum_sq(flat / scale)


_ONES: dict[np.dtype, np.ndarray] = {}
_FLOAT_MAX = {np.dtype(t): float(np.finfo(t).max) for t in (np.float32, np.float64)}


@functools.cache
def _blas_asum(dtype: np.dtype) -> Callable[[np.ndarray], Any] | None:
    """BLAS ``?asum`` (:math:`\\sum_i |x_i|` in one multi-threaded pass) from SciPy, if installed.

    NumPy exposes no ``asum``. SciPy is not a dependency of normreg: without it
    :func:`_sum_abs` falls back to a NumPy loop over blocks, about three times slower than
    ``asum`` on large arrays but equally accurate.
    """
    try:
        from scipy.linalg import blas
    except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
        return None
    return blas.sasum if dtype == np.float32 else blas.dasum


def _sum_abs(flat: np.ndarray) -> float:
    """:math:`\\sum_i |w_i|` as a Python float, in one pass over ``w`` and with no temporary array.

    ``np.abs(w).sum()`` writes a temporary as large as ``w`` and reads it back: two extra
    passes over memory, and NumPy's pairwise ``sum`` is slower than BLAS. Here each
    cache-sized block is summed by BLAS ``asum`` (from SciPy, when installed), or else made
    absolute in one small buffer and summed there by a dot product with ones. Either way
    the block sums are added in float64, which keeps float32 results accurate (one float32
    ``asum`` over 10^8 entries is off by about 2e-4).
    """
    asum = _blas_asum(flat.dtype)
    if asum is not None:
        return float(sum(float(asum(b)) for b in _blocks(flat)))
    ones = _ONES.get(flat.dtype)
    if ones is None:
        ones = _ONES[flat.dtype] = np.ones(_BLOCK, dtype=flat.dtype)
    buf = np.empty(min(flat.size, _BLOCK), dtype=flat.dtype)
    total = 0.0
    for b in _blocks(flat):
        out = buf[: b.size]
        np.abs(b, out=out)
        total += float(np.vdot(out, ones[: b.size]))
    return total


def _soft_threshold(v: np.ndarray, t: float) -> np.ndarray:
    """:math:`\\operatorname{sign}(v)\\max(|v| - t, 0)`, elementwise, in ``v``'s dtype.

    Written as :math:`v - \\operatorname{clip}(v, -t, t)`: entries with :math:`|v_i| \\le t`
    become an exact (positive) zero, the others move by exactly :math:`t`.
    """
    tt = v.dtype.type(t)
    out = np.clip(v, -tt, tt)
    # in place: `v - np.clip(...)` as one expression runs ~20x slower on large arrays here
    # (a second large temporary, freshly page-faulted), for the same result
    return np.subtract(v, out, out=out)


class _ConfigEquality:
    """``repr``, ``==`` and ``hash`` derived from ``get_config()``: two penalties are equal when
    they are of the same class with the same constructor arguments. Shared by the NumPy
    penalties and the Keras regularizers of :mod:`normreg.keras`."""

    _repr_prefix = ""

    def get_config(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self._repr_prefix}{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.get_config())))


class Penalty(_ConfigEquality):
    """Base class of the penalties: validation of ``w``, ``v`` and ``step``, and the common API.

    Subclasses implement ``_value(w)``, ``_grad(w)`` and ``_prox(v, t)`` on validated arrays.
    """

    lam: float

    # -- public API -------------------------------------------------------------------
    def __call__(self, w: Any) -> np.floating:
        """The penalty's value :math:`\\Omega(w)`, a NumPy scalar of ``w``'s dtype.

        ``w`` is read once: a NaN or Inf in ``w`` makes the value non-finite, so only then
        is ``w`` scanned, to tell bad input (``ValueError``) from a value that genuinely
        overflows (returned as ``inf``).
        """
        arr = self._check_w(w, "w", check_finite=False)
        value = self._value(arr)
        if not math.isfinite(value):
            raise_if_not_finite(arr, "w")
        elif abs(value) > _FLOAT_MAX[arr.dtype]:  # finite in float64, overflows the input's dtype
            value = math.inf
        return arr.dtype.type(value)

    def grad(self, w: Any) -> np.ndarray:
        """Gradient of the penalty at ``w`` (minimum-norm subgradient at kinks), same shape and dtype."""
        arr = self._check_w(w, "w")
        return self._grad(arr)

    def prox(self, v: Any, step: float) -> np.ndarray:
        """Proximal operator :math:`\\arg\\min_w \\Omega(w) + \\|w - v\\|_2^2 / (2\\,\\mathrm{step})`.

        ``step`` must be finite and ``>= 0``; ``step = 0`` gives ``v`` unchanged (a copy),
        the limit of the prox as the step goes to zero (the last step of a learning-rate
        schedule that decays to zero).
        """
        t = check_step(step)
        arr = self._check_w(v, "v")
        if t == 0.0:
            return arr.copy()
        return self._prox(arr, t)

    # -- helpers ----------------------------------------------------------------------
    def _tensor_hint(self) -> str:
        cls = type(self).__name__
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return (
            f"To penalize a Keras model's weights, use the Keras regularizer "
            f"normreg.keras.{cls}({args}) (kernel_regularizer=normreg.keras.{cls}(...)) instead "
            f"of normreg.{cls}, the NumPy penalty."
        )

    def _check_w(self, w: Any, name: str, check_finite: bool = True) -> np.ndarray:
        arr = as_float_array(w, name, check_finite=False, tensor_hint=self._tensor_hint)
        if check_finite:
            # one BLAS pass and no temporary: a NaN/Inf entry makes the sum of squares non-finite
            if not math.isfinite(_sum_sq(arr.reshape(-1))):
                raise_if_not_finite(arr, name)
        return arr

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, so that ``type(pen)(**pen.get_config())`` rebuilds ``pen``."""
        return {"lam": self.lam}

    # -- to be implemented -------------------------------------------------------------
    def _value(self, w: np.ndarray) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _grad(self, w: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _prox(self, v: np.ndarray, t: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


def _check_lam(lam: Any) -> float:
    return check_scalar(lam, "lam", low=0.0)


class L1(Penalty):
    r"""Lasso penalty :math:`\Omega(w) = \lambda \|w\|_1 = \lambda \sum_i |w_i|` (Tibshirani, 1996).

    * gradient: :math:`\lambda\,\operatorname{sign}(w)` (``0`` where :math:`w_i = 0`,
      the minimum-norm element of :math:`\lambda\,\partial|w_i| = [-\lambda, \lambda]`),
    * prox: soft-thresholding :math:`\operatorname{sign}(v)\max(|v| - t\lambda, 0)`, which
      sets small entries exactly to zero.

    ``L1(a)`` with the squared loss :math:`\frac{1}{2m}\|Xw - y\|^2` is scikit-learn's ``Lasso(alpha=a)``.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> pen = nr.L1(0.5)
    >>> float(pen(np.array([1.0, -2.0]))), pen.prox(np.array([1.0, -0.2]), step=1.0)
    (1.5, array([0.5, 0. ]))
    """

    def __init__(self, lam: float) -> None:
        self.lam = _check_lam(lam)

    def _value(self, w: np.ndarray) -> float:
        return self.lam * _sum_abs(w.reshape(-1))

    def _grad(self, w: np.ndarray) -> np.ndarray:
        g = np.sign(w)
        g *= w.dtype.type(self.lam)
        return g

    def _prox(self, v: np.ndarray, t: float) -> np.ndarray:
        return _soft_threshold(v, t * self.lam)


class L2(Penalty):
    r"""Ridge penalty :math:`\Omega(w) = \frac{\lambda}{2}\|w\|_2^2` (Hoerl & Kennard, 1970).

    * gradient: :math:`\lambda w` (hence "weight decay": a gradient step multiplies
      :math:`w` by :math:`1 - \eta\lambda`),
    * prox: :math:`v / (1 + t\lambda)`.

    The factor :math:`\frac12` makes the gradient :math:`\lambda w`. Keras's
    ``regularizers.L2(l2)`` is :math:`l_2\sum w^2`, i.e. ``L2(2 * l2)`` here.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> pen = nr.L2(0.5)
    >>> float(pen(np.array([3.0, 4.0]))), pen.grad(np.array([3.0, 4.0]))
    (6.25, array([1.5, 2. ]))
    """

    def __init__(self, lam: float) -> None:
        self.lam = _check_lam(lam)

    def _value(self, w: np.ndarray) -> float:
        return _scaled_sum_sq(w.reshape(-1), 0.5 * self.lam)

    def _grad(self, w: np.ndarray) -> np.ndarray:
        return w * w.dtype.type(self.lam)

    def _prox(self, v: np.ndarray, t: float) -> np.ndarray:
        return v / v.dtype.type(1.0 + t * self.lam)


class ElasticNet(Penalty):
    r"""Elastic-net penalty (Zou & Hastie, 2005):

    .. math::

        \Omega(w) = \lambda\Big(r\,\|w\|_1 + \frac{1 - r}{2}\|w\|_2^2\Big), \qquad r = \texttt{l1\_ratio} \in [0, 1].

    ``r = 1`` is :class:`L1`, ``r = 0`` is :class:`L2`. Prox:
    :math:`\operatorname{soft}(v, t\lambda r) / (1 + t\lambda(1 - r))`.
    ``ElasticNet(a, r)`` is scikit-learn's ``ElasticNet(alpha=a, l1_ratio=r)``.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> float(nr.ElasticNet(1.0, 0.5)(np.array([2.0])))   # 0.5*2 + 0.25*4
    2.0
    """

    def __init__(self, lam: float, l1_ratio: float = 0.5) -> None:
        self.lam = _check_lam(lam)
        self.l1_ratio = check_scalar(l1_ratio, "l1_ratio", low=0.0, high=1.0)

    def get_config(self) -> dict[str, Any]:
        return {"lam": self.lam, "l1_ratio": self.l1_ratio}

    def _value(self, w: np.ndarray) -> float:
        flat = w.reshape(-1)
        r = self.l1_ratio
        return self.lam * r * _sum_abs(flat) + _scaled_sum_sq(flat, 0.5 * (1.0 - r) * self.lam)

    def _grad(self, w: np.ndarray) -> np.ndarray:
        r = w.dtype.type(self.l1_ratio)
        return w.dtype.type(self.lam) * (r * np.sign(w) + (1 - r) * w)

    def _prox(self, v: np.ndarray, t: float) -> np.ndarray:
        r = self.l1_ratio
        out = _soft_threshold(v, t * self.lam * r)
        out /= v.dtype.type(1.0 + t * self.lam * (1.0 - r))
        return out


class GroupLasso(Penalty):
    r"""Group-lasso penalty (Yuan & Lin, 2006): :math:`\Omega(w) = \lambda \sum_g \sqrt{|g|}\,\|w_g\|_2`.

    ``groups`` says which coefficient of a 1-D ``w`` is in which group, in either of two
    spellings: a label vector with one label per coefficient, ``[0, 0, 0, 1, 1]``, or a
    sequence of disjoint index lists that together cover every entry exactly once,
    ``[[0, 1, 2], [3, 4]]`` (the same grouping; ``get_config`` stores index lists). The weight
    :math:`\sqrt{|g|}` keeps large groups from being penalized less per coefficient.

    * gradient: :math:`\lambda\sqrt{|g|}\, w_g/\|w_g\|_2` on a non-zero group, ``0`` on a zero group
      (the minimum-norm subgradient),
    * prox: block soft-thresholding :math:`v_g \max(0, 1 - t\lambda\sqrt{|g|}/\|v_g\|_2)`,
      which zeroes whole groups at once.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> pen = nr.GroupLasso(1.0, [[0, 1], [2]])
    >>> float(pen(np.array([3.0, 4.0, -1.0])))   # sqrt(2)*5 + 1
    8.071067811865476
    """

    def __init__(self, lam: float, groups: Sequence[Sequence[int]] | Sequence[Any] | np.ndarray) -> None:
        self.lam = _check_lam(lam)
        self.groups = _check_groups(groups)
        self.n_features = sum(len(g) for g in self.groups)
        order = np.concatenate([np.asarray(g, dtype=np.intp) for g in self.groups])
        sizes = np.array([len(g) for g in self.groups])
        self._order = order  # entries of w, group after group
        self._starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        self._sizes = sizes
        self._weights = np.sqrt(sizes.astype(np.float64))

    def get_config(self) -> dict[str, Any]:
        return {"lam": self.lam, "groups": [list(g) for g in self.groups]}

    def _check_w(self, w: Any, name: str, check_finite: bool = True) -> np.ndarray:
        arr = as_float_array(w, name, ndim=1, check_finite=check_finite, tensor_hint=self._tensor_hint)
        n = arr.shape[0]
        if n < self.n_features:
            raise ValueError(f"groups index {self.n_features - 1} is out of range for {name} of length {n}")
        if n > self.n_features:
            raise ValueError(f"groups must cover every coefficient of {name}; they cover {self.n_features} of {n}")
        return arr

    def _group_norms(self, w: np.ndarray) -> np.ndarray:
        """:math:`\\|w_g\\|_2` for every group, in float64, each group scaled by its own
        largest magnitude (a power of two) so that neither huge nor tiny groups are lost."""
        grouped = np.abs(w[self._order].astype(np.float64))
        scale = _pow2_scale(np.maximum.reduceat(grouped, self._starts))
        t = grouped / np.repeat(scale, self._sizes)
        return scale * np.sqrt(np.add.reduceat(t * t, self._starts))

    def _value(self, w: np.ndarray) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return self.lam * float(np.dot(self._weights, self._group_norms(w)))

    def _scale_groups(self, w: np.ndarray, factors: np.ndarray) -> np.ndarray:
        out = np.empty_like(w)
        out[self._order] = w[self._order] * np.repeat(factors, self._sizes).astype(w.dtype)
        return out

    def _grad(self, w: np.ndarray) -> np.ndarray:
        # the unit direction w_g / ||w_g|| first, then the constant: lam * sqrt|g| / ||w_g||
        # would overflow for a group of tiny weights (4 / 2.2e-308 is inf)
        norms = self._group_norms(w)
        safe = np.repeat(np.where(norms > 0, norms, 1.0), self._sizes)
        out = np.empty_like(w)
        out[self._order] = w[self._order] / safe * np.repeat(self.lam * self._weights, self._sizes)
        return out

    def _prox(self, v: np.ndarray, t: float) -> np.ndarray:
        norms = self._group_norms(v)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            factors = np.where(norms > 0, np.maximum(0.0, 1.0 - t * self.lam * self._weights / norms), 0.0)
        return self._scale_groups(v, factors)


def _check_groups(groups: Any) -> tuple[tuple[int, ...], ...]:
    """Validate ``groups`` (a label vector or disjoint index lists covering 0..n-1) as index
    tuples; see :func:`normreg._validation.as_groups`. Kept for :mod:`normreg.keras`."""
    return as_groups(groups, "groups")
