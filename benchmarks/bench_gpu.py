"""Penalty throughput on a GPU, as a fraction of the device's memory bandwidth.

For n = 1e8 ... 1e9 float32 weights on the GPU (sizes at which a GPU is busy reading;
at 1e7 and below the launch and the read-back dominate), the L2 and L1 penalty values of
``normreg.keras`` (compiled: ``tf.function(jit_compile=True)`` or ``jax.jit``) are timed
against two references timed in the same run on the same array:

* ``sum``  -- ``ops.sum(w)``: one read of ``w`` (4n bytes), a reference, not a floor: a
  penalty may read the same bytes faster or slower than XLA's ``sum`` kernel;
* ``copy`` -- ``w * 2``: one read and one write (8n bytes), the device's achieved copy bandwidth.

A penalty value reads ``w`` once, so its achieved bandwidth is 4n bytes / time. It is
reported as a fraction of the ``sum`` and ``copy`` bandwidths and of the device's nominal
bandwidth: ``--nominal-gbps`` or, for a few known devices, a table below. Target (issue 6):
>= 80 % of the nominal bandwidth for n >= 1e8.

Timing: ``k`` back-to-back calls and one read-back of the last result (calls queue on one
stream, so the last one finishing means all have), ``k`` chosen so a sample lasts at least
``--min-time``; the median of ``--repeats`` samples, with the smallest and largest sample
recorded beside it (``seconds_min_max``); the cases interleaved.

Keras's backend (``KERAS_BACKEND``: tensorflow or jax) runs it on the first GPU it sees.
Without a GPU the script says so and exits 0 without writing anything. With one, the
results go to ``normreg/_recorded/penalties_gpu.json`` with the device, backend and versions.

Usage: ``KERAS_BACKEND=jax python benchmarks/bench_gpu.py [--nominal-gbps 4800] [--sizes 1e8 4e8 1e9]``
``[--quick [--save]]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from _timing import machine, print_table, save  # noqa: E402
from bench_keras import backend_name, device, versions  # noqa: E402

TARGET = 0.80
TARGET_MIN_N = 10**8

#: Nominal memory bandwidth in GB/s (10^9 bytes/s) from the vendors' data sheets, matched
#: against the device name (first match wins); ``--nominal-gbps`` overrides it.
NOMINAL_GBPS = [
    ("H200", 4800.0),
    ("H100 NVL", 3900.0),
    ("H100 PCIe", 2000.0),
    ("H100", 3350.0),  # SXM5, "NVIDIA H100 80GB HBM3"
    ("A100-SXM4-80GB", 2039.0),
    ("A100 80GB PCIe", 1935.0),
    ("A100", 1555.0),  # 40 GB, SXM4 and PCIe
]

CASES = ("sum", "copy", "L2 value", "L1 value")
BYTES_PER_ELEMENT = {"sum": 4, "copy": 8, "L2 value": 4, "L1 value": 4}


def nominal_for(name: str) -> float | None:
    for key, gbps in NOMINAL_GBPS:
        if key.lower() in name.lower():
            return gbps
    return None


def compiled(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    raise SystemExit(f"bench_gpu supports the tensorflow and jax backends; KERAS_BACKEND is {backend!r}")


def read_back(x: Any) -> float:
    """Wait for ``x`` (a sync for both backends) by copying its first element to the host.

    The slice is one more small kernel on the same stream, so it completes after everything
    queued before it; copying all of a 4 GB result back would time the host link instead.
    """
    from keras import ops

    return float(ops.convert_to_numpy(ops.reshape(x, (-1,))[:1])[0])


def functions() -> dict[str, Callable[[Any], Any]]:
    from keras import ops

    import normreg.keras as nk

    l2, l1 = nk.L2(0.1), nk.L1(0.1)
    return {
        "sum": compiled(lambda w: ops.sum(w)),
        "copy": compiled(lambda w: w * 2.0),
        "L2 value": compiled(lambda w: l2(w)),
        "L1 value": compiled(lambda w: l1(w)),
    }


def timed(fns: dict[str, Callable[[], Any]], repeats: int, min_time: float) -> dict[str, list[float]]:
    """Seconds per call of each function, one sample per repeat; samples interleaved (in
    rotating order), one sync per sample."""
    ks = {}
    for name, fn in fns.items():
        read_back(fn())  # compile and warm up
        k = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(k):
                out = fn()
            read_back(out)
            if time.perf_counter() - t0 >= min_time or k >= 1 << 16:
                break
            k *= 2
        ks[name] = k
    samples: dict[str, list[float]] = {n: [] for n in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            fn = fns[name]
            t0 = time.perf_counter()
            for _ in range(ks[name]):
                out = fn()
            read_back(out)
            samples[name].append((time.perf_counter() - t0) / ks[name])
    return samples


def run(sizes: list[int], repeats: int, min_time: float, nominal: float | None, quick: bool,
        allow_cpu: bool = False) -> dict | None:
    import keras

    dev = device()
    if dev["kind"] != "gpu" and not allow_cpu:
        return None
    nominal_source = "--nominal-gbps"
    if nominal is None:
        nominal = nominal_for(dev["name"])
        nominal_source = "data-sheet table in benchmarks/bench_gpu.py" if nominal else None
    fns = functions()
    rows = []
    for n in sizes:
        w = keras.random.normal((n,), dtype="float32", seed=0)
        samples = timed({name: (lambda f=f, w=w: f(w)) for name, f in fns.items()}, repeats, min_time)
        t = {c: statistics.median(s) for c, s in samples.items()}
        gbps = {c: BYTES_PER_ELEMENT[c] * n / t[c] / 1e9 for c in CASES}
        row: dict[str, Any] = {
            "n": n,
            "seconds": t,
            "seconds_min_max": {c: [min(s), max(s)] for c, s in samples.items()},
            "GBps": gbps,
        }
        for c in ("L2 value", "L1 value"):
            row[f"{c} / sum"] = gbps[c] / gbps["sum"]
            row[f"{c} / copy"] = gbps[c] / gbps["copy"]
            row[f"{c} / nominal"] = gbps[c] / nominal if nominal else None
        rows.append(row)
        del w
        print(f"  n = {n:.0e} done", flush=True)
    info = machine()
    info.update(versions())
    info["backend"] = backend_name()
    info["device"] = dev
    return {
        "benchmark": "penalty value throughput on a GPU vs memory bandwidth",
        "measurement": {
            "quick": quick,
            "repeats": repeats,
            "min_time_s": min_time,
            "statistic": "median over repeats (min and max kept); each sample k calls and one read-back",
            "compiled_with": "tf.function(jit_compile=True)" if backend_name() == "tensorflow" else "jax.jit",
        },
        "machine": info,
        "dtype": "float32",
        "bytes_per_element": BYTES_PER_ELEMENT,
        "nominal_GBps": nominal,
        "nominal_source": nominal_source,
        "target_fraction": TARGET,
        "target_min_n": TARGET_MIN_N,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=float, default=[1e8, 4e8, 1e9])
    parser.add_argument("--nominal-gbps", type=float, default=None,
                        help="the device's nominal memory bandwidth in GB/s (default: known devices only)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--min-time", type=float, default=0.05)
    parser.add_argument("--quick", action="store_true",
                        help="sizes 1e6 and 1e7 only (launch-bound: indicative only); saved only with --save")
    parser.add_argument("--save", action="store_true", help="save the results of a --quick run too")
    parser.add_argument("--allow-cpu", action="store_true", help=argparse.SUPPRESS)  # development: exercise the code
    args = parser.parse_args()
    sizes = [10**6, 10**7] if args.quick else [int(s) for s in args.sizes]
    repeats = 3 if args.quick else args.repeats
    out = run(sizes, repeats, args.min_time, args.nominal_gbps, args.quick, args.allow_cpu)
    if out is None:
        print(f"bench_gpu: Keras's {backend_name()} backend sees no GPU here; nothing measured, nothing written.")
        return
    dev = out["machine"]["device"]
    rows = []
    for r in out["rows"]:
        row = [f"{r['n']:.0e}"] + [f"{r['GBps'][c]:.0f}" for c in CASES]
        for c in ("L2 value", "L1 value"):
            frac = r[f"{c} / nominal"]
            row += [f"{r[f'{c} / copy']:.0%}", "-" if frac is None else f"{frac:.0%}"]
        rows.append(row)
    nominal = "unknown (give --nominal-gbps)" if out["nominal_GBps"] is None else f"{out['nominal_GBps']:.0f} GB/s"
    print_table(
        f"Penalty throughput on {dev['name']} ({out['machine']['backend']}), GB/s; nominal bandwidth {nominal}",
        ["n"] + [f"{c} GB/s" for c in CASES] + ["L2/copy", "L2/nominal", "L1/copy", "L1/nominal"],
        rows,
    )
    if dev["kind"] != "gpu":
        print("\n(--allow-cpu: measured on the CPU to exercise the code; nothing written)")
    elif not args.quick or args.save:
        print(f"\nsaved {save('penalties_gpu', out)}")


if __name__ == "__main__":
    sys.exit(main())
