"""Chapter 1's resampling helpers and figures (bias-variance spread, error against df).

The data each figure draws is checked against an independent computation (fits made here
with numpy.polynomial, the datasets module called directly), and that every axis is
labelled. No pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
from figure_checks import assert_labelled

from normreg.analysis import bias_variance_decomposition, covariance_df, effective_df
from normreg.datasets import make_polynomial_data
from normreg.viz import overfitting as vo


def _polyfit_predict(x, y, degree, x_new):
    return np.polynomial.polynomial.Polynomial.fit(x, y, degree)(x_new)


def test_resampled_predictions_are_fits_on_successive_seeds():
    grid = np.linspace(-1, 1, 7)
    P = vo.resampled_predictions(grid, 4, 3, seed=10, n_samples=15, noise=0.3)
    assert P.shape == (4, 7)
    for r in range(4):
        x, y = make_polynomial_data(15, noise=0.3, seed=10 + r)
        np.testing.assert_allclose(P[r], _polyfit_predict(x, y, 3, grid), rtol=1e-9, atol=1e-12)
    # the penalty reaches the fits
    Q = vo.resampled_predictions(grid, 4, 3, lam=1.0, seed=10, n_samples=15, noise=0.3)
    assert not np.allclose(P, Q)


def test_resampled_test_errors_are_independent_train_and_test_draws():
    e = vo.resampled_test_errors(3, 2, seed=20, n_samples=12, n_test=40)
    for r in range(3):
        x, y = make_polynomial_data(12, noise=0.2, seed=20 + 2 * r)
        xt, yt = make_polynomial_data(40, noise=0.2, seed=21 + 2 * r)
        assert e[r] == pytest.approx(np.mean((_polyfit_predict(x, y, 2, xt) - yt) ** 2), rel=1e-9)


def test_decomposition_of_resampled_fits_matches_monte_carlo():
    # The chapter's check on other seeds: degree 3 and a penalized degree 9,
    # bias^2 + variance + sigma^2 against the brute-force mean test error. Both are means
    # over 400 training sets, so the tolerance combines both standard errors.
    grid = -1 + (2 * np.arange(200) + 1) / 200  # midpoints: the mean is the integral over U[-1, 1]
    truth = np.sin(np.pi * grid)
    for degree, lam in ((3, 0.0), (9, 1e-2)):
        P = vo.resampled_predictions(grid, 400, degree, lam, seed=300)
        bv = bias_variance_decomposition(P, truth, 0.2)
        per_fit = np.mean((P - truth) ** 2, axis=1)
        assert bv.bias2 + bv.variance == pytest.approx(per_fit.mean(), rel=1e-10)
        mc = vo.resampled_test_errors(400, degree, lam, seed=9000)
        se = np.hypot(mc.std(ddof=1), per_fit.std(ddof=1)) / np.sqrt(400)
        assert abs(bv.expected_error - mc.mean()) < 4 * se
        assert bv.bias2 > 0 and bv.variance > 0.005


def test_plot_fit_spread_draws_the_fits_and_their_mean():
    grid = np.linspace(-1, 1, 11)
    P1 = vo.resampled_predictions(grid, 8, 3, seed=0)
    P2 = vo.resampled_predictions(grid, 8, 3, lam=0.1, seed=0)
    fig, data = vo.plot_fit_spread(grid, [P1, P2], ["a", "b"], truth=lambda t: np.sin(np.pi * t), n_show=5)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    for ax, P, shown, mean in zip(fig.axes, (P1, P2), data["shown"], data["mean"], strict=True):
        np.testing.assert_array_equal(shown, P[:5])
        np.testing.assert_allclose(mean, np.sum(P, axis=0) / 8)  # the mean of all 8, not of 5
        lines = ax.get_lines()
        assert len(lines) == 5 + 2
        for ln, row in zip(lines[:5], P[:5], strict=True):
            np.testing.assert_array_equal(ln.get_ydata(), row)
        np.testing.assert_array_equal(lines[5].get_ydata(), mean)
        assert lines[5].get_label() == "mean of 8 fits"
    np.testing.assert_allclose(data["truth"], np.sin(np.pi * grid))
    assert_labelled(fig)


def test_plot_error_vs_df_draws_each_curve_at_its_df():
    (x, y), (xt, yt) = make_polynomial_data(20, seed=0), make_polynomial_data(100, seed=1)
    sweep = vo.degree_sweep(x, y, xt, yt, range(6))
    lams = np.logspace(0, -6, 5)
    fits = [vo.fit_polynomial(x, y, 8, lam) for lam in lams]
    df = effective_df(vo.polynomial_features(x, 8), lams)
    tr = [f.mse(x, y) for f in fits]
    te = [f.mse(xt, yt) for f in fits]
    fig, data = vo.plot_error_vs_df([("plain", sweep.degrees + 1, sweep.train_mse, sweep.test_mse), ("L2", df, tr, te)])
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(1, 7))
    np.testing.assert_array_equal(lines[2].get_xdata(), df)
    np.testing.assert_array_equal(lines[3].get_ydata(), te)
    assert [ln.get_label() for ln in lines] == ["train, plain", "test, plain", "train, L2", "test, L2"]
    assert fig.axes[0].get_yscale() == "log"
    assert np.allclose(data[1]["x"], df)
    assert_labelled(fig)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: vo.resampled_predictions([0.0], 0, 3), ValueError, "n_sets must be >= 1"),
        (lambda: vo.resampled_predictions([0.0], 2, 3, lam=-1.0), ValueError, "lam must be >= 0"),
        (lambda: vo.resampled_predictions([[0.0]], 2, 3), ValueError, "x_eval must be 1-dimensional"),
        (lambda: vo.resampled_test_errors(2, 1.5), TypeError, "degree must be an integer"),
        (lambda: vo.resampled_test_errors(2, 1, n_test=0), ValueError, "n_test must be >= 1"),
        (lambda: vo.plot_fit_spread([0.0, 1.0], [], []), ValueError, "non-empty"),
        (lambda: vo.plot_fit_spread([0.0, 1.0], [np.ones((2, 3))], ["a"]), ValueError, "2 columns"),
        (lambda: vo.plot_fit_spread([0.0, 1.0], [np.ones((2, 2))], ["a", "b"]), ValueError, "equal length"),
        (lambda: vo.plot_error_vs_df([]), ValueError, "curves must not be empty"),
    ],
)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_chapter1_exercise_solutions_say_what_the_code_prints():
    # The numbers quoted in the worked solutions of chapter 1's exercises.
    x, y = make_polynomial_data(20, noise=0.2, seed=0)
    xt, yt = make_polynomial_data(500, noise=0.2, seed=1)
    # ex-ovf-1 (test MSE on all 500 test points)
    lams1 = (1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0)
    te = {lam: vo.fit_polynomial(x, y, 15, lam).mse(xt, yt) for lam in lams1}
    assert round(te[1e-12]) == 36 and round(te[1e-10], 1) == 5.7
    assert max(te[1e-8], te[1e-6], te[1e-4]) < 0.1 and min(te, key=te.get) == 1e-6
    assert round(te[1e-6], 3) == 0.065 and round(te[1e-2], 2) == 0.11 and round(te[1.0], 2) == 0.51
    tr = [vo.fit_polynomial(x, y, 15, lam).mse(x, y) for lam in (1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0)]
    assert np.all(np.diff(tr) > 0) and round(tr[0], 4) == 0.0056 and round(tr[-1], 2) == 0.23
    # ex-ovf-2 (normal equations against the package, and the two condition numbers)
    Phi = vo.polynomial_features(x, 15)
    Pc, yc = Phi - Phi.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Pc.T @ Pc / 20 + 1e-3 * np.eye(15), Pc.T @ yc / 20)
    assert 1e-14 < np.max(np.abs(w - vo.fit_polynomial(x, y, 15, 1e-3).coef)) < 1e-12
    assert round(np.linalg.cond(Pc.T @ Pc) / 1e12) == 3 and round(np.linalg.cond(Pc) / 1e6, 1) == 1.7
    # ex-ovf-3
    from normreg import conventions

    lam32 = conventions.to_book(0.3, "sklearn-mlp", n_samples=32)
    assert round(lam32, 4) == 0.0094 and 4.5 < lam32 / (0.3 / 150) < 5
    # ex-ovf-df-cov
    rng = np.random.default_rng(0)
    f = np.sin(np.pi * x)
    Y = f + 0.2 * rng.standard_normal((2000, 20))
    F = np.array([vo.fit_polynomial(x, yy, 15, 1e-3).predict(x) for yy in Y])
    est = covariance_df(F, Y, f, 0.2)
    exact = effective_df(vo.polynomial_features(x, 15), 1e-3)
    assert round(est.df, 2) == 6.32 and round(est.se, 2) == 0.08 and round(exact, 2) == 6.24
    assert abs(est.df - exact) < est.se
    # ex-ovf-bv-lambda
    grid = np.linspace(-1, 1, 201)
    out = {}
    for lam in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0):
        P = vo.resampled_predictions(grid, 100, 15, lam, seed=1000)
        out[lam] = bias_variance_decomposition(P, np.sin(np.pi * grid), noise=0.2)
    lams = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    assert [round(out[lam].bias2, 4 if lam < 1e-2 else 3 if lam < 1e-1 else 2) for lam in lams] == [
        0.0008, 0.0074, 0.040, 0.16, 0.37
    ]
    assert [round(out[lam].variance, 3 if lam > 1e-4 else 2) for lam in lams] == [0.16, 0.045, 0.034, 0.025, 0.023]
    sums = [out[lam].expected_error for lam in lams]
    assert int(np.argmin(sums)) == 1 and round(sums[1], 3) == 0.092
    assert round(out[1e-6].variance) == 4 and out[1e-5].bias2 < 0
    # ex-ovf-validation
    chosen = []
    for seed in range(2, 12):
        xv, yv = make_polynomial_data(20, noise=0.2, seed=seed)
        chosen.append(int(np.argmin(vo.degree_sweep(x, y, xv, yv, range(16)).test_mse)))
    assert sum(c in (4, 5, 6) for c in chosen) == 8 and chosen[-2:] == [10, 10]


def test_plot_train_test_reference_lines_are_what_the_chapter_caption_says():
    # fig-ovf-mlp-sweep's caption: green lines, dotted for train, dash-dotted for test.
    fig, data = vo.plot_train_test(
        [1e-3, 1e-2], [1.0, 0.9], [0.8, 0.85], xlabel="x", ylabel="y", logx=True, reference=(1.0, 0.83)
    )
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["train", "test", "train, no penalty", "test, no penalty"]
    assert [ln.get_linestyle() for ln in lines[2:]] == [":", "-."]
    assert [ln.get_color() for ln in lines[2:]] == ["C2", "C2"]
    assert [tuple(ln.get_ydata()) for ln in lines[2:]] == [(1.0, 1.0), (0.83, 0.83)]
    assert fig.axes[0].get_xscale() == "log"
    np.testing.assert_array_equal(data["test"], [0.8, 0.85])
    assert_labelled(fig)
