"""Chapter 8's prune-time contrast (section ``sp-contrast``) repeated over seeds.

The chapter trains each network once, with seed 0, and compares validation accuracy just
before and just after pruning, before any fine-tuning. This script repeats the same
training and pruning for several seeds, so that the chapter can say which of its contrasts
hold on every seed and which only in median. A seed fixes the initial weights
(``keras.utils.set_random_seed``) and the order of the training batches (the ``tf.data``
shuffle seed); the data split is the chapter's (``load_digits_split(1257, seed=0)``).

Per seed, exactly as in the chapter (its seed 0 is the chapter's run: the chapter asserts
that its live results equal this record's row for seed 0):

* ``group lasso, proximal``    -- MLP 64-64-10, ``GroupLasso(2e-3, axis=-1)`` on the hidden
  kernel by ``ProximalOptimizer(SGD(0.5))``, 600 steps; pruned by ``prune_zero_units``.
  Its number of live units ``k`` and of zero weights set the sparsity of the next three.
* ``L2, units by norm``        -- the MLP trained with ``L2(1e-3)`` on the hidden kernel,
  plain ``SGD(0.5)``; all but the ``k`` hidden units of largest norm zeroed.
* ``L2, weights by magnitude`` -- the same network, its smallest weights zeroed, as many as
  the proximal kernel has zeros.
* ``group lasso, subgradient`` -- the MLP with ``GroupLasso(2e-3, axis=-1)`` as a
  ``kernel_regularizer`` (plain SGD); all but ``k`` units by norm zeroed.
* ``slimming, proximal``       -- the CNN with BatchNormalization, ``L1(0.1)`` on every
  BatchNorm scale by ``ProximalOptimizer(SGD(0.1))``, 300 steps; pruned by
  ``prune_zero_units``. Its number of exactly zero scales sets the next one's sparsity.
* ``slimming, threshold``      -- the same CNN with ``L1(0.1)`` as ``gamma_regularizer``
  (plain SGD); the scales of smallest ``|gamma|`` (one global threshold) set to zero.

Batches of 128, 50 steps per compiled call, one TensorFlow thread and deterministic ops (the
chapter's settings, so that seed 0 reproduces it bit for bit); the seeds are shared out
over ``--workers`` processes (default 2, one thread each: at most two cores busy). Recorded per seed: the number
of correct validation predictions (of 540) of every network before and after pruning, and
the sparsity (live units, zero weights, zero scales). Nothing is timed.

Results go to ``normreg/_recorded/sparsity_seeds_cpu.json``, read by chapter 8 through
``normreg.recorded.load("sparsity_seeds_cpu")``.

Usage: ``python benchmarks/seeds_sparsity.py [--seeds 10] [--workers 2] [--quick [--save]]``
(the record keeps its wall time, ``wall_s``, and the load at start).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from _timing import machine, print_table, save  # noqa: E402
from bench_prox import set_threads, versions  # noqa: E402

RECORD = "sparsity_seeds_cpu"
METHODS = (
    "group lasso, proximal",
    "L2, units by norm",
    "L2, weights by magnitude",
    "group lasso, subgradient",
    "slimming, proximal",
    "slimming, threshold",
)
#: the chapter's hyperparameters
CONFIG = {
    "n_train": 1257, "split_seed": 0, "batch": 128, "steps_per_execution": 50,
    "mlp": {"steps": 600, "lr": 0.5, "group_lasso": 2e-3, "l2": 1e-3},
    "slim_cnn": {"steps": 300, "lr": 0.1, "l1": 0.1},
}


class Chapter:
    """The chapter's data, networks and training loop, with the seed as a parameter."""

    def __init__(self) -> None:
        from normreg.datasets import load_digits_split

        d = load_digits_split(CONFIG["n_train"], seed=CONFIG["split_seed"])
        self.x_train, self.y_train = d.X_train.astype("float32"), d.y_train
        self.x_val, self.y_val = d.X_test.astype("float32"), d.y_test

    @staticmethod
    def mlp(seed: int, regularizer: Any = None) -> Any:
        import keras

        L = keras.layers
        keras.utils.set_random_seed(seed)
        return keras.Sequential([
            keras.Input((64,)),
            L.Dense(64, activation="relu", name="hidden", kernel_regularizer=regularizer),
            L.Dense(10, name="logits"),
        ], name="mlp")

    @staticmethod
    def slim_cnn(seed: int, gamma_regularizer: Any = None) -> Any:
        import keras

        L = keras.layers
        keras.utils.set_random_seed(seed)
        bn = dict(momentum=0.9, gamma_regularizer=gamma_regularizer)
        return keras.Sequential([
            keras.Input((8, 8, 1)),
            L.Conv2D(8, 3, use_bias=False, name="conv1"),
            L.BatchNormalization(**bn), L.ReLU(),
            L.Conv2D(16, 3, use_bias=False, name="conv2"),
            L.BatchNormalization(**bn), L.ReLU(),
            L.Flatten(), L.Dense(10, name="logits"),
        ], name="slim_cnn")

    def fit(self, model: Any, optimizer: Any, steps: int, seed: int) -> Any:
        import keras
        import tensorflow as tf

        x = self.x_train.reshape((-1, *model.input_shape[1:]))
        batches = tf.data.Dataset.from_tensor_slices((x, self.y_train))
        batches = batches.shuffle(len(x), seed=seed).repeat().batch(CONFIG["batch"])
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(optimizer, loss, steps_per_execution=CONFIG["steps_per_execution"])
        model.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
        return model

    def correct(self, model: Any) -> int:
        import keras

        x = self.x_val.reshape((-1, *model.input_shape[1:]))
        out = keras.ops.convert_to_numpy(model(x, training=False))
        return int(np.sum(out.argmax(axis=1) == self.y_val))


def with_weight(model: Any, layer: str, index: int, value: np.ndarray) -> Any:
    """A copy of ``model`` with one array of one layer replaced (the chapter's helper)."""
    import keras

    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    arrays = twin.get_layer(layer).get_weights()
    arrays[index] = value
    twin.get_layer(layer).set_weights(arrays)
    return twin


def one_seed(ch: Chapter, seed: int) -> dict[str, Any]:
    """Train and prune every network of the contrast with ``seed``; correct counts of each."""
    import keras

    import normreg.keras as nk
    from normreg.viz import sparsity as vs

    m, s = CONFIG["mlp"], CONFIG["slim_cnn"]
    out: dict[str, Any] = {"seed": seed}
    counts: dict[str, list[int]] = {}

    model = ch.mlp(seed)
    opt = nk.ProximalOptimizer(
        keras.optimizers.SGD(m["lr"]), nk.GroupLasso(m["group_lasso"], axis=-1),
        include=[model.get_layer("hidden").kernel],
    )
    proximal = ch.fit(model, opt, m["steps"], seed)
    P = proximal.get_layer("hidden").kernel.numpy()
    k, n_zero = int(vs.live_units(P).sum()), int(np.sum(P == 0))
    counts["group lasso, proximal"] = [ch.correct(proximal), ch.correct(nk.prune_zero_units(proximal))]

    ridge = ch.fit(ch.mlp(seed, nk.L2(m["l2"])), keras.optimizers.SGD(m["lr"]), m["steps"], seed)
    K = ridge.get_layer("hidden").kernel.numpy()
    before = ch.correct(ridge)
    counts["L2, units by norm"] = [before, ch.correct(with_weight(ridge, "hidden", 0, vs.magnitude_prune_units(K, k)))]
    counts["L2, weights by magnitude"] = [
        before, ch.correct(with_weight(ridge, "hidden", 0, vs.magnitude_prune_weights(K, n_zero)))
    ]

    sub = ch.fit(ch.mlp(seed, nk.GroupLasso(m["group_lasso"], axis=-1)), keras.optimizers.SGD(m["lr"]),
                 m["steps"], seed)
    S = sub.get_layer("hidden").kernel.numpy()
    counts["group lasso, subgradient"] = [
        ch.correct(sub), ch.correct(with_weight(sub, "hidden", 0, vs.magnitude_prune_units(S, k)))
    ]

    slim_model = ch.slim_cnn(seed)
    opt = nk.ProximalOptimizer(
        keras.optimizers.SGD(s["lr"]), nk.L1(s["l1"]), include=nk.batchnorm_scales(slim_model)
    )
    slim_prox = ch.fit(slim_model, opt, s["steps"], seed)
    slim_sub = ch.fit(ch.slim_cnn(seed, nk.L1(s["l1"])), keras.optimizers.SGD(s["lr"]), s["steps"], seed)
    gamma = np.concatenate([g.numpy() for g in nk.batchnorm_scales(slim_prox)])
    sub_gamma = np.concatenate([g.numpy() for g in nk.batchnorm_scales(slim_sub)])
    n_off = int(np.sum(gamma == 0))
    counts["slimming, proximal"] = [ch.correct(slim_prox), ch.correct(nk.prune_zero_units(slim_prox))]
    thresholded = slim_sub
    if n_off > 0:  # the chapter's global threshold: the n_off smallest |gamma| go
        cut = np.sort(np.abs(sub_gamma))[n_off - 1]
        for bn in [x for x in slim_sub.layers if isinstance(x, keras.layers.BatchNormalization)]:
            g = bn.gamma.numpy()
            thresholded = with_weight(thresholded, bn.name, 0, np.where(np.abs(g) <= cut, 0.0, g))
    counts["slimming, threshold"] = [ch.correct(slim_sub), ch.correct(thresholded)]

    out.update({
        "live_units": k, "zero_weights": n_zero, "zero_scales": n_off,
        "subgradient_zero_scales": int(np.sum(sub_gamma == 0)), "correct": counts,
    })
    return out


def summary(rows: list[dict[str, Any]], n_val: int) -> dict[str, dict[str, list[float]]]:
    """Per method: [min, median, max] over seeds of the accuracy before, after, and the drop."""
    out = {}
    for method in METHODS:
        before = [r["correct"][method][0] / n_val for r in rows]
        after = [r["correct"][method][1] / n_val for r in rows]
        drop = [b - a for b, a in zip(before, after, strict=True)]
        out[method] = {name: [min(v), statistics.median(v), max(v)]
                       for name, v in (("before", before), ("after", after), ("drop", drop))}
    return out


_CHAPTER: Chapter | None = None


def _configure() -> None:
    """The chapter's TensorFlow settings: one thread, deterministic ops, no retracing notes."""
    import tensorflow as tf

    set_threads(1)
    tf.config.experimental.enable_op_determinism()
    tf.get_logger().setLevel("ERROR")


def _seed_in_worker(seed: int) -> tuple[dict[str, Any], float]:
    global _CHAPTER
    if _CHAPTER is None:
        _configure()
        _CHAPTER = Chapter()
    t0 = time.perf_counter()
    return one_seed(_CHAPTER, seed), time.perf_counter() - t0


def run(seeds: list[int], workers: int = 2) -> dict[str, Any]:
    """Every seed in one of ``workers`` processes (each with one TensorFlow thread)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    if workers == 1:
        done = map(_seed_in_worker, seeds)
    else:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        done = pool.map(_seed_in_worker, seeds)
    rows = []
    for row, seconds in done:
        rows.append(row)
        print(f"seed {row['seed']}: {seconds:.0f} s", flush=True)
    if workers > 1:
        pool.shutdown()
    from normreg.datasets import load_digits_split

    n_val = len(load_digits_split(CONFIG["n_train"], seed=CONFIG["split_seed"]).y_test)
    info = machine()
    info.update(versions())
    info.update({"threads_per_process": 1, "processes": workers, "load_average_at_start": load,
                 "wall_s": round(time.perf_counter() - t0, 1)})
    return {"methods": list(METHODS), "n_val": n_val, "seeds": list(seeds), "config": CONFIG,
            "rows": rows, "summary": summary(rows, n_val), "machine": info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0, 1, ..., SEEDS - 1")
    parser.add_argument("--workers", type=int, default=2, help="processes, one thread each (1 or 2)")
    parser.add_argument("--quick", action="store_true", help="seeds 0 and 1 only, nothing saved (unless --save)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.workers <= 2:
        parser.error(f"--workers must be 1 or 2; got {args.workers}")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1; got {args.seeds}")
    payload = run(list(range(2 if args.quick else args.seeds)), args.workers)
    rows = []
    for method, s in payload["summary"].items():
        rows.append([method, *s["before"], *s["drop"]])
    print_table(
        f"validation accuracy at prune time over seeds {payload['seeds']} (drop = before - after)",
        ["method", "before min", "median", "max", "drop min", "median", "max"],
        rows,
    )
    if not args.quick or args.save:
        save(RECORD, payload)


if __name__ == "__main__":
    main()
