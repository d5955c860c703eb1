r"""Convert a regularization strength between this book and other libraries (chapter 3).

The same penalty is written with different constants in different places. With the
book's convention the data term is a *mean* over the :math:`m` samples and

* ``L1(lam)`` is :math:`\lambda\|w\|_1`,
* ``L2(lam)`` is :math:`\frac{\lambda}{2}\|w\|_2^2` (gradient :math:`\lambda w`).

The table below says what :math:`\lambda` a value written in another convention means.

===========================  =======  =================================================  ====================
convention                   penalty  what the library minimizes / does                  book :math:`\lambda`
===========================  =======  =================================================  ====================
``"book"``                   l1, l2   mean loss + ``L1(lam)`` or ``L2(lam)``             ``lam``
``"keras"``                  l1       mean loss + ``l1 * sum|w|`` (``regularizers.L1``)  ``l1``
``"keras"``                  l2       mean loss + ``l2 * sum w**2`` (no 1/2)             ``2 * l2``
``"sklearn-lasso"``          l1       ``1/(2m) ||y - Xw||^2 + alpha ||w||_1``            ``alpha``
``"sklearn-ridge"``          l2       ``||y - Xw||^2 + alpha ||w||^2`` (a sum)           ``alpha / m``
``"sklearn-logistic"``       l2       ``C * sum(logloss) + 1/2 ||w||^2``                 ``1 / (C m)``
``"pytorch-weight-decay"``   l2       ``grad += weight_decay * w`` (SGD, Adam)           ``weight_decay``
``"optax-decayed-weights"``  l2       ``add_decayed_weights(wd)``: ``update += wd * w``  ``wd``
``"article"``                l1       ``1/(2m) sum (h - y)^2 + lam/(2m) ||w||_1``        ``lam / (2m)``
``"article"``                l2       ``1/(2m) sum (h - y)^2 + lam/(2m) ||w||^2``        ``lam / m``
``"sklearn-elasticnet"``     enet     same objective as the book's ``ElasticNet``        ``alpha``
``"sklearn-mlp"``            l2       ``mean(logloss) + alpha/(2m) sum ||W||_F^2``       ``alpha / m``
===========================  =======  =================================================  ====================

For ``"sklearn-elasticnet"`` (``penalty="elasticnet"``) the ``l1_ratio`` is the same on both
sides: scikit-learn's ``ElasticNet(alpha=a, l1_ratio=r)`` is the book's ``ElasticNet(a, r)``.
For ``"sklearn-mlp"`` (``MLPClassifier``/``MLPRegressor``'s ``alpha``; biases are not penalized)
:math:`m` is the number of samples in one gradient evaluation: the training set for
``solver="lbfgs"``, the mini-batch (``batch_size``) for ``"sgd"`` and ``"adam"``.

The ``"pytorch-weight-decay"`` and ``"optax-decayed-weights"`` rows are *coupled* weight
decay: the term is added to the gradient before the optimizer sees it, so it is the
gradient of ``L2(wd)`` whatever the optimizer does next. Weight decay applied *beside* the
optimizer's step is another matter, handled by the functions below.

Weight decay given to an optimizer
----------------------------------
:func:`weight_decay_to_l2` (and its inverse :func:`l2_to_weight_decay`) answers: "training
with this optimizer's ``weight_decay`` reaches the fixed point of which ``L2(lam)`` added to
the mean loss?" The optimizer is named as in :data:`WEIGHT_DECAY`. Coupled decay
(``"torch-sgd"``, ``"torch-adam"``, ``"optax-sgd"``) is ``L2(wd)`` with or without momentum,
step for step. Keras 3's ``weight_decay=`` is decoupled, a separate pass
:math:`w \leftarrow w - \eta\,\mathrm{wd}\,w` before the optimizer's update; under
``SGD(momentum=mu)`` its fixed point is that of ``L2((1 - mu) * wd)``
(:func:`keras_weight_decay_to_l2`), and only for ``mu = 0`` are the two the same
trajectory. Decoupled decay beside an adaptive step (``"keras-adam"``, ``"keras-adamw"``,
``"torch-adamw"``, ``"optax-adamw"``) is no L2 penalty at any strength: the functions raise
``ValueError`` rather than convert it into a loss term. Every conversion assumes a mean data
loss (``reduction="mean"``; pass ``reduction="sum", n_samples=batch`` otherwise) and that the
decay reaches exactly the parameters the penalty would: biases and normalization
parameters excluded (PyTorch parameter groups with ``weight_decay=0``, optax's ``mask=``,
Keras's ``optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])`` before
the optimizer is built). Chapter 3 checks each case by training to the fixed point.

Example
-------
>>> from normreg import conventions
>>> conventions.to_book(0.01, "keras", penalty="l2")
0.02
>>> conventions.from_book(0.02, "sklearn-ridge", penalty="l2", n_samples=100)
2.0
>>> conventions.keras_weight_decay_to_l2(0.01, momentum=0.9)  # doctest: +ELLIPSIS
0.00099999...
>>> conventions.weight_decay_to_l2(0.01, "torch-sgd", momentum=0.9)
0.01
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from ._validation import check_scalar

__all__ = [
    "CONVENTIONS",
    "WEIGHT_DECAY",
    "from_book",
    "keras_weight_decay_to_l2",
    "l2_to_keras_weight_decay",
    "l2_to_weight_decay",
    "to_book",
    "weight_decay_to_l2",
]

Penalty = Literal["l1", "l2", "elasticnet"]



def _inverse_product(a: float, m: float) -> float:
    """:math:`1/(a m)` for ``a > 0``, ``m >= 1`` without an intermediate overflow.

    ``a * m`` overflows only when ``a`` is large, and then ``1 / a`` is finite; ``1 / a``
    overflows only when ``a`` is tiny, and then ``a * m`` is finite. The result is ``inf``
    only when the true value is not representable.
    """
    prod = a * m
    if prod == float("inf"):
        return (1.0 / a) / m
    return 1.0 / prod


# (convention, penalty) -> (to_book(value, m), from_book(lam, m), needs n_samples)
_Rule = tuple[Callable[[float, float], float], Callable[[float, float], float], bool]
_RULES: dict[tuple[str, str], _Rule] = {
    ("book", "l1"): (lambda v, m: v, lambda lam, m: lam, False),
    ("book", "l2"): (lambda v, m: v, lambda lam, m: lam, False),
    ("keras", "l1"): (lambda v, m: v, lambda lam, m: lam, False),
    ("keras", "l2"): (lambda v, m: 2.0 * v, lambda lam, m: lam / 2.0, False),
    ("sklearn-lasso", "l1"): (lambda v, m: v, lambda lam, m: lam, False),
    ("sklearn-ridge", "l2"): (lambda v, m: v / m, lambda lam, m: lam * m, True),
    ("sklearn-logistic", "l2"): (lambda c, m: _inverse_product(c, m), lambda lam, m: _inverse_product(lam, m), True),
    ("pytorch-weight-decay", "l2"): (lambda v, m: v, lambda lam, m: lam, False),
    ("optax-decayed-weights", "l2"): (lambda v, m: v, lambda lam, m: lam, False),
    ("article", "l1"): (lambda v, m: v / (2.0 * m), lambda lam, m: 2.0 * m * lam, True),
    ("article", "l2"): (lambda v, m: v / m, lambda lam, m: m * lam, True),
    ("sklearn-elasticnet", "elasticnet"): (lambda v, m: v, lambda lam, m: lam, False),
    ("sklearn-mlp", "l2"): (lambda v, m: v / m, lambda lam, m: lam * m, True),
}

#: Every convention this module knows, with the penalties it defines.
CONVENTIONS: dict[str, tuple[str, ...]] = {}
for _conv, _pen in _RULES:
    CONVENTIONS.setdefault(_conv, ())
    CONVENTIONS[_conv] += (_pen,)


def _rule(convention: str, penalty: str, n_samples: int | None) -> tuple[_Rule, float]:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}; got {convention!r}")
    if (convention, penalty) not in _RULES:
        raise ValueError(
            f"penalty must be one of {CONVENTIONS[convention]} for convention {convention!r}; got {penalty!r}"
        )
    rule = _RULES[(convention, penalty)]
    if rule[2]:
        if n_samples is None:
            raise ValueError(f"n_samples is required for convention {convention!r} (its constant involves m)")
        m = float(check_scalar(n_samples, "n_samples", low=1, integer=True))
    else:
        m = 1.0
    return rule, m


def _is_positive_inf(value: Any) -> bool:
    try:
        return bool(np.isposinf(value))
    except TypeError:
        return False


def to_book(value: float, convention: str, *, penalty: Penalty = "l2", n_samples: int | None = None) -> float:
    """The book's :math:`\\lambda` for a strength ``value`` written in ``convention`` (see the table above).

    ``n_samples`` (:math:`m`) is needed where the other convention sums the data term
    instead of averaging it. For ``"sklearn-logistic"`` the value is ``C`` (> 0; ``C=inf``,
    scikit-learn's unpenalized model, is :math:`\\lambda = 0`).
    """
    rule, m = _rule(convention, penalty, n_samples)
    logistic = convention == "sklearn-logistic"
    if logistic and np.ndim(value) == 0 and _is_positive_inf(value):
        return 0.0  # scikit-learn's C=np.inf: unpenalized
    v = check_scalar(value, "value", low=0.0, low_open=logistic)
    return rule[0](v, m)


def from_book(lam: float, convention: str, *, penalty: Penalty = "l2", n_samples: int | None = None) -> float:
    """The value to pass to ``convention`` for the book's ``L1(lam)``/``L2(lam)``; inverse of :func:`to_book`.

    For ``"sklearn-logistic"``, ``lam=0`` gives ``C=inf`` (scikit-learn's unpenalized model).
    """
    rule, m = _rule(convention, penalty, n_samples)
    lam_ = check_scalar(lam, "lam", low=0.0)
    if convention == "sklearn-logistic" and lam_ == 0.0:
        return float("inf")  # L2(0): scikit-learn's C=np.inf
    return rule[1](lam_, m)


# -- weight decay given to an optimizer ------------------------------------------------------

#: How each optimizer applies its ``weight_decay`` argument. ``"coupled"``: ``wd * w`` is
#: added to the gradient before the optimizer's step (``L2(wd)`` exactly, step for step).
#: ``"decoupled-sgd"``: ``w -= lr * wd * w`` in a separate pass beside an SGD step (with
#: momentum ``mu``, the fixed point of ``L2((1 - mu) * wd)``). ``"decoupled-adaptive"``: the
#: same pass beside an adaptive step (Adam, RMSprop, ...): no L2 penalty at any strength.
WEIGHT_DECAY: dict[str, str] = {
    "torch-sgd": "coupled",  # torch.optim.SGD(weight_decay=wd), any momentum/nesterov
    "torch-adam": "coupled",  # torch.optim.Adam(weight_decay=wd) (not AdamW)
    "optax-sgd": "coupled",  # optax.chain(optax.add_decayed_weights(wd), optax.sgd(lr, mu))
    "keras-sgd": "decoupled-sgd",  # keras.optimizers.SGD(lr, momentum=mu, weight_decay=wd)
    "keras-adam": "decoupled-adaptive",  # keras.optimizers.Adam(weight_decay=wd), RMSprop, ...
    "keras-adamw": "decoupled-adaptive",  # keras.optimizers.AdamW(weight_decay=wd)
    "torch-adamw": "decoupled-adaptive",  # torch.optim.AdamW(weight_decay=wd)
    "optax-adamw": "decoupled-adaptive",  # optax.adamw(lr, weight_decay=wd)
}


def _weight_decay_factor(
    optimizer: str, momentum: float, reduction: str, n_samples: int | None
) -> tuple[float, float]:
    """``(f, m)`` with lam = wd * f / m: f = 1 - mu for decoupled SGD, 1 if coupled; m for a sum."""
    if optimizer not in WEIGHT_DECAY:
        raise ValueError(f"optimizer must be one of {sorted(WEIGHT_DECAY)}; got {optimizer!r}")
    mu = check_scalar(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    kind = WEIGHT_DECAY[optimizer]
    if kind == "decoupled-adaptive":
        raise ValueError(
            f"optimizer {optimizer!r} applies decoupled weight decay beside an adaptive step: that is "
            "not an L2 penalty on the loss at any strength (Loshchilov & Hutter 2019). Keep it as the "
            "optimizer's weight_decay; do not convert it into a loss term"
        )
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}")
    if reduction == "sum":
        if n_samples is None:
            raise ValueError("n_samples is required for reduction='sum' (the examples the loss sums over)")
        m = float(check_scalar(n_samples, "n_samples", low=1, integer=True))
    else:
        m = 1.0
    factor = (1.0 - mu) if kind == "decoupled-sgd" else 1.0
    return factor, m


def weight_decay_to_l2(
    weight_decay: float,
    optimizer: str,
    *,
    momentum: float = 0.0,
    reduction: Literal["mean", "sum"] = "mean",
    n_samples: int | None = None,
) -> float:
    r"""The book's :math:`\lambda` of the ``L2(lam)`` that an optimizer's ``weight_decay`` amounts to.

    With the data loss :math:`L` (a mean over the batch) and :math:`g = \nabla L(w)`:

    * **coupled** (``"torch-sgd"``, ``"torch-adam"``, ``"optax-sgd"``): the optimizer steps on
      :math:`g + \mathrm{wd}\,w`, the gradient of :math:`L + \texttt{L2}(\mathrm{wd})`. Every
      iterate is the one of training on that loss, with or without momentum (PyTorch's
      ``dampening < 1``, ``nesterov`` either way): :math:`\lambda = \mathrm{wd}`.
    * **decoupled, SGD** (``"keras-sgd"``): Keras 3 first sets
      :math:`w \leftarrow w - \eta\,\mathrm{wd}\,w`, then :math:`v \leftarrow \mu v - \eta g`,
      :math:`w \leftarrow w + v` (Nesterov: :math:`w \leftarrow w + \mu v - \eta g`). At a fixed
      point :math:`v = \eta\,\mathrm{wd}\,w` and :math:`(1 - \mu)v = -\eta g`, so
      :math:`g + (1 - \mu)\,\mathrm{wd}\,w = 0`: the stationarity condition of
      :math:`L + \texttt{L2}((1 - \mu)\,\mathrm{wd})`, :math:`\lambda = (1 - \mu)\,\mathrm{wd}`.
      For :math:`\mu = 0` the two are the same trajectory; for :math:`\mu > 0` only the same
      fixed point, which needs a constant learning rate (under a schedule the decay of step
      :math:`t` is :math:`\eta_t\mathrm{wd}` while the velocity remembers earlier rates).
    * **decoupled, adaptive** (``"keras-adam"``, ``"keras-adamw"``, ``"torch-adamw"``,
      ``"optax-adamw"``): the shrinkage is not rescaled by the preconditioner while the
      gradient is, so no :math:`\lambda` gives the same training: raises ``ValueError``.

    Conditions for every case: full-batch gradients, or the fixed point of the expected
    gradient for mini-batches; the decay reaches exactly the parameters the penalty would
    (the book never penalizes biases or normalization parameters: exclude them with PyTorch
    parameter groups of ``weight_decay=0``, optax's ``mask=``, or Keras's
    ``exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])`` before the optimizer
    is built); and a *mean* data loss (``reduction="mean"``, the default of PyTorch, optax
    examples and Keras). For a summed loss pass ``reduction="sum"`` and ``n_samples``, the
    number of examples it sums over per step: :math:`\lambda` is then divided by it.

    Parameters
    ----------
    weight_decay : float
        The optimizer's ``weight_decay`` (>= 0).
    optimizer : str
        A key of :data:`WEIGHT_DECAY`.
    momentum : float
        :math:`\mu \in [0, 1)`; it matters only for ``"keras-sgd"``.
    reduction : {"mean", "sum"}
        How the data loss reduces over the batch.
    n_samples : int, optional
        Examples per step, required for ``reduction="sum"``.

    Examples
    --------
    >>> weight_decay_to_l2(0.01, "keras-sgd", momentum=0.9)  # doctest: +ELLIPSIS
    0.00099999...
    >>> weight_decay_to_l2(0.01, "torch-sgd", momentum=0.9)
    0.01
    >>> weight_decay_to_l2(0.01, "torch-sgd", reduction="sum", n_samples=100)
    0.0001
    """
    factor, m = _weight_decay_factor(optimizer, momentum, reduction, n_samples)
    wd = check_scalar(weight_decay, "weight_decay", low=0.0)
    return (wd * factor) / m  # in this order: no intermediate overflow or underflow


def l2_to_weight_decay(
    lam: float,
    optimizer: str,
    *,
    momentum: float = 0.0,
    reduction: Literal["mean", "sum"] = "mean",
    n_samples: int | None = None,
) -> float:
    r"""The ``weight_decay`` to give ``optimizer`` for the fixed point of ``L2(lam)``.

    Inverse of :func:`weight_decay_to_l2`, under the same conditions: for ``"keras-sgd"``
    :math:`\mathrm{wd} = \lambda/(1 - \mu)`; for coupled decay :math:`\mathrm{wd} = \lambda`;
    for decoupled decay beside an adaptive step, ``ValueError``.

    >>> l2_to_weight_decay(0.001, "keras-sgd", momentum=0.9)  # doctest: +ELLIPSIS
    0.0100000...
    """
    factor, m = _weight_decay_factor(optimizer, momentum, reduction, n_samples)
    lam_ = check_scalar(lam, "lam", low=0.0)
    return (lam_ / factor) * m  # inf only if the true value overflows


def keras_weight_decay_to_l2(weight_decay: float, *, momentum: float = 0.0) -> float:
    r"""``L2(lam)`` with the fixed point of Keras 3's ``SGD(momentum=mu, weight_decay=wd)``.

    :math:`\lambda = (1 - \mu)\,\mathrm{wd}`, for a constant learning rate (see
    :func:`weight_decay_to_l2`, optimizer ``"keras-sgd"``). For ``momentum=0`` the decayed
    and the penalized training are the same step for step. Keras's adaptive optimizers
    (``Adam``, ``AdamW``, ``RMSprop``, ...) have no such equivalent.

    >>> keras_weight_decay_to_l2(0.01, momentum=0.0)
    0.01
    """
    return weight_decay_to_l2(weight_decay, "keras-sgd", momentum=momentum)


def l2_to_keras_weight_decay(lam: float, *, momentum: float = 0.0) -> float:
    r"""Keras 3 ``SGD(momentum=mu, weight_decay=wd)`` reaching the fixed point of ``L2(lam)``.

    :math:`\mathrm{wd} = \lambda/(1 - \mu)`; inverse of :func:`keras_weight_decay_to_l2`.

    >>> l2_to_keras_weight_decay(0.01, momentum=0.5)
    0.02
    """
    return l2_to_weight_decay(lam, "keras-sgd", momentum=momentum)
