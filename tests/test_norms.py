"""normreg.norm against numpy.linalg.norm (hypothesis), exact arithmetic and homogeneity."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import normreg as nr

# Magnitudes where numpy.linalg.norm's naive formula is itself exact enough to be the oracle;
# the extreme ranges are checked against exact arithmetic and homogeneity below.
finite = st.one_of(st.just(0.0), st.floats(1e-30, 1e6), st.floats(-1e6, -1e-30))
VECTOR_ORDS = [None, 0.5, 1, 1.5, 2, 3, 7.25, np.inf, -np.inf, 0]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@settings(max_examples=150, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=1, min_side=1, max_side=30), elements=finite),
       ord=st.sampled_from(VECTOR_ORDS))
def test_vector_norm_matches_numpy(x, ord):
    np.testing.assert_allclose(nr.norm(x, ord), np.linalg.norm(x, ord), rtol=1e-12, atol=0)


@settings(max_examples=150, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8), elements=finite),
       ord=st.sampled_from(MATRIX_ORDS))
def test_matrix_norm_matches_numpy(x, ord):
    np.testing.assert_allclose(nr.norm(x, ord), np.linalg.norm(x, ord), rtol=1e-10, atol=1e-300)


@settings(max_examples=100, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=5), elements=finite),
       ord=st.sampled_from(VECTOR_ORDS), data=st.data(), keepdims=st.booleans())
def test_vector_norm_along_axis_matches_numpy(x, ord, data, keepdims):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    got = nr.norm(x, ord, axis=axis, keepdims=keepdims)
    want = np.linalg.norm(x, ord, axis=axis, keepdims=keepdims)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float64, (3, 4, 5), elements=finite), ord=st.sampled_from(MATRIX_ORDS),
       axis=st.sampled_from([(0, 1), (1, 2), (2, 0), (-1, -2)]), keepdims=st.booleans())
def test_stacked_matrix_norms_match_numpy(x, ord, axis, keepdims):
    got = nr.norm(x, ord, axis=axis, keepdims=keepdims)
    want = np.linalg.norm(x, ord, axis=axis, keepdims=keepdims)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-300)


def test_flattens_nd_input_without_ord():
    x = np.arange(24.0).reshape(2, 3, 4)
    assert nr.norm(x) == pytest.approx(np.linalg.norm(x.ravel()), rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ord", [None, 1, 2, 3, np.inf])
def test_keeps_float_dtype(dtype, ord):
    x = np.array([1.0, -2.0, 3.0], dtype=dtype)
    assert nr.norm(x, ord).dtype == dtype
    assert nr.norm(np.ones((2, 2), dtype), "nuc").dtype == dtype


def test_ord_of_any_real_type():
    """ord as a Fraction or a Python int beyond int64 used to fail inside np.isnan."""
    from fractions import Fraction

    x = np.array([3.0, 4.0])
    assert nr.norm(x, Fraction(1, 2)) == nr.norm(x, 0.5)
    assert nr.norm(x, 10**20) == 4.0 and nr.norm(x, np.float32(3)) == nr.norm(x, 3.0)
    assert nr.norm(np.eye(2), Fraction(2)) == 1.0


def test_integer_input_is_converted_like_numpy():
    assert nr.norm([3, 4]) == 5.0
    assert nr.norm(np.array([3, 4])).dtype == np.float64


def _exact_l2(values: list[float]) -> float:
    """The correctly rounded 2-norm of floats, by exact rational arithmetic."""
    s = sum(Fraction(v) ** 2 for v in values)
    # scale to an integer square root with 60 extra bits, then round once
    k = 200
    root = math.isqrt(int(s * 4**k * 2**120))
    return float(Fraction(root, 2**k * 2**60))


@pytest.mark.parametrize(
    "values",
    [[3e200, 4e200], [3e-200, 4e-200], [1e300, 1e300, 1e300], [1e-310, 2e-310], [1e200, 1e-200], [1.5e154] * 7],
)
def test_l2_exact_where_naive_formula_fails(values):
    got = nr.norm(np.array(values))
    assert got == pytest.approx(_exact_l2(values), rel=4e-16)
    assert np.isfinite(got) and got > 0


def test_float32_overflow_and_underflow():
    big = np.array([3e30, 4e30], np.float32)  # squares overflow float32 (max 3.4e38)
    small = np.array([3e-30, 4e-30], np.float32)  # squares underflow
    assert nr.norm(big) == pytest.approx(5e30, rel=1e-6)
    assert nr.norm(small) == pytest.approx(5e-30, rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 20),
                    elements=st.one_of(st.just(0.0), st.floats(1e-3, 10), st.floats(-10, -1e-3))),
       ord=st.sampled_from([0.5, 1, 2, 3, np.inf]), exponent=st.sampled_from([-250, -200, 200, 250]))
def test_homogeneous_at_extreme_scales(x, ord, exponent):
    """||c x|| = |c| ||x||, with c so large or small that c*x squared over/underflows."""
    c = 10.0**exponent
    np.testing.assert_allclose(nr.norm(c * x, ord), c * np.linalg.norm(x, ord), rtol=1e-12)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, 1, np.inf])
def test_matrix_norms_at_extreme_scales(ord):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 4))
    for c in (1e200, 1e-200):
        np.testing.assert_allclose(nr.norm(c * a, ord), c * np.linalg.norm(a, ord), rtol=1e-12)


def test_zero_vector_and_matrix():
    assert nr.norm(np.zeros(4)) == 0.0
    assert nr.norm(np.zeros(4), 0.5) == 0.0
    assert nr.norm(np.zeros((3, 3)), "nuc") == 0.0


@pytest.mark.parametrize(
    ("x", "kwargs", "exc", "match"),
    [
        (np.array([1.0, np.nan]), {}, ValueError, "x must not contain NaN or Inf"),
        (np.array([1.0, np.inf]), {}, ValueError, "x must not contain NaN or Inf"),
        (np.array([1 + 1j]), {}, TypeError, "x must have dtype"),
        (np.array(["a"]), {}, TypeError, "x must have dtype"),
        (np.array([]), {}, ValueError, "x must not be empty"),
        (np.ones(3), {"ord": -1}, ValueError, "ord must be"),
        (np.ones(3), {"ord": "fro"}, ValueError, "ord must be"),
        (np.ones((2, 2)), {"ord": 3}, ValueError, "ord must be one of 'fro'"),
        (np.ones((2, 2, 2)), {"ord": 2}, ValueError, "axis must be given"),
        (np.ones(3), {"axis": 1}, ValueError, "axis 1 is out of bounds"),
        (np.ones((2, 2)), {"axis": (0, 0)}, ValueError, "two different axes"),
        (np.ones((2, 2)), {"axis": "0"}, ValueError, "axis must be"),
        (np.ones((2, 2)), {"keepdims": "no"}, TypeError, "keepdims must be True or False"),
        (np.ones(3), {"ord": 10**400}, ValueError, "within the float range"),
        (np.ones(3), {"ord": float("nan")}, ValueError, "ord must be a real p > 0"),
        (np.ones((2, 2)), {"ord": 10**400}, ValueError, "ord must be one of 'fro'"),
    ],
)
def test_bad_input_raises_naming_the_argument(x, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        nr.norm(x, **kwargs)


# -- the whole floating-point range, subnormals to finfo.max (issue 10, items 1 and 2) -------

from _exact import assert_close, clustered_vectors, pnorm  # noqa: E402

DTYPES = [np.float32, np.float64]
RANGE_ORDS = [0.5, 1, 1.5, 2, 3, 7.25, 100, 1100, 2000, 1e6, np.inf]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data(), ord=st.sampled_from(RANGE_ORDS))
def test_vector_norm_over_the_whole_range_against_exact_arithmetic(dtype, data, ord):
    """Every p-norm of vectors whose entries cluster at any binary exponent of the type:
    correctly rounded up to a few ulps, and ``inf`` only where the true norm exceeds the
    largest float (the exact value from rational/80-digit decimal arithmetic)."""
    x = data.draw(clustered_vectors(dtype))
    got = nr.norm(x, ord)
    assert got.dtype == dtype
    assert_close(got, pnorm(x, ord), dtype, ulps=x.size + 6, what=f"norm({x.tolist()}, {ord})")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("ord", [None, 0.5, 1, 2, 3, 1100, np.inf])
def test_vector_norm_at_the_largest_and_smallest_floats(dtype, ord):
    fi = np.finfo(dtype)
    for x in ([fi.max], [fi.max, fi.max], [-fi.max, 1.0], [fi.max / 2, fi.max / 2], [fi.smallest_subnormal],
              [fi.smallest_subnormal] * 3, [fi.tiny, fi.smallest_subnormal], [fi.max, fi.smallest_subnormal]):
        a = np.array(x, dtype=dtype)
        assert_close(nr.norm(a, ord), pnorm(a, 2 if ord is None else ord), dtype, ulps=8, what=f"{x}, {ord}")


def test_norm_examples_of_the_issue():
    """Issue 10: norm([1e308]) was NaN, norm([3, 4], 1100) was 0."""
    assert nr.norm([1e308]) == 1e308
    assert nr.norm(np.array([1e308, 1e308])) == pytest.approx(math.sqrt(2) * 1e308, rel=1e-15)
    assert nr.norm([3.0, 4.0], 1100) == 4.0  # 4 * (1 + (3/4)^1100)^(1/1100), (3/4)^1100 < 1e-137
    assert nr.norm([3.0, 4.0], 2000) == 4.0
    assert nr.norm([1.0, 1.0], 2000) == pytest.approx(2 ** (1 / 2000), rel=1e-15)
    assert nr.norm(np.array([1e308, 1e308]), 1) == np.inf  # 2e308 is not a float64
    f32 = np.float32
    assert nr.norm(np.array([1.5e19, 1.5e19], f32)) == pytest.approx(math.sqrt(2) * 1.5e19, rel=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("ord", ["fro", 1, -1, np.inf, -np.inf])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_matrix_norms_over_the_whole_range_against_exact_arithmetic(dtype, ord, data):
    x = data.draw(clustered_vectors(dtype, max_size=12)).reshape(-1, 1)
    cols = data.draw(st.sampled_from([c for c in (1, 2, 3, 4) if x.size % c == 0]))
    x = x.reshape(-1, cols)
    if ord == "fro":
        exact = pnorm(x.ravel(), 2)
    else:
        sums = [sum(abs(Fraction(float(v))) for v in line) for line in (x.T if ord in (1, -1) else x)]
        exact = max(sums) if ord in (1, np.inf) else min(sums)
    got = nr.norm(x, ord)
    assert got.dtype == dtype
    assert_close(got, exact, dtype, ulps=x.size + 6, what=f"norm({x.tolist()}, {ord!r})")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("ord", ["nuc", 2, -2])
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.integers(-1200, 1100))
def test_singular_value_norms_are_homogeneous_over_the_whole_range(dtype, ord, seed, shift):
    """||2^k A|| = 2^k ||A|| for singular-value norms, with 2^k A anywhere in the range; the
    reference is numpy.linalg.norm at moderate scale, scaled exactly (or inf/subnormal as the
    exact product demands)."""
    fi = np.finfo(dtype)
    shift = int(np.clip(shift, fi.minexp - fi.nmant + 4, fi.maxexp - 3))
    a = np.random.default_rng(seed).standard_normal((4, 3)).astype(dtype)
    with np.errstate(over="ignore", under="ignore"):
        scaled = np.ldexp(a, shift).astype(dtype)
    if not np.isfinite(scaled).all() or (scaled == 0).any():
        return
    back = np.ldexp(scaled.astype(np.float64), -shift)  # what 2^-k (2^k A) really holds after rounding
    exact = Fraction(float(np.linalg.norm(back, ord))) * Fraction(2) ** shift
    assert_close(nr.norm(scaled, ord), exact, dtype, ulps=64 if dtype == np.float32 else 2**12)


# -- small p (review of issue 10 item 2: "any p > 0") -------------------------------------

from _exact import magnitudes  # noqa: E402

SMALL_ORDS = [1e-3, 0.01, 0.05, 0.2, 0.5, 0.9]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@settings(max_examples=200, deadline=None)
@given(data=st.data(), ord=st.sampled_from(SMALL_ORDS))
def test_small_p_with_entries_spread_over_the_whole_range(dtype, data, ord):
    """For p < 1 an entry far below the maximum still counts (t = 1e-600, p = 0.01:
    t**p = 1e-6), and sum**(1/p) can overflow where max * sum**(1/p) does not
    (max 1e-200, three equal entries, p = 1e-3: 3**1000 * 1e-200 = 1.3e277). The bound:
    the sum's n roundings, amplified by the 1/p-th power."""
    n = data.draw(st.integers(1, 8))
    mags = data.draw(st.lists(magnitudes(dtype), min_size=n, max_size=n))
    x = np.array(mags, dtype=dtype)
    got = nr.norm(x, ord)
    assert got.dtype == dtype
    assert_close(got, pnorm(x, ord), dtype, ulps=(n + 6) * (1 + 1 / ord), what=f"norm({mags}, {ord})")


@pytest.mark.parametrize(
    ("values", "ord", "dtype"),
    [([1e300, 1e-300], 0.01, np.float64),  # the 1e-300 was lost: 1e300 instead of 1.0001e300
     ([1e-200] * 3, 1e-3, np.float64),  # 3**1000 overflowed: inf instead of 1.3e277
     ([1e-30, 1e-30], 0.005, np.float32),  # 2**200 overflows float32: inf, true 1.6e30
     ([5e-324, 1.0], 0.01, np.float64)],
)
def test_small_p_examples(values, ord, dtype):
    x = np.array(values, dtype=dtype)
    assert_close(nr.norm(x, ord), pnorm(x, ord), dtype, ulps=8 / ord, what=f"{values}, {ord}")
    assert np.isfinite(nr.norm(x, ord))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_small_p_along_an_axis_mixes_slices_without_warnings(dtype):
    """One slice whose root overflows (handled by exponents), one of zeros, one ordinary:
    each gets its own right answer, and no RuntimeWarning escapes."""
    tiny = 1e-200 if dtype == np.float64 else 1e-30
    x = np.array([[tiny] * 3, [0.0] * 3, [0.5, 0.25, 0.0]], dtype=dtype)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = nr.norm(x, 1e-3, axis=1)
        kept = nr.norm(x, 1e-3, axis=1, keepdims=True)
    assert kept.shape == (3, 1) and np.array_equal(kept[:, 0], got)
    for row, g in zip(x, got, strict=True):
        assert_close(g, pnorm(row, 1e-3), dtype, ulps=(3 + 6) * 1001, what=f"{row.tolist()}")
