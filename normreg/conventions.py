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

Decoupled weight decay (PyTorch's ``AdamW``, ``optax.adamw``, Keras 3's ``weight_decay=``
argument of every optimizer) is *not* in the table: under SGD it equals ``L2(wd)``, under
Adam it is not an L2 penalty at all (chapter 5).

Example
-------
>>> from normreg import conventions
>>> conventions.to_book(0.01, "keras", penalty="l2")
0.02
>>> conventions.from_book(0.02, "sklearn-ridge", penalty="l2", n_samples=100)
2.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from ._validation import check_scalar

__all__ = ["CONVENTIONS", "to_book", "from_book"]

Penalty = Literal["l1", "l2", "elasticnet"]

# (convention, penalty) -> (to_book(value, m), from_book(lam, m), needs n_samples)
_Rule = tuple[Callable[[float, float], float], Callable[[float, float], float], bool]
_RULES: dict[tuple[str, str], _Rule] = {
    ("book", "l1"): (lambda v, m: v, lambda lam, m: lam, False),
    ("book", "l2"): (lambda v, m: v, lambda lam, m: lam, False),
    ("keras", "l1"): (lambda v, m: v, lambda lam, m: lam, False),
    ("keras", "l2"): (lambda v, m: 2.0 * v, lambda lam, m: lam / 2.0, False),
    ("sklearn-lasso", "l1"): (lambda v, m: v, lambda lam, m: lam, False),
    ("sklearn-ridge", "l2"): (lambda v, m: v / m, lambda lam, m: lam * m, True),
    ("sklearn-logistic", "l2"): (lambda c, m: 1.0 / (c * m), lambda lam, m: 1.0 / (lam * m), True),
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


def to_book(value: float, convention: str, *, penalty: Penalty = "l2", n_samples: int | None = None) -> float:
    """The book's :math:`\\lambda` for a strength ``value`` written in ``convention`` (see the table above).

    ``n_samples`` (:math:`m`) is needed where the other convention sums the data term
    instead of averaging it. For ``"sklearn-logistic"`` the value is ``C`` (> 0).
    """
    rule, m = _rule(convention, penalty, n_samples)
    low_open = convention == "sklearn-logistic"
    v = check_scalar(value, "value", low=0.0, low_open=low_open)
    return rule[0](v, m)


def from_book(lam: float, convention: str, *, penalty: Penalty = "l2", n_samples: int | None = None) -> float:
    """The value to pass to ``convention`` for the book's ``L1(lam)``/``L2(lam)``; inverse of :func:`to_book`."""
    rule, m = _rule(convention, penalty, n_samples)
    low_open = convention == "sklearn-logistic"  # C = 1/(lam m) needs lam > 0
    lam_ = check_scalar(lam, "lam", low=0.0, low_open=low_open)
    return rule[1](lam_, m)
