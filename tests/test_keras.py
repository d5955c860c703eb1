"""normreg.keras against independent oracles: Keras's own regularizers (through
normreg.conventions, both directions), the NumPy core's value/grad/prox, TensorFlow's
GradientTape, Keras's model.losses and model.save/load, and NumPy updates done by hand."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import normreg as nr  # noqa: E402
import normreg.keras as nk  # noqa: E402
from normreg import conventions as cv  # noqa: E402

FAST = settings(max_examples=25, deadline=None)
lams = st.floats(0.0, 10.0)
ratios = st.floats(0.0, 1.0)
strengths = st.floats(1e-4, 10.0)
# TensorFlow flushes subnormal floats to zero on CPU, also intermediate ones in a gradient
# (a group whose largest weight is 2.2e-308 gets a zero gradient), so weights that small are
# left out of the inputs; the NumPy core is tested on them in test_penalties.py.
elems = st.one_of(st.just(0.0), st.floats(1e-300, 5), st.floats(-5, -1e-300))
mats = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=elems)
six = hnp.arrays(np.float64, 6, elements=elems)
# away from the kink of |w| at 0, by construction rather than by filtering
away_from_kinks = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
    elements=st.one_of(st.floats(1e-3, 5), st.floats(-5, -1e-3)),
)
GROUPS = [[4, 0, 2], [1, 5], [3]]  # sizes 3, 2, 1, listed out of order on purpose


def to_np(x) -> np.ndarray:
    return tf.convert_to_tensor(x).numpy()


def pairs(lam: float, r: float) -> list[tuple[nk.Regularizer, nr.Penalty]]:
    return [
        (nk.L1(lam), nr.L1(lam)),
        (nk.L2(lam), nr.L2(lam)),
        (nk.ElasticNet(lam, r), nr.ElasticNet(lam, r)),
    ]


def expanded(pen: nk.GroupLasso, shape: tuple[int, ...]) -> tuple[nr.GroupLasso, int]:
    """The NumPy GroupLasso acting on W with `axis` moved to the front and flattened: group g
    holds the k entries of every index in g (k = size of the other axes)."""
    axis = pen.axis % len(shape)
    k = int(np.prod([d for i, d in enumerate(shape) if i != axis]))
    groups = [[i * k + j for i in g for j in range(k)] for g in pen.groups]
    return nr.GroupLasso(pen.lam, groups), axis


# -- values, gradients and prox against the NumPy core ------------------------------------
@FAST
@given(w=mats, lam=lams, r=ratios)
def test_values_match_the_numpy_core(w, lam, r):
    for reg, core in pairs(lam, r):
        assert float(reg(w)) == pytest.approx(float(core(w)), rel=1e-12, abs=1e-12)
        assert reg.to_numpy() == core


@FAST
@given(w=six, lam=lams)
def test_group_lasso_on_a_vector_is_the_numpy_group_lasso(w, lam):
    reg = nk.GroupLasso(lam, GROUPS)
    assert float(reg(w)) == pytest.approx(float(nr.GroupLasso(lam, GROUPS)(w)), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(to_np(reg.prox(w, 0.7)), nr.GroupLasso(lam, GROUPS).prox(w, 0.7), atol=1e-12)


@FAST
@given(data=st.data(), lam=lams, step=st.floats(1e-3, 3.0))
def test_group_lasso_on_a_kernel_groups_slices_along_axis(data, lam, step):
    shape = data.draw(st.sampled_from([(6, 3), (3, 6), (2, 6, 2), (6,)]))
    axis = {(6, 3): 0, (3, 6): 1, (2, 6, 2): -2, (6,): 0}[shape]
    W = data.draw(hnp.arrays(np.float64, shape, elements=elems))
    reg = nk.GroupLasso(lam, GROUPS, axis=axis)
    core, ax = expanded(reg, shape)
    flat = np.moveaxis(W, ax, 0).reshape(-1)
    assert float(reg(W)) == pytest.approx(float(core(flat)), rel=1e-12, abs=1e-12)
    prox = np.moveaxis(core.prox(flat, step).reshape(np.moveaxis(W, ax, 0).shape), 0, ax)
    np.testing.assert_allclose(to_np(reg.prox(W, step)), prox, atol=1e-12)


def test_group_lasso_rows_of_a_dense_kernel_are_inputs():
    """axis=0 on a Dense kernel (inputs, units): a group is every weight leaving an input."""
    W = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 3.0]])
    reg = nk.GroupLasso(0.5, [[0], [1, 2]])
    expected = 0.5 * (np.sqrt(2) * 5.0 + np.sqrt(4) * np.sqrt(1 + 9))
    assert float(reg(W)) == pytest.approx(expected, rel=1e-14)
    out = to_np(nk.GroupLasso(1.0, [[0], [1], [2]]).prox(W, 1.5))  # threshold 1.5*sqrt(2) > ||row 1||
    assert (out[1] == 0).all() and (np.linalg.norm(out, axis=1)[[0, 2]] > 0).all()


@FAST
@given(w=away_from_kinks, lam=lams, r=ratios)
def test_gradient_tape_equals_numpy_grad(w, lam, r):
    for reg, core in pairs(lam, r):
        v = tf.Variable(w)
        with tf.GradientTape() as tape:
            value = reg(v)
        np.testing.assert_allclose(tape.gradient(value, v).numpy(), core.grad(w), rtol=1e-12, atol=1e-12)


@FAST
@given(w=six, lam=lams)
def test_group_lasso_gradient_tape_equals_numpy_grad(w, lam):
    w = w.copy()
    w[[1, 5]] = 0.0  # one whole group at zero: minimum-norm subgradient 0, not NaN
    v = tf.Variable(w)
    with tf.GradientTape() as tape:
        value = nk.GroupLasso(lam, GROUPS)(v)
    g = tape.gradient(value, v).numpy()
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g, nr.GroupLasso(lam, GROUPS).grad(w), rtol=1e-12, atol=1e-12)


def test_l1_gradient_at_zero_is_the_minimum_norm_subgradient():
    w = np.array([0.0, 1.0, -2.0, 0.0])
    v = tf.Variable(w)
    with tf.GradientTape() as tape:
        value = nk.L1(0.3)(v)
    np.testing.assert_array_equal(tape.gradient(value, v).numpy(), nr.L1(0.3).grad(w))


@FAST
@given(w=mats, lam=lams, r=ratios, step=st.floats(1e-3, 3.0))
def test_prox_matches_the_numpy_core(w, lam, r, step):
    for reg, core in pairs(lam, r):
        np.testing.assert_allclose(to_np(reg.prox(w, step)), core.prox(w, step), rtol=1e-12, atol=1e-15)


def test_group_lasso_neither_overflows_nor_underflows():
    for scale in (1e-200, 1e200):
        w = np.array([3.0, 4.0, 0.0, 1.0, 0.0, 0.0]) * scale
        reg = nk.GroupLasso(1.0, GROUPS)
        assert float(reg(w)) == pytest.approx(float(nr.GroupLasso(1.0, GROUPS)(w)), rel=1e-14)
        v = tf.Variable(w)
        with tf.GradientTape() as tape:
            value = reg(v)
        np.testing.assert_allclose(tape.gradient(value, v).numpy(), nr.GroupLasso(1.0, GROUPS).grad(w), rtol=1e-14)


def test_float32_in_float32_out():
    w = np.array([[1.0, -2.0]], dtype=np.float32)
    for reg in (nk.L1(0.1), nk.L2(0.1), nk.ElasticNet(0.1), nk.GroupLasso(0.1, [[0]])):
        assert keras.backend.standardize_dtype(reg(w).dtype) == "float32"
        assert keras.backend.standardize_dtype(reg.prox(w, 0.1).dtype) == "float32"


# -- conventions: normreg <-> Keras's own regularizers, both directions ---------------------
@FAST
@given(w=mats, l1=strengths, l2=strengths)
def test_keras_builtins_to_book(w, l1, l2):
    """Keras's value equals normreg's after converting Keras's constant with to_book."""
    w = w.astype(np.float32)
    kr = keras.regularizers
    assert float(kr.L1(l1)(w)) == pytest.approx(float(nk.L1(cv.to_book(l1, "keras", penalty="l1"))(w)), rel=1e-5)
    assert float(kr.L2(l2)(w)) == pytest.approx(float(nk.L2(cv.to_book(l2, "keras", penalty="l2"))(w)), rel=1e-5)
    for builtin in (kr.L1(l1), kr.L2(l2), kr.L1L2(l1, l2), kr.L1L2(l1, 0.0), kr.L1L2(0.0, l2)):
        assert float(nk.as_regularizer(builtin)(w)) == pytest.approx(float(builtin(w)), rel=1e-5, abs=1e-30)


@FAST
@given(w=mats, lam=strengths, r=ratios)
def test_book_to_keras_builtins(w, lam, r):
    """normreg's value equals Keras's after converting the book's lambda with from_book."""
    w = w.astype(np.float32)
    kr = keras.regularizers
    assert float(kr.L1(cv.from_book(lam, "keras", penalty="l1"))(w)) == pytest.approx(float(nk.L1(lam)(w)), rel=1e-5)
    assert float(kr.L2(cv.from_book(lam, "keras", penalty="l2"))(w)) == pytest.approx(float(nk.L2(lam)(w)), rel=1e-5)
    for reg in (nk.L1(lam), nk.L2(lam), nk.ElasticNet(lam, r)):
        builtin = nk.to_keras(reg)
        assert type(builtin).__module__.startswith("keras")
        assert float(builtin(w)) == pytest.approx(float(reg(w)), rel=1e-5, abs=1e-30)
        back = nk.as_regularizer(builtin)  # Keras keeps l1 as a float32 tensor
        assert back.lam == pytest.approx(reg.lam, rel=1e-6)


def test_keras_l2_has_no_half():
    w = np.array([3.0, 4.0], dtype=np.float32)
    assert float(keras.regularizers.L2(0.1)(w)) == pytest.approx(2.5)
    assert float(nk.L2(0.1)(w)) == pytest.approx(1.25)
    assert nk.as_regularizer(keras.regularizers.L2(0.1)) == nk.L2(0.2)
    assert nk.to_keras(nk.L2(0.2)).get_config() == {"l2": pytest.approx(0.1)}


def test_as_regularizer_maps_numpy_penalties():
    assert nk.as_regularizer(nr.L1(0.1)) == nk.L1(0.1)
    assert nk.as_regularizer(nr.L2(0.1)) == nk.L2(0.1)
    assert nk.as_regularizer(nr.ElasticNet(0.1, 0.3)) == nk.ElasticNet(0.1, 0.3)
    assert nk.as_regularizer(nr.GroupLasso(0.1, GROUPS)) == nk.GroupLasso(0.1, GROUPS)
    with pytest.raises(TypeError, match="no Keras built-in counterpart"):
        nk.to_keras(nk.GroupLasso(0.1, GROUPS))


# -- serialization -------------------------------------------------------------------------
def test_model_with_every_regularizer_survives_save_and_load(tmp_path):
    keras.utils.set_random_seed(0)
    regs = [nk.L1(0.01), nk.L2(0.02), nk.ElasticNet(0.03, 0.25), nk.GroupLasso(0.04, [[0, 2], [1], [3]])]
    model = keras.Sequential(
        [keras.Input((4,))]
        + [keras.layers.Dense(4, activation="tanh", kernel_regularizer=r) for r in regs]
        + [keras.layers.Dense(1)]
    )
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert len(loaded.losses) == 4
    assert float(sum(loaded.losses)) == float(sum(model.losses)) > 0
    np.testing.assert_array_equal(to_np(loaded(x)), to_np(model(x)))
    for reg, layer in zip(regs, loaded.layers[:4], strict=True):
        assert layer.kernel_regularizer == reg and layer.kernel_regularizer is not reg
        config = keras.saving.serialize_keras_object(reg)
        assert config["registered_name"] == f"normreg>{type(reg).__name__}"
        assert keras.saving.deserialize_keras_object(config) == reg


# -- which variables are penalized ---------------------------------------------------------
def test_penalized_variables_exclude_biases_and_normalization():
    inp = keras.Input((6, 2))
    conv = keras.layers.Conv1D(3, 2)
    bn = keras.layers.BatchNormalization()
    dense = keras.layers.Dense(4)
    ln = keras.layers.LayerNormalization()
    out_layer = keras.layers.Dense(1, use_bias=False)
    h = out_layer(ln(dense(keras.layers.Flatten()(bn(conv(inp))))))
    model = keras.Model(inp, h)
    got = nk.penalized_variables(model)
    assert [id(v) for v in got] == [id(conv.kernel), id(dense.kernel), id(out_layer.kernel)]
    excluded = {id(v) for v in model.variables} - {id(v) for v in got}
    assert excluded == {id(v) for v in (conv.bias, dense.bias, *bn.weights, *ln.weights)}
    # choosing: a callable over all trainable variables, or an explicit list
    assert [id(v) for v in nk.penalized_variables(model, include=lambda v: v.name == "gamma")] == [
        id(bn.gamma),
        id(ln.gamma),
    ]
    assert nk.penalized_variables(model, include=[dense.kernel]) == [dense.kernel]
    with pytest.raises(ValueError, match=r"include\[0\] is not a variable of the model"):
        nk.penalized_variables(model, include=[keras.Variable(np.ones((2, 2)))])
    with pytest.raises(TypeError, match="include must be a callable"):
        nk.penalized_variables(model, include="kernel")


def test_embeddings_and_depthwise_kernels_are_penalized():
    emb = keras.layers.Embedding(10, 3)
    dw = keras.layers.DepthwiseConv2D(2)
    m1 = keras.Sequential([keras.Input((4,), dtype="int32"), emb])
    m2 = keras.Sequential([keras.Input((5, 5, 2)), dw])
    assert nk.penalized_variables(m1) == [emb.embeddings]
    assert nk.penalized_variables(m2) == [dw.kernel]


# -- total penalty for custom loops --------------------------------------------------------
@pytest.fixture(scope="module")
def mlp():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(3),
            keras.layers.Dense(1),
        ]
    )


@pytest.mark.parametrize("pen", [nr.L1(0.1), nr.L2(0.3), nr.ElasticNet(0.2, 0.4)])
def test_penalty_loss_is_the_sum_over_kernels(mlp, pen):
    kernels = [to_np(layer.kernel) for layer in mlp.layers if hasattr(layer, "kernel")]
    expected = sum(float(pen(k.astype(np.float64))) for k in kernels)
    assert float(penalty := nk.penalty_loss(mlp, pen)) == pytest.approx(expected, rel=1e-6)
    assert keras.backend.standardize_dtype(penalty.dtype) == "float32"


def test_penalty_loss_equals_what_fit_adds_from_kernel_regularizers():
    """Keras's own sum of per-layer regularization losses is the oracle."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [keras.Input((5,))] + [keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L2(0.01)) for _ in range(3)]
    )
    assert float(nk.penalty_loss(model, nk.L2(0.02))) == pytest.approx(float(sum(model.losses)), rel=1e-6)


def test_penalty_loss_reads_each_weight_once_and_sums_once(mlp):
    """Traced, the L1 penalty of the kernels is one reduction per kernel, added in one sum,
    with no concatenation (a copy of every weight) in between."""
    n_kernels = len(nk.penalized_variables(mlp))
    fn = tf.function(lambda: nk.penalty_loss(mlp, nk.L1(0.1)))
    ops = [op.type for op in fn.get_concrete_function().graph.get_operations()]
    assert ops.count("Abs") == n_kernels and ops.count("Pack") == 1
    assert ops.count("Sum") == n_kernels + 1
    assert "ConcatV2" not in ops


def test_penalty_loss_is_float32_under_a_float16_policy():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, kernel_initializer="ones")])
        big = nk.penalty_loss(model, nk.L2(1e5))  # 1e5/2 * 12 = 6e5 > float16's 65504
        assert keras.backend.standardize_dtype(big.dtype) == "float32"
        assert float(big) == pytest.approx(6e5)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_penalty_loss_gradient_in_a_tape(mlp):
    variables = nk.penalized_variables(mlp)
    with tf.GradientTape() as tape:
        value = nk.penalty_loss(mlp, nk.L2(0.5))
    grads = tape.gradient(value, variables)
    for g, v in zip(grads, variables, strict=True):
        np.testing.assert_allclose(g.numpy(), nr.L2(0.5).grad(to_np(v)), rtol=1e-6)


def test_penalty_loss_group_lasso_per_variable_and_shape_check():
    keras.utils.set_random_seed(3)
    d1, d2 = keras.layers.Dense(3), keras.layers.Dense(3)
    model = keras.Sequential([keras.Input((3,)), d1, d2])
    reg = nk.GroupLasso(0.2, [[0, 1], [2]])
    assert float(nk.penalty_loss(model, reg)) == pytest.approx(float(reg(d1.kernel) + reg(d2.kernel)), rel=1e-6)
    wide = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="groups cover 3 indices along axis 0"):
        nk.penalty_loss(wide, reg)


# -- proximal training -----------------------------------------------------------------------
def linear_data(m: int = 40, p: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p)).astype(np.float32)
    y = (X[:, :2] @ np.array([1.5, -2.0]) + 0.1 * rng.standard_normal(m)).astype(np.float32)[:, None]
    return X, y


@pytest.mark.filterwarnings("ignore:ProximalCallback is deprecated:FutureWarning")  # tested in test_keras_proximal.py
def test_proximal_callback_is_a_proximal_gradient_step():
    """One full-batch SGD step + callback equals prox(w - lr * grad, lr), computed in NumPy."""
    X, y = linear_data()
    m = len(X)
    lr, lam = 0.1, 0.3
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(lr), "mse")
    w0, b0 = to_np(model.layers[0].kernel).astype(np.float64), to_np(model.layers[0].bias).astype(np.float64)
    model.fit(X, y, batch_size=m, epochs=1, shuffle=False, verbose=0, callbacks=[nk.ProximalCallback(nr.L1(lam))])
    r = X @ w0 + b0 - y  # Keras's mse = mean (pred - y)^2: gradient (2/m) X^T r
    w_expected = nr.L1(lam).prox(w0 - lr * 2 / m * X.T @ r, lr)
    b_expected = b0 - lr * 2 / m * r.sum(axis=0)  # the bias is not penalized
    np.testing.assert_allclose(to_np(model.layers[0].kernel), w_expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_np(model.layers[0].bias), b_expected, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:ProximalCallback is deprecated:FutureWarning")  # tested in test_keras_proximal.py
def test_proximal_l1_gives_exact_zeros_keras_l1_does_not():
    X, y = linear_data()
    lam, lr = 0.2, 0.1

    def train(regularizer, callbacks):
        keras.utils.set_random_seed(0)
        layer = keras.layers.Dense(1, kernel_regularizer=regularizer)
        model = keras.Sequential([keras.Input((6,)), layer])
        model.compile(keras.optimizers.SGD(lr), "mse")
        model.fit(X, y, batch_size=8, epochs=8, shuffle=False, verbose=0, callbacks=callbacks)
        return to_np(layer.kernel).ravel()

    w_prox = train(None, [nk.ProximalCallback(nk.L1(lam))])
    w_keras = train(keras.regularizers.L1(lam), [])
    assert np.count_nonzero(w_prox == 0) == 4  # the 4 useless inputs, exactly
    assert np.count_nonzero(w_keras == 0) == 0  # subgradient steps hover around 0
    assert np.abs(w_keras[2:]).max() < 5 * lr * lam  # ... within a few steps of it


@pytest.mark.filterwarnings("ignore:ProximalCallback is deprecated:FutureWarning")  # tested in test_keras_proximal.py
def test_proximal_callback_group_lasso_zeroes_whole_rows_and_uses_given_step():
    X, y = linear_data()
    keras.utils.set_random_seed(0)
    layer = keras.layers.Dense(3)
    model = keras.Sequential([keras.Input((6,)), layer, keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse")
    cb = nk.ProximalCallback(nk.GroupLasso(0.3, [[j] for j in range(6)]), learning_rate=0.05, include=[layer.kernel])
    model.fit(X, y, batch_size=4, epochs=4, shuffle=False, verbose=0, callbacks=[cb])
    assert cb.current_step() == 0.05 and cb.variables == [layer.kernel]
    K = to_np(layer.kernel)
    zero_rows = np.all(K == 0, axis=1)
    assert zero_rows.tolist() == [False, False, True, True, True, True]  # feature selection: inputs 2..5 dropped


def test_prox_step_uses_the_learning_rate_variable_and_validates():
    v = keras.Variable(np.array([0.5, -0.05], dtype=np.float32))
    nk.prox_step([v], nr.L1(1.0), keras.Variable(0.25))
    np.testing.assert_array_equal(to_np(v), [0.25, 0.0])
    with pytest.raises(ValueError, match="step must be >= 0"):
        nk.prox_step([v], nk.L1(1.0), -0.1)
    with pytest.raises(TypeError, match=r"variables\[0\] must be a variable"):
        nk.prox_step([np.ones(2)], nk.L1(1.0), 0.1)


@pytest.mark.filterwarnings("ignore:ProximalCallback is deprecated:FutureWarning")  # tested in test_keras_proximal.py
def test_proximal_callback_refuses_steps_per_execution():
    X, y = linear_data()
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse", steps_per_execution=2)
    with pytest.raises(ValueError, match="steps_per_execution=1"):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[nk.ProximalCallback(nk.L1(0.1))])


# -- bad arguments raise like the NumPy core -----------------------------------------------
@pytest.mark.parametrize(
    ("make", "args"),
    [
        ("L1", (-0.1,)),
        ("L1", (float("nan"),)),
        ("L2", (float("inf"),)),
        ("L2", ("0.1",)),
        ("L1", (True,)),
        ("ElasticNet", (0.1, 1.5)),
        ("ElasticNet", (0.1, -0.1)),
        ("ElasticNet", (0.1, float("nan"))),
        ("GroupLasso", (0.1, [[0, 1], [1, 2]])),
        ("GroupLasso", (0.1, [[0], [2]])),
        ("GroupLasso", (0.1, [])),
        ("GroupLasso", (0.1, [[0.5]])),
        ("GroupLasso", (-1.0, [[0]])),
    ],
)
def test_bad_arguments_raise_like_the_numpy_core(make, args):
    with pytest.raises((TypeError, ValueError)) as core_err:
        getattr(nr, make)(*args)
    with pytest.raises(core_err.type) as keras_err:
        getattr(nk, make)(*args)
    assert str(keras_err.value) == str(core_err.value)


def test_bad_inputs_name_the_argument():
    with pytest.raises(TypeError, match="x must have a floating dtype; got dtype int32"):
        nk.L1(0.1)(np.array([1, 2], dtype=np.int32))
    with pytest.raises(ValueError, match="step must be >= 0"):
        nk.L2(0.1).prox(np.ones(2), -1.0)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        nk.GroupLasso(0.1, [[0], [1]], axis=2)(np.ones((2, 2)))
    with pytest.raises(TypeError, match="penalty must be a normreg.keras regularizer"):
        nk.as_regularizer("l1")
    with pytest.raises(TypeError, match="model_or_variables must be a keras model"):
        nk.penalty_loss(np.ones(3), nk.L1(0.1))
    with pytest.raises(ValueError, match="has no variables to penalize"):
        nk.penalty_loss(keras.Sequential([keras.layers.Dense(1)]), nk.L1(0.1))
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        nk.ProximalCallback(nk.L1(0.1), learning_rate=-1.0)


# -- issue 10 item 3: the prox of a step uses that step's learning rate ----------------------
def ista(X, y, w, b, lrs, lam):
    """NumPy proximal gradient on Keras's mse (mean (Xw + b - y)^2) + lam * ||w||_1, one
    full-batch step per learning rate in `lrs`; the bias is not penalized."""
    m = len(X)
    for lr in lrs:
        r = X @ w + b - y
        w = nr.L1(lam).prox(w - lr * 2 / m * X.T @ r, lr) if lr > 0 else w - lr * 2 / m * X.T @ r
        b = b - lr * 2 / m * r.sum(axis=0)
    return w, b


def fit_with_callback(optimizer, epochs, lam):
    X, y = linear_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    model.compile(optimizer, "mse")
    w0 = to_np(model.layers[0].kernel).astype(np.float64)
    b0 = to_np(model.layers[0].bias).astype(np.float64)
    model.fit(X, y, batch_size=len(X), epochs=epochs, shuffle=False, verbose=0,
              callbacks=[nk.ProximalCallback(nk.L1(lam))])
    return model, (X.astype(np.float64), y.astype(np.float64), w0, b0)


@pytest.mark.filterwarnings("ignore:ProximalCallback is deprecated:FutureWarning")  # tested in test_keras_proximal.py
def test_proximal_callback_thresholds_with_the_rate_of_the_step_just_taken():
    """PiecewiseConstantDecay([0], [1.0, 0.001]): step 0 is taken at lr 1.0 and must be
    thresholded at 1.0 * lam (not at the next step's 0.001 * lam)."""
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([0], [1.0, 0.001])
    lam = 0.3
    model, (X, y, w0, b0) = fit_with_callback(keras.optimizers.SGD(schedule), 1, lam)
    w, _ = ista(X, y, w0, b0, [1.0], lam)
    wrong, _ = ista(X, y, w0, b0, [1.0], 0.001 * lam)  # what thresholding at 0.001 gives
    assert np.abs(w - wrong).max() > 0.1  # the two differ: the test can tell them apart
    got = to_np(model.layers[0].kernel)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got == 0, w == 0)


@pytest.mark.filterwarnings("ignore:ProximalCallback is deprecated:FutureWarning")  # tested in test_keras_proximal.py
def test_proximal_callback_cosine_decay_to_zero_runs_and_is_ista():
    """SGD(CosineDecay(0.1, decay_steps=4)): the 5th step has lr 0, a valid identity prox."""
    lam = 0.05
    schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=4)
    model, (X, y, w0, b0) = fit_with_callback(keras.optimizers.SGD(schedule), 6, lam)
    lrs = [float(schedule(k)) for k in range(6)]
    assert lrs[4] == lrs[5] == 0.0 and min(lrs[:4]) > 0
    w, b = ista(X, y, w0, b0, lrs, lam)
    np.testing.assert_allclose(to_np(model.layers[0].kernel), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_np(model.layers[0].bias), b, rtol=1e-5, atol=1e-6)


def test_a_zero_step_is_the_identity_prox():
    v = np.array([[0.5, -0.05], [0.0, 3.0]], dtype=np.float32)
    for reg in (nk.L1(1.0), nk.L2(1.0), nk.ElasticNet(1.0, 0.5), nk.GroupLasso(1.0, [[0], [1]])):
        np.testing.assert_array_equal(to_np(reg.prox(v, 0.0)), v)
        np.testing.assert_array_equal(to_np(reg.prox(v, keras.Variable(0.0))), v)


# -- issue 10 item 4: regularizers accumulate in at least float32 ---------------------------
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_activity_l1_on_a_wide_layer_under_mixed_precision(policy):
    """Dense(4096, relu) over a batch of 256 with activity L1(1e-3): the sum of |activations|
    overflows float16 (65504), the penalty itself is about 0.57."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        layer = keras.layers.Dense(4096, activation="relu", activity_regularizer=nk.L1(1e-3))
        x = np.random.default_rng(0).standard_normal((256, 64)).astype(np.float32)
        out = layer(x)
        assert keras.backend.standardize_dtype(out.dtype) == policy.split("_")[1]
        (loss,) = layer.losses
        expected = 1e-3 * np.abs(to_np(out).astype(np.float64)).sum() / 256  # Keras divides by the batch
        assert 0.1 < expected < 10 and np.abs(to_np(out).astype(np.float64)).sum() > 65504
        assert float(loss) == pytest.approx(expected, rel=1e-5)
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_every_regularizer_is_finite_on_a_large_half_precision_kernel(dtype):
    W64 = np.full((300, 300), 20.0)  # sum of squares 3.6e7: inf in float16
    W = ops_cast(W64, dtype)
    cases = [
        (nk.L1(1e-3), nr.L1(1e-3)),
        (nk.L2(1e-3), nr.L2(1e-3)),
        (nk.ElasticNet(1e-3, 0.5), nr.ElasticNet(1e-3, 0.5)),
        (nk.GroupLasso(1e-3, [[j] for j in range(300)]), None),
    ]
    for reg, core in cases:
        value = reg(W)
        assert keras.backend.standardize_dtype(value.dtype) == "float32"
        expected = float(core(W64)) if core is not None else 1e-3 * 300 * np.sqrt(300) * np.sqrt(300 * 400.0)
        assert float(value) == pytest.approx(expected, rel=1e-6)
        prox = reg.prox(W, 0.1)
        assert keras.backend.standardize_dtype(prox.dtype) == dtype  # the weight keeps its dtype
        assert np.isfinite(to_np(ops_cast(prox, "float32"))).all()


def ops_cast(x, dtype):
    return keras.ops.cast(keras.ops.convert_to_tensor(x), dtype)


# -- issue 10 item 26: GroupLasso.to_numpy on a kernel -----------------------------------------
@FAST
@given(data=st.data(), lam=lams, step=st.floats(0.0, 3.0))
def test_group_lasso_to_numpy_of_a_kernel_shape(data, lam, step):
    shape, axis = data.draw(st.sampled_from([((6, 3), 0), ((3, 6), 1), ((2, 6, 2), -2), ((2, 2, 3, 6), -1)]))
    W = data.draw(hnp.arrays(np.float64, shape, elements=elems))
    reg = nk.GroupLasso(lam, GROUPS, axis=axis)
    core = reg.to_numpy(W.shape)
    assert float(core(W.ravel())) == pytest.approx(float(reg(W)), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(core.prox(W.ravel(), step).reshape(shape), to_np(reg.prox(W, step)), atol=1e-12)


def test_group_lasso_to_numpy_validates_the_shape():
    reg = nk.GroupLasso(1.0, [[0], [1, 2]], axis=1)
    assert reg.to_numpy() == nr.GroupLasso(1.0, [[0], [1, 2]])
    with pytest.raises(ValueError, match="groups cover 3 indices along axis 1, but shape"):
        reg.to_numpy((3, 4))
    with pytest.raises(TypeError, match="shape must be a tuple of ints"):
        reg.to_numpy(3)
