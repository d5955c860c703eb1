"""NumPy penalties on 1e5..1e8 float32 weights, against np.dot(w, w) as the memory-bound reference.

Every figure is a ratio: the time of the operation over the time of ``np.dot(w, w)`` on
the same array, the two timed back to back in each repeat, the median over repeats. ``np.dot`` reads ``w`` once
and does almost no arithmetic per byte, so it is the floor for any penalty that reads ``w``.
Targets (issue 6): L2 value <= 1.3x, L1 value <= 1.5x.

The "naive" rows are the one-liners a reader would write (``np.sum(np.abs(w))``,
``np.sum(w**2)``, with an ``np.isfinite(w).all()`` check in front): they show what a
full-size temporary and a separate validation pass cost.

Usage: ``python benchmarks/bench_penalties.py [--sizes 1e5 1e6 1e7 1e8] [--quick]``
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import interleaved_ratios, machine, print_table, save

import normreg as nr


def naive_l1(w: np.ndarray) -> float:
    if not np.isfinite(w).all():
        raise ValueError("w must not contain NaN or Inf")
    return 0.1 * np.sum(np.abs(w))


def naive_l2(w: np.ndarray) -> float:
    if not np.isfinite(w).all():
        raise ValueError("w must not contain NaN or Inf")
    return 0.05 * np.sum(w**2)


def run(sizes: list[int], repeats: int) -> dict:
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
    results = []
    for n in sizes:
        w = rng.standard_normal(n, dtype=np.float32)
        flat = w.reshape(-1)
        ref, ratios = interleaved_ratios(
            lambda flat=flat: np.dot(flat, flat),
            {name: (lambda fn=fn, w=w: fn(w)) for name, fn in cases.items()},
            repeats,
        )
        row = {"n": n, "reference_s": ref, "reference_GBps": 4 * n / ref / 1e9, **ratios}
        results.append(row)
        del w, flat
    return {"machine": machine(), "dtype": "float32", "reference": "np.dot(w, w)", "ratios": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=float, default=[1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats, results not saved")
    args = parser.parse_args()
    sizes = [10**5, 10**6] if args.quick else [int(s) for s in args.sizes]
    out = run(sizes, 3 if args.quick else args.repeats)
    names = [k for k in out["ratios"][0] if k not in ("n", "reference_s", "reference_GBps")]
    rows = [[f"{r['n']:.0e}", f"{r['reference_s'] * 1e3:.3f} ms", f"{r['reference_GBps']:.1f}"] +
            [f"{r[k]:.2f}x" for k in names] for r in out["ratios"]]
    print_table("NumPy penalties, float32: time / time of np.dot(w, w) (median of repeats)",
                ["n", "np.dot", "GB/s"] + names, rows)
    if not args.quick:
        print(f"\nsaved {save('penalties_cpu', out)}")


if __name__ == "__main__":
    main()
