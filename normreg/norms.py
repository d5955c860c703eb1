r"""Vector and matrix norms that neither overflow nor underflow (chapter 2).

The textbook formula :math:`\|x\|_p = (\sum_i |x_i|^p)^{1/p}` raises every entry to the
power :math:`p` before it takes the root. In float64, :math:`(10^{200})^2` overflows to
``inf`` and :math:`(10^{-200})^2` underflows to ``0``, although both norms are ordinary
numbers; in float32 the same happens already at :math:`10^{20}` and :math:`10^{-23}`, and
the *sum* of squares can overflow even where every square is finite (float32
``[1.5e19, 1.5e19]``: each square is 2.25e38, below the largest float32 3.4e38, their sum
is not). :func:`normreg.norm` therefore scales first. For :math:`p = 2` (and the
Frobenius norm) it divides by a power of two :math:`s`, the largest one not above the
largest magnitude,

.. math::

    \|x\|_2 = s \Big(\sum_i (|x_i|/s)^2\Big)^{1/2}, \qquad
    s = 2^{\lfloor \log_2 \max_i |x_i| \rfloor} \le \max_i |x_i| < 2s,

so every :math:`t_i = |x_i|/s` lies in :math:`[0, 2)`, the largest in :math:`[1, 2)`, and the
sum in :math:`[1, 4n)`: nothing that matters can overflow or underflow. Dividing and
multiplying by a power of two only changes exponents, so they are exact, with two
exceptions that do not matter: an entry below :math:`2^{-1022} s` (float64) gives a
subnormal or zero :math:`t_i`, whose square is below the rounding level of the sum
anyway, and the final product rounds where the norm itself is subnormal (it is ``inf``
only where the norm exceeds the largest float). What still rounds is what any formula
must round: each square :math:`t_i t_i`, the :math:`n - 1` additions of the sum and the
square root, a relative error of at most about :math:`(n/2 + 1)\,u` in the worst case, with :math:`u` the
unit roundoff (:math:`2^{-53}` in float64, :math:`2^{-24}` in float32); NumPy's pairwise
summation makes it :math:`O(\log n)\,u` in practice.

For other :math:`p` the scale is the maximum itself, :math:`s = \max_i |x_i|`: then every
:math:`t_i \le 1` and the largest is exactly 1, so :math:`t_i^p` cannot overflow for any
:math:`p > 0` and the sum lies in :math:`[1, n]` (with :math:`s` a power of two,
:math:`t^p` with :math:`t` near 2 overflows once :math:`p > 1023`, :math:`p > 127` in
float32). Each division now rounds, but an error :math:`\delta` in :math:`t_i` becomes
:math:`p\delta` in :math:`t_i^p` and :math:`\delta` again after the :math:`p`-th root.
Small :math:`p < 1` needs two more steps. A :math:`t_i` below the smallest normal float
has lost digits to underflow (or is 0), yet :math:`t_i^p` need not be negligible
(:math:`t = 10^{-600}`, :math:`p = 0.01`: :math:`t^p = 10^{-6}`); such terms are computed
from the exponents, :math:`2^{p \log_2 t_i}` with :math:`\log_2 t_i` split into its exact
integer part and a fraction. And :math:`(\sum_i t_i^p)^{1/p}` can overflow where
:math:`s` times it does not (three entries :math:`10^{-200}`, :math:`p = 10^{-3}`:
:math:`3^{1000} \cdot 10^{-200} \approx 1.3\times10^{277}`); then the product is formed
as :math:`2^{\log_2(\sum_i t_i^p)/p}` times :math:`s`, adding exponents exactly. For
:math:`p < 1` the rounding error of the sum is amplified by :math:`1/p` in the root
(that is the conditioning of the formula, not of the scaling): expect a relative error
of at most about :math:`(n + 6)(1 + 1/p)` units of roundoff, as the tests assert.

The 1- and :math:`\infty`-norms (and the matrix norms built from row and column sums) need no
scaling: a sum of non-negative terms overflows only when the total does.

This is a two-pass method (the maximum, then the scaled sum). Blue's algorithm (Blue,
1978) gets the same safety in one pass and without divisions: it keeps three
accumulators of squares, of small entries scaled up, of large entries scaled down by
fixed constants, and of medium entries as they are, and combines them at the end (the
reference BLAS ``nrm2`` uses it since LAPACK 3.10, after Anderson's "Algorithm 978: Safe
scaling in the Level 1 BLAS", 2017). The older
reference ``nrm2`` (Hammarling, 1982) divides by the running maximum in one pass instead.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._validation import as_float_array

__all__ = ["norm"]

_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)


def _real_or_none(ord: Any) -> float | None:
    """``ord`` as a float if it is a real number (int, float, Fraction, NumPy) a float can hold."""
    if isinstance(ord, numbers.Real) and not isinstance(ord, bool):
        try:
            return float(ord)
        except OverflowError:  # an int beyond the largest float
            return None
    return None


def _check_ord(ord: Any, matrix: bool) -> Any:
    real = _real_or_none(ord)
    if matrix:
        if isinstance(ord, str):
            if ord in ("fro", "nuc"):
                return ord
        elif real is not None and real in _MATRIX_ORDS:
            return real if np.isinf(real) else int(real)
        raise ValueError(f"ord must be one of 'fro', 'nuc', 1, -1, 2, -2, inf, -inf for a matrix norm; got {ord!r}")
    if real is not None and (real >= 0 or real == -np.inf):  # NaN fails both
        return real
    raise ValueError(
        f"ord must be a real p > 0 (within the float range), 0, inf or -inf for a vector norm; got {ord!r}"
    )


def _vector_norm(a: np.ndarray, p: float, axis: tuple[int, ...] | None) -> np.ndarray:
    """``a`` holds |x| and is finite; the result keeps the reduced axes (keepdims)."""
    if p == np.inf:
        return a.max(axis=axis, keepdims=True)
    if p == -np.inf:
        return a.min(axis=axis, keepdims=True)
    if p == 0:
        return np.count_nonzero(a, axis=axis, keepdims=True).astype(a.dtype)
    with np.errstate(over="ignore", under="ignore"):
        if p == 1:
            # partial sums of non-negative terms never exceed the total: no scaling needed,
            # and inf only when the true sum is not representable
            return a.sum(axis=axis, keepdims=True)
        big = a.max(axis=axis, keepdims=True)
        if p == 2:
            # s a power of two with s <= max|x| < 2s: dividing by it is exact, every t lies
            # in [0, 2) and the largest in [1, 2), so t*t neither overflows nor underflows
            # where it matters, and the sum lies in [1, 4n)
            scale = _pow2_scale(big)
            t = a / scale
            root = np.sqrt(np.sum(t * t, axis=axis, keepdims=True))
        else:
            scale = np.where(big > 0, big, 1).astype(a.dtype, copy=False)
            return _general_p(a, scale, p, axis)
        return (root * scale).astype(a.dtype, copy=False)


def _general_p(a: np.ndarray, s: np.ndarray, p: float, axis: Any) -> np.ndarray:
    """:math:`s (\\sum_i (a_i/s)^p)^{1/p}` with ``s`` the maximum (kept dims), any p > 0.

    With t = a/s <= 1 and the largest t exactly 1, t**p cannot overflow (s a power of
    two, t near 2, would overflow once p > 1023). Two things remain for small p:
    a t below the smallest normal float has lost digits to underflow, or become 0,
    although t**p is not negligible when p is small (t = 1e-320, p = 0.01: 6e-4), so
    those terms are taken from the exponents, 2**(p log2 t); and the root
    sum**(1/p) can overflow (3**1000) where s times it does not (s = 1e-200): then
    the product is formed as 2**(log2(sum)/p) times s, exponents added exactly.
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        t = a / s
        terms = t**p
        lost = (t < np.finfo(a.dtype).tiny) & (a > 0)
        if lost.any():
            ma, ea = np.frexp(a.astype(np.float64))  # exact: a = ma 2**ea
            ms, es = np.frexp(s.astype(np.float64))
            log2_t = (ea - es) + (np.log2(ma) - np.log2(ms))
            terms = np.where(lost, np.exp2(p * log2_t), terms).astype(a.dtype)
        total = np.sum(terms, axis=axis, keepdims=True)  # in [1, n] (0 if s was 0)
        root = total ** (1.0 / p)
        out = root * s
        if np.isfinite(root).all():
            return out.astype(a.dtype, copy=False)
        # root overflowed (p < 1): s * total**(1/p) = ms 2**r 2**(K + es), with
        # K + r = log2(total)/p, K an integer (capped: beyond 4000 the result is inf)
        ms, es = np.frexp(s.astype(np.float64))
        fine = np.isfinite(root)  # those slices (total 0 among them) keep out
        log_total = np.log2(np.where(fine, 2.0, total.astype(np.float64)))
        big_l = np.minimum(log_total / p, 4000.0)
        k = np.floor(big_l)
        mant = np.exp2(big_l - k) * ms
        far = np.ldexp(mant, (k + es).astype(np.int64).clip(-5000, 5000).astype(np.int32))
        return np.where(fine, out, far).astype(a.dtype)


def _pow2_scale(m: np.ndarray) -> np.ndarray:
    """The largest power of two ``<= m`` (1 where ``m == 0``), in ``m``'s dtype.

    Dividing by it is exact (it only changes the exponent) and maps ``m`` into
    :math:`[1, 2)`; it is never larger than ``m``, so it is finite for every finite ``m``
    up to ``finfo.max`` (the power of two *above* ``finfo.max`` is not a float).
    """
    frac, e = np.frexp(m)  # m = frac * 2**e with frac in [0.5, 1), exactly, subnormals too
    return np.where(m > 0, np.ldexp(np.ones_like(m), e - 1), np.ones_like(m))


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
        ``x`` complex or not numeric, ``keepdims`` not a boolean.

    Notes
    -----
    The result is within a few rounding units of the true norm for every finite input,
    subnormals to ``finfo.max``, in float32 and float64 (about :math:`n + 6` units for
    :math:`p \ge 1`, :math:`(n + 6)(1 + 1/p)` for :math:`p < 1`), and ``inf`` only where the true
    norm is larger than the largest float of the dtype (see the module docstring for how).
    The singular-value norms (``2``, ``-2``, ``'nuc'``) are as accurate as the SVD of the
    matrix scaled by a power of two: relative accuracy for ``2`` and ``'nuc'``, but for
    ``-2`` (the smallest singular value) only an absolute error of a few
    :math:`\varepsilon\,\sigma_1`, as with :func:`numpy.linalg.norm`.

    Examples
    --------
    >>> import numpy as np, normreg as nr
    >>> print(f"{nr.norm(np.array([3e200, 4e200])):.6g}")    # numpy.linalg.norm gives inf
    5e+200
    >>> print(f"{nr.norm(np.array([3e-200, 4e-200])):.6g}")  # numpy.linalg.norm gives 0.0
    5e-200
    >>> float(nr.norm([3.0, 4.0], 2000))    # p -> inf: the norm tends to max |x_i|
    4.0
    """
    arr = as_float_array(x, "x", check_finite=False, allow_int=True)
    nd = arr.ndim
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"keepdims must be True or False; got {keepdims!r}")

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
    elif ord_ in (1, -1, np.inf, -np.inf):
        # column (ord 1) or row (ord inf) sums of |x|: sums of non-negative terms overflow
        # only when the true sum does, and unscaled they keep subnormal entries exactly
        with np.errstate(over="ignore"):
            sums = a.sum(axis=axes[0] if abs(ord_) == 1 else axes[1], keepdims=True)
        reduce = np.max if ord_ > 0 else np.min
        out = reduce(sums, axis=axes[1] if abs(ord_) == 1 else axes[0], keepdims=True)
    else:
        # singular values: of x / s with s a power of two (exact), then scaled back
        scale = _pow2_scale(big)
        scaled = np.linalg.norm(arr / scale, ord=ord_, axis=axes, keepdims=True)
        with np.errstate(over="ignore", under="ignore"):
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
