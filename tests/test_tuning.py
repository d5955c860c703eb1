"""normreg.tuning: grid summaries over seeds against a brute-force oracle written with the
standard library's statistics module, and the one-standard-error choice against an
exhaustive search over the grid."""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from normreg.tuning import GridSummary, summarize_grid


def oracle(scores, grid, simpler, larger_is_simpler=True, maximize=True):
    """Mean, SE, best and 1-SE choice by loops over the grid (no NumPy reductions)."""
    names = list(grid)
    shape = tuple(len(grid[n]) for n in names)
    mean, se = {}, {}
    for idx in itertools.product(*(range(k) for k in shape)):
        vals = [float(v) for v in scores[idx]]
        mean[idx] = statistics.fmean(vals)
        se[idx] = statistics.stdev(vals) / len(vals) ** 0.5
    better = (lambda a, b: a > b) if maximize else (lambda a, b: a < b)
    best = None
    for idx in mean:  # first best in C order, as argmax
        if best is None or better(mean[idx], mean[best]):
            best = idx
    thr = mean[best] - se[best] if maximize else mean[best] + se[best]
    cands = [i for i in mean if (mean[i] >= thr if maximize else mean[i] <= thr)]
    pos = names.index(simpler)

    def simplicity(i):
        v = grid[simpler][i[pos]]
        return v if larger_is_simpler else -v

    top = max(simplicity(i) for i in cands)
    pool = [i for i in cands if simplicity(i) == top]
    choice = pool[0]
    for i in pool:
        if better(mean[i], mean[choice]):
            choice = i
    return mean, se, best, choice


grids = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(2, 5))


@settings(max_examples=100, deadline=None)
@given(grids.flatmap(lambda s: st.tuples(
    st.just(s), arrays(np.float64, s, elements=st.floats(0, 1, allow_subnormal=False)))),
    st.booleans(), st.booleans(), st.sampled_from(["lr", "weight_decay"]))
def test_summary_matches_the_loop_oracle(case, maximize, larger_is_simpler, simpler):
    (n_lr, n_wd, _), scores = case
    scores = np.round(scores, 3)  # ties happen, as with accuracies on a finite set
    grid = {"lr": list(np.linspace(0.1, 1.0, n_lr)), "weight_decay": list(np.geomspace(1e-5, 1e-1, n_wd))}
    res = summarize_grid(scores, grid, simpler=simpler, larger_is_simpler=larger_is_simpler, maximize=maximize)
    mean, se, best, choice = oracle(scores, grid, simpler, larger_is_simpler, maximize)
    # a mean within rounding of the threshold best - se is in or out depending on
    # the order of the float operations: the rule is not defined to the last ulp there
    thr = mean[best] - se[best] if maximize else mean[best] + se[best]
    assume(se[best] == 0 or not any(abs(m - thr) < 1e-12 for m in mean.values()))
    for idx in mean:
        assert res.mean[idx] == pytest.approx(mean[idx], rel=1e-12, abs=1e-15)
        assert res.se[idx] == pytest.approx(se[idx], rel=1e-9, abs=1e-15)
    assert res.mean[res.best_index] == pytest.approx(res.mean[best], abs=1e-15)
    assert res.index_1se == choice or (
        res.mean[res.index_1se] == pytest.approx(mean[choice], abs=1e-15)
        and grid[simpler][res.index_1se[list(grid).index(simpler)]] == grid[simpler][choice[list(grid).index(simpler)]]
    )
    assert res.choice_1se == {n: float(grid[n][i]) for n, i in zip(grid, res.index_1se, strict=True)}


def test_the_rule_prefers_the_most_regularized_point_within_one_se():
    # 3 weight decays x 3 seeds: the middle one is best, the largest is within 1 SE of it
    scores = np.array([[0.80, 0.81, 0.79], [0.86, 0.84, 0.85], [0.85, 0.85, 0.84]])
    res = summarize_grid(scores, {"weight_decay": [1e-4, 1e-3, 1e-2]}, simpler="weight_decay")
    assert isinstance(res, GridSummary) and res.n_seeds == 3
    assert res.best == {"weight_decay": 1e-3} and res.choice_1se == {"weight_decay": 1e-2}
    assert res.threshold == pytest.approx(0.85 - 0.01 / np.sqrt(3))  # stdev 0.01 over sqrt(3)
    # epochs: fewer is simpler; losses: smaller is better
    loss = -scores
    res = summarize_grid(loss, {"epochs": [300, 100, 30]}, simpler="epochs", larger_is_simpler=False, maximize=False)
    assert res.best == {"epochs": 100} and res.choice_1se == {"epochs": 30}


def test_two_dimensional_grid_picks_within_the_whole_grid():
    # lr x wd x 2 seeds; best at (0.3, 1e-3); within 1 SE: (0.1, 1e-2) -> the largest wd wins
    scores = np.zeros((2, 3, 2))
    scores[:, :, 0] = [[0.70, 0.80, 0.885], [0.82, 0.88, 0.60]]
    scores[:, :, 1] = [[0.72, 0.80, 0.885], [0.82, 0.90, 0.62]]
    res = summarize_grid(scores, {"lr": [0.1, 0.3], "weight_decay": [1e-4, 1e-3, 1e-2]}, simpler="weight_decay")
    assert res.best == {"lr": 0.3, "weight_decay": 1e-3}
    assert res.choice_1se == {"lr": 0.1, "weight_decay": 1e-2}


@pytest.mark.parametrize("big", [1e300, 1e-300])
def test_no_overflow_or_underflow_at_the_ends_of_the_float_range(big):
    scores = np.array([[1.0, 3.0], [2.0, 2.0]]) * big
    res = summarize_grid(scores, {"c": [1.0, 2.0]}, simpler="c")
    np.testing.assert_allclose(res.mean, [2 * big, 2 * big], rtol=1e-14)
    np.testing.assert_allclose(res.se, [big, 0.0], rtol=1e-14, atol=0)
    assert np.all(np.isfinite(res.se)) and res.se[0] > 0


@pytest.mark.parametrize(
    ("scores", "grid", "kwargs", "error", "match"),
    [
        (np.zeros((3, 1)), {"wd": [1, 2, 3]}, {"simpler": "wd"}, ValueError, "at least 2 seeds"),
        (np.zeros((3, 2)), {"wd": [1, 2]}, {"simpler": "wd"}, ValueError, "scores must have shape"),
        (np.zeros((3,)), {"wd": [1, 2, 3]}, {"simpler": "wd"}, ValueError, "scores must have shape"),
        (np.full((2, 2), np.nan), {"wd": [1, 2]}, {"simpler": "wd"}, ValueError, "scores"),
        (np.zeros((2, 2)), {"wd": [1, 2]}, {"simpler": "lr"}, ValueError, "simpler must be one of"),
        (np.zeros((2, 2)), {"wd": [1, 1]}, {"simpler": "wd"}, ValueError, "distinct"),
        (np.zeros((2, 2)), {"wd": []}, {"simpler": "wd"}, ValueError, "grid"),
        (np.zeros((2, 2)), {}, {"simpler": "wd"}, TypeError, "non-empty mapping"),
        (np.zeros((2, 2)), {"wd": "ab"}, {"simpler": "wd"}, TypeError, "sequence of numbers"),
        (np.zeros((2, 2)), {"wd": [1, np.inf]}, {"simpler": "wd"}, ValueError, "grid"),
    ],
)
def test_bad_input_names_the_argument(scores, grid, kwargs, error, match):
    with pytest.raises(error, match=match):
        summarize_grid(scores, grid, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"simpler": ["wd"]}, "simpler must be a str"),
     ({"simpler": "wd", "maximize": "no"}, "maximize must be a bool"),
     ({"simpler": "wd", "larger_is_simpler": None}, "larger_is_simpler must be a bool")],
)
def test_flags_and_simpler_of_the_wrong_type_are_type_errors(kwargs, match):
    # maximize="no" is truthy: before, it silently maximized a loss
    with pytest.raises(TypeError, match=match):
        summarize_grid(np.zeros((2, 2)), {"wd": [1, 2]}, **kwargs)
