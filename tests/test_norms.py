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
    ],
)
def test_bad_input_raises_naming_the_argument(x, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        nr.norm(x, **kwargs)
