r"""The analysis behind the pictures: effective degrees of freedom, bias and variance.

Everything here uses the book's convention for ridge regression (chapter 1, chapter 3),
the mean squared loss with an unpenalized intercept :math:`b`,

.. math::

    J_\lambda(w, b) = \frac{1}{2m}\lVert Xw + b\mathbf 1 - y\rVert_2^2
    + \frac{\lambda}{2}\lVert w\rVert_2^2 ,

which is scikit-learn's ``Ridge(alpha=m * lam)``. The module needs only NumPy.

Example
-------
>>> import numpy as np
>>> from normreg.analysis import effective_df
>>> X = np.eye(3)[:, :2]                      # 3 samples, 2 features
>>> round(effective_df(X, 0.0), 12)           # intercept + rank of the centred X
3.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import as_float_array, check_scalar

__all__ = [
    "effective_df",
    "BiasVariance",
    "bias_variance_decomposition",
    "ridge_shrinkage_factors",
    "CovarianceDF",
    "covariance_df",
]


def _check_lams(lam: Any) -> tuple[np.ndarray, bool]:
    """``lam`` (a scalar or an array of values >= 0) as a float64 array, and whether it was a scalar."""
    if np.ndim(lam) == 0:
        return np.array([check_scalar(lam, "lam", low=0.0)]), True
    lams = as_float_array(lam, "lam", allow_int=True).astype(np.float64)
    if np.any(lams < 0):
        raise ValueError(f"lam must be >= 0; got min(lam) = {lams.min()!r}")
    return lams, False


def _centred_singular_values(X: np.ndarray, fit_intercept: bool) -> tuple[np.ndarray, float]:
    """Singular values of ``X`` (centred if ``fit_intercept``) divided by a power of two ``s``.

    Returns ``(d / s, s)``. Scaling by a power of two is exact, so entries anywhere in the
    floating-point range neither overflow in the mean nor in the SVD.
    """
    Xd = X.astype(np.float64, copy=False)
    amax = float(np.max(np.abs(Xd)))
    if amax == 0.0:
        return np.zeros(min(Xd.shape)), 1.0
    scale = float(np.ldexp(1.0, int(np.frexp(amax)[1])))  # power of two >= amax
    Xs = Xd / scale
    if fit_intercept:
        Xs = Xs - Xs.mean(axis=0)
    return np.linalg.svd(Xs, compute_uv=False), scale


def effective_df(X: Any, lam: Any, *, fit_intercept: bool = True) -> float | np.ndarray:
    r"""Effective degrees of freedom of ridge regression in the book's convention.

    The fitted values of ridge are linear in :math:`y`, :math:`\hat y = H_\lambda y`, and
    its degrees of freedom are the trace of the hat matrix :math:`H_\lambda`
    (Hastie, Tibshirani & Friedman 2009, §3.4.1). Setting the gradient of
    :math:`J_\lambda` to zero gives :math:`b = \bar y - \bar x^\top w` and
    :math:`(X_c^\top X_c + m\lambda I)\,w = X_c^\top y_c` for the centred :math:`X_c`,
    :math:`y_c`, so that

    .. math::

        H_\lambda = \tfrac1m \mathbf 1\mathbf 1^\top
        + X_c (X_c^\top X_c + m\lambda I)^{-1} X_c^\top,
        \qquad
        \operatorname{df}(\lambda) = \operatorname{tr} H_\lambda
        = 1 + \sum_j \frac{d_j^2}{d_j^2 + m\lambda},

    with :math:`d_j` the singular values of :math:`X_c`. The :math:`1` is the unpenalized
    intercept and :math:`m\lambda` (not :math:`\lambda`) appears because the data loss is a
    mean. Without an intercept (``fit_intercept=False``), :math:`X` is not centred and the
    :math:`1` is dropped. At :math:`\lambda = 0` the sum counts the non-zero singular
    values (the rank, with ``numpy.linalg.matrix_rank``'s tolerance); as
    :math:`\lambda \to \infty` it falls to 0.

    Parameters
    ----------
    X : array_like, shape (m, p)
        Design matrix (float32, float64 or integers), finite.
    lam : float or array_like of floats
        Penalty strength(s) :math:`\lambda \ge 0` of ``L2(lam)``. An array gives one
        value per entry, with the SVD computed once.
    fit_intercept : bool
        Whether the model has an unpenalized intercept (the package's default).

    Returns
    -------
    float or ndarray
        :math:`\operatorname{df}(\lambda)`, a float for a scalar ``lam``, else an array of
        the shape of ``lam``.

    Example
    -------
    >>> import numpy as np
    >>> from normreg.analysis import effective_df
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> np.round(effective_df(X, [0.0, 1.0, 1e9]), 6)   # d^2 = 3, 1 and m = 3
    array([3.  , 1.75, 1.  ])
    """
    Xa = as_float_array(X, "X", ndim=2, allow_int=True)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be a bool; got {fit_intercept!r}")
    lams, scalar = _check_lams(lam)
    m = Xa.shape[0]
    d, scale = _centred_singular_values(Xa, bool(fit_intercept))
    tol = (d.max() if d.size else 0.0) * max(Xa.shape) * np.finfo(np.float64).eps
    nonzero = d > tol
    dk = d[nonzero]
    # d_j^2 / (d_j^2 + m lam) = 1 / (1 + t^2) with t = sqrt(m lam) / d_j, computed on the
    # scaled singular values: t = (sqrt(m) sqrt(lam) / scale) / (d_j / scale). No overflow:
    # a huge t gives t^2 = inf and a term of 0, the right limit.
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        root = np.sqrt(float(m)) * np.sqrt(lams.ravel()) / scale
        t = root[:, None] / dk[None, :]
        terms = 1.0 / (1.0 + t * t)
    df = terms.sum(axis=1) + (1.0 if fit_intercept else 0.0)
    if scalar:
        return float(df[0])
    return df.reshape(np.shape(lams))


@dataclass(frozen=True)
class BiasVariance:
    r"""The decomposition of an expected squared test error, averaged over test points.

    ``bias2``, ``variance`` and ``noise`` are averages over the test points;
    ``expected_error`` is their sum, :math:`\text{bias}^2 + \text{variance} + \sigma^2`.
    ``mean_prediction``, ``bias2_pointwise`` and ``variance_pointwise`` have one entry per
    test point.
    """

    bias2: float
    variance: float
    noise: float
    mean_prediction: np.ndarray
    bias2_pointwise: np.ndarray
    variance_pointwise: np.ndarray

    @property
    def expected_error(self) -> float:
        """:math:`\\text{bias}^2 + \\text{variance} + \\sigma^2`."""
        return self.bias2 + self.variance + self.noise


def bias_variance_decomposition(predictions: Any, truth: Any, noise: float = 0.0) -> BiasVariance:
    r"""Estimate bias², variance and noise from fits on resampled training sets.

    Let :math:`\hat f_r`, :math:`r = 1..R`, be the same method fitted on :math:`R`
    independent training sets, evaluated at test points :math:`x_1..x_n`, and let the
    targets be :math:`y = f(x) + \varepsilon` with :math:`\operatorname{E}\varepsilon = 0`,
    :math:`\operatorname{Var}\varepsilon = \sigma^2`, independent of the training data.
    At each test point the expected squared error splits into three terms
    (Hastie, Tibshirani & Friedman 2009, §7.3):

    .. math::

        \operatorname{E}\big(y - \hat f(x)\big)^2
        = \underbrace{\big(\operatorname{E}\hat f(x) - f(x)\big)^2}_{\text{bias}^2}
        + \underbrace{\operatorname{Var}\hat f(x)}_{\text{variance}}
        + \sigma^2 .

    The estimates are unbiased: the variance is the sample variance over the :math:`R`
    fits (divisor :math:`R - 1`), and the squared bias of the sample mean
    :math:`\bar f = \frac1R\sum_r \hat f_r` is corrected for the mean's own variance,
    :math:`\widehat{\text{bias}^2} = (\bar f - f)^2 - \widehat{\operatorname{Var}}/R`
    (it can therefore come out slightly negative when the true bias is negligible). Both
    are then averaged over the test points, which estimates the expectation over
    :math:`x` when the points are drawn from (or are a fine uniform grid of) the test
    distribution.

    Parameters
    ----------
    predictions : array_like, shape (R, n)
        Row :math:`r` is fit :math:`r` evaluated at the :math:`n` test points; :math:`R \ge 2`.
    truth : array_like, shape (n,)
        The noise-free :math:`f(x_i)`.
    noise : float
        The noise standard deviation :math:`\sigma \ge 0`; ``noise**2`` is added.

    Example
    -------
    >>> import numpy as np
    >>> from normreg.analysis import bias_variance_decomposition
    >>> preds = np.array([[1.0, 2.0], [3.0, 2.0]])   # two fits at two points
    >>> bv = bias_variance_decomposition(preds, [0.0, 2.0], noise=0.5)
    >>> bv.bias2, bv.variance, bv.expected_error
    (1.5, 1.0, 2.75)
    """
    P = as_float_array(predictions, "predictions", ndim=2, allow_int=True).astype(np.float64)
    f = as_float_array(truth, "truth", ndim=1, allow_int=True).astype(np.float64)
    sigma = check_scalar(noise, "noise", low=0.0)
    R, n = P.shape
    if R < 2:
        raise ValueError(f"predictions must have at least 2 rows (fits); got shape {P.shape}")
    if f.shape[0] != n:
        raise ValueError(
            f"truth must have one entry per column of predictions ({n}); got {f.shape[0]}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        mean = P.mean(axis=0)
        var = P.var(axis=0, ddof=1)
        bias2 = (mean - f) ** 2 - var / R
    if not (np.isfinite(var).all() and np.isfinite(bias2).all()):
        raise ValueError("predictions are too large: their variance overflows float64")
    return BiasVariance(
        bias2=float(bias2.mean()),
        variance=float(var.mean()),
        noise=sigma**2,
        mean_prediction=mean,
        bias2_pointwise=bias2,
        variance_pointwise=var,
    )


# -- chapter 3: ridge in the eigenbasis, and degrees of freedom by simulation ----------------


def ridge_shrinkage_factors(X: Any, lam: Any, *, fit_intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
    r"""Singular values :math:`d_j` of the (centred) design and ridge's shrinkage factors.

    With the centred design's SVD :math:`X_c = U D V^\top`, the least-squares fit is
    :math:`X_c\hat w_0 = \sum_j u_j u_j^\top y` and ridge's, in the book's convention
    :math:`\frac{1}{2m}\lVert Xw + b - y\rVert^2 + \frac\lambda2\lVert w\rVert^2`, is

    .. math::

        X_c\hat w_\lambda = \sum_j u_j\,\frac{d_j^2}{d_j^2 + m\lambda}\,u_j^\top y,
        \qquad
        \hat w_\lambda = \sum_j v_j\,\frac{d_j}{d_j^2 + m\lambda}\,u_j^\top y

    (Goodfellow et al. 2016 §7.1.1; Hastie, Tibshirani & Friedman 2009 §3.4.1): each
    principal direction of the data is kept by the factor :math:`d_j^2/(d_j^2 + m\lambda)`,
    the directions of small variance most strongly shrunk. The factors sum to
    :func:`effective_df` (minus the intercept's 1).

    Parameters
    ----------
    X : array_like, shape (m, p)
        Design matrix, finite.
    lam : float or array_like
        :math:`\lambda \ge 0` of ``L2(lam)``; an array gives one row of factors per entry.
    fit_intercept : bool
        Centre the columns first (the model has an unpenalized intercept).

    Returns
    -------
    d : ndarray, shape (k,)
        The singular values of :math:`X_c` (of :math:`X` without intercept), descending,
        :math:`k = \min(m, p)`. Values that overflow float64 are ``inf``.
    factors : ndarray, shape (k,) or lam's shape + (k,)
        :math:`d_j^2/(d_j^2 + m\lambda)`. A direction with :math:`d_j = 0` (numerically:
        below ``numpy.linalg.matrix_rank``'s tolerance) is not in the column space: its
        factor is 0 for every :math:`\lambda`.

    Example
    -------
    >>> import numpy as np
    >>> from normreg.analysis import ridge_shrinkage_factors
    >>> X = np.diag([3.0, 1.0, 0.0])  # m = 3
    >>> d, f = ridge_shrinkage_factors(X, 1.0, fit_intercept=False)
    >>> d, f                          # 9 / (9 + 3), 1 / (1 + 3), and a null direction
    (array([3., 1., 0.]), array([0.75, 0.25, 0.  ]))
    """
    Xa = as_float_array(X, "X", ndim=2, allow_int=True)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be a bool; got {fit_intercept!r}")
    lams, scalar = _check_lams(lam)
    m = Xa.shape[0]
    ds, scale = _centred_singular_values(Xa, bool(fit_intercept))
    tol = (ds.max() if ds.size else 0.0) * max(Xa.shape) * np.finfo(np.float64).eps
    nonzero = ds > tol
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        d = ds * scale
        root = np.sqrt(float(m)) * np.sqrt(lams.ravel()) / scale
        t = root[:, None] / np.where(nonzero, ds, 1.0)[None, :]
        factors = np.where(nonzero[None, :], 1.0 / (1.0 + t * t), 0.0)
    if scalar:
        return d, factors[0]
    return d, factors.reshape(np.shape(lams) + (ds.size,))


@dataclass(frozen=True)
class CovarianceDF:
    r"""A Monte Carlo estimate of :math:`\operatorname{df} = \sum_i \operatorname{Cov}(\hat y_i, y_i)/\sigma^2`.

    ``df`` is the mean of ``samples`` (one value per simulated data set) and ``se`` its
    standard error, ``samples.std(ddof=1) / sqrt(R)``.
    """

    df: float
    se: float
    samples: np.ndarray


def covariance_df(predictions: Any, y: Any, mean: Any, sigma: float) -> CovarianceDF:
    r"""Degrees of freedom of any fitting procedure, estimated from simulated data sets.

    For :math:`y = \mu + \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, \sigma^2 I)`, the
    degrees of freedom of a procedure :math:`y \mapsto \hat y(y)` are (Efron 2004)

    .. math::

        \operatorname{df} = \frac{1}{\sigma^2}\sum_{i=1}^m \operatorname{Cov}(\hat y_i, y_i)
        = \frac{1}{\sigma^2}\operatorname{E}\big[\hat y^\top (y - \mu)\big],

    the second form because :math:`\operatorname{E}(y - \mu) = 0`. With the true mean
    :math:`\mu` known (a simulation) and :math:`R` simulated data sets, the estimate is the
    mean of

    .. math::

        s_r = \frac{R}{R - 1}\,\frac{(\hat y_r - \bar{\hat y})^\top (y_r - \mu)}{\sigma^2},
        \qquad \bar{\hat y} = \frac1R\sum_r \hat y_r ,

    which is unbiased (the factor :math:`R/(R-1)` undoes the centring's bias). Centring
    removes the term :math:`\operatorname{E}[\hat y]^\top(y_r - \mu)`, of mean zero but of
    large variance when :math:`\lVert\mu\rVert` is large; the standard error is that of
    the mean of the :math:`s_r` treated as independent (they share :math:`\bar{\hat y}`,
    a dependence of order :math:`1/R`). This makes no assumption about the procedure:
    for a linear smoother :math:`\hat y = Hy` it estimates :math:`\operatorname{tr} H`; for
    the lasso it is an independent check of Zou, Hastie & Tibshirani's (2007) theorem that
    the number of non-zero coefficients is an unbiased estimate of df.

    Parameters
    ----------
    predictions : array_like, shape (R, m)
        :math:`\hat y_r`, the procedure's fitted values on simulated data set :math:`r`; :math:`R \ge 2`.
    y : array_like, shape (R, m)
        The simulated responses :math:`y_r`.
    mean : array_like, shape (m,)
        The true mean :math:`\mu` they were drawn around.
    sigma : float
        The noise standard deviation :math:`\sigma > 0`.

    Example
    -------
    >>> import numpy as np
    >>> from normreg.analysis import covariance_df
    >>> rng = np.random.default_rng(0)
    >>> mu = np.zeros(20); Y = mu + rng.standard_normal((4000, 20))
    >>> est = covariance_df(Y, Y, mu, 1.0)    # y_hat = y: an interpolant has df = m
    >>> abs(est.df - 20) < 4 * est.se
    True
    """
    P = as_float_array(predictions, "predictions", ndim=2, allow_int=True).astype(np.float64)
    Y = as_float_array(y, "y", ndim=2, allow_int=True).astype(np.float64)
    mu = as_float_array(mean, "mean", ndim=1, allow_int=True).astype(np.float64)
    s = check_scalar(sigma, "sigma", low=0.0, low_open=True)
    if Y.shape != P.shape:
        raise ValueError(f"y must have the shape of predictions {P.shape}; got {Y.shape}")
    if mu.shape[0] != P.shape[1]:
        raise ValueError(f"mean must have one entry per column of predictions ({P.shape[1]}); got {mu.shape[0]}")
    if P.shape[0] < 2:
        raise ValueError(f"predictions must have at least 2 rows (simulated data sets); got shape {P.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        R = P.shape[0]
        samples = np.einsum("ri,ri->r", P - P.mean(axis=0), Y - mu) / s / s * (R / (R - 1))
    if not np.isfinite(samples).all():
        raise ValueError("predictions or y are too large: y_hat . (y - mean) / sigma^2 overflows float64")
    return CovarianceDF(df=float(samples.mean()), se=float(samples.std(ddof=1) / np.sqrt(R)), samples=samples)
