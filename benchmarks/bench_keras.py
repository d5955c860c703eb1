"""One Keras training step: unregularized vs per-layer regularizers vs one fused penalty.

Three models on scikit-learn's digits (a batch of 128 images), each trained with Adam
and the softmax cross-entropy:

* ``mlp`` -- 64 -> 256 -> 256 -> 10, ReLU;
* ``cnn`` -- 8x8x1 -> Conv 3x3x16 -> Conv 3x3x32 -> max-pool -> Dense 64 -> Dense 10;
* ``deep`` -- 64 -> 16 hidden layers of 64 -> 10, ReLU: about as many weights as ``mlp`` in
  17 kernels instead of 3, where a cost per kernel (per-layer regularizers) would show;
* ``wide`` -- 64 -> 7 hidden layers of 4096 -> 10, ReLU: about 1.0e8 weights, a step that
  keeps a GPU busy (the three small models above are launch-bound there). Included by
  default only where Keras's backend sees a GPU; on a CPU ask for it with ``--models``.

Three variants of the same step, all with the same initial weights:

* ``none``      -- the data loss alone (the reference);
* ``per-layer`` -- ``kernel_regularizer=normreg.keras.L2(lam)`` on every layer, added as Keras
  adds it (``ops.sum(model.losses)``): one regularizer call, a small reduction, per kernel;
* ``fused``     -- ``normreg.keras.penalty_loss(kernels, L2(lam))``: the same value, also one
  reduction per kernel (where the kernel lies, never concatenated into one vector), the
  per-kernel terms stacked and added in one sum inside the step.

The step is a custom training step (forward, loss, gradient, ``optimizer`` update), not
``model.train_on_batch``, whose fixed per-call cost (about 2 ms on 2 CPU cores with
TensorFlow) would hide the penalty's. Modes depend on the backend: with TensorFlow
``eager`` (plain Python), ``graph`` (``tf.function``) and ``xla``
(``tf.function(jit_compile=True)``); with JAX, ``jit`` (``jax.jit``) only. The backend is
Keras's (``KERAS_BACKEND``, TensorFlow by default), and every figure records it.

Each ratio is a variant's step time over the unregularized step time of the same model and
mode. The variants are timed interleaved (none, per-layer, fused, then rotated), each sample
long enough to dwarf the timer, and the ratio is the median over repeats of the per-repeat
ratios, so that a change of machine load between samples cancels out. The smallest and
largest per-repeat ratio (``ratio_min_max``) and the smallest and largest sample of every
step time (``step_s_min_max``) are recorded beside the medians, so that a reader can tell
a difference from the noise.
Target (issue 6): fused step <= 1.03x the unregularized one in the compiled modes.

Results go to ``normreg/_recorded/keras_cpu.json``, or ``keras_gpu.json`` where the backend
sees a GPU, with the machine, device, backend and library versions.

Usage: ``[KERAS_BACKEND=jax] python benchmarks/bench_keras.py [--models mlp cnn deep wide]``
``[--repeats 15] [--threads 1] [--quick [--save]]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from _timing import machine, print_table, save  # noqa: E402

LAM = 1e-4
BATCH = 128
VARIANTS = ("none", "per-layer", "fused")
MODELS = ("mlp", "cnn", "deep", "wide")
SMALL_MODELS = MODELS[:3]
TARGET = 1.03


# ------------------------------------------------------------------------------ backend
def backend_name() -> str:
    import keras

    return keras.backend.backend()


def set_threads(threads: int) -> None:
    """Limit TensorFlow's CPU thread pools (must run before TensorFlow executes anything)."""
    if threads > 0 and backend_name() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def device() -> dict[str, Any]:
    """The device Keras computes on: ``{"kind": "gpu"|"cpu", "name": ...}`` (the first GPU if any)."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return {"kind": "gpu", "name": details.get("device_name", gpus[0].name), "count": len(gpus)}
    elif backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        if gpus:
            return {"kind": "gpu", "name": gpus[0].device_kind, "count": len(gpus)}
    return {"kind": "cpu", "name": cpu_name()}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover - not Linux
        pass
    import platform

    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    import keras

    out = {"keras": keras.__version__}
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        out["tensorflow"] = tf.__version__
    elif backend == "jax":
        import jax
        import jaxlib

        out["jax"] = jax.__version__
        out["jaxlib"] = jaxlib.__version__
    return out


def modes() -> list[str]:
    backend = backend_name()
    if backend == "tensorflow":
        return ["eager", "graph", "xla"]
    if backend == "jax":
        return ["jit"]
    raise SystemExit(f"bench_keras supports the tensorflow and jax backends; KERAS_BACKEND is {backend!r}")


# ------------------------------------------------------------------------------ models
def digits_batch() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data[:BATCH] / 16.0).astype("float32")
    return x, d.target[:BATCH].astype("int32")


def build(name: str, regularizer: Any = None) -> Any:
    import keras
    from keras import layers

    reg = {"kernel_regularizer": regularizer}
    if name == "mlp":
        inp = keras.Input((64,))
        h = layers.Dense(256, activation="relu", **reg)(inp)
        h = layers.Dense(256, activation="relu", **reg)(h)
        out = layers.Dense(10, **reg)(h)
    elif name == "cnn":
        inp = keras.Input((64,))
        h = layers.Reshape((8, 8, 1))(inp)
        h = layers.Conv2D(16, 3, padding="same", activation="relu", **reg)(h)
        h = layers.Conv2D(32, 3, padding="same", activation="relu", **reg)(h)
        h = layers.MaxPooling2D(2)(h)
        h = layers.Flatten()(h)
        h = layers.Dense(64, activation="relu", **reg)(h)
        out = layers.Dense(10, **reg)(h)
    elif name == "deep":
        inp = keras.Input((64,))
        h = inp
        for _ in range(16):
            h = layers.Dense(64, activation="relu", **reg)(h)
        out = layers.Dense(10, **reg)(h)
    elif name == "wide":
        inp = keras.Input((64,))
        h = inp
        for _ in range(7):
            h = layers.Dense(4096, activation="relu", **reg)(h)
        out = layers.Dense(10, **reg)(h)
    else:
        raise ValueError(f"model must be one of {MODELS}; got {name!r}")
    return keras.Model(inp, out, name=name)


def penalty_term(model: Any, variant: str) -> Callable[[], Any] | None:
    """The penalty added to the data loss, as a function of the model's current weights."""
    from keras import ops

    import normreg.keras as nk

    if variant == "none":
        return None
    if variant == "per-layer":
        return lambda: ops.sum(model.losses)  # what Keras's compute_loss adds: one value per kernel
    if variant == "fused":
        kernels = nk.penalized_variables(model)
        pen = nk.L2(LAM)
        return lambda: nk.penalty_loss(kernels, pen)
    raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")


def make_step(model: Any, variant: str, mode: str, x: Any, y: Any) -> Callable[[], float]:
    """A function that runs one training step and returns the loss as a Python float (a sync)."""
    import keras

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    extra = penalty_term(model, variant)
    backend = backend_name()

    if backend == "tensorflow":
        import tensorflow as tf

        variables = model.trainable_variables

        def tf_step(xb: Any, yb: Any) -> Any:
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))
                if extra is not None:
                    loss = loss + extra()
            grads = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(grads, variables, strict=True))
            return loss

        fn = tf_step if mode == "eager" else tf.function(tf_step, jit_compile=(mode == "xla"))
        return lambda: float(fn(x, y))

    if backend == "jax":
        import jax

        trainable = model.trainable_variables

        def compute_loss(tv: list, ntv: list, xb: Any, yb: Any) -> tuple[Any, list]:
            y_pred, ntv, losses = model.stateless_call(tv, ntv, xb, training=True, return_losses=True)
            loss = loss_fn(yb, y_pred)
            if variant == "per-layer":
                loss = loss + keras.ops.sum(losses)
            elif variant == "fused":
                with keras.StatelessScope(state_mapping=list(zip(trainable, tv, strict=True))):
                    loss = loss + extra()
            return loss, ntv

        grad_fn = jax.value_and_grad(compute_loss, has_aux=True)

        @jax.jit
        def jax_step(state: tuple, xb: Any, yb: Any) -> tuple[Any, tuple]:
            tv, ntv, ov = state
            (loss, ntv), grads = grad_fn(tv, ntv, xb, yb)
            tv, ov = optimizer.stateless_apply(ov, grads, tv)
            return loss, (tv, ntv, ov)

        state = [(
            [v.value for v in trainable],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in optimizer.variables],
        )]

        def run() -> float:
            loss, state[0] = jax_step(state[0], x, y)
            return float(loss)

        return run
    raise SystemExit(f"unsupported backend {backend!r}")  # pragma: no cover - modes() refused it already


# ------------------------------------------------------------------------------ timing
def interleaved(fns: dict[str, Callable[[], Any]], repeats: int, min_time: float) -> dict[str, list[float]]:
    """Per-call seconds of each function: ``repeats`` samples each, taken in rotating order.

    Every sample times ``k`` back-to-back calls, ``k`` chosen (doubling) so that the first
    function's sample lasts at least ``min_time``. Three untimed warm-up calls come first
    (tracing and compiling happen there).
    """
    names = list(fns)
    for fn in fns.values():
        for _ in range(3):
            fn()
    k = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(k):
            fns[names[0]]()
        if time.perf_counter() - t0 >= min_time or k >= 1 << 16:
            break
        k *= 2
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            fn = fns[name]
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - t0) / k)
    return samples


def check_same_objective(name: str) -> dict[str, float]:
    """Per-layer and fused penalties of the same weights agree (else the comparison is void)."""
    from keras import ops

    import normreg.keras as nk

    model = build(name, nk.L2(LAM))
    per_layer = float(ops.sum(model.losses))
    fused = float(nk.penalty_loss(model, nk.L2(LAM)))
    numpy_value = sum(float(nk.L2(LAM).to_numpy()(ops.convert_to_numpy(v))) for v in nk.penalized_variables(model))
    for label, value in (("fused", fused), ("NumPy", numpy_value)):
        if not np.isclose(value, per_layer, rtol=1e-5):
            raise AssertionError(f"{name}: {label} penalty {value} != per-layer penalty {per_layer}")
    return {"per_layer": per_layer, "fused": fused, "numpy": numpy_value}


def run(models: list[str], mode_list: list[str], repeats: int, min_time: float, threads: int, quick: bool) -> dict:
    import keras
    from keras import ops

    import normreg.keras as nk

    set_threads(threads)
    dev = device()
    x_np, y_np = digits_batch()
    x, y = ops.convert_to_tensor(x_np), ops.convert_to_tensor(y_np)
    results = []
    for name in models:
        check = check_same_objective(name)
        keras.utils.set_random_seed(0)
        weights = build(name).get_weights()
        n_params = sum(int(np.prod(w.shape)) for w in weights)
        kernels = nk.penalized_variables(build(name))
        n_penalized = sum(int(np.prod(v.shape)) for v in kernels)
        for mode in mode_list:
            steps = {}
            for variant in VARIANTS:
                model = build(name, nk.L2(LAM) if variant == "per-layer" else None)
                model.set_weights(weights)
                steps[variant] = make_step(model, variant, mode, x, y)
            samples = interleaved(steps, repeats, min_time)
            per_repeat = {
                v: [s / r for s, r in zip(samples[v], samples["none"], strict=True)] for v in VARIANTS[1:]
            }
            ratios = {v: statistics.median(x) for v, x in per_repeat.items()}
            spread = {v: [min(x), max(x)] for v, x in per_repeat.items()}
            results.append({
                "model": name,
                "mode": mode,
                "backend": backend_name(),
                "device": dev["name"],
                "params": n_params,
                "penalized_params": n_penalized,
                "kernels": len(kernels),
                "step_s": {v: statistics.median(samples[v]) for v in VARIANTS},
                "step_s_min_max": {v: [min(samples[v]), max(samples[v])] for v in VARIANTS},
                "ratio": ratios,
                "ratio_min_max": spread,
                "penalty_check": check,
            })
            print(f"  {name:4s} {mode:6s} done", flush=True)
    info = machine()
    info.update(versions())
    info["backend"] = backend_name()
    info["device"] = dev
    info["intra_op_threads"] = threads if backend_name() == "tensorflow" else None
    return {
        "benchmark": "keras training step, unregularized vs per-layer vs fused L2 penalty",
        "measurement": {
            "quick": quick,
            "repeats": repeats,
            "min_time_s": min_time,
            "statistic": "median over repeats of the per-repeat ratio (variants timed interleaved)",
            "step": "custom step: forward, loss, gradient, Adam(1e-3) update; loss read back (a sync) every step",
        },
        "machine": info,
        "penalty": f"normreg.keras.L2({LAM}) on every kernel (biases not penalized)",
        "batch_size": BATCH,
        "data": "sklearn.datasets.load_digits, first 128 images",
        "target_fused_ratio": TARGET,
        "results": results,
    }


def record_name(payload: dict) -> str:
    return "keras_gpu" if payload["machine"]["device"]["kind"] == "gpu" else "keras_cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, choices=MODELS,
                        help="default: mlp cnn deep, and wide where the backend sees a GPU")
    parser.add_argument("--modes", nargs="*", default=None, help="default: all modes of the backend")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--min-time", type=float, default=0.1, help="seconds per timed sample")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow CPU threads (0: TensorFlow's default)")
    parser.add_argument("--quick", action="store_true",
                        help="few repeats, short samples; results saved only with --save")
    parser.add_argument("--save", action="store_true", help="save the results of a --quick run too")
    args = parser.parse_args()
    mode_list = args.modes or modes()
    unknown = sorted(set(mode_list) - set(modes()))
    if unknown:
        parser.error(f"--modes {unknown} not available with backend {backend_name()!r} (choose from {modes()})")
    repeats, min_time = (3, 0.02) if args.quick else (args.repeats, args.min_time)
    models = args.models or list(MODELS if device()["kind"] == "gpu" else SMALL_MODELS)
    out = run(models, mode_list, repeats, min_time, args.threads, args.quick)
    rows = [
        [r["model"], r["mode"], r["backend"], f"{r['step_s']['none'] * 1e3:.3f}",
         f"{r['ratio']['per-layer']:.3f}x", f"{r['ratio']['fused']:.3f}x"]
        for r in out["results"]
    ]
    dev = out["machine"]["device"]
    print_table(
        f"Keras training step on {dev['kind']} ({dev['name']}): time / unregularized time (median of {repeats})",
        ["model", "mode", "backend", "none ms", "per-layer", "fused"],
        rows,
    )
    if not args.quick or args.save:
        print(f"\nsaved {save(record_name(out), out)}")


if __name__ == "__main__":
    main()
