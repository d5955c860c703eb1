"""One validation behaviour for the whole NumPy core (issue 10, item 26; item 25 second half).

Every public entry point that takes an array, a scalar, a step or a grouping goes through
normreg._validation, so the same input is accepted or refused the same way everywhere.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

import normreg as nr
from normreg._validation import (
    as_float_array,
    as_groups,
    check_scalar,
    check_step,
    foreign_tensor_library,
    is_sparse,
)
from normreg.constraints import MaxNorm

PENALTIES = [nr.L1(0.3), nr.L2(0.3), nr.ElasticNet(0.3, 0.4), nr.GroupLasso(0.3, [[0, 1], [2]])]


# -- integers and array-likes: converted as norm and fit_linear convert them ----------------

@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("w", [[1, -2, 0], (1, -2, 0), np.array([1, -2, 0], dtype=np.int32), [True, False, True]])
def test_penalties_accept_integer_and_list_input_as_float64(pen, w):
    want = np.asarray(w).astype(np.float64)
    assert pen(w) == pen(want) and np.asarray(pen(w)).dtype == np.float64
    np.testing.assert_array_equal(pen.grad(w), pen.grad(want))
    assert pen.grad(w).dtype == np.float64
    np.testing.assert_array_equal(pen.prox(w, 0.5), pen.prox(want, 0.5))


def test_every_entry_point_converts_integers_the_same_way():
    ints = np.array([[3, 0], [4, 1]])
    floats = ints.astype(np.float64)
    assert nr.norm(ints) == nr.norm(floats)
    np.testing.assert_array_equal(MaxNorm(1.0).project(ints), MaxNorm(1.0).project(floats))
    np.testing.assert_array_equal(MaxNorm(1.0).norms(ints), MaxNorm(1.0).norms(floats))
    assert nr.L1(1.0)(ints) == 8.0


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.array([1.0, 2.0], dtype=np.float16), r"float16 \(convert it with .astype\(np.float32\)"),
        (np.array([1 + 0j]), "complex input is not supported"),
        (np.array(["a"]), "pass an array of numbers"),
        ([[1.0, 2.0], [3.0]], "could not convert list"),
        (np.array([object()]), "dtype object"),
    ],
)
def test_refused_arrays_say_what_to_pass(x, match):
    for fn in (nr.norm, nr.L1(1.0), nr.L2(1.0).grad, MaxNorm(1.0).project):
        with pytest.raises(TypeError, match=match):
            fn(x)


def test_allow_int_false_still_refuses_integers():
    with pytest.raises(TypeError, match=r"x must have dtype float32 or float64; got dtype int64 \(convert"):
        as_float_array(np.array([1, 2]), "x", allow_int=False)


def test_valid_float_arrays_are_not_copied():
    for dt in (np.float32, np.float64):
        w = np.ones(3, dtype=dt)
        assert as_float_array(w, "w") is w


# -- scalars: 0-d arrays like NumPy scalars ----------------------------------------------------

@pytest.mark.parametrize("lam", [0.1, np.float32(0.1), np.float64(0.1), np.array(0.1), np.array(0.1, dtype=np.float32)])
def test_lambda_as_python_numpy_scalar_or_0d_array(lam):
    for cls in (nr.L1, nr.L2):
        pen = cls(lam)
        assert type(pen.lam) is float and pen.lam == float(np.asarray(lam))
    assert nr.ElasticNet(lam, np.array(0.5)).l1_ratio == 0.5
    assert MaxNorm(np.array(2.0)).c == 2.0
    assert check_scalar(np.array(3), "n", integer=True, low=1) == 3


@pytest.mark.parametrize("bad", [np.array([0.1]), np.array(True), np.array("0.1"), [0.1], "0.1", None, True, 1j])
def test_non_scalars_refused_naming_the_argument(bad):
    with pytest.raises(TypeError, match="lam must be a real number"):
        nr.L1(bad)


def test_0d_array_bounds_are_checked():
    with pytest.raises(ValueError, match="lam must be >= 0.0"):
        nr.L2(np.array(-0.1))
    with pytest.raises(ValueError, match="lam must be finite"):
        nr.L2(np.array(np.nan))


# -- prox with step 0 is the identity; a negative step is an error --------------------------

@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prox_with_zero_step_is_the_identity(pen, dtype):
    v = np.array([0.2, -3.0, 0.0], dtype=dtype)
    for step in (0.0, 0, np.float32(0.0), np.array(0.0)):
        out = pen.prox(v, step)
        assert out.dtype == dtype and out is not v
        np.testing.assert_array_equal(out, v)
    # and it is the limit of small steps, not a special case that disagrees with them
    np.testing.assert_allclose(pen.prox(v, 1e-12), v, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("step", [-1.0, -1e-300, np.nan, np.inf, "1"])
def test_prox_step_negative_or_non_finite_raises(pen, step):
    with pytest.raises((ValueError, TypeError), match="step"):
        pen.prox(np.ones(3), step)


def test_check_step():
    assert check_step(0) == 0.0 and check_step(np.array(0.5)) == 0.5
    with pytest.raises(ValueError, match="learning_rate must be >= 0.0"):
        check_step(-0.1, "learning_rate")


# -- groups: a label vector or index lists, one meaning ---------------------------------------

@settings(max_examples=80, deadline=None)
@given(labels=st.lists(st.integers(-3, 5), min_size=1, max_size=20))
def test_label_vector_and_index_lists_define_the_same_penalty(labels):
    labels = np.array(labels)
    lists = [np.flatnonzero(labels == g).tolist() for g in np.unique(labels)]
    a, b = nr.GroupLasso(0.7, labels), nr.GroupLasso(0.7, lists)
    assert a == b and a.groups == b.groups
    w = np.linspace(-1.0, 2.0, labels.size)
    assert a(w) == b(w)
    np.testing.assert_array_equal(a.prox(w, 0.3), b.prox(w, 0.3))
    # the penalty from its definition: lam * sum_g sqrt(|g|) * ||w_g||
    want = 0.7 * sum(np.sqrt(np.sum(labels == g)) * np.linalg.norm(w[labels == g]) for g in np.unique(labels))
    np.testing.assert_allclose(a(w), want, rtol=1e-12)


def test_group_spellings():
    want = ((0, 1), (2, 3, 4))
    assert as_groups([0, 0, 1, 1, 1]) == want
    assert as_groups(np.array([7, 7, 9, 9, 9])) == want
    assert as_groups(["a", "a", "b", "b", "b"]) == want
    assert as_groups([0.0, 0.0, 1.0, 1.0, 1.0]) == want
    assert as_groups([[0, 1], [2, 3, 4]]) == want
    assert as_groups(([0, 1], np.array([2, 3, 4]))) == want
    assert as_groups([1, 0, 1]) == ((1,), (0, 2))  # groups need not be contiguous
    # a 2-D integer array: one row per group, like the list of lists it came from
    assert as_groups(np.array([[0, 2], [1, 3]])) == ((0, 2), (1, 3))
    assert nr.GroupLasso(1.0, [0, 0, 1]).get_config() == {"lam": 1.0, "groups": [[0, 1], [2]]}


@pytest.mark.parametrize(
    ("groups", "exc", "match"),
    [
        (np.array([[True, False], [False, True]]), TypeError, "boolean matrix; a membership mask is ambiguous"),
        (np.zeros((2, 2, 2), dtype=int), ValueError, "must be 1-D .* or index lists"),
        ([0.5, 1.0], TypeError, "integer \\(or string\\) labels"),
        ([0, [1, 2]], ValueError, r"groups\[0\] must be a non-empty 1-D list"),
        ([[0, 1], [1, 2]], ValueError, "disjoint; index 1"),
        (5, TypeError, "label vector such as"),
        (None, TypeError, "label vector such as"),
        ({0: [0]}, TypeError, "label vector such as"),
    ],
)
def test_bad_groups_say_what_to_pass(groups, exc, match):
    with pytest.raises(exc, match=match):
        nr.GroupLasso(1.0, groups)


def test_groups_n_features():
    with pytest.raises(ValueError, match="cover every one of the 4 coefficients; they cover 3"):
        as_groups([0, 0, 1], n_features=4)


# -- scipy sparse ----------------------------------------------------------------------------

def test_sparse_refused_with_toarray_hint_or_accepted_on_request():
    X = scipy.sparse.random(5, 4, density=0.5, format="csr", random_state=0)
    assert is_sparse(X) and not is_sparse(X.toarray())
    with pytest.raises(TypeError, match=r"X is a SciPy sparse matrix .*pass X.toarray\(\)"):
        as_float_array(X, "X")
    with pytest.raises(TypeError, match=r"w is a SciPy sparse matrix"):
        nr.L1(1.0)(X)
    got = as_float_array(X, "X", accept_sparse="csc")
    assert got.format == "csc" and got.dtype == np.float64
    np.testing.assert_array_equal(got.toarray(), X.toarray())
    ints = scipy.sparse.csr_matrix(np.array([[1, 0], [0, 2]]))
    assert as_float_array(ints, "X", accept_sparse=True).dtype == np.float64
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="X must not contain NaN or Inf"):
        as_float_array(bad, "X", accept_sparse=True)
    with pytest.raises(ValueError, match="X must be 1-dimensional"):
        as_float_array(X, "X", ndim=1, accept_sparse=True)


# -- tensors of autodiff frameworks (item 25): a clear TypeError, never a silent conversion ---

def test_foreign_tensor_detection_does_not_need_the_libraries():
    # fake classes whose module names are those of the frameworks
    fakes = {"tensorflow.python.framework.ops": "TensorFlow", "keras.src.backend.common.keras_tensor": "Keras",
             "jax._src.interpreters.partial_eval": "JAX", "torch": "PyTorch"}
    for module, lib in fakes.items():
        cls = type("FakeTensor", (), {"__module__": module, "__array__": lambda self, *a, **k: np.ones(2)})
        sub = type("Sub", (cls,), {"__module__": "user_code"})
        assert foreign_tensor_library(cls()) == lib and foreign_tensor_library(sub()) == lib
        with pytest.raises(TypeError, match=rf"w is a {lib} tensor .*normreg.keras.L1\(lam=0.1\)"):
            nr.L1(0.1)(cls())
        with pytest.raises(TypeError, match=rf"x is a {lib} tensor .*np.asarray\(x\)"):
            nr.norm(cls())
    assert foreign_tensor_library(np.ones(2)) is None and foreign_tensor_library([1.0]) is None


def test_numpy_penalty_given_tensorflow_tensors_raises_pointing_to_normreg_keras():
    tf = pytest.importorskip("tensorflow")
    eager = tf.constant([1.0, -2.0])
    with pytest.raises(TypeError, match=r"normreg.keras.L2\(lam=0.1\)"):
        nr.L2(0.1)(eager)
    with pytest.raises(TypeError, match=r"TensorFlow tensor"):
        nr.L1(0.1).grad(tf.Variable([1.0]))

    @tf.function
    def traced(w):
        return nr.L1(0.1)(w)

    with pytest.raises(TypeError, match=r"normreg.keras.L1\(lam=0.1\)"):
        traced(eager)


def test_numpy_penalty_as_keras_regularizer_fails_clearly_at_first_use():
    keras = pytest.importorskip("keras")
    layer = keras.layers.Dense(2, kernel_regularizer=nr.L1(0.1))
    model = keras.Sequential([keras.Input((3,)), layer])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 3), dtype=np.float32)
    with pytest.raises(TypeError, match=r"Keras tensor|TensorFlow tensor") as info:
        model.fit(x, np.zeros((4, 2), dtype=np.float32), epochs=1, verbose=0)
    assert "normreg.keras.L1(lam=0.1)" in str(info.value)
    assert "numpy() is only available" not in str(info.value)


def test_numpy_penalty_given_a_jax_array_raises():
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises(TypeError, match=r"w is a JAX tensor .*normreg.keras.GroupLasso"):
        nr.GroupLasso(1.0, [0, 0])(jnp.ones(2))
