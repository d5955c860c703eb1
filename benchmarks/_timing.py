"""Shared timing helpers for the benchmarks: medians of repeats, machine facts, JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Results are package data (normreg/_recorded), so that chapters read them with
#: ``normreg.recorded.load(name)`` even when a notebook is run outside the repository.
RESULTS = Path(__file__).resolve().parents[1] / "normreg" / "_recorded"


def _loops(fn: Callable[[], Any], min_time: float) -> int:
    """How many back-to-back calls of ``fn`` last at least ``min_time`` seconds."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 >= min_time or n >= 1 << 20:
            return n
        n *= 2


def _per_call(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def median_time(fn: Callable[[], Any], repeats: int = 7, min_time: float = 0.05) -> float:
    """Median wall time of one call of ``fn``, in seconds.

    Each of the ``repeats`` samples times enough back-to-back calls to last at least
    ``min_time`` (so that sub-millisecond calls are not dominated by timer resolution).
    One untimed warm-up call comes first.
    """
    n = _loops(fn, min_time)
    return statistics.median(_per_call(fn, n) for _ in range(repeats))


def interleaved_samples(
    reference: Callable[[], Any], cases: dict[str, Callable[[], Any]], repeats: int, min_time: float = 0.05
) -> tuple[list[float], dict[str, list[float]]]:
    """Reference times, and per case its time over the reference time of the same repeat
    (every repeat's sample, for the min-median-max that benchmarks record)."""
    loops = {name: _loops(fn, min_time) for name, fn in cases.items()}
    n_ref = _loops(reference, min_time)
    ref_times: list[float] = []
    ratios: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        t_ref = _per_call(reference, n_ref)
        ref_times.append(t_ref)
        for name, fn in cases.items():
            ratios[name].append(_per_call(fn, loops[name]) / t_ref)
    return ref_times, ratios


def interleaved_ratios(
    reference: Callable[[], Any], cases: dict[str, Callable[[], Any]], repeats: int = 7, min_time: float = 0.05
) -> tuple[float, dict[str, float]]:
    """Median reference time, and for each case the median over repeats of its time divided by
    the reference time measured *in the same repeat*.

    Timing the reference once and the cases later lets a change of machine load between
    the two (another process, CPU frequency, the page cache) into every ratio; interleaving
    them and taking the median of per-repeat ratios keeps such drifts out.
    """
    ref_times, ratios = interleaved_samples(reference, cases, repeats, min_time)
    return statistics.median(ref_times), {name: statistics.median(r) for name, r in ratios.items()}


def machine() -> dict[str, Any]:
    """What produced the figures: CPU count, platform, library versions."""
    import numpy as np

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if blas:
            info["blas"] = f"{blas[0].get('internal_api')} {blas[0].get('version')} ({blas[0].get('architecture')})"
    except ImportError:  # pragma: no cover
        pass
    return info


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [header] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for k, r in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
        if k == 0:
            print("  ".join("-" * w for w in widths))
