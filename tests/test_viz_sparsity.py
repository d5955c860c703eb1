"""Figures and data of chapter 8 (normreg.viz.sparsity): norms, live units and the magnitude
pruning baselines against plain NumPy written independently (loops, sorting), and the lines
and bars on the axes are the data returned."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from figure_checks import assert_labelled
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from normreg.viz import sparsity as vs

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
shapes = st.sampled_from([(3, 4), (1, 5), (6, 1), (2, 2, 3, 4), (3, 3, 1, 2)])
kernels = shapes.flatmap(lambda s: arrays(np.float64, s, elements=finite))


# ------------------------------------------------------------------ norms and live units
@settings(max_examples=60, deadline=None)
@given(kernels)
def test_unit_norms_are_the_norms_of_the_slices_entering_each_unit(K):
    expected = [math.hypot(*K[..., j].ravel()) for j in range(K.shape[-1])]  # exact, no underflow
    np.testing.assert_allclose(vs.unit_norms(K), expected, rtol=1e-12, atol=0)


def test_unit_norms_do_not_overflow_or_underflow():
    K = np.array([[3e200, 3e-200, 0.0], [4e200, 4e-200, 0.0]])
    got = vs.unit_norms(K)
    np.testing.assert_allclose(got[:2], [5e200, 5e-200], rtol=1e-14)
    assert got[2] == 0.0


@settings(max_examples=60, deadline=None)
@given(kernels)
def test_live_units_marks_units_with_any_nonzero_incoming_weight(K):
    K = np.where(np.abs(K) < 500, 0.0, K)  # many exact zeros, some whole units
    expected = [np.count_nonzero(K[..., j]) > 0 for j in range(K.shape[-1])]
    assert vs.live_units(K).tolist() == expected


def test_live_units_counts_signed_zeros_as_zero_and_tiny_values_as_live():
    assert vs.live_units(np.array([[-0.0, 5e-324], [0.0, 0.0]])).tolist() == [False, True]


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((0, 2)), np.array([[np.nan, 1.0]])])
def test_kernel_functions_reject_bad_kernels(bad):
    for fn in (vs.unit_norms, vs.live_units):
        with pytest.raises(ValueError, match="kernel"):
            fn(bad)


# ------------------------------------------------------------------ magnitude pruning baselines
@settings(max_examples=60, deadline=None)
@given(kernels, st.data())
def test_magnitude_prune_units_keeps_the_largest_norms_and_nothing_else_changes(K, data):
    n = K.shape[-1]
    keep = data.draw(st.integers(0, n))
    got = vs.magnitude_prune_units(K, keep)
    norms = np.array([math.hypot(*K[..., j].ravel()) for j in range(n)])
    kept = [j for j in range(n) if np.array_equal(got[..., j], K[..., j]) and norms[j] > 0]
    zeroed = [j for j in range(n) if np.all(got[..., j] == 0)]
    assert len(zeroed) >= n - keep and len(set(kept) | set(zeroed)) == n  # nothing else changed
    assert np.count_nonzero(vs.live_units(got)) <= keep
    if kept and zeroed:  # no zeroed unit is larger than a kept one (up to rounding in ties)
        assert norms[zeroed].max() <= norms[kept].min() * (1 + 1e-12)
    if keep < n:  # the units kept are as many as asked, unless zero units fill the quota
        assert len(kept) == min(keep, np.count_nonzero(norms))
    assert got.shape == K.shape and got is not K


def test_magnitude_prune_units_breaks_ties_by_index_and_validates_n_keep():
    K = np.array([[1.0, -1.0, 1.0, 0.5]])
    assert vs.magnitude_prune_units(K, 2).tolist() == [[1.0, -1.0, 0.0, 0.0]]
    for bad, err in ((-1, ValueError), (5, ValueError), (1.5, TypeError)):
        with pytest.raises(err, match="n_keep"):
            vs.magnitude_prune_units(K, bad)


@settings(max_examples=60, deadline=None)
@given(kernels, st.data())
def test_magnitude_prune_weights_zeros_the_smallest_entries(K, data):
    n_zero = data.draw(st.integers(0, K.size))
    got = vs.magnitude_prune_weights(K, n_zero)
    changed = got != K
    assert np.all(got[changed] == 0)  # only ever sets entries to zero
    # the zeroed set: n_zero entries, none larger in magnitude than an entry that survived
    order = sorted(range(K.size), key=lambda i: (abs(K.ravel()[i]), i))
    zeroed = np.zeros(K.size, bool)
    zeroed[order[:n_zero]] = True
    np.testing.assert_array_equal(got.ravel(), np.where(zeroed, 0.0, K.ravel()))
    assert np.count_nonzero(got == 0) >= n_zero


def test_magnitude_prune_weights_validates_n_zero():
    with pytest.raises(ValueError, match="n_zero"):
        vs.magnitude_prune_weights(np.ones((2, 2)), 5)


# ------------------------------------------------------------------ figures
def test_plot_sparsity_path_draws_live_fraction_and_accuracy():
    runs = {
        "MLP": {"lams": [0.0, 1e-3, 2e-3], "live": [64, 38, 22], "total": 64, "accuracy": [0.97, 0.96, 0.95]},
        "CNN": {"lams": [0.0, 1e-2], "live": [24, 12], "total": 24, "accuracy": [0.97, 0.9]},
    }
    fig, data = vs.plot_sparsity_path(runs)
    assert_labelled(fig)
    ax_l, ax_a = fig.axes
    assert ax_l.get_xscale() == "symlog"
    for k, (name, run) in enumerate(runs.items()):
        frac = np.array(run["live"]) / run["total"]
        np.testing.assert_allclose(data[name]["live_fraction"], frac)
        np.testing.assert_allclose(ax_l.get_lines()[k].get_xdata(), run["lams"])
        np.testing.assert_allclose(ax_l.get_lines()[k].get_ydata(), frac)
        np.testing.assert_allclose(ax_a.get_lines()[k].get_xdata(), frac)
        np.testing.assert_allclose(ax_a.get_lines()[k].get_ydata(), run["accuracy"])
    plt.close(fig)


@pytest.mark.parametrize(
    ("run", "match"),
    [
        ({"lams": [0.0], "live": [3], "total": 2, "accuracy": [0.5]}, "whole numbers between 0 and total"),
        ({"lams": [0.0], "live": [1.5], "total": 2, "accuracy": [0.5]}, "whole numbers"),
        ({"lams": [-1.0], "live": [1], "total": 2, "accuracy": [0.5]}, "non-negative"),
        ({"lams": [0.0], "live": [1], "total": 2, "accuracy": [1.5]}, r"\[0, 1\]"),
        ({"lams": [0.0, 1.0], "live": [1], "total": 2, "accuracy": [0.5]}, "same, non-zero length"),
        ({"lams": [0.0], "live": [1], "accuracy": [0.5]}, "'total' is missing"),
    ],
)
def test_plot_sparsity_path_rejects_bad_runs(run, match):
    with pytest.raises(ValueError, match=match):
        vs.plot_sparsity_path({"m": run})
    plt.close("all")


def test_plot_prune_time_accuracy_draws_paired_bars():
    results = {"prox": (0.96, 0.96), "L2, units by their norm": (0.98, 0.91)}
    fig, data = vs.plot_prune_time_accuracy(results)
    assert_labelled(fig)
    (ax,) = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert heights == [0.96, 0.98, 0.96, 0.91]  # the "trained" bars, then the "pruned" bars
    assert data["L2, units by their norm"]["drop"] == pytest.approx(0.07)
    assert data["prox"]["drop"] == 0.0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["prox", "L2, units by\ntheir norm"]
    plt.close(fig)


@pytest.mark.parametrize(
    ("results", "err"), [({}, TypeError), ({"a": (0.5,)}, ValueError), ({"a": (0.5, 1.2)}, ValueError)]
)
def test_plot_prune_time_accuracy_rejects_bad_results(results, err):
    with pytest.raises(err):
        vs.plot_prune_time_accuracy(results)
    plt.close("all")
