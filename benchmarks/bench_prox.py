"""A ``fit`` step with ``ProximalOptimizer(SGD, L1)`` against the plain ``SGD`` step.

The model is the MLP of issue 13, 64 -> 256 -> 256 -> 10 (ReLU), trained with the softmax
cross-entropy on batches of 32. Three variants of the step, all from the same weights:

* ``sgd``      -- ``keras.optimizers.SGD(0.05)``: the reference;
* ``prox``     -- ``normreg.keras.ProximalOptimizer(SGD(0.05), L1(1e-4))``: the same update, then
  soft-thresholding of the three kernels inside the compiled step;
* ``callback`` -- ``SGD(0.05)`` plus ``normreg.keras.ProximalCallback(L1(1e-4))`` called after
  each step, as ``fit`` calls it: the earlier way, outside the compiled step (for comparison;
  deprecated since 0.2, its FutureWarning silenced here).

Each call is what ``fit`` runs per batch: the model's compiled ``train_function`` on the next
batch of a ``tf.data`` iterator (``steps_per_execution=1``), in ``graph`` mode
(``tf.function``) and ``xla`` (``jit_compile=True``), without the progress bar. The variants
are timed interleaved (rotated order in every repeat), each sample long enough to dwarf the
timer, with one intra-op thread; the ratio is the median over repeats of the per-repeat
ratio to ``sgd``, recorded with its min and max.
Target (issue 13): ``prox`` <= 1.10x ``sgd``.

Results go to the ``"prox_step"`` entry of ``normreg/_recorded/sparsity_cpu.json`` (the file
``bench_prune.py`` also writes its entry to), with the machine and library versions.

Usage: ``python benchmarks/bench_prox.py [--repeats 15] [--min-time 0.2] [--quick [--save]]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
from _timing import RESULTS, machine, print_table, save  # noqa: E402

TARGET = 1.10
VARIANTS = ("sgd", "prox", "callback")
LR, LAM, BATCH = 0.05, 1e-4, 32
RECORD = "sparsity_cpu"


def versions() -> dict[str, str]:
    import keras

    out = {"keras": keras.__version__, "backend": keras.backend.backend()}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        out["tensorflow"] = tf.__version__
    return out


def set_threads(threads: int) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def mlp() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def make_step(variant: str, mode: str) -> Callable[[], None]:
    """One fit step of ``variant``: the compiled train function on the next batch (and the
    callback's per-batch hook for ``callback``)."""
    import keras
    import tensorflow as tf

    import normreg.keras as nk

    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH * 8, 64)).astype(np.float32)
    y = rng.integers(0, 10, BATCH * 8).astype(np.int32)
    model = mlp()
    sgd = keras.optimizers.SGD(LR)
    opt = nk.ProximalOptimizer(sgd, nk.L1(LAM)) if variant == "prox" else sgd
    model.compile(opt, keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=mode == "xla")
    model.fit(x[:BATCH], y[:BATCH], batch_size=BATCH, epochs=1, verbose=0)  # builds everything
    iterator = iter(tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True).repeat())
    train = model.train_function
    if variant != "callback":
        return lambda: train(iterator)
    with warnings.catch_warnings():  # deprecated since 0.2; timed here as the reference it was
        warnings.filterwarnings("ignore", "ProximalCallback is deprecated", FutureWarning)
        cb = nk.ProximalCallback(nk.L1(LAM))
    cb.set_model(model)
    cb.on_train_begin()

    def step() -> None:
        train(iterator)
        cb.on_train_batch_end(0)

    return step


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int, min_time: float) -> dict[str, list[float]]:
    """Seconds per call of each function, one sample per repeat, the order rotated every repeat."""
    loops = {}
    for name, fn in fns.items():
        for _ in range(3):
            fn()
        n, t = 1, 0.0
        while t < min_time:
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            t = time.perf_counter() - t0
            n = n if t >= min_time else 2 * n
        loops[name] = n
    samples: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t0 = time.perf_counter()
            for _ in range(loops[name]):
                fns[name]()
            samples[name].append((time.perf_counter() - t0) / loops[name])
    return samples


def run(modes: list[str], repeats: int, min_time: float, threads: int) -> dict[str, Any]:
    set_threads(threads)
    results = []
    for mode in modes:
        fns = {v: make_step(v, mode) for v in VARIANTS}
        samples = interleaved(fns, repeats, min_time)
        per_repeat = {v: [a / b for a, b in zip(samples[v], samples["sgd"], strict=True)] for v in VARIANTS}
        results.append(
            {
                "mode": mode,
                "step_s": {v: statistics.median(samples[v]) for v in VARIANTS},
                "step_s_min_max": {v: [min(samples[v]), max(samples[v])] for v in VARIANTS},
                "ratio": {v: statistics.median(per_repeat[v]) for v in VARIANTS if v != "sgd"},
                "ratio_min_max": {v: [min(per_repeat[v]), max(per_repeat[v])] for v in VARIANTS if v != "sgd"},
            }
        )
    info = machine()
    info.update(versions())
    info["threads"] = threads
    info["load_average_at_start"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "model": "MLP 64-256-256-10 (ReLU), softmax cross-entropy, batch 32",
        "penalty": f"normreg.keras.L1({LAM}) on the three kernels, SGD({LR})",
        "target_prox_ratio": TARGET,
        "repeats": repeats,
        "results": results,
        "machine": info,
    }


def record(key: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` as the ``key`` entry of sparsity_cpu.json, keeping the other entries."""
    path = RESULTS / f"{RECORD}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = payload
    save(RECORD, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="*", default=["graph", "xla"], choices=["graph", "xla"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per timed sample")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="few short repeats, nothing saved (unless --save)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    repeats, min_time = (3, 0.05) if args.quick else (args.repeats, args.min_time)
    payload = run(args.modes, repeats, min_time, args.threads)
    rows = []
    for r in payload["results"]:
        for v in ("prox", "callback"):
            lo, hi = r["ratio_min_max"][v]
            rows.append([r["mode"], v, r["step_s"]["sgd"] * 1e3, r["step_s"][v] * 1e3, r["ratio"][v], lo, hi])
    print_table(
        f"fit step / plain SGD step ({payload['model']}; target prox <= {TARGET})",
        ["mode", "variant", "sgd ms", "variant ms", "ratio", "min", "max"],
        rows,
    )
    if not args.quick or args.save:
        record("prox_step", payload)


if __name__ == "__main__":
    main()
