"""Gradient transformations: small symbolic building blocks that every rule is a chain of.

How to declare a rule or a transform (the one way, used by every module)::

    @rule(learning_rate=NONNEGATIVE, beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
    def adam(loss_or_grads=None, params=None, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
        '''Adam. <equations>

        Parameters
        ----------
        {rule_parameters}
        learning_rate : float, symbolic scalar or Schedule
        ...
        '''
        return chain(scale_by_adam(beta1, beta2, epsilon), scale_by_learning_rate(learning_rate))

    @transform(rho=UNIT_INTERVAL, epsilon=NONNEGATIVE)
    def scale_by_rms(rho=0.9, epsilon=1e-6, *, name="rmsprop"):
        '''<docstring>'''
        def build(steps, builder):      # state through builder.slot / builder.set (symupdates.core.builder)
            ...
            return new_steps
        return build

The decorators do, in one place, what every rule needs:

* **config capture**: the returned ``Transform`` is named after the function and its ``config`` holds the
  hyper-parameters it was called with: every positional-or-keyword one, and each keyword-only one that
  differs from its default (so a rule made with its defaults has a repr as short as Lasagne's signature;
  ``name``, the tag in state names, is never part of it);
* **checks**: each hyper-parameter given a ``Domain`` (``symupdates.core.hyperparams``) in the decorator, and
  each one whose default is a float, is checked with ``check_hyper`` (a clear error naming the argument;
  symbolic values are not range-checked) before the body runs;
* **schedules** (``@transform`` only): a ``Schedule`` hyper-parameter is replaced by its value at this step
  when the transform is built, so the body and ``typed`` only ever see numbers and symbolic scalars;
* **partial application** (``@rule`` only): ``loss_or_grads`` and ``params`` come first and default to
  None; with both omitted the rule returns its ``Transform`` (which goes into ``chain``, ``flatten``, ...),
  with both given, the updates, and with one of them, a clear error. A body may also return any callable
  taking ``(loss_or_grads, params)`` (``multiplicative`` does);
* **docstrings**: a line ``{rule_parameters}`` in the docstring becomes the shared ``loss_or_grads`` /
  ``params`` block (``RULE_PARAMETERS``), indented like the placeholder;
* **injection**: ``inject_hyperparams(adam)(learning_rate=...)`` makes every numeric hyper-parameter a
  shared variable, listed in ``updates.hyperparams``, settable after compiling.

A ``Transform`` maps one step per parameter to a new step, creating the state it needs through an
``UpdateBuilder`` (optax's ``GradientTransformation``, with PyTensor shared variables as state). Steps are
*added* to the params, so a chain ends with ``scale_by_learning_rate`` (which multiplies by ``-lr``)::

    tx = chain(scale_by_adam(), scale_by_learning_rate(1e-3))
    updates = tx(loss, params)          # == symupdates.adam(loss, params)

Any hyper-parameter may be a ``Schedule`` (``symupdates.core.schedules``); clipping transforms live in
``symupdates.wrappers.clipping`` and the other wrappers (masks, NaN guard, accumulation, lookahead, averaging)
in ``symupdates.wrappers``.

The ``scale_by_*`` transforms, one per published rule, are in ``symupdates.rules``; this module has the
machinery (``Transform``, ``apply``, ``chain``) and the transforms every rule shares (``scale``,
``scale_by_learning_rate``, ``add_decayed_weights``).
"""

import functools
import inspect
import numbers

import numpy as np
import pytensor
import pytensor.tensor as pt

from ..interop import stage_adapter_for
from .builder import UpdateBuilder
from .gradients import check_params, get_or_compute_grads
from .hyperparams import NONNEGATIVE, REAL, Schedule, check_hyper, typed
from .updates import describe

__all__ = [
    "Transform",
    "apply",
    "chain",
    "rule",
    "transform",
    "inject_hyperparams",
    "scale",
    "scale_by_learning_rate",
    "add_decayed_weights",
]


class Transform:
    """A symbolic gradient transformation.

    Calling a transform with ``(loss_or_grads, params)`` returns the updates dict (see ``apply``), so a
    transform is used exactly like a partially applied rule such as ``symupdates.adam(learning_rate=0.01)``.

    Parameters
    ----------
    build : callable
        ``build(steps, builder) -> steps``: maps one step expression per param to new ones, creating and
        updating state through ``builder`` (an ``UpdateBuilder``).
    name : str
        A short description, used in ``repr`` and in checkpoints.
    config : dict, optional
        The hyper-parameters it was made with.
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


def check_transform(value, name):
    """``value``, or a TypeError naming the argument ``name`` unless it is a ``Transform``."""
    if not isinstance(value, Transform):
        raise TypeError(f"{name} must be a Transform, got {type(value).__name__}")
    return value


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
    adapter = stage_adapter_for(loss_or_grads)
    if adapter is not None:  # another library's updates dict, e.g. a stage of pytensor_ml.optim.chain
        return adapter.apply(transform, loss_or_grads, params)
    params = check_params(params)
    grads = get_or_compute_grads(loss_or_grads, params)
    grads = [pt.as_tensor_variable(g) for g in grads]
    grads = [g if g.dtype == p.dtype else pt.cast(g, p.dtype) for g, p in zip(grads, params)]
    builder = UpdateBuilder(params)
    # A rule that evaluates the loss elsewhere (sam) needs the loss itself, not only its gradients.
    builder.loss = None if isinstance(loss_or_grads, list | tuple) else loss_or_grads
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

    composed = Transform(build, "chain", {"transforms": list(transforms)})
    # What it is made of, kept when a named rule replaces name and config (symupdates.sparse reads it).
    composed.parts = list(transforms)
    return composed


RULE_PARAMETERS = """\
loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    A scalar loss, or one gradient expression per param.
params : list of SharedVariable, optional
    The parameters to update. Omit both this and ``loss_or_grads`` to get the rule as a ``Transform``
    taking ``(loss_or_grads, params)``."""

MAXIMIZE_PARAMETER = """\
maximize : bool, keyword-only
    Ascend the objective instead (torch's ``maximize``): the gradients are negated before anything else."""

WEIGHT_DECAY_OPTIONS = """\
weight_decay : float or symbolic scalar, keyword-only
    torch's ``weight_decay``: ``weight_decay * p`` added to the gradient (0: none).
decoupled_weight_decay : bool, keyword-only
    torch's ``decoupled_weight_decay``: the decay is applied to the param instead,
    ``p' = p - learning_rate * (s + weight_decay * p)`` (AdamW's form)."""

_DOC_FRAGMENTS = {
    "{rule_parameters}": RULE_PARAMETERS,
    "{maximize}": MAXIMIZE_PARAMETER,
    "{weight_decay_options}": WEIGHT_DECAY_OPTIONS,
}

# Not hyper-parameters: what a rule is applied to, and the tag a transform gives its state.
_NOT_HYPER = ("loss_or_grads", "params", "name")


def _fill_docstring(doc):
    """``doc`` with each placeholder line replaced by its fragment, indented like the placeholder."""
    if not doc:
        return doc
    lines = []
    for line in doc.splitlines():
        fragment = _DOC_FRAGMENTS.get(line.strip())
        if fragment is None:
            lines.append(line)
        else:
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(indent + text if text else text for text in fragment.splitlines())
    return "\n".join(lines)


def _is_default(value, default):
    return type(value) is type(default) and value == default


class _Declaration:
    """What ``rule`` and ``transform`` know about a declared function: its signature and its domains."""

    def __init__(self, fn, domains):
        self.fn = fn
        self.name = fn.__name__
        self.signature = inspect.signature(fn)
        unknown = set(domains) - set(self.signature.parameters)
        if unknown:
            raise TypeError(f"{self.name} declares domains for unknown arguments {sorted(unknown)}")
        self.domains = {
            key: domains.get(key, REAL)
            for key, param in self.signature.parameters.items()
            if key not in _NOT_HYPER
            and (key in domains or (isinstance(param.default, float) and not isinstance(param.default, bool)))
        }

    def bind(self, args, kwargs):
        """The call's arguments by name, defaults filled in, each hyper-parameter checked."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError:
            self.fn(*args, **kwargs)  # raises Python's own message ("adam() takes from 0 to 6 ...")
            raise
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        for key, domain in self.domains.items():
            # None is accepted where it is the default (it means "computed", e.g. adafactor's epsilon1).
            if not (arguments[key] is None and self.signature.parameters[key].default is None):
                check_hyper(arguments[key], key, domain)
        return arguments

    def config(self, arguments):
        config = {}
        for key, param in self.signature.parameters.items():
            if key in _NOT_HYPER:
                continue
            if param.kind is param.KEYWORD_ONLY and _is_default(arguments[key], param.default):
                continue
            config[key] = arguments[key]
        return config

    def injectable(self):
        """The hyper-parameters that may be symbolic (``inject_hyperparams`` makes them shared)."""
        return [key for key, domain in self.domains.items() if domain.symbolic]


def _declare(fn, domains, decorator, make):
    """``decorator`` applied to ``fn`` (or, without ``fn``, waiting for it): ``make(declaration)`` as a
    function with ``fn``'s name, signature and filled-in docstring."""
    if fn is None:
        return functools.partial(decorator, **domains)
    declaration = _Declaration(fn, domains)
    declared = functools.wraps(fn)(make(declaration))
    declared.__doc__ = _fill_docstring(fn.__doc__)
    declared.declaration = declaration
    return declared


def transform(fn=None, /, **domains):
    """Declare a transform: ``fn(hyper-parameters) -> build(steps, builder) -> steps``.

    Used as ``@transform`` or ``@transform(rho=UNIT_INTERVAL, epsilon=NONNEGATIVE)`` (a ``Domain`` per
    hyper-parameter with one); see this module's docstring. The decorated function returns a ``Transform``
    named after ``fn`` whose ``config`` holds the hyper-parameters it was called with.
    """
    return _declare(fn, domains, transform, _declared_transform)


def _declared_transform(declaration):
    fn = declaration.fn

    def declared(*args, **kwargs):
        arguments = declaration.bind(args, kwargs)
        build = fn(**arguments)
        if any(isinstance(v, Schedule) for v in arguments.values()):
            # Rebuilt with each schedule's value at this step, made once per rule by the builder.
            def build(steps, builder):
                resolved = {
                    k: builder.schedule_value(v) if isinstance(v, Schedule) else v
                    for k, v in arguments.items()
                }
                return fn(**resolved)(steps, builder)

        return Transform(build, declaration.name, declaration.config(arguments))

    return declared


def rule(fn=None, /, **domains):
    """Declare a rule: ``fn(loss_or_grads=None, params=None, hyper-parameters) -> Transform``.

    Used as ``@rule`` or ``@rule(beta1=UNIT_INTERVAL, ...)``; see this module's docstring. The decorated
    function applies the rule to ``(loss_or_grads, params)``, or returns it (both omitted): a ``Transform``
    named after ``fn`` whose ``config`` holds the hyper-parameters it was called with. ``fn`` may also
    return another callable taking ``(loss_or_grads, params)``, returned as it is.
    """
    return _declare(fn, domains, rule, _declared_rule)


def _declared_rule(declaration):
    def declared(*args, **kwargs):
        arguments = declaration.bind(args, kwargs)
        loss_or_grads, params = arguments["loss_or_grads"], arguments["params"]
        if (loss_or_grads is None) != (params is None):
            missing = "loss_or_grads" if loss_or_grads is None else "params"
            raise ValueError(
                f"{missing} is missing: provide both `loss_or_grads` and `params` to get updates, or neither "
                "to get a callable that takes them"
            )
        made = declaration.fn(**{**arguments, "loss_or_grads": None, "params": None})
        if isinstance(made, Transform):
            made.name, made.config = declaration.name, declaration.config(arguments)
        return made if params is None else made(loss_or_grads, params)

    return declared


def inject_hyperparams(declared):
    """A rule or transform whose numeric hyper-parameters are shared variables, settable after compiling.

    ``inject_hyperparams(adam)`` takes the same arguments as ``adam``. Each hyper-parameter given (or left
    at its default) as a number becomes a float64 scalar shared variable holding it, listed in the updates'
    ``hyperparams`` under its argument name; ``var.set_value(v)`` changes the next step without
    recompiling. The numbers are bit-identical to the same value given as a constant: the shared float64
    is cast to each param's dtype in the graph, as the constant is typed to it (``hyperparams.typed``).

    Parameters
    ----------
    declared : callable
        A rule or transform declared with ``rule`` or ``transform`` (every public one is).

    Returns
    -------
    callable
        With ``declared``'s signature, returning what it returns (a ``Transform``, or the updates of a rule
        given ``loss_or_grads`` and ``params``).

    Notes
    -----
    Opt-in, as ``optax.inject_hyperparams``: a number is folded into the compiled step (``1 - beta1``
    once at compile time, the fused loop reading a literal) while a shared variable is read at every
    call, so rules built from numbers stay as fast as before. Not injected: symbolic values and schedules
    (already symbolic), hyper-parameters that fill the initial state (``initial_accumulator_value``,
    rprop's ``learning_rate``), integers that shape the state (``n_win``, ``every_k``), options and
    ``None`` (adafactor's ``epsilon1``). An option left at 0 (``weight_decay``, sgd's ``momentum``) is
    then built into the graph, with its state, so it can be turned on later; with 0 the numbers are the
    same. Checkpoints save and restore the shared values (``"hyperparams/<key>"``).

    Bit-identity holds in the graph PyTensor's rewrites make, for every rule (the rules write each
    hyper-parameter first in sums, where the rewrites put a constant, so both graphs associate alike;
    ``tests/test_transforms.py`` runs them with the Python linker), and in the compiled NUMBA step of the
    rules tested there (sgd, momentum, adam). A compiler may still treat a literal and a runtime scalar
    differently: with PyTensor's default ``numba__fastmath=True`` rmsprop's float32 params differed in
    the last bit after a few steps (``python benchmarks/inject_bits.py NUMBA``), and the C backend
    (``mode="CVM"``) differs for several rules. PyTensor 2.38 folds a constant learning rate into the
    gradient's matrix product (``Dot22Scalar``, one BLAS call) but not a shared one, so there the params
    of a matrix-product model agree to a few ulps, not bit for bit.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> updates = su.inject_hyperparams(su.sgd)((w ** 2).sum(), [w], learning_rate=0.1)
    >>> sorted(updates.hyperparams)
    ['dampening', 'learning_rate', 'momentum', 'weight_decay']
    >>> step = pytensor.function([], [], updates=updates)
    >>> _ = step(); w.get_value()
    array([0.8, 0.8])
    >>> updates.hyperparams["learning_rate"].set_value(0.25)
    >>> _ = step(); w.get_value()                 # 0.8 - 0.25 * 1.6
    array([0.4, 0.4])
    """
    declaration = getattr(declared, "declaration", None)
    if declaration is None:
        raise TypeError(
            f"inject_hyperparams needs a rule or transform declared with rule/transform, got {declared!r}"
        )

    @functools.wraps(declared)
    def injected(*args, **kwargs):
        arguments = declaration.bind(args, kwargs)
        shared = {}
        for key in declaration.injectable():
            value = arguments[key]
            if isinstance(value, numbers.Real | np.ndarray) and not isinstance(value, bool):
                shared[key] = arguments[key] = pytensor.shared(np.float64(value), name=key)
        applied_to = [arguments.pop(k, None) for k in ("loss_or_grads", "params")]
        made = declared(**arguments)
        if not isinstance(made, Transform):
            raise TypeError(f"inject_hyperparams needs a rule that is a Transform; {declaration.name} is not")

        def build(steps, builder):
            for key, var in shared.items():
                builder.hyperparam(key, var)
            return made.build(steps, builder)

        result = Transform(build, made.name, made.config)
        return result if applied_to[1] is None and applied_to[0] is None else result(*applied_to)

    return injected


def is_zero(value):
    """True for the number 0 (an option that is off adds nothing to the graph); False for symbols."""
    return isinstance(value, numbers.Number) and value == 0


@transform
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

    def build(steps, builder):
        return [typed(factor, p.dtype) * s for s, p in zip(steps, builder.params)]

    return build


@transform(learning_rate=NONNEGATIVE)
def scale_by_learning_rate(learning_rate):
    """Turn directions into descent steps: ``s' = -learning_rate * s``.

    Parameters
    ----------
    learning_rate : float, symbolic scalar or Schedule
        A shared variable here can be changed between calls without recompiling; a ``Schedule`` (see
        ``symupdates.core.schedules``) is evaluated at each step.

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

    def build(steps, builder):
        builder.monitor("learning_rate", typed(learning_rate, "float64"))
        return [-(typed(learning_rate, p.dtype) * s) for s, p in zip(steps, builder.params)]

    return build


@transform(weight_decay=NONNEGATIVE)
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

    return build
