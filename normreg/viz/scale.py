r"""Figures of chapter 9 (regularization at scale), drawn from recorded benchmark results.

The benchmarks in ``benchmarks/`` save their measurements as JSON in the package
(:mod:`normreg.recorded`); these functions take one such record, as returned by
``recorded.load(name)``, and draw it. Nothing here times anything, so a figure is the
same every time the chapter runs.

* :func:`plot_penalty_cost` -- seconds per penalty evaluation against the number of
  weights :math:`n` (log-log), beside the ratio to the memory-bound reference
  ``np.dot(w, w)`` (record ``penalties_cpu``);
* :func:`plot_step_ratios` -- a regularized Keras training step over the unregularized
  one, per model and execution mode (records ``keras_cpu``, ``keras_gpu``);
* :func:`plot_gpu_bandwidth` -- achieved GB/s of the penalties against the device's
  copy bandwidth and its nominal bandwidth (record ``penalties_gpu``).

Every plotting function returns ``(fig, data)``: the figure and the numbers it drew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ._common import label, new_figure

__all__ = [
    "penalty_costs",
    "plot_penalty_cost",
    "step_ratios",
    "step_ratio_spreads",
    "plot_step_ratios",
    "plot_gpu_bandwidth",
]

#: The reference every NumPy penalty is timed against.
REFERENCE = "np.dot(w, w)"
#: Targets of issue 6, drawn as dashed lines.
PENALTY_TARGETS = {"L2 value": 1.3, "L1 value": 1.5}


def _require(record: Any, keys: Sequence[str], what: str) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise TypeError(f"record must be a dict loaded with normreg.recorded.load; got {type(record).__name__}")
    missing = [k for k in keys if k not in record]
    if missing:
        raise ValueError(f"record must be {what} with keys {list(keys)}; missing {missing} (has {sorted(record)})")
    return record


def penalty_costs(record: Mapping[str, Any], cases: Sequence[str] | None = None) -> dict[str, Any]:
    r"""Seconds per call against :math:`n` from a ``penalties_cpu`` record.

    The record stores, for each :math:`n`, the reference time :math:`t_{\mathrm{ref}}(n)` of
    ``np.dot(w, w)`` and each case's ratio :math:`r(n)`; the case's time is
    :math:`r(n)\,t_{\mathrm{ref}}(n)`.

    Returns
    -------
    dict
        ``n`` (sizes, increasing), ``seconds`` (name -> array, the reference first),
        ``ratio`` (case -> array) and ``reference_GBps`` (bytes read by the reference per
        second: :math:`4n / t_{\mathrm{ref}}` for float32).

    Example
    -------
    >>> rec = {"ratios": [{"n": 10, "reference_s": 2.0, "reference_GBps": 0.1, "L2 value": 1.5}]}
    >>> penalty_costs(rec)["seconds"]["L2 value"]
    array([3.])
    """
    _require(record, ["ratios"], "a NumPy penalties record (benchmarks/bench_penalties.py)")
    rows = sorted(record["ratios"], key=lambda r: r["n"])
    if not rows:
        raise ValueError("record['ratios'] must not be empty")
    known = [k for k in rows[0] if k not in ("n", "reference_s", "reference_GBps")]
    cases = known if cases is None else list(cases)
    for c in cases:
        if any(c not in r for r in rows):
            raise ValueError(f"cases: {c!r} is not in every row of the record (cases there: {known})")
    n = np.array([r["n"] for r in rows], dtype=np.int64)
    ref = np.array([r["reference_s"] for r in rows], dtype=float)
    ratio = {c: np.array([r[c] for r in rows], dtype=float) for c in cases}
    seconds = {REFERENCE: ref, **{c: ratio[c] * ref for c in cases}}
    return {"n": n, "seconds": seconds, "ratio": ratio,
            "reference_GBps": np.array([r["reference_GBps"] for r in rows], dtype=float)}


def plot_penalty_cost(
    record: Mapping[str, Any],
    cases: Sequence[str] = ("L2 value", "L1 value", "naive L2 value", "naive L1 value"),
) -> tuple[Figure, dict[str, Any]]:
    r"""Cost of a penalty against the number of weights: seconds per call (log-log) and the
    ratio to ``np.dot(w, w)``, with the targets of L2 (1.3) and L1 (1.5) dashed.

    A dotted line of slope 1 through the reference's largest point shows what time
    proportional to :math:`n` (a fixed number of bytes per weight) looks like.

    Returns ``data`` as :func:`penalty_costs`.
    """
    data = penalty_costs(record, cases)
    n = data["n"]
    fig, (ax_t, ax_r) = new_figure(2)
    ax_t.loglog(n, data["seconds"][REFERENCE], "ko-", ms=4, lw=1.5, label=f"{REFERENCE} (reference)")
    for k, c in enumerate(cases):
        ls = "--" if c.startswith("naive") else "-"
        ax_t.loglog(n, data["seconds"][c], marker="o", ms=3, lw=1.2, ls=ls, color=f"C{k}", label=c)
        ax_r.semilogx(n, data["ratio"][c], marker="o", ms=3, lw=1.2, ls=ls, color=f"C{k}", label=c)
        if c in PENALTY_TARGETS:
            ax_r.axhline(PENALTY_TARGETS[c], color=f"C{k}", ls=":", lw=1)
    t_last = data["seconds"][REFERENCE][-1]
    ax_t.loglog(n, t_last * n / n[-1], ":", color="0.5", lw=1, label=r"$\propto n$")
    ax_r.axhline(1.0, color="k", lw=0.8)
    ax_r.set_yscale("log")
    ax_t.legend(fontsize=7)
    ax_r.legend(fontsize=7)
    label(ax_t, "number of weights $n$ (float32)", "seconds per call", "cost grows like $n$")
    label(ax_r, "number of weights $n$ (float32)", f"time / time of {REFERENCE}", "ratio to one pass over $w$")
    return fig, data


def step_ratios(record: Mapping[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    r"""Step-time ratios of a ``keras_cpu``/``keras_gpu`` record: ``{model: {mode: {variant: ratio}}}``.

    Example
    -------
    >>> rec = {"results": [{"model": "mlp", "mode": "xla", "ratio": {"per-layer": 1.1, "fused": 1.0}}]}
    >>> step_ratios(rec)
    {'mlp': {'xla': {'per-layer': 1.1, 'fused': 1.0}}}
    """
    _require(record, ["results"], "a Keras step record (benchmarks/bench_keras.py)")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in record["results"]:
        for key in ("model", "mode", "ratio"):
            if key not in r:
                raise ValueError(f"record['results'] entries need 'model', 'mode' and 'ratio'; one lacks {key!r}")
        out.setdefault(r["model"], {})[r["mode"]] = {k: float(v) for k, v in r["ratio"].items()}
    if not out:
        raise ValueError("record['results'] must not be empty")
    return out


def step_ratio_spreads(record: Mapping[str, Any]) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
    r"""The smallest and largest per-repeat ratio of every step ratio that a ``keras_cpu`` /
    ``keras_gpu`` record keeps (``ratio_min_max``): ``{model: {mode: {variant: (lo, hi)}}}``;
    entries without a spread are left out.

    Example
    -------
    >>> rec = {"results": [{"model": "mlp", "mode": "xla", "ratio": {"fused": 1.0},
    ...                     "ratio_min_max": {"fused": [0.9, 1.2]}}]}
    >>> step_ratio_spreads(rec)
    {'mlp': {'xla': {'fused': (0.9, 1.2)}}}
    """
    step_ratios(record)  # validates the record
    out: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    for r in record["results"]:
        for variant, pair in r.get("ratio_min_max", {}).items():
            lo, hi = (float(v) for v in pair)
            if not lo <= float(r["ratio"][variant]) <= hi:
                raise ValueError(
                    f"record: {r['model']}/{r['mode']} {variant}: the median {r['ratio'][variant]} is "
                    f"outside its recorded range [{lo}, {hi}]"
                )
            out.setdefault(r["model"], {}).setdefault(r["mode"], {})[variant] = (lo, hi)
    return out


def plot_step_ratios(record: Mapping[str, Any], target: float | None = None) -> tuple[Figure, dict[str, Any]]:
    r"""Bars of (regularized step time) / (unregularized step time), one panel per model,
    one group of bars per execution mode (eager, ``tf.function``, XLA, ``jax.jit``), one bar
    per variant (per-layer regularizers, one fused penalty). Bars start at 1, a free
    penalty, and end at the median ratio; where the record keeps the smallest and largest
    per-repeat ratio (:func:`step_ratio_spreads`) a black whisker spans them. The target
    (``record["target_fused_ratio"]`` unless given) is dashed.

    Returns ``data`` as :func:`step_ratios`.
    """
    data = step_ratios(record)
    spreads = step_ratio_spreads(record)
    if target is None:
        target = record.get("target_fused_ratio")
    fig, axes = new_figure(len(data), sharey=True)
    axes = np.atleast_1d(axes)
    values = [r for by_mode in data.values() for by_variant in by_mode.values() for r in by_variant.values()]
    values += [v for by_mode in spreads.values() for by_variant in by_mode.values()
               for pair in by_variant.values() for v in pair]
    for ax, (model, by_mode) in zip(axes, data.items(), strict=True):
        modes = list(by_mode)
        variants = sorted(next(iter(by_mode.values())), key=lambda v: (v != "per-layer", v))
        width = 0.8 / len(variants)
        x = np.arange(len(modes))
        for k, v in enumerate(variants):
            # bars start at 1 (a free penalty), so that small differences stay visible
            heights = [by_mode[m][v] - 1.0 for m in modes]
            centres = x + (k - (len(variants) - 1) / 2) * width
            ax.bar(centres, heights, width, bottom=1.0, label=v, color=f"C{k}")
            ranges = [spreads.get(model, {}).get(m, {}).get(v) for m in modes]
            has = [i for i, rng in enumerate(ranges) if rng is not None]
            if has:
                mid = np.array([by_mode[modes[i]][v] for i in has])
                lo = np.array([ranges[i][0] for i in has])
                hi = np.array([ranges[i][1] for i in has])
                ax.errorbar(centres[has], mid, yerr=[mid - lo, hi - mid], fmt="none", ecolor="k",
                            elinewidth=0.8, capsize=2)
        ax.axhline(1.0, color="k", lw=0.8)
        if target is not None:
            ax.axhline(target, color="C3", ls="--", lw=1, label=f"target {target:g}")
        ax.set_xticks(x, modes)
        ax.legend(fontsize=7)
        label(ax, "execution mode", "step time / unregularized", model)
    top = max(values + [target or 1.0])
    bottom = min(values + [1.0])
    pad = 0.1 * (top - bottom) + 0.01
    axes[0].set_ylim(bottom - pad, top + pad)
    return fig, data


def plot_gpu_bandwidth(record: Mapping[str, Any]) -> tuple[Figure, dict[str, Any]]:
    r"""Achieved bandwidth (GB/s, :math:`10^9` bytes/s) of the penalty values and of the two
    references (one read: ``sum``; read and write: ``copy``) against :math:`n`, with the
    device's nominal bandwidth and 80 % of it dashed (record ``penalties_gpu``).

    Returns ``data``: ``n``, ``GBps`` (case -> array), ``nominal_GBps`` and ``device``.
    """
    _require(record, ["rows", "nominal_GBps", "machine"], "a GPU penalties record (benchmarks/bench_gpu.py)")
    rows = sorted(record["rows"], key=lambda r: r["n"])
    if not rows:
        raise ValueError("record['rows'] must not be empty")
    n = np.array([r["n"] for r in rows], dtype=np.int64)
    cases = list(rows[0]["GBps"])
    gbps = {c: np.array([r["GBps"][c] for r in rows], dtype=float) for c in cases}
    device = record["machine"].get("device", {}).get("name", "unknown device")
    nominal = record["nominal_GBps"]
    fig, ax = new_figure(1, figsize=(6.0, 3.6))
    for k, c in enumerate(cases):
        ax.semilogx(n, gbps[c], marker="o", ms=4, lw=1.2, color=f"C{k}", ls="--" if c in ("sum", "copy") else "-",
                    label=c)
    if nominal:
        ax.axhline(nominal, color="k", lw=1, label=f"nominal {nominal:g} GB/s")
        ax.axhline(0.8 * nominal, color="k", ls=":", lw=1, label="80 % of nominal")
    ax.legend(fontsize=7)
    label(ax, "number of weights $n$ (float32)", "achieved GB/s", device)
    return fig, {"n": n, "GBps": gbps, "nominal_GBps": nominal, "device": device}
