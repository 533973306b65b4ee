"""symupdates under real PyMC: ``pm.fit(method="advi", obj_optimizer=...)``.

PyMC calls ``obj_optimizer(grads, params)`` with its ELBO gradients and the approximation's ``mu`` and
``rho``, so any symupdates rule or chain (a ``Transform``) can be passed where a ``pm.<rule>`` goes. Skipped
where PyMC is not installed, except with ``SYMUPDATES_REQUIRE_PYMC=1`` (CI's PyMC legs), where a missing
PyMC fails instead of passing silently.

Each fit is tiny (a two-dimensional model, ten steps) and compiled with ``FAST_COMPILE``: what is compared is
the update graph PyMC's rule builds with ours, not PyTensor's backends (tests/integration/test_backends.py
checks those); one adam fit per test run uses the default mode to cover the path PyMC users take. The last
test is examples/full_batch.py's MAP point by ``symupdates.lbfgs`` against ``pm.find_MAP``.
"""

import functools
import importlib
import os
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

if os.environ.get("SYMUPDATES_REQUIRE_PYMC"):
    import pymc as pm
else:
    pm = pytest.importorskip("pymc", reason="PyMC is not installed (CI's PyMC legs require it)")

import symupdates as su
from support import ROOT

# PyMC's nine rules with hyper-parameters that move the fit visibly in ten steps (PyMC's defaults otherwise).
PYMC_RULES = {
    "sgd": {"learning_rate": 0.05},
    "momentum": {"learning_rate": 0.05},
    "nesterov_momentum": {"learning_rate": 0.05},
    "adagrad": {"learning_rate": 0.1},
    "adagrad_window": {"learning_rate": 0.1},
    "rmsprop": {"learning_rate": 0.05},
    "adadelta": {"learning_rate": 1.0},
    "adam": {"learning_rate": 0.1},
    "adamax": {"learning_rate": 0.1},
}
STEPS = 10
FAST = {"mode": "FAST_COMPILE"}


def model(nan_gradient=None):
    """Two latent means and three observations; with ``nan_gradient`` (a shared 0/1 flag) a term whose value
    is 0 but whose gradient is NaN while the flag is 1, as a gradient that overflows would be."""
    with pm.Model() as m:
        x = pm.Normal("x", 0.0, 1.0, shape=2)
        pm.Normal("y", x.sum(), 1.0, observed=np.array([0.3, -0.5, 1.1]))
        if nan_gradient is not None:
            zero = pytensor.shared(0.0, name="zero")  # not a constant, so no rewrite removes sqrt(0 * x)
            pm.Potential("nan_gradient", pt.switch(nan_gradient, pt.sqrt(zero * x.sum()), 0.0))
    return m


def fit(optimizer, *, steps=STEPS, compile_kwargs=FAST, seed=3, **kwargs):
    """``pm.fit`` with ADVI; returns the approximation's mean and standard deviation (float64 arrays)."""
    with model():
        approx = pm.fit(
            steps,
            method="advi",
            obj_optimizer=optimizer,
            random_seed=seed,
            progressbar=False,
            compile_kwargs=compile_kwargs,
            **kwargs,
        )
    return mean_and_std(approx)


def mean_and_std(approx):
    mu, rho = (p.get_value() for p in approx.params)
    return mu, np.log1p(np.exp(rho))  # PyMC's MeanField std is softplus(rho)


@functools.cache
def unmoved():
    """The approximation after ten steps of size zero: where every fit starts."""
    return fit(su.sgd(learning_rate=0.0))


def assert_same_fit(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rule", sorted(PYMC_RULES))
def test_each_pymc_rule_fits_as_pymc(rule):
    hyper = PYMC_RULES[rule]
    ours = fit(getattr(su, rule)(**hyper))
    theirs = fit(getattr(pm, rule)(**hyper))
    assert_same_fit(ours, theirs)
    assert not np.allclose(ours[0], unmoved()[0])  # the fit moved: the comparison is not of two no-ops


def test_adam_in_the_default_mode_fits_as_pymc():
    assert_same_fit(
        fit(su.adam(learning_rate=0.1), compile_kwargs={}), fit(pm.adam(learning_rate=0.1), compile_kwargs={})
    )


def test_adamw_is_adam_plus_decoupled_decay_under_pm_fit():
    # adamw with weight_decay=0 is PyMC's adam (given adam's epsilon placement; adamw's default is torch's),
    # and a decay pulls the mean towards 0.
    assert_same_fit(
        fit(su.adamw(learning_rate=0.1, weight_decay=0.0, epsilon_placement="hat")),
        fit(pm.adam(learning_rate=0.1)),
    )
    adam_mu, _ = fit(su.adam(learning_rate=0.1))
    decayed_mu, _ = fit(su.adamw(learning_rate=0.1, weight_decay=5.0))
    assert np.all(np.abs(decayed_mu) < np.abs(adam_mu))


def test_chain_with_clipping_and_warmup_cosine_schedule_under_pm_fit():
    """A schedule is an expression of the step counter, so one compiled step function changes its learning
    rate every step (pymc#6954). Reference: what PyMC users do today -- PyMC's global-norm clipping
    (``total_grad_norm_constraint``) and ``pm.sgd`` whose shared learning rate a callback sets after each
    step. PyMC divides by ``norm + 1e-7`` where we divide by ``norm``: equal to ~1e-7 relative."""
    rates = su.warmup_cosine_decay_schedule(0.0, 0.2, warmup_steps=3, decay_steps=STEPS)
    ours = fit(su.chain(su.clip_by_global_norm(1.0), su.scale_by_learning_rate(rates)))

    lr = pytensor.shared(0.0, name="lr")
    schedule = rates(np.arange(1, STEPS + 1)).eval()

    def next_rate(approx, losses, i):
        lr.set_value(schedule[i - 1])

    theirs = fit(pm.sgd(learning_rate=lr), total_grad_norm_constraint=1.0, callbacks=[next_rate])
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not np.allclose(ours[0], fit(pm.sgd(learning_rate=0.2), total_grad_norm_constraint=1.0)[0])


def test_reduce_on_plateau_on_the_elbo_pm_fit_reports():
    """The optimizer gets only gradients, so the plateau watches a shared scalar that a callback sets to the
    loss (negative ELBO) ``pm.fit`` just reported: step k decides on the loss of step k - 1, and the first
    step, whose input is NaN, changes nothing. Checked against a NumPy replay on ``inference.hist``."""
    elbo = pytensor.shared(np.nan, name="elbo")
    built = {}

    def optimizer(grads, params):
        built["updates"] = su.sgd(
            grads, params, learning_rate=su.reduce_on_plateau(elbo, 0.1, factor=0.5, patience=2)
        )
        return built["updates"]

    def report(approx, losses, i):
        elbo.set_value(losses[-1])

    with model():
        inference = pm.ADVI(random_seed=3)
        inference.fit(
            STEPS, obj_optimizer=optimizer, progressbar=False, compile_kwargs=FAST, callbacks=[report]
        )
    state = {v.name: v.get_value() for v in built["updates"].state}
    # NumPy replay of the plateau rule (patience 2, rtol 1e-4, one loss per check) on the losses it saw.
    best, bad, scale = np.inf, 0, 1.0
    for loss in inference.hist[:-1]:
        if loss < (1 - 1e-4) * best:
            best, bad = loss, 0
        else:
            bad += 1
            if bad >= 2:
                scale, bad = scale * 0.5, 0
    assert len(inference.hist) == STEPS
    assert state["plateau.best"] == best
    assert state["plateau.scale"] == scale < 1.0  # it did reduce: the check is not vacuous


def test_apply_if_finite_skips_a_nan_step_where_pymc_raises():
    """Step 4's gradient is NaN (a callback raises the flag after step 3). PyMC's adam writes NaN into the
    approximation and ``pm.fit`` raises FloatingPointError; wrapped in apply_if_finite the step changes
    nothing, is counted, and the fit goes on."""
    flag = pytensor.shared(np.int8(0), name="nan_gradient")

    def raise_flag_after_step_3(approx, losses, i):
        flag.set_value(np.int8(i == 3))

    def run(optimizer, trace):
        flag.set_value(np.int8(0))
        with model(nan_gradient=flag):
            return pm.fit(
                STEPS,
                method="advi",
                obj_optimizer=optimizer,
                random_seed=3,
                progressbar=False,
                compile_kwargs=FAST,
                callbacks=[
                    lambda a, losses, i: trace.append([p.get_value() for p in a.params]),
                    raise_flag_after_step_3,
                ],
            )

    with pytest.raises(FloatingPointError):
        run(pm.adam(learning_rate=0.1), [])

    built, trace = {}, []

    def optimizer(grads, params):
        built["updates"] = su.apply_if_finite(su.adam(learning_rate=0.1))(grads, params)
        return built["updates"]

    approx = run(optimizer, trace)
    skipped = {v.name: v.get_value() for v in built["updates"].state}["apply_if_finite.skipped"]
    assert skipped == 1
    for before, after in zip(trace[2], trace[3], strict=True):  # trace[k] is after step k + 1
        np.testing.assert_array_equal(before, after)
    assert all(np.all(np.isfinite(p.get_value())) for p in approx.params)
    assert not np.array_equal(trace[3][0], trace[4][0])  # the steps after it are taken


class Resumable:
    """An ``obj_optimizer`` that keeps the updates it builds and, given a checkpoint, loads it into them:
    the state variables exist only once PyMC has called the rule, inside ``pm.fit``."""

    def __init__(self, rule, checkpoint=None):
        self.rule, self.checkpoint, self.updates = rule, checkpoint, None

    def __call__(self, grads, params):
        self.updates = self.rule(grads, params)
        if self.checkpoint is not None:
            su.load_state(self.updates, self.checkpoint)
        return self.updates


def test_a_second_pm_fit_resumes_the_optimizer_state_from_a_checkpoint(tmp_path):
    """Each ``pm.fit`` call builds new optimizer state (PyMC's own rules start again from zero moments) and
    draws a new Monte-Carlo seed, so what a checkpoint can reproduce is a second fit on the same inference
    whose optimizer state was carried over. Reference: the state copied in memory from the first fit's
    variables to the second's. Resumed: the first fit's state saved to a file, every variable then
    overwritten, and the file loaded into the second fit's fresh state."""
    rule = su.adam(learning_rate=0.1)

    def two_fits(second):
        with model():
            inference = pm.ADVI(random_seed=3)
            first = Resumable(rule)
            inference.fit(STEPS, obj_optimizer=first, progressbar=False, compile_kwargs=FAST)
            approx = inference.fit(STEPS, obj_optimizer=second(first), progressbar=False, compile_kwargs=FAST)
        return mean_and_std(approx)

    def carried_in_memory(first):
        def optimizer(grads, params):
            updates = rule(grads, params)
            for old, new in zip(first.updates.state, updates.state, strict=True):
                new.set_value(old.get_value())
            return updates

        return optimizer

    path = tmp_path / "advi.npz"

    def from_checkpoint(first):
        su.save_state(first.updates, path, include_params=True)
        for var in [*first.updates.state, *first.updates.params]:
            var.set_value(np.full_like(var.get_value(), 7))
        return Resumable(rule, checkpoint=path)

    reference = two_fits(carried_in_memory)
    assert_same_fit(two_fits(from_checkpoint), reference)
    for exact, restarted in zip(reference, two_fits(lambda first: rule), strict=True):
        assert not np.allclose(exact, restarted)  # without the state the second fit differs


def test_lbfgs_finds_the_same_map_point_as_find_map():
    """examples/full_batch.py's MAP comparison: ``symupdates.lbfgs`` on a model's ``-logp`` in the
    unconstrained space (``sigma`` as ``sigma_log__``) lands where ``pm.find_MAP`` does, to 1e-6."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        full_batch = importlib.import_module("full_batch")
    finally:
        sys.path.remove(str(ROOT / "examples"))
    points, _ = full_batch.pymc_map(mode="FAST_COMPILE")
    assert set(points) == {"alpha", "beta", "sigma_log__"}
    for name, (ours, theirs) in points.items():
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=full_batch.MAP_TOLERANCE, err_msg=name)
