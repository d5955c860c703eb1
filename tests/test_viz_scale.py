"""Figures of chapter 9 (normreg.viz.scale): the data each one draws is the recorded data,
recomputed here from the record by hand, and what the axes show is that data."""

from __future__ import annotations

import numpy as np
import pytest
from figure_checks import assert_labelled
from hypothesis import given, settings
from hypothesis import strategies as st

from normreg import recorded
from normreg.viz import scale as vs


def penalties_record(ns, refs, ratios):
    return {"ratios": [
        {"n": n, "reference_s": r, "reference_GBps": 4 * n / r / 1e9,
         **{case: values[i] for case, values in ratios.items()}}
        for i, (n, r) in enumerate(zip(ns, refs, strict=True))
    ]}


KERAS = {
    "target_fused_ratio": 1.03,
    "results": [
        {"model": "mlp", "mode": "eager", "ratio": {"per-layer": 1.4, "fused": 1.2}},
        {"model": "mlp", "mode": "graph", "ratio": {"per-layer": 1.1, "fused": 1.05}},
        {"model": "cnn", "mode": "eager", "ratio": {"per-layer": 1.3, "fused": 1.1}},
        {"model": "cnn", "mode": "graph", "ratio": {"per-layer": 1.02, "fused": 1.01}},
    ],
}


# ----------------------------------------------------------------------------- penalty cost
@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**9), st.floats(1e-6, 1.0), st.floats(0.5, 50.0), st.floats(0.5, 50.0)),
                min_size=1, max_size=6, unique_by=lambda t: t[0]))
def test_penalty_costs_are_ratio_times_reference(rows):
    ns, refs, l2, l1 = (list(c) for c in zip(*rows, strict=True))
    rec = penalties_record(ns, refs, {"L2 value": l2, "L1 value": l1})
    data = vs.penalty_costs(rec)
    order = np.argsort(ns)
    np.testing.assert_array_equal(data["n"], np.array(ns)[order])
    np.testing.assert_allclose(data["seconds"][vs.REFERENCE], np.array(refs)[order])
    np.testing.assert_allclose(data["seconds"]["L2 value"], (np.array(l2) * np.array(refs))[order])
    np.testing.assert_allclose(data["ratio"]["L1 value"], np.array(l1)[order])
    np.testing.assert_allclose(data["reference_GBps"], (4 * np.array(ns) / np.array(refs) / 1e9)[order])


def test_plot_penalty_cost_draws_the_record():
    ns, refs = [10**5, 10**6, 10**7], [2e-5, 2e-4, 3e-3]
    ratios = {"L2 value": [1.1, 1.2, 1.0], "L1 value": [2.0, 1.8, 1.4],
              "naive L2 value": [5.0, 6.0, 6.0], "naive L1 value": [5.5, 6.5, 6.2]}
    fig, data = vs.plot_penalty_cost(penalties_record(ns, refs, ratios))
    assert_labelled(fig)
    ax_t, ax_r = fig.axes
    assert ax_t.get_xscale() == ax_t.get_yscale() == "log"
    lines = {ln.get_label(): ln for ln in ax_t.get_lines()}
    np.testing.assert_allclose(lines["L1 value"].get_ydata(), np.array(ratios["L1 value"]) * refs)
    np.testing.assert_allclose(lines[f"{vs.REFERENCE} (reference)"].get_ydata(), refs)
    # the slope-1 guide goes through the reference's last point
    guide = lines[r"$\propto n$"]
    np.testing.assert_allclose(guide.get_ydata(), refs[-1] * np.array(ns) / ns[-1])
    right = {ln.get_label(): ln for ln in ax_r.get_lines()}
    np.testing.assert_allclose(right["naive L2 value"].get_ydata(), ratios["naive L2 value"])
    # the two targets are drawn as horizontal lines
    levels = {float(ln.get_ydata()[0]) for ln in ax_r.get_lines() if len(set(ln.get_ydata())) == 1}
    assert {1.3, 1.5, 1.0} <= levels


def test_penalty_costs_bad_records():
    with pytest.raises(TypeError, match="record"):
        vs.penalty_costs([1, 2])
    with pytest.raises(ValueError, match="ratios"):
        vs.penalty_costs({"results": []})
    with pytest.raises(ValueError, match="empty"):
        vs.penalty_costs({"ratios": []})
    rec = penalties_record([10], [1.0], {"L2 value": [1.0]})
    with pytest.raises(ValueError, match="L1 value"):
        vs.penalty_costs(rec, ["L1 value"])


# ----------------------------------------------------------------------------- step ratios
def test_step_ratios_and_bars():
    data = vs.step_ratios(KERAS)
    assert data["cnn"]["graph"] == {"per-layer": 1.02, "fused": 1.01}
    fig, drawn = vs.plot_step_ratios(KERAS)
    assert drawn == data
    assert_labelled(fig)
    assert [ax.get_title() for ax in fig.axes] == ["mlp", "cnn"]
    for ax, model in zip(fig.axes, ["mlp", "cnn"], strict=True):
        assert all(p.get_y() == 1.0 for p in ax.patches)  # bars start at a free penalty
        heights = sorted(round(p.get_y() + p.get_height(), 12) for p in ax.patches)
        expected = sorted(v for by_variant in data[model].values() for v in by_variant.values())
        assert heights == expected
        assert [t.get_text() for t in ax.get_xticklabels()] == ["eager", "graph"]
        levels = {float(ln.get_ydata()[0]) for ln in ax.get_lines()}
        assert levels == {1.0, 1.03}
        assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["target 1.03", "per-layer"]
    low, high = fig.axes[0].get_ylim()
    assert low < 1.0 and high > 1.4  # every bar and the target are inside the axes


def test_step_ratios_bad_records():
    with pytest.raises(ValueError, match="results"):
        vs.step_ratios({"ratios": []})
    with pytest.raises(ValueError, match="mode"):
        vs.step_ratios({"results": [{"model": "mlp", "ratio": {}}]})
    with pytest.raises(ValueError, match="empty"):
        vs.step_ratios({"results": []})


# ----------------------------------------------------------------------------- GPU bandwidth
def gpu_record(nominal):
    rows = []
    for n in (10**6, 10**8):
        t = {"sum": 4 * n / 3e12, "copy": 8 * n / 2.8e12, "L2 value": 4 * n / 2.9e12, "L1 value": 4 * n / 2.7e12}
        per_elem = {"sum": 4, "copy": 8, "L2 value": 4, "L1 value": 4}
        rows.append({"n": n, "seconds": t, "GBps": {c: per_elem[c] * n / t[c] / 1e9 for c in t}})
    return {"rows": rows, "nominal_GBps": nominal, "machine": {"device": {"kind": "gpu", "name": "Test GPU"}}}


@pytest.mark.parametrize("nominal", [3350.0, None])
def test_plot_gpu_bandwidth(nominal):
    fig, data = vs.plot_gpu_bandwidth(gpu_record(nominal))
    assert_labelled(fig)
    assert data["device"] == "Test GPU" == fig.axes[0].get_title()
    np.testing.assert_allclose(data["GBps"]["L2 value"], [2900.0, 2900.0])
    np.testing.assert_allclose(data["GBps"]["copy"], [2800.0, 2800.0])
    levels = {float(ln.get_ydata()[0]) for ln in fig.axes[0].get_lines() if len(set(ln.get_ydata())) == 1}
    if nominal:
        assert {nominal, 0.8 * nominal} <= levels
    with pytest.raises(ValueError, match="nominal_GBps"):
        vs.plot_gpu_bandwidth({"rows": []})


KERAS_SPREAD = {
    "target_fused_ratio": 1.03,
    "results": [
        {"model": "mlp", "mode": "eager", "ratio": {"per-layer": 1.4, "fused": 1.2},
         "ratio_min_max": {"per-layer": [1.3, 1.6], "fused": [1.1, 1.25]}},
        {"model": "mlp", "mode": "graph", "ratio": {"per-layer": 1.1, "fused": 1.05},
         "ratio_min_max": {"per-layer": [0.8, 1.7], "fused": [1.0, 1.09]}},
    ],
}


def test_step_ratio_whiskers_span_the_recorded_range():
    spreads = vs.step_ratio_spreads(KERAS_SPREAD)
    assert spreads == {"mlp": {"eager": {"per-layer": (1.3, 1.6), "fused": (1.1, 1.25)},
                               "graph": {"per-layer": (0.8, 1.7), "fused": (1.0, 1.09)}}}
    assert vs.step_ratio_spreads(KERAS) == {}  # a record without spreads draws no whiskers
    fig, _ = vs.plot_step_ratios(KERAS_SPREAD)
    ax = fig.axes[0]
    bars = {(round(p.get_x() + p.get_width() / 2, 9), round(p.get_y() + p.get_height(), 9))
            for p in ax.patches}
    whiskers = set()
    for container in ax.containers:
        if hasattr(container, "has_yerr"):  # an ErrorbarContainer
            for seg in container.lines[2][0].get_segments():
                (x0, y0), (x1, y1) = seg
                assert x0 == x1
                whiskers.add((round(x0, 9), round(y0, 9), round(y1, 9)))
    # per-layer bars left of each mode's tick, fused right of it (width 0.8 / 2 variants)
    expected = {(-0.2, 1.3, 1.6), (0.2, 1.1, 1.25), (0.8, 0.8, 1.7), (1.2, 1.0, 1.09)}
    assert whiskers == expected
    for x, lo, hi in whiskers:  # each whisker sits on the bar of its median
        (mid,) = [h for bx, h in bars if bx == x]
        assert lo < mid < hi
    low, high = ax.get_ylim()
    assert low < 0.8 and high > 1.7  # whiskers inside the axes


def test_step_ratio_spread_must_contain_the_median():
    bad = {"results": [{"model": "mlp", "mode": "xla", "ratio": {"fused": 1.5},
                        "ratio_min_max": {"fused": [0.9, 1.2]}}]}
    with pytest.raises(ValueError, match="outside its recorded range"):
        vs.step_ratio_spreads(bad)


# ----------------------------------------------------------------------------- shipped records
@pytest.mark.parametrize("name", [n for n in recorded.available() if n.startswith("penalties_cpu")])
def test_shipped_penalty_record_plots(name):
    rec = recorded.load(name)
    _, data = vs.plot_penalty_cost(rec)
    first = min(rec["ratios"], key=lambda r: r["n"])
    assert data["seconds"]["L1 value"][0] == pytest.approx(first["L1 value"] * first["reference_s"])


@pytest.mark.parametrize("name", [n for n in recorded.available() if n.startswith("keras_")])
def test_shipped_keras_record_plots(name):
    rec = recorded.load(name)
    _, data = vs.plot_step_ratios(rec)
    for r in rec["results"]:
        assert data[r["model"]][r["mode"]]["fused"] == r["ratio"]["fused"]
        assert r["backend"] == rec["machine"]["backend"]  # every figure names the backend that produced it
