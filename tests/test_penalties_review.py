"""Review of the NumPy core (issue 10 items 1, 2, 26): ndarray subclasses.

numpy.linalg.norm converts its input with np.asarray, so an ``np.matrix`` is an ordinary
2-D array to it and a masked array's mask is ignored. normreg passed subclasses through:
``nr.norm(np.matrix(...))`` failed inside NumPy with "matrix.max() got an unexpected
keyword argument 'keepdims'", the penalties' grad on a matrix with "only 0-dimensional
arrays can be converted to Python scalars", and a masked array gave different numbers in
different functions (``nr.norm`` honoured the mask, ``nr.L1``/``nr.L2`` did not).
"""

from __future__ import annotations

import numpy as np
import pytest

import normreg as nr
from normreg.constraints import MaxNorm


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_matrix_input_is_an_ordinary_2d_array():
    m = np.matrix([[3.0, 4.0], [1.0, 2.0]])
    a = np.asarray(m)
    for args in [(), (None, 1), (None, 0), ("nuc",), (1,), (2,)]:
        got = nr.norm(m, *args)
        assert type(got) is not np.matrix
        np.testing.assert_allclose(got, np.linalg.norm(a, *args), rtol=1e-14)
    for pen in (nr.L1(0.5), nr.L2(0.5), nr.ElasticNet(0.5, 0.3)):
        assert pen(m) == pen(a)
        g, p = pen.grad(m), pen.prox(m, 0.7)
        assert type(g) is np.ndarray and type(p) is np.ndarray
        np.testing.assert_array_equal(g, pen.grad(a))
        np.testing.assert_array_equal(p, pen.prox(a, 0.7))
    np.testing.assert_array_equal(MaxNorm(1.0).project(m), MaxNorm(1.0).project(a))


@pytest.mark.parametrize(
    "call",
    [lambda x: nr.norm(x), lambda x: nr.norm(x, 1), lambda x: nr.L1(1.0)(x), lambda x: nr.L2(1.0)(x),
     lambda x: nr.L1(1.0).grad(x), lambda x: nr.L2(1.0).prox(x, 1.0)],
)
def test_masked_array_is_refused_with_what_to_pass(call):
    x = np.ma.array([3.0, 4.0, 100.0], mask=[0, 0, 1])
    with pytest.raises(TypeError, match=r"masked array.*filled\(0\).*compressed\(\)"):
        call(x)


@pytest.mark.parametrize(
    "call",
    [lambda: nr.L1(10**400), lambda: nr.L2(1.0).prox([1.0], 10**400), lambda: MaxNorm(10**400),
     lambda: nr.ElasticNet(1.0, 10**400)],
)
def test_integer_beyond_the_float_range_is_a_value_error_naming_the_argument(call):
    """float(10**400) raises OverflowError: check_scalar let it escape, unnamed."""
    with pytest.raises(ValueError, match=r"(lam|step|c|l1_ratio) must be finite"):
        call()
