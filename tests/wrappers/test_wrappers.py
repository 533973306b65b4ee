"""Wrappers against NumPy implementations of their definitions, all in one compiled function over float32
and float64 params; the NaN guard leaves every shared variable bit-identical; accumulating k micro-batches
equals one step on their concatenation; flattened rules equal the rules themselves, with in-place updates."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from pytensor.compile.ops import DeepCopyOp

import symupdates as su
from support.params import gradient_sequence, make_params
from support.reference import OTHER, REFERENCES

TOLERANCE = {"float64": 1e-10, "float32": 2e-5}
B1, B2, EPS = 0.9, 0.999, 1e-8


# A scalar and a matrix per dtype: enough for masks by ndim, small enough to compile quickly.
SHAPES = [(), (2, 3)]


def mixed_params(prefix, seed=7):
    return make_params("float64", seed=seed, shapes=SHAPES, prefix=prefix + "d") + make_params(
        "float32", seed=seed, shapes=SHAPES, prefix=prefix + "s"
    )


class AdamRef:
    """Lasagne's adam step for one array, in the array's dtype."""

    def __init__(self, like, learning_rate):
        self.t, self.m, self.v = 0, np.zeros_like(like), np.zeros_like(like)
        self.c = {k: like.dtype.type(x) for k, x in dict(lr=learning_rate, b1=B1, b2=B2, eps=EPS).items()}

    def __call__(self, g):
        c, one = self.c, g.dtype.type(1)
        self.t += 1
        self.m = c["b1"] * self.m + (one - c["b1"]) * g
        self.v = c["b2"] * self.v + (one - c["b2"]) * g**2
        correction = np.sqrt(one - c["b2"] ** self.t) / (one - c["b1"] ** self.t)
        return -c["lr"] * correction * self.m / (np.sqrt(self.v) + c["eps"])


def sgd_ref(like, learning_rate):
    lr = like.dtype.type(learning_rate)
    return lambda g: -lr * g


def adagrad_ref(like, learning_rate, epsilon=1e-6):
    state = {"a": np.zeros_like(like)}
    lr, eps = like.dtype.type(learning_rate), like.dtype.type(epsilon)

    def step(g):
        state["a"] = state["a"] + g**2
        return -lr * g / np.sqrt(state["a"] + eps)

    return step


class Plain:
    """A param following ``rule``'s steps."""

    def __init__(self, p0, rule):
        self.p, self.rule = p0, rule

    def __call__(self, g):
        self.p = self.p + self.rule(g)
        return self.p


class Lookahead(Plain):
    def __init__(self, p0, rule, k, alpha):
        super().__init__(p0, rule)
        self.slow, self.k, self.alpha, self.t = p0.copy(), k, p0.dtype.type(alpha), 0

    def __call__(self, g):
        fast = super().__call__(g)
        self.t += 1
        if self.t % self.k == 0:
            self.slow = self.slow + self.alpha * (fast - self.slow)
            self.p = self.slow
        return self.p


class Ema(Plain):
    def __init__(self, p0, rule, decay):
        super().__init__(p0, rule)
        self.average, self.decay = p0.copy(), p0.dtype.type(decay)

    def __call__(self, g):
        p = super().__call__(g)
        self.average = self.decay * self.average + (p.dtype.type(1) - self.decay) * p
        return p


class Accumulate(Plain):
    def __init__(self, p0, rule, k):
        super().__init__(p0, rule)
        self.k, self.total, self.calls = k, np.zeros_like(p0), 0

    def __call__(self, g):
        self.total, self.calls = self.total + g, self.calls + 1
        if self.calls % self.k == 0:
            self.p = self.p + self.rule(self.total / self.p.dtype.type(self.k))
            self.total = np.zeros_like(self.total)
        return self.p


def is_weight(p):
    return p.ndim > 1


CASES = {
    "multi": (
        su.multi_transform(
            {"w": su.adam(learning_rate=0.01), "b": su.sgd(learning_rate=0.1)},
            lambda p: "w" if is_weight(p) else "b",
        ),
        lambda p0, param: Plain(p0, AdamRef(p0, 0.01) if is_weight(param) else sgd_ref(p0, 0.1)),
    ),
    "masked": (
        su.chain(su.masked(su.scale_by_rss(), is_weight), su.scale_by_learning_rate(0.1)),
        lambda p0, param: Plain(p0, adagrad_ref(p0, 0.1) if is_weight(param) else sgd_ref(p0, 0.1)),
    ),
    "lookahead": (
        su.lookahead(su.adam(learning_rate=0.05), sync_period=3, slow_step_size=0.4),
        lambda p0, param: Lookahead(p0, AdamRef(p0, 0.05), 3, 0.4),
    ),
    "ema": (
        su.parameter_ema(su.sgd(learning_rate=0.1), decay=0.8),
        lambda p0, param: Ema(p0, sgd_ref(p0, 0.1), 0.8),
    ),
    "accumulate": (
        su.accumulate_gradients(su.adam(learning_rate=0.05), 3),
        lambda p0, param: Accumulate(p0, AdamRef(p0, 0.05), 3),
    ),
}


@pytest.mark.fast
def test_wrappers_match_numpy_over_several_steps_in_both_dtypes():
    params = {name: mixed_params(name) for name in CASES}
    grads = {name: [pt.tensor(dtype=p.dtype, shape=p.type.shape) for p in ps] for name, ps in params.items()}
    updates = {}
    results = {}
    for name, (tx, _) in CASES.items():
        results[name] = tx(grads[name], params[name])
        updates.update(results[name])
    fn = pytensor.function(sum(grads.values(), []), [], updates=updates)
    refs = {name: [make(p.get_value(), p) for p in params[name]] for name, (_, make) in CASES.items()}

    for step in gradient_sequence(params["multi"], 9, seed=8):
        fn(*(step * len(CASES)))
        for name in CASES:
            for p, ref, g in zip(params[name], refs[name], step, strict=True):
                want = ref(g)
                assert p.get_value().dtype == want.dtype
                np.testing.assert_allclose(
                    p.get_value(),
                    want,
                    rtol=TOLERANCE[p.dtype],
                    atol=TOLERANCE[p.dtype],
                    err_msg=f"{name} {p.name}",
                )

    averages = su.averaged_parameters(results["ema"])
    assert list(averages) == params["ema"]
    trained = [p.get_value() for p in params["ema"]]
    with su.swap_parameters(averages):
        for p, ref in zip(params["ema"], refs["ema"], strict=True):
            np.testing.assert_allclose(p.get_value(), ref.average, rtol=TOLERANCE[p.dtype])
    for p, value in zip(params["ema"], trained, strict=True):
        np.testing.assert_array_equal(p.get_value(), value)


def test_apply_if_finite_skips_non_finite_steps_leaving_every_shared_variable_bit_identical():
    params = mixed_params("p", seed=9)
    grads = [pt.tensor(dtype=p.dtype, shape=p.type.shape) for p in params]
    schedule = su.warmup_cosine_decay_schedule(0.0, 0.1, 2, 20)
    inner = su.chain(su.clip_by_global_norm(1.0), su.scale_by_adam(), su.scale_by_learning_rate(schedule))
    rule = su.apply_if_finite(su.parameter_ema(su.lookahead(su.accumulate_gradients(inner, 2), 2), 0.9))
    updates = rule(grads, params)
    fn = pytensor.function(grads, updates.monitors["skipped_steps"], updates=updates)
    assert {"schedule.t", "lookahead.t", "accumulate.micro_step", "apply_if_finite.skipped"} <= {
        v.name for v in updates.state
    }

    sequence = gradient_sequence(params, 8, seed=10)
    sequence[3][1] = sequence[3][1].copy()
    sequence[3][1][0, 1] = np.nan
    sequence[5][3] = sequence[5][3].copy()
    sequence[5][3].flat[3] = np.inf
    skipped = 0
    for k, step in enumerate(sequence):
        before = {v: v.get_value().copy() for v in updates}
        reported = fn(*step)
        finite = all(np.isfinite(g).all() for g in step)
        skipped += not finite
        assert reported == skipped
        for v, old in before.items():
            if v.name == "apply_if_finite.skipped":
                assert v.get_value() == skipped
            elif not finite:
                assert v.get_value().tobytes() == old.tobytes(), f"{v.name} changed at skipped step {k}"
        assert all(np.isfinite(v.get_value()).all() for v in updates)
    assert skipped == 2
    assert not np.array_equal(params[1].get_value(), mixed_params("p", seed=9)[1].get_value())


def regression_data(n, seed=11):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)


def regression_loss(w, b, x, y):
    return pt.mean((x @ w + b - y) ** 2)


def test_accumulating_k_micro_batches_equals_one_step_on_their_concatenation():
    k, micro = 4, 5
    x, y = pt.matrix("x"), pt.vector("y")

    def model(tag):
        return [
            pytensor.shared(np.full(3, 0.3), name=f"w{tag}"),
            pytensor.shared(np.float64(0.1), name=f"b{tag}"),
        ]

    rules = {"sgd": su.sgd(learning_rate=0.05), "adam": su.adam(learning_rate=0.05)}
    accumulated = {name: model(f"acc_{name}") for name in rules}
    full = {name: model(f"full_{name}") for name in rules}
    acc_updates, full_updates = {}, {}
    for name, rule in rules.items():
        acc_loss = regression_loss(*accumulated[name], x, y)
        acc_updates.update(su.accumulate_gradients(rule, k)(acc_loss, accumulated[name]))
        full_updates.update(rule(regression_loss(*full[name], x, y), full[name]))
    step_micro = pytensor.function([x, y], [], updates=acc_updates)
    step_full = pytensor.function([x, y], [], updates=full_updates)

    X, Y = regression_data(k * micro * 3)
    for r in range(3):
        batch = slice(r * k * micro, (r + 1) * k * micro)
        start = {name: [p.get_value() for p in ps] for name, ps in accumulated.items()}
        for i in range(k):
            if i:  # params move only on the k-th call
                for name, ps in accumulated.items():
                    for p, s in zip(ps, start[name], strict=True):
                        np.testing.assert_array_equal(p.get_value(), s)
            rows = slice(batch.start + i * micro, batch.start + (i + 1) * micro)
            step_micro(X[rows], Y[rows])
        step_full(X[batch], Y[batch])
        for name in rules:
            for a, b, before in zip(accumulated[name], full[name], start[name], strict=True):
                assert not np.array_equal(a.get_value(), before)
                np.testing.assert_allclose(
                    a.get_value(), b.get_value(), rtol=1e-12, err_msg=f"{name} round {r}"
                )


def test_wrapper_argument_errors():
    (p,) = make_params("float64", shapes=[(3,)])
    with pytest.raises(TypeError, match="inner must be a Transform"):
        su.apply_if_finite("adam")
    with pytest.raises(ValueError, match="every_k must be an integer >= 1"):
        su.accumulate_gradients(su.sgd(), 0)
    with pytest.raises(ValueError, match="sync_period must be an integer >= 1"):
        su.lookahead(su.sgd(), sync_period=1.5)
    with pytest.raises(ValueError, match="mask has 2 entries for 1 params"):
        su.masked(su.sgd(), [True, False])((p**2).sum(), [p])
    with pytest.raises(ValueError, match="missing from transforms"):
        su.multi_transform({"a": su.sgd()}, ["b"])((p**2).sum(), [p])
    with pytest.raises(TypeError, match=r"transforms\['a'\] must be a Transform"):
        su.multi_transform({"a": 1.0}, ["a"])


# -- flatten ----------------------------------------------------------------------------------------------

# Elementwise rules, on which flattening changes nothing; "decayed adam" also reads the (flat) params. Compile
# budget: the numbers are checked on Python thunks, which cost no compilation; NUMBA, whose in-place updates
# are under test, compiles "adam" on float64 params only, as the flatten case of checkpoint_cases.py does (so
# the two tests share compiled loops).
FLAT_RULES = {
    "adam": lambda: su.chain(su.scale_by_adam(), su.scale_by_learning_rate(0.05)),
    "decayed adam": lambda: su.chain(
        su.add_decayed_weights(0.1), su.scale_by_adam(), su.scale_by_learning_rate(0.05)
    ),
    "adagrad": lambda: su.adagrad(**OTHER["adagrad"]),
    "rmsprop": lambda: su.rmsprop(**OTHER["rmsprop"]),
    "momentum": lambda: su.sgd(learning_rate=0.05, momentum=0.5),
    "ema": lambda: su.parameter_ema(su.sgd(learning_rate=0.05), decay=0.8),
}
ADAM = dict(learning_rate=0.05, beta1=B1, beta2=B2, epsilon=EPS)
FLAT_SHAPES = [(), (3,), (2, 3)]
PYTHON_THUNKS = Mode(linker="py", optimizer="fast_compile")
FLAT_TOLERANCE = {"float64": dict(rtol=1e-12, atol=1e-15), "float32": dict(rtol=1e-6, atol=1e-7)}


def interleaved_params(prefix, seed=12):
    """Each shape in float64 and in float32, the dtypes alternating: two groups whose params interleave."""
    doubles = make_params("float64", seed=seed, shapes=FLAT_SHAPES, prefix=prefix + "d")
    singles = make_params("float32", seed=seed, shapes=FLAT_SHAPES, prefix=prefix + "s")
    return [p for pair in zip(doubles, singles, strict=True) for p in pair]


def assert_adam_reference(initial, grads, history):
    """``history[step][k]``, param ``k`` after each step, follows adam (``ADAM``) from ``initial[k]``."""
    for k, p0 in enumerate(initial):
        want = REFERENCES["adam"](p0, [g[k] for g in grads], **ADAM)
        np.testing.assert_allclose(
            [h[k] for h in history], want, rtol=TOLERANCE[p0.dtype.name], atol=TOLERANCE[p0.dtype.name]
        )


def test_flatten_equals_the_rule_itself():
    flat_params = {name: interleaved_params(f"f{k}") for k, name in enumerate(FLAT_RULES)}
    plain_params = {name: interleaved_params(f"r{k}") for k, name in enumerate(FLAT_RULES)}
    initial = [p.get_value() for p in flat_params["adam"]]
    grads = [pt.tensor(dtype=p.dtype, shape=p.type.shape) for p in flat_params["adam"]]
    updates, results = {}, {}
    for name, make in FLAT_RULES.items():
        results[name] = su.flatten(make())(grads, flat_params[name]), make()(grads, plain_params[name])
        for result in results[name]:
            updates.update(result)
    fn = pytensor.function(grads, [], updates=updates, mode=PYTHON_THUNKS)

    sequence = gradient_sequence(flat_params["adam"], 5, seed=13)
    history = []
    for step in sequence:
        fn(*step)
        history.append([p.get_value() for p in flat_params["adam"]])
        for name in FLAT_RULES:
            for flat, plain in zip(flat_params[name], plain_params[name], strict=True):
                assert flat.get_value().dtype == flat.dtype
                np.testing.assert_allclose(
                    flat.get_value(),
                    plain.get_value(),
                    **FLAT_TOLERANCE[flat.dtype],
                    err_msg=f"{name} {flat.name}",
                )
    assert_adam_reference(initial, sequence, history)

    # Inside flatten, parameter_ema keeps one average per dtype, keyed by the flat vector, which swaps.
    flat_averages, plain_averages = (su.averaged_parameters(result) for result in results["ema"])
    assert [v.name for v in flat_averages.values()] == ["flat.float64.ema.shadow", "flat.float32.ema.shadow"]
    trained = [p.get_value() for p in flat_params["ema"]]
    with su.swap_parameters(flat_averages), su.swap_parameters(plain_averages):
        for flat, plain in zip(flat_params["ema"], plain_params["ema"], strict=True):
            np.testing.assert_allclose(flat.get_value(), plain.get_value(), **FLAT_TOLERANCE[flat.dtype])
    for p, value in zip(flat_params["ema"], trained, strict=True):
        np.testing.assert_array_equal(p.get_value(), value)


def test_flatten_adds_a_slice_of_the_flat_step_to_each_param_in_place_without_copies():
    params = make_params("float64", seed=16, shapes=FLAT_SHAPES)
    initial = [p.get_value() for p in params]
    grads = [pt.tensor(dtype=p.dtype, shape=p.type.shape) for p in params]
    fn = pytensor.function(grads, [], updates=su.flatten(FLAT_RULES["adam"]())(grads, params))
    assert not [node for node in fn.maker.fgraph.apply_nodes if isinstance(node.op, DeepCopyOp)]
    for p in params:
        assert su.inspect_step(fn).of(p)["in_place"], f"{p.name} is not updated in place"

    sequence = gradient_sequence(params, 5, seed=17)
    history = []
    for step in sequence:
        fn(*step)
        history.append([p.get_value() for p in params])
    assert_adam_reference(initial, sequence, history)


def test_flatten_keeps_one_state_vector_per_dtype_named_after_it():
    params = interleaved_params("p")
    updates = su.flatten(su.adam(learning_rate=0.1))([pt.zeros_like(p) for p in params], params)
    assert [v.name for v in updates] == [
        "flat.float64.adam.m",
        "flat.float64.adam.v",
        "pd0",
        "flat.float32.adam.m",
        "flat.float32.adam.v",
        "ps0",
        "pd1",
        "ps1",
        "pd2",
        "ps2",
        "adam.t",
    ]
    total = sum(int(np.prod(s)) for s in FLAT_SHAPES)
    assert su.state_of(updates) == [
        ("adam.t", (), np.dtype("int64")),
        ("flat.float64.adam.m", (total,), np.dtype("float64")),
        ("flat.float64.adam.v", (total,), np.dtype("float64")),
        ("flat.float32.adam.m", (total,), np.dtype("float32")),
        ("flat.float32.adam.v", (total,), np.dtype("float32")),
    ]
    for var, expr in updates.items():
        assert expr.type == var.type, var.name
    # A lone vector is its own flat vector.
    (w,) = make_params("float32", shapes=[(4,)])
    lone = su.flatten(su.adagrad())((w**2).sum(), [w])
    assert su.state_of(lone) == [("flat.float32.adagrad.accu", (4,), np.dtype("float32"))]


def rowstat(steps, builder):
    return [s + builder.slot(i, "rowstat", "row", reduced_axis=-1) for i, s in enumerate(steps)]


def test_flatten_refuses_what_a_flat_vector_cannot_run():
    (p,) = make_params("float64", shapes=[(2, 3)])
    with pytest.raises(TypeError, match="inner must be a Transform, got function"):
        su.flatten(su.momentum)
    with pytest.raises(ValueError, match=r"flatten cannot run rowstat: its state rowstat.row is a row or"):
        su.flatten(su.Transform(rowstat, "rowstat"))((p**2).sum(), [p])
    for skipping in (su.apply_if_finite(su.adam()), su.chain(su.accumulate_gradients(su.adam(), 2))):
        with pytest.raises(ValueError, match=r"cannot run \w+: it skips steps .* apply_if_finite\(flatten"):
            su.flatten(skipping)((p**2).sum(), [p])


def test_flatten_inside_apply_if_finite_with_lookahead_inside_skips_non_finite_steps_and_matches_numpy():
    params = interleaved_params("q", seed=14)
    grads = [pt.tensor(dtype=p.dtype, shape=p.type.shape) for p in params]
    updates = su.apply_if_finite(
        su.flatten(su.lookahead(su.adam(learning_rate=0.05), sync_period=2, slow_step_size=0.4))
    )(grads, params)
    assert {"flat.float64.lookahead.slow", "flat.float32.lookahead.slow"} <= {v.name for v in updates.state}
    fn = pytensor.function(grads, [], updates=updates, mode=PYTHON_THUNKS)
    refs = [Lookahead(p.get_value(), AdamRef(p.get_value(), 0.05), 2, 0.4) for p in params]

    sequence = gradient_sequence(params, 6, seed=15)
    sequence[2][3] = np.full_like(sequence[2][3], np.nan)  # a float32 param's gradient: the second group
    for k, step in enumerate(sequence):
        before = {v: v.get_value().copy() for v in updates}
        fn(*step)
        if k == 2:
            for v, old in before.items():
                if v.name != "apply_if_finite.skipped":
                    assert v.get_value().tobytes() == old.tobytes(), f"{v.name} changed at the skipped step"
            continue
        for p, ref, g in zip(params, refs, step, strict=True):
            tol = TOLERANCE[p.dtype]
            np.testing.assert_allclose(p.get_value(), ref(g), rtol=tol, atol=tol, err_msg=f"{p.name} {k}")
    assert [v.get_value() for v in updates.state if v.name == "apply_if_finite.skipped"] == [1]
