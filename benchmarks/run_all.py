"""``make bench``: run every benchmark, then print one table of ratios against their targets.

Runs, each in its own Python process (so that one's memory and threads do not disturb the
next): ``bench_penalties`` (NumPy penalties vs ``np.dot``), ``bench_solvers`` (FISTA vs
scikit-learn), ``bench_keras`` (regularized vs unregularized training step),
``bench_gpu`` (penalty throughput vs memory bandwidth; it measures nothing and writes
nothing where Keras's backend sees no GPU), ``bench_prox`` (a fit step with
``ProximalOptimizer`` vs plain SGD), ``bench_prune`` (pruned vs unpruned inference) and
``bench_embeddings`` (a penalized embedding step vs the unpenalized one), and
``seeds_sparsity`` (chapter 8's prune-time accuracy contrast repeated over seeds; no timing).
Each prints its own table and, in a full run,
saves its results into ``normreg/_recorded/`` for the book. Then one combined table:
benchmark | case | ratio | target | met?

Each benchmark module has ``run(...)`` returning its results and ``main()`` parsing its
command line; the child process calls ``main()`` and hands back what ``run`` returned, so
the combined table uses exactly the figures just measured (also in ``--quick`` runs, which
save nothing).

Usage: ``python benchmarks/run_all.py [--quick] [--only penalties keras ...] [--strict]``
``--strict`` exits 1 if a target is missed (by default only a failing benchmark does).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: name -> (module, arguments of a full run, arguments of a quick run)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "penalties": ("bench_penalties", [], ["--quick"]),
    "solvers": ("bench_solvers", [], ["--quick"]),
    "keras": ("bench_keras", [], ["--quick"]),
    "gpu": ("bench_gpu", [], ["--quick"]),
    "prox": ("bench_prox", [], ["--quick"]),
    "prune": ("bench_prune", [], ["--quick"]),
    "embeddings": ("bench_embeddings", [], ["--quick"]),
    "sparsity_seeds": ("seeds_sparsity", [], ["--quick"]),
}

Row = tuple[str, str, float, "tuple[str, float] | None"]


# ------------------------------------------------------------------------------ child process
def child(module: str, out_path: str, argv: list[str]) -> None:
    """Run ``module.main()`` with ``argv`` and write what its ``run`` returned to ``out_path``."""
    sys.path.insert(0, str(HERE))
    mod = importlib.import_module(module)
    captured: list[Any] = []
    original = mod.run

    def run(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        captured.append(result)
        return result

    mod.run = run
    sys.argv = [str(HERE / f"{module}.py"), *argv]
    mod.main()
    Path(out_path).write_text(json.dumps(captured[-1] if captured else None))


# ------------------------------------------------------------------------------ rows
def penalty_rows(p: dict) -> list[Row]:
    rows: list[Row] = []
    for r in p["ratios"]:
        for case, target in (("L2 value", 1.3), ("L1 value", 1.5)):
            rows.append(("NumPy penalty / np.dot", f"{case}, n={r['n']:.0e}", r[case], ("<=", target)))
    last = p["ratios"][-1]
    for case in ("L2 grad", "L1 grad", "naive L2 value", "naive L1 value"):
        if case in last:
            rows.append(("NumPy penalty / np.dot", f"{case}, n={last['n']:.0e}", last[case], None))
    return rows


def solver_rows(p: dict) -> list[Row]:
    # issue 14's targets: normreg's time over its anchor's (median of interleaved repeats)
    return [(f"normreg / {c['anchor']}", case, c["ratio"]["median"], ("<=", c["target"]))
            for case, c in p["cases"].items() if "skipped" not in c]


def keras_rows(p: dict) -> list[Row]:
    rows: list[Row] = []
    where = p["machine"]["device"]["kind"]
    eager = {r["model"]: r["step_s"]["none"] for r in p["results"] if r["mode"] == "eager"}
    for r in p["results"]:
        bench = f"Keras step / unregularized ({r['backend']}, {where})"
        compiled = r["mode"] != "eager"
        rows.append((bench, f"{r['model']} {r['mode']}: fused", r["ratio"]["fused"],
                     ("<=", p["target_fused_ratio"]) if compiled else None))
        rows.append((bench, f"{r['model']} {r['mode']}: per-layer", r["ratio"]["per-layer"], None))
    for r in p["results"]:
        if r["mode"] != "eager" and r["model"] in eager:
            rows.append((f"Keras step, eager / compiled ({r['backend']}, {where})", f"{r['model']} {r['mode']}",
                         eager[r["model"]] / r["step_s"]["none"], None))
    return rows


def gpu_rows(p: dict) -> list[Row]:
    rows: list[Row] = []
    dev = p["machine"]["device"]["name"]
    against = "nominal" if p["nominal_GBps"] else "copy"
    for r in p["rows"]:
        for case in ("L2 value", "L1 value"):
            target = (">=", p["target_fraction"]) if r["n"] >= p["target_min_n"] else None
            rows.append((f"GPU bandwidth fraction ({dev})", f"{case} / {against}, n={r['n']:.0e}",
                         r[f"{case} / {against}"], target))
    return rows


def prox_rows(p: dict) -> list[Row]:
    # issue 13's target: a fit step with ProximalOptimizer(SGD, L1) <= 1.10x the plain SGD step
    rows: list[Row] = []
    for r in p["results"]:
        rows.append(("fit step / SGD step (MLP, CPU)", f"{r['mode']}: ProximalOptimizer", r["ratio"]["prox"],
                     ("<=", p["target_prox_ratio"])))
        rows.append(("fit step / SGD step (MLP, CPU)", f"{r['mode']}: ProximalCallback", r["ratio"]["callback"], None))
    return rows


def prune_rows(p: dict) -> list[Row]:
    return [(f"inference / unpruned ({r['model']}, CPU)", f"batch {b['batch']}: {v}", b["ratio"][v], None)
            for r in p["results"] for b in r["batches"] for v in ("pruned", "unstructured")]


def embedding_rows(p: dict) -> list[Row]:
    return [("embedding step / unpenalized (CPU)", f"V={r['vocab']:.0e}: {v}", r["ratio"][v]["median"], None)
            for r in p["results"] for v in r["ratio"]]


def sparsity_seed_rows(p: dict) -> list[Row]:
    # chapter 8's claims: proximal training loses exactly nothing at prune time on every seed
    exact = ("group lasso, proximal", "slimming, proximal")
    return [(f"prune-time accuracy drop over {len(p['seeds'])} seeds", f"{m}: max", s["drop"][2],
             ("<=", 0.0) if m in exact else None) for m, s in p["summary"].items()]


ROWS = {"penalties": penalty_rows, "solvers": solver_rows, "keras": keras_rows, "gpu": gpu_rows,
        "prox": prox_rows, "prune": prune_rows, "embeddings": embedding_rows,
        "sparsity_seeds": sparsity_seed_rows}


def met(value: float, target: tuple[str, float] | None) -> str:
    if target is None:
        return "-"
    op, bound = target
    return "yes" if (value <= bound if op == "<=" else value >= bound) else "NO"


def print_combined(rows: list[Row]) -> None:
    cells = [["benchmark", "case", "ratio", "target", "met?"]]
    for bench, case, value, target in rows:
        cells.append([bench, case, f"{value:.3f}", "-" if target is None else f"{target[0]} {target[1]:g}",
                      met(value, target)])
    widths = [max(len(r[i]) for r in cells) for i in range(5)]
    print("\n" + "=" * (sum(widths) + 8))
    print("All benchmarks: ratios against references timed in the same run (median of repeats)")
    for k, r in enumerate(cells):
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


# ------------------------------------------------------------------------------ main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's quick mode (nothing saved)")
    parser.add_argument("--only", nargs="*", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{'quick' if args.quick else 'full'} run on {os.cpu_count()} CPUs, load average {load:.2f} at start"
          + (" (other work is running: figures will be noisy)" if load > 0.5 else ""), flush=True)
    rows: list[Row] = []
    failed: list[str] = []
    elapsed: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only:
            module, full, quick = BENCHMARKS[name]
            out = Path(tmp) / f"{name}.json"
            print(f"\n### {module} {' '.join(quick if args.quick else full)}".rstrip(), flush=True)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", module, str(out),
                                   *(quick if args.quick else full)], cwd=HERE.parent)
            elapsed[name] = time.perf_counter() - t0
            if proc.returncode != 0 or not out.exists():
                failed.append(name)
                continue
            payload = json.loads(out.read_text())
            if payload is not None:  # bench_gpu without a GPU measured nothing
                rows += ROWS[name](payload)
    print_combined(rows)
    missed = [r for r in rows if met(r[2], r[3]) == "NO"]
    targets = [r for r in rows if r[3] is not None]
    print(f"\n{len(targets) - len(missed)} of {len(targets)} targets met; time: "
          + ", ".join(f"{n} {t:.0f} s" for n, t in elapsed.items()) + f"; total {sum(elapsed.values()):.0f} s")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(main())
