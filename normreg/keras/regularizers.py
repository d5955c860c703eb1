r"""Keras regularizers in the book's convention, and the variables they apply to.

:class:`L1`, :class:`L2`, :class:`ElasticNet` and :class:`GroupLasso` are
``keras.regularizers.Regularizer`` subclasses with the NumPy core's constants, a ``prox``
and ``to_numpy``; :func:`penalized_variables` says which variables of a model a weight
penalty applies to, :func:`penalty_loss` sums a penalty over them for a custom loop.
Import them from :mod:`normreg.keras`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from .. import conventions
from .. import penalties as _core
from .._validation import check_scalar
from ..penalties import _check_groups, _ConfigEquality

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
    "batchnorm_scales",
]

_PACKAGE = "normreg"


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _check_float_tensor(x: Any, name: str) -> Any:
    """``x`` as a tensor (a Keras variable stays a variable) with a floating dtype, or ``TypeError``.

    A NumPy array becomes a backend tensor too: PyTorch's tensors do not mix with NumPy
    arrays in arithmetic (``array - tensor`` is a ``TypeError``)."""
    if not isinstance(x, (keras.Variable, keras.KerasTensor)) and not ops.is_tensor(x):
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
    return v - ops.clip(v, -t, t)


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
    hover around zero but do not land on it: train with
    :class:`ProximalOptimizer` for exact zeros.

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

    ``groups=None`` makes every index along ``axis`` its own group, whatever the size of
    that axis, so that one penalty serves every layer of a network:
    ``GroupLasso(lam, axis=-1)`` is a group per unit of each ``Dense`` kernel and a group
    per filter of each ``Conv2D`` kernel (Wen et al., 2016's filter-wise sparsity), which
    :func:`prune_zero_units` then removes.

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

    def __init__(
        self, lam: float, groups: Sequence[Sequence[int]] | Sequence[int] | None = None, axis: int = 0
    ) -> None:
        self.lam = check_scalar(lam, "lam", low=0.0)
        self.axis = int(check_scalar(axis, "axis", integer=True))
        if groups is None:
            self.groups = None
            self.n_indices = None
            self._segment_ids = None
            self._sizes = None
            return
        self.groups = _check_groups(groups)
        self.n_indices = sum(len(g) for g in self.groups)
        seg = np.empty(self.n_indices, dtype="int32")
        for k, g in enumerate(self.groups):
            seg[list(g)] = k
        self._segment_ids = seg  # group of each index along `axis`
        self._sizes = np.array([len(g) for g in self.groups], dtype="float64")

    def get_config(self) -> dict[str, Any]:
        groups = None if self.groups is None else [list(g) for g in self.groups]
        return {"lam": self.lam, "groups": groups, "axis": self.axis}

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
            if self.groups is None:
                raise ValueError("GroupLasso(groups=None).to_numpy needs the weight's shape: to_numpy(W.shape)")
            return _core.GroupLasso(self.lam, self.groups)
        if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
            raise TypeError(f"shape must be a tuple of ints (e.g. W.shape); got {shape!r}")
        dims = tuple(int(check_scalar(d, f"shape[{i}]", low=1, integer=True)) for i, d in enumerate(shape))
        ndim = len(dims)
        axis = self.axis + ndim if self.axis < 0 else self.axis
        if not 0 <= axis < ndim:
            raise ValueError(f"axis {self.axis} is out of range for a weight of shape {dims}")
        groups_along = self.groups if self.groups is not None else [[j] for j in range(dims[axis])]
        if self.n_indices is not None and dims[axis] != self.n_indices:
            raise ValueError(
                f"groups cover {self.n_indices} indices along axis {self.axis}, but shape {dims} has "
                f"{dims[axis]} there"
            )
        flat = np.arange(int(np.prod(dims))).reshape(dims)
        groups = [np.take(flat, list(g), axis=axis).ravel().tolist() for g in groups_along]
        return _core.GroupLasso(self.lam, [sorted(g) for g in groups])

    def _rows(self, x: Any) -> tuple[Any, int, int]:
        """``x`` with ``axis`` moved to the front and flattened to ``(n, k)``; also the axis and ``k``."""
        ndim = len(x.shape)
        axis = self.axis + ndim if self.axis < 0 else self.axis
        if not 0 <= axis < ndim:
            raise ValueError(f"axis {self.axis} is out of range for a weight of shape {tuple(x.shape)}")
        n = x.shape[axis]
        if self.n_indices is not None and n != self.n_indices:
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
        row_max = ops.max(ops.abs(rows), axis=1)
        if self._segment_ids is None:  # one group per row
            scale = ops.stop_gradient(ops.where(ops.greater(row_max, 0), row_max, ops.ones_like(row_max)))
            return scale * _safe_sqrt(ops.sum(ops.square(rows / ops.expand_dims(scale, 1)), axis=1))
        seg = ops.convert_to_tensor(self._segment_ids)
        n_groups = len(self.groups)
        group_max = ops.segment_max(row_max, seg, num_segments=n_groups)
        scale = ops.stop_gradient(ops.where(ops.greater(group_max, 0), group_max, ops.ones_like(group_max)))
        scaled = rows / ops.expand_dims(ops.take(scale, seg), 1)
        group_sq = ops.segment_sum(ops.sum(ops.square(scaled), axis=1), seg, num_segments=n_groups)
        return scale * _safe_sqrt(group_sq)

    def _weights(self, x: Any, k: int) -> Any:
        if self._sizes is None:
            return ops.convert_to_tensor(np.sqrt(float(k)), dtype=x.dtype)
        return ops.cast(np.sqrt(self._sizes * k), x.dtype)

    def _value(self, x: Any) -> Any:
        rows, _, k = self._rows(x)
        return self._coef(x, self.lam) * ops.sum(self._weights(x, k) * self._group_norms(rows))

    def _prox(self, v: Any, t: Any) -> Any:
        rows, axis, k = self._rows(v)
        norms = self._group_norms(rows)
        positive = ops.greater(norms, 0)
        safe = ops.where(positive, norms, ops.ones_like(norms))
        # relu, not ops.maximum(., 0): on PyTorch, Keras's minimum/maximum return float32 for
        # float64 operands (so _soft_threshold uses ops.clip)
        shrink = ops.relu(1.0 - t * self._coef(v, self.lam) * self._weights(v, k) / safe)
        factors = ops.where(positive, shrink, ops.zeros_like(shrink))
        if self._segment_ids is not None:
            factors = ops.take(factors, ops.convert_to_tensor(self._segment_ids))
        out = rows * ops.expand_dims(factors, 1)
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


#: the names Keras's normalization layers give their parameters (BatchNormalization,
#: LayerNormalization, GroupNormalization: gamma, beta; RMSNormalization: scale)
_NORMALIZATION_NAMES = frozenset({"gamma", "beta"})


def _is_default_penalized(v: Any, excluded: set[int]) -> bool:
    """The default rule, for a variable alone (``ProximalOptimizer`` sees no layers): a
    floating variable of at least 2 dimensions that is neither a bias nor a normalization
    parameter. Normalization parameters are recognized by ``excluded`` (the weights of the
    normalization layers, where the model is known) and by Keras's names for them, so that
    the rule gives the same variables with and without the model."""
    name = str(getattr(v, "name", "")).split(":")[0].split("/")[-1]
    path = str(getattr(v, "path", name)).split("/")
    rms_scale = name == "scale" and len(path) >= 2 and "normalization" in path[-2]
    return (
        id(v) not in excluded
        and len(v.shape) >= 2
        and "bias" not in name
        and name not in _NORMALIZATION_NAMES
        and not rms_scale
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


def batchnorm_scales(model: Any) -> list[Any]:
    r"""The scales :math:`\gamma` of every ``BatchNormalization`` layer of ``model`` (with ``scale=True``).

    Network slimming (Liu et al., 2017) puts an L1 penalty on these: a channel whose
    :math:`\gamma` is 0 outputs the constant :math:`\beta` whatever its input, and
    :func:`prune_zero_units` removes it. Trained with :class:`ProximalOptimizer`, the
    penalty's soft-thresholding sets :math:`\gamma` to exactly 0; a subgradient of L1 in the
    loss only makes it small.

    Example
    -------
    >>> import keras
    >>> from normreg.keras import L1, ProximalOptimizer, batchnorm_scales
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...                           keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    >>> [v.path.split("/")[-1] for v in batchnorm_scales(model)]
    ['gamma']
    >>> opt = ProximalOptimizer(keras.optimizers.SGD(0.1), L1(1e-3), include=batchnorm_scales(model))
    """
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"model must be a keras.Layer or keras.Model; got {type(model).__name__}")
    return [
        layer.gamma
        for layer in _sublayers(model)
        if isinstance(layer, keras.layers.BatchNormalization) and getattr(layer, "gamma", None) is not None
    ]


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


