"""ProximalOptimizer against NumPy oracles: ISTA (proximal gradient) written by hand, a NumPy
Adam with the prox in Adam's diagonal metric, and the lasso solved by normreg's FISTA.

Backend-neutral: the same file runs on TensorFlow (the default) and, through
tests/test_keras_backends.py, on JAX (KERAS_BACKEND=jax in a subprocess). Checks that need
TensorFlow itself (MirroredStrategy) skip elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import normreg as nr  # noqa: E402
import normreg.keras as nk  # noqa: E402

BACKEND = keras.backend.backend()
tf_only = pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow-specific")
# Keras's PyTorch trainer runs one step per execution (it raises for more)
SPE = 1 if BACKEND == "torch" else None


def to_np(x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


def linear_data(m: int = 48, p: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p)).astype(np.float32)
    y = (X[:, :2] @ np.array([1.5, -2.0]) + 0.1 * rng.standard_normal(m)).astype(np.float32)[:, None]
    return X, y


def linear_model(seed: int = 0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])


def weights(model):
    layer = model.layers[0]
    return to_np(layer.kernel).astype(np.float64), to_np(layer.bias).astype(np.float64)


def prox_sgd(X, y, w, b, lrs, prox, batch):
    """NumPy proximal SGD on Keras's mse = mean (Xw + b - y)^2, batches in order, one
    learning rate per step; `prox(v, t)` applied to the kernel, not the bias."""
    X, y = X.astype(np.float64), y.astype(np.float64)
    starts = list(range(0, len(X), batch))
    for k, lr in enumerate(lrs):
        s = starts[k % len(starts)]
        xb, yb = X[s : s + batch], y[s : s + batch]
        r = xb @ w + b - yb
        w = prox(w - lr * 2 / len(xb) * xb.T @ r, lr)
        b = b - lr * 2 / len(xb) * r.sum(axis=0)
    return w, b


# -- plain SGD: exactly proximal gradient descent ------------------------------------------
@pytest.mark.parametrize(
    ("batch", "steps_per_execution", "jit_compile"),
    [(48, 1, False), (8, 4, False), (8, 3, True), (8, 1, "auto")],
)
def test_sgd_is_exactly_ista(batch, steps_per_execution, jit_compile):
    if SPE == 1 and steps_per_execution > 1:
        pytest.skip("Keras's PyTorch backend refuses steps_per_execution > 1")
    X, y = linear_data()
    lr, lam = 0.1, 0.2
    epochs = 60 // (len(X) // batch)  # 60 steps
    model = linear_model()
    w0, b0 = weights(model)
    model.compile(
        nk.ProximalOptimizer(keras.optimizers.SGD(lr), nk.L1(lam)),
        "mse",
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    model.fit(X, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
    n_steps = epochs * (len(X) // batch)
    w, b = prox_sgd(X, y, w0, b0, [lr] * n_steps, nr.L1(lam).prox, batch)
    got_w, got_b = weights(model)
    assert int(model.optimizer.iterations) == n_steps
    assert np.count_nonzero(w == 0) >= 3  # of the four useless inputs
    np.testing.assert_array_equal(got_w == 0, w == 0)  # the same exact zeros
    np.testing.assert_allclose(got_w, w, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got_b, b, rtol=2e-5, atol=2e-6)


def test_schedules_use_the_rate_of_each_update_and_zero_is_the_identity():
    X, y = linear_data()
    lam = 0.2
    for schedule in (
        keras.optimizers.schedules.PiecewiseConstantDecay([0], [1.0, 0.001]),
        keras.optimizers.schedules.CosineDecay(0.1, decay_steps=4),
    ):
        model = linear_model()
        w0, b0 = weights(model)
        model.compile(nk.ProximalOptimizer(keras.optimizers.SGD(schedule), nk.L1(lam)), "mse")
        model.fit(X, y, batch_size=48, epochs=6, shuffle=False, verbose=0)
        lrs = [float(schedule(k)) for k in range(6)]
        w, b = prox_sgd(X, y, w0, b0, lrs, nr.L1(lam).prox, 48)
        np.testing.assert_allclose(weights(model)[0], w, rtol=2e-5, atol=2e-6)
        np.testing.assert_array_equal(weights(model)[0] == 0, w == 0)


def test_the_prox_is_skipped_when_the_update_is():
    """LossScaleOptimizer skips a step whose scaled gradients overflow; gradient
    accumulation only accumulates on 1 step of 2: neither may move the weights."""
    X, y = linear_data()
    model = linear_model()
    w0, _ = weights(model)
    inner = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.05), initial_scale=3e38)
    model.compile(nk.ProximalOptimizer(inner, nk.L1(0.2)), "mse")
    model.fit(X[:8], y[:8], batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert int(model.optimizer.iterations) == 0  # skipped ...
    np.testing.assert_array_equal(weights(model)[0], w0)  # ... and so was the prox

    model = linear_model()
    w0, b0 = weights(model)
    model.compile(nk.ProximalOptimizer(keras.optimizers.SGD(0.05, gradient_accumulation_steps=2), nk.L1(0.2)), "mse")
    model.fit(X[:8], y[:8], batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(weights(model)[0], w0)
    model.fit(X[8:16], y[8:16], batch_size=8, epochs=1, shuffle=False, verbose=0)
    w, _ = prox_sgd(X[:16], y[:16], w0, b0, [0.05], nr.L1(0.2).prox, 16)  # mean of the two batch gradients
    np.testing.assert_allclose(weights(model)[0], w, rtol=2e-5, atol=2e-6)


def test_inside_a_loss_scale_optimizer_under_mixed_float16():
    """compile wraps ProximalOptimizer in a LossScaleOptimizer under mixed_float16."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        X, y = linear_data()
        model = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, dtype="float32")]
        )
        first = model.layers[0].kernel
        opt = nk.ProximalOptimizer(keras.optimizers.SGD(0.05), nk.GroupLasso(0.3, axis=0), include=[first])
        model.compile(opt, "mse")
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        # a LossScaleOptimizer inside would get a second one around it from compile: the
        # gradients were unscaled twice (by 32768 too much) and training silently stalled
        with pytest.raises(ValueError, match="unscaled twice"):
            nk.ProximalOptimizer(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.05)), nk.L1(0.1))
        model.fit(X, y, batch_size=8, epochs=20, shuffle=False, verbose=0)
        # dynamic loss scaling skips the first steps whose float16 gradients overflow
        assert model.optimizer.inner_optimizer is opt and 100 < int(opt.iterations) <= 120
        rows = np.linalg.norm(to_np(model.layers[0].kernel), axis=1)
        assert (rows == 0).sum() >= 2 and (rows[:2] > 0).all()  # useless inputs dropped exactly
    finally:
        keras.mixed_precision.set_global_policy("float32")


# -- momentum and Adam: what the prox then is ---------------------------------------------
def test_momentum_fixed_point_is_the_lasso_with_a_scaled_penalty():
    """With SGD(momentum=mu), the prox of L1(c) stops at the lasso with (1 - mu) * c: so
    L1(lam / (1 - mu)) reaches the lasso with lam. Keras's mse is twice the book's squared
    loss: mse + lam ||w||_1 is normreg's fit_linear with L1(lam / 2)."""
    X, y = linear_data()
    mu, lam = 0.9, 0.2
    Xd, yd = X.astype(np.float64), y[:, 0].astype(np.float64)
    for strength, target in ((lam / (1 - mu), lam), (lam, (1 - mu) * lam)):
        model = linear_model()
        opt = nk.ProximalOptimizer(keras.optimizers.SGD(0.02, momentum=mu), nk.L1(strength))
        model.compile(opt, "mse", steps_per_execution=SPE or 50)
        model.fit(np.tile(X, (50, 1)), np.tile(y, (50, 1)), batch_size=48, epochs=12, shuffle=False, verbose=0)
        lasso = nr.fit_linear(Xd, yd, nr.L1(target / 2), tol=1e-12)
        w = weights(model)[0][:, 0]
        np.testing.assert_allclose(w, lasso.coef, atol=1e-4)
        np.testing.assert_array_equal(w == 0, lasso.coef == 0)
    assert np.count_nonzero(nr.fit_linear(Xd, yd, nr.L1(lam / 2), tol=1e-12).coef == 0) >= 3


def numpy_adam_prox(X, y, w, b, steps, lr, lam, metric, b1=0.9, b2=0.999, eps=1e-7):
    """Keras's Adam (epsilon added to sqrt(v) before bias correction) on full-batch mse,
    then soft-thresholding of the kernel with the scalar lr or Adam's per-coordinate step."""
    X, y = X.astype(np.float64), y.astype(np.float64)
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    for t in range(1, steps + 1):
        r = X @ w + b - y
        gw, gb = 2 / len(X) * X.T @ r, 2 / len(X) * r.sum(axis=0)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        mw, vw = mw + (gw - mw) * (1 - b1), vw + (gw**2 - vw) * (1 - b2)
        mb, vb = mb + (gb - mb) * (1 - b1), vb + (gb**2 - vb) * (1 - b2)
        w = w - alpha * mw / (np.sqrt(vw) + eps)
        b = b - alpha * mb / (np.sqrt(vb) + eps)
        step = lr * np.sqrt(1 - b2**t) / (np.sqrt(vw) + eps) if metric == "adam" else lr
        w = np.sign(w) * np.maximum(np.abs(w) - step * lam, 0)
    return w, b


@pytest.mark.parametrize("metric", ["euclidean", "adam"])
def test_adam_with_the_prox_in_either_metric(metric):
    X, y = linear_data()
    lr, lam, steps = 0.01, 0.5, 40
    model = linear_model()
    w0, b0 = weights(model)
    model.compile(nk.ProximalOptimizer(keras.optimizers.Adam(lr), nk.L1(lam), metric=metric), "mse")
    model.fit(X, y, batch_size=48, epochs=steps, shuffle=False, verbose=0)
    w, b = numpy_adam_prox(X, y, w0, b0, steps, lr, lam, metric)
    other, _ = numpy_adam_prox(X, y, w0, b0, steps, lr, lam, {"adam": "euclidean", "euclidean": "adam"}[metric])
    assert np.abs(w - other).max() > 1e-3  # the two metrics really differ here
    np.testing.assert_allclose(weights(model)[0], w, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(weights(model)[0] == 0, w == 0)


def test_adam_metric_reaches_the_lasso_and_euclidean_does_not():
    """Fixed points: the Adam-metric prox stops at the lasso solution of mse + lam ||w||_1;
    the Euclidean prox after an Adam step stops elsewhere (a reweighted L1)."""
    X, y = linear_data()
    lam = 0.1
    lasso = nr.fit_linear(X.astype(np.float64), y[:, 0].astype(np.float64), nr.L1(lam / 2), tol=1e-12).coef
    errors = {}
    for metric in ("adam", "euclidean"):
        model = linear_model()
        opt = nk.ProximalOptimizer(keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.02, 300, 0.5)),
                                   nk.L1(lam), metric=metric)
        model.compile(opt, "mse", steps_per_execution=SPE or 100)
        model.fit(np.tile(X, (100, 1)), np.tile(y, (100, 1)), batch_size=48, epochs=30, shuffle=False, verbose=0)
        errors[metric] = np.abs(weights(model)[0][:, 0] - lasso).max()
    assert errors["adam"] < 1e-3 < errors["euclidean"]


# -- which variables; several penalties ----------------------------------------------------
def test_group_lasso_over_units_and_l1_on_batchnorm_scales_nested():
    X, y = linear_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(1),
        ]
    )
    hidden = model.layers[0].kernel
    units = nk.ProximalOptimizer(keras.optimizers.SGD(0.05), nk.GroupLasso(0.1, axis=-1), include=[hidden])
    opt = nk.ProximalOptimizer(units, nk.L1(0.5), include=nk.batchnorm_scales(model))
    model.compile(opt, "mse")
    model.fit(X, y, batch_size=8, epochs=30, shuffle=False, verbose=0)
    assert [v.path for v in opt.prox_variables] == [model.layers[1].gamma.path]
    assert [v.path for v in units.prox_variables] == [hidden.path]
    gamma = to_np(model.layers[1].gamma)
    dead_units = np.all(to_np(hidden) == 0, axis=0)
    assert (gamma == 0).sum() > 0 and dead_units.sum() > 0  # exact zeros of both kinds
    assert np.isfinite(model.predict(X, verbose=0)).all()


def test_group_lasso_without_groups_is_block_soft_thresholding_per_unit_and_filter():
    rng = np.random.default_rng(0)
    for shape in [(5, 4), (3, 3, 2, 4)]:
        W = rng.standard_normal(shape)
        W[..., 1] *= 0.01  # a small unit/filter
        t, lam = 0.5, 0.3
        cols = W.reshape(-1, shape[-1])
        k = cols.shape[0]
        norms = np.linalg.norm(cols, axis=0)
        expected = cols * np.maximum(0, 1 - t * lam * np.sqrt(k) / norms)
        got = to_np(nk.GroupLasso(lam, axis=-1).prox(W, t)).reshape(-1, shape[-1])
        tol = 1e-12 if got.dtype == np.float64 else 1e-6  # JAX computes in float32 unless x64 is on
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * 1e-3)
        assert (got[:, 1] == 0).all() and (got[:, [0, 2, 3]] != 0).all()
        assert float(nk.GroupLasso(lam, axis=-1)(W)) == pytest.approx(lam * np.sqrt(k) * norms.sum(), rel=tol)


def test_prox_of_a_numpy_float64_array_is_the_numpy_core_on_every_backend():
    """On PyTorch a NumPy input used to raise (array - tensor) and float64 came back rounded
    to float32 (Keras's torch minimum/maximum return float32 for float64 operands)."""
    w = np.random.default_rng(1).standard_normal((4, 3))
    for pen, core in [(nk.L1(0.3), nr.L1(0.3)), (nk.ElasticNet(0.3, 0.4), nr.ElasticNet(0.3, 0.4)),
                      (nk.GroupLasso(0.3, axis=0), nk.GroupLasso(0.3, axis=0).to_numpy(w.shape))]:
        got = to_np(pen.prox(w, 0.5))
        assert got.dtype == np.float64 or BACKEND == "jax"  # JAX without x64 computes in float32
        tol = 1e-15 if got.dtype == np.float64 else 1e-6
        np.testing.assert_allclose(got.ravel(), core.prox(w.ravel(), 0.5), rtol=tol, atol=tol)


def test_include_patterns_and_errors():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    second = model.layers[1].kernel
    opt = nk.ProximalOptimizer(keras.optimizers.SGD(0.1), nk.L1(0.1), include=[second.path.split("/", 1)[1]])
    opt.build(model.trainable_variables)
    assert opt.prox_variables == [second]
    opt = nk.ProximalOptimizer(keras.optimizers.SGD(0.1), nk.L1(0.1), include=lambda v: v is second)
    with pytest.raises(ValueError, match="callable include= can be serialized only once built"):
        opt.get_config()
    opt.build(model.trainable_variables)
    assert opt.get_config()["include"] == ["(^|/)" + "/".join(second.path.split("/")[-2:]) + "$"]
    with pytest.raises(ValueError, match="include selects none of the trainable variables"):
        nk.ProximalOptimizer(keras.optimizers.SGD(0.1), nk.L1(0.1), include=["no_such_layer"]).build(
            model.trainable_variables
        )
    with pytest.raises(ValueError, match=r"GroupLasso groups cover 2 indices along axis 0, but .*kernel of shape"):
        nk.ProximalOptimizer(keras.optimizers.SGD(0.1), nk.GroupLasso(0.1, [[0], [1]])).build(model.trainable_variables)
    with pytest.raises(TypeError, match="optimizer must be a keras.optimizers.Optimizer"):
        nk.ProximalOptimizer("sgd", nk.L1(0.1))
    with pytest.raises(ValueError, match="metric must be 'euclidean' or 'adam'"):
        nk.ProximalOptimizer(keras.optimizers.Adam(), nk.L1(0.1), metric="diag")
    with pytest.raises(ValueError, match="metric='adam' needs an Adam or AdamW optimizer; got SGD"):
        nk.ProximalOptimizer(keras.optimizers.SGD(), nk.L1(0.1), metric="adam")
    with pytest.raises(ValueError, match="metric='adam' needs a separable penalty"):
        nk.ProximalOptimizer(keras.optimizers.AdamW(), nk.GroupLasso(0.1, axis=-1), metric="adam")
    with pytest.raises(TypeError, match="include must be None, a callable"):
        nk.ProximalOptimizer(keras.optimizers.SGD(), nk.L1(0.1), include="kernel")
    with pytest.raises(TypeError, match=r"include\[0\] must be a variable or a regular expression"):
        nk.ProximalOptimizer(keras.optimizers.SGD(), nk.L1(0.1), include=[3])
    with pytest.raises(TypeError, match="penalty must be a normreg.keras regularizer"):
        nk.ProximalOptimizer(keras.optimizers.SGD(), "l1")
    with pytest.raises(TypeError, match="set learning rate, clipping"):
        nk.ProximalOptimizer(keras.optimizers.SGD(), nk.L1(0.1), learning_rate=0.1)
    # Keras's EMA averages the iterates before the prox and fit ends by copying the average
    # into the weights: no exact zeros would be left
    ema = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1, use_ema=True))
    with pytest.raises(ValueError, match="use_ema=True"):
        nk.ProximalOptimizer(ema, nk.L1(0.1))


# -- saving, loading, resuming -------------------------------------------------------------
def test_save_load_and_resume_identically(tmp_path):
    X, y = linear_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    opt = nk.ProximalOptimizer(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.05, 40)),
        nk.L1(0.3),
        include=[model.layers[0].kernel],
        metric="adam",
    )
    model.compile(opt, "mse")
    model.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    path = tmp_path / "prox.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    assert isinstance(loaded.optimizer, nk.ProximalOptimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 12
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(to_np(a), to_np(b))
    model.fit(X, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    loaded.fit(X, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(loaded.weights, model.weights, strict=True):
        np.testing.assert_array_equal(to_np(a), to_np(b))
    assert (to_np(loaded.layers[0].kernel) == 0).sum() >= 4


def run_python(code: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", **(env_extra or {})}
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_loading_needs_import_normreg_keras_and_a_pruned_model_does_not(tmp_path):
    """What the docstrings say: load_model works without custom_objects after
    `import normreg.keras`, and fails (Keras resolves its own L2) without it; a model from
    prune_zero_units (whose layers had normreg regularizers) loads in a process that never
    imports normreg. One subprocess for both (each costs a Keras start-up)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_regularizer=nk.L2(0.1))])
    model.compile(nk.ProximalOptimizer(keras.optimizers.SGD(0.1), nk.L1(0.01)), "mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu", kernel_regularizer=nk.L2(0.1),
                                                                  activity_regularizer=nk.L1(0.1)),
                            keras.layers.Dense(1, kernel_regularizer=nk.GroupLasso(0.1, axis=-1))])
    K, b = net.layers[0].get_weights()
    K[:, 1] = 0.0
    net.layers[0].set_weights([K, b + 0.5])  # unit 1: constant relu(b + 0.5), folded
    small = nk.prune_zero_units(net)
    assert small.layers[0].units == 3
    small.save(tmp_path / "small.keras")
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = f"""
        import sys, numpy as np, keras
        small = keras.models.load_model({str(tmp_path / "small.keras")!r})
        np.save({str(tmp_path / "p.npy")!r}, np.asarray(small.predict(np.load({str(tmp_path / "x.npy")!r}), verbose=0)))
        print("NORMREG", any(name.startswith("normreg") for name in sys.modules))
        try:
            keras.models.load_model({str(path)!r})
        except Exception as err:
            print("FAILED", type(err).__name__, "lam" in str(err))
        import normreg.keras
        m = keras.models.load_model({str(path)!r})
        print("LOADED", type(m.optimizer).__name__, m.layers[0].kernel_regularizer)
    """
    out = run_python(code, {"KERAS_BACKEND": BACKEND})
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "NORMREG False"  # the pruned model loaded without normreg
    expected = np.asarray(keras.ops.convert_to_numpy(net(x, training=False)))
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, rtol=1e-5, atol=1e-6)
    assert lines[1].startswith("FAILED") and lines[1].endswith("True")
    assert lines[2] == "LOADED ProximalOptimizer normreg.keras.L2(lam=0.1)"


@tf_only
def test_mirrored_strategy_gives_the_single_device_result():
    """Two logical CPUs (set before TensorFlow starts, hence a subprocess): one prox per
    synchronized update, the same weights and zeros as on one device."""
    code = """
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras, normreg.keras as nk
        rng = np.random.default_rng(0)
        X = rng.standard_normal((64, 6)).astype("float32")
        y = (X[:, :2] @ np.array([1.5, -2.0])).astype("float32")[:, None]
        def train(strategy):
            with strategy.scope():
                keras.utils.set_random_seed(0)
                model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3), keras.layers.Dense(1)])
                model.compile(nk.ProximalOptimizer(keras.optimizers.SGD(0.05), nk.L1(0.1)), "mse")
            model.fit(X, y, batch_size=16, epochs=5, shuffle=False, verbose=0)
            return [np.asarray(w) for w in model.get_weights()], int(model.optimizer.iterations.numpy())
        one, it1 = train(tf.distribute.get_strategy())
        two, it2 = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
        assert it1 == it2 == 20, (it1, it2)
        for a, b in zip(one, two):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
            assert ((a == 0) == (b == 0)).all()
        print("OK", int((one[0] == 0).sum()))
    """
    out = run_python(code)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[0] == "OK" and int(out.stdout.split()[1]) > 0


# -- ProximalCallback: deprecated in 0.2, the same arithmetic from outside the step ----------
def test_proximal_callback_warns_with_the_replacement_and_matches_the_optimizer():
    """Constructing the callback emits a FutureWarning (shown to end users by default) that
    names ProximalOptimizer and the one-line replacement with the user's own penalty and
    include; until 0.3 it still trains to the weights and exact zeros of
    ProximalOptimizer(SGD), under a schedule too (the rate of the step just taken)."""
    X, y = linear_data()
    lam = 0.2
    with pytest.warns(FutureWarning) as record:
        nk.ProximalCallback(nk.L1(lam))
    assert len(record) == 1
    message = str(record[0].message)
    assert "deprecated since normreg 0.2" in message and "removed in 0.3" in message
    assert f"ProximalOptimizer(optimizer, {nk.L1(lam)!r})" in message, message
    assert record[0].filename == __file__  # points at the caller's line, not at normreg
    with pytest.warns(FutureWarning, match=r"include=include\)"):
        nk.ProximalCallback(nk.L1(lam), include=lambda v: True)

    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([29], [0.1, 0.02])
    trained = []
    for use_callback in (True, False):
        model = linear_model()
        w0, b0 = weights(model)
        if use_callback:
            with pytest.warns(FutureWarning, match="ProximalOptimizer"):
                callbacks = [nk.ProximalCallback(nk.L1(lam))]
            model.compile(keras.optimizers.SGD(schedule), "mse")
        else:
            callbacks = []
            model.compile(nk.ProximalOptimizer(keras.optimizers.SGD(schedule), nk.L1(lam)), "mse")
        model.fit(X, y, batch_size=8, epochs=10, shuffle=False, verbose=0, callbacks=callbacks)
        trained.append(weights(model))
    lrs = [float(schedule(k)) for k in range(60)]  # 0.1 up to step 29, then 0.02
    w, b = prox_sgd(X, y, w0, b0, lrs, nr.L1(lam).prox, 8)  # the oracle, as above
    assert np.count_nonzero(w == 0) >= 3
    for got_w, got_b in trained:
        np.testing.assert_array_equal(got_w == 0, w == 0)
        np.testing.assert_allclose(got_w, w, rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(got_b, b, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(trained[0][0], trained[1][0], rtol=1e-6, atol=1e-7)


def test_proximal_callback_schedule_check_tells_the_rates_apart():
    """The schedule above gives the callback's step 29 the rate 0.1 and step 30 the rate
    0.02: a prox at the previous step's rate (step 30 at 0.1) or at the next one's (step 29
    at 0.02) ends outside the tolerance used there, so the test can fail."""
    X, y = linear_data()
    lam = 0.2
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([29], [0.1, 0.02])
    w0, b0 = weights(linear_model())
    lrs = [float(schedule(k)) for k in range(60)]
    right, _ = prox_sgd(X, y, w0, b0, lrs, nr.L1(lam).prox, 8)
    for shift in (-1, 1):  # the prox at the previous / next step's rate
        prox_lrs = iter([float(schedule(max(k + shift, 0))) for k in range(60)])

        def prox(v, t, prox_lrs=prox_lrs):
            return nr.L1(lam).prox(v, next(prox_lrs))

        wrong, _ = prox_sgd(X, y, w0, b0, lrs, prox, 8)
        assert np.abs(wrong - right).max() > 100 * (2e-6 + 2e-5 * np.abs(right).max())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"learning_rate": -1.0}, ValueError, "learning_rate must be >= 0"),
        ({"include": "dense/kernel"}, TypeError, "include must be a callable"),
        ({"include": 3}, TypeError, "include must be a callable"),
        ({"include": []}, ValueError, "include must not be an empty list"),
    ],
)
def test_proximal_callback_bad_arguments_raise_before_the_deprecation_warning(kwargs, error, match):
    """Bad input raises at construction, naming the argument, and does not first warn
    (a warning whose suggested replacement is itself wrong input)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(error, match=match):
            nk.ProximalCallback(nk.L1(0.1), **kwargs)
    assert not [w for w in caught if issubclass(w.category, FutureWarning)]


def test_proximal_callback_warning_says_how_to_keep_a_given_prox_step():
    """With learning_rate= the replacement thresholds at the optimizer's rate instead: the
    warning says so and how to keep the old threshold (scale lam), which holds because
    each penalty's prox_{t Omega(lam)} = prox_{Omega(t lam)} (checked here in NumPy)."""
    with pytest.warns(FutureWarning) as record:
        nk.ProximalCallback(nk.L1(0.2), learning_rate=0.05)
    message = str(record[0].message)
    assert "optimizer's learning rate" in message and "lam * 0.05 / lr" in message, message
    v = np.linspace(-1, 1, 11)
    for pen in (nr.L1, lambda lam: nr.ElasticNet(lam, 0.3)):
        np.testing.assert_allclose(pen(0.2).prox(v, 0.05), pen(0.2 * 0.05 / 0.1).prox(v, 0.1), atol=1e-15)


def test_proximal_optimizer_default_variables_are_penalized_variables():
    """Without the model, the optimizer's default must pick what penalized_variables picks:
    2-D normalization parameters (LayerNormalization over two axes, RMSNormalization,
    GroupNormalization) are not proxed, a 2-D kernel and an embedding are."""
    inputs = keras.Input((3, 4), dtype="int32")
    h = keras.layers.Embedding(10, 4)(inputs)  # (3, 4, 4)
    h = keras.layers.Reshape((3, 16))(h)
    h = keras.layers.Dense(4)(h)
    h = keras.layers.LayerNormalization(axis=[1, 2])(h)
    h = keras.layers.RMSNormalization(axis=[1, 2])(h)
    h = keras.layers.Dense(2, use_bias=False)(h)
    model = keras.Model(inputs, h)
    opt = nk.ProximalOptimizer(keras.optimizers.SGD(0.1), nk.L1(0.1))
    opt.build(model.trainable_variables)
    chosen = [v.path for v in opt.prox_variables]
    assert chosen == [v.path for v in nk.penalized_variables(model)]
    assert [p.split("/")[-1] for p in chosen] == ["embeddings", "kernel", "kernel"]
