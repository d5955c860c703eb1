"""Argument validation shared by every public function of :mod:`normreg`.

One place decides what a valid array or scalar is, so that every error names the
argument, says what was expected and shows what was received (the style of
scikit-learn's ``check_array``).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

#: Floating dtypes the package computes in. Results keep the input's dtype.
SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(
    x: Any,
    name: str,
    *,
    ndim: int | None = None,
    check_finite: bool = True,
    allow_int: bool = False,
) -> np.ndarray:
    """Return ``x`` as a float32/float64 ndarray, or raise an error that names ``name``.

    Parameters
    ----------
    x : array_like
        The input.
    name : str
        The argument's name, used in error messages.
    ndim : int, optional
        Required number of dimensions.
    check_finite : bool
        Raise ``ValueError`` if ``x`` holds NaN or Inf. Callers on a hot path pass
        ``False`` and check a reduction they compute anyway (see
        :func:`raise_if_not_finite`), which costs no second pass over ``x``.
    allow_int : bool
        Convert boolean and integer input to float64 instead of raising ``TypeError``.
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be an array of floats; could not convert {type(x).__name__}: {exc}") from exc
    dt = arr.dtype
    if dt not in SUPPORTED_DTYPES:
        if allow_int and (dt.kind in "biu"):
            arr = arr.astype(np.float64)
        else:
            raise TypeError(
                f"{name} must have dtype float32 or float64; got dtype {dt}"
                + (" (convert it with .astype(float))" if dt.kind in "biu" else "")
            )
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional; got shape {arr.shape}")
    if check_finite:
        raise_if_not_finite(arr, name)
    return arr


def raise_if_not_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming ``name`` if ``arr`` holds NaN or Inf.

    Hot paths call this only after a reduction of ``arr`` (a sum, a dot product) came out
    non-finite: a NaN or Inf anywhere in ``arr`` makes such a reduction non-finite, so a
    finite one proves ``arr`` finite without a second pass over it. When the reduction
    overflowed although ``arr`` is finite, this returns and the caller keeps ``inf``.
    """
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must not contain NaN or Inf")


def check_scalar(
    x: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> float:
    """Validate a real scalar and return it as a Python ``float`` (or ``int`` if ``integer``).

    ``low``/``high`` are bounds, closed unless ``low_open``/``high_open``.
    """
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        what = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {what}; got {x!r} of type {type(x).__name__}")
    if integer:
        if not isinstance(x, numbers.Integral):
            raise TypeError(f"{name} must be an integer; got {x!r}")
        value: float = int(x)
    else:
        value = float(x)
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite; got {x!r}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}; got {x!r}")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name} must be {op} {high}; got {x!r}")
    return value
