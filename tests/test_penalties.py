"""Penalties against independent oracles: explicit formulas, finite differences, the prox
optimality condition, brute-force 1-D minimization and non-expansiveness."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import minimize, minimize_scalar

import normreg as nr

lams = st.floats(0.0, 10.0)
ratios = st.floats(0.0, 1.0)
steps = st.floats(1e-3, 10.0)
vec = hnp.arrays(np.float64, st.integers(1, 12), elements=st.floats(-5, 5))

# Two groups of sizes 3 and 2 and a singleton, listed out of order on purpose.
GROUPS = [[4, 0, 2], [1, 5], [3]]


def penalties(lam: float, r: float) -> list[nr.Penalty]:
    return [nr.L1(lam), nr.L2(lam), nr.ElasticNet(lam, r), nr.GroupLasso(lam, GROUPS)]


def explicit_value(pen: nr.Penalty, w: np.ndarray) -> float:
    """The book's formulas, written out independently of the package."""
    if isinstance(pen, nr.GroupLasso):
        return pen.lam * sum(np.sqrt(len(g)) * np.sqrt(np.sum(w[g] ** 2)) for g in GROUPS)
    if isinstance(pen, nr.ElasticNet):
        r = pen.l1_ratio
        return pen.lam * (r * np.sum(np.abs(w)) + (1 - r) / 2 * np.sum(w**2))
    if isinstance(pen, nr.L1):
        return pen.lam * np.sum(np.abs(w))
    return pen.lam / 2 * np.sum(w**2)


six = hnp.arrays(np.float64, 6, elements=st.floats(-5, 5))


@settings(max_examples=100, deadline=None)
@given(w=six, lam=lams, r=ratios)
def test_value_matches_formula(w, lam, r):
    for pen in penalties(lam, r):
        assert pen(w) == pytest.approx(explicit_value(pen, w), rel=1e-12, abs=1e-12)


def test_value_of_any_shape_sums_over_all_entries():
    w = np.arange(-6.0, 6.0).reshape(3, 2, 2)
    assert nr.L1(2.0)(w) == 2.0 * np.abs(w).sum()
    assert nr.L2(2.0)(w) == pytest.approx((w**2).sum())
    assert nr.ElasticNet(1.0, 0.25)(w) == pytest.approx(0.25 * np.abs(w).sum() + 0.375 * (w**2).sum())


@pytest.fixture(params=["scipy-blas", "numpy-only"])
def asum_backend(request, monkeypatch):
    """Run a test with SciPy's BLAS asum and with the NumPy-only fallback of _sum_abs."""
    from normreg import penalties

    if request.param == "numpy-only":
        monkeypatch.setattr(penalties, "_blas_asum", lambda dtype: None)
    else:
        assert penalties._blas_asum(np.dtype(np.float32)) is not None  # scipy is in requirements.txt
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_on_large_input_use_the_blocked_reductions(dtype, asum_backend):
    rng = np.random.default_rng(1)
    w = rng.standard_normal(3 * (1 << 18) + 1234).astype(dtype)  # several blocks plus a remainder
    ref = w.astype(np.float64)
    rel = 1e-6 if dtype == np.float32 else 1e-12
    assert nr.L1(0.5)(w) == pytest.approx(0.5 * np.abs(ref).sum(), rel=rel)
    assert nr.L2(0.5)(w) == pytest.approx(0.25 * (ref**2).sum(), rel=rel)
    assert nr.ElasticNet(0.5, 0.3)(w) == pytest.approx(0.15 * np.abs(ref).sum() + 0.175 * (ref**2).sum(), rel=rel)
    w[-1] = np.nan  # the NaN is in the last, partial block
    with pytest.raises(ValueError, match="w must not contain NaN"):
        nr.L1(0.5)(w)
    with pytest.raises(ValueError, match="w must not contain NaN"):
        nr.L2(0.5).grad(w)


away_from_kinks = hnp.arrays(np.float64, 6, elements=st.one_of(st.floats(0.01, 5), st.floats(-5, -0.01)))


@settings(max_examples=100, deadline=None)
@given(w=away_from_kinks, lam=st.floats(0.01, 10.0), r=ratios)
def test_grad_matches_central_finite_differences_away_from_kinks(w, lam, r):
    h = 1e-6
    for pen in penalties(lam, r):
        fd = np.array([(pen(w + h * e) - pen(w - h * e)) / (2 * h) for e in np.eye(w.size)])
        np.testing.assert_allclose(pen.grad(w), fd, rtol=1e-5, atol=1e-6)


def test_grad_at_kinks_is_the_minimum_norm_subgradient():
    w = np.array([0.0, 2.0, 0.0, 0.0, 0.0, -1.0])
    np.testing.assert_array_equal(nr.L1(3.0).grad(w), [0, 3, 0, 0, 0, -3])
    np.testing.assert_array_equal(nr.ElasticNet(2.0, 0.5).grad(w), [0, 1 + 2, 0, 0, 0, -1 - 1])
    # group [4, 0, 2] is all zero: its subdifferential is a ball around 0, minimum norm 0
    g = nr.GroupLasso(1.0, GROUPS).grad(w)
    np.testing.assert_array_equal(g[[4, 0, 2]], 0.0)
    np.testing.assert_allclose(g[[1, 5]], np.sqrt(2) * np.array([2.0, -1.0]) / np.sqrt(5))


def subdifferential_contains(pen: nr.Penalty, w: np.ndarray, s: np.ndarray, tol: float = 1e-9) -> bool:
    """Is s in the subdifferential of pen at w? Written from the definitions, not from pen.grad."""
    lam = pen.lam
    if isinstance(pen, nr.GroupLasso):
        for g in GROUPS:
            c = lam * np.sqrt(len(g))
            nw = np.linalg.norm(w[g])
            if nw > 0:
                if not np.allclose(s[g], c * w[g] / nw, atol=tol):
                    return False
            elif np.linalg.norm(s[g]) > c + tol:
                return False
        return True
    if isinstance(pen, nr.L1):
        r, smooth = 1.0, 0.0
    elif isinstance(pen, nr.ElasticNet):
        r, smooth = pen.l1_ratio, 1.0 - pen.l1_ratio
    else:
        r, smooth = 0.0, 1.0
    rest = s - lam * smooth * w  # what the |w| part must supply
    nz = w != 0
    ok_nz = np.allclose(rest[nz], lam * r * np.sign(w[nz]), atol=tol)
    ok_z = np.all(np.abs(rest[~nz]) <= lam * r + tol)
    return bool(ok_nz and ok_z)


@settings(max_examples=150, deadline=None)
@given(v=six, lam=lams, r=ratios, step=steps)
def test_prox_satisfies_its_optimality_condition(v, lam, r, step):
    """w = prox(v) iff (v - w) / step is a subgradient of the penalty at w."""
    for pen in penalties(lam, r):
        w = pen.prox(v, step)
        assert subdifferential_contains(pen, w, (v - w) / step, tol=1e-8 * (1 + lam))


@settings(max_examples=60, deadline=None)
@given(v=st.floats(-5, 5), lam=st.floats(0.0, 5.0), r=ratios, step=st.floats(0.05, 5.0))
def test_prox_matches_brute_force_minimization_in_1d(v, lam, r, step):
    for pen in (nr.L1(lam), nr.L2(lam), nr.ElasticNet(lam, r), nr.GroupLasso(lam, [[0]])):
        def objective(x: float, pen=pen) -> float:
            return float(pen(np.array([x]))) + (x - v) ** 2 / (2 * step)

        best = minimize_scalar(objective, bounds=(-6, 6), method="bounded", options={"xatol": 1e-12})
        got = pen.prox(np.array([v]), step)[0]
        assert objective(got) <= best.fun + 1e-9
        assert got == pytest.approx(best.x, abs=1e-5)


def test_group_prox_matches_numerical_minimization():
    rng = np.random.default_rng(3)
    pen = nr.GroupLasso(0.7, GROUPS)
    for _ in range(5):
        v = rng.standard_normal(6)

        def objective(x, v=v):
            return pen(x) + np.sum((x - v) ** 2) / 2

        w = pen.prox(v, 1.0)
        best = minimize(objective, v, method="Powell", options={"xtol": 1e-10, "ftol": 1e-14})
        assert objective(w) <= best.fun + 1e-9


@settings(max_examples=150, deadline=None)
@given(u=six, v=six, lam=lams, r=ratios, step=steps)
def test_prox_is_non_expansive(u, v, lam, r, step):
    for pen in penalties(lam, r):
        lhs = np.linalg.norm(pen.prox(u, step) - pen.prox(v, step))
        assert lhs <= np.linalg.norm(u - v) * (1 + 1e-12) + 1e-12


@given(v=six, r=ratios, step=steps)
def test_prox_at_zero_lambda_is_the_identity(v, r, step):
    for pen in penalties(0.0, r):
        np.testing.assert_array_equal(pen.prox(v, step), v)


@pytest.mark.parametrize("tiny", [2.2250738585072014e-308, 5e-324, 1e-300])
def test_group_gradient_of_tiny_weights_is_finite(tiny):
    """lam * sqrt|g| * w_g / ||w_g|| has norm lam * sqrt|g| however small w_g is."""
    g = nr.GroupLasso(4.0, [[0], [1, 2]]).grad(np.array([tiny, tiny, 0.0]))
    np.testing.assert_allclose(g, [4.0, np.sqrt(2) * 4.0, 0.0], rtol=1e-12)


def test_l1_prox_gives_exact_zeros():
    v = np.array([0.3, -0.05, 0.1, -2.0])
    w = nr.L1(0.1).prox(v, 1.0)
    assert w[1] == 0.0 and w[2] == 0.0 and not np.signbit(w[1])
    np.testing.assert_allclose(w[[0, 3]], [0.2, -1.9])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_keep_the_input_dtype(dtype):
    w = np.array([0.5, -1.5, 0.0, 2.0, 1.0, -0.25], dtype=dtype)
    for pen in penalties(0.3, 0.4):
        assert pen(w).dtype == dtype
        assert pen.grad(w).dtype == dtype
        assert pen.prox(w, 0.5).dtype == dtype
        np.testing.assert_allclose(pen(w), explicit_value(pen, w.astype(np.float64)), rtol=1e-6)


def test_float32_large_input_accuracy(asum_backend):
    """A single float32 np.dot over 3e7 entries is off by ~1e-4; the blocked sums are not."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal(30_000_000, dtype=np.float32)
    ref = w.astype(np.float64)
    assert nr.L1(1.0)(w) == pytest.approx(np.abs(ref).sum(), rel=1e-6)
    assert nr.L2(1.0)(w) == pytest.approx(0.5 * np.dot(ref, ref), rel=1e-6)


def test_value_that_overflows_is_inf_not_an_error():
    assert nr.L2(1.0)(np.array([1e200])) == np.inf
    assert nr.L1(1.0)(np.array([1e308, 1e308])) == np.inf
    assert nr.L2(1.0)(np.array([1e30], np.float32)) == np.inf  # 5e59 > float32 max
    # intermediate w.w overflows but the value does not
    assert nr.L2(1e-300)(np.array([1e200, 1e200])) == pytest.approx(1e100, rel=1e-12)
    assert nr.ElasticNet(1e-300, 0.5)(np.array([1e200, 1e200])) == pytest.approx(0.5e100 + 2e-100, rel=1e-12)
    # gradients and prox of such w are finite and fine
    np.testing.assert_allclose(nr.L2(1.0).grad(np.array([1e200])), [1e200])


def test_config_round_trip_and_equality():
    for pen in penalties(0.5, 0.25):
        clone = type(pen)(**pen.get_config())
        assert clone == pen and hash(clone) == hash(pen)
        assert repr(pen).startswith(type(pen).__name__ + "(lam=0.5")
    assert nr.L1(0.5) != nr.L2(0.5)


# -- validation ----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [-0.1, np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("cls", [nr.L1, nr.L2, nr.ElasticNet])
def test_bad_lambda_raises_value_error_naming_lam(cls, bad):
    with pytest.raises(ValueError, match="lam"):
        cls(bad)


@pytest.mark.parametrize("bad", ["0.1", None, [0.1], True])
def test_non_numeric_lambda_raises_type_error(bad):
    with pytest.raises(TypeError, match="lam must be a real number"):
        nr.L2(bad)


@pytest.mark.parametrize("bad", [-0.01, 1.01, np.nan])
def test_l1_ratio_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="l1_ratio"):
        nr.ElasticNet(1.0, bad)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises_in_value_grad_and_prox(bad):
    w = np.array([1.0, bad, 0.5, 0.0, 1.0, 2.0])
    for pen in penalties(0.5, 0.5):
        with pytest.raises(ValueError, match="w must not contain NaN or Inf"):
            pen(w)
        with pytest.raises(ValueError, match="w must not contain NaN or Inf"):
            pen.grad(w)
        with pytest.raises(ValueError, match="v must not contain NaN or Inf"):
            pen.prox(w, 1.0)


def test_nan_is_caught_even_at_zero_lambda():
    with pytest.raises(ValueError, match="w must not contain"):
        nr.L1(0.0)(np.array([np.nan]))
    with pytest.raises(ValueError, match="w must not contain"):
        nr.L2(0.0)(np.array([np.inf, 1.0]))


@pytest.mark.parametrize(
    ("w", "exc", "match"),
    [
        (np.array([1.0, 2.0], dtype=np.float16), TypeError, "w must have dtype float32 or float64"),
        (np.array([1 + 0j]), TypeError, "w must have dtype"),
        (np.array([]), ValueError, "w must not be empty"),
    ],
)
def test_unsupported_arrays(w, exc, match):
    with pytest.raises(exc, match=match):
        nr.L1(1.0)(w)


@pytest.mark.parametrize("step", [-1.0, -1e-300, np.nan, np.inf])
def test_prox_step_must_be_non_negative_and_finite(step):
    with pytest.raises(ValueError, match="step"):
        nr.L1(1.0).prox(np.ones(3), step)


@pytest.mark.parametrize(
    ("groups", "exc", "match"),
    [
        ([[0, 1], [1, 2]], ValueError, "disjoint; index 1"),
        ([[0], [2]], ValueError, "index 1 is in no group"),
        ([[0, -1]], ValueError, "non-negative"),
        ([[0], []], ValueError, r"groups\[1\] must be a non-empty"),
        ([[0.5, 1.0]], TypeError, "integer indices"),
        ([], TypeError, "non-empty sequence"),
        ("01", TypeError, "non-empty sequence"),
    ],
)
def test_invalid_groups(groups, exc, match):
    with pytest.raises(exc, match=match):
        nr.GroupLasso(1.0, groups)


def test_group_lasso_shape_mismatch():
    pen = nr.GroupLasso(1.0, [[0, 1], [2]])
    with pytest.raises(ValueError, match="index 2 is out of range for w of length 2"):
        pen(np.ones(2))
    with pytest.raises(ValueError, match="cover 3 of 4"):
        pen.grad(np.ones(4))
    with pytest.raises(ValueError, match="must be 1-dimensional"):
        pen(np.ones((3, 1)))


# -- the whole floating-point range (issue 10, item 1) ----------------------------------------
# Every value, gradient and prox, in float32 and float64, for weights clustered at any binary
# exponent from the subnormals to finfo.max and lam, step anywhere in float64's range, against
# exact rational arithmetic (square roots to 80 digits): right to a few ulps, or inf exactly
# where the true value is not representable.

from fractions import Fraction  # noqa: E402

from _exact import assert_close, clustered_vectors, magnitudes, sqrt  # noqa: E402

F = Fraction
RANGE_DTYPES = [np.float32, np.float64]
scalars = st.one_of(st.just(0.0), st.just(1.0), magnitudes(np.float64))
pos_scalars = st.one_of(st.just(1.0), magnitudes(np.float64))
l1_ratios = st.sampled_from([0.0, 1e-300, 0.3, 0.5, 1.0 - 1e-16, 1.0])


def _groups_for(n: int, seed: int) -> list[list[int]]:
    labels = np.random.default_rng(seed).integers(0, max(1, n // 2), n)
    return [np.flatnonzero(labels == g).tolist() for g in np.unique(labels)]


def _exact_grad_prox(pen, w, t):
    """Exact gradient and prox (lists of Fractions) and a per-entry error scale for the prox."""
    lam = F(pen.lam)
    x = [F(float(v)) for v in w]
    sgn = [(v > 0) - (v < 0) for v in x]
    if isinstance(pen, nr.SparseGroupLasso):
        r = F(pen.l1_ratio)
        tau = t * lam * r
        u = [s * max(abs(v) - tau, F(0)) for v, s in zip(x, sgn, strict=True)]
        grad, prox, scale = [F(0)] * len(x), [F(0)] * len(x), [F(0)] * len(x)
        for g in pen.groups:
            nrm_w = sqrt(sum(x[i] ** 2 for i in g))
            nrm_u = sqrt(sum(u[i] ** 2 for i in g))
            ratio = t * lam * (1 - r) * sqrt(len(g)) / nrm_u if nrm_u else None
            for i in g:
                grad[i] = lam * r * sgn[i] + (lam * (1 - r) * sqrt(len(g)) * x[i] / nrm_w if nrm_w else F(0))
                prox[i] = u[i] * max(F(0), 1 - ratio) if nrm_u else F(0)
                scale[i] = (abs(x[i]) + (tau if tau < 2 * abs(x[i]) else 0)) * (
                    1 + (ratio if ratio is not None and ratio < 2 else 0))
        return grad, prox, scale
    if isinstance(pen, nr.GroupLasso):
        grad, prox, scale = [F(0)] * len(x), [F(0)] * len(x), [F(0)] * len(x)
        for g in pen.groups:
            nrm = sqrt(sum(x[i] ** 2 for i in g))
            ratio = t * lam * sqrt(len(g)) / nrm if nrm else None
            for i in g:
                grad[i] = lam * sqrt(len(g)) * x[i] / nrm if nrm else F(0)
                prox[i] = x[i] * max(F(0), 1 - ratio) if nrm else F(0)
                scale[i] = abs(x[i]) * (1 + (ratio if ratio is not None and ratio < 2 else 0))
        return grad, prox, scale
    r = F(pen.l1_ratio) if isinstance(pen, nr.ElasticNet) else (F(1) if isinstance(pen, nr.L1) else F(0))
    grad = [lam * (r * s + (1 - r) * v) for v, s in zip(x, sgn, strict=True)]
    tau = t * lam * r
    shrink = 1 + t * lam * (1 - r)
    prox = [s * max(abs(v) - tau, F(0)) / shrink for v, s in zip(x, sgn, strict=True)]
    scale = [(abs(v) + (tau if tau < 2 * abs(v) else 0)) / shrink for v in x]
    return grad, prox, scale


def _exact_value(pen, w):
    lam = F(pen.lam)
    x = [F(float(v)) for v in w]
    if isinstance(pen, nr.SparseGroupLasso):
        r = F(pen.l1_ratio)
        return lam * (r * sum(abs(v) for v in x) + (1 - r) * sum(
            sqrt(len(g)) * sqrt(sum(x[i] ** 2 for i in g)) for g in pen.groups))
    if isinstance(pen, nr.GroupLasso):
        return lam * sum(sqrt(len(g)) * sqrt(sum(x[i] ** 2 for i in g)) for g in pen.groups)
    r = F(pen.l1_ratio) if isinstance(pen, nr.ElasticNet) else (F(1) if isinstance(pen, nr.L1) else F(0))
    return lam * (r * sum(abs(v) for v in x) + (1 - r) / 2 * sum(v * v for v in x))


@pytest.mark.parametrize("dtype", RANGE_DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("kind", ["L1", "L2", "ElasticNet", "GroupLasso", "SparseGroupLasso"])
@settings(max_examples=80, deadline=None)
@given(data=st.data(), lam=scalars, step=pos_scalars, r=l1_ratios, seed=st.integers(0, 99))
def test_value_grad_prox_over_the_whole_range_against_exact_arithmetic(dtype, kind, data, lam, step, r, seed):
    w = data.draw(clustered_vectors(dtype))
    pen = {"L1": lambda: nr.L1(lam), "L2": lambda: nr.L2(lam), "ElasticNet": lambda: nr.ElasticNet(lam, r),
           "GroupLasso": lambda: nr.GroupLasso(lam, _groups_for(w.size, seed)),
           "SparseGroupLasso": lambda: nr.SparseGroupLasso(lam, _groups_for(w.size, seed), r)}[kind]()
    n = w.size
    what = f"{pen!r} at w={w.tolist()}"
    value = pen(w)
    assert value.dtype == dtype
    assert_close(value, _exact_value(pen, w), dtype, ulps=n + 8, what=f"value of {what}")
    grad, prox, scale = _exact_grad_prox(pen, w, F(step))
    g = pen.grad(w)
    assert g.dtype == dtype and g.shape == w.shape
    for i in range(n):
        assert_close(g[i], grad[i], dtype, ulps=n + 8, what=f"grad[{i}] of {what}")
    p = pen.prox(w, step)
    assert p.dtype == dtype and p.shape == w.shape
    for i in range(n):
        assert_close(p[i], prox[i], dtype, ulps=n + 8, scale=scale[i], what=f"prox[{i}] (step {step}) of {what}")
        assert abs(float(p[i])) <= abs(float(w[i]))  # every prox here shrinks towards 0


def test_range_examples_of_the_issue():
    """Issue 10: L2(1.0)([1e308]) was NaN (its docstring promises inf), GroupLasso's value at
    [1e308, 1] NaN and its prox [0, 0]."""
    assert nr.L2(1.0)(np.array([1e308])) == np.inf  # 0.5e616 is not a float64
    assert nr.L2(1e-300)(np.array([1e308])) == pytest.approx(0.5e316 * 1e-300 * 1e-16 * 1e16, rel=1e-14)
    gl = nr.GroupLasso(1.0, [[0, 1]])
    w = np.array([1e308, 1.0])
    assert gl(w) == pytest.approx(np.sqrt(2) * 1e308, rel=1e-14)
    np.testing.assert_allclose(gl.prox(w, 1.0), [1e308 - np.sqrt(2), 1.0], rtol=1e-15)
    np.testing.assert_allclose(gl.grad(w), [np.sqrt(2), np.sqrt(2) * 1e-308], rtol=1e-14)
    f32 = np.float32
    big = np.array([3e38, 3e38], f32)
    assert nr.L1(0.1)(big) == pytest.approx(6e37, rel=1e-6)  # the float32 sum 6e38 overflows
    assert nr.L2(1e30)(np.array([1e-30], f32)) == pytest.approx(0.5e-30, rel=1e-6)  # w**2 underflows
    assert nr.L2(1e-50).grad(np.array([1e30], f32))[0] == pytest.approx(1e-20, rel=1e-6)  # f32(1e-50) == 0


# -- blocked kernels and out= (issue 14) ---------------------------------------------------

def _reference_grad_prox(pen, w, t):
    """The formulas over the whole array at once, in float64."""
    x = w.astype(np.float64)
    lam = pen.lam
    r = pen.l1_ratio if isinstance(pen, nr.ElasticNet) else (1.0 if isinstance(pen, nr.L1) else 0.0)
    grad = lam * (r * np.sign(x) + (1 - r) * x)
    prox = np.sign(x) * np.maximum(np.abs(x) - t * lam * r, 0) / (1 + t * lam * (1 - r))
    return grad, prox


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pen", [nr.L1(0.3), nr.L2(0.3), nr.ElasticNet(0.3, 0.4)], ids=repr)
def test_grad_and_prox_over_many_blocks_match_the_formulas(pen, dtype):
    rng = np.random.default_rng(7)
    w = rng.standard_normal((3, 50_001)).astype(dtype)  # several kernel blocks and a remainder
    w[0, :100] = 0.0
    grad, prox = _reference_grad_prox(pen, w, 0.5)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    g, p = pen.grad(w), pen.prox(w, 0.5)
    assert g.shape == w.shape and g.dtype == dtype and p.dtype == dtype
    np.testing.assert_allclose(g, grad, rtol=rtol, atol=0)
    # near the threshold |v| - t*lam cancels: the rounding of t*lam to the dtype shows
    np.testing.assert_allclose(p, prox, rtol=rtol, atol=4 * np.finfo(dtype).eps * 0.5 * pen.lam)
    assert (p[prox == 0] == 0).all() and not np.signbit(p[prox == 0]).any()
    # non-contiguous input: the same numbers
    np.testing.assert_array_equal(pen.grad(w.T).T, g)
    np.testing.assert_array_equal(pen.prox(np.asfortranarray(w), 0.5), p)


@pytest.mark.parametrize("pen", [nr.L1(0.3), nr.L2(0.3), nr.ElasticNet(0.3, 0.4)], ids=repr)
def test_out_argument_and_in_place_update(pen):
    rng = np.random.default_rng(8)
    w = rng.standard_normal(200_003).astype(np.float32)
    want_g, want_p = pen.grad(w), pen.prox(w, 0.25)
    buf = np.empty_like(w)
    assert pen.grad(w, out=buf) is buf
    np.testing.assert_array_equal(buf, want_g)
    assert pen.prox(w, 0.25, out=buf) is buf
    np.testing.assert_array_equal(buf, want_p)
    v = w.copy()
    assert pen.prox(v, 0.25, out=v) is v  # in place, the training-loop use
    np.testing.assert_array_equal(v, want_p)
    v = w.copy()
    pen.grad(v, out=v)
    np.testing.assert_array_equal(v, want_g)
    v = w.copy()
    assert pen.prox(v, 0.0, out=v) is v
    np.testing.assert_array_equal(v, w)


def test_group_lasso_out_argument():
    pen = nr.GroupLasso(0.5, [0, 0, 1, 1, 1])
    v = np.array([3.0, 4.0, 0.1, 0.0, -0.1])
    want = pen.prox(v, 1.0)
    assert pen.prox(v, 1.0, out=v) is v
    np.testing.assert_array_equal(v, want)


@pytest.mark.parametrize(
    ("out", "exc", "match"),
    [
        (np.empty(5), ValueError, r"out must have the shape and dtype of the input, \(4,\) float64"),
        (np.empty(4, np.float32), ValueError, "got \\(4,\\) float32"),
        (np.empty(8)[::2], ValueError, "C-contiguous"),
        ([0.0] * 4, TypeError, "out must be a NumPy array"),
    ],
)
def test_bad_out(out, exc, match):
    with pytest.raises(exc, match=match):
        nr.L1(1.0).grad(np.ones(4), out=out)


def test_out_overlapping_the_input_is_refused():
    w = np.ones(8)
    with pytest.raises(ValueError, match="overlap"):
        nr.L2(1.0).prox(w[:4], 1.0, out=w[2:6])


@pytest.mark.parametrize("where", [0, 70_000, 199_999])
def test_nan_in_any_block_is_reported_by_grad_and_prox(where):
    w = np.ones(200_000, dtype=np.float32)
    w[where] = np.nan
    for pen in (nr.L1(0.1), nr.L2(0.1), nr.ElasticNet(0.1, 0.5)):
        with pytest.raises(ValueError, match="w must not contain NaN or Inf"):
            pen.grad(w)
        with pytest.raises(ValueError, match="v must not contain NaN or Inf"):
            pen.prox(w, 0.1)
        with pytest.raises(ValueError, match="v must not contain NaN or Inf"):
            pen.prox(w, 0.0)


# -- SparseGroupLasso (Simon et al. 2013) -----------------------------------------------------

def sgl_subdifferential_contains(pen, w, s, tol):
    """Is s in the subdifferential of lam (r ||w||_1 + (1 - r) sum_g sqrt|g| ||w_g||) at w?
    From the definitions: per group, the L1 part gives [-lam r, lam r] at zeros and
    lam r sign(w_i) elsewhere; the group part lam (1 - r) sqrt|g| w_g / ||w_g||, or any
    vector of norm <= lam (1 - r) sqrt|g| on a zero group."""
    a, b = pen.lam * pen.l1_ratio, pen.lam * (1 - pen.l1_ratio)
    for g in pen.groups:
        g = list(g)
        c = b * np.sqrt(len(g))
        nw = np.linalg.norm(w[g])
        if nw > 0:
            rest = s[g] - c * w[g] / nw
            nz = w[g] != 0
            if not np.allclose(rest[nz], a * np.sign(w[g][nz]), atol=tol):
                return False
            if np.any(np.abs(rest[~nz]) > a + tol):
                return False
        else:
            # min over z in [-a, a]^g of ||s_g - z|| is ||soft(s_g, a)||
            soft = np.sign(s[g]) * np.maximum(np.abs(s[g]) - a, 0)
            if np.linalg.norm(soft) > c + tol:
                return False
    return True


SGL_GROUPS = [[4, 0, 2], [1, 5], [3]]


@settings(max_examples=150, deadline=None)
@given(v=six, lam=lams, r=ratios, step=steps)
def test_sparse_group_prox_satisfies_its_optimality_condition(v, lam, r, step):
    pen = nr.SparseGroupLasso(lam, SGL_GROUPS, r)
    w = pen.prox(v, step)
    assert sgl_subdifferential_contains(pen, w, (v - w) / step, tol=1e-8 * (1 + lam))


def test_sparse_group_prox_matches_numerical_minimization():
    """Oracle: scipy.optimize (Powell, derivative-free) on the prox objective."""
    rng = np.random.default_rng(11)
    for k in range(6):
        pen = nr.SparseGroupLasso(0.4 + 0.1 * k, SGL_GROUPS, l1_ratio=[0.2, 0.5, 0.8][k % 3])
        v = rng.standard_normal(6)
        step = 0.5 + 0.25 * k

        def objective(x, v=v, pen=pen, step=step):
            return float(pen(x)) + np.sum((x - v) ** 2) / (2 * step)

        w = pen.prox(v, step)
        best = minimize(objective, v, method="Powell", options={"xtol": 1e-12, "ftol": 1e-15, "maxiter": 20000})
        assert objective(w) <= best.fun + 1e-10
        np.testing.assert_allclose(w, best.x, atol=1e-5)


@settings(max_examples=100, deadline=None)
@given(w=six, lam=lams, r=ratios)
def test_sparse_group_value_and_limits(w, lam, r):
    pen = nr.SparseGroupLasso(lam, SGL_GROUPS, r)
    want = lam * (r * np.sum(np.abs(w)) + (1 - r) * sum(np.sqrt(len(g)) * np.linalg.norm(w[g]) for g in SGL_GROUPS))
    assert pen(w) == pytest.approx(want, rel=1e-12, abs=1e-12)
    # r = 1 is the lasso, r = 0 the group lasso: value, gradient and prox
    for sgl, other in ((nr.SparseGroupLasso(lam, SGL_GROUPS, 1.0), nr.L1(lam)),
                       (nr.SparseGroupLasso(lam, SGL_GROUPS, 0.0), nr.GroupLasso(lam, SGL_GROUPS))):
        assert sgl(w) == pytest.approx(other(w), rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(sgl.grad(w), other.grad(w), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(sgl.prox(w, 0.7), other.prox(w, 0.7), rtol=1e-12, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(w=away_from_kinks, lam=st.floats(0.01, 10.0), r=ratios)
def test_sparse_group_grad_matches_finite_differences(w, lam, r):
    pen = nr.SparseGroupLasso(lam, SGL_GROUPS, r)
    h = 1e-6
    fd = np.array([(pen(w + h * e) - pen(w - h * e)) / (2 * h) for e in np.eye(w.size)])
    np.testing.assert_allclose(pen.grad(w), fd, rtol=1e-5, atol=1e-6)


def test_sparse_group_grad_is_the_minimum_norm_subgradient_and_zeroes_groups():
    pen = nr.SparseGroupLasso(1.0, [0, 0, 1, 1], l1_ratio=0.5)
    w = np.array([2.0, 0.0, 0.0, 0.0])
    g = pen.grad(w)
    assert sgl_subdifferential_contains(pen, w, g, tol=1e-12)
    np.testing.assert_allclose(g, [0.5 + 0.5 * np.sqrt(2), 0.0, 0.0, 0.0])
    p = pen.prox(np.array([3.0, 0.2, 0.3, -0.3]), 1.0)
    assert p[1] == 0 and p[2] == 0 and p[3] == 0  # an entry and a whole group become exact zeros
    assert not isinstance(pen, nr.GroupLasso)  # solvers must not treat it as a group lasso


def test_sparse_group_config_validation_and_dtype():
    pen = nr.SparseGroupLasso(0.5, [0, 0, 1], l1_ratio=0.25)
    assert pen.get_config() == {"lam": 0.5, "groups": [[0, 1], [2]], "l1_ratio": 0.25}
    assert nr.SparseGroupLasso(**pen.get_config()) == pen and pen != nr.GroupLasso(0.5, [0, 0, 1])
    for bad in (-0.1, 1.1):
        with pytest.raises(ValueError, match="l1_ratio"):
            nr.SparseGroupLasso(1.0, [0, 0], bad)
    w32 = np.array([1.0, -2.0, 0.5], np.float32)
    assert pen(w32).dtype == np.float32 and pen.grad(w32).dtype == np.float32
    assert pen.prox(w32, 0.5).dtype == np.float32
    with pytest.raises(ValueError, match="v must not contain NaN or Inf"):
        pen.prox(np.array([1.0, np.nan, 0.0]), 1.0)
    with pytest.raises(ValueError, match="w must not contain NaN or Inf"):
        pen(np.array([1.0, np.inf, 0.0]))
