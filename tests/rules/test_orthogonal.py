"""muon against a NumPy implementation of torch's algorithm in float32 (its numbers in float64 and against
torch itself are in tests/integration/test_parity.py); 2-D params only, and the documented routing of the
others to adamw."""

import numpy as np
import pytensor
import pytest

import symupdates as su
from support.modes import EQUATIONS

A, B, C = 3.4445, -4.775, 2.0315


def reference_newton_schulz(m, steps=5, eps=1e-7):
    x = m.T if m.shape[0] > m.shape[1] else m
    x = x / max(np.sqrt(np.sum(x**2)), x.dtype.type(eps))
    for _ in range(steps):
        gram = x @ x.T
        x = A * x + (B * gram + C * gram @ gram) @ x
    return x.T if m.shape[0] > m.shape[1] else x


def reference_muon(p, grads, lr, wd, mu):
    """torch.optim.Muon's _single_tensor_muon (nesterov, adjust_lr_fn=None) in p's dtype."""
    buf = np.zeros_like(p)
    ratio = np.sqrt(max(1.0, p.shape[0] / p.shape[1]))
    out = []
    for g in grads:
        buf = mu * buf + (1 - mu) * g
        update = reference_newton_schulz((1 - mu) * g + mu * buf)
        p = p * (1 - lr * wd) - lr * ratio * update
        out.append(p)
    return out


@pytest.mark.fast
def test_float32_muon_matches_torchs_algorithm_and_stays_float32():
    rng = np.random.default_rng(0)
    params = [
        pytensor.shared(rng.normal(size=s).astype("float32"), name=f"W{i}")
        for i, s in enumerate([(3, 5), (4, 2)])
    ]
    initial = [p.get_value() for p in params]
    grads = [[rng.normal(size=p.get_value().shape).astype("float32") for p in params] for _ in range(5)]
    inputs = [pytensor.tensor.tensor(dtype="float32", shape=p.type.shape) for p in params]
    updates = su.muon(inputs, params, learning_rate=0.05, weight_decay=0.1, momentum=0.9)
    assert all(expr.dtype == "float32" for expr in updates.values())
    step = pytensor.function(inputs, [], updates=updates, mode=EQUATIONS)
    for t, g in enumerate(grads):
        step(*g)
        for k, p in enumerate(params):
            want = reference_muon(
                initial[k].astype("float64"),
                [gs[k].astype("float64") for gs in grads[: t + 1]],
                0.05,
                0.1,
                0.9,
            )[-1]
            np.testing.assert_allclose(p.get_value(), want, rtol=0, atol=2e-5, err_msg=f"param {k} step {t}")


def test_orthogonalized_step_has_singular_values_near_one():
    m = np.random.default_rng(1).normal(size=(6, 4)) * np.array([10.0, 1.0, 0.3, 0.1])
    s = np.linalg.svd(su.newton_schulz(pytensor.tensor.as_tensor_variable(m)).eval(), compute_uv=False)
    assert s.shape == (4,) and np.all((s > 0.3) & (s < 1.3)), s  # from a condition number of about 100


def test_other_params_go_to_adamw_through_multi_transform():
    rng = np.random.default_rng(2)
    values = [rng.normal(size=(3, 2)), rng.normal(size=3)]
    routed = [pytensor.shared(v.copy(), name=n) for v, n in zip(values, ["W", "b"], strict=True)]
    alone = [pytensor.shared(v.copy(), name=n) for v, n in zip(values, ["W", "b"], strict=True)]
    labels = ["muon" if p.ndim == 2 else "adamw" for p in routed]
    rule = su.multi_transform({"muon": su.muon(learning_rate=0.02), "adamw": su.adamw()}, labels)
    updates = {
        **rule(routed, routed),
        **su.muon(alone[:1], alone[:1], learning_rate=0.02),
        **su.adamw(alone[1:], alone[1:]),
    }  # the loss gradients are the params themselves
    step = pytensor.function([], [], updates=updates, mode=EQUATIONS)
    for _ in range(3):
        step()
    for a, b in zip(routed, alone, strict=True):
        np.testing.assert_array_equal(a.get_value(), b.get_value())
        assert not np.array_equal(a.get_value(), values[routed.index(a)])


def test_bad_arguments_are_refused_when_built():
    b = pytensor.shared(np.ones(3), name="b")
    with pytest.raises(ValueError, match=r"params\[0\] \(b\) of ndim 1"):
        su.muon([b], [b])
    with pytest.raises(ValueError, match="ns_steps"):
        su.muon(ns_steps=2.5)
    with pytest.raises(ValueError, match="adjust_lr_fn"):
        su.muon(adjust_lr_fn="sqrt")
    with pytest.raises(ValueError, match="ns_coefficients"):
        su.muon(ns_coefficients=(1.0, 2.0))
