r"""Norm constraints: projections onto a norm ball, applied after each update (chapter 3).

A penalty adds :math:`\lambda\,\Omega(w)` to the loss; a constraint instead restricts the
weights to a set :math:`\mathcal C` and, after every gradient step, replaces them by their
*projection* :math:`P_{\mathcal C}(W) = \arg\min_{V \in \mathcal C}\|V - W\|_F`, the closest
point of the set (projected gradient descent).

:class:`MaxNorm` is the max-norm constraint of Srivastava et al. (2014), used with dropout:
every unit's vector of incoming weights must have an L2 norm of at most :math:`c`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._validation import as_float_array, check_scalar
from .norms import _pow2_scale, norm

__all__ = ["MaxNorm"]


class MaxNorm:
    r"""Max-norm constraint: every slice along ``axis`` has L2 norm at most ``c``.

    For a dense layer's kernel :math:`W` of shape ``(n_inputs, n_units)``, ``axis=0`` (the
    default, as in Keras's ``constraints.MaxNorm``) takes the norm of each *column*
    :math:`w_j = W_{:,j}`, the incoming weights of unit :math:`j`. The set

    .. math::

        \mathcal C = \{W : \|w_j\|_2 \le c \text{ for every } j\}

    is a product of balls, so the projection acts column by column: a column inside its
    ball is kept, a column outside is scaled back onto the sphere,

    .. math::

        P_{\mathcal C}(W)_{:,j} = w_j \, \min\Big(1, \frac{c}{\|w_j\|_2}\Big).

    That is the closest point of :math:`\mathcal C` in the Frobenius norm: for a column with
    :math:`\|w_j\|_2 > c` the residual :math:`w_j - v_j` is a non-negative multiple of
    :math:`v_j`, the outward normal of the ball at :math:`v_j` (the KKT condition). The norms
    are computed as :math:`s_j \rho_j` with :math:`s_j` a power of two (exact scaling) and a
    rescaled column as :math:`c\,(w_j/s_j)/\rho_j`, so huge or tiny weights and any
    :math:`c` neither overflow nor underflow, from subnormals to the largest float; a
    rescaled column whose computed norm would exceed :math:`c` by rounding has its factor
    lowered by an ulp or so, so the result is always feasible.

    Unlike Keras's version, which divides by :math:`\epsilon + \|w_j\|` (:math:`\epsilon = 10^{-7}`)
    and so slightly shrinks every column, including those inside the ball, this projection leaves
    feasible columns exactly unchanged and is idempotent.

    Parameters
    ----------
    c : float
        The largest allowed norm, > 0.
    axis : int or tuple of ints
        Axis (or axes) over which each norm is taken; ``axis=0`` constrains columns of a
        matrix, ``axis=1`` its rows, and ``(0, 1, 2)`` each output channel of a convolution
        kernel of shape ``(h, w, c_in, c_out)``.

    Example
    -------
    >>> import numpy as np
    >>> from normreg.constraints import MaxNorm
    >>> W = np.array([[3.0, 0.3], [4.0, 0.4]])   # column norms 5 and 0.5
    >>> MaxNorm(1.0).project(W)
    array([[0.6, 0.3],
           [0.8, 0.4]])
    """

    def __init__(self, c: float, axis: int | tuple[int, ...] = 0) -> None:
        self.c = check_scalar(c, "c", low=0.0, low_open=True)
        self.axis = _check_axis(axis)

    def project(self, W: Any) -> np.ndarray:
        """The projection of ``W`` onto the constraint set (a new array, ``W``'s dtype and shape)."""
        w = as_float_array(W, "W")
        axes = _resolve_axes(self.axis, w.ndim)
        # each slice's norm as scale * rho, scale a power of two (exact division), so that
        # slices of huge or tiny entries neither overflow nor underflow
        w64 = w.astype(np.float64)
        scale = _pow2_scale(np.abs(w64).max(axis=axes, keepdims=True))
        u = w64 / scale
        rho = np.sqrt(np.sum(u * u, axis=axes, keepdims=True))
        with np.errstate(over="ignore", under="ignore"):
            outside = rho > self.c / scale  # ||w_j|| > c; c / scale is exact or over/underflows safely
        if not outside.any():
            return w.copy()
        direction = u / np.where(outside, rho, 1.0)  # w_j / ||w_j|| on the slices to rescale
        mult = np.where(outside, self.c, 1.0)
        eps = float(np.finfo(w.dtype).eps)

        def rescaled() -> np.ndarray:
            with np.errstate(over="ignore", under="ignore"):
                return np.where(outside, direction * mult, w64).astype(w.dtype)

        out = rescaled()
        # Rounding can leave a rescaled slice an ulp or two above c (more where its entries
        # are subnormal); shrink the multiplier of those, by a factor that doubles each
        # time, so that the result is feasible and projecting it again changes nothing.
        for k in range(64):
            over = outside & (_slice_norms(out, axes) > self.c)
            if not over.any():
                break
            mult = np.where(over, mult * (1.0 - min(0.5, eps * 2.0**k)), mult)
            out = rescaled()
        return out

    __call__ = project

    def norms(self, W: Any) -> np.ndarray:
        """The L2 norm of every slice of ``W`` along ``axis`` (the reduced axes kept with size one)."""
        w = as_float_array(W, "W")
        return _slice_norms(w, _resolve_axes(self.axis, w.ndim))

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, so that ``MaxNorm(**con.get_config())`` rebuilds ``con``."""
        return {"c": self.c, "axis": self.axis if len(self.axis) > 1 else self.axis[0]}

    def __repr__(self) -> str:
        cfg = self.get_config()
        return f"MaxNorm(c={cfg['c']!r}, axis={cfg['axis']!r})"


def _slice_norms(w: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """L2 norms over ``axes`` (kept), in float64, safe from overflow (via :func:`normreg.norm`)."""
    rest = tuple(i for i in range(w.ndim) if i not in axes)
    moved = np.moveaxis(w.astype(np.float64), axes + rest, tuple(range(w.ndim)))
    flat = moved.reshape((-1,) + moved.shape[len(axes) :])
    n = norm(flat, ord=2, axis=0)
    shape = tuple(1 if i in axes else w.shape[i] for i in range(w.ndim))
    return np.asarray(n).reshape(shape)


def _resolve_axes(axis: tuple[int, ...], nd: int) -> tuple[int, ...]:
    for a in axis:
        if not -nd <= a < nd:
            raise ValueError(f"axis {a} is out of bounds for W with {nd} dimensions")
    axes = tuple(a % nd for a in axis)
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis must name different axes; got {axis!r}")
    return axes


def _check_axis(axis: Any) -> tuple[int, ...]:
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return (int(axis),)
    if isinstance(axis, (tuple, list)) and len(axis) > 0 and all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis
    ):
        return tuple(int(a) for a in axis)
    raise TypeError(f"axis must be an int or a non-empty tuple of ints; got {axis!r}")
