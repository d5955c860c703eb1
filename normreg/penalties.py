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
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._validation import as_float_array, as_groups, check_scalar, check_step, raise_if_not_finite
from .norms import _pow2_scale

__all__ = ["Penalty", "L1", "L2", "ElasticNet", "GroupLasso", "SparseGroupLasso"]

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


_ONES: dict[np.dtype, np.ndarray] = {}


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


# -- exact scaling over the whole floating-point range ------------------------------------
# A scalar factor c (a lam, a step times a lam, 1 / (1 + step * lam)) is carried as a pair
# (m, e) with c = m * 2**e and m in [0.5, 1) (or m == 0), so that products of factors never
# overflow or underflow on the way, whatever their magnitudes. Applied to an array, the
# factor is rounded once to the array's dtype when it is a normal number of that dtype
# (the fast path: one multiplication); otherwise (lam = 1e-50 on float32 weights, step *
# lam above 2**1024) the array is split exactly by np.frexp and put back together by
# np.ldexp, which rounds once, to inf only where the true product is not representable.

_FINFO = {np.dtype(t): np.finfo(t) for t in (np.float32, np.float64)}
_FLOAT_MAX = {dt: float(fi.max) for dt, fi in _FINFO.items()}
_FLOAT_TINY = {dt: float(fi.tiny) for dt, fi in _FINFO.items()}  # smallest normal number

Pair = tuple[float, int]


def _pair(*factors: float) -> Pair:
    """The product of non-negative finite floats as ``(m, e)``, ``m`` in [0.5, 1) or 0."""
    m, e = 1.0, 0
    for x in factors:
        mx, ex = math.frexp(x)
        m, em = math.frexp(m * mx)
        e += ex + em
    return (0.0, 0) if m == 0.0 else (m, e)


def _pair_float(p: Pair) -> float:
    """``m * 2**e`` as a Python float, rounded once; ``inf`` past the largest float64."""
    m, e = p
    if m == 0.0 or e < -1100:
        return 0.0 * m
    if e > 1024:
        return math.inf
    try:
        return math.ldexp(m, e)
    except OverflowError:
        return math.inf


def _one_plus(p: Pair) -> Pair:
    """``1 + m * 2**e`` (where the 1 is below the rounding of the sum, the sum is the pair)."""
    if p[1] > 60:
        return p
    return _pair(1.0 + _pair_float(p))


def _reciprocal(p: Pair) -> Pair:
    m, e = p
    mr, er = math.frexp(1.0 / m)
    return mr, er - e


def _to_dtype(x: float, dtype: np.dtype) -> np.floating:
    """``x`` rounded to ``dtype``, ``inf`` above its largest float (no overflow warning)."""
    return dtype.type(x) if x <= _FLOAT_MAX[dtype] else dtype.type(math.inf)


def _is_normal(c: float, dtype: np.dtype) -> bool:
    """Whether the float ``c`` (computed from a pair, so 0 only if the pair is exactly 0:
    see :func:`_times`) is 0 or a normal number of ``dtype``."""
    return c == 0.0 or _FLOAT_TINY[dtype] <= c <= _FLOAT_MAX[dtype]


def _scale_exact(w: np.ndarray, p: Pair) -> np.ndarray:
    """``w * m * 2**e`` in ``w``'s dtype, correct to an ulp anywhere in the range (slow path)."""
    wm, we = np.frexp(w.astype(np.float64, copy=False))  # exact: wm in [0.5, 1), we an int
    exps = np.clip(we.astype(np.int64) + p[1], -2500, 2500).astype(np.int32)
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(wm * p[0], exps).astype(w.dtype, copy=False)


def _finite_or_raise(b: np.ndarray, name: str) -> None:
    """A NaN or Inf in ``b`` makes its sum of squares non-finite (one pass, in cache)."""
    if not math.isfinite(float(np.vdot(b, b))):
        raise_if_not_finite(b, name)


def _scaled_sum_sq(flat: np.ndarray, *factors: float) -> float:
    r"""The product of ``factors`` and :math:`\sum_i w_i^2`, right to a few ulps over the whole range.

    The factors (``0.5``, ``lam``, ``1 - r``) are multiplied as exponent pairs, so that
    their product cannot underflow before it meets the sum (``0.5 * 5e-324`` is 0). The
    plain blocked sum of squares is used when it is finite and large enough that no
    square which matters has lost digits to underflow; otherwise (squares above the
    largest float, or down among the subnormals) the sum is recomputed as
    :math:`s^2 \sum_i (w_i/s)^2` with :math:`s` a power of two near :math:`\max|w_i|`,
    so the value is ``inf`` only if it itself overflows. Returns NaN for non-finite ``w``
    (reported by ``Penalty.__call__``).
    """
    total = _sum_sq(flat)
    fi = _FINFO[flat.dtype]
    if math.isfinite(total) and total >= flat.size * float(fi.smallest_subnormal) / float(fi.eps):
        return _pair_float(_pair(*factors, total))
    if not np.isfinite(flat).all():
        return math.nan
    if 0.0 in factors:
        return 0.0
    big = float(np.abs(flat).max())
    if big == 0.0:
        return 0.0
    scale = float(_pow2_scale(np.float64(big)))
    t = flat.astype(np.float64) / scale
    k = math.frexp(scale)[1] - 1
    m, e = _pair(*factors, float(np.dot(t, t)))
    return _pair_float((m, e + 2 * k))


def _scaled_sum_abs(flat: np.ndarray, *factors: float) -> float:
    r"""The product of ``factors`` and :math:`\sum_i |w_i|`, ``inf`` only if that value itself
    overflows.

    The blocked BLAS sum is exact enough everywhere (sums of non-negative numbers do not
    lose subnormals); only when it overflows (float32 blocks of entries near 3e38, or a
    float64 sum past 1.8e308) is it recomputed scaled by a power of two.
    """
    total = _sum_abs(flat)
    if math.isfinite(total):
        return _pair_float(_pair(*factors, total))
    if not np.isfinite(flat).all():
        return math.nan
    if 0.0 in factors:
        return 0.0
    a = np.abs(flat.astype(np.float64))
    scale = float(_pow2_scale(a.max()))
    m, e = _pair(*factors, float(np.sum(a / scale)))
    return _pair_float((m, e + math.frexp(scale)[1] - 1))


# -- blocked elementwise kernels ---------------------------------------------------------
# grad and prox read w once and write an array of its size. Done as several NumPy calls
# over the whole array, each call is a pass over memory (np.sign(w) * lam: two passes and
# a temporary); done block by block, the block stays in the core's cache between the calls
# and memory sees one read of w and one write of the result, like w * c, the floor. The
# finiteness check rides along: the sum of squares of each block, while it is in cache.

#: Bytes per block of the elementwise kernels: input, output and one scratch block
#: together fit a 1 MiB L2 cache.
_KERNEL_BYTES = 1 << 18
_scratch = threading.local()


def _scratch_block(dtype: np.dtype, n: int) -> np.ndarray:
    """A per-thread buffer of ``n`` entries (dtype.char, not dtype.name: the name is built in
    Python, 7 us a call here)."""
    buffers = _scratch.__dict__
    buf = buffers.get(dtype.char)
    if buf is None or buf.size < n:
        buf = buffers[dtype.char] = np.empty(max(n, _KERNEL_BYTES // dtype.itemsize), dtype=dtype)
    return buf[:n]


def _check_out(out: Any, like: np.ndarray) -> np.ndarray:
    if out is None:
        return np.empty(like.shape, dtype=like.dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a NumPy array; got {type(out).__name__}")
    if out.shape != like.shape or out.dtype != like.dtype:
        raise ValueError(
            f"out must have the shape and dtype of the input, {like.shape} {like.dtype}; "
            f"got {out.shape} {out.dtype}"
        )
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be a writeable C-contiguous array")
    if out is not like and np.shares_memory(out, like):
        raise ValueError("out must be the input itself or not overlap it")
    return out


def _map_blocks(
    w: np.ndarray, out: np.ndarray, name: str, kernel: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
) -> np.ndarray:
    """``kernel(block_of_w, block_of_out, scratch)`` over cache-sized blocks; ``w`` is
    checked for NaN/Inf block by block (``ValueError`` naming ``name``; the blocks before
    the bad one are then already written). ``out`` may be ``w`` itself (in place)."""
    src = w.reshape(-1)
    dst = out.reshape(-1)
    n = src.size
    step = _KERNEL_BYTES // w.dtype.itemsize
    scratch = _scratch_block(w.dtype, min(n, step))
    vdot, isfinite = np.vdot, math.isfinite
    with np.errstate(over="ignore"):  # an overflow to inf is the right answer there
        for start in range(0, n, step):
            b = src[start : start + step]
            # a NaN or Inf in b makes its sum of squares non-finite (b is in cache now)
            if not isfinite(vdot(b, b)):
                raise_if_not_finite(b, name)
            kernel(b, dst[start : start + step], scratch if b.size == step else scratch[: b.size])
    return out


#: The ``clip`` ufunc itself: ``np.clip`` wraps it in Python argument handling that costs a
#: few microseconds per call, a quarter of the time of clipping one 256 KiB block.
_clip = getattr(getattr(getattr(np, "_core", None), "umath", None), "clip", None) or np.clip

#: Powers of two whose product maps every non-zero float (subnormals included) past any
#: bound up to _SATURATE_MAX, and 0 to 0: clip(w * H1 * H2, -a, a) is a * sign(w) in three
#: fast ufuncs (np.sign has no SIMD loop: it alone costs four multiplications).
_SATURATE = {np.dtype(np.float32): (np.float32(2.0**127), np.float32(2.0**127)),
             np.dtype(np.float64): (2.0**1023, 2.0**1023)}
_SATURATE_MAX = {np.dtype(np.float32): 2.0**100, np.dtype(np.float64): 2.0**900}


def _soft_threshold(v: np.ndarray, t: float) -> np.ndarray:
    """:math:`\\operatorname{sign}(v)\\max(|v| - t, 0)`, elementwise, in ``v``'s dtype.

    Written as :math:`v - \\operatorname{clip}(v, -t, t)`: entries with :math:`|v_i| \\le t`
    become an exact (positive) zero, the others move by :math:`t` (rounded to ``v``'s
    dtype; a ``t`` above its largest float is ``inf`` and zeroes everything).
    """
    with np.errstate(over="ignore"):
        tt = v.dtype.type(t)
    out = np.clip(v, -tt, tt)
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

    Subclasses implement ``_value(w)``, ``_grad(w, out)`` and ``_prox(v, t, out)`` on
    validated arrays; ``_grad`` and ``_prox`` also check their input for NaN/Inf (in the
    same pass as the computation) and write into ``out``.
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

    def grad(self, w: Any, *, out: np.ndarray | None = None) -> np.ndarray:
        """Gradient of the penalty at ``w`` (minimum-norm subgradient at kinks), same shape and dtype.

        ``out``: an array of ``w``'s shape and dtype (C-contiguous) to write the result
        into and return, instead of a new one; it may be ``w`` itself. In a training loop
        this saves allocating (and page-faulting) a fresh array every step.
        """
        arr = self._check_w(w, "w", check_finite=False)
        return self._grad(arr, _check_out(out, arr))

    def prox(self, v: Any, step: float, *, out: np.ndarray | None = None) -> np.ndarray:
        """Proximal operator :math:`\\arg\\min_w \\Omega(w) + \\|w - v\\|_2^2 / (2\\,\\mathrm{step})`.

        ``step`` must be finite and ``>= 0``; ``step = 0`` gives ``v`` unchanged (a copy),
        the limit of the prox as the step goes to zero (the last step of a learning-rate
        schedule that decays to zero). ``out``: as in :meth:`grad`; ``out=v`` updates
        ``v`` in place (``w = pen.prox(w, lr, out=w)``).
        """
        t = check_step(step)
        arr = self._check_w(v, "v", check_finite=False)
        dst = _check_out(out, arr)
        if t == 0.0:
            _map_blocks(arr, dst, "v", _copy_kernel)
            return dst
        return self._prox(arr, t, dst)

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
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
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

    def _grad(self, w: np.ndarray, out: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _prox(self, v: np.ndarray, t: float, out: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


def _copy_kernel(b: np.ndarray, o: np.ndarray, tmp: np.ndarray) -> None:
    if o is not b:
        np.copyto(o, b)


def _sign_times(w: np.ndarray, a: float, out: np.ndarray, name: str) -> np.ndarray:
    """``a * sign(w)`` (0 where ``w == 0``) into ``out``, ``a`` rounded once to the dtype."""
    ad = _to_dtype(a, w.dtype)
    if not ad <= _SATURATE_MAX[w.dtype]:  # a huge (or inf in the dtype): the plain way
        _map_blocks(w, out, name, lambda b, o, tmp: np.sign(b, out=o))
        with np.errstate(invalid="ignore", over="ignore"):
            np.multiply(out, ad, out=out, where=out != 0)
        return out
    h1, h2 = _SATURATE[w.dtype]

    def kernel(b: np.ndarray, o: np.ndarray, tmp: np.ndarray) -> None:
        # |w| * 2^254 (float32) is >= 2^105 >= a for every non-zero w, and 0 stays 0
        np.multiply(b, h1, out=o)
        np.multiply(o, h2, out=o)
        _clip(o, -ad, ad, out=o)

    return _map_blocks(w, out, name, kernel)


def _times(w: np.ndarray, p: Pair, out: np.ndarray, name: str) -> np.ndarray:
    """``w * c`` into ``out`` for the factor ``c = m * 2**e``, over the whole range."""
    c = _pair_float(p)
    if (c != 0.0 or p[0] == 0.0) and _is_normal(c, w.dtype):
        cd = w.dtype.type(c)
        return _map_blocks(w, out, name, lambda b, o, tmp: np.multiply(b, cd, out=o))
    _map_blocks(w, out, name, _copy_kernel)
    out[...] = _scale_exact(out, p)
    return out


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
        return _scaled_sum_abs(w.reshape(-1), self.lam)

    def _grad(self, w: np.ndarray, out: np.ndarray) -> np.ndarray:
        return _sign_times(w, self.lam, out, "w")

    def _prox(self, v: np.ndarray, t: float, out: np.ndarray) -> np.ndarray:
        tau = _to_dtype(_pair_float(_pair(t, self.lam)), v.dtype)

        def kernel(b: np.ndarray, o: np.ndarray, tmp: np.ndarray) -> None:
            _clip(b, -tau, tau, out=tmp)
            np.subtract(b, tmp, out=o)

        return _map_blocks(v, out, "v", kernel)


class L2(Penalty):
    r"""Ridge penalty :math:`\Omega(w) = \frac{\lambda}{2}\|w\|_2^2` (Hoerl & Kennard, 1970).

    * gradient: :math:`\lambda w` (hence "weight decay": a gradient step multiplies
      :math:`w` by :math:`1 - \eta\lambda`),
    * prox: :math:`v / (1 + t\lambda)`.

    The factor :math:`\frac12` makes the gradient :math:`\lambda w`. Keras's
    ``regularizers.L2(l2)`` is :math:`l_2\sum w^2`, i.e. ``L2(2 * l2)`` here. The value
    is ``inf`` only where it exceeds the largest float of ``w``'s dtype (``L2(1.0)`` at
    ``[1e308]``); where only the intermediate :math:`\sum w_i^2` would overflow or
    underflow, the result is still right.

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
        return _scaled_sum_sq(w.reshape(-1), 0.5, self.lam)

    def _grad(self, w: np.ndarray, out: np.ndarray) -> np.ndarray:
        return _times(w, _pair(self.lam), out, "w")

    def _prox(self, v: np.ndarray, t: float, out: np.ndarray) -> np.ndarray:
        return _times(v, _reciprocal(_one_plus(_pair(t, self.lam))), out, "v")


class ElasticNet(Penalty):
    r"""Elastic-net penalty (Zou & Hastie, 2005):

    .. math::

        \Omega(w) = \lambda\Big(r\,\|w\|_1 + \frac{1 - r}{2}\|w\|_2^2\Big), \qquad r = \texttt{l1\_ratio} \in [0, 1].

    ``r = 1`` is :class:`L1`, ``r = 0`` is :class:`L2`. Gradient
    :math:`\lambda r\,\operatorname{sign}(w) + \lambda(1 - r)\,w`; prox
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
        return _scaled_sum_abs(flat, self.lam, r) + _scaled_sum_sq(flat, 0.5, 1.0 - r, self.lam)

    def _grad(self, w: np.ndarray, out: np.ndarray) -> np.ndarray:
        r = self.l1_ratio
        a = _pair_float(_pair(self.lam, r))
        smooth = _pair(self.lam, 1.0 - r)
        c = _pair_float(smooth)
        ad = _to_dtype(a, w.dtype)
        if not ((c != 0.0 or smooth[0] == 0.0) and _is_normal(c, w.dtype) and ad <= _SATURATE_MAX[w.dtype]):
            part = _times(w, smooth, np.empty_like(w), "w")
            _sign_times(w, a, out, "w")
            with np.errstate(over="ignore"):
                out += part
            return out
        cd = w.dtype.type(c)
        h1, h2 = _SATURATE[w.dtype]

        def kernel(b: np.ndarray, o: np.ndarray, tmp: np.ndarray) -> None:
            np.multiply(b, cd, out=tmp)  # lam (1 - r) w, before o (possibly b itself) is written
            np.multiply(b, h1, out=o)  # then lam r sign(w), as in _sign_times
            np.multiply(o, h2, out=o)
            _clip(o, -ad, ad, out=o)
            np.add(o, tmp, out=o)

        return _map_blocks(w, out, "w", kernel)

    def _prox(self, v: np.ndarray, t: float, out: np.ndarray) -> np.ndarray:
        r = self.l1_ratio
        tau = _to_dtype(_pair_float(_pair(t, self.lam, r)), v.dtype)
        shrink = _reciprocal(_one_plus(_pair(t, self.lam, 1.0 - r)))
        c = _pair_float(shrink)
        if not ((c != 0.0 or shrink[0] == 0.0) and _is_normal(c, v.dtype)):
            _map_blocks(v, out, "v", lambda b, o, tmp: np.subtract(b, _clip(b, -tau, tau, out=tmp), out=o))
            out[...] = _scale_exact(out, shrink)
            return out
        cd = v.dtype.type(c)

        def kernel(b: np.ndarray, o: np.ndarray, tmp: np.ndarray) -> None:
            _clip(b, -tau, tau, out=tmp)
            np.subtract(b, tmp, out=o)
            np.multiply(o, cd, out=o)

        return _map_blocks(v, out, "v", kernel)


class _GroupPenalty(Penalty):
    """What group penalties share: validated ``groups``, ``w`` in group order, each group's
    norm as a power of two times ``rho`` (safe over the whole range), and block
    soft-thresholding. Not a public class: :class:`GroupLasso` and
    :class:`SparseGroupLasso` are separate penalties (solvers must not mistake one for the
    other)."""

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
        arr = as_float_array(w, name, ndim=1, check_finite=False, tensor_hint=self._tensor_hint)
        n = arr.shape[0]
        if n < self.n_features:
            raise ValueError(f"groups index {self.n_features - 1} is out of range for {name} of length {n}")
        if n > self.n_features:
            raise ValueError(f"groups must cover every coefficient of {name}; they cover {self.n_features} of {n}")
        return arr

    def _grouped(self, w: np.ndarray, name: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``w`` in group order (float64), and each group's norm as ``scale * rho``: ``scale``
        the largest power of two not above the group's largest magnitude (1 for a zero
        group), ``rho`` in [1, 2 sqrt|g|) (0 for a zero group). Exact but for the rounding of
        the squares, their sum and the root."""
        grouped = w[self._order].astype(np.float64)
        if name is not None:
            _finite_or_raise(grouped, name)
        scale = _pow2_scale(np.maximum.reduceat(np.abs(grouped), self._starts))
        t = grouped / np.repeat(scale, self._sizes)
        rho = np.sqrt(np.add.reduceat(t * t, self._starts))
        return grouped, scale, rho

    def _group_value(self, w: np.ndarray, *factors: float) -> float:
        """The product of ``factors`` and :math:`\\sum_g \\sqrt{|g|}\\,\\|w_g\\|_2`, over the whole range."""
        _, scale, rho = self._grouped(w, None)
        if not rho.any():
            return 0.0
        top = float(scale[rho > 0].max())
        # sum_g sqrt|g| s_g rho_g = top * sum_g sqrt|g| rho_g (s_g / top)
        inner = float(np.dot(self._weights * rho, np.where(rho > 0, scale, 0.0) / top))
        m, e = _pair(*factors, inner)
        return _pair_float((m, e + math.frexp(top)[1] - 1))

    def _scatter(self, values: np.ndarray, out: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            out[self._order] = values.astype(out.dtype)
        return out

    def _group_grad(self, grouped: np.ndarray, scale: np.ndarray, rho: np.ndarray, coef: float) -> np.ndarray:
        """``coef * sqrt|g| * w_g / ||w_g||`` in group order (float64), 0 on zero groups."""
        # the unit direction w_g / ||w_g|| = (w_g / s_g) / rho_g first, then the constant:
        # neither step can overflow or underflow unless the result does
        unit = (grouped / np.repeat(scale, self._sizes)) / np.repeat(np.where(rho > 0, rho, 1.0), self._sizes)
        with np.errstate(over="ignore"):
            return coef * (unit * np.repeat(self._weights, self._sizes))

    def _group_shrink(self, grouped: np.ndarray, scale: np.ndarray, rho: np.ndarray, *factors: float) -> np.ndarray:
        """Block soft-thresholding of ``grouped`` with threshold ``prod(factors) * sqrt|g|``."""
        # ratio_g = t lam sqrt|g| / (s_g rho_g), multiplied as mantissas and exponents
        m, e = _pair(*factors)
        nz = rho > 0
        mant = m * self._weights / np.where(nz, rho, 1.0)
        exps = e - (np.frexp(scale)[1].astype(np.int64) - 1)
        with np.errstate(over="ignore"):
            ratio = np.ldexp(mant, np.clip(exps, -2500, 2500).astype(np.int32))
        factors_g = np.where(nz, np.maximum(0.0, 1.0 - ratio), 0.0)
        return grouped * np.repeat(factors_g, self._sizes)

    def _norm_parts(self, grouped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scale = _pow2_scale(np.maximum.reduceat(np.abs(grouped), self._starts))
        t = grouped / np.repeat(scale, self._sizes)
        return scale, np.sqrt(np.add.reduceat(t * t, self._starts))


class GroupLasso(_GroupPenalty):
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

    Each group's norm is kept as :math:`s_g \rho_g` with :math:`s_g` a power of two and
    :math:`\rho_g \in [1, 2\sqrt{|g|})`, so that neither a group of huge nor one of tiny
    weights overflows or underflows anywhere in the computation.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> pen = nr.GroupLasso(1.0, [[0, 1], [2]])
    >>> float(pen(np.array([3.0, 4.0, -1.0])))   # sqrt(2)*5 + 1
    8.071067811865476
    """

    def _value(self, w: np.ndarray) -> float:
        if not np.isfinite(w).all():
            return math.nan
        return self._group_value(w, self.lam)

    def _grad(self, w: np.ndarray, out: np.ndarray) -> np.ndarray:
        grouped, scale, rho = self._grouped(w, "w")
        return self._scatter(self._group_grad(grouped, scale, rho, self.lam), out)

    def _prox(self, v: np.ndarray, t: float, out: np.ndarray) -> np.ndarray:
        grouped, scale, rho = self._grouped(v, "v")
        return self._scatter(self._group_shrink(grouped, scale, rho, t, self.lam), out)


class SparseGroupLasso(_GroupPenalty):
    r"""Sparse-group-lasso penalty (Simon, Friedman, Hastie & Tibshirani, 2013):

    .. math::

        \Omega(w) = \lambda\Big(r\,\|w\|_1 + (1 - r)\sum_g \sqrt{|g|}\,\|w_g\|_2\Big),
        \qquad r = \texttt{l1\_ratio} \in [0, 1].

    The group term zeroes whole groups, the L1 term single coefficients inside the groups
    it keeps. ``r = 1`` is :class:`L1`, ``r = 0`` is :class:`GroupLasso`; ``groups`` as
    for :class:`GroupLasso` (a label vector or index lists).

    * gradient: :math:`\lambda r\,\operatorname{sign}(w) + \lambda(1 - r)\sqrt{|g|}\,w_g/\|w_g\|_2`
      (the second term 0 on a zero group): the minimum-norm subgradient,
    * prox: soft-thresholding, then block soft-thresholding,
      :math:`u = \operatorname{soft}(v, t\lambda r)`,
      :math:`\operatorname{prox}(v)_g = u_g \max(0, 1 - t\lambda(1 - r)\sqrt{|g|}/\|u_g\|_2)`,
      which is exact: the prox of this sum is the composition of the two proxes.

    Example
    -------
    >>> import numpy as np, normreg as nr
    >>> pen = nr.SparseGroupLasso(1.0, [0, 0, 1], l1_ratio=0.5)
    >>> float(pen(np.array([3.0, 4.0, 0.0])))   # 0.5 * 7 + 0.5 * sqrt(2) * 5
    7.035533905932738
    >>> pen.prox(np.array([3.0, 0.2, 0.4]), step=1.0)   # 0.2 and the group [2] vanish
    array([1.79289322, 0.        , 0.        ])
    """

    def __init__(
        self, lam: float, groups: Sequence[Sequence[int]] | Sequence[Any] | np.ndarray, l1_ratio: float = 0.5
    ) -> None:
        super().__init__(lam, groups)
        self.l1_ratio = check_scalar(l1_ratio, "l1_ratio", low=0.0, high=1.0)

    def get_config(self) -> dict[str, Any]:
        return {"lam": self.lam, "groups": [list(g) for g in self.groups], "l1_ratio": self.l1_ratio}

    def _value(self, w: np.ndarray) -> float:
        if not np.isfinite(w).all():
            return math.nan
        r = self.l1_ratio
        return _scaled_sum_abs(w, self.lam, r) + self._group_value(w, self.lam, 1.0 - r)

    def _grad(self, w: np.ndarray, out: np.ndarray) -> np.ndarray:
        grouped, scale, rho = self._grouped(w, "w")
        r = self.l1_ratio
        a = _pair_float(_pair(self.lam, r))
        with np.errstate(over="ignore"):
            values = a * np.sign(grouped) + self._group_grad(grouped, scale, rho, _pair_float(_pair(self.lam, 1.0 - r)))
        return self._scatter(values, out)

    def _prox(self, v: np.ndarray, t: float, out: np.ndarray) -> np.ndarray:
        grouped = v[self._order].astype(np.float64)
        _finite_or_raise(grouped, "v")
        r = self.l1_ratio
        tau = _pair_float(_pair(t, self.lam, r))
        u = grouped - _clip(grouped, -tau, tau)
        scale, rho = self._norm_parts(u)
        return self._scatter(self._group_shrink(u, scale, rho, t, self.lam, 1.0 - r), out)


def _check_groups(groups: Any) -> tuple[tuple[int, ...], ...]:
    """Validate ``groups`` (a label vector or disjoint index lists covering 0..n-1) as index
    tuples; see :func:`normreg._validation.as_groups`. Kept for :mod:`normreg.keras`."""
    return as_groups(groups, "groups")
