"""symupdates.implicit_gradient on ridge regression, against the closed form of the regularisation path."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su


def ridge_data(seed=0):
    rng = np.random.default_rng(seed)
    X, Xv = rng.normal(size=(40, 6)), rng.normal(size=(30, 6))
    w_true = rng.normal(size=6)
    return X, X @ w_true + 0.5 * rng.normal(size=40), Xv, Xv @ w_true + 0.5 * rng.normal(size=30)


def test_ridge_hypergradient_equals_the_closed_form():
    # inner: 0.5 ||X w - y||^2 + 0.5 exp(s) ||w||^2, w* = (X'X + lam I)^-1 X'y, lam = exp(s);
    # d w*/d lam = -(X'X + lam I)^-1 w*; outer: 0.5 ||Xv w* - yv||^2 + 0.01 s^2 (a direct term too).
    X, y, Xv, yv = ridge_data()
    s_value = np.log(3.0)
    lam = np.exp(s_value)
    A = X.T @ X + lam * np.eye(6)
    w_star = np.linalg.solve(A, X.T @ y)
    dw = -np.linalg.solve(A, w_star)
    expected = (Xv.T @ (Xv @ w_star - yv)) @ dw * lam + 0.02 * s_value

    w = pytensor.shared(w_star, name="w")
    s = pt.dscalar("s")
    inner = 0.5 * ((pt.dot(X, w) - y) ** 2).sum() + 0.5 * pt.exp(s) * (w**2).sum()
    outer = 0.5 * ((pt.dot(Xv, w) - yv) ** 2).sum() + 0.01 * s**2
    (grad,) = su.implicit_gradient(outer, inner, [w], [s])
    value = pytensor.function([s], grad)(s_value)
    np.testing.assert_allclose(value, expected, rtol=1e-8)
    assert abs(expected) > 1e-2


def test_two_params_and_two_hyperparams():
    # w penalised by lam1, the bias b by lam2: the augmented system [X 1] with penalty diag(lam1.., lam2).
    X, y, Xv, yv = ridge_data(1)
    lam1, lam2 = 2.0, 0.5
    Xa, Xva = np.c_[X, np.ones(len(X))], np.c_[Xv, np.ones(len(Xv))]
    D1, D2 = np.diag([1.0] * 6 + [0.0]), np.diag([0.0] * 6 + [1.0])
    A = Xa.T @ Xa + lam1 * D1 + lam2 * D2
    z = np.linalg.solve(A, Xa.T @ y)
    outer_grad = Xva.T @ (Xva @ z - yv)
    expected = [outer_grad @ -np.linalg.solve(A, D @ z) for D in (D1, D2)]

    w = pytensor.shared(z[:6], name="w")
    b = pytensor.shared(z[6], name="b")
    l1, l2 = pt.dscalar("l1"), pt.dscalar("l2")
    inner = 0.5 * ((pt.dot(X, w) + b - y) ** 2).sum() + 0.5 * l1 * (w**2).sum() + 0.5 * l2 * b**2
    outer = 0.5 * ((pt.dot(Xv, w) + b - yv) ** 2).sum()
    grads = su.implicit_gradient(outer, inner, [w, b], [l1, l2])
    values = pytensor.function([l1, l2], grads)(lam1, lam2)
    np.testing.assert_allclose(values, expected, rtol=1e-8)


def test_bad_arguments():
    w = pytensor.shared(np.ones(2), name="w")
    lam = pt.dscalar("lam")
    inner = ((w - 1) ** 2).sum() + lam * (w**2).sum()
    with pytest.raises(ValueError, match="outer_loss must be a scalar"):
        su.implicit_gradient(w, inner, [w], [lam])
    with pytest.raises(TypeError, match="params must be"):
        su.implicit_gradient(inner, inner, [pt.dvector()], [lam])
    with pytest.raises(ValueError, match="max_iter"):
        su.implicit_gradient(inner, inner, [w], [lam], max_iter=0)
