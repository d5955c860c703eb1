r"""Vector and matrix norms that neither overflow nor underflow (chapter 2).

The textbook formula :math:`\|x\|_p = (\sum_i |x_i|^p)^{1/p}` raises every entry to the
power :math:`p` before it takes the root. In float64, :math:`(10^{200})^2` overflows to
``inf`` and :math:`(10^{-200})^2` underflows to ``0``, although both norms are ordinary
numbers. :func:`normreg.norm` divides by the largest magnitude first,

.. math::

    \|x\|_p = s \Big(\sum_i (|x_i|/s)^p\Big)^{1/p}, \qquad s = \max_i |x_i|,

so every power lies in :math:`[0, 1]` and the only rounding left is the final product.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._validation import as_float_array

__all__ = ["norm"]

_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)


def _check_ord(ord: Any, matrix: bool) -> Any:
    if matrix:
        if isinstance(ord, str):
            if ord in ("fro", "nuc"):
                return ord
        elif isinstance(ord, numbers.Real) and not isinstance(ord, bool) and ord in _MATRIX_ORDS:
            return float(ord) if np.isinf(ord) else int(ord)
        raise ValueError(f"ord must be one of 'fro', 'nuc', 1, -1, 2, -2, inf, -inf for a matrix norm; got {ord!r}")
    if isinstance(ord, numbers.Real) and not isinstance(ord, bool) and not np.isnan(ord):
        if ord >= 0 or ord == -np.inf:
            return float(ord)
    raise ValueError(f"ord must be a real p > 0, 0, inf or -inf for a vector norm; got {ord!r}")


def _vector_norm(a: np.ndarray, p: float, axis: tuple[int, ...] | None) -> np.ndarray:
    """``a`` holds |x| and is finite; the result keeps the reduced axes (keepdims)."""
    if p == np.inf:
        return a.max(axis=axis, keepdims=True)
    if p == -np.inf:
        return a.min(axis=axis, keepdims=True)
    if p == 0:
        return np.count_nonzero(a, axis=axis, keepdims=True).astype(a.dtype)
    if p == 1:
        return a.sum(axis=axis, keepdims=True)
    scale = _pow2_scale(a.max(axis=axis, keepdims=True))
    t = a / scale
    s = np.sum(t * t, axis=axis, keepdims=True) if p == 2 else np.sum(t**p, axis=axis, keepdims=True)
    root = np.sqrt(s) if p == 2 else s ** (1.0 / p)
    return (root * scale).astype(a.dtype, copy=False)


def _pow2_scale(m: np.ndarray) -> np.ndarray:
    """The power of two nearest above ``m`` (1 where ``m == 0``): dividing by it is exact."""
    _, e = np.frexp(m)
    return np.ldexp(np.ones_like(m), e)


def norm(x: Any, ord: Any = None, axis: int | tuple[int, int] | None = None, keepdims: bool = False) -> Any:
    r"""Vector or matrix norm, like :func:`numpy.linalg.norm` but safe from overflow and underflow.

    Vector norms (``x`` 1-D, or ``axis`` an integer; ``ord=None`` means 2):

    * ``ord = p > 0``: :math:`\|x\|_p = (\sum_i |x_i|^p)^{1/p}` (a true norm only for :math:`p \ge 1`;
      for :math:`0 < p < 1` it is a quasi-norm: the triangle inequality fails),
    * ``ord = inf``: :math:`\max_i |x_i|`; ``ord = -inf``: :math:`\min_i |x_i|`,
    * ``ord = 0``: the number of non-zero entries, the "L0 norm" (not a norm: it is not homogeneous).

    Matrix norms (``x`` 2-D with ``ord`` given, or ``axis`` a pair of axes):

    * ``'fro'``: :math:`\sqrt{\sum_{ij} x_{ij}^2}`; ``'nuc'``: :math:`\sum_k \sigma_k` (sum of singular values),
    * ``2`` / ``-2``: largest / smallest singular value; ``1`` / ``-1``: max / min column sum of
      :math:`|x_{ij}|`; ``inf`` / ``-inf``: max / min row sum.

    With ``ord=None`` and ``axis=None`` the array is flattened and its 2-norm returned, whatever its
    number of dimensions (NumPy's rule).

    Parameters
    ----------
    x : array_like
        Finite real input. Integer and boolean input is converted to float64; float32 stays float32.
    ord : {None, float, 'fro', 'nuc'}
        Order of the norm (see above).
    axis : None, int or pair of ints
        Axis of vector norms, or the two axes of matrix norms.
    keepdims : bool
        Keep the reduced axes with size one.

    Returns
    -------
    numpy scalar or ndarray of the input's floating dtype.

    Raises
    ------
    ValueError
        ``x`` empty or not finite, ``ord`` not valid for the kind of norm, ``axis`` out of range.
    TypeError
        ``x`` complex or not numeric.

    Examples
    --------
    >>> import numpy as np, normreg as nr
    >>> print(f"{nr.norm(np.array([3e200, 4e200])):.6g}")    # numpy.linalg.norm gives inf
    5e+200
    >>> print(f"{nr.norm(np.array([3e-200, 4e-200])):.6g}")  # numpy.linalg.norm gives 0.0
    5e-200
    """
    arr = as_float_array(x, "x", check_finite=False, allow_int=True)
    nd = arr.ndim

    if axis is None:
        if ord is None:
            axes: tuple[int, ...] = tuple(range(nd))
            matrix = False
        elif nd == 1:
            axes, matrix = (0,), False
        elif nd == 2:
            axes, matrix = (0, 1), True
        else:
            raise ValueError(f"axis must be given when ord is set and x has {nd} dimensions (x.shape={arr.shape})")
    else:
        if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis_t: tuple[Any, ...] = (axis,)
        elif isinstance(axis, tuple) and len(axis) in (1, 2):
            axis_t = axis
        else:
            raise ValueError(f"axis must be None, an int or a pair of ints; got {axis!r}")
        axes = tuple(_normalize_axis(a, nd) for a in axis_t)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis must name two different axes; got {axis!r}")
        matrix = len(axes) == 2

    ord_ = _check_ord(2 if ord is None else ord, matrix)
    if matrix and ord is None:
        ord_ = "fro"

    a = np.abs(arr)
    big = a.max(axis=axes, keepdims=True)
    if not np.isfinite(big).all():
        raise ValueError("x must not contain NaN or Inf")

    if not matrix:
        out = _vector_norm(a, ord_, axes)
    elif ord_ == "fro":
        out = _vector_norm(a, 2.0, axes)
    else:
        scale = _pow2_scale(big)
        scaled = np.linalg.norm(arr / scale, ord=ord_, axis=axes, keepdims=True)
        out = (scaled * scale).astype(arr.dtype, copy=False)

    if not keepdims:
        out = np.squeeze(out, axis=axes)
        if out.ndim == 0:
            return out[()]
    return out


def _normalize_axis(a: Any, nd: int) -> int:
    if not isinstance(a, numbers.Integral) or isinstance(a, bool):
        raise ValueError(f"axis must be None, an int or a pair of ints; got {a!r}")
    a = int(a)
    if not -nd <= a < nd:
        raise ValueError(f"axis {a} is out of bounds for x with {nd} dimensions")
    return a % nd
