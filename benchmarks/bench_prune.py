"""CPU inference latency of a network pruned by ``prune_zero_units`` against the same network
unpruned, and against the same number of zeros scattered without structure.

Two models, as after group-lasso training that zeroed 75 % of the hidden units or filters
(the zeros are set directly, with the same pattern a proximal step leaves: whole incoming
columns or filters, constant outputs folded into the next layer):

* ``mlp`` -- 64 -> 256 -> 256 -> 10 (ReLU); pruned to 64 -> 64 -> 64 -> 10;
* ``cnn`` -- 16x16x1 -> Conv 3x3x32 -> Conv 3x3x64 (valid padding, ReLU) -> global average
  pool -> Dense 10; pruned to 8 and 16 filters.

Three variants of each, with the same outputs for ``unpruned`` and ``pruned`` (asserted):

* ``unpruned``     -- the trained model, zeros and all;
* ``pruned``       -- ``normreg.keras.prune_zero_units`` of it, physically smaller;
* ``unstructured`` -- the dense model with as many zero weights as ``unpruned`` has, scattered
  at random: dense kernels do not skip zeros, so this costs what ``unpruned`` costs.

The step is the compiled forward pass (``tf.function`` of ``model(x, training=False)``) on a
batch of 1 (latency) and of 256 (throughput), with one intra-op thread. Variants are timed
interleaved, the order rotated every repeat; each ratio is the median over repeats of the
per-repeat ratio to ``unpruned``, recorded with its min and max. Parameter counts and
multiply-adds (:func:`normreg.keras.multiply_adds`) are recorded beside them.

Results go to the ``"pruned_latency"`` entry of ``normreg/_recorded/sparsity_cpu.json``.

Usage: ``python benchmarks/bench_prune.py [--repeats 15] [--min-time 0.2] [--quick [--save]]``
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from _timing import machine, print_table  # noqa: E402
from bench_prox import interleaved, record, set_threads, versions  # noqa: E402

VARIANTS = ("unpruned", "pruned", "unstructured")
KEEP = 0.25  # fraction of hidden units / filters left alive
BATCHES = (1, 256)


def build(name: str) -> tuple[Any, tuple[int, ...]]:
    import keras

    L = keras.layers
    keras.utils.set_random_seed(0)
    if name == "mlp":
        shape = (64,)
        layers = [L.Dense(256, activation="relu"), L.Dense(256, activation="relu"), L.Dense(10)]
    else:
        shape = (16, 16, 1)
        layers = [
            L.Conv2D(32, 3, activation="relu"),
            L.Conv2D(64, 3, activation="relu"),
            L.GlobalAveragePooling2D(),
            L.Dense(10),
        ]
    return keras.Sequential([keras.Input(shape), *layers]), shape


def zero_units(model: Any, rng: np.random.Generator) -> None:
    """Zero the incoming weights of 75 % of the units/filters of every hidden layer."""
    producers = [layer for layer in model.layers if hasattr(layer, "kernel")][:-1]
    for layer in producers:
        K, b = layer.get_weights()
        n = K.shape[-1]
        dead = rng.permutation(n)[: n - int(KEEP * n)]
        K[..., dead] = 0.0
        layer.set_weights([K, b])


def scatter_zeros(model: Any, like: Any, rng: np.random.Generator) -> None:
    """Give ``model`` as many zero weights per kernel as ``like`` has, at random positions."""
    for layer, ref in zip(model.layers, like.layers, strict=True):
        if not hasattr(layer, "kernel"):
            continue
        K, b = layer.get_weights()
        n_zero = int((ref.get_weights()[0] == 0).sum())
        flat = K.reshape(-1)
        flat[rng.permutation(flat.size)[:n_zero]] = 0.0
        layer.set_weights([flat.reshape(K.shape), b])


def forward(model: Any, x: np.ndarray) -> Callable[[], Any]:
    import tensorflow as tf

    fn = tf.function(lambda t: model(t, training=False))
    xt = tf.constant(x)
    fn(xt)
    return lambda: fn(xt)


def run(models: list[str], repeats: int, min_time: float, threads: int) -> dict[str, Any]:
    import keras

    import normreg.keras as nk

    set_threads(threads)
    rng = np.random.default_rng(0)
    results = []
    for name in models:
        unpruned, shape = build(name)
        zero_units(unpruned, rng)
        pruned = nk.prune_zero_units(unpruned)
        unstructured, _ = build(name)
        scatter_zeros(unstructured, unpruned, rng)
        x_check = rng.standard_normal((64, *shape)).astype(np.float32)
        a = keras.ops.convert_to_numpy(unpruned(x_check, training=False))
        b = keras.ops.convert_to_numpy(pruned(x_check, training=False))
        assert np.allclose(a, b, rtol=1e-5, atol=1e-5), "pruned model's outputs differ"
        variants = {"unpruned": unpruned, "pruned": pruned, "unstructured": unstructured}
        entry: dict[str, Any] = {
            "model": name,
            "params": {v: int(m.count_params()) for v, m in variants.items()},
            "multiply_adds": {v: nk.multiply_adds(m) for v, m in variants.items()},
            "zero_weights": {
                v: int(sum((w == 0).sum() for w in m.get_weights() if w.ndim >= 2)) for v, m in variants.items()
            },
            "batches": [],
        }
        for batch in BATCHES:
            x = rng.standard_normal((batch, *shape)).astype(np.float32)
            fns = {v: forward(m, x) for v, m in variants.items()}
            samples = interleaved(fns, repeats, min_time)
            per_repeat = {v: [s / r for s, r in zip(samples[v], samples["unpruned"], strict=True)] for v in VARIANTS}
            entry["batches"].append(
                {
                    "batch": batch,
                    "time_s": {v: statistics.median(samples[v]) for v in VARIANTS},
                    "time_s_min_max": {v: [min(samples[v]), max(samples[v])] for v in VARIANTS},
                    "ratio": {v: statistics.median(per_repeat[v]) for v in VARIANTS if v != "unpruned"},
                    "ratio_min_max": {
                        v: [min(per_repeat[v]), max(per_repeat[v])] for v in VARIANTS if v != "unpruned"
                    },
                }
            )
        results.append(entry)
    info = machine()
    info.update(versions())
    info["threads"] = threads
    info["load_average_at_start"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"keep_fraction": KEEP, "repeats": repeats, "results": results, "machine": info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["mlp", "cnn"], choices=["mlp", "cnn"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per timed sample")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="few short repeats, nothing saved (unless --save)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    repeats, min_time = (3, 0.05) if args.quick else (args.repeats, args.min_time)
    payload = run(args.models, repeats, min_time, args.threads)
    rows = []
    for r in payload["results"]:
        for bt in r["batches"]:
            for v in ("pruned", "unstructured"):
                lo, hi = bt["ratio_min_max"][v]
                rows.append([r["model"], bt["batch"], v, bt["time_s"]["unpruned"] * 1e6, bt["time_s"][v] * 1e6,
                             bt["ratio"][v], lo, hi, r["params"][v], r["multiply_adds"][v]])
    print_table(
        "inference time / unpruned (compiled forward pass, CPU)",
        ["model", "batch", "variant", "unpruned us", "variant us", "ratio", "min", "max", "params", "MACs"],
        rows,
    )
    if not args.quick or args.save:
        record("pruned_latency", payload)


if __name__ == "__main__":
    main()
