r"""Structured pruning: turn the exact zeros of proximal training into a smaller model.

A unit of a ``Dense`` layer (a filter of a ``Conv2D``) whose incoming weights are all
zero outputs a constant, :math:`a_j = \sigma(b_j)`, whatever the input. The next layer
then adds the same :math:`a_j W_{j\cdot}` to every output, which is a bias: the unit can
go, its constant folded into the next layer's bias,

.. math::

    b' = b + \sum_{j \text{ removed}} a_j\, W_{j\cdot} \quad (\text{Dense}),\qquad
    b'_o = b_o + \sum_{j \text{ removed}} a_j \sum_{h,w} K_{h,w,j,o} \quad (\text{Conv2D, valid padding}).

A unit whose *outgoing* weights are all zero is read by nobody and goes without a fold,
and a ``BatchNormalization`` channel whose scale :math:`\gamma` is zero outputs the
constant :math:`\beta` and is folded the same way (network slimming, Liu et al., 2017).
:func:`prune_zero_units` does this for every layer of a chain and returns a new,
physically smaller Keras model with the same outputs. Import it from :mod:`normreg.keras`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

__all__ = ["prune_zero_units", "PruningError", "multiply_adds"]

# activations that act entry by entry (so that a constant channel stays a constant channel
# and removing a channel does not change the others); softmax and friends mix channels
_ELEMENTWISE = {
    "linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "elu", "selu", "gelu", "silu", "swish",
    "softplus", "softsign", "exponential", "leaky_relu", "mish", "hard_silu", "hard_swish", "celu",
    "squareplus", "tanh_shrink", "soft_shrink", "hard_shrink", "hard_tanh", "log_sigmoid", "sparse_plus",
}


class PruningError(ValueError):
    """:func:`prune_zero_units` met a layer or a connection it cannot prune correctly.

    ``layer`` is the name of the layer concerned. Raised instead of returning a model whose
    outputs might differ.
    """

    def __init__(self, layer: str, message: str) -> None:
        self.layer = layer
        super().__init__(f"layer {layer!r}: {message}")


@dataclass
class _Spec:
    """One layer of the chain, its kind and its weights as float64 NumPy arrays."""

    layer: Any
    kind: str  # "dense" | "conv" | "bn" | "elementwise" | "identity" | "pool" | "flatten" | "gpool"
    w: dict[str, np.ndarray] = field(default_factory=dict)
    keep_in: np.ndarray | None = None  # for producers: which input channels are kept (set later)
    mixes: bool = False  # a non-elementwise activation: channels are coupled


# --------------------------------------------------------------------------------------
# reading the model
# --------------------------------------------------------------------------------------
def _activation_name(layer: Any) -> str | None:
    act = layer.get_config().get("activation", "linear")
    return act if isinstance(act, str) else None


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x), np.float64)


def _kernel_and_bias(layer: Any) -> dict[str, np.ndarray]:
    """A Dense/Conv2D layer's weights; with LoRA enabled, the merged kernel the layer applies."""
    if getattr(layer, "quantization_mode", None) is not None:
        raise PruningError(
            layer.name, f"the layer is quantized ({layer.quantization_mode}); prune the float model, then quantize"
        )
    w = {"kernel": _numpy(layer.kernel)}  # the `kernel` property adds the LoRA product
    if layer.use_bias:
        w["bias"] = _numpy(layer.bias)
    return w


def _classify(layer: Any) -> _Spec:
    L = keras.layers
    name = layer.name
    cfg = layer.get_config()
    if isinstance(layer, L.Dense) and type(layer) is L.Dense:
        return _Spec(layer, "dense", _kernel_and_bias(layer), mixes=_activation_name(layer) not in _ELEMENTWISE)
    if type(layer) is L.Conv2D:
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise PruningError(name, "Conv2D with data_format='channels_first' is not supported (use channels_last)")
        if cfg.get("groups", 1) != 1:
            raise PruningError(name, "grouped convolutions (groups > 1) are not supported")
        return _Spec(layer, "conv", _kernel_and_bias(layer), mixes=_activation_name(layer) not in _ELEMENTWISE)
    if type(layer) is L.BatchNormalization:
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
        rank = len(layer.input.shape) if hasattr(layer, "input") else None
        if axis != -1 and (rank is None or axis != rank - 1):
            raise PruningError(name, f"BatchNormalization over axis {axis} is not supported (only the last axis)")
        w = {v.name: _numpy(v) for v in layer.weights}
        return _Spec(layer, "bn", w)
    if type(layer) is L.Activation:
        act = cfg.get("activation")
        return _Spec(layer, "elementwise", mixes=not (isinstance(act, str) and act in _ELEMENTWISE))
    if type(layer) in (L.ReLU, L.LeakyReLU, L.ELU):
        return _Spec(layer, "elementwise")
    identity = (L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.GaussianNoise, L.GaussianDropout, L.AlphaDropout)
    if type(layer) in identity:
        return _Spec(layer, "identity")  # the identity in inference mode
    if type(layer) in (L.MaxPooling2D, L.AveragePooling2D, L.MaxPooling1D, L.AveragePooling1D):
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise PruningError(name, "pooling with data_format='channels_first' is not supported")
        return _Spec(layer, "pool")
    if type(layer) is L.Flatten:
        return _Spec(layer, "flatten")
    if type(layer) in (L.GlobalAveragePooling2D, L.GlobalMaxPooling2D, L.GlobalAveragePooling1D, L.GlobalMaxPooling1D):
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise PruningError(name, "global pooling with data_format='channels_first' is not supported")
        return _Spec(layer, "gpool")
    if isinstance(layer, keras.Model):
        raise PruningError(name, "nested models are not supported: build the network as one flat chain of layers")
    raise PruningError(
        name,
        f"{type(layer).__name__} is not a layer prune_zero_units knows (it handles Dense, Conv2D, "
        "BatchNormalization, elementwise activations, Dropout and noise layers, pooling, Flatten and "
        "global pooling)",
    )


def _chain(model: Any) -> list[Any]:
    """The layers of ``model`` in order, checking that they form a single chain."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model (Sequential or functional); got {type(model).__name__}")
    if not model.built or not getattr(model, "inputs", None):
        raise ValueError("model must be built with a known input shape (e.g. start it with keras.Input(...))")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise PruningError(model.name, "models with several inputs or outputs are not supported")
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(model, keras.Sequential):
        for layer in layers:
            if len(layer._inbound_nodes) > 1:
                raise PruningError(layer.name, "the layer is shared (called more than once); it cannot be pruned")
        return layers
    # functional: each layer reads exactly the previous one's output, and nobody else does
    previous = model.inputs[0]._keras_history.operation
    parents: list[list[Any]] = []
    consumers: dict[int, list[str]] = {}
    for layer in layers:
        if len(layer._inbound_nodes) != 1:
            raise PruningError(layer.name, "the layer is shared (called more than once); it cannot be pruned")
        ins = [t._keras_history.operation for t in layer._inbound_nodes[0].input_tensors]
        parents.append(ins)
        for parent in ins:
            consumers.setdefault(id(parent), []).append(layer.name)
    for layer, ins in zip(layers, parents, strict=True):
        if len(ins) != 1:
            raise PruningError(
                layer.name,
                f"{type(layer).__name__} takes {len(ins)} inputs: residual additions and concatenations "
                "are not supported",
            )
    for layer, ins in zip(layers, parents, strict=True):
        if len(consumers.get(id(ins[0]), [])) > 1:
            raise PruningError(
                ins[0].name,
                f"its output feeds several layers ({', '.join(consumers[id(ins[0])])}): branches are not supported",
            )
        if ins[0] is not previous:
            raise PruningError(layer.name, f"it reads {ins[0].name!r}, not the layer before it: not a chain")
        previous = layer
    if previous is not model.outputs[0]._keras_history.operation:
        raise PruningError(previous.name, "the model's output is not the end of the chain")
    return layers


# --------------------------------------------------------------------------------------
# constants through the chain
# --------------------------------------------------------------------------------------
def _apply_activation(layer: Any, values: np.ndarray) -> np.ndarray:
    """``layer``'s own activation (or the layer itself, inference mode) on constant channel values."""
    x = keras.ops.convert_to_tensor(values[None, :].astype(np.float32))
    if hasattr(layer, "activation") and not isinstance(layer, keras.layers.Activation):
        out = layer.activation(x)
    else:
        out = layer(x, training=False)
    return np.asarray(keras.ops.convert_to_numpy(out), np.float64)[0]


def _bn_output(spec: _Spec, values: np.ndarray) -> np.ndarray:
    w, cfg = spec.w, spec.layer.get_config()
    gamma = w.get("gamma", np.ones_like(w["moving_mean"]))
    beta = w.get("beta", np.zeros_like(w["moving_mean"]))
    return gamma * (values - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) + beta


def _positions(spec: _Spec) -> tuple[int, int]:
    """Where a Flatten puts each channel: feature ``(a * C + c) * B + b`` for channel ``c``,
    returned as ``(A, B)`` (``(1, 1)`` when there is nothing to flatten).

    On a channels-last input ``(d_1, ..., d_k, C)``, ``data_format="channels_last"`` keeps
    that order (``A = d_1 * ... * d_k``, ``B = 1``); ``"channels_first"`` first moves axis 1
    to the end, ``(d_2, ..., d_k, C, d_1)`` (``A = d_2 * ... * d_k``, ``B = d_1``)."""
    dims = [int(d) for d in spec.layer.input.shape[1:]]
    if len(dims) < 2:
        return 1, 1
    spatial = dims[:-1]
    if spec.layer.get_config().get("data_format", "channels_last") == "channels_first":
        return int(np.prod(spatial[1:], dtype=np.int64)), spatial[0]
    return int(np.prod(spatial, dtype=np.int64)), 1


# --------------------------------------------------------------------------------------
# one segment: producer -> pass-through layers -> consumer
# --------------------------------------------------------------------------------------
def _prune_segment(specs: list[_Spec], p: int, c: int | None) -> bool:
    """Remove the removable channels between producer ``specs[p]`` and consumer ``specs[c]``;
    True if anything was removed."""
    prod = specs[p]
    mids = specs[p + 1 : c if c is not None else len(specs)]
    if c is None or prod.mixes or any(m.mixes for m in mids):
        return False  # the model's outputs, or channels coupled by a softmax-like activation
    cons = specs[c]
    K = prod.w["kernel"]
    n = K.shape[-1]
    dead_in = np.all(K.reshape(-1, n) == 0, axis=0)
    const = np.full(n, np.nan)
    bias = prod.w.get("bias", np.zeros(n))
    const[dead_in] = _apply_activation(prod.layer, bias)[dead_in] if dead_in.any() else 0.0
    outer, inner = 1, 1  # a Flatten's layout of the consumer's rows: (outer, channel, inner)
    for m in mids:
        if outer * inner > 1 and m.kind == "bn":
            return False  # normalization of flattened features: one parameter per position and channel
        if m.kind == "bn":
            out = _bn_output(m, np.where(np.isnan(const), 0.0, const))
            gamma = m.w.get("gamma")
            is_const = ~np.isnan(const) | (gamma == 0 if gamma is not None else False)
            const = np.where(is_const, out, np.nan)
        elif m.kind == "elementwise":
            ok = ~np.isnan(const)
            if ok.any():
                const[ok] = _apply_activation(m.layer, const[ok])
        elif m.kind == "flatten":
            a, b = _positions(m)
            outer, inner = outer * a, inner * b
        elif m.kind == "gpool":
            outer, inner = 1, 1
        elif m.kind == "pool" and "Average" in type(m.layer).__name__ and m.layer.get_config()["padding"] == "same":
            # whether the border windows average over the padding depends on the backend:
            # only a zero constant is certainly still constant there
            const[~np.isnan(const) & (const != 0)] = np.nan
        # max pooling (and valid average pooling) keeps a constant channel constant; dropout
        # and noise layers ("identity") are the identity in inference mode
    KC = cons.w["kernel"]
    if cons.kind == "dense":
        rows = KC.reshape(outer, n, inner, -1)  # channels-last Flatten: position-major, channel fastest
        dead_out = np.all(rows == 0, axis=(0, 2, 3))
        contribution = rows.sum(axis=(0, 2))  # (n, out): what a constant 1 in channel j adds
        foldable = np.ones(n, bool)
    else:  # conv consumer
        dead_out = np.all(KC == 0, axis=(0, 1, 3))
        contribution = KC.sum(axis=(0, 1))  # (n, out)
        foldable = np.full(n, cons.layer.get_config()["padding"] == "valid")
    is_const = ~np.isnan(const)
    zero = is_const & (np.where(is_const, const, 1.0) == 0)
    removable = dead_out | zero | (is_const & foldable)
    if removable.all():
        removable[np.argmax(~dead_out) if (~dead_out).any() else 0] = False  # a layer keeps one unit
    if not removable.any():
        return False
    fold = removable & ~dead_out & is_const & ~zero
    if fold.any():
        delta = const[fold] @ contribution[fold]
        cons.w["bias"] = cons.w.get("bias", np.zeros(KC.shape[-1])) + delta
    keep = ~removable
    prod.w["kernel"] = K[..., keep]
    if "bias" in prod.w:
        prod.w["bias"] = prod.w["bias"][keep]
    for m in mids:
        if m.kind == "bn":
            m.w = {k: v[keep] for k, v in m.w.items()}
    if cons.kind == "dense":
        cons.w["kernel"] = KC.reshape(outer, n, inner, -1)[:, keep].reshape(outer * int(keep.sum()) * inner, -1)
    else:
        cons.w["kernel"] = KC[:, :, keep, :]
    return True


# --------------------------------------------------------------------------------------
# building the smaller model
# --------------------------------------------------------------------------------------
def _plain_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The config without normreg objects (regularizers), so the result loads without normreg."""
    out = dict(cfg)
    keys = ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "beta_regularizer", "gamma_regularizer")
    for key in keys:
        value = out.get(key)
        if isinstance(value, dict) and (
            str(value.get("module", "")).startswith("normreg")
            or str(value.get("registered_name", "")).startswith("normreg>")
        ):
            out[key] = None
    return out


def _rebuild(spec: _Spec) -> tuple[Any, list[np.ndarray] | None]:
    layer = spec.layer
    cfg = _plain_config(layer.get_config())
    if spec.kind in ("dense", "conv"):
        cfg["units" if spec.kind == "dense" else "filters"] = int(spec.w["kernel"].shape[-1])
        cfg["use_bias"] = "bias" in spec.w
        cfg.pop("lora_rank", None)  # LoRA merged into the kernel
        cfg.pop("lora_alpha", None)
        new = type(layer).from_config(cfg)
        weights = [spec.w["kernel"]] + ([spec.w["bias"]] if "bias" in spec.w else [])
        return new, weights
    new = type(layer).from_config(cfg)
    if spec.kind == "bn":
        return new, [spec.w[v.name] for v in layer.weights]
    return new, None


def prune_zero_units(model: Any) -> Any:
    r"""A new, physically smaller Keras model with the same outputs: zero units, filters and channels removed.

    For every ``Dense`` unit or ``Conv2D`` filter :math:`j` of a chain, in the segment that
    runs to the next ``Dense``/``Conv2D`` layer (through ``BatchNormalization``,
    elementwise activations, ``Dropout``, pooling, ``Flatten``, global pooling):

    * **all incoming weights zero**: the unit outputs the constant :math:`\sigma(b_j)`, carried
      through what follows (``BatchNormalization`` in inference mode, activations), and is
      removed after folding :math:`a_j W_{j\cdot}` into the next layer's bias (for a
      ``Conv2D`` with ``padding="valid"``: :math:`a_j\sum_{h,w}K_{h,w,j,\cdot}`). A ``Conv2D``
      with ``padding="same"`` sees zeros beyond the border, so a constant channel's
      contribution is *not* constant near the border: such a channel is kept, unless its
      constant is exactly 0 (e.g. a ReLU of a negative bias), which removes it exactly
      (the same holds after an ``AveragePooling2D`` with ``padding="same"``);
    * a ``BatchNormalization`` channel with :math:`\gamma_j = 0` outputs the constant
      :math:`\beta_j` and is treated the same way (the unit before it goes with it);
    * **all outgoing weights zero** (the next layer's row or input channel): removed, no fold.

    This is repeated until nothing changes (removing one layer's channels can make units
    of the next constant). The inputs and outputs of the model are kept as they are
    (a zero row of the first kernel, i.e. an unused input feature, stays), and the
    outputs are equal to the original model's in inference mode up to float32 rounding
    of the folded biases. The result is a plain Keras model (a ``Sequential`` for a
    ``Sequential``), with normreg's regularizers removed from its layers, so it saves and
    loads without normreg. The original model is not changed.

    ``Flatten`` is followed in either ``data_format`` (``"channels_first"`` moves the
    channel axis before the first spatial one), dropout and noise layers are the identity
    (inference mode), and a layer with LoRA enabled is rebuilt as a plain layer with the
    merged kernel.

    What it cannot prune correctly it refuses with a :class:`PruningError` naming the
    layer: layers with several inputs (residual ``Add``, ``Concatenate``), layers whose
    output feeds several layers, shared layers, nested models, operations applied to
    tensors in a functional model (``keras.ops.relu(x)``), quantized layers,
    ``channels_first`` convolutions and pooling, grouped convolutions, and layers it does
    not know (e.g. ``DepthwiseConv2D``, ``PReLU``, ``LayerNormalization``, ``Reshape``).
    Channels coupled by a non-elementwise activation (``softmax``) are kept.

    Parameters
    ----------
    model : keras.Model
        A built ``Sequential`` or functional model that is a single chain of layers.

    Returns
    -------
    keras.Model
        The smaller model, with the same input shape, output shape and layer names.

    Example
    -------
    >>> import keras, numpy as np
    >>> from normreg.keras import prune_zero_units
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
    ...                           keras.layers.Dense(2)])
    >>> K, b = model.layers[0].get_weights()
    >>> K[:, 1:3] = 0.0; b[1:3] = [0.5, -1.0]          # units 1 and 2: constant relu(b)
    >>> model.layers[0].set_weights([K, b])
    >>> small = prune_zero_units(model)
    >>> [layer.units for layer in small.layers]
    [2, 2]
    >>> x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    >>> bool(np.allclose(small.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6))
    True
    """
    layers = _chain(model)
    specs = [_classify(layer) for layer in layers]
    producers = [i for i, s in enumerate(specs) if s.kind in ("dense", "conv")]
    changed = True
    while changed:
        changed = False
        for k, p in enumerate(producers):
            c = producers[k + 1] if k + 1 < len(producers) else None
            changed |= _prune_segment(specs, p, c)
    inp = model.inputs[0]
    rebuilt = [_rebuild(spec) for spec in specs]
    new_input = keras.Input(shape=tuple(inp.shape[1:]), dtype=inp.dtype)
    if isinstance(model, keras.Sequential):
        out = keras.Sequential([new_input] + [new for new, _ in rebuilt], name=model.name)
    else:
        x = new_input
        for new, _ in rebuilt:
            x = new(x)
        out = keras.Model(new_input, x, name=model.name)
    for new, weights in rebuilt:
        if weights is not None:
            new.set_weights([w.astype(v.dtype) for w, v in zip(weights, new.weights, strict=True)])
    return out


def multiply_adds(model: Any) -> int:
    r"""Multiply-adds of one forward pass of ``model`` per sample, in its ``Dense`` and ``Conv2D`` layers.

    A ``Dense`` layer with :math:`n_\text{in}` inputs and :math:`n_\text{out}` units costs
    :math:`n_\text{in} n_\text{out}` per position (per sample for a 2-D input); a ``Conv2D``
    with a :math:`k_h \times k_w` kernel, :math:`c_\text{in}` input channels and
    :math:`c_\text{out}` filters costs :math:`k_h k_w c_\text{in} c_\text{out}` per output
    position. Biases, normalization, activations and pooling (linear in the activations'
    size, not in the weights') are not counted. This is the count that
    :func:`prune_zero_units` reduces and that dense kernels pay whatever the values of the
    weights, zeros included.

    Example
    -------
    >>> import keras
    >>> from normreg.keras import multiply_adds
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
    ...                           keras.layers.Flatten(), keras.layers.Dense(10)])
    >>> multiply_adds(model)      # 6*6 positions * 3*3*1*4, then 144*10
    2736
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model; got {type(model).__name__}")
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            shape = layer.input.shape
            positions = int(np.prod([int(d) for d in shape[1:-1]], dtype=np.int64)) if len(shape) > 2 else 1
            total += positions * int(shape[-1]) * int(layer.units)
        elif isinstance(layer, keras.layers.Conv2D):
            out = layer.output.shape
            h, w = (out[2], out[3]) if layer.data_format == "channels_first" else (out[1], out[2])
            kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
            total += int(h) * int(w) * kh * kw * cin * cout
        elif isinstance(layer, keras.Model):
            total += multiply_adds(layer)
    return total
