"""Gradient transformations: small symbolic building blocks that every rule is a chain of.

A ``Transform`` maps one step per parameter to a new step, creating the state it needs through an
``UpdateBuilder`` (optax's ``GradientTransformation``, with PyTensor shared variables as state). Steps are
*added* to the params, so a chain ends with ``scale_by_learning_rate`` (which multiplies by ``-lr``)::

    tx = chain(scale_by_adam(), scale_by_learning_rate(1e-3))
    updates = tx(loss, params)          # == symupdates.adam(loss, params)

Any hyper-parameter may be a ``Schedule`` (``symupdates.schedules``); clipping transforms live in
``symupdates.clipping`` and wrappers (masks, NaN guard, accumulation, lookahead, averaging) in
``symupdates.wrappers``.

Each ``scale_by_*`` transform below carries the equations of one classic rule, in Lasagne's form (epsilon
placement, bias-correction form), so the public optimizers are one-line chains.
"""

import pytensor.tensor as pt

from .gradients import get_or_compute_grads
from .hyperparams import check_hyper, typed
from .updates import UpdateBuilder, describe

__all__ = [
    "Transform",
    "apply",
    "chain",
    "scale",
    "scale_by_learning_rate",
    "scale_by_rss",
    "scale_by_rms",
    "scale_by_adadelta",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_amsgrad",
    "scale_by_window_rss",
    "add_decayed_weights",
    "EPSILON_PLACEMENTS",
]


class Transform:
    """A symbolic gradient transformation.

    Parameters
    ----------
    build : callable
        ``build(steps, builder) -> steps``: maps one step expression per param to new ones, creating and
        updating state through ``builder`` (an ``UpdateBuilder``).
    name : str
        A short description, used in ``repr`` and in checkpoints.
    config : dict, optional
        The hyper-parameters it was made with.

    Calling a transform with ``(loss_or_grads, params)`` returns the updates dict (see ``apply``), so a
    transform is used exactly like a partially applied rule such as ``symupdates.adam(learning_rate=0.01)``.
    """

    def __init__(self, build, name, config=None):
        self.build = build
        self.name = name
        self.config = dict(config or {})

    def __call__(self, loss_or_grads, params):
        return apply(self, loss_or_grads, params)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.name}({args})"


def apply(transform, loss_or_grads, params):
    """Build the updates dict of ``transform`` for a loss (or gradients) and params.

    Each param's update is ``p + step`` where ``step`` is what the transform makes of ``p``'s gradient;
    gradients are first cast to their param's dtype, so a float32 model is updated in float32.

    Parameters
    ----------
    transform : Transform
        For example ``chain(clip_by_global_norm(1.0), scale_by_adam(), scale_by_learning_rate(1e-3))``.
    loss_or_grads : scalar TensorVariable or list of TensorVariable
        A scalar loss, or one gradient expression per param.
    params : list of SharedVariable
        The floating-point shared variables to update.

    Returns
    -------
    Updates
        An ``OrderedDict`` from every param and state variable to its next value, each of its variable's
        exact type, in Lasagne's key order; ``.params`` and ``.state`` list what it updates and
        ``.monitors`` the scalars worth printing (learning rate, gradient norm, skipped steps).

    Examples
    --------
    >>> import numpy as np, pytensor
    >>> import symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = su.apply(su.chain(su.scale_by_rss(), su.scale_by_learning_rate(0.1)), (w ** 2).sum(), [w])
    >>> [v.name for v in updates]
    ['w.adagrad.accu', 'w']
    """
    if not isinstance(transform, Transform):
        raise TypeError(f"transform must be a Transform, got {type(transform).__name__}")
    grads = get_or_compute_grads(loss_or_grads, params)
    params = list(params)
    grads = [pt.as_tensor_variable(g) for g in grads]
    grads = [g if g.dtype == p.dtype else pt.cast(g, p.dtype) for g, p in zip(grads, params)]
    builder = UpdateBuilder(params)
    with builder.active():
        steps = transform.build(list(grads), builder)
        updates = builder.finish([p + s for p, s in zip(params, steps)])
    updates.rule = describe(transform)
    return updates


def chain(*transforms):
    """Compose transforms: each one's output steps are the next one's input.

    Parameters
    ----------
    *transforms : Transform
        Applied left to right, e.g. ``chain(clip_by_global_norm(1.0), scale_by_adam(),
        scale_by_learning_rate(1e-3))``.

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.chain``. State is created in the order the transforms appear, and two transforms of the
    same kind in one chain get distinct state names (``W.adam.m`` and ``W.adam.m#2``).

    Examples
    --------
    >>> import symupdates as su
    >>> su.chain(su.scale_by_adam(), su.scale_by_learning_rate(1e-3))
    chain(transforms=[scale_by_adam(beta1=0.9, beta2=0.999, epsilon=1e-08), scale_by_learning_rate(learning_rate=0.001)])
    """
    for i, t in enumerate(transforms):
        if not isinstance(t, Transform):
            raise TypeError(f"chain argument {i} must be a Transform, got {type(t).__name__}")

    def build(steps, builder):
        for t in transforms:
            steps = t.build(steps, builder)
        return steps

    return Transform(build, "chain", {"transforms": list(transforms)})


def _elementwise(name, config, step_fn):
    """A stateless transform applying ``step_fn(step, dtype)`` to each step."""

    def build(steps, builder):
        return [step_fn(s, p.dtype) for s, p in zip(steps, builder.params)]

    return Transform(build, name, config)


# Where a rule adds epsilon to the root of its second-moment estimate ``v``. Frameworks disagree, and the
# choice changes the numbers whenever ``sqrt(v)`` is not much larger than epsilon (early steps, small
# gradients). One keyword, ``epsilon_placement``, selects the form in every rule that has the choice:
EPSILON_PLACEMENTS = {
    "inside": "sqrt(v + epsilon): Lasagne's adagrad, rmsprop and adadelta; optax's adagrad",
    "outside": "sqrt(v) + epsilon, v bias-corrected if the rule corrects it: torch and optax adam, "
    "torch's adagrad and rmsprop",
    "hat": "sqrt(v) + epsilon with v NOT bias-corrected, the correction applied to the quotient "
    "(Kingma and Ba's 'epsilon hat'): Lasagne's and TF1's adam, torch's radam",
}


def check_placement(value, allowed):
    """Raise a ValueError naming ``epsilon_placement`` unless ``value`` is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"epsilon_placement must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def root(v, epsilon, placement):
    """The denominator ``sqrt(v + epsilon)`` ("inside") or ``sqrt(v) + epsilon`` (otherwise)."""
    return pt.sqrt(v + epsilon) if placement == "inside" else pt.sqrt(v) + epsilon


def with_options(config, **options):
    """``config`` plus each keyword-only ``name=(value, default)`` whose value is not the default, so that
    the repr of a rule made with its defaults stays as short as Lasagne's signature."""
    config = dict(config)
    config.update({k: v for k, (v, default) in options.items() if not (type(v) is type(default) and v == default)})
    return config


def scale(factor):
    """Multiply every step by ``factor``: ``s' = factor * s``.

    Parameters
    ----------
    factor : float or symbolic scalar

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.scale``.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale(-0.1)
    scale(factor=-0.1)
    """
    check_hyper(factor, "factor")
    return _elementwise("scale", {"factor": factor}, lambda s, dtype: typed(factor, dtype) * s)


def scale_by_learning_rate(learning_rate):
    """Turn directions into descent steps: ``s' = -learning_rate * s``.

    Parameters
    ----------
    learning_rate : float, symbolic scalar or Schedule
        A shared variable here can be changed between calls without recompiling; a ``Schedule`` (see
        ``symupdates.schedules``) is evaluated at each step.

    Returns
    -------
    Transform
        Its updates' ``monitors["learning_rate"]`` is the (float64) learning rate each step uses.

    Notes
    -----
    As ``optax.scale_by_learning_rate``: the sign flip is here, so the transforms before it compute
    directions in which the loss increases, like the gradient itself.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_learning_rate(0.01)
    scale_by_learning_rate(learning_rate=0.01)
    """
    check_hyper(learning_rate, "learning_rate")

    def build(steps, builder):
        builder.monitor("learning_rate", typed(learning_rate, "float64"))
        return [-(typed(learning_rate, p.dtype) * s) for s, p in zip(steps, builder.params)]

    return Transform(build, "scale_by_learning_rate", {"learning_rate": learning_rate})


def scale_by_rss(epsilon=1e-6, *, initial_accumulator_value=0.0, epsilon_placement="inside", name="adagrad"):
    """Adagrad's scaling by the root of the sum of squared gradients.

    ``a' = a + g^2``, ``s' = g / sqrt(a' + epsilon)`` (epsilon inside the square root, as Lasagne), or
    ``s' = g / (sqrt(a') + epsilon)`` with ``epsilon_placement="outside"`` (torch); ``a`` starts at
    ``initial_accumulator_value``.

    Parameters
    ----------
    epsilon : float or symbolic scalar, >= 0
    initial_accumulator_value : float >= 0, keyword-only
        0 as Lasagne and torch; optax uses 0.1.
    epsilon_placement : {"inside", "outside"}, keyword-only
        See ``EPSILON_PLACEMENTS``.
    name : str
        The tag in state names: ``"<param>.<name>.accu"``.

    Returns
    -------
    Transform

    Notes
    -----
    optax's ``scale_by_rss`` starts the accumulator at 0.1 with epsilon 1e-7 inside the root
    (``initial_accumulator_value=0.1, epsilon=1e-7``); torch adds ``eps=1e-10`` outside the root
    (``epsilon=1e-10, epsilon_placement="outside"``).

    References
    ----------
    Duchi, Hazan and Singer (2011), Adaptive subgradient methods for online learning and stochastic
    optimization, JMLR 12.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_rss()
    scale_by_rss(epsilon=1e-06)
    """
    check_hyper(epsilon, "epsilon", nonnegative=True)
    check_hyper(initial_accumulator_value, "initial_accumulator_value", nonnegative=True, symbolic=False)
    check_placement(epsilon_placement, ("inside", "outside"))

    def build(steps, builder):
        out = []
        for i, (g, p) in enumerate(zip(steps, builder.params)):
            accu = builder.slot(i, name, "accu", value=initial_accumulator_value)
            accu_new = accu + g**2
            builder.set(accu, accu_new)
            out.append(g / root(accu_new, typed(epsilon, p.dtype), epsilon_placement))
        return out

    config = with_options(
        {"epsilon": epsilon},
        initial_accumulator_value=(initial_accumulator_value, 0.0),
        epsilon_placement=(epsilon_placement, "inside"),
    )
    return Transform(build, "scale_by_rss", config)


def scale_by_rms(rho=0.9, epsilon=1e-6, *, epsilon_placement="inside", name="rmsprop"):
    """RMSProp's scaling by a running root mean square of the gradients.

    ``a' = rho * a + (1 - rho) * g^2``, ``s' = g / sqrt(a' + epsilon)`` (epsilon inside the root), or
    ``s' = g / (sqrt(a') + epsilon)`` with ``epsilon_placement="outside"``.

    Parameters
    ----------
    rho : float or symbolic scalar
        Decay of the running average.
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"inside", "outside"}, keyword-only
        See ``EPSILON_PLACEMENTS``; torch's ``RMSprop`` is ``"outside"``.
    name : str
        The tag in state names: ``"<param>.<name>.accu"``.

    Returns
    -------
    Transform

    Notes
    -----
    As Lasagne. torch adds epsilon outside the root; optax's ``scale_by_rms`` puts it inside.

    References
    ----------
    Tieleman and Hinton (2012), Lecture 6.5 - rmsprop, COURSERA: Neural Networks for Machine Learning.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_rms(rho=0.95)
    scale_by_rms(rho=0.95, epsilon=1e-06)
    """
    check_hyper(rho, "rho")
    check_hyper(epsilon, "epsilon", nonnegative=True)
    check_placement(epsilon_placement, ("inside", "outside"))

    def build(steps, builder):
        out = []
        for i, (g, p) in enumerate(zip(steps, builder.params)):
            r, one = typed(rho, p.dtype), typed(1, p.dtype)
            accu = builder.slot(i, name, "accu")
            accu_new = r * accu + (one - r) * g**2
            builder.set(accu, accu_new)
            out.append(g / root(accu_new, typed(epsilon, p.dtype), epsilon_placement))
        return out

    config = with_options({"rho": rho, "epsilon": epsilon}, epsilon_placement=(epsilon_placement, "inside"))
    return Transform(build, "scale_by_rms", config)


def scale_by_adadelta(rho=0.95, epsilon=1e-6, *, name="adadelta"):
    """Adadelta's unit-correcting scaling.

    ``a' = rho * a + (1 - rho) * g^2``;  ``d = g * sqrt(u + epsilon) / sqrt(a' + epsilon)``;
    ``u' = rho * u + (1 - rho) * d^2``;  ``s' = d``.  (``u`` is the old delta accumulator.)

    Parameters
    ----------
    rho : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    name : str
        The tag in state names: ``"<param>.<name>.accu"`` and ``"<param>.<name>.delta_accu"``.

    Returns
    -------
    Transform

    Notes
    -----
    As Lasagne, including its key order: ``accu``, the param, then ``delta_accu``.

    References
    ----------
    Zeiler (2012), ADADELTA: An adaptive learning rate method, arXiv:1212.5701.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_adadelta()
    scale_by_adadelta(rho=0.95, epsilon=1e-06)
    """
    check_hyper(rho, "rho")
    check_hyper(epsilon, "epsilon", nonnegative=True)

    def build(steps, builder):
        out = []
        for i, (g, p) in enumerate(zip(steps, builder.params)):
            r, one, eps = typed(rho, p.dtype), typed(1, p.dtype), typed(epsilon, p.dtype)
            accu = builder.slot(i, name, "accu")
            delta_accu = builder.slot(i, name, "delta_accu")
            accu_new = r * accu + (one - r) * g**2
            delta = g * pt.sqrt(delta_accu + eps) / pt.sqrt(accu_new + eps)
            builder.set(accu, accu_new)
            builder.set(delta_accu, r * delta_accu + (one - r) * delta**2, after_param=True)
            out.append(delta)
        return out

    return Transform(build, "scale_by_adadelta", {"rho": rho, "epsilon": epsilon})


def _bias_corrections(count, formula):
    """Per-dtype scalars computed once per step from the step counter, shared by all params."""
    cache = {}

    def correction(dtype):
        if dtype not in cache:
            cache[dtype] = formula(pt.cast(count, dtype), dtype)
        return cache[dtype]

    return correction


def _adam_moments(builder, name, i, g, b1, b2, one):
    m = builder.slot(i, name, "m")
    v = builder.slot(i, name, "v")
    m_new = b1 * m + (one - b1) * g
    v_new = b2 * v + (one - b2) * g**2
    builder.set(m, m_new)
    builder.set(v, v_new)
    return m_new, v_new


def _check_betas(beta1, beta2, epsilon):
    check_hyper(beta1, "beta1")
    check_hyper(beta2, "beta2")
    check_hyper(epsilon, "epsilon", nonnegative=True)


def adam_corrections(count, beta1, beta2, placement):
    """Adam's bias corrections, once per dtype: ``sqrt(1-beta2^t)/(1-beta1^t)`` for the "hat" form,
    else the pair ``(1/(1-beta1^t), 1-beta2^t)``."""

    def formula(tf, dtype):
        one = typed(1, dtype)
        first, second = one - typed(beta1, dtype) ** tf, one - typed(beta2, dtype) ** tf
        return pt.sqrt(second) / first if placement == "hat" else (one / first, second)

    return _bias_corrections(count, formula)


def adam_quotient(m, v, epsilon, correction, placement):
    """The bias-corrected ``m_hat / (sqrt(v_hat) + epsilon)`` with epsilon where ``placement`` says."""
    if placement == "hat":
        return correction * m / (pt.sqrt(v) + epsilon)
    first, second = correction
    return first * m / root(v / second, epsilon, placement)


def _adam_family(name, label, beta1, beta2, epsilon, epsilon_placement, second_moment):
    """Shared skeleton of adam, amsgrad: a step counter, bias corrections computed once per dtype,
    moments per param, and ``second_moment`` for the rule's own estimate of ``v``."""
    _check_betas(beta1, beta2, epsilon)
    check_placement(epsilon_placement, tuple(EPSILON_PLACEMENTS))

    def build(steps, builder):
        _, t = builder.counter(name)
        correction = adam_corrections(t, beta1, beta2, epsilon_placement)
        out = []
        for i, (g, p) in enumerate(zip(steps, builder.params)):
            dt = p.dtype
            b1, b2, one, eps = typed(beta1, dt), typed(beta2, dt), typed(1, dt), typed(epsilon, dt)
            m_new, v_new = _adam_moments(builder, name, i, g, b1, b2, one)
            v_used = second_moment(builder, i, v_new)
            out.append(adam_quotient(m_new, v_used, eps, correction(dt), epsilon_placement))
        return out

    config = {"beta1": beta1, "beta2": beta2, "epsilon": epsilon}
    return Transform(build, label, with_options(config, epsilon_placement=(epsilon_placement, "hat")))


def scale_by_adam(beta1=0.9, beta2=0.999, epsilon=1e-8, *, epsilon_placement="hat", name="adam"):
    """Adam's scaling, in Lasagne's (and the paper's section 2 "efficient") form.

    ``t' = t + 1``; ``m' = beta1 * m + (1 - beta1) * g``; ``v' = beta2 * v + (1 - beta2) * g^2``;
    ``s' = sqrt(1 - beta2^t') / (1 - beta1^t') * m' / (sqrt(v') + epsilon)``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
        Decay rates of the first and second moment estimates.
    epsilon : float or symbolic scalar, >= 0
        Added to ``sqrt(v')`` before the bias correction is applied ("epsilon hat").
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        "hat" (Lasagne, above); "outside": ``s' = m_hat / (sqrt(v_hat) + epsilon)`` with
        ``m_hat = m' / (1 - beta1^t')``, ``v_hat = v' / (1 - beta2^t')`` (torch, optax, the paper's
        Algorithm 1); "inside": ``s' = m_hat / sqrt(v_hat + epsilon)`` (optax's ``eps_root``).
    name : str
        The tag in state names: ``"<param>.<name>.m"``, ``"<param>.<name>.v"`` and the int64 step
        counter ``"<name>.t"``, which is the dict's last entry.

    Returns
    -------
    Transform

    Notes
    -----
    torch and optax add epsilon to the bias-corrected ``sqrt(v_hat)`` (``epsilon_placement="outside"``),
    which differs from the default while the correction is far from 1.

    References
    ----------
    Kingma and Ba (2015), Adam: A method for stochastic optimization, ICLR, arXiv:1412.6980.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_adam(beta2=0.99)
    scale_by_adam(beta1=0.9, beta2=0.99, epsilon=1e-08)
    """
    return _adam_family(name, "scale_by_adam", beta1, beta2, epsilon, epsilon_placement, lambda b, i, v: v)


def scale_by_amsgrad(beta1=0.9, beta2=0.999, epsilon=1e-8, *, epsilon_placement="hat", name="amsgrad"):
    """AMSGrad's scaling: Adam with the running maximum of the second moment.

    ``m'``, ``v'`` and the bias correction as in ``scale_by_adam``; ``vhat' = max(vhat, v')``;
    ``s' = sqrt(1 - beta2^t') / (1 - beta1^t') * m' / (sqrt(vhat') + epsilon)``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        As in ``scale_by_adam``; ``"outside"`` is torch's ``Adam(amsgrad=True)``.
    name : str
        The tag in state names (``m``, ``v``, ``vhat`` per param and the counter ``"<name>.t"``).

    Returns
    -------
    Transform

    Notes
    -----
    As Lasagne (bias-corrected, epsilon hat form), which differs from the paper's uncorrected algorithm.

    References
    ----------
    Reddi, Kale and Kumar (2018), On the convergence of Adam and beyond, ICLR.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_amsgrad()
    scale_by_amsgrad(beta1=0.9, beta2=0.999, epsilon=1e-08)
    """

    def direction(builder, i, v_new):
        vhat = builder.slot(i, name, "vhat")
        vhat_new = pt.maximum(vhat, v_new)
        builder.set(vhat, vhat_new)
        return vhat_new

    return _adam_family(name, "scale_by_amsgrad", beta1, beta2, epsilon, epsilon_placement, direction)


def scale_by_adamax(beta1=0.9, beta2=0.999, epsilon=1e-8, *, epsilon_placement="outside", name="adamax"):
    """Adamax's scaling by the infinity norm of past gradients.

    ``t' = t + 1``; ``m' = beta1 * m + (1 - beta1) * g``; ``u' = max(beta2 * u, |g|)``;
    ``s' = m' / ((1 - beta1^t') * (u' + epsilon))``.

    Parameters
    ----------
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"outside", "inside"}, keyword-only
        "outside" (Lasagne, optax): as above; "inside" (torch): inside the max,
        ``u' = max(beta2 * u, |g| + epsilon)``, ``s' = m' / ((1 - beta1^t') * u')``.
    name : str
        The tag in state names (``m``, ``u`` per param and the counter ``"<name>.t"``).

    Returns
    -------
    Transform

    References
    ----------
    Kingma and Ba (2015), Adam: A method for stochastic optimization, section 7.1.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_adamax()
    scale_by_adamax(beta1=0.9, beta2=0.999, epsilon=1e-08)
    """
    _check_betas(beta1, beta2, epsilon)
    check_placement(epsilon_placement, ("outside", "inside"))

    def build(steps, builder):
        _, t = builder.counter(name)
        correction = _bias_corrections(
            t, lambda tf, dtype: typed(1, dtype) / (typed(1, dtype) - typed(beta1, dtype) ** tf)
        )
        out = []
        for i, (g, p) in enumerate(zip(steps, builder.params)):
            dt = p.dtype
            b1, b2, one = typed(beta1, dt), typed(beta2, dt), typed(1, dt)
            m = builder.slot(i, name, "m")
            u = builder.slot(i, name, "u")
            m_new = b1 * m + (one - b1) * g
            builder.set(m, m_new)
            if epsilon_placement == "inside":
                u_new = pt.maximum(b2 * u, pt.abs(g) + typed(epsilon, dt))
                builder.set(u, u_new)
                out.append(correction(dt) * m_new / u_new)
            else:
                u_new = pt.maximum(b2 * u, pt.abs(g))
                builder.set(u, u_new)
                out.append(correction(dt) * m_new / (u_new + typed(epsilon, dt)))
        return out

    config = {"beta1": beta1, "beta2": beta2, "epsilon": epsilon}
    config = with_options(config, epsilon_placement=(epsilon_placement, "outside"))
    return Transform(build, "scale_by_adamax", config)


def scale_by_window_rss(n_win=10, epsilon=0.1, *, name="adagrad_window"):
    """Adagrad over a window: scale by the root of the sum of the last ``n_win`` squared gradients.

    A ring buffer ``w`` of shape ``param.shape + (n_win,)`` and a write index ``i`` per param:
    ``w'[..., i] = g^2``; ``i' = (i + 1) mod n_win``; ``s' = g / sqrt(sum(w', axis=-1) + epsilon)``.

    Parameters
    ----------
    n_win : int >= 1
        How many of the most recent squared gradients (the current one included) are summed.
    epsilon : float or symbolic scalar, >= 0
    name : str
        The tag in state names: ``"<param>.<name>.accu"`` and ``"<param>.<name>.index"``.

    Returns
    -------
    Transform

    Notes
    -----
    As PyMC's ``adagrad_window`` (same key order: buffer, index, param); the index is an int64 here
    rather than a float cast to int32.

    References
    ----------
    PyMC, ``pymc.variational.updates.adagrad_window``.

    Examples
    --------
    >>> import symupdates as su
    >>> su.scale_by_window_rss(n_win=5)
    scale_by_window_rss(n_win=5, epsilon=0.1)
    """
    if isinstance(n_win, bool) or not isinstance(n_win, int) or n_win < 1:
        raise ValueError(f"n_win must be an integer >= 1, got {n_win!r}")
    check_hyper(epsilon, "epsilon", nonnegative=True)

    def build(steps, builder):
        out = []
        for i, (g, p) in enumerate(zip(steps, builder.params)):
            window = builder.slot(i, name, "accu", extra_shape=(n_win,))
            index = builder.scalar(f"{builder.keys[i]}.{name}.index", 0, "int64", owner=i)
            window_new = pt.set_subtensor(window[..., index], g**2)
            builder.set(window, window_new)
            builder.set(index, pt.switch(index + 1 < n_win, index + 1, 0))
            out.append(g / pt.sqrt(window_new.sum(axis=-1, acc_dtype=p.dtype) + typed(epsilon, p.dtype)))
        return out

    return Transform(build, "scale_by_window_rss", {"n_win": n_win, "epsilon": epsilon})


def add_decayed_weights(weight_decay, *, mask=None):
    """Add ``weight_decay * p`` to each step: ``s' = s + weight_decay * p``.

    Where it sits in a chain decides which weight decay it is:

    * **before** the scaling, it is coupled L2 regularisation (the gradient of
      ``weight_decay / 2 * ||p||^2`` is added to the loss gradient and then rescaled by the rule), as
      torch's ``weight_decay`` argument of SGD, Adagrad, Adam, RMSprop:
      ``chain(add_decayed_weights(wd), scale_by_adam(), scale_by_learning_rate(lr))``;
    * **after** the scaling and before ``scale_by_learning_rate``, it is decoupled weight decay
      (Loshchilov and Hutter), ``p' = p - lr * (s + wd * p)``, i.e. torch's ``AdamW`` convention
      ``p -= lr * wd * p``: ``chain(scale_by_adam(), add_decayed_weights(wd), scale_by_learning_rate(lr))``.

    Parameters
    ----------
    weight_decay : float or symbolic scalar
    mask : None, sequence of bool, or callable, keyword-only
        Which params are decayed: all (None), those whose entry is true (one bool per param), or those
        for which ``mask(param)`` is true (e.g. ``lambda p: p.ndim > 1`` to spare biases).

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.add_decayed_weights``. Placed after ``scale_by_learning_rate`` it would add ``+wd * p``
    and grow the weights; use one of the two placements above.

    References
    ----------
    Loshchilov and Hutter (2019), Decoupled weight decay regularization, ICLR, arXiv:1711.05101.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> tx = su.chain(su.add_decayed_weights(0.5), su.scale_by_learning_rate(0.1))
    >>> step = pytensor.function([], [], updates=tx((w ** 2).sum(), [w]))
    >>> _ = step(); w.get_value()     # 1 - 0.1 * (2 * 1 + 0.5 * 1)
    array([0.75, 0.75])
    """
    check_hyper(weight_decay, "weight_decay")
    if mask is not None and not callable(mask):
        if isinstance(mask, str) or not all(isinstance(m, bool) for m in mask):
            raise TypeError("mask must be None, a sequence of bools (one per param) or a callable")
        mask = list(mask)

    def build(steps, builder):
        if mask is None:
            chosen = [True] * len(steps)
        elif callable(mask):
            chosen = [bool(mask(p)) for p in builder.params]
        else:
            if len(mask) != len(steps):
                raise ValueError(f"mask has {len(mask)} entries for {len(steps)} params")
            chosen = mask
        return [
            s + typed(weight_decay, p.dtype) * p if keep else s
            for s, p, keep in zip(steps, builder.params, chosen)
        ]

    config = with_options({"weight_decay": weight_decay}, mask=(mask, None))
    return Transform(build, "add_decayed_weights", config)
