"""Gradient transformations: small symbolic building blocks that every rule is a chain of.

A ``Transform`` maps one step per parameter to a new step, creating the state it needs through an
``UpdateBuilder`` (optax's ``GradientTransformation``, with PyTensor shared variables as state). Steps are
*added* to the params, so a chain ends with ``scale_by_learning_rate`` (which multiplies by ``-lr``)::

    tx = chain(scale_by_adam(), scale_by_learning_rate(1e-3))
    updates = tx(loss, params)          # == symupdates.adam(loss, params)

Any hyper-parameter may be a ``Schedule`` (``symupdates.schedules``); clipping transforms live in
``symupdates.clipping`` and wrappers (masks, NaN guard, accumulation, lookahead, averaging) in
``symupdates.wrappers``.

The ``scale_by_*`` transforms, one per published rule, are in ``symupdates.scalings``; this module has the
machinery (``Transform``, ``apply``, ``chain``) and the transforms every rule shares (``scale``,
``scale_by_learning_rate``, ``add_decayed_weights``).
"""

import pytensor.tensor as pt

from .gradients import check_params, get_or_compute_grads
from .hyperparams import check_hyper, typed
from .updates import UpdateBuilder, describe

__all__ = [
    "Transform",
    "apply",
    "chain",
    "scale",
    "scale_by_learning_rate",
    "add_decayed_weights",
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
    params : iterable of SharedVariable
        The floating-point shared variables to update: a list, or any iterable (read once). Must not be
        empty.

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
    params = check_params(params)
    grads = get_or_compute_grads(loss_or_grads, params)
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
