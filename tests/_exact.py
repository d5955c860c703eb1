"""Exact and high-precision oracles for the whole floating-point range (issue 10, item 1).

Floats are converted exactly (``Fraction(x)``, ``Decimal(x)``); sums and products of them
are then exact rationals, and roots and non-integer powers are computed in decimal with
80 significant digits and an unbounded exponent range, far beyond float64. These oracles
share no code with normreg.
"""

from __future__ import annotations

import decimal
import math
from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

CTX = decimal.Context(prec=80, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def dec(x) -> decimal.Decimal:
    """A float or Fraction as a Decimal (floats exactly; Fractions to 80 digits)."""
    if isinstance(x, Fraction):
        return CTX.divide(decimal.Decimal(x.numerator), decimal.Decimal(x.denominator))
    return decimal.Decimal(float(x))


def frac(x) -> Fraction:
    return x if isinstance(x, Fraction) else Fraction(x) if not isinstance(x, decimal.Decimal) else Fraction(x)


def sqrt(x) -> Fraction:
    return Fraction(CTX.sqrt(dec(x)))


def pnorm(values, p) -> Fraction:
    """(sum |x_i|^p)^(1/p) to 80 digits; p a positive float, or inf."""
    a = [abs(Fraction(float(v))) for v in values]
    if p == np.inf:
        return max(a)
    if p == 1:
        return sum(a, Fraction(0))
    if p == 2:
        return sqrt(sum((v * v for v in a), Fraction(0)))
    s = decimal.Decimal(0)
    dp = decimal.Decimal(float(p))
    for v in a:
        if v:
            s = CTX.add(s, CTX.power(dec(v), dp))
    if s == 0:
        return Fraction(0)
    return Fraction(CTX.power(s, CTX.divide(decimal.Decimal(1), dp)))


def assert_close(got, exact, dtype, *, ulps: float = 4, scale=None, what: str = "") -> None:
    """``got`` (a float of ``dtype``) agrees with the exact value: within ``ulps`` units of
    roundoff relative to ``scale`` (default ``|exact|``) plus ``ulps`` of the smallest
    subnormal, or ``inf`` of the right sign exactly when ``|exact|`` exceeds the largest
    float of ``dtype`` (a band of ``ulps`` rounding units either side may round either way).
    """
    fi = np.finfo(dtype)
    eps = Fraction(float(fi.eps))
    fmax = Fraction(float(fi.max))
    sub = Fraction(float(fi.smallest_subnormal))
    exact = frac(exact)
    got = float(got)
    band = ulps * eps
    if abs(exact) > fmax * (1 + band):
        assert math.isinf(got) and (got > 0) == (exact > 0), f"{what}: want inf (exact {float(exact):.6g}), got {got!r}"
        return
    if math.isinf(got):
        assert abs(exact) >= fmax * (1 - band), f"{what}: got {got} but exact {float(exact):.17g} is representable"
        return
    assert not math.isnan(got), f"{what}: got NaN, exact {float(exact):.17g}"
    ref = abs(exact) if scale is None else frac(scale)
    err = abs(Fraction(got) - exact)
    tol = band * ref + ulps * sub
    assert err <= tol, (
        f"{what}: got {got!r}, exact {float(exact):.17g}, error {float(err):.3g} > tolerance {float(tol):.3g}"
    )


def magnitudes(dtype, *, min_exp: int | None = None, max_exp: int | None = None) -> st.SearchStrategy[float]:
    """Positive floats of ``dtype`` spread uniformly over binary exponents, subnormals to max."""
    fi = np.finfo(dtype)
    lo = fi.minexp - fi.nmant if min_exp is None else min_exp  # the smallest subnormal's exponent
    hi = fi.maxexp - 1 if max_exp is None else max_exp

    def build(m: float, e: int) -> float:
        with np.errstate(over="ignore", under="ignore"):
            return float(np.clip(np.ldexp(dtype(m), e), fi.smallest_subnormal, fi.max))

    return st.builds(build, st.floats(1.0, 2.0, exclude_max=True), st.integers(lo, hi))


def clustered_vectors(dtype, max_size: int = 12) -> st.SearchStrategy[np.ndarray]:
    """Vectors whose entries sit within 2^-40..1 of a common magnitude drawn from the whole
    range (so that sums of squares overflow or underflow together), with signs and zeros."""
    fi = np.finfo(dtype)

    @st.composite
    def draw(draw_):
        n = draw_(st.integers(1, max_size))
        top = draw_(st.integers(fi.minexp - fi.nmant, fi.maxexp - 1))
        out = []
        for _ in range(n):
            kind = draw_(st.sampled_from(["near", "near", "near", "zero", "far"]))
            if kind == "zero":
                out.append(0.0)
                continue
            d = draw_(st.integers(0, 40 if kind == "near" else 200))
            m = draw_(st.floats(1.0, 2.0, exclude_max=True))
            with np.errstate(over="ignore", under="ignore"):
                v = float(np.clip(np.ldexp(dtype(m), top - d), 0, fi.max))
            out.append(-v if draw_(st.booleans()) else v)
        return np.array(out, dtype=dtype)

    return draw()
