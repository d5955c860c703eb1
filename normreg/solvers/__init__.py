r"""Fitting penalized linear models: gradient descent, the subgradient method, ISTA and FISTA (chapter 4).

The package has one module per idea: ``normreg.solvers.losses`` (the smooth losses and
their Lipschitz estimates), ``normreg.solvers.proximal`` (ISTA, FISTA with restart,
gradient descent, the subgradient method: chapter 4), :mod:`~normreg.solvers.duality` (the
duality gap, a certificate of optimality), :mod:`~normreg.solvers.working_set` (gap safe
screening and working sets, the default solver for sparse penalties: chapter 6),
``normreg.solvers.screening`` (the strong rule of the first-order solvers),
``normreg.solvers.problem`` (validation and the prepared problem) and
``normreg.solvers.fit`` (:func:`fit_linear` and the objective written out).

:func:`fit_linear` minimizes, over the coefficients :math:`w \in \mathbb R^p` and an
intercept :math:`b` that is never penalized,

.. math::

    F(w, b) = f(w, b) + \Omega(w), \qquad
    f(w, b) = \begin{cases}
        \dfrac{1}{2m}\,\|Xw + b - y\|_2^2 & \text{squared loss,}\\[1ex]
        \dfrac1m \sum_{i=1}^m \log\!\big(1 + e^{-\tilde y_i (x_i^\top w + b)}\big),
        \ \tilde y_i = 2y_i - 1 & \text{logistic loss,}
    \end{cases}

where :math:`\Omega` is one of the penalties of :mod:`normreg.penalties` (or none). With these
conventions ``L1(a)`` solves scikit-learn's ``Lasso(alpha=a)``, ``ElasticNet(a, r)`` its
``ElasticNet(alpha=a, l1_ratio=r)``, ``L2(a)`` its ``Ridge(alpha=a*m)`` and, for the logistic
loss, ``L2(a)`` its ``LogisticRegression(C=1/(a*m))``.

The default, ``solver="auto"``
------------------------------
For ``L1``, ``ElasticNet`` with ``l1_ratio > 0`` and ``GroupLasso`` (either loss) the default
is the working-set solver of :mod:`normreg.solvers.working_set`: FISTA (below) on a small
working set of coefficients, grown from the optimality conditions, with gap safe screening,
stopping when the duality gap is at most ``tol`` times :math:`F_0` (the objective at
:math:`w = 0` and the best intercept). For other penalties ``"auto"`` is ``"fista"``.

The four first-order solvers
----------------------------
All four take steps of size :math:`t = 1/L`, where :math:`L` estimates the Lipschitz constant
of :math:`\nabla f` (the largest eigenvalue of :math:`X_c^\top X_c/m` for the squared loss, a
quarter of that of :math:`[X, 1]^\top [X, 1]/m` for the logistic loss), found by Lanczos
iteration. Except in the subgradient method, it is raised by backtracking whenever the
sufficient-decrease condition

.. math::

    f(x^+) \le f(y) + \nabla f(y)^\top (x^+ - y) + \tfrac{L}{2}\|x^+ - y\|_2^2

fails (Beck & Teboulle, 2009).

* ``"gd"`` -- gradient descent on :math:`F`; only for smooth penalties (``None``, ``L2``,
  ``ElasticNet`` with ``l1_ratio=0``, or any penalty with ``lam=0``).
* ``"subgradient"`` -- :math:`w_{k+1} = w_k - \eta_k\,(\nabla f(w_k) + g_k)` with
  :math:`g_k` the penalty's minimum-norm subgradient and :math:`\eta_k = 1/(L\sqrt{k})`. It is
  not a descent method, so it returns the best iterate it met. It never produces exact zeros.
* ``"ista"`` -- proximal gradient, :math:`x_{k+1} = \operatorname{prox}_{t\Omega}(x_k - t\nabla f(x_k))`;
  for ``L1`` the prox is soft-thresholding, which sets small coefficients exactly to zero.
* ``"fista"`` -- the accelerated proximal gradient method of Beck & Teboulle (2009): the
  prox step is taken from the extrapolated point
  :math:`y_k = x_k + \frac{t_{k-1} - 1}{t_k}(x_k - x_{k-1})`, which improves the rate from
  :math:`O(1/k)` to :math:`O(1/k^2)`. With ``restart=True`` the momentum is reset
  (:math:`t_k = 1`) whenever the step has a *positive* inner product with the gradient
  mapping, :math:`G_t(y_k)^\top (x_{k+1} - x_k) > 0` with
  :math:`G_t(y_k) = (y_k - x_{k+1})/t`: the step points uphill (the gradient restart of
  O'Donoghue & Candès, 2015). On a strongly convex problem with condition number
  :math:`\kappa`, restarting at a *fixed* interval of order :math:`\sqrt\kappa` provably
  converges linearly, in :math:`O(\sqrt\kappa\,\ln(1/\varepsilon))` iterations; for this
  *adaptive* rule such a rate is observed in practice (chapter 4 measures it) but not proven.

Stopping rule of the first-order solvers
----------------------------------------
Every first-order solver measures optimality by the *gradient mapping*
:math:`G_t(y) = \big(y - \operatorname{prox}_{t\Omega}(y - t\nabla f(y))\big)/t`, which is
zero exactly at a minimizer (for ``"gd"`` it is :math:`\nabla F`). A solver stops, with
``converged=True``, at the first iteration where

.. math::

    \|G_t(y_k)\|_\infty \le \texttt{tol}\cdot g_0, \qquad g_0 = \|\nabla_w f(0, b_0)\|_\infty,

where :math:`b_0` is the best intercept for :math:`w = 0`. For the squared loss
:math:`g_0 = \|X^\top(y - \bar y)\|_\infty/m`, the smallest :math:`\lambda` for which the lasso
solution is :math:`w = 0`, so ``tol`` is relative to the scale of the problem. The logistic
loss's intercept entry of :math:`G_t` is held to :math:`\texttt{tol}\cdot\min(g_0, 1)` instead:
its gradient is a mean of numbers in :math:`[-1, 1]` whatever the scale of :math:`X`, while
:math:`g_0` grows with :math:`X` (features in the thousands would otherwise let the intercept
stop far from its optimum with ``converged=True``). Before it stops,
the solver recomputes the gradient from scratch at the point it returns, :math:`x_{k+1}`, and
requires :math:`\|G_t(x_{k+1})\|_\infty \le 2\,\texttt{tol}\cdot g_0` as well (otherwise it goes
on). A solver that reaches ``max_iter`` first sets ``converged=False`` and warns with
:class:`ConvergenceWarning`.

Implementation notes
--------------------
For the squared loss the intercept is eliminated exactly (:math:`b = \bar y - \bar x^\top w`,
which centers :math:`X` and :math:`y`). The solvers then work either with the data (two
products with :math:`X` per iteration) or with the Gram matrix :math:`X_c^\top X_c/m` and
:math:`X_c^\top y_c/m` (one :math:`p\times p` product per iteration, after a one-off cost of
about :math:`mp^2/2`); ``precompute="auto"`` picks the Gram matrix for :math:`m \ge p` and
:math:`p \le 128` in a single fit, and for every :math:`m \ge p` along a regularization path.
With the Gram matrix and an ``L1``/``ElasticNet`` penalty, ``"ista"`` and ``"fista"`` iterate only
on the coefficients kept by the sequential strong rule (Tibshirani et al., 2012) and then check
the optimality conditions of all the others, adding any violator and solving again, so the
answer is that of the full problem. All solvers keep the linear image (:math:`Gx` or
:math:`Xw + b`) of their iterates up to date by linearity, recomputed every 256 iterations, so
FISTA's extrapolation and its line search cost no extra product. The starting :math:`L` is a
two-step Lanczos estimate, which is below the Lipschitz constant: the line search raises it only
as far as the iterates need. Computations are in float64; ``coef`` has ``X``'s dtype.
"""

from __future__ import annotations

# Internals that normreg.selection and the tests use, re-exported so that the names
# importable from the single-module normreg.solvers of version 0.1.0 stay importable.
from .fit import (  # noqa: F401, I001
    ConvergenceWarning,
    FitResult,
    _result,
    _solve,
    duality_gap,
    fit_linear,
    gradient,
    lipschitz_constant,
    numerical_gradient,
    objective,
)
from .problem import LOSSES, SOLVERS, Loss, Solver, _check_penalty, _check_solver, _check_tol_iter, _Problem  # noqa: F401
from .screening import _l1_threshold  # noqa: F401

__all__ = [
    "ConvergenceWarning",
    "FitResult",
    "fit_linear",
    "objective",
    "duality_gap",
    "gradient",
    "lipschitz_constant",
    "numerical_gradient",
    "LOSSES",
    "SOLVERS",
]
