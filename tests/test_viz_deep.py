"""Figures of chapter 7 (normreg.viz.deep): the data each one returns is recomputed here by
hand, and the lines, points and error bars on the axes are that data."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from figure_checks import assert_labelled
from hypothesis import given, settings
from hypothesis import strategies as st

from normreg.viz import deep as vd

positive = st.floats(1e-150, 1e150, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------ effective learning rate
@settings(max_examples=50, deadline=None)
@given(st.lists(positive, min_size=1, max_size=20), st.floats(0.0, 1e3))
def test_effective_learning_rate_is_lr_over_squared_norm(norms, lr):
    got = vd.effective_learning_rate(norms, lr)
    expected = np.array([lr / (n * n) if n * n < np.inf else 0.0 for n in norms])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)


def test_effective_learning_rate_accepts_a_schedule_and_survives_huge_norms():
    np.testing.assert_allclose(vd.effective_learning_rate([1.0, 2.0], [0.4, 0.8]), [0.4, 0.2])
    assert vd.effective_learning_rate([1e160], 1e300)[0] == pytest.approx(1e-20)  # n**2 is inf


@pytest.mark.parametrize(
    ("norms", "lr", "match"),
    [([1.0, 0.0], 0.1, "norms must be positive"), ([1.0], -0.1, "lr must be non-negative"),
     ([1.0, 2.0], [0.1, 0.2, 0.3], "lr must be a scalar or have the shape"),
     ([1.0, np.nan], 0.1, "norms")],
)
def test_effective_learning_rate_rejects_bad_input(norms, lr, match):
    with pytest.raises(ValueError, match=match):
        vd.effective_learning_rate(norms, lr)


def test_plot_effective_lr_draws_norms_and_lr_over_norm_squared():
    runs = {"no decay": [2.0, 2.5, 3.0], "decay": [2.0, 1.5, 1.4]}
    fig, data = vd.plot_effective_lr(runs, 0.5, equilibrium={"decay": 1.4})
    assert_labelled(fig)
    ax_n, ax_e = fig.axes
    assert ax_e.get_yscale() == "log"
    for k, (name, norms) in enumerate(runs.items()):
        n = np.array(norms)
        np.testing.assert_array_equal(data[name]["step"], np.arange(3))
        np.testing.assert_allclose(data[name]["effective_lr"], 0.5 / n**2)
        np.testing.assert_allclose(ax_n.get_lines()[k].get_ydata(), n)
        np.testing.assert_allclose(ax_e.get_lines()[k].get_ydata(), 0.5 / n**2)
    assert ax_n.get_lines()[-1].get_ydata()[0] == 1.4  # the predicted equilibrium


def test_plot_effective_lr_rejects_an_empty_mapping():
    with pytest.raises(TypeError, match="runs must be a non-empty mapping"):
        vd.plot_effective_lr({}, 0.1)


# ------------------------------------------------------------------ tuning grid
def test_plot_tuning_grid_draws_one_errorbar_line_per_learning_rate():
    wd, lr = [1e-4, 1e-3, 1e-2], [0.1, 0.3]
    mean = np.array([[0.8, 0.82, 0.7], [0.81, 0.85, 0.75]])
    se = np.full((2, 3), 0.01)
    fig, data = vd.plot_tuning_grid(wd, lr, mean, se, choice=(0.3, 1e-3))
    assert_labelled(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    for k in range(2):
        data_line = ax.containers[k].lines[0]
        np.testing.assert_allclose(data_line.get_xdata(), wd)
        np.testing.assert_allclose(data_line.get_ydata(), mean[k])
    (star,) = [ln for ln in ax.get_lines() if ln.get_label() == "one-standard-error choice"]
    np.testing.assert_allclose(star.get_xydata(), [[1e-3, 0.85]])
    assert data["choice"] == (0.3, 1e-3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"mean": np.zeros((3, 2))}, "mean must have shape"), ({"weight_decays": [0.0, 1.0, 2.0]}, "positive"),
     ({"choice": (0.2, 1e-3)}, "choice must be a")],
)
def test_plot_tuning_grid_rejects_bad_input(kwargs, match):
    args = {"weight_decays": [1e-4, 1e-3, 1e-2], "lrs": [0.1, 0.3], "mean": np.zeros((2, 3)),
            "se": np.zeros((2, 3))} | kwargs
    with pytest.raises(ValueError, match=match):
        vd.plot_tuning_grid(**args)


# ------------------------------------------------------------------ regularizer comparison
@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.floats(0, 1), min_size=2, max_size=8), min_size=1, max_size=5))
def test_regularizer_comparison_mean_and_standard_error(columns):
    scores = {f"r{k}": c for k, c in enumerate(columns)}
    fig, data = vd.plot_regularizer_comparison(scores)
    for k, c in enumerate(columns):
        a = np.array(c)
        assert data["mean"][k] == pytest.approx(a.mean())
        se = np.sqrt(np.sum((a - a.mean()) ** 2) / (a.size - 1) / a.size)
        assert data["se"][k] == pytest.approx(se, abs=1e-12)
    assert data["names"] == list(scores)
    np.testing.assert_allclose(fig.axes[0].containers[0].lines[0].get_ydata(), data["mean"])
    plt.close(fig)


def test_regularizer_comparison_needs_two_seeds():
    with pytest.raises(ValueError, match="at least two seeds"):
        vd.plot_regularizer_comparison({"L2": [0.9]})


# ------------------------------------------------------------------ embeddings
def test_plot_embedding_shrinkage_draws_norm_ratios_against_counts():
    counts = np.array([0, 1, 10, 100])
    init = np.array([2.0, 2.0, 1.0, 4.0])
    fig, data = vd.plot_embedding_shrinkage(counts, {"dense L2": [1.0, 1.0, 0.5, 2.0]}, init)
    assert_labelled(fig)
    np.testing.assert_allclose(data["dense L2"], [0.5, 0.5, 0.5, 0.5])
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), [0.5, 1, 10, 100])  # 0 drawn at 0.5
    np.testing.assert_allclose(line.get_ydata(), data["dense L2"])


def test_plot_embedding_shrinkage_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="norms\\['a'\\] must have shape"):
        vd.plot_embedding_shrinkage([1, 2], {"a": [1.0]}, [1.0, 1.0])
    with pytest.raises(ValueError, match="initial must be positive"):
        vd.plot_embedding_shrinkage([1, 2], {"a": [1.0, 1.0]}, [0.0, 1.0])


def test_plot_tuning_grid_star_finds_small_weight_decays_by_relative_match():
    # np.isclose's default atol=1e-8 made 1e-10 "equal" to 1e-9: the star went to the
    # wrong weight decay; the star must sit on the grid point named by choice
    wd, lr = [1e-10, 1e-9, 1e-8], [0.1]
    mean = np.array([[0.5, 0.9, 0.7]])
    fig, _ = vd.plot_tuning_grid(wd, lr, mean, np.zeros((1, 3)), choice=(0.1, 1e-9))
    (star,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "one-standard-error choice"]
    np.testing.assert_allclose(star.get_xydata(), [[1e-9, 0.9]])
    plt.close(fig)


def test_plot_tuning_grid_rejects_negative_standard_errors():
    with pytest.raises(ValueError, match="se must be non-negative"):
        vd.plot_tuning_grid([1e-3, 1e-2], [0.1], np.zeros((1, 2)), [[0.01, -0.01]])


def test_plot_embedding_shrinkage_rejects_negative_counts():
    with pytest.raises(ValueError, match="counts must be non-negative"):
        vd.plot_embedding_shrinkage([-1, 2], {"a": [1.0, 1.0]}, [1.0, 1.0])


def test_regularizer_comparison_survives_the_top_of_the_float_range():
    # a.mean() and a.std() overflowed to inf for scores near the largest float
    big = np.finfo(float).max
    _, data = vd.plot_regularizer_comparison({"a": [big, big], "b": [big, -big]})
    np.testing.assert_array_equal(data["mean"], [big, 0.0])
    np.testing.assert_allclose(data["se"], [0.0, big], rtol=1e-15)  # n=2: |x1 - x2| / 2
    plt.close("all")
