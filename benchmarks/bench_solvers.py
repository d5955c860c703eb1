"""normreg's FISTA against scikit-learn's coordinate descent, to the same objective.

Three cases, each timed for both libraries in the same run (issue 4):

* ``dense``  -- one lasso fit on n = 2000, p = 500 Gaussian features whose true coefficients
  are all non-zero, ``fit_linear(..., solver="fista")`` against ``sklearn.linear_model.Lasso``;
* ``sparse`` -- the same with a sparse truth (20 non-zero coefficients);
* ``path``   -- a 50-lambda path (lambda_max down to 1e-3 lambda_max) on the sparse data,
  ``regularization_path`` against ``sklearn.linear_model.lasso_path``.

"The same objective" is made precise: a reference optimum F* is computed first with both
libraries at very tight tolerances (the smaller value is kept). Then, for each library, the
loosest tolerance from 1e-2, 1e-3, ... whose answer satisfies (F - F*) / F* <= 1e-8 (for the
path: at every lambda) is found, and that call is timed: the median of several repeats.
The ratio is normreg's time over scikit-learn's; below 1 normreg is faster.

BLAS is limited to one thread for both (``--threads``): scikit-learn's coordinate descent is
single-threaded, and on a shared machine multi-threaded BLAS timings are erratic.

A full run saves the figures as ``normreg/_recorded/solvers.json`` (read by chapter 6 through
``normreg.recorded.load("solvers")``); ``--quick`` runs small problems and saves nothing.

Usage: ``python benchmarks/bench_solvers.py [--repeats 7] [--threads 1] [--quick]``
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import machine, median_time, print_table, save
from threadpoolctl import threadpool_limits

import normreg as nr
from normreg.selection import lambda_grid, regularization_path
from normreg.solvers import fit_linear

TOLS = [10.0**-k for k in range(2, 15)]
TARGET = 1e-8


def make_data(n: int, p: int, n_informative: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = rng.standard_normal(p)
    if n_informative is not None:
        w[n_informative:] = 0.0
    y = X @ w + 1.0 + rng.standard_normal(n)
    return X, y


def lasso_objective(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, alpha: float) -> float:
    r = X @ w + b - y
    return 0.5 * float(r @ r) / len(y) + alpha * float(np.abs(w).sum())


def loosest(run: Callable[[float], Any], gap: Callable[[Any], float]) -> tuple[float, Any]:
    """The loosest tolerance in TOLS whose answer is within TARGET of the optimum."""
    for tol in TOLS:
        out = run(tol)
        if gap(out) <= TARGET:
            return tol, out
    raise RuntimeError("no tolerance reached the target")


def single_fit(X: np.ndarray, y: np.ndarray, frac: float, repeats: int) -> dict[str, Any]:
    from sklearn.linear_model import Lasso

    alpha = frac * float(np.abs((X - X.mean(0)).T @ (y - y.mean())).max()) / len(y)

    def ours(tol: float) -> Any:
        return fit_linear(X, y, nr.L1(alpha), solver="fista", tol=tol, max_iter=1_000_000)

    def theirs(tol: float) -> Any:
        return Lasso(alpha=alpha, tol=tol, max_iter=1_000_000).fit(X, y)

    f_ours = lambda r: lasso_objective(X, y, r.coef, r.intercept, alpha)  # noqa: E731
    f_sk = lambda r: lasso_objective(X, y, r.coef_, r.intercept_, alpha)  # noqa: E731
    f_star = min(f_ours(ours(1e-14)), f_sk(theirs(1e-15)))
    tol_ours, r_ours = loosest(ours, lambda r: (f_ours(r) - f_star) / f_star)
    tol_sk, r_sk = loosest(theirs, lambda r: (f_sk(r) - f_star) / f_star)
    t_ours = median_time(lambda: ours(tol_ours), repeats, min_time=0.2)
    t_sk = median_time(lambda: theirs(tol_sk), repeats, min_time=0.2)
    return {
        "alpha_over_lambda_max": frac,
        "nonzeros": int(np.count_nonzero(r_ours.coef)),
        "normreg_tol": tol_ours,
        "normreg_iterations": r_ours.n_iter,
        "sklearn_tol": tol_sk,
        "sklearn_epochs": int(r_sk.n_iter_),
        "normreg_s": t_ours,
        "sklearn_s": t_sk,
        "ratio": t_ours / t_sk,
    }


def path(X: np.ndarray, y: np.ndarray, n_lams: int, repeats: int) -> dict[str, Any]:
    from sklearn.linear_model import Lasso, lasso_path

    Xc, yc = X - X.mean(0), y - y.mean()  # lasso_path fits no intercept: both get centered data
    lams = lambda_grid(float(np.abs(Xc.T @ yc).max()) / len(yc), n_lams, 1e-3)

    def ours(tol: float) -> np.ndarray:
        return regularization_path(Xc, yc, nr.L1, lams, fit_intercept=False, tol=tol, max_iter=1_000_000).coefs

    def theirs(tol: float) -> np.ndarray:
        return lasso_path(Xc, yc, alphas=lams, tol=tol, max_iter=1_000_000)[1].T

    def objectives(coefs: np.ndarray) -> np.ndarray:
        return np.array([lasso_objective(Xc, yc, w, 0.0, a) for w, a in zip(coefs, lams, strict=True)])

    ref = [ours(1e-14)]
    ref.append(np.array([Lasso(alpha=a, fit_intercept=False, tol=1e-15, max_iter=1_000_000).fit(Xc, yc).coef_
                         for a in lams]))
    f_star = np.minimum(*[objectives(c) for c in ref])
    gap = lambda coefs: float(np.max((objectives(coefs) - f_star) / f_star))  # noqa: E731
    tol_ours, _ = loosest(ours, gap)
    tol_sk, _ = loosest(theirs, gap)
    t_ours = median_time(lambda: ours(tol_ours), repeats, min_time=0.2)
    t_sk = median_time(lambda: theirs(tol_sk), repeats, min_time=0.2)
    res = regularization_path(Xc, yc, nr.L1, lams, fit_intercept=False, tol=tol_ours, max_iter=1_000_000)
    return {
        "n_lams": n_lams,
        "normreg_tol": tol_ours,
        "normreg_iterations": int(res.n_iters.sum()),
        "sklearn_tol": tol_sk,
        "normreg_s": t_ours,
        "sklearn_s": t_sk,
        "ratio": t_ours / t_sk,
    }


def run(repeats: int, threads: int, quick: bool) -> dict[str, Any]:
    n, p = (400, 100) if quick else (2000, 500)
    cases: dict[str, dict[str, Any]] = {}
    with threadpool_limits(limits=threads, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at the reference tolerance
        Xd, yd = make_data(n, p, None, seed=0)
        Xs, ys = make_data(n, p, 20, seed=1)
        cases["dense"] = {"n": n, "p": p, **single_fit(Xd, yd, 0.05, repeats)}
        cases["sparse"] = {"n": n, "p": p, **single_fit(Xs, ys, 0.05, repeats)}
        cases["path"] = {"n": n, "p": p, **path(Xs, ys, 50, repeats)}
    import sklearn

    info = machine()
    info["sklearn"] = sklearn.__version__
    return {
        "machine": info,
        "blas_threads": threads,
        "target_relative_gap": TARGET,
        "repeats": repeats,
        "cases": cases,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="small problems, no results file (a smoke test)")
    args = ap.parse_args()
    out = run(args.repeats, args.threads, args.quick)
    rows = [
        [name, f"{c['n']}x{c['p']}", c["normreg_tol"], c["sklearn_tol"], c["normreg_s"] * 1e3, c["sklearn_s"] * 1e3,
         c["ratio"]]
        for name, c in out["cases"].items()
    ]
    print_table(
        f"fit_linear(solver='fista') vs scikit-learn to (F - F*)/F* <= {TARGET:g}, BLAS threads = {args.threads}",
        ["case", "n x p", "normreg tol", "sklearn tol", "normreg ms", "sklearn ms", "ratio"],
        rows,
    )
    if not args.quick:
        print(f"\nwrote {save('solvers', out)}")


if __name__ == "__main__":
    main()
