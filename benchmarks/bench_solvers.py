"""normreg's solvers against scikit-learn, celer and skglm, to the same objective (issue 14).

Five cases, each timed for normreg and its anchor in the same run:

* ``lasso``       -- one lasso fit, n = 2000, p = 500, AR(0.5)-correlated features, 20 non-zero
  true coefficients, lambda = 0.05 lambda_max; ``fit_linear`` against ``sklearn.linear_model.Lasso``;
* ``lasso_wide``  -- n = 1000, p = 10 000, 30 non-zero true coefficients (AR(0.5) design),
  lambda = 0.05 lambda_max; against ``celer.Lasso`` (working sets, Massias et al. 2018);
* ``path``        -- a 50-lambda lasso path, lambda_max to 1e-3 lambda_max, on the ``lasso`` data;
  ``regularization_path`` against ``sklearn.linear_model.lasso_path``;
* ``group_lasso`` -- n = 1000, p = 600 in groups of 5 to 10 (weights sqrt|g|), 8 active groups,
  lambda = 0.1 lambda_max; against ``skglm.GroupLasso``;
* ``logistic_l1`` -- n = 3000, p = 300, 15 non-zero true coefficients, lambda = 0.05 lambda_max;
  against ``skglm.SparseLogisticRegression``.

"The same objective": a reference optimum F* is computed first with every library at a very
tight tolerance (the smallest value is kept). Then for each library the loosest tolerance of
1e-2, 1e-3, ... whose answer satisfies (F - F*) / F* <= 1e-8 (for the path: at every lambda) is
found, and that call is timed. The two calls of a case are interleaved (A B A B ...), each repeat
timing enough back-to-back calls to last ``min_time``; the ratio normreg / anchor is taken per
repeat and its min, median and max are recorded (below 1 normreg is faster). BLAS is limited to
one thread (``--threads``), and numba (skglm) to one thread too.

A full run saves ``normreg/_recorded/solvers.json`` (read by chapter 6 through
``normreg.recorded.load("solvers")``); ``--quick`` runs small problems and saves nothing. celer
and skglm come from ``benchmarks/requirements-bench.txt`` (``make bench`` installs it); a case
whose anchor is not installed is recorded as skipped, with the reason.

Usage: ``python benchmarks/bench_solvers.py [--repeats 7] [--threads 1] [--quick] [--cases path ...]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from _timing import interleaved_samples, machine, print_table, save  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import normreg as nr  # noqa: E402
from normreg.selection import lambda_grid, regularization_path  # noqa: E402
from normreg.solvers import fit_linear  # noqa: E402

TOLS = [10.0**-k for k in range(2, 15)]
TARGET = 1e-8
#: issue 14's targets: normreg's time over the anchor's
TARGETS = {"lasso": 0.5, "lasso_wide": 1.0, "path": 0.7, "group_lasso": 0.5, "logistic_l1": 1.0}


# ------------------------------------------------------------------------------ data
def ar_design(n: int, p: int, rho: float, rng: np.random.Generator) -> np.ndarray:
    """Rows with corr(x_j, x_k) = rho^|j - k| (an AR(1) process along the features)."""
    X = np.empty((n, p))
    X[:, 0] = rng.standard_normal(n)
    e = rng.standard_normal((n, p)) * np.sqrt(1 - rho**2)
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + e[:, j]
    return X


def sparse_truth(p: int, k: int, rng: np.random.Generator) -> np.ndarray:
    w = np.zeros(p)
    idx = rng.choice(p, k, replace=False)
    w[idx] = rng.choice([-1.0, 1.0], k) * rng.uniform(0.5, 2.0, k)
    return w


def groups_5_to_10(p: int, rng: np.random.Generator) -> list[list[int]]:
    out, start = [], 0
    while start < p:
        s = min(int(rng.integers(5, 11)), p - start)
        out.append(list(range(start, start + s)))
        start += s
    return out


def lam_max_sq(X: np.ndarray, y: np.ndarray) -> float:
    return float(np.abs((X - X.mean(0)).T @ (y - y.mean())).max()) / len(y)


# ------------------------------------------------------------------------------ helpers
def loosest(run: Callable[[float], Any], rel_excess: Callable[[Any], float]) -> tuple[float, Any]:
    """The loosest tolerance in TOLS whose answer is within TARGET of the optimum."""
    for tol in TOLS:
        out = run(tol)
        if rel_excess(out) <= TARGET:
            return tol, out
    raise RuntimeError("no tolerance reached the target")


def interleaved(ours: Callable[[], Any], theirs: Callable[[], Any], repeats: int, min_time: float) -> dict[str, Any]:
    """Per-repeat times of both (anchor, normreg, anchor, normreg, ...: ``_timing``'s
    interleaved sampler) and the per-repeat ratio, min/median/max."""
    tb, r = interleaved_samples(theirs, {"normreg": ours}, repeats, min_time)
    ratios = r["normreg"]
    ta = [q * t for q, t in zip(ratios, tb, strict=True)]

    def mmm(v: list[float]) -> dict[str, float]:
        return {"min": min(v), "median": statistics.median(v), "max": max(v)}

    return {"normreg_s": mmm(ta), "anchor_s": mmm(tb), "ratio": mmm(ratios)}


def compare(
    ours: Callable[[float], Any],
    theirs: Callable[[float], Any],
    f_ours: Callable[[Any], float],
    f_theirs: Callable[[Any], float],
    repeats: int,
    min_time: float,
    ref_tols: tuple[float, float] = (1e-14, 1e-14),
) -> dict[str, Any]:
    f_star = min(f_ours(ours(ref_tols[0])), f_theirs(theirs(ref_tols[1])))
    tol_a, _ = loosest(ours, lambda r: (f_ours(r) - f_star) / abs(f_star))
    tol_b, _ = loosest(theirs, lambda r: (f_theirs(r) - f_star) / abs(f_star))
    out = interleaved(lambda: ours(tol_a), lambda: theirs(tol_b), repeats, min_time)
    return {"normreg_tol": tol_a, "anchor_tol": tol_b, **out}


def lasso_obj(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, alpha: float) -> float:
    r = X @ w + b - y
    return 0.5 * float(r @ r) / len(y) + alpha * float(np.abs(w).sum())


# ------------------------------------------------------------------------------ cases
def case_lasso(X: np.ndarray, y: np.ndarray, anchor: str, repeats: int, min_time: float) -> dict[str, Any]:
    alpha = 0.05 * lam_max_sq(X, y)
    if anchor == "celer":
        from celer import Lasso
    else:
        from sklearn.linear_model import Lasso

    def ours(tol: float) -> Any:
        return fit_linear(X, y, nr.L1(alpha), tol=tol, max_iter=1_000_000)

    def theirs(tol: float) -> Any:
        return Lasso(alpha=alpha, tol=tol, max_iter=100_000).fit(X, y)

    res = compare(
        ours, theirs, lambda r: lasso_obj(X, y, r.coef, r.intercept, alpha),
        lambda r: lasso_obj(X, y, r.coef_, r.intercept_, alpha), repeats, min_time,
    )  # fmt: skip
    return {"n": X.shape[0], "p": X.shape[1], "anchor": f"{anchor}.Lasso", "alpha_over_lambda_max": 0.05,
            "nonzeros": int(np.count_nonzero(ours(1e-10).coef)), **res}


def case_path(X: np.ndarray, y: np.ndarray, repeats: int, min_time: float) -> dict[str, Any]:
    from sklearn.linear_model import lasso_path

    Xc, yc = X - X.mean(0), y - y.mean()  # lasso_path fits no intercept: both get centered data
    lams = lambda_grid(lam_max_sq(Xc, yc), 50, 1e-3)

    def ours(tol: float) -> np.ndarray:
        return regularization_path(Xc, yc, nr.L1, lams, fit_intercept=False, tol=tol, max_iter=1_000_000).coefs

    def theirs(tol: float) -> np.ndarray:
        return lasso_path(Xc, yc, alphas=lams, tol=tol, max_iter=1_000_000)[1].T

    def objectives(coefs: np.ndarray) -> np.ndarray:
        return np.array([lasso_obj(Xc, yc, w, 0.0, a) for w, a in zip(coefs, lams, strict=True)])

    f_star = np.minimum(objectives(ours(1e-14)), objectives(theirs(1e-14)))

    def worst(coefs: np.ndarray) -> float:
        return float(np.max((objectives(coefs) - f_star) / f_star))

    tol_a, _ = loosest(ours, worst)
    tol_b, _ = loosest(theirs, worst)
    out = interleaved(lambda: ours(tol_a), lambda: theirs(tol_b), repeats, min_time)
    return {"n": X.shape[0], "p": X.shape[1], "anchor": "sklearn.lasso_path", "n_lams": 50,
            "normreg_tol": tol_a, "anchor_tol": tol_b, **out}


def case_group(repeats: int, min_time: float, quick: bool) -> dict[str, Any]:
    from skglm import GroupLasso as SkGroupLasso

    rng = np.random.default_rng(3)
    n, p = (300, 120) if quick else (1000, 600)
    groups = groups_5_to_10(p, rng)
    X = ar_design(n, p, 0.5, rng)
    w = np.zeros(p)
    for g in rng.choice(len(groups), 8, replace=False):
        w[groups[g]] = rng.standard_normal(len(groups[g]))
    y = X @ w + rng.standard_normal(n)
    Xc, yc = X - X.mean(0), y - y.mean()  # both fit without intercept on centered data
    weights = np.sqrt([len(g) for g in groups])
    g0 = Xc.T @ yc / n
    lam = 0.1 * max(float(np.linalg.norm(g0[g])) / np.sqrt(len(g)) for g in groups)
    pen = nr.GroupLasso(lam, groups)

    def obj(wv: np.ndarray) -> float:
        r = Xc @ wv - yc
        return 0.5 * float(r @ r) / n + lam * float(sum(np.sqrt(len(g)) * np.linalg.norm(wv[g]) for g in groups))

    def ours(tol: float) -> Any:
        return fit_linear(Xc, yc, pen, fit_intercept=False, tol=tol, max_iter=1_000_000)

    def theirs(tol: float) -> Any:
        return SkGroupLasso(groups, alpha=lam, weights=weights, tol=tol, fit_intercept=False,
                            max_iter=1000, max_epochs=1_000_000).fit(Xc, yc)

    res = compare(ours, theirs, lambda r: obj(r.coef), lambda r: obj(r.coef_), repeats, min_time)
    return {"n": n, "p": p, "n_groups": len(groups), "anchor": "skglm.GroupLasso", **res}


def case_logistic(repeats: int, min_time: float, quick: bool) -> dict[str, Any]:
    from skglm import SparseLogisticRegression

    rng = np.random.default_rng(4)
    n, p = (600, 100) if quick else (3000, 300)
    X = ar_design(n, p, 0.5, rng)
    w = sparse_truth(p, 15, rng)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w)))).astype(float)
    lam = 0.05 * float(np.abs(X.T @ (y - y.mean())).max()) / n
    s = 2 * y - 1

    def obj(wv: np.ndarray, b: float) -> float:
        return float(np.logaddexp(0.0, -s * (X @ wv + b)).mean()) + lam * float(np.abs(wv).sum())

    def ours(tol: float) -> Any:
        return fit_linear(X, y, nr.L1(lam), loss="logistic", tol=tol, max_iter=1_000_000)

    def theirs(tol: float) -> Any:
        return SparseLogisticRegression(alpha=lam, tol=tol, max_iter=1000, max_epochs=1_000_000).fit(X, y)

    res = compare(
        ours, theirs, lambda r: obj(r.coef, r.intercept),
        lambda r: obj(r.coef_.ravel(), float(np.ravel(r.intercept_)[0])), repeats, min_time,
    )  # fmt: skip
    return {"n": n, "p": p, "anchor": "skglm.SparseLogisticRegression", **res}


def _skipped(exc: Exception) -> dict[str, Any]:
    return {"skipped": f"{type(exc).__name__}: {exc}"}


def run(repeats: int, threads: int, quick: bool, only: list[str] | None = None) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n, p = (400, 100) if quick else (2000, 500)
    X = ar_design(n, p, 0.5, rng)
    y = X @ sparse_truth(p, 20, rng) + 1.0 + rng.standard_normal(n)
    rng = np.random.default_rng(1)
    nw, pw = (200, 2000) if quick else (1000, 10_000)
    Xw = ar_design(nw, pw, 0.5, rng)
    yw = Xw @ sparse_truth(pw, 30, rng) + rng.standard_normal(nw)
    min_time = 0.05 if quick else 0.2
    cases: dict[str, dict[str, Any]] = {}
    plan: dict[str, Callable[[], dict[str, Any]]] = {
        "lasso": lambda: case_lasso(X, y, "sklearn", repeats, min_time),
        "lasso_wide": lambda: case_lasso(Xw, yw, "celer", repeats, min_time),
        "path": lambda: case_path(X, y, repeats, min_time),
        "group_lasso": lambda: case_group(repeats, min_time, quick),
        "logistic_l1": lambda: case_logistic(repeats, min_time, quick),
    }
    with threadpool_limits(limits=threads, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the anchors' convergence warnings at the reference tolerances
        for name, fn in plan.items():
            if only and name not in only:
                continue
            t0 = time.perf_counter()
            try:
                cases[name] = {**fn(), "target": TARGETS[name]}
            except ImportError as exc:  # an anchor not installed: say so in the record
                cases[name] = {**_skipped(exc), "target": TARGETS[name]}
            print(f"  {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    info = machine()
    for mod in ("sklearn", "celer", "skglm"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    return {"machine": info, "blas_threads": threads, "target_relative_gap": TARGET, "repeats": repeats,
            "interleaved": True, "cases": cases}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="small problems, no results file (a smoke test)")
    ap.add_argument("--cases", nargs="+", choices=list(TARGETS), metavar="CASE",
                    help=f"run only these cases (of {', '.join(TARGETS)}); saves nothing")
    args = ap.parse_args()
    out = run(args.repeats, args.threads, args.quick, args.cases)
    rows = []
    for name, c in out["cases"].items():
        if "skipped" in c:
            rows.append([name, "-", "-", "-", "-", "-", "skipped"])
            continue
        r = c["ratio"]
        rows.append([name, c["anchor"], f"{c['n']}x{c['p']}", c["normreg_s"]["median"] * 1e3,
                     c["anchor_s"]["median"] * 1e3, f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})",
                     f"<= {c['target']}"])
    print_table(
        f"normreg vs anchors to (F - F*)/F* <= {TARGET:g}, BLAS threads = {args.threads}, "
        f"ratio median (min-max) of {args.repeats} interleaved repeats",
        ["case", "anchor", "n x p", "normreg ms", "anchor ms", "ratio", "target"],
        rows,
    )
    if not args.quick and not args.cases:  # the record holds all five cases from one run
        print(f"\nwrote {save('solvers', out)}")


if __name__ == "__main__":
    main()
