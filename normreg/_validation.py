"""Argument validation shared by every public function of :mod:`normreg`.

One place decides what a valid array, scalar or grouping is, so that every function of
the package accepts the same inputs and every error names the argument, says what was
expected and what was received, and where it can, what to pass instead (the style of
scikit-learn's ``check_array``). The rules:

* **Arrays** (:func:`as_float_array`): anything :func:`numpy.asarray` turns into a real
  array. float32 and float64 are kept; booleans and integers become float64 (as
  ``numpy.linalg.norm`` and scikit-learn do); float16, complex, object and string
  arrays are refused (``TypeError``), as are empty arrays and NaN/Inf (``ValueError``).
  A SciPy sparse matrix is refused with a pointer to ``.toarray()`` unless the caller
  passes ``accept_sparse`` (then it is returned sparse, its values validated). A tensor
  of an autodiff framework (TensorFlow, Keras, JAX, PyTorch) is refused with a pointer to
  :func:`numpy.asarray` (and, for a penalty, to :mod:`normreg.keras`): converting it
  silently would cut it out of its gradient tape, and inside a traced function it has no
  values at all. An ``np.matrix`` is read as the 2-D array it holds; a masked array
  is refused (``TypeError``) with a pointer to ``.filled(0)`` or ``.compressed()``, since
  no function here can honour its mask.
* **Scalars** (:func:`check_scalar`): Python and NumPy real numbers and 0-d real arrays
  (``0.1``, ``np.float32(0.1)`` and ``np.array(0.1)`` alike); not booleans, strings or
  1-element lists.
* **Step sizes** (:func:`check_step`): finite and ``>= 0``; a zero step is valid (a prox
  with step 0 is the identity).
* **Groups** (:func:`as_groups`): a label vector (``[0, 0, 1, 1]``, one label per
  coefficient) or a sequence of disjoint index lists (``[[0, 1], [2, 3]]``) covering
  every coefficient; a 2-D integer array is read as index lists, one row per group.

Example
-------
>>> import numpy as np
>>> from normreg._validation import as_float_array, as_groups, check_scalar
>>> as_float_array([1, 2], "w")
array([1., 2.])
>>> check_scalar(np.array(0.5), "lam", low=0.0)
0.5
>>> as_groups([0, 0, 1, 1, 1])
((0, 1), (2, 3, 4))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "SUPPORTED_DTYPES",
    "as_float_array",
    "as_groups",
    "check_scalar",
    "check_step",
    "foreign_tensor_library",
    "is_sparse",
    "raise_if_not_finite",
]

#: Floating dtypes the package computes in. Results keep the input's dtype.
SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: Top-level modules whose array types are tensors of an autodiff framework.
_TENSOR_LIBRARIES = {
    "tensorflow": "TensorFlow",
    "tf_keras": "Keras",
    "keras": "Keras",
    "jax": "JAX",
    "jaxlib": "JAX",
    "torch": "PyTorch",
}


def foreign_tensor_library(x: Any) -> str | None:
    """The framework name if ``x`` is a TensorFlow/Keras/JAX/PyTorch tensor, else ``None``.

    Decided from the module of ``type(x)`` (and its base classes), so that none of those
    libraries is imported: a symbolic TensorFlow tensor, a ``KerasTensor``, a
    ``KerasVariable``, a JAX array or tracer, a ``torch.Tensor``.
    """
    for cls in type(x).__mro__:
        root = (getattr(cls, "__module__", None) or "").split(".", 1)[0]
        if root in _TENSOR_LIBRARIES:
            return _TENSOR_LIBRARIES[root]
    return None


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a SciPy sparse matrix or array (without importing SciPy)."""
    return type(x).__module__.startswith("scipy.sparse") and hasattr(x, "tocsr")


def _check_dtype(dt: np.dtype, name: str, allow_int: bool) -> np.dtype | None:
    """The dtype to convert to (``None``: keep), or raise ``TypeError``."""
    if dt in SUPPORTED_DTYPES:
        return None
    if allow_int and dt.kind in "biu":
        return np.dtype(np.float64)
    if dt.kind in "biu":
        hint = " (convert it with .astype(float))"
    elif dt.kind == "f":
        hint = " (convert it with .astype(np.float32) or .astype(np.float64))"
    elif dt.kind == "c":
        hint = " (complex input is not supported: pass the real part or the magnitude)"
    else:
        hint = " (pass an array of numbers)"
    raise TypeError(f"{name} must have dtype float32 or float64; got dtype {dt}{hint}")


def as_float_array(
    x: Any,
    name: str,
    *,
    ndim: int | None = None,
    check_finite: bool = True,
    allow_int: bool = True,
    accept_sparse: bool | str = False,
    tensor_hint: str | Callable[[], str] | None = None,
) -> Any:
    """Return ``x`` as a float32/float64 ndarray, or raise an error that names ``name``.

    Parameters
    ----------
    x : array_like
        The input: an ndarray, a nested list, a NumPy scalar, anything
        :func:`numpy.asarray` converts to a real array.
    name : str
        The argument's name, used in error messages.
    ndim : int, optional
        Required number of dimensions.
    check_finite : bool
        Raise ``ValueError`` if ``x`` holds NaN or Inf. Callers on a hot path pass
        ``False`` and check a reduction they compute anyway (see
        :func:`raise_if_not_finite`), which costs no second pass over ``x``.
    allow_int : bool
        Convert boolean and integer input to float64 (the default, the package's one
        behaviour); ``False`` raises ``TypeError`` instead.
    accept_sparse : bool or {"csr", "csc", "coo", ...}
        ``False`` (default): a SciPy sparse matrix raises ``TypeError`` saying to pass
        ``x.toarray()``. ``True``: it is returned sparse (integer values converted to
        float64, its stored values checked for NaN/Inf, ``ndim`` must be 2 or ``None``);
        a format name also converts it to that format (``x.asformat(fmt)``).
    tensor_hint : str or callable returning str, optional
        A sentence appended to the ``TypeError`` raised for a TensorFlow, Keras, JAX or
        PyTorch tensor (for instance, the :mod:`normreg.keras` class to use instead); a
        callable is called only when that error is raised.

    Returns
    -------
    ndarray (or a SciPy sparse matrix when ``accept_sparse`` allowed one)
        ``x`` itself when it already is a valid float32/float64 ndarray (no copy).

    Raises
    ------
    TypeError
        Not convertible to a real array, an unsupported dtype, a tensor of an autodiff
        framework, a sparse matrix where none is accepted.
    ValueError
        Empty, the wrong number of dimensions, NaN or Inf (with ``check_finite``).
    """
    if isinstance(x, np.ndarray):
        if isinstance(x, np.ma.MaskedArray):
            raise TypeError(
                f"{name} is a masked array; normreg does not read masks: pass "
                f"{name}.filled(0) to count masked entries as zeros, or {name}.compressed() "
                "to drop them"
            )
        # a subclass (np.matrix) as the plain array it holds, as numpy.linalg.norm does
        arr = x if type(x) is np.ndarray else np.asarray(x)
    elif is_sparse(x):
        return _as_sparse(x, name, ndim, check_finite, allow_int, accept_sparse)
    else:
        lib = foreign_tensor_library(x)
        if lib is not None:
            msg = (
                f"{name} is a {lib} tensor ({type(x).__module__}.{type(x).__qualname__}); this "
                f"function of normreg's NumPy core takes NumPy arrays. Pass np.asarray({name}) "
                "(or .numpy()) if it holds concrete values."
            )
            hint = tensor_hint() if callable(tensor_hint) else tensor_hint
            raise TypeError(msg + (f" {hint}" if hint else ""))
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:  # ragged lists and the like
            raise TypeError(
                f"{name} must be an array of floats; could not convert {type(x).__name__}: {exc}"
            ) from exc
    target = _check_dtype(arr.dtype, name, allow_int)
    if target is not None:
        arr = arr.astype(target)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional; got shape {arr.shape}")
    if check_finite:
        raise_if_not_finite(arr, name)
    return arr


def _as_sparse(
    x: Any, name: str, ndim: int | None, check_finite: bool, allow_int: bool, accept: bool | str
) -> Any:
    if accept is False:
        raise TypeError(
            f"{name} is a SciPy sparse matrix ({type(x).__name__}); this function needs a dense "
            f"array: pass {name}.toarray()"
        )
    if ndim is not None and ndim != 2:
        raise ValueError(f"{name} must be {ndim}-dimensional; got a sparse matrix of shape {x.shape}")
    if isinstance(accept, str) and x.format != accept:
        x = x.asformat(accept)
    target = _check_dtype(x.dtype, name, allow_int)
    if target is not None:
        x = x.astype(target)
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must not be empty; got shape {x.shape}")
    if check_finite:
        data = getattr(x, "data", None)
        if data is None:  # pragma: no cover - every SciPy format but dok/lil stores .data
            x = x.tocsr()
            data = x.data
        raise_if_not_finite(np.asarray(data), name)
    return x


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

    Accepted: Python and NumPy real numbers and 0-d arrays of a real dtype
    (``np.array(0.1)`` like ``np.float32(0.1)``); not booleans. Non-finite values raise
    ``ValueError`` (for floats). ``low``/``high`` are bounds, closed unless
    ``low_open``/``high_open``.
    """
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        x = x[()]  # the NumPy scalar inside a 0-d array
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        what = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {what}; got {x!r} of type {type(x).__name__}")
    if integer:
        if not isinstance(x, numbers.Integral):
            raise TypeError(f"{name} must be an integer; got {x!r}")
        value: float = int(x)
    else:
        try:
            value = float(x)
        except OverflowError:  # an int (or Fraction) beyond the largest float
            value = math.inf
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite; got {x!r}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}; got {x!r}")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name} must be {op} {high}; got {x!r}")
    return value


def check_step(step: Any, name: str = "step") -> float:
    """A step size (a learning rate, the ``t`` of a prox): a finite real ``>= 0``.

    Zero is valid: :math:`\\operatorname{prox}_{0\\cdot\\Omega}(v) = v`, the identity (the
    last step of a cosine schedule that decays to zero).
    """
    return check_scalar(step, name, low=0.0)


def as_groups(groups: Any, name: str = "groups", n_features: int | None = None) -> tuple[tuple[int, ...], ...]:
    """Validate a partition of the coefficients into groups; return it as index tuples.

    Two spellings, one meaning:

    * a **label vector**, one label per coefficient: ``[0, 0, 1, 1, 1]`` (integers or
      strings; groups are ordered by sorted label), the convention of other group-lasso
      libraries;
    * a sequence of **index lists**: ``[[0, 1], [2, 3, 4]]``, disjoint, together covering
      ``0 .. n - 1`` exactly once. A 2-D integer array is read the same way, one row per
      group (groups of equal size).

    Both examples give ``((0, 1), (2, 3, 4))``. ``n_features``, if given, is the number
    of coefficients the groups must cover.

    Raises
    ------
    TypeError
        Not a sequence or array, non-integer indices, a boolean membership matrix.
    ValueError
        Empty groups, negative, repeated or missing indices, a length that does not match
        ``n_features``.
    """
    if isinstance(groups, (str, bytes)) or groups is None or np.isscalar(groups):
        raise TypeError(
            f"{name} must be a label vector such as [0, 0, 1] or a non-empty sequence of "
            f"index lists such as [[0, 1], [2]]; got {groups!r}"
        )
    if isinstance(groups, np.ndarray):
        arr = groups
    elif isinstance(groups, Sequence) or hasattr(groups, "__array__"):
        if len(groups) == 0:
            raise TypeError(
                f"{name} must be a label vector such as [0, 0, 1] or a non-empty sequence of "
                f"index lists such as [[0, 1], [2]]; got {groups!r}"
            )
        if all(np.ndim(g) == 0 for g in groups):
            arr = np.asarray(groups)  # a label vector
        else:
            arr = None  # index lists, possibly ragged
    else:
        raise TypeError(
            f"{name} must be a label vector such as [0, 0, 1] or a non-empty sequence of "
            f"index lists such as [[0, 1], [2]]; got {type(groups).__name__}"
        )

    if arr is not None and arr.ndim == 1:
        out = _groups_from_labels(arr, name)
    elif arr is not None and arr.ndim == 2:
        if arr.dtype.kind == "b":
            raise TypeError(
                f"{name} is a boolean matrix; a membership mask is ambiguous (rows or columns "
                f"as groups): pass index lists, e.g. [np.flatnonzero(row) for row in mask], "
                "or one label per coefficient"
            )
        if arr.size == 0:
            raise ValueError(f"{name} must hold at least one non-empty group; got shape {arr.shape}")
        out = _groups_from_lists(list(arr), name)
    elif arr is not None:
        raise ValueError(
            f"{name} must be 1-D (one label per coefficient) or index lists (2-D: one row per "
            f"group); got an array of shape {arr.shape}"
        )
    else:
        out = _groups_from_lists(groups, name)

    n = sum(len(g) for g in out)
    if n_features is not None and n != n_features:
        raise ValueError(f"{name} must cover every one of the {n_features} coefficients; they cover {n}")
    return out


def _groups_from_labels(labels: np.ndarray, name: str) -> tuple[tuple[int, ...], ...]:
    if labels.size == 0:
        raise TypeError(f"{name} must not be empty")
    if labels.dtype.kind == "f":
        if not (np.isfinite(labels).all() and (labels == np.round(labels)).all()):
            raise TypeError(f"{name}, as a label vector, must hold integer (or string) labels; got {labels[:5]!r}")
    elif labels.dtype.kind not in "iuUSO" or labels.dtype.kind == "b":
        raise TypeError(f"{name}, as a label vector, must hold integer (or string) labels; got dtype {labels.dtype}")
    try:
        _, inverse = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise TypeError(f"{name}, as a label vector, must hold comparable labels: {exc}") from exc
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    return tuple(tuple(int(i) for i in g) for g in np.split(order, bounds))


def _groups_from_lists(groups: Any, name: str) -> tuple[tuple[int, ...], ...]:
    out = []
    for k, g in enumerate(groups):
        idx = np.asarray(g)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"{name}[{k}] must be a non-empty 1-D list of indices; got {g!r}")
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{name}[{k}] must hold integer indices; got dtype {idx.dtype}")
        out.append(tuple(int(i) for i in idx))
    flat = np.concatenate([np.asarray(g, dtype=np.int64) for g in out])
    if flat.min() < 0:
        raise ValueError(f"{name} must hold non-negative indices; got {int(flat.min())}")
    counts = np.bincount(flat)
    if (counts > 1).any():
        raise ValueError(
            f"{name} must be disjoint; index {int(np.argmax(counts > 1))} appears in more than one group"
        )
    if (counts == 0).any():
        raise ValueError(
            f"{name} must cover every coefficient 0..{flat.max()}; index {int(np.argmin(counts))} is in no group"
        )
    return tuple(out)
