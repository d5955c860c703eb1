"""prune_zero_units: the pruned model's outputs equal the original's (Keras's own forward
pass is the oracle), it is as small as the zero pattern allows (counted independently from
how the weights were zeroed), it refuses what it cannot prune, and it loads without normreg.

Backend-neutral (runs on JAX too, through tests/test_keras_backends.py)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

keras = pytest.importorskip("keras")

import normreg.keras as nk  # noqa: E402

L = keras.layers
RNG = np.random.default_rng(0)


def predict(model, x):
    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), np.float64)


def n_params(model) -> int:
    return int(sum(np.prod(v.shape) for v in model.weights))


def set_layer(layer, **arrays):
    names = [v.name for v in layer.weights]
    current = dict(zip(names, layer.get_weights(), strict=True))
    current.update(arrays)
    layer.set_weights([current[n] for n in names])


def mlp(activation="relu", bn=False):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((5,)), L.Dense(6, activation=activation, name="h1")]
    if bn:
        layers.append(L.BatchNormalization(name="bn"))
    layers += [L.Dropout(0.5), L.Dense(4, activation="tanh", name="h2"), L.Dense(3, name="out")]
    return keras.Sequential(layers)


def test_dense_units_with_zero_inputs_or_outputs_are_removed_and_biases_folded():
    model = mlp()
    h1, h2 = model.get_layer("h1"), model.get_layer("h2")
    K1, b1 = h1.get_weights()
    K1[:, [0, 3]] = 0.0  # units 0 and 3 of h1: constant relu(b)
    b1[[0, 3]] = [0.7, -0.2]  # relu(0.7) = 0.7 folded into h2's bias; relu(-0.2) = 0
    set_layer(h1, kernel=K1, bias=b1)
    K2 = h2.get_weights()[0]
    K2[5, :] = 0.0  # unit 5 of h1: read by nobody
    set_layer(h2, kernel=K2)
    x = RNG.standard_normal((16, 5)).astype(np.float32)
    small = nk.prune_zero_units(model)
    assert isinstance(small, keras.Sequential) and small is not model
    assert [layer.name for layer in small.layers] == [layer.name for layer in model.layers]
    assert small.get_layer("h1").units == 3 and small.get_layer("h2").units == 4 and small.get_layer("out").units == 3
    assert n_params(small) == n_params(model) - 3 * (5 + 1) - 3 * 4
    assert (nk.multiply_adds(model), nk.multiply_adds(small)) == (5 * 6 + 6 * 4 + 4 * 3, 5 * 3 + 3 * 4 + 4 * 3)
    np.testing.assert_allclose(predict(small, x), predict(model, x), rtol=1e-5, atol=1e-6)
    assert h1.get_weights()[0].shape == (5, 6)  # the original is unchanged


def test_batchnorm_scale_zero_is_a_constant_channel():
    model = mlp(bn=True)
    bn = model.get_layer("bn")
    gamma, beta, mean, var = bn.get_weights()
    gamma[[1, 2]] = 0.0
    beta[[1, 2]] = [0.3, -1.2]
    set_layer(bn, gamma=gamma, beta=beta, moving_mean=RNG.uniform(-1, 1, 6).astype(np.float32),
              moving_variance=RNG.uniform(0.5, 2, 6).astype(np.float32))
    x = RNG.standard_normal((16, 5)).astype(np.float32)
    small = nk.prune_zero_units(model)
    assert small.get_layer("h1").units == 4 and small.get_layer("bn").get_weights()[0].shape == (4,)
    np.testing.assert_allclose(predict(small, x), predict(model, x), rtol=1e-5, atol=1e-6)


def test_removal_cascades_until_nothing_changes():
    """h2's unit 0 reads only h1's dead units: once they are folded it is constant too."""
    model = mlp()
    h1, h2 = model.get_layer("h1"), model.get_layer("h2")
    K1, b1 = h1.get_weights()
    K1[:, :3] = 0.0
    b1[:3] = 0.5
    set_layer(h1, kernel=K1, bias=b1)
    K2 = h2.get_weights()[0]
    K2[3:, 0] = 0.0  # from the live units (3..5) of h1, unit 0 of h2 gets nothing
    set_layer(h2, kernel=K2)
    x = RNG.standard_normal((16, 5)).astype(np.float32)
    small = nk.prune_zero_units(model)
    assert small.get_layer("h1").units == 3 and small.get_layer("h2").units == 3
    np.testing.assert_allclose(predict(small, x), predict(model, x), rtol=1e-5, atol=1e-6)


def cnn(padding2: str, functional: bool = False):
    keras.utils.set_random_seed(0)
    layers = [
        L.Conv2D(6, 3, padding="valid", name="c1"),
        L.BatchNormalization(name="bn1"),
        L.Activation("relu"),
        L.MaxPooling2D(2),
        L.Conv2D(5, 3, padding=padding2, activation="relu", name="c2"),
        L.GlobalAveragePooling2D(),
        L.Dense(3, name="out"),
    ]
    if not functional:
        return keras.Sequential([keras.Input((10, 10, 2))] + layers)
    x = inp = keras.Input((10, 10, 2))
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x)


@pytest.mark.parametrize("functional", [False, True])
def test_conv_filters_valid_padding_fold_same_padding_keeps_nonzero_constants(functional):
    for padding in ("valid", "same"):
        model = cnn(padding, functional)
        c1, c2, bn = model.get_layer("c1"), model.get_layer("c2"), model.get_layer("bn1")
        K, b = c1.get_weights()
        K[..., [0, 4]] = 0.0
        b[[0, 4]] = [0.5, 0.5]
        set_layer(c1, kernel=K, bias=b)
        gamma, beta = bn.get_weights()[:2]
        beta[0], beta[4] = 0.8, -3.0  # channel 0: relu(...) > 0, channel 4: relu(...) = 0
        set_layer(bn, beta=beta, moving_mean=np.full(6, 0.1, np.float32))
        K2, b2 = c2.get_weights()
        K2[..., 2] = 0.0  # a dead filter of c2, constant relu(b2[2]) into the global average
        set_layer(c2, kernel=K2)
        x = RNG.standard_normal((4, 10, 10, 2)).astype(np.float32)
        small = nk.prune_zero_units(model)
        assert type(small) is type(model)
        # channel 4 (constant 0) always goes; channel 0 (constant 0.8-ish) only with valid padding
        assert small.get_layer("c1").filters == (4 if padding == "valid" else 5)
        assert small.get_layer("c2").filters == 4
        f1 = small.get_layer("c1").filters  # c1: 8x8 outputs of 3x3x2; c2 on the 4x4 pooled map
        side = 2 if padding == "valid" else 4
        assert nk.multiply_adds(small) == 64 * 9 * 2 * f1 + side * side * 9 * f1 * 4 + 4 * 3
        np.testing.assert_allclose(predict(small, x), predict(model, x), rtol=1e-5, atol=1e-5)


def test_flatten_after_conv_removes_a_channel_at_every_position():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6, 6, 1)), L.Conv2D(4, 3, activation="relu", name="c"), L.Flatten(), L.Dense(2, name="out")]
    )
    c, out = model.get_layer("c"), model.get_layer("out")
    K, b = c.get_weights()
    K[..., 1] = 0.0
    b[1] = 0.25
    set_layer(c, kernel=K, bias=b)
    Ko = out.get_weights()[0].reshape(16, 4, 2)
    Ko[:, 3, :] = 0.0  # channel 3: every position's weights zero
    set_layer(out, kernel=Ko.reshape(64, 2))
    x = RNG.standard_normal((5, 6, 6, 1)).astype(np.float32)
    small = nk.prune_zero_units(model)
    assert small.get_layer("c").filters == 2 and small.get_layer("out").get_weights()[0].shape == (32, 2)
    np.testing.assert_allclose(predict(small, x), predict(model, x), rtol=1e-5, atol=1e-6)


def test_flatten_channels_first_reorders_features_and_is_followed():
    """Flatten(data_format="channels_first") on a channels-last map moves the channel axis
    before the first spatial one: feature (w * C + c) * H + h, not (h * W + w) * C + c."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 3, 2)), L.Conv2D(4, 2, activation="relu", name="c"),
                              L.Flatten(data_format="channels_first"), L.Dense(2, name="out")])
    c, out = model.get_layer("c"), model.get_layer("out")
    K, b = c.get_weights()
    K[..., 1] = 0.0
    b[1] = 0.6  # constant relu(0.6), folded
    set_layer(c, kernel=K, bias=b)
    Ko = out.get_weights()[0].reshape(2, 4, 3, 2)  # (W', C, H', out) after the transpose
    Ko[:, 3] = 0.0  # channel 3 read by nobody
    set_layer(out, kernel=Ko.reshape(24, 2))
    x = RNG.standard_normal((5, 4, 3, 2)).astype(np.float32)
    small = nk.prune_zero_units(model)
    assert small.get_layer("c").filters == 2 and small.get_layer("out").get_weights()[0].shape == (12, 2)
    np.testing.assert_allclose(predict(small, x), predict(model, x), rtol=1e-5, atol=1e-6)


def test_spatial_dropout_and_noise_layers_pass_constants_through():
    """Identity at inference: a constant channel crosses them unchanged (SpatialDropout2D
    was called on a (1, channels) array and raised a bare ValueError)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 5, 2)), L.Conv2D(3, 2, name="c1"), L.SpatialDropout2D(0.3),
                              L.GaussianNoise(0.1), L.Conv2D(2, 2, name="c2"), L.Flatten(), L.Dense(2)])
    c1 = model.get_layer("c1")
    K, b = c1.get_weights()
    K[..., 1] = 0.0
    b[1] = 0.5
    set_layer(c1, kernel=K, bias=b)
    x = RNG.standard_normal((3, 5, 5, 2)).astype(np.float32)
    small = nk.prune_zero_units(model)
    assert small.get_layer("c1").filters == 2
    np.testing.assert_allclose(predict(small, x), predict(model, x), rtol=1e-5, atol=1e-6)


def test_lora_is_merged_and_quantized_layers_are_refused():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), L.Dense(5, activation="relu", name="d"), L.Dense(2, name="o")])
    d = model.get_layer("d")
    d.enable_lora(2)
    d.lora_kernel_b.assign(RNG.standard_normal((2, 5)).astype(np.float32))  # LoRA changes the kernel
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    small = nk.prune_zero_units(model)
    assert not small.get_layer("d").lora_enabled and small.get_layer("d").units == 5
    np.testing.assert_allclose(predict(small, x), predict(model, x), rtol=1e-5, atol=1e-6)
    model.get_layer("o").quantize("int8")
    with pytest.raises(nk.PruningError, match="layer 'o': .*quantized"):
        nk.prune_zero_units(model)


def test_multiply_adds_reads_the_data_format():
    first = keras.Sequential([keras.Input((1, 8, 8)), L.Conv2D(4, 3, data_format="channels_first")])
    last = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(4, 3)])
    assert nk.multiply_adds(first) == nk.multiply_adds(last) == 6 * 6 * 9 * 4


@settings(max_examples=12, deadline=None)
@given(
    dead_in=st.lists(st.booleans(), min_size=6, max_size=6),
    dead_out=st.lists(st.booleans(), min_size=6, max_size=6),
    biases=st.lists(st.floats(-2, 2), min_size=6, max_size=6),
    activation=st.sampled_from(["relu", "tanh", "sigmoid", "linear", "elu"]),
    bn=st.booleans(),
)
def test_any_zero_pattern_keeps_the_outputs(dead_in, dead_out, biases, activation, bn):
    model = mlp(activation, bn=bn)
    h1, h2 = model.get_layer("h1"), model.get_layer("h2")
    K1, b1 = h1.get_weights()
    K1[:, np.array(dead_in)] = 0.0
    b1[:] = biases
    set_layer(h1, kernel=K1, bias=b1)
    K2 = h2.get_weights()[0]
    K2[np.array(dead_out), :] = 0.0
    set_layer(h2, kernel=K2)
    x = RNG.standard_normal((8, 5)).astype(np.float32)
    small = nk.prune_zero_units(model)
    removable = np.array(dead_in) | np.array(dead_out)
    expected = max(1, 6 - int(removable.sum()))  # a layer keeps at least one unit
    assert small.get_layer("h1").units == expected
    np.testing.assert_allclose(predict(small, x), predict(model, x), rtol=1e-5, atol=1e-5)


def test_softmax_couples_channels_so_nothing_is_removed_there():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), L.Dense(5, activation="softmax", name="s"), L.Dense(2)])
    K, b = model.get_layer("s").get_weights()
    K[:, 0] = 0.0
    set_layer(model.get_layer("s"), kernel=K)
    assert nk.prune_zero_units(model).get_layer("s").units == 5


# -- what it refuses -----------------------------------------------------------------------
def test_refuses_what_it_cannot_prune_naming_the_layer():
    inp = keras.Input((4,))
    h = L.Dense(4, name="d")(inp)
    residual = keras.Model(inp, L.Add(name="add")([h, inp]))
    with pytest.raises(nk.PruningError, match="layer 'add': Add takes 2 inputs") as err:
        nk.prune_zero_units(residual)
    assert err.value.layer == "add"
    inp = keras.Input((4,))
    h = L.Dense(4, name="trunk")(inp)
    branches = keras.Model(inp, L.Concatenate(name="cat")([L.Dense(2, name="a")(h), L.Dense(2, name="b")(h)]))
    with pytest.raises(nk.PruningError, match="layer 'cat': Concatenate takes 2 inputs"):
        nk.prune_zero_units(branches)
    shared = L.Dense(4, name="shared")
    inp = keras.Input((4,))
    twice = keras.Model(inp, shared(shared(inp)))
    with pytest.raises(nk.PruningError, match="layer 'shared': the layer is shared"):
        nk.prune_zero_units(twice)
    unknown = keras.Sequential([keras.Input((4,)), L.Dense(4), L.LayerNormalization(name="ln"), L.Dense(1)])
    with pytest.raises(nk.PruningError, match="layer 'ln': LayerNormalization is not a layer prune_zero_units knows"):
        nk.prune_zero_units(unknown)
    depthwise = keras.Sequential([keras.Input((5, 5, 2)), L.DepthwiseConv2D(3, name="dw"), L.Flatten(), L.Dense(1)])
    with pytest.raises(nk.PruningError, match="layer 'dw'"):
        nk.prune_zero_units(depthwise)
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        nk.prune_zero_units(L.Dense(3))
    assert issubclass(nk.PruningError, ValueError)


# -- training, pruning, saving -------------------------------------------------------------
def test_proximal_group_lasso_then_prune():
    """Training with ProximalOptimizer leaves exact zero units that prune_zero_units removes
    with the outputs unchanged; the result has no normreg object left (that it then loads in
    a process without normreg is checked in test_keras_proximal.py, in the subprocess that
    also checks loading with it)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((256, 8)).astype(np.float32)
    y = (np.tanh(X[:, :2]).sum(axis=1, keepdims=True)).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            L.Dense(32, activation="relu", kernel_regularizer=nk.L2(1e-4), name="h1"),
            L.Dense(32, activation="relu", name="h2"),
            L.Dense(1, name="out"),
        ]
    )
    hidden = [model.get_layer("h1").kernel, model.get_layer("h2").kernel]
    opt = nk.ProximalOptimizer(keras.optimizers.SGD(0.05), nk.GroupLasso(0.05, axis=-1), include=hidden)
    model.compile(opt, "mse")
    model.fit(X, y, batch_size=32, epochs=20, verbose=0)
    dead = [int(np.all(keras.ops.convert_to_numpy(k) == 0, axis=0).sum()) for k in hidden]
    assert min(dead) > 0  # exact zero units in both hidden layers
    small = nk.prune_zero_units(model)
    assert n_params(small) < n_params(model)
    assert small.get_layer("h1").units <= 32 - dead[0] and small.get_layer("h2").units <= 32 - dead[1]
    assert small.get_layer("h1").kernel_regularizer is None and not small.losses
    np.testing.assert_allclose(predict(small, X), predict(model, X), rtol=1e-5, atol=1e-5)
