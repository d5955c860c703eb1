r"""Norm penalties for Keras 3, in the book's convention (chapter 5).

This is the only module of ``normreg`` that imports Keras (and through it a backend,
usually TensorFlow). Everything is written with ``keras.ops``, so it runs on every
Keras 3 backend. It offers four things:

* **Regularizers** :class:`L1`, :class:`L2`, :class:`ElasticNet`, :class:`GroupLasso`:
  ``keras.regularizers.Regularizer`` subclasses for ``kernel_regularizer=...``, with the
  same constants as the NumPy core (:class:`normreg.L2` is :math:`\frac{\lambda}{2}\|w\|_2^2`;
  Keras's own ``regularizers.L2(l2)`` is :math:`l_2\|w\|_2^2`, without the :math:`\frac12`).
  They are registered as serializable, so a model that uses them survives
  ``model.save`` / ``keras.models.load_model`` without ``custom_objects``, **provided
  ``normreg.keras`` has been imported** in the process that loads it (the import
  registers the classes under the names ``normreg>L1``, ...). Without the import Keras
  falls back to its own ``L2``/``L1`` and fails with ``L2.__init__() got an unexpected
  keyword argument 'lam'``. Each also has ``prox(v, step)``.
* :func:`penalized_variables` and :func:`penalty_loss`: the total penalty of a model's
  weights (kernels and embeddings, not biases or normalization parameters) as one
  expression that reads each weight once, for a custom ``GradientTape`` loop.
* :class:`ProximalCallback` and :func:`prox_step`: proximal training. After each
  optimizer step the weights go through the penalty's proximal operator, so L1 and
  group lasso produce *exact* zeros, which a penalty added to the loss never does.
* :func:`as_regularizer`, :func:`to_keras`: conversions between these classes, the NumPy
  core's penalties and Keras's built-in ``L1``/``L2``/``L1L2``, through
  :mod:`normreg.conventions`.

With :math:`m` samples and a per-sample loss :math:`\ell`, Keras's ``fit`` minimizes

.. math::

    J(W, b) = \frac{1}{m}\sum_{i=1}^m \ell\big(f_{W,b}(x_i), y_i\big) + \sum_{\text{kernels } W_k} \Omega(W_k),

the book's objective: the data term is a mean, the penalty is added once, biases are not penalized.

Example
-------
>>> import keras
>>> from normreg.keras import L2
>>> layer = keras.layers.Dense(2, kernel_initializer="ones", kernel_regularizer=L2(0.1))
>>> layer.build((None, 3))
>>> round(float(sum(layer.losses)), 6)       # 0.1/2 * (6 entries of 1)
0.3
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from . import conventions
from . import penalties as _core
from ._validation import check_scalar
from .penalties import _check_groups, _ConfigEquality

__all__ = [
    "L1",
    "L2",
    "ElasticNet",
    "GroupLasso",
    "Regularizer",
    "as_regularizer",
    "to_keras",
    "penalized_variables",
    "penalty_loss",
    "prox_step",
    "ProximalCallback",
]

_PACKAGE = "normreg"


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _check_float_tensor(x: Any, name: str) -> Any:
    """``x`` as a tensor (a Keras variable stays a variable) with a floating dtype, or ``TypeError``."""
    if not hasattr(x, "dtype") or not hasattr(x, "shape"):
        x = ops.convert_to_tensor(x)
    dtype = keras.backend.standardize_dtype(x.dtype)
    if not keras.backend.is_float_dtype(dtype):
        raise TypeError(f"{name} must have a floating dtype; got dtype {dtype}")
    return x


def _at_least_float32(x: Any) -> Any:
    """``x`` cast to float32 if its dtype is narrower (float16, bfloat16), else ``x`` itself."""
    dtype = keras.backend.standardize_dtype(x.dtype)
    return x if dtype in ("float32", "float64") else ops.cast(x, "float32")


def _soft_threshold(v: Any, t: Any) -> Any:
    r""":math:`\operatorname{sign}(v)\max(|v| - t, 0)` written as :math:`v - \operatorname{clip}(v, -t, t)`:
    entries with :math:`|v_i| \le t` become an exact zero."""
    return v - ops.minimum(ops.maximum(v, -t), t)


def _step(step: Any) -> Any:
    """A Python/NumPy step is validated (finite, >= 0: a zero step is the identity prox);
    a tensor (e.g. a learning-rate variable) passes as is."""
    if isinstance(step, numbers.Real) and not isinstance(step, bool):
        return check_scalar(step, "step", low=0.0)
    if isinstance(step, (bool, np.bool_, str)) or not hasattr(step, "dtype"):
        raise TypeError(f"step must be a real number >= 0 or a scalar tensor; got {step!r}")
    return step


def _safe_sqrt(s: Any) -> Any:
    """:math:`\\sqrt{s}` for :math:`s \\ge 0` whose gradient at :math:`s = 0` is 0, not NaN
    (``sqrt``'s infinite slope times the zero slope of :math:`\\|w\\|^2` would give NaN)."""
    positive = ops.greater(s, 0)
    return ops.where(positive, ops.sqrt(ops.where(positive, s, ops.ones_like(s))), ops.zeros_like(s))


# --------------------------------------------------------------------------------------
# regularizers
# --------------------------------------------------------------------------------------
class Regularizer(_ConfigEquality, keras.regularizers.Regularizer):
    """Base class of normreg's Keras regularizers: ``__call__`` (the value), ``prox`` and
    ``to_numpy`` (the same penalty in the NumPy core), ``get_config``/``from_config``.

    ``lam`` is validated like the NumPy core: a finite real number :math:`\\ge 0`, else
    ``TypeError``/``ValueError`` naming ``lam``.

    Saving and loading: every subclass is registered with
    ``keras.saving.register_keras_serializable(package="normreg")`` when
    :mod:`normreg.keras` is imported, so ``keras.models.load_model(path)`` restores it with
    no ``custom_objects`` **after** ``import normreg.keras``; in a process that has not
    imported it, Keras resolves the saved ``L1``/``L2`` to its own classes and fails with
    ``unexpected keyword argument 'lam'``.
    """

    lam: float

    def __call__(self, x: Any) -> Any:
        """The penalty's value :math:`\\Omega(x)`, a scalar tensor.

        Computed and returned in ``x``'s dtype if that is float32 or float64, and in
        float32 for float16/bfloat16 inputs (a ``mixed_float16`` or ``mixed_bfloat16``
        policy): a sum over thousands of activations overflows float16's largest value,
        65504, long before the penalty itself is large (Keras's own regularizers compute in
        the input's dtype and return ``inf`` there).
        """
        x = _check_float_tensor(x, "x")
        return self._value(_at_least_float32(x))

    def prox(self, v: Any, step: Any) -> Any:
        """:math:`\\arg\\min_w \\Omega(w) + \\|w - v\\|_2^2 / (2\\,\\mathrm{step})`, shaped like ``v``, of its dtype.

        ``step`` :math:`\\ge 0`; a zero step is the identity (the last step of a schedule
        that decays to zero). Computed in at least float32, like the value.
        """
        v = _check_float_tensor(v, "v")
        dtype = v.dtype
        w = _at_least_float32(v)
        t = _step(step)
        t = ops.convert_to_tensor(t, dtype=w.dtype) if isinstance(t, float) else ops.cast(t, w.dtype)
        out = self._prox(w, t)
        return out if w is v else ops.cast(out, dtype)

    def to_numpy(self) -> _core.Penalty:
        """The same penalty from the NumPy core (:mod:`normreg.penalties`)."""
        raise NotImplementedError  # pragma: no cover - abstract

    _repr_prefix = "normreg.keras."

    def get_config(self) -> dict[str, Any]:
        return {"lam": self.lam}

    def _coef(self, x: Any, c: float) -> Any:
        return ops.convert_to_tensor(c, dtype=x.dtype)  # not cast(): a Python float would pass through float32

    def _value(self, x: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _prox(self, v: Any, t: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@keras.saving.register_keras_serializable(package=_PACKAGE)
class L1(Regularizer):
    r"""L1 penalty :math:`\Omega(w) = \lambda\|w\|_1 = \lambda\sum_i |w_i|` over all entries of ``w``.

    Equal to Keras's ``regularizers.L1(l1=lam)``. Prox: soft-thresholding
    :math:`\operatorname{sign}(v)\max(|v| - t\lambda, 0)`. The gradient that ``GradientTape``
    takes is :math:`\lambda\operatorname{sign}(w)`, 0 at :math:`w_i = 0`; gradient steps on it
    hover around zero but do not land on it: use :class:`ProximalCallback` for exact zeros.

    Loading a saved model that uses it needs ``import normreg.keras`` first (see :class:`Regularizer`).

    Example
    -------
    >>> import keras, numpy as np
    >>> from normreg.keras import L1
    >>> w = np.array([1.0, -2.0, 0.05], dtype="float32")
    >>> round(float(L1(0.5)(w)), 6), keras.ops.convert_to_numpy(L1(0.5).prox(w, step=1.0))
    (1.525, array([ 0.5, -1.5,  0. ], dtype=float32))
    """

    def __init__(self, lam: float) -> None:
        self.lam = check_scalar(lam, "lam", low=0.0)

    def to_numpy(self) -> _core.L1:
        return _core.L1(self.lam)

    def _value(self, x: Any) -> Any:
        return self._coef(x, self.lam) * ops.sum(ops.abs(x))

    def _prox(self, v: Any, t: Any) -> Any:
        return _soft_threshold(v, t * self._coef(v, self.lam))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class L2(Regularizer):
    r"""L2 penalty :math:`\Omega(w) = \frac{\lambda}{2}\|w\|_2^2`, gradient :math:`\lambda w`.

    Keras's ``regularizers.L2(l2)`` is :math:`l_2\|w\|_2^2`, so ``L2(lam)`` here equals
    ``keras.regularizers.L2(lam / 2)`` (see :mod:`normreg.conventions`). Prox: :math:`v/(1 + t\lambda)`.

    Loading a saved model that uses it needs ``import normreg.keras`` first (see :class:`Regularizer`).

    Example
    -------
    >>> import numpy as np
    >>> from normreg.keras import L2
    >>> round(float(L2(0.5)(np.array([3.0, 4.0], dtype="float32"))), 6)
    6.25
    """

    def __init__(self, lam: float) -> None:
        self.lam = check_scalar(lam, "lam", low=0.0)

    def to_numpy(self) -> _core.L2:
        return _core.L2(self.lam)

    def _value(self, x: Any) -> Any:
        return self._coef(x, 0.5 * self.lam) * ops.sum(ops.square(x))

    def _prox(self, v: Any, t: Any) -> Any:
        return v / (1.0 + t * self._coef(v, self.lam))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ElasticNet(Regularizer):
    r"""Elastic net :math:`\Omega(w) = \lambda\big(r\|w\|_1 + \frac{1 - r}{2}\|w\|_2^2\big)`, :math:`r` = ``l1_ratio``.

    Keras's ``regularizers.L1L2(l1, l2)`` is ``ElasticNet(l1 + 2*l2, l1 / (l1 + 2*l2))``.
    Prox: :math:`\operatorname{soft}(v, t\lambda r)/(1 + t\lambda(1 - r))`.

    Loading a saved model that uses it needs ``import normreg.keras`` first (see :class:`Regularizer`).

    Example
    -------
    >>> import numpy as np
    >>> from normreg.keras import ElasticNet
    >>> round(float(ElasticNet(1.0, 0.5)(np.array([2.0], dtype="float32"))), 6)   # 0.5*2 + 0.25*4
    2.0
    """

    def __init__(self, lam: float, l1_ratio: float = 0.5) -> None:
        self.lam = check_scalar(lam, "lam", low=0.0)
        self.l1_ratio = check_scalar(l1_ratio, "l1_ratio", low=0.0, high=1.0)

    def get_config(self) -> dict[str, Any]:
        return {"lam": self.lam, "l1_ratio": self.l1_ratio}

    def to_numpy(self) -> _core.ElasticNet:
        return _core.ElasticNet(self.lam, self.l1_ratio)

    def _value(self, x: Any) -> Any:
        r = self.l1_ratio
        l1 = self._coef(x, self.lam * r) * ops.sum(ops.abs(x))
        l2 = self._coef(x, 0.5 * self.lam * (1.0 - r)) * ops.sum(ops.square(x))
        return l1 + l2

    def _prox(self, v: Any, t: Any) -> Any:
        r = self.l1_ratio
        return _soft_threshold(v, t * self._coef(v, self.lam * r)) / (1.0 + t * self._coef(v, self.lam * (1.0 - r)))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GroupLasso(Regularizer):
    r"""Group lasso over slices of a weight tensor: :math:`\Omega(W) = \lambda\sum_g \sqrt{|g|}\,\|W_g\|_2`.

    ``groups`` lists disjoint sets of indices along ``axis`` that together cover that axis
    exactly once (validated like :class:`normreg.GroupLasso`). Group :math:`g` holds every
    entry of :math:`W` whose index along ``axis`` is in :math:`g`, and :math:`|g|` counts
    those entries (``len(g)`` times the size of the other axes), so that, as in the NumPy
    core, a larger group is not penalized less per coefficient.

    What a group means depends on the layer and the axis:

    * ``Dense`` kernel, shape ``(inputs, units)``, ``axis=0`` (the default): row :math:`j`
      holds every weight *leaving* input :math:`j`. ``groups=[[j] for j in range(inputs)]``
      penalizes each input as a whole, and zeroing a group removes the input from the
      network: **feature selection**. ``axis=1`` groups the weights *entering* a unit
      (pruning units).
    * ``Conv2D`` kernel, shape ``(h, w, in, out)``: ``axis=-2`` groups input channels,
      ``axis=-1`` output filters (channel pruning).
    * ``Embedding`` table, shape ``(vocabulary, dim)``, ``axis=0``: one group per token.

    For a 1-D weight vector and ``axis=0`` this is exactly :class:`normreg.GroupLasso`
    (``to_numpy()``). Gradient at a zero group: 0 (the minimum-norm subgradient), not NaN.
    Prox: block soft-thresholding :math:`W_g\max(0, 1 - t\lambda\sqrt{|g|}/\|W_g\|_2)`, which
    zeroes whole groups.

    Loading a saved model that uses it needs ``import normreg.keras`` first (see :class:`Regularizer`).

    Example
    -------
    >>> import numpy as np
    >>> from normreg.keras import GroupLasso
    >>> W = np.array([[3.0, 4.0], [0.0, 1.0], [0.0, 0.0]], dtype="float32")   # 3 inputs, 2 units
    >>> pen = GroupLasso(1.0, groups=[[0], [1, 2]])    # sqrt(2)*5 + sqrt(4)*1
    >>> round(float(pen(W)), 4)
    9.0711
    """

    def __init__(self, lam: float, groups: Sequence[Sequence[int]], axis: int = 0) -> None:
        self.lam = check_scalar(lam, "lam", low=0.0)
        self.groups = _check_groups(groups)
        self.axis = int(check_scalar(axis, "axis", integer=True))
        self.n_indices = sum(len(g) for g in self.groups)
        seg = np.empty(self.n_indices, dtype="int32")
        for k, g in enumerate(self.groups):
            seg[list(g)] = k
        self._segment_ids = seg  # group of each index along `axis`
        self._sizes = np.array([len(g) for g in self.groups], dtype="float64")

    def get_config(self) -> dict[str, Any]:
        return {"lam": self.lam, "groups": [list(g) for g in self.groups], "axis": self.axis}

    def to_numpy(self, shape: Sequence[int] | None = None) -> _core.GroupLasso:
        """The same penalty as a NumPy core :class:`normreg.GroupLasso`, which acts on 1-D arrays.

        Without ``shape``: the core penalty with the same groups, equal to this one on a 1-D
        weight vector. With ``shape`` (that of a kernel, e.g. ``W.shape``): the core penalty on
        ``W.ravel()`` (C order) whose groups are the flat indices of each group's slices, so
        that ``pen.to_numpy(W.shape)(W.ravel()) == pen(W)`` and
        ``pen.to_numpy(W.shape).prox(W.ravel(), t).reshape(W.shape) == pen.prox(W, t)``.

        Example
        -------
        >>> import numpy as np
        >>> from normreg.keras import GroupLasso
        >>> W = np.array([[3.0, 4.0], [0.0, 1.0]])          # 2 inputs, 2 units
        >>> pen = GroupLasso(1.0, groups=[[0], [1]], axis=1)  # one group per unit (column)
        >>> core = pen.to_numpy(W.shape)
        >>> core.groups, round(float(core(W.ravel())), 4) == round(float(pen(W)), 4)
        (((0, 2), (1, 3)), True)
        """
        if shape is None:
            return _core.GroupLasso(self.lam, self.groups)
        if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
            raise TypeError(f"shape must be a tuple of ints (e.g. W.shape); got {shape!r}")
        dims = tuple(int(check_scalar(d, f"shape[{i}]", low=1, integer=True)) for i, d in enumerate(shape))
        ndim = len(dims)
        axis = self.axis + ndim if self.axis < 0 else self.axis
        if not 0 <= axis < ndim:
            raise ValueError(f"axis {self.axis} is out of range for a weight of shape {dims}")
        if dims[axis] != self.n_indices:
            raise ValueError(
                f"groups cover {self.n_indices} indices along axis {self.axis}, but shape {dims} has "
                f"{dims[axis]} there"
            )
        flat = np.arange(int(np.prod(dims))).reshape(dims)
        groups = [np.take(flat, list(g), axis=axis).ravel().tolist() for g in self.groups]
        return _core.GroupLasso(self.lam, [sorted(g) for g in groups])

    def _rows(self, x: Any) -> tuple[Any, int, int]:
        """``x`` with ``axis`` moved to the front and flattened to ``(n, k)``; also the axis and ``k``."""
        ndim = len(x.shape)
        axis = self.axis + ndim if self.axis < 0 else self.axis
        if not 0 <= axis < ndim:
            raise ValueError(f"axis {self.axis} is out of range for a weight of shape {tuple(x.shape)}")
        n = x.shape[axis]
        if n != self.n_indices:
            raise ValueError(
                f"groups cover {self.n_indices} indices along axis {self.axis}, but the weight of shape "
                f"{tuple(x.shape)} has {n} there"
            )
        k = int(np.prod([d for i, d in enumerate(x.shape) if i != axis], dtype=np.int64))
        moved = ops.moveaxis(x, axis, 0) if axis != 0 else x
        return ops.reshape(moved, (n, k)), axis, k

    def _group_norms(self, rows: Any) -> Any:
        r""":math:`\|W_g\|_2` for every group, each group divided by its largest magnitude :math:`s_g`
        first (as in the NumPy core) so that squares neither overflow nor underflow:
        :math:`s_g\sqrt{\sum (w/s_g)^2}`. :math:`s_g` is held constant for the gradient, which is
        then exactly :math:`w_g/\|w_g\|_2`."""
        seg = ops.convert_to_tensor(self._segment_ids)
        n_groups = len(self.groups)
        group_max = ops.segment_max(ops.max(ops.abs(rows), axis=1), seg, num_segments=n_groups)
        scale = ops.stop_gradient(ops.where(ops.greater(group_max, 0), group_max, ops.ones_like(group_max)))
        scaled = rows / ops.expand_dims(ops.take(scale, seg), 1)
        group_sq = ops.segment_sum(ops.sum(ops.square(scaled), axis=1), seg, num_segments=n_groups)
        return scale * _safe_sqrt(group_sq)

    def _weights(self, x: Any, k: int) -> Any:
        return ops.cast(np.sqrt(self._sizes * k), x.dtype)

    def _value(self, x: Any) -> Any:
        rows, _, k = self._rows(x)
        return self._coef(x, self.lam) * ops.sum(self._weights(x, k) * self._group_norms(rows))

    def _prox(self, v: Any, t: Any) -> Any:
        rows, axis, k = self._rows(v)
        norms = self._group_norms(rows)
        positive = ops.greater(norms, 0)
        safe = ops.where(positive, norms, ops.ones_like(norms))
        shrink = ops.maximum(1.0 - t * self._coef(v, self.lam) * self._weights(v, k) / safe, 0.0)
        factors = ops.where(positive, shrink, ops.zeros_like(shrink))
        out = rows * ops.expand_dims(ops.take(factors, ops.convert_to_tensor(self._segment_ids)), 1)
        moved_shape = (v.shape[axis],) + tuple(d for i, d in enumerate(v.shape) if i != axis)
        out = ops.reshape(out, moved_shape)
        return ops.moveaxis(out, 0, axis) if axis != 0 else out


# --------------------------------------------------------------------------------------
# conversions
# --------------------------------------------------------------------------------------
def as_regularizer(penalty: Any) -> Regularizer:
    """``penalty`` as one of this module's regularizers, with the same value.

    Accepts this module's regularizers (returned as they are), the NumPy core's penalties
    (:class:`normreg.L1`, ...), and Keras's built-in ``regularizers.L1``, ``L2`` and ``L1L2``,
    whose constants are converted with :mod:`normreg.conventions` (Keras's ``L2(l2)`` is
    ``L2(2 * l2)`` here).

    Example
    -------
    >>> import keras, normreg as nr
    >>> from normreg.keras import as_regularizer
    >>> as_regularizer(nr.L1(0.1)), as_regularizer(keras.regularizers.L2(0.01))
    (normreg.keras.L1(lam=0.1), normreg.keras.L2(lam=0.02))
    """
    if isinstance(penalty, Regularizer):
        return penalty
    if isinstance(penalty, _core.ElasticNet):
        return ElasticNet(penalty.lam, penalty.l1_ratio)
    if isinstance(penalty, _core.GroupLasso):
        return GroupLasso(penalty.lam, penalty.groups)
    if isinstance(penalty, _core.L1):
        return L1(penalty.lam)
    if isinstance(penalty, _core.L2):
        return L2(penalty.lam)
    kr = keras.regularizers
    if type(penalty) is kr.L1:
        return L1(conventions.to_book(float(penalty.l1), "keras", penalty="l1"))
    if type(penalty) is kr.L2:
        return L2(conventions.to_book(float(penalty.l2), "keras", penalty="l2"))
    if type(penalty) is kr.L1L2:
        a = conventions.to_book(float(penalty.l1), "keras", penalty="l1")  # lam * r
        b = conventions.to_book(float(penalty.l2), "keras", penalty="l2")  # lam * (1 - r)
        lam = a + b
        return ElasticNet(lam, a / lam if lam > 0 else 1.0)
    raise TypeError(
        "penalty must be a normreg.keras regularizer, a normreg penalty (normreg.L1, L2, ElasticNet, "
        f"GroupLasso) or keras.regularizers.L1/L2/L1L2; got {penalty!r} of type {type(penalty).__name__}"
    )


def to_keras(penalty: Any) -> keras.regularizers.Regularizer:
    """Keras's built-in regularizer with the same value as ``penalty`` (inverse of :func:`as_regularizer`).

    ``L1(lam)`` becomes ``regularizers.L1(lam)``, ``L2(lam)`` ``regularizers.L2(lam / 2)`` and
    ``ElasticNet(lam, r)`` ``regularizers.L1L2(lam * r, lam * (1 - r) / 2)``; group lasso has no
    Keras counterpart (``TypeError``).

    Example
    -------
    >>> from normreg.keras import L2, to_keras
    >>> to_keras(L2(0.02)).get_config()
    {'l2': 0.01}
    """
    reg = as_regularizer(penalty)
    kr = keras.regularizers
    if isinstance(reg, L1):
        return kr.L1(conventions.from_book(reg.lam, "keras", penalty="l1"))
    if isinstance(reg, L2):
        return kr.L2(conventions.from_book(reg.lam, "keras", penalty="l2"))
    if isinstance(reg, ElasticNet):
        r = reg.l1_ratio
        return kr.L1L2(
            l1=conventions.from_book(reg.lam * r, "keras", penalty="l1"),
            l2=conventions.from_book(reg.lam * (1.0 - r), "keras", penalty="l2"),
        )
    raise TypeError(f"penalty has no Keras built-in counterpart; got {reg!r}")


# --------------------------------------------------------------------------------------
# which variables are penalized, and their total penalty
# --------------------------------------------------------------------------------------
def _normalization_classes() -> tuple[type, ...]:
    names = ("BatchNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization", "UnitNormalization")
    return tuple(getattr(keras.layers, n) for n in names if hasattr(keras.layers, n))


def _sublayers(model: Any) -> list[Any]:
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is not None:
        return list(flatten(include_self=True, recursive=True))
    out, todo = [], [model]  # pragma: no cover - Keras versions without _flatten_layers
    while todo:  # pragma: no cover
        layer = todo.pop()
        out.append(layer)
        todo.extend(getattr(layer, "layers", []))
    return out  # pragma: no cover


def _is_default_penalized(v: Any, excluded: set[int]) -> bool:
    name = str(getattr(v, "name", "")).split(":")[0].split("/")[-1]
    return (
        id(v) not in excluded
        and len(v.shape) >= 2
        and "bias" not in name
        and keras.backend.is_float_dtype(keras.backend.standardize_dtype(v.dtype))
    )


def penalized_variables(model: Any, include: Callable[[Any], bool] | Sequence[Any] | None = None) -> list[Any]:
    """The variables of ``model`` that a weight penalty applies to.

    By default: every trainable floating variable with at least two dimensions (kernels,
    embeddings, depthwise/pointwise and recurrent kernels), except biases and the
    parameters of normalization layers (``BatchNormalization``, ``LayerNormalization``,
    ``GroupNormalization``, ``RMSNormalization``: ``gamma``, ``beta``; their moving
    statistics are not trainable). The book never penalizes an intercept: a bias only
    shifts the output, and shrinking it toward 0 biases predictions without reducing complexity.

    Parameters
    ----------
    model : keras.Layer or keras.Model
        A built model (its variables exist).
    include : callable or list of variables, optional
        A callable ``variable -> bool`` chooses among *all* trainable variables (it replaces
        the default rule, e.g. ``lambda v: v.name == "kernel"``); a list of variables of
        ``model`` is used as given.

    Example
    -------
    >>> import keras
    >>> from normreg.keras import penalized_variables
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
    ...                           keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    >>> [v.path.split("/")[-1] for v in penalized_variables(model)]
    ['kernel', 'kernel']
    """
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"model must be a keras.Layer or keras.Model; got {type(model).__name__}")
    trainable = list(model.trainable_variables)
    if include is None:
        norm_classes = _normalization_classes()
        excluded = {id(v) for layer in _sublayers(model) if isinstance(layer, norm_classes) for v in layer.weights}
        return [v for v in trainable if _is_default_penalized(v, excluded)]
    if callable(include):
        return [v for v in trainable if include(v)]
    if isinstance(include, (str, bytes)) or not isinstance(include, Sequence):
        raise TypeError(f"include must be a callable (variable -> bool) or a list of variables; got {include!r}")
    known = {id(v) for v in model.variables}
    for k, v in enumerate(include):
        if id(v) not in known:
            raise ValueError(f"include[{k}] is not a variable of the model; got {getattr(v, 'path', v)!r}")
    return list(include)


def _as_variables(model_or_variables: Any, name: str) -> list[Any]:
    if isinstance(model_or_variables, keras.layers.Layer):
        variables = penalized_variables(model_or_variables)
        if not variables:
            raise ValueError(f"{name} has no variables to penalize (is the model built?)")
        return variables
    if isinstance(model_or_variables, (str, bytes)) or not isinstance(model_or_variables, Sequence):
        raise TypeError(f"{name} must be a keras model/layer or a list of variables; got {model_or_variables!r}")
    if len(model_or_variables) == 0:
        raise ValueError(f"{name} must not be an empty list of variables")
    return [_check_float_tensor(v, f"{name}[{k}]") for k, v in enumerate(model_or_variables)]


def penalty_loss(model_or_variables: Any, penalty: Any) -> Any:
    r"""Total penalty :math:`\sum_k \Omega(W_k)` of a model's penalized variables, a scalar tensor.

    For a custom training loop: add it to the *mean* data loss inside the ``GradientTape``,

    .. code-block:: python

        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True)) + penalty_loss(model, L2(1e-3))
        grads = tape.gradient(loss, model.trainable_variables)

    Each variable is reduced where it lies and the per-variable terms are added in one
    sum: the weights are read once and never copied (concatenating them into one vector
    first would write and read every weight a second time, and the penalty is
    memory-bound), and under ``tf.function``/XLA the whole expression compiles into the
    step. The sum is formed in at least float32, also under a float16/bfloat16 policy, so a
    large penalty cannot overflow float16's 65504. A :class:`GroupLasso`'s groups refer to
    one axis of a weight; each variable must fit its groups.

    Under ``tf.distribute`` with a custom loop, each replica adds the penalty to its share of
    the loss; divide it by the number of replicas (``tf.nn.scale_regularization_loss``) so
    that the summed gradients count it once (``fit`` does this itself).

    Parameters
    ----------
    model_or_variables : keras.Model, keras.Layer or list of variables
        A model means :func:`penalized_variables` of it (biases and normalization excluded).
    penalty : regularizer
        Anything :func:`as_regularizer` accepts (e.g. ``normreg.keras.L1(0.01)`` or ``normreg.L1(0.01)``).

    Example
    -------
    >>> import keras
    >>> from normreg.keras import L1, penalty_loss
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones"),
    ...                           keras.layers.Dense(1, kernel_initializer="ones")])
    >>> round(float(penalty_loss(model, L1(0.1))), 6)   # 0.1 * (6 + 2); biases not counted
    0.8
    """
    reg = as_regularizer(penalty)
    variables = _as_variables(model_or_variables, "model_or_variables")
    dtype = keras.backend.result_type(*[keras.backend.standardize_dtype(v.dtype) for v in variables], "float32")
    terms = [reg(ops.cast(v, dtype)) for v in variables]
    return terms[0] if len(terms) == 1 else ops.sum(ops.stack(terms))


# --------------------------------------------------------------------------------------
# proximal training
# --------------------------------------------------------------------------------------
def _innermost(optimizer: Any) -> Any:
    """The optimizer that owns the learning rate (through wrappers such as ``LossScaleOptimizer``)."""
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def _update_learning_rate(optimizer: Any, done: bool = False) -> Any:
    r"""The learning rate of an optimizer's update, as a tensor.

    ``done=False``: of the update it is about to make (what ``optimizer.learning_rate`` says
    before ``apply``). ``done=True``: of the update it has just made. Keras increments
    ``iterations`` at the end of ``apply``, so after a step ``optimizer.learning_rate``
    already gives the *next* step's rate under a schedule; this evaluates the schedule at
    ``iterations - 1`` instead. A schedule that decays to zero gives 0 (a valid, identity prox).
    """
    opt = _innermost(optimizer)
    lr = getattr(opt, "_learning_rate", None)
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        it = opt._iterations
        return lr(ops.subtract(it, 1) if done else it)
    return ops.convert_to_tensor(opt.learning_rate)


def prox_step(variables: Sequence[Any], penalty: Any, step: Any) -> None:
    r"""Replace each variable :math:`W` by :math:`\operatorname{prox}_{t\Omega}(W)` in place, :math:`t` = ``step``.

    After a gradient step of size :math:`t` on the *data* loss alone, this is one step of
    proximal gradient descent (ISTA, chapter 4) on data loss + :math:`\Omega`: for L1,
    soft-thresholding sets every weight with :math:`|w| \le t\lambda` to exactly 0.
    Do not also put the penalty in the loss (it would be applied twice).

    Parameters
    ----------
    variables : list of variables
        E.g. :func:`penalized_variables` of a model.
    penalty : regularizer
        Anything :func:`as_regularizer` accepts.
    step : float or scalar tensor
        The step :math:`t \ge 0`, normally the optimizer's learning rate (0: no change).

    Example
    -------
    >>> import keras, numpy as np
    >>> from normreg.keras import L1, prox_step
    >>> w = keras.Variable(np.array([[0.5, -0.125], [0.0, -1.0]], dtype="float32"))
    >>> prox_step([w], L1(1.0), step=0.25)       # soft-threshold at 0.25
    >>> print(keras.ops.convert_to_numpy(w))
    [[ 0.25  0.  ]
     [ 0.   -0.75]]
    """
    reg = as_regularizer(penalty)
    t = _step(step)
    if isinstance(variables, (str, bytes)) or not isinstance(variables, Sequence):
        raise TypeError(f"variables must be a list of variables; got {variables!r}")
    for k, v in enumerate(variables):
        if not hasattr(v, "assign"):
            raise TypeError(f"variables[{k}] must be a variable (with .assign); got {type(v).__name__}")
        v.assign(reg.prox(v, t))


class ProximalCallback(keras.callbacks.Callback):
    r"""Apply the penalty's proximal operator to the penalized weights after every training batch.

    With ``model.fit`` minimizing the data loss alone, each batch then does

    .. math::

        W \leftarrow \operatorname{prox}_{\eta\Omega}\big(W - \eta\,\mathrm{update}\big),

    where :math:`\eta` is the optimizer's current learning rate (or ``learning_rate``). For
    plain SGD this is exactly proximal (stochastic) gradient descent on data loss + :math:`\Omega`;
    with an adaptive optimizer (Adam) the gradient step is preconditioned and the prox is not,
    so it is a heuristic with the same fixed zeros. Either way, soft-thresholding (L1, elastic
    net) and block soft-thresholding (group lasso) leave **exact zeros**, which a penalty in
    the loss (Keras's ``L1`` included) never produces.

    Parameters
    ----------
    penalty : regularizer
        Anything :func:`as_regularizer` accepts; do not also add it as a ``kernel_regularizer``.
    learning_rate : float, optional
        The prox step :math:`\eta`; by default the optimizer's learning rate at each batch.
    include : callable or list of variables, optional
        Which variables to penalize, as in :func:`penalized_variables` (default: kernels, not
        biases or normalization parameters).

    Example
    -------
    >>> import keras, numpy as np
    >>> from normreg.keras import L1, ProximalCallback
    >>> keras.utils.set_random_seed(0)
    >>> x = np.random.default_rng(0).standard_normal((64, 5)).astype("float32")
    >>> y = x[:, :1]                        # only the first input matters
    >>> model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> _ = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[ProximalCallback(L1(0.05))])
    >>> int((keras.ops.convert_to_numpy(model.layers[0].kernel) == 0).sum())     # the 4 useless inputs: exactly 0
    4
    """

    def __init__(
        self,
        penalty: Any,
        learning_rate: float | None = None,
        include: Callable[[Any], bool] | Sequence[Any] | None = None,
    ) -> None:
        super().__init__()
        self.penalty = as_regularizer(penalty)
        self.learning_rate = None if learning_rate is None else check_scalar(learning_rate, "learning_rate", low=0.0)
        self.include = include
        self.variables: list[Any] = []
        self._update: Callable[[Any], None] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        spe = getattr(self.model, "steps_per_execution", 1)
        if spe not in (None, 1) and int(spe) != 1:
            raise ValueError(f"ProximalCallback needs steps_per_execution=1 (a prox after every step); got {int(spe)}")
        if self.learning_rate is None and getattr(self.model, "optimizer", None) is None:
            raise ValueError("ProximalCallback needs a compiled model or learning_rate=")
        self.variables = penalized_variables(self.model, self.include)
        self._update = None
        if not self.variables:
            raise ValueError("ProximalCallback found no variables to penalize")
        if any(getattr(v, "regularizer", None) is not None for v in self.variables):
            warnings.warn(
                "ProximalCallback: some penalized variables also have a regularizer in the loss; "
                "the penalty is then applied twice",
                UserWarning,
                stacklevel=2,
            )

    def current_step(self) -> float:
        """The prox step for the batch that just ended: ``learning_rate`` if given, else the
        learning rate the optimizer used for that batch's update (see :func:`_update_learning_rate`)."""
        if self.learning_rate is not None:
            return self.learning_rate
        return float(ops.convert_to_numpy(_update_learning_rate(self.model.optimizer, done=True)))

    def _make_update(self) -> Callable[[Any], None]:
        variables, reg = self.variables, self.penalty

        def update(step: Any) -> None:
            prox_step(variables, reg, step)

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf  # compiled once: about 5x faster per batch than eager ops

            return tf.function(update)
        return update

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        step = check_scalar(self.current_step(), "learning rate (the prox step)", low=0.0)
        if self._update is None:
            self._update = self._make_update()
        # a tensor, so that a changing learning rate does not retrace the compiled update
        self._update(ops.convert_to_tensor(step, dtype="float32"))
