"""One training step of an embedding model: unpenalized vs three ways to penalize the table.

The model of chapter 7's embedding section, ``Embedding(V, 64) -> Flatten -> Dense(1)`` on
a batch of 256 token ids drawn from a Zipf law, trained by SGD on the squared error, for
vocabularies of 10^4 and 10^5 rows. Four variants of the same ``tf.function`` step:

* ``none``           -- the data loss alone (the reference): the table's gradient is an
  ``IndexedSlices`` of the rows looked up, and only those rows are written;
* ``L2 in the loss`` -- ``embeddings_regularizer=normreg.keras.L2(lam)``: a dense gradient
  ``lam * E`` on every row;
* ``weight decay``   -- ``SGD(weight_decay=lam)``: a dense ``E -= lr * lam * E`` per step;
* ``looked-up rows`` -- ``activity_regularizer=normreg.keras.L2(lam)``: the penalty of the
  looked-up vectors only (chapter 7 derives the objective it minimizes).

The variants are timed interleaved (none, then each variant, in every repeat), each sample
long enough to dwarf the timer, with TensorFlow on one intra-op and one inter-op thread.
Each ratio is the variant's time over the reference time of the same repeat; the median,
smallest and largest of these per-repeat ratios are recorded, with the step times.

Results go to ``normreg/_recorded/deep_cpu.json`` (a full run), read by chapter 7 through
``normreg.recorded.load("deep_cpu")``.

Usage: ``python benchmarks/bench_embeddings.py [--quick] [--repeats N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from _timing import _loops, _per_call, machine, print_table, save  # noqa: E402

VARIANTS = ("L2 in the loss", "weight decay", "looked-up rows")
DIM, BATCH, LAM, LR = 64, 256, 1e-3, 0.1


def _step(vocab: int, variant: str | None, tokens: Any) -> Any:
    import keras
    import numpy as np
    import tensorflow as tf

    import normreg.keras as nk

    keras.utils.set_random_seed(0)
    penalty: dict[str, Any] = {}
    if variant == "L2 in the loss":
        penalty["embeddings_regularizer"] = nk.L2(LAM)
    elif variant == "looked-up rows":
        penalty["activity_regularizer"] = nk.L2(LAM)
    emb, head = keras.layers.Embedding(vocab, DIM, **penalty), keras.layers.Dense(1)
    net = keras.Sequential([keras.Input((1,), dtype="int32"), emb, keras.layers.Flatten(), head])
    opt = keras.optimizers.SGD(LR, weight_decay=LAM if variant == "weight decay" else None)
    opt.exclude_from_weight_decay(var_list=head.trainable_weights)
    target = tf.constant(np.random.default_rng(1).normal(size=BATCH).astype("float32"))
    tok = tf.constant(tokens[:, None])

    @tf.function
    def step() -> Any:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((net(tok, training=True)[:, 0] - target) ** 2) + sum(net.losses)
        grads = tape.gradient(loss, net.trainable_variables)
        opt.apply_gradients(zip(grads, net.trainable_variables, strict=True))
        return loss

    def run() -> None:
        step().numpy()  # wait for the step to finish

    run()  # trace and build outside the timing
    return run


def run(vocabs: list[int], repeats: int, min_time: float) -> dict[str, Any]:
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    rows = []
    for vocab in vocabs:
        freq = 1.0 / np.arange(1, vocab + 1) ** 1.1
        tokens = np.random.default_rng(0).choice(vocab, size=BATCH, p=freq / freq.sum()).astype("int32")
        ref = _step(vocab, None, tokens)
        cases = {v: _step(vocab, v, tokens) for v in VARIANTS}
        n_ref = _loops(ref, min_time)
        loops = {v: _loops(fn, min_time) for v, fn in cases.items()}
        ref_s: list[float] = []
        step_s: dict[str, list[float]] = {v: [] for v in VARIANTS}
        ratios: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(repeats):
            t_ref = _per_call(ref, n_ref)
            ref_s.append(t_ref)
            for v, fn in cases.items():
                t = _per_call(fn, loops[v])
                step_s[v].append(t)
                ratios[v].append(t / t_ref)
        rows.append({
            "vocab": vocab,
            "distinct_tokens": int(np.unique(tokens).size),
            "reference_s": {"min": min(ref_s), "median": statistics.median(ref_s), "max": max(ref_s)},
            "step_s": {v: {"min": min(s), "median": statistics.median(s), "max": max(s)} for v, s in step_s.items()},
            "ratio": {v: {"min": min(r), "median": statistics.median(r), "max": max(r)} for v, r in ratios.items()},
        })
    import keras

    info = machine()
    info.update({"tensorflow": tf.__version__, "keras": keras.__version__, "threads": 1})
    return {"machine": info, "dim": DIM, "batch": BATCH, "repeats": repeats, "results": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small vocabulary, 3 repeats, nothing saved")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    vocabs = [10_000] if args.quick else [10_000, 100_000]
    out = run(vocabs, 3 if args.quick else args.repeats, 0.02 if args.quick else 0.1)
    table = [[r["vocab"], r["distinct_tokens"], r["reference_s"]["median"] * 1e3]
             + [f"{r['ratio'][v]['median']:.2f} ({r['ratio'][v]['min']:.2f}-{r['ratio'][v]['max']:.2f})"
                for v in VARIANTS] for r in out["results"]]
    print_table("embedding step / unpenalized step: median (min-max) over interleaved repeats",
                ["vocab", "distinct in batch", "unpenalized ms", *VARIANTS], table)
    if not args.quick:
        print(f"\nsaved {save('deep_cpu', out)}")


if __name__ == "__main__":
    main()
