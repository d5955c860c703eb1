r"""Norm penalties, proximal training and pruning for Keras 3, in the book's convention.

This is the only part of ``normreg`` that imports Keras (and through it a backend:
TensorFlow, JAX or PyTorch). Everything is written with ``keras.ops``, so it runs on every
Keras 3 backend; the tests run it on TensorFlow, JAX and (where installed) PyTorch. ``import normreg.keras as nk``
gives every name below; the code lives in three modules, by idea:

* **Regularizers** (``normreg/keras/regularizers.py``, chapter 5): :class:`L1`, :class:`L2`,
  :class:`ElasticNet`, :class:`GroupLasso`: ``keras.regularizers.Regularizer`` subclasses
  for ``kernel_regularizer=...``, with the same constants as the NumPy core
  (:class:`normreg.L2` is :math:`\frac{\lambda}{2}\|w\|_2^2`; Keras's own
  ``regularizers.L2(l2)`` is :math:`l_2\|w\|_2^2`, without the :math:`\frac12`). Each also has
  ``prox(v, step)`` and ``to_numpy()``. :func:`penalized_variables` (kernels and
  embeddings, not biases or normalization parameters), :func:`batchnorm_scales`, and
  :func:`penalty_loss` (the total penalty, for a custom ``GradientTape`` loop);
  :func:`as_regularizer`, :func:`to_keras`: conversions to and from the NumPy core's
  penalties and Keras's built-in ``L1``/``L2``/``L1L2``, through :mod:`normreg.conventions`.
* **Proximal training** (``normreg/keras/optimizers.py``): :class:`ProximalOptimizer` wraps
  any Keras optimizer and applies the penalty's proximal operator after each update,
  inside the compiled train step, so that L1 and group lasso produce *exact* zeros, which
  a penalty added to the loss never does. :func:`prox_step` is the step itself;
  :class:`ProximalCallback` does it from a callback (deprecated since 0.2, removed in 0.3:
  it warns and names the one-line replacement).
* **Pruning** (``normreg/keras/pruning.py``): :func:`prune_zero_units` turns those zeros
  into a physically smaller Keras model with the same outputs; :func:`multiply_adds`
  counts what a forward pass costs.

**Saving and loading.** The regularizers and :class:`ProximalOptimizer` are registered as
serializable (``normreg>L1``, ..., ``normreg>ProximalOptimizer``), so a model that uses them
survives ``model.save`` / ``keras.models.load_model`` without ``custom_objects``, **provided
``normreg.keras`` has been imported** in the process that loads it: the import registers
the classes. Without it Keras falls back to its own ``L2``/``L1`` and fails with
``L2.__init__() got an unexpected keyword argument 'lam'``. A model returned by
:func:`prune_zero_units` contains no normreg object and loads anywhere.

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

from . import optimizers, pruning, regularizers  # noqa: F401  (the modules, for readers)
from .optimizers import ProximalCallback, ProximalOptimizer, prox_step
from .pruning import PruningError, multiply_adds, prune_zero_units
from .regularizers import (
    L1,
    L2,
    ElasticNet,
    GroupLasso,
    Regularizer,
    as_regularizer,
    batchnorm_scales,
    penalized_variables,
    penalty_loss,
    to_keras,
)

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
    "ProximalOptimizer",
    "prox_step",
    "ProximalCallback",
    "prune_zero_units",
    "PruningError",
    "multiply_adds",
]

# Documented (API page, doctests) and saved (the "module" of a serialized regularizer) as
# members of normreg.keras, where readers import them from, as before the split into modules.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
