"""MaxNorm: the projection is the closest point of the set, checked against a numerical
minimization (scipy), the KKT conditions, the variational inequality of projections, and Keras."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

from normreg.constraints import MaxNorm


def column_norms(W: np.ndarray) -> np.ndarray:
    return np.sqrt((W.astype(np.float64) ** 2).sum(axis=0))


@pytest.mark.parametrize("seed", range(6))
def test_projection_is_the_closest_feasible_point(seed):
    """Oracle: minimize ||V - W||_F^2 subject to ||v_j|| <= c with SLSQP, from a feasible start."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((3, 2)) * rng.uniform(0.2, 2.0, size=2)
    c = 1.0
    P = MaxNorm(c).project(W)
    cons = [{"type": "ineq", "fun": (lambda v, j=j: c**2 - np.sum(v.reshape(3, 2)[:, j] ** 2))} for j in range(2)]
    res = minimize(
        lambda v: np.sum((v - W.ravel()) ** 2), np.zeros(6), method="SLSQP", constraints=cons,
        options={"ftol": 1e-14, "maxiter": 500},
    )
    assert res.success
    np.testing.assert_allclose(P, res.x.reshape(3, 2), atol=1e-6)
    assert np.sum((P - W) ** 2) <= res.fun + 1e-12


@given(
    W=arrays(np.float64, (4, 3), elements=st.floats(-10, 10)),
    c=st.floats(0.1, 5.0),
)
def test_kkt_conditions(W, c):
    """Inside columns are unchanged; outside ones land on the sphere with W - P = mu * P, mu >= 0."""
    P = MaxNorm(c).project(W)
    norms = column_norms(W)
    for j in range(W.shape[1]):
        if norms[j] <= c:
            assert np.array_equal(P[:, j], W[:, j])
        else:
            assert np.linalg.norm(P[:, j]) == pytest.approx(c, rel=1e-14)
            mu = norms[j] / c - 1.0
            assert mu > 0
            np.testing.assert_allclose(W[:, j] - P[:, j], mu * P[:, j], rtol=1e-12, atol=1e-12 * norms[j])


@settings(max_examples=50)
@given(
    W=arrays(np.float64, (3, 4), elements=st.floats(-10, 10)),
    Z=arrays(np.float64, (3, 4), elements=st.floats(-10, 10)),
    c=st.floats(0.1, 5.0),
)
def test_variational_inequality(W, Z, c):
    """P is the projection onto a convex set iff <W - P, Z - P> <= 0 for every Z in the set."""
    con = MaxNorm(c)
    P = con.project(W)
    Zf = Z * np.minimum(1.0, c / np.maximum(column_norms(Z), 1e-300))  # an independent feasible point
    assert np.sum((W - P) * (Zf - P)) <= 1e-9 * (1 + np.sum(W**2) + np.sum(Z**2))


@given(
    W=arrays(st.sampled_from([np.float32, np.float64]), (5, 4), elements=st.floats(-100, 100, width=32)),
    c=st.floats(0.01, 10.0),
)
def test_idempotent_and_feasible(W, c):
    """The result is feasible (even after rounding) and projecting it again changes nothing."""
    con = MaxNorm(c)
    P = con.project(W)
    assert P.dtype == W.dtype
    assert np.all(con.norms(P) <= con.c)
    np.testing.assert_array_equal(con.project(P), P)


def test_axis_one_is_rows_and_tuple_axes_are_channels():
    rng = np.random.default_rng(4)
    W = rng.standard_normal((4, 6)) * 2
    np.testing.assert_array_equal(MaxNorm(1.0, axis=1).project(W), MaxNorm(1.0, axis=0).project(W.T).T)
    K = rng.standard_normal((3, 3, 2, 5))  # conv kernel (h, w, c_in, c_out)
    P = MaxNorm(0.5, axis=(0, 1, 2)).project(K)
    flat_p, flat_k = P.reshape(-1, 5), K.reshape(-1, 5)
    np.testing.assert_allclose(flat_p, MaxNorm(0.5).project(flat_k), rtol=1e-15)
    np.testing.assert_allclose(MaxNorm(0.5, axis=(-4, -3, -2)).project(K), P, rtol=0)


def test_norms_method_matches_numpy():
    W = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(MaxNorm(1.0).norms(W), np.linalg.norm(W, axis=0, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(MaxNorm(1.0, axis=1).norms(W), np.linalg.norm(W, axis=1, keepdims=True), rtol=1e-15)


def test_dtype_kept_and_no_overflow():
    W32 = np.array([[3.0, 0.1], [4.0, 0.2]], dtype=np.float32)
    P32 = MaxNorm(1.0).project(W32)
    assert P32.dtype == np.float32
    np.testing.assert_allclose(P32, [[0.6, 0.1], [0.8, 0.2]], rtol=1e-6)
    huge = np.array([[3e200], [4e200]])
    np.testing.assert_allclose(MaxNorm(1.0).project(huge), [[0.6], [0.8]], rtol=1e-15)
    tiny = np.array([[3e-200], [4e-200]])
    np.testing.assert_array_equal(MaxNorm(1.0).project(tiny), tiny)  # inside: untouched
    np.testing.assert_allclose(MaxNorm(1e-200).project(tiny * 10), [[6e-201], [8e-201]], rtol=1e-14)
    np.testing.assert_array_equal(MaxNorm(1.0).project(np.zeros((2, 2))), np.zeros((2, 2)))


def test_against_keras_maxnorm():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(5)
    W = (rng.standard_normal((6, 4)) * np.array([0.2, 1.0, 3.0, 0.5])).astype(np.float32)
    ours = MaxNorm(1.0, axis=0).project(W)
    theirs = np.asarray(keras.constraints.MaxNorm(max_value=1.0, axis=0)(W))
    # Keras divides by (1e-7 + norm): equal up to that epsilon
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_config_and_repr():
    con = MaxNorm(2.5, axis=(0, 1))
    assert MaxNorm(**con.get_config()).get_config() == {"c": 2.5, "axis": (0, 1)}
    assert repr(MaxNorm(3, axis=1)) == "MaxNorm(c=3.0, axis=1)"
    assert con(np.ones((2, 2, 2))).shape == (2, 2, 2)  # callable, like a Keras constraint


@pytest.mark.parametrize(
    ("kwargs", "W", "exc", "match"),
    [
        ({"c": 0.0}, None, ValueError, "c must be > 0"),
        ({"c": -1.0}, None, ValueError, "c must be > 0"),
        ({"c": float("nan")}, None, ValueError, "c must be finite"),
        ({"c": "1"}, None, TypeError, "c must be a real number"),
        ({"c": 1.0, "axis": True}, None, TypeError, "axis must be an int or a non-empty tuple"),
        ({"c": 1.0, "axis": ()}, None, TypeError, "axis must be an int or a non-empty tuple"),
        ({"c": 1.0, "axis": 2}, np.ones((2, 2)), ValueError, "axis 2 is out of bounds"),
        ({"c": 1.0, "axis": (0, -2)}, np.ones((2, 2)), ValueError, "axis must name different axes"),
        ({"c": 1.0}, np.ones((2, 2), dtype=np.float16), TypeError, "W must have dtype float32 or float64"),
        ({"c": 1.0}, np.array([[1.0, np.nan]]), ValueError, "W must not contain NaN or Inf"),
    ],
)
def test_bad_arguments(kwargs, W, exc, match):
    with pytest.raises(exc, match=match):
        MaxNorm(**kwargs).project(W if W is not None else np.ones((2, 2)))


# -- the whole floating-point range (issue 10, item 1) ----------------------------------------

from fractions import Fraction  # noqa: E402

from _exact import assert_close, clustered_vectors, magnitudes  # noqa: E402
from _exact import sqrt as exact_sqrt  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@settings(max_examples=100, deadline=None)
@given(data=st.data(), c=st.one_of(st.just(1.0), magnitudes(np.float64)))
def test_projection_over_the_whole_range_against_exact_arithmetic(dtype, data, c):
    """Columns clustered at any exponent of the dtype, c anywhere in float64's range: the
    result is feasible (its computed column norms <= c), columns inside the ball are left
    exactly as they are, and every entry is within a few ulps of the exact projection
    w_j * min(1, c / ||w_j||)."""
    x = data.draw(clustered_vectors(dtype, max_size=12))
    cols = data.draw(st.sampled_from([k for k in (1, 2, 3) if x.size % k == 0]))
    W = x.reshape(-1, cols)
    P = MaxNorm(c).project(W)
    assert P.dtype == dtype and P.shape == W.shape
    assert np.isfinite(P).all()
    assert (MaxNorm(c).norms(P) <= c).all()
    C = Fraction(c)
    for j in range(cols):
        col = [Fraction(float(v)) for v in W[:, j]]
        nrm = exact_sqrt(sum(v * v for v in col))
        if nrm <= C:
            np.testing.assert_array_equal(P[:, j], W[:, j])
            continue
        for i, v in enumerate(col):
            assert_close(P[i, j], v * C / nrm, dtype, ulps=W.shape[0] + 8, scale=C,
                         what=f"P[{i},{j}], c={c}, W={W.tolist()}")


def test_projection_examples_of_the_issue():
    """Issue 10: at 1e308 MaxNorm(1.0).project returned an infeasible matrix."""
    W = np.array([[1e308, 1e308], [1e308, 0.0]])
    P = MaxNorm(1.0).project(W)
    np.testing.assert_allclose(P, [[np.sqrt(0.5), 1.0], [np.sqrt(0.5), 0.0]], rtol=1e-15)
    f32 = np.float32
    P32 = MaxNorm(1e-30).project(np.array([[3e30], [4e30]], f32))  # c / ||w|| = 2e-61 is below float32's range
    np.testing.assert_allclose(P32[:, 0], [6e-31, 8e-31], rtol=1e-6)
