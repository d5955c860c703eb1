r"""Proximal training inside the compiled train step: :class:`ProximalOptimizer`.

A penalty :math:`\Omega` added to the loss is minimized by (sub)gradient steps, which
hover around zero and never land on it. Proximal gradient descent (chapter 4) splits the
step instead: a gradient step on the data loss :math:`f`, then the penalty's proximal
operator with the same step size :math:`\eta_k`,

.. math::

    W_{k+1} = \operatorname{prox}_{\eta_k\Omega}\big(W_k - \eta_k \nabla f(W_k)\big),
    \qquad
    \operatorname{prox}_{t\Omega}(v) = \arg\min_w\ \Omega(w) + \tfrac{1}{2t}\|w - v\|_2^2,

and the prox of L1 (soft-thresholding) or group lasso (block soft-thresholding) sets
entries or whole groups to **exactly** zero. :class:`ProximalOptimizer` wraps any Keras
optimizer and applies the prox after each of its updates, inside ``train_step``.
Import everything from :mod:`normreg.keras`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import keras
from keras import ops

from .._validation import check_scalar
from .regularizers import GroupLasso, Regularizer, _is_default_penalized, _step, as_regularizer, penalized_variables

__all__ = ["ProximalOptimizer", "prox_step", "ProximalCallback"]

_PACKAGE = "normreg"


def _read(x: Any) -> Any:
    """The current value of a variable or tensor, as a new tensor (a read in program order)."""
    return ops.copy(ops.convert_to_tensor(x))


def _value(x: Any) -> Any:
    """A Keras variable's current value (in a StatelessScope: the mapped one); else ``x``."""
    return x.value if isinstance(x, keras.Variable) else x


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


def _variable_pattern(v: Any) -> str:
    """A regular expression that matches ``v`` by its layer's name and its own name, the part
    of its path that survives ``model.save``/``load_model`` (the loaded model's variables are
    created outside the model's name scope, so the rest of the path can differ)."""
    tail = "/".join(str(v.path).split("/")[-2:])
    return "(^|/)" + re.escape(tail) + "$"


def _check_include(include: Any) -> Callable[[Any], bool] | tuple[str, ...] | None:
    """``include`` as ``None``, a callable, or a tuple of regular expressions on variable paths."""
    if include is None or callable(include):
        return include
    if isinstance(include, (str, bytes)) or not isinstance(include, Sequence):
        raise TypeError(
            "include must be None, a callable (variable -> bool), or a list of variables or of "
            f"regular expressions matched against variable paths (e.g. [r'dense/kernel']); got {include!r}"
        )
    patterns = []
    for k, item in enumerate(include):
        if isinstance(item, str):
            try:
                re.compile(item)
            except re.error as err:
                raise ValueError(f"include[{k}] is not a valid regular expression: {item!r} ({err})") from None
            patterns.append(item)
        elif hasattr(item, "path") and hasattr(item, "assign"):
            patterns.append(_variable_pattern(item))
        else:
            raise TypeError(f"include[{k}] must be a variable or a regular expression (str); got {item!r}")
    if not patterns:
        raise ValueError("include must not be an empty list (pass None for the default variables)")
    return tuple(patterns)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ProximalOptimizer(keras.optimizers.Optimizer):
    r"""Wrap a Keras optimizer so that each of its updates is followed by a proximal step.

    After the inner optimizer's update of step :math:`k`, with the learning rate
    :math:`\eta_k` of *that* update (after any schedule), every penalized variable becomes

    .. math::

        W \leftarrow \operatorname{prox}_{\eta_k\Omega}(W),

    so that with plain ``SGD`` (no momentum) ``fit`` performs exactly proximal (stochastic)
    gradient descent, ISTA, on data loss :math:`+\ \Omega` (chapter 4): soft-thresholding (L1,
    elastic net) and block soft-thresholding (group lasso) leave **exact zeros**. A zero
    learning rate is the identity. Do not also put :math:`\Omega` in the loss.

    It is a ``keras.optimizers.Optimizer`` built the way ``LossScaleOptimizer`` is: the prox
    runs inside the compiled train step (``tf.function``, XLA with ``jit_compile=True``,
    and Keras's stateless ``stateless_apply`` path on JAX), so ``steps_per_execution > 1``
    works (on TensorFlow and JAX; Keras's PyTorch trainer refuses it for any optimizer);
    under ``tf.distribute.MirroredStrategy`` it runs once per synchronized update on every
    replica's copy. If the inner update is skipped (``LossScaleOptimizer`` on
    non-finite gradients, or a step that only accumulates gradients), so is the prox. Under
    a ``mixed_float16`` policy ``compile`` wraps it in a ``LossScaleOptimizer`` itself; a
    ``LossScaleOptimizer`` *inside* it is then refused (``compile`` would add a second
    one around it, and the gradients would be unscaled twice; a model-level
    ``dtype="mixed_float16"`` under a float32 global policy is not detected: do not nest
    one there either). Under other policies it may wrap one. ``model.save`` stores it and
    ``keras.models.load_model`` restores it without ``custom_objects`` (after
    ``import normreg.keras``, which registers it), inner state included, so training
    resumes where it stopped.

    **Adaptive optimizers.** Adam moves coordinate :math:`i` by
    :math:`\eta\,\hat m_i/(\sqrt{\hat v_i}+\hat\epsilon)`: a gradient step preconditioned by
    :math:`D = \operatorname{diag}(\sqrt{\hat v}+\hat\epsilon)`. With ``metric="euclidean"``
    (the default) the prox that follows uses the scalar step :math:`\eta`; for L1 a fixed
    point then satisfies :math:`\partial_i f = -\lambda(\sqrt{\hat v_i}+\hat\epsilon)\operatorname{sign}(w_i)`
    on its non-zero coordinates: a stationary point of :math:`f + \sum_i \lambda(\sqrt{\hat v_i}+\hat\epsilon)|w_i|`,
    a *reweighted* L1 whose weights follow the gradients' second moments, not of
    :math:`f + \lambda\|w\|_1`. ``metric="adam"`` (Adam, AdamW) uses Adam's own metric
    instead. Adam's step :math:`z` minimizes the model
    :math:`\langle \hat m, w\rangle + \frac{1}{2\eta}(w - w_k)^\top D (w - w_k)`; adding
    :math:`\Omega` to that model and completing the square gives

    .. math::

        W_{k+1} = \arg\min_w\ \Omega(w) + \frac{1}{2\eta}\|w - z\|_D^2,

    which for a separable :math:`\Omega` is the prox of each coordinate with its own step
    :math:`\eta_i = \eta/(\sqrt{\hat v_i}+\hat\epsilon)`, the step Adam took there (for L1:
    soft-thresholding at :math:`\eta_i\lambda`). Its fixed points satisfy
    :math:`\partial_i f = -\lambda\operatorname{sign}(w_i)` (with :math:`\hat m = \nabla f`
    there), those of :math:`f + \lambda\|w\|_1` itself. Keras adds :math:`\epsilon` to
    :math:`\sqrt{v}` before bias correction, so :math:`\eta_i = \eta\sqrt{1-\beta_2^k}/(\sqrt{v_i}+\epsilon)`,
    which is what is used. Group lasso is not separable and its prox in a diagonal
    metric has no closed form, so ``metric="adam"`` refuses it.

    **Inner options.** Gradient clipping, ``weight_decay`` (decoupled: applied before the
    gradient step, so the step is :math:`\operatorname{prox}_{\eta\Omega}(W(1 - \eta\,wd) - \eta g)`)
    and ``gradient_accumulation_steps`` (the prox runs on the steps that update) act as
    they do in the inner optimizer. ``use_ema=True`` is refused: Keras's moving average is
    taken before the prox and ``fit`` ends by copying it into the weights, which then have
    no exact zeros.

    **Momentum.** With ``SGD(momentum=mu)`` the velocity at a fixed point is
    :math:`-\eta\nabla f/(1-\mu)`, so the fixed points are those of
    :math:`f + (1-\mu)\,\Omega`, the same factor as Keras's ``weight_decay`` under momentum
    (chapter 3's conventions table); pass :math:`\Omega/(1-\mu)` (e.g. ``L1(lam / (1 - mu))``)
    to target :math:`f + \Omega`.

    Parameters
    ----------
    optimizer : keras.optimizers.Optimizer
        The inner optimizer (``SGD``, ``Adam``, ``LossScaleOptimizer``, another
        ``ProximalOptimizer`` for a second penalty on other variables, ...).
    penalty : regularizer
        Anything :func:`as_regularizer` accepts (``L1(1e-4)``, ``GroupLasso(1e-3, axis=-1)``, ...).
    include : None, list of variables or of regular expressions, or callable, optional
        Which trainable variables the prox applies to. ``None``: the default of
        :func:`penalized_variables` (floating variables with at least 2 dimensions, not
        biases and not the ``gamma``/``beta``/``scale`` of normalization layers, recognized
        by the names Keras gives them: the kernels). A list of variables (e.g. :func:`batchnorm_scales` of the
        model) or of regular expressions searched in each variable's ``path``
        (``[r"dense_1/kernel"]``): both are saved with the model. A callable
        ``variable -> bool`` is applied when the optimizer is built; it is saved as the list
        of the variables it chose.
    metric : {"euclidean", "adam"}
        The metric of the prox (see above).

    Example
    -------
    >>> import keras, numpy as np
    >>> from normreg.keras import L1, ProximalOptimizer
    >>> keras.utils.set_random_seed(0)
    >>> x = np.random.default_rng(0).standard_normal((64, 5)).astype("float32")
    >>> y = x[:, :1]                                   # only the first input matters
    >>> model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    >>> model.compile(ProximalOptimizer(keras.optimizers.SGD(0.1), L1(0.05)), "mse")
    >>> _ = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    >>> (keras.ops.convert_to_numpy(model.layers[0].kernel) == 0).ravel().tolist()
    [False, True, True, True, True]
    """

    def __init__(
        self,
        optimizer: Any,
        penalty: Any,
        include: Sequence[Any] | Callable[[Any], bool] | None = None,
        metric: str = "euclidean",
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(
                f"ProximalOptimizer got unexpected arguments {sorted(kwargs)}; set learning rate, "
                "clipping, weight decay, ... on the inner optimizer"
            )
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                f"optimizer must be a keras.optimizers.Optimizer instance (e.g. keras.optimizers.SGD(0.1)); "
                f"got {optimizer!r}"
            )
        reg = as_regularizer(penalty)
        if metric not in ("euclidean", "adam"):
            raise ValueError(f"metric must be 'euclidean' or 'adam'; got {metric!r}")
        if metric == "adam":
            if not isinstance(_innermost(optimizer), keras.optimizers.Adam):
                raise ValueError(
                    f"metric='adam' needs an Adam or AdamW optimizer; got {type(_innermost(optimizer)).__name__}"
                )
            if isinstance(reg, GroupLasso):
                raise ValueError(
                    "metric='adam' needs a separable penalty (L1, L2, ElasticNet): the prox of group "
                    "lasso in a diagonal metric has no closed form; use metric='euclidean'"
                )
        chain = [optimizer]
        while hasattr(chain[-1], "inner_optimizer"):
            chain.append(chain[-1].inner_optimizer)
        scaled = any(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in chain)
        if scaled and keras.config.dtype_policy().name == "mixed_float16":
            raise ValueError(
                "under a mixed_float16 policy, pass ProximalOptimizer(SGD(...), ...) without a "
                "LossScaleOptimizer inside: compile wraps the ProximalOptimizer in one of its own, and "
                "the gradients would be unscaled twice"
            )
        if getattr(_innermost(optimizer), "use_ema", False):
            raise ValueError(
                "ProximalOptimizer cannot wrap an optimizer with use_ema=True: Keras averages the "
                "weights before the prox, and fit ends by copying that average into the model, which "
                "leaves no exact zeros; average the proximal iterates yourself if you need to"
            )
        spec = _check_include(include)
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = optimizer
        self.penalty = reg
        self.metric = metric
        self._include = spec
        self._prox_indices: tuple[int, ...] = ()

    # -- delegated to the inner optimizer ------------------------------------------------------
    @property
    def variables(self) -> list[Any]:
        return self._variables[:] + list(self.inner_optimizer.variables)

    @property
    def learning_rate(self) -> Any:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self) -> Any:
        return self.inner_optimizer.iterations

    def scale_loss(self, loss: Any) -> Any:
        return self.inner_optimizer.scale_loss(loss)

    def finalize_variable_values(self, var_list: Any) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    # -- which variables -----------------------------------------------------------------------
    def _selects(self, v: Any) -> bool:
        if self._include is None:
            return _is_default_penalized(v, set())
        if callable(self._include):
            return bool(self._include(v))
        return any(re.search(p, v.path) for p in self._include)

    @property
    def prox_variables(self) -> list[Any]:
        """The variables the prox applies to (known once the optimizer is built)."""
        return [self._trainable_variables[i] for i in self._prox_indices]

    def build(self, var_list: Sequence[Any]) -> None:
        var_list = list(var_list)
        if not self.inner_optimizer.built:
            self.inner_optimizer.build(var_list)
        indices = tuple(i for i, v in enumerate(var_list) if self._selects(v))
        if not indices:
            paths = [v.path for v in var_list]
            raise ValueError(f"ProximalOptimizer: include selects none of the trainable variables {paths}")
        for i in indices:
            _check_penalty_fits(self.penalty, var_list[i])
        self._prox_indices = indices
        super().build(var_list)

    # -- the step ------------------------------------------------------------------------------
    def _prox_steps(self, variable: Any, lr: Any, updated: Any) -> Any:
        """The prox step of ``variable``: ``lr`` (0 if no update happened), or Adam's
        per-coordinate step in ``metric="adam"``; read after the inner update."""
        step = ops.where(updated, ops.cast(lr, "float32"), ops.zeros((), "float32"))
        if self.metric == "adam":
            adam = _innermost(self.inner_optimizer)
            k = adam._get_variable_index(variable)
            vel = adam._velocity_hats[k] if adam.amsgrad else adam._velocities[k]
            t = ops.cast(adam.iterations, "float32")
            correction = ops.sqrt(1.0 - ops.power(ops.cast(adam.beta_2, "float32"), t))
            step = step * correction / (ops.sqrt(ops.cast(vel, "float32")) + adam.epsilon)
        return step

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None) -> None:
        if not self.built:
            if trainable_variables is None:
                raise ValueError("ProximalOptimizer.apply: pass trainable_variables on the first call (to build it)")
            with keras.name_scope(self.name, caller=self):
                self.build(list(trainable_variables))
            self.built = True
        inner = self.inner_optimizer
        # read (copied) before the update moves `iterations`; converting a variable is not a read
        lr = _read(_update_learning_rate(inner))
        before = _read(inner.iterations)
        inner.apply(grads, trainable_variables)
        updated = ops.not_equal(_read(inner.iterations), before)
        variables = self.prox_variables
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            def update(var: Any) -> Any:
                value = tf.identity(var)  # a tensor: the prox reshapes it
                return var.assign(self.penalty.prox(value, self._prox_steps(var, lr, updated)))

            def distributed(distribution: Any) -> None:
                for v in variables:
                    distribution.extended.update(v.value, update, group=False)

            tf.__internal__.distribute.interim.maybe_merge_call(distributed, self._distribution_strategy)
        else:
            for v in variables:
                v.assign(self.penalty.prox(v, self._prox_steps(v, lr, updated)))

    def stateless_apply(
        self, optimizer_variables: Sequence[Any], grads: Sequence[Any], trainable_variables: Sequence[Any]
    ) -> tuple[list[Any], list[Any]]:
        """The same step on values (Keras's JAX train step): returns the new trainable and
        optimizer variable values."""
        if not self.built:
            raise ValueError("ProximalOptimizer.stateless_apply: build it first (optimizer.build(variables))")
        inner = self.inner_optimizer
        # a wrapper (LossScaleOptimizer) may pass the variables themselves, inside its own
        # StatelessScope: their .value is then the value that scope maps them to
        optimizer_variables = [_value(v) for v in optimizer_variables]
        trainable_variables = [_value(v) for v in trainable_variables]
        n_own = len(self._variables)
        own, inner_values = list(optimizer_variables[:n_own]), list(optimizer_variables[n_own:])
        with keras.StatelessScope(state_mapping=list(zip(inner.variables, inner_values, strict=True))):
            lr = ops.convert_to_tensor(_update_learning_rate(inner))
            before = ops.convert_to_tensor(inner.iterations)
        new_trainable, new_inner = inner.stateless_apply(inner_values, grads, trainable_variables)
        new_trainable = list(new_trainable)
        with keras.StatelessScope(state_mapping=list(zip(inner.variables, new_inner, strict=True))):
            updated = ops.not_equal(ops.convert_to_tensor(inner.iterations), before)
            for i in self._prox_indices:
                step = self._prox_steps(self._trainable_variables[i], lr, updated)
                new_trainable[i] = self.penalty.prox(new_trainable[i], step)
        return new_trainable, own + list(new_inner)

    # -- serialization -------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        if callable(self._include):
            if not self.built:
                raise ValueError(
                    "ProximalOptimizer with a callable include= can be serialized only once built "
                    "(it is saved as the list of variables it chose); or pass a list of variables/patterns"
                )
            include: list[str] | None = [_variable_pattern(v) for v in self.prox_variables]
        else:
            include = None if self._include is None else list(self._include)
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
            "penalty": keras.saving.serialize_keras_object(self.penalty),
            "include": include,
            "metric": self.metric,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> ProximalOptimizer:
        config = dict(config)
        optimizer = keras.saving.deserialize_keras_object(config.pop("optimizer"), custom_objects=custom_objects)
        penalty = keras.saving.deserialize_keras_object(config.pop("penalty"), custom_objects=custom_objects)
        return cls(optimizer, penalty, **config)


def _check_penalty_fits(penalty: Regularizer, variable: Any) -> None:
    """A GroupLasso with explicit groups must fit the variable it is applied to (a ValueError
    naming the variable, at build time rather than deep inside the first train step)."""
    if isinstance(penalty, GroupLasso):
        shape = tuple(variable.shape)
        ndim = len(shape)
        axis = penalty.axis + ndim if penalty.axis < 0 else penalty.axis
        if not 0 <= axis < ndim:
            raise ValueError(f"GroupLasso axis {penalty.axis} is out of range for {variable.path} of shape {shape}")
        if penalty.n_indices is not None and shape[axis] != penalty.n_indices:
            raise ValueError(
                f"GroupLasso groups cover {penalty.n_indices} indices along axis {penalty.axis}, but "
                f"{variable.path} of shape {shape} has {shape[axis]} there; pass include= or groups=None"
            )

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
    r"""Deprecated since 0.2, removed in 0.3: use :class:`ProximalOptimizer`.

    The prox after every training batch, applied from a callback. Constructing it emits a
    ``FutureWarning`` that shows the replacement: instead of ::

        model.compile(optimizer, loss)
        model.fit(..., callbacks=[ProximalCallback(penalty, include=include)])

    write ::

        model.compile(ProximalOptimizer(optimizer, penalty, include=include), loss)
        model.fit(...)

    which does the same arithmetic inside the compiled train step: it works with
    ``steps_per_execution > 1``, ``jit_compile=True``, ``LossScaleOptimizer`` and
    ``MirroredStrategy``, skips the prox when the update is skipped, is saved with the
    model, and costs less (``benchmarks/bench_prox.py`` times both). Until its removal the
    callback still works: after each batch it applies :func:`prox_step` to the penalized
    weights,

    .. math::

        W \leftarrow \operatorname{prox}_{\eta_k\Omega}(W),

    with :math:`\eta_k` the learning rate of *that* batch's update (``learning_rate`` if
    given; under a schedule, the schedule at the step just taken, not the next one; a zero
    rate is the identity). It needs ``steps_per_execution=1`` and does not know when a
    ``LossScaleOptimizer`` skipped a step.

    Parameters
    ----------
    penalty : regularizer
        Anything :func:`as_regularizer` accepts; do not also add it as a ``kernel_regularizer``.
    learning_rate : float, optional
        The prox step :math:`t`; by default the optimizer's learning rate at each batch.
        (:class:`ProximalOptimizer` always uses the inner optimizer's rate :math:`\eta`. For
        L1, L2, ElasticNet and GroupLasso the prox depends on :math:`t\lambda` only,
        :math:`\operatorname{prox}_{t\Omega_\lambda} = \operatorname{prox}_{\eta\Omega_{\lambda t/\eta}}`,
        so under a constant :math:`\eta` pass ``lam * learning_rate / eta`` to keep this step.)
    include : callable or list of variables, optional
        Which variables to penalize, as in :func:`penalized_variables` (default: kernels, not
        biases or normalization parameters).

    Example
    -------
    See :class:`ProximalOptimizer`, whose example trains the same model to the same exact
    zeros.
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
        if include is not None and not callable(include):
            # checked here, before the deprecation warning (penalized_variables checks that
            # the variables belong to the model once it is known)
            if isinstance(include, (str, bytes)) or not isinstance(include, Sequence):
                raise TypeError(
                    f"include must be a callable (variable -> bool) or a list of variables; got {include!r}"
                )
            if len(include) == 0:
                raise ValueError("include must not be an empty list (pass None for the default variables)")
        self.include = include
        self.variables: list[Any] = []
        self._update: Callable[[Any], None] | None = None
        args = f"optimizer, {self.penalty!r}" + ("" if include is None else ", include=include")
        lr_note = (
            ""
            if learning_rate is None
            else " (its prox step is the optimizer's learning rate lr, not learning_rate="
            f"{self.learning_rate:g}: for a constant lr, pass the penalty with "
            f"lam * {self.learning_rate:g} / lr to keep the same threshold)"
        )
        warnings.warn(
            "ProximalCallback is deprecated since normreg 0.2 and will be removed in 0.3; apply the "
            "prox inside the train step with ProximalOptimizer instead of the callback"
            f"{lr_note}: model.compile(normreg.keras.ProximalOptimizer({args}), loss)",
            FutureWarning,
            stacklevel=2,
        )

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
        learning rate the optimizer used for that batch's update (under a schedule: the
        schedule at the step just taken, not at the next one)."""
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
