"""NumPy penalties on 1e5..1e8 float32 weights, against memory-bound references timed in the same run.

Two tables, both ratios of the time of an operation over the time of a reference on the
same array, the two timed back to back (interleaved) in each repeat:

1. ``ratios`` (issue 6): every case over ``np.dot(w, w)``, which reads ``w`` once and does
   almost no arithmetic per byte: the floor of a penalty's *value*. Targets: L2 value
   <= 1.3x, L1 value <= 1.5x. The "naive" rows are the one-liners a reader would write
   (``np.sum(np.abs(w))``, ``np.sum(w**2)``, with an ``np.isfinite(w).all()`` check in
   front): they show what a full-size temporary and a separate validation pass cost.
   ``ratios`` holds the medians (the keys chapter 9 reads); ``ratio_spreads`` the min,
   median and max over the repeats of the same figures. BLAS runs with its default
   number of threads here, as this table always has (the L1 value's ``asum`` is
   multi-threaded).
2. ``vs_multiply`` (issue 14): each ``grad`` and ``prox`` of L1, L2 and ElasticNet over
   ``w * c`` into a fresh array, the floor of an operation that reads ``w`` and writes an
   array of its size (a fresh array costs its page faults too). Target: <= 1.3x. The
   ``out=`` rows write into an existing array instead, as a training loop can, and
   ``w * c (out=)`` is the floor of those. Min, median and max over the repeats; one
   BLAS thread.

Usage: ``python benchmarks/bench_penalties.py [--sizes 1e5 1e6 1e7 1e8] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import interleaved_samples, machine, print_table, save
from threadpoolctl import threadpool_limits

import normreg as nr

#: Sizes of the second table: below 1e6 the Python overhead of one call is the story.
MULTIPLY_SIZES = (10**6, 10**7, 10**8)
TARGET_VS_MULTIPLY = 1.3


def naive_l1(w: np.ndarray) -> float:
    if not np.isfinite(w).all():
        raise ValueError("w must not contain NaN or Inf")
    return 0.1 * np.sum(np.abs(w))


def naive_l2(w: np.ndarray) -> float:
    if not np.isfinite(w).all():
        raise ValueError("w must not contain NaN or Inf")
    return 0.05 * np.sum(w**2)


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def run_vs_dot(sizes: list[int], repeats: int) -> tuple[list[dict], list[dict]]:
    l1, l2 = nr.L1(0.1), nr.L2(0.1)
    cases = {
        "L2 value": l2,
        "L1 value": l1,
        "L2 grad": l2.grad,
        "L1 grad": l1.grad,
        "L1 prox": lambda w: l1.prox(w, 0.01),
        "naive L2 value": naive_l2,
        "naive L1 value": naive_l1,
    }
    rng = np.random.default_rng(0)
    medians, spreads = [], []
    for n in sizes:
        w = rng.standard_normal(n, dtype=np.float32)
        ref_times, ratios = interleaved_samples(
            lambda w=w: np.dot(w, w), {name: (lambda fn=fn, w=w: fn(w)) for name, fn in cases.items()}, repeats
        )
        ref = statistics.median(ref_times)
        medians.append({"n": n, "reference_s": ref, "reference_GBps": 4 * n / ref / 1e9,
                        **{k: statistics.median(v) for k, v in ratios.items()}})
        spreads.append({"n": n, "reference_s": spread(ref_times), **{k: spread(v) for k, v in ratios.items()}})
        del w
    return medians, spreads


def run_vs_multiply(sizes: list[int], repeats: int) -> list[dict]:
    pens = {"L1": nr.L1(0.1), "L2": nr.L2(0.1), "ElasticNet": nr.ElasticNet(0.1, 0.5)}
    rng = np.random.default_rng(1)
    rows = []
    for n in sizes:
        w = rng.standard_normal(n, dtype=np.float32)
        buf = np.empty_like(w)
        c = np.float32(0.1)
        cases: dict[str, Callable[[], Any]] = {"w * c (out=)": lambda w=w, buf=buf, c=c: np.multiply(w, c, out=buf)}
        for name, pen in pens.items():
            cases[f"{name} grad"] = lambda pen=pen, w=w: pen.grad(w)
            cases[f"{name} prox"] = lambda pen=pen, w=w: pen.prox(w, 0.01)
        for name, pen in pens.items():
            cases[f"{name} grad (out=)"] = lambda pen=pen, w=w, buf=buf: pen.grad(w, out=buf)
            cases[f"{name} prox (out=)"] = lambda pen=pen, w=w, buf=buf: pen.prox(w, 0.01, out=buf)
        ref_times, ratios = interleaved_samples(lambda w=w, c=c: w * c, cases, repeats)
        rows.append({"n": n, "reference_s": spread(ref_times), **{k: spread(v) for k, v in ratios.items()}})
        del w, buf
    return rows


def run(sizes: list[int], mult_sizes: list[int], repeats: int) -> dict:
    """Both tables: ratios against ``np.dot`` (BLAS's default threads, as this table was
    always measured: the L1 value's asum is multi-threaded) and grad/prox against
    ``w * c`` (one thread, the house rule for timings)."""
    medians, spreads = run_vs_dot(sizes, repeats)
    with threadpool_limits(1):
        vs_mult = run_vs_multiply(mult_sizes, repeats)
    return {
        "machine": machine(),
        "dtype": "float32",
        "reference": "np.dot(w, w)",
        "ratios": medians,
        "ratio_spreads": spreads,
        "vs_multiply": {
            "reference": "w * c into a fresh array",
            "target": TARGET_VS_MULTIPLY,
            "repeats": repeats,
            "blas_threads": 1,
            "rows": vs_mult,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=float, default=[1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats, results not saved")
    args = parser.parse_args()
    sizes = [10**5, 10**6] if args.quick else [int(s) for s in args.sizes]
    mult_sizes = [10**5, 10**6] if args.quick else [s for s in MULTIPLY_SIZES if s <= max(sizes)]
    repeats = 3 if args.quick else args.repeats
    out = run(sizes, mult_sizes, repeats)
    medians, vs_mult = out["ratios"], out["vs_multiply"]["rows"]
    names = [k for k in medians[0] if k not in ("n", "reference_s", "reference_GBps")]
    rows = [[f"{r['n']:.0e}", f"{r['reference_s'] * 1e3:.3f} ms", f"{r['reference_GBps']:.1f}"] +
            [f"{r[k]:.2f}x" for k in names] for r in medians]
    print_table("NumPy penalties, float32: time / time of np.dot(w, w) (median of repeats)",
                ["n", "np.dot", "GB/s"] + names, rows)
    ops = [k for k in vs_mult[0] if k not in ("n", "reference_s")]
    table = [[op] + [f"{r[op]['median']:.2f} ({r[op]['min']:.2f}-{r[op]['max']:.2f})" for r in vs_mult] for op in ops]
    print_table(f"grad and prox, float32: time / time of w * c into a fresh array, median (min-max); "
                f"target <= {TARGET_VS_MULTIPLY}",
                ["operation"] + [f"n = {r['n']:.0e}" for r in vs_mult], table)
    if not args.quick:
        print(f"\nsaved {save('penalties_cpu', out)}")


if __name__ == "__main__":
    main()
