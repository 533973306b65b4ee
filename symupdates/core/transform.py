"""Gradient transformations: small symbolic building blocks that every rule is a chain of.

How a transform and a rule are declared (the one way, used by every module)::

    @transform(beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE, rowwise="lazy")
    def scale_by_adam(beta1=0.9, beta2=0.999, epsilon=1e-8, *, name="adam"):
        '''<the equations, Parameters, Returns, ...>'''

        def build(steps, builder):                   # a Builder (symupdates.core.builder)
            hyper = builder.resolve(beta1), builder.resolve(beta2), builder.resolve(epsilon)
            ...                                       # state through builder.slot / builder.set
            return new_steps

        return build

    @rule(learning_rate=NONNEGATIVE, beta1=UNIT_INTERVAL, beta2=UNIT_INTERVAL, epsilon=NONNEGATIVE)
    def adam(loss_or_grads=None, params=None, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
        '''<the equations, Parameters, Returns, ...>'''
        return chain(scale_by_adam(beta1, beta2, epsilon), scale_by_learning_rate(learning_rate))

What the two decorators do, all of it:

* **checks**: each hyper-parameter given a ``Domain`` (``symupdates.core.hyperparams``) in the decorator, and
  each one whose default is a float, is checked with ``check_hyper`` (a clear error naming the argument;
  symbolic values are not range-checked) before the body runs. Once per user call: the declared functions a
  body calls (``scale_by_adam`` inside ``adam``) do not check again what the outer call checked, so a rule
  declares the domains of everything it passes on;
* **config capture**: the returned ``Transform`` is named after the function and its ``config`` holds the
  hyper-parameters it was called with: every positional-or-keyword one, and each keyword-only one that
  differs from its default (so a rule made with its defaults has a repr as short as Lasagne's signature;
  ``name``, the tag in state names, is never part of it);
* **declarations** (``@transform``): ``rowwise`` and ``needs_loss`` (see ``Transform``) are stored on the
  ``Transform``; the transforms it was given as arguments (``inner`` of a wrapper) are its ``parts``;
* **partial application** (``@rule`` only): ``loss_or_grads`` and ``params`` come first and default to
  None; with both omitted the rule returns its ``Transform`` (which goes into ``chain``, ``flatten``, ...),
  with both given, the updates, and with one of them, a clear error. A body may also return any callable
  taking ``(loss_or_grads, params)`` (``multiplicative`` does).

The body runs once per call. A hyper-parameter may be a ``Schedule`` (``symupdates.core.schedules``): the
body's ``build`` turns it into this step's value with ``builder.resolve`` (a number or a symbolic scalar is
returned as it is), first thing, in the order of the signature. ``fn.declaration`` (a ``Declaration``)
holds the signature and the domains; ``inject_hyperparams(adam)(learning_rate=...)`` makes every numeric
hyper-parameter a shared variable, listed in ``updates.hyperparams``, settable after compiling.

A ``Transform`` maps one step per parameter to a new step, creating the state it needs through a
``Builder`` (optax's ``GradientTransformation``, with PyTensor shared variables as state). Steps are
*added* to the params, so a chain ends with ``scale_by_learning_rate`` (which multiplies by ``-lr``)::

    tx = chain(scale_by_adam(), scale_by_learning_rate(1e-3))
    updates = tx(loss, params)          # == symupdates.adam(loss, params)

The ``scale_by_*`` transforms, one per published rule, are in ``symupdates.rules`` (one module per family,
with its public rules); clipping transforms in ``symupdates.wrappers.clipping`` and the other wrappers in
``symupdates.wrappers``. This module has the machinery (``Transform``, ``apply``, ``chain``, the
declarators) and the transforms every rule shares (``scale``, ``scale_by_learning_rate``,
``add_decayed_weights``).
"""

import contextvars
import dataclasses
import functools
import inspect
import numbers
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pytensor
import pytensor.tensor as pt

from ..interop import stage_adapter_for
from .builder import Builder, UpdateBuilder
from .gradients import check_params, get_or_compute_grads
from .hyperparams import NONNEGATIVE, REAL, Domain, check_hyper, typed
from .types import Build, Hyper
from .updates import Updates, describe

__all__ = [
    "Transform",
    "Declaration",
    "Hyper",
    "Build",
    "apply",
    "chain",
    "rule",
    "transform",
    "inject_hyperparams",
    "scale",
    "scale_by_learning_rate",
    "add_decayed_weights",
]

#: How a transform treats the rows of a param (see ``Transform.rowwise``).
Rowwise = Literal["exact", "lazy"]


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Transform:
    """A symbolic gradient transformation: what it computes, and what it declares about itself.

    Calling a transform with ``(loss_or_grads, params)`` returns the updates dict (see ``apply``), so a
    transform is used exactly like a partially applied rule such as ``symupdates.adam(learning_rate=0.01)``.
    It is immutable: ``dataclasses.replace`` makes a changed copy.

    Parameters
    ----------
    build : callable
        ``build(steps, builder) -> steps``: maps one step expression per param to new ones, creating and
        updating state through ``builder`` (a ``symupdates.core.builder.Builder``).
    name : str
        A short description, used in ``repr`` and in checkpoints.
    config : dict, optional
        The hyper-parameters it was made with (copied).
    parts : tuple of Transform, optional
        The transforms it is made of (``chain``'s, a wrapper's ``inner``), in order.
    rowwise : {"exact", "lazy"} or None, optional
        What it does on the rows of a param, for ``sparse``. "exact": each row of its step and of its state
        depends on that row only, up to global scalars, and a row whose step is 0 keeps its state, so that
        running it on the rows a batch touches is the dense step (``scale_by_rss``, ``scale``,
        ``clip_by_global_norm``, ``chain``). "lazy": row by row, but its state decays at every step, so on
        the touched rows only it is the lazy rule (``scale_by_adam``, ``trace``). None (the default): it needs
        whole tensors (norms, factored statistics) or was not checked. For a transform with parts this says
        what it does itself; its parts declare their own.
    needs_loss : bool, optional
        It evaluates the loss itself (``sam``, the Hessian estimates of ``sophia``), so it cannot be applied
        to gradients. True as well when one of its parts needs the loss.
    piecewise_constant : bool, optional
        Its step is the sign of something computed from the gradients (``scale_by_sign``, ``scale_by_lion``,
        ``scale_by_rprop``): constant almost everywhere, so ``unroll`` has no useful derivative of it. True
        as well when one of its parts is.
    """

    build: Build
    name: str
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    parts: tuple["Transform", ...] = ()
    rowwise: Rowwise | None = None
    needs_loss: bool = False
    piecewise_constant: bool = False

    def __post_init__(self) -> None:
        # Frozen: fields are set once, here, through object.__setattr__.
        object.__setattr__(self, "config", dict(self.config))
        object.__setattr__(self, "parts", tuple(self.parts))
        if any(part.needs_loss for part in self.parts):
            object.__setattr__(self, "needs_loss", True)
        if any(part.piecewise_constant for part in self.parts):
            object.__setattr__(self, "piecewise_constant", True)

    def __call__(self, loss_or_grads: Any, params: Any) -> Updates:
        return apply(self, loss_or_grads, params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.name}({args})"


def check_transform(value: Any, name: str) -> Transform:
    """``value``, or a TypeError naming the argument ``name`` unless it is a ``Transform``."""
    if not isinstance(value, Transform):
        raise TypeError(f"{name} must be a Transform, got {type(value).__name__}")
    return value


def _needing_loss(transform: Transform) -> Transform:
    """The innermost part of ``transform`` (itself if none) that needs the loss, for error messages."""
    for part in transform.parts:
        if part.needs_loss:
            return _needing_loss(part)
    return transform


def apply(transform: Transform, loss_or_grads: Any, params: Any) -> Updates:
    """Build the updates dict of ``transform`` for a loss (or gradients) and params.

    Each param's update is ``p + step`` where ``step`` is what the transform makes of ``p``'s gradient;
    gradients are first cast to their param's dtype, so a float32 model is updated in float32.

    Parameters
    ----------
    transform : Transform
        For example ``chain(clip_by_global_norm(1.0), scale_by_adam(), scale_by_learning_rate(1e-3))``.
    loss_or_grads : scalar TensorVariable or list of TensorVariable
        A scalar loss, or one gradient expression per param (not for a transform that ``needs_loss``).
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
    loss = None if isinstance(loss_or_grads, list | tuple) else loss_or_grads
    if transform.needs_loss and loss is None:
        raise ValueError(
            f"{_needing_loss(transform).name} needs the loss (it evaluates it at other params): apply it to "
            "the loss, not to a list of gradients"
        )
    grads = [pt.as_tensor_variable(g) for g in grads]
    grads = [g if g.dtype == p.dtype else pt.cast(g, p.dtype) for g, p in zip(grads, params, strict=True)]
    builder = UpdateBuilder(params, loss=loss)
    steps = transform.build(list(grads), builder)
    updates = builder.finish([p + s for p, s in zip(params, steps, strict=True)])
    updates.rule = describe(transform)
    return updates


def chain(*transforms: Transform) -> Transform:
    """Compose transforms: each one's output steps are the next one's input.

    Parameters
    ----------
    *transforms : Transform
        Applied left to right, e.g. ``chain(clip_by_global_norm(1.0), scale_by_adam(),
        scale_by_learning_rate(1e-3))``.

    Returns
    -------
    Transform
        Its ``parts`` are ``transforms``.

    Notes
    -----
    As ``optax.chain``. State is created in the order the transforms appear, and two transforms of the
    same kind in one chain get distinct state names (``W.adam.m`` and ``W.adam.m#2``).

    Examples
    --------
    >>> import symupdates as su
    >>> su.chain(su.scale_by_adam(), su.scale_by_learning_rate(1e-3))  # doctest: +NORMALIZE_WHITESPACE
    chain(transforms=[scale_by_adam(beta1=0.9, beta2=0.999, epsilon=1e-08),
    scale_by_learning_rate(learning_rate=0.001)])
    """
    for i, t in enumerate(transforms):
        if not isinstance(t, Transform):
            raise TypeError(f"chain argument {i} must be a Transform, got {type(t).__name__}")

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        for t in transforms:
            steps = t.build(steps, builder)
        return steps

    return Transform(build, "chain", {"transforms": list(transforms)}, parts=transforms, rowwise="exact")


# Not hyper-parameters: what a rule is applied to, and the tag a transform gives its state.
_NOT_HYPER = ("loss_or_grads", "params", "name")

# True while a declared function's body runs: the declared functions it calls do not check again.
_CHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar("symupdates_checked", default=False)


def _is_default(value: Any, default: Any) -> bool:
    return type(value) is type(default) and value == default


def _transforms_in(value: Any) -> list[Transform]:
    """The transforms among an argument's value (a transform, or a list or dict of them)."""
    if isinstance(value, Transform):
        return [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, Transform)]
    return []


class Declaration:
    """What ``rule`` and ``transform`` know about a declared function (its ``.declaration``).

    Attributes
    ----------
    fn : callable
        The undecorated function.
    name : str
    signature : inspect.Signature
    domains : dict of str to Domain
        The checked hyper-parameters: each one given a domain in the decorator, and each one whose default
        is a float (``REAL`` unless given).
    rowwise, needs_loss, piecewise_constant
        The declarations stored on the transforms it makes (see ``Transform``).
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        domains: Mapping[str, Domain],
        rowwise: Rowwise | None = None,
        needs_loss: bool = False,
        piecewise_constant: bool = False,
    ) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.signature = inspect.signature(fn)
        self.rowwise = rowwise
        self.needs_loss = needs_loss
        self.piecewise_constant = piecewise_constant
        unknown = set(domains) - set(self.signature.parameters)
        if unknown:
            raise TypeError(f"{self.name} declares domains for unknown arguments {sorted(unknown)}")
        self.domains = {
            key: domains.get(key, REAL)
            for key, param in self.signature.parameters.items()
            if key not in _NOT_HYPER
            and (key in domains or (isinstance(param.default, float) and not isinstance(param.default, bool)))
        }

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any], *, check: bool = True) -> dict[str, Any]:
        """The call's arguments by name, defaults filled in, each hyper-parameter checked (unless not
        ``check``)."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError:
            self.fn(*args, **kwargs)  # raises Python's own message ("adam() takes from 0 to 6 ...")
            raise
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        if check:
            for key, domain in self.domains.items():
                # None is accepted where it is the default (it means "computed", e.g. adafactor's epsilon1)
                # or the annotation admits it (it turns something off, e.g. the zoom's approx_dec_rtol).
                param = self.signature.parameters[key]
                if not (arguments[key] is None and (param.default is None or _admits_none(param.annotation))):
                    check_hyper(arguments[key], key, domain)
        return arguments

    def config(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The hyper-parameters a made transform shows in its repr (see the module docstring)."""
        config = {}
        for key, param in self.signature.parameters.items():
            if key in _NOT_HYPER:
                continue
            if param.kind is param.KEYWORD_ONLY and _is_default(arguments[key], param.default):
                continue
            config[key] = arguments[key]
        return config

    def call(self, arguments: Mapping[str, Any]) -> Any:
        """The body's result for checked ``arguments``; declared functions it calls do not check again."""
        token = _CHECKED.set(True)
        try:
            return self.fn(**arguments)
        finally:
            _CHECKED.reset(token)

    def named(self, made: Transform, arguments: Mapping[str, Any]) -> Transform:
        """``made`` (what the body composed) named after the declared function, with its config."""
        return dataclasses.replace(made, name=self.name, config=self.config(arguments))

    def injectable(self) -> list[str]:
        """The hyper-parameters that may be symbolic (``inject_hyperparams`` makes them shared)."""
        return [key for key, domain in self.domains.items() if domain.symbolic]


def _admits_none(annotation: Any) -> bool:
    """Whether a parameter's annotation (``float | None``) lets it be None."""
    return type(None) in typing.get_args(annotation)


def _declare(
    fn: Callable[..., Any] | None,
    declaration_of: Callable[[Callable[..., Any]], Declaration],
    decorate: Callable[[Declaration], Callable[..., Any]],
    returns: Any,
) -> Any:
    """``fn`` decorated (or, without ``fn``, the decorator): ``decorate(declaration)`` with ``fn``'s name,
    docstring and signature (returning ``returns`` if given), and its ``declaration``."""

    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        declaration = declaration_of(fn)
        declared = functools.wraps(fn)(decorate(declaration))
        if returns is not None:  # a transform's body returns its build, the declared function a Transform
            declared.__signature__ = declaration.signature.replace(return_annotation=returns)  # type: ignore[attr-defined]
        declared.declaration = declaration  # type: ignore[attr-defined]
        return declared

    return declare if fn is None else declare(fn)


def transform(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    rowwise: Rowwise | None = None,
    needs_loss: bool = False,
    piecewise_constant: bool = False,
    **domains: Domain,
) -> Any:
    """Declare a transform: ``fn(hyper-parameters) -> build``, ``build(steps, builder) -> steps``.

    Used as ``@transform`` or ``@transform(rho=UNIT_INTERVAL, epsilon=NONNEGATIVE, rowwise="lazy")`` (a
    ``Domain`` per hyper-parameter with one; ``rowwise``, ``needs_loss`` and ``piecewise_constant`` as in
    ``Transform``); see this
    module's docstring. The decorated function returns a ``Transform`` named after ``fn`` whose ``config``
    holds the hyper-parameters it was called with and whose ``parts`` are the transforms among its
    arguments. ``fn`` may also return a ``Transform`` (a composition), which is renamed.
    """
    if rowwise not in (None, "exact", "lazy"):
        raise ValueError(f"rowwise must be None, 'exact' or 'lazy', got {rowwise!r}")

    def decorate(declaration: Declaration) -> Callable[..., Transform]:
        def declared(*args: Any, **kwargs: Any) -> Transform:
            arguments = declaration.bind(args, kwargs, check=not _CHECKED.get())
            made = declaration.call(arguments)
            if isinstance(made, Transform):
                return declaration.named(made, arguments)
            parts = tuple(t for value in arguments.values() for t in _transforms_in(value))
            config = declaration.config(arguments)
            return Transform(
                made,
                declaration.name,
                config,
                parts,
                declaration.rowwise,
                declaration.needs_loss,
                declaration.piecewise_constant,
            )

        return declared

    return _declare(
        fn, lambda f: Declaration(f, domains, rowwise, needs_loss, piecewise_constant), decorate, Transform
    )


def rule(fn: Callable[..., Any] | None = None, /, **domains: Domain) -> Any:
    """Declare a rule: ``fn(loss_or_grads=None, params=None, hyper-parameters) -> Transform``.

    Used as ``@rule`` or ``@rule(beta1=UNIT_INTERVAL, ...)``; see this module's docstring. The decorated
    function applies the rule to ``(loss_or_grads, params)``, or returns it (both omitted): ``fn``'s
    ``Transform`` (its composition) named after ``fn``, whose ``config`` holds the hyper-parameters it was
    called with. ``fn`` may also return another callable taking ``(loss_or_grads, params)``, returned as
    it is.
    """

    def decorate(declaration: Declaration) -> Callable[..., Any]:
        def declared(*args: Any, **kwargs: Any) -> Any:
            arguments = declaration.bind(args, kwargs, check=not _CHECKED.get())
            loss_or_grads, params = arguments["loss_or_grads"], arguments["params"]
            if (loss_or_grads is None) != (params is None):
                missing = "loss_or_grads" if loss_or_grads is None else "params"
                raise ValueError(
                    f"{missing} is missing: provide both `loss_or_grads` and `params` to get updates, or "
                    "neither to get a callable that takes them"
                )
            made = declaration.call({**arguments, "loss_or_grads": None, "params": None})
            if isinstance(made, Transform):
                made = declaration.named(made, arguments)
            return made if params is None else made(loss_or_grads, params)

        return declared

    return _declare(fn, lambda f: Declaration(f, domains), decorate, None)


def inject_hyperparams(declared: Callable[..., Any]) -> Callable[..., Any]:
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
    ``tests/core/test_transforms.py`` runs them with the Python linker), and in the compiled NUMBA step of the
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
    def injected(*args: Any, **kwargs: Any) -> Any:
        arguments = declaration.bind(args, kwargs, check=not _CHECKED.get())
        shared = {}
        for key in declaration.injectable():
            value = arguments[key]
            if isinstance(value, numbers.Real | np.ndarray) and not isinstance(value, bool):
                shared[key] = arguments[key] = pytensor.shared(np.float64(value), name=key)
        applied_to = [arguments.pop(k, None) for k in ("loss_or_grads", "params")]
        token = _CHECKED.set(True)  # checked above
        try:
            made = declared(**arguments)
        finally:
            _CHECKED.reset(token)
        if not isinstance(made, Transform):
            raise TypeError(f"inject_hyperparams needs a rule that is a Transform; {declaration.name} is not")

        def build(steps: list[Any], builder: Builder) -> list[Any]:
            for key, var in shared.items():
                builder.hyperparam(key, var)
            return made.build(steps, builder)

        result = dataclasses.replace(made, build=build)
        return result if applied_to[1] is None and applied_to[0] is None else result(*applied_to)

    return injected


def is_zero(value: Any) -> bool:
    """True for the number 0 (an option that is off adds nothing to the graph); False for symbols."""
    return isinstance(value, numbers.Number) and value == 0


@transform(rowwise="exact")
def scale(factor: Any) -> Build:
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

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        factor_ = builder.resolve(factor)
        return [typed(factor_, p.dtype) * s for s, p in zip(steps, builder.params, strict=True)]

    return build


@transform(learning_rate=NONNEGATIVE, rowwise="exact")
def scale_by_learning_rate(learning_rate: Any) -> Build:
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

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        rate = builder.resolve(learning_rate)
        builder.monitor("learning_rate", typed(rate, "float64"))
        return [-(typed(rate, p.dtype) * s) for s, p in zip(steps, builder.params, strict=True)]

    return build


@transform(weight_decay=NONNEGATIVE)
def add_decayed_weights(
    weight_decay: Any, *, mask: Sequence[bool] | Callable[[Any], bool] | None = None
) -> Build:
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

    def build(steps: list[Any], builder: Builder) -> list[Any]:
        decay = builder.resolve(weight_decay)
        chosen: Sequence[bool]
        if mask is None:
            chosen = [True] * len(steps)
        elif callable(mask):
            chosen = [bool(mask(p)) for p in builder.params]
        else:
            if len(mask) != len(steps):
                raise ValueError(f"mask has {len(mask)} entries for {len(steps)} params")
            chosen = mask
        return [
            s + typed(decay, p.dtype) * p if keep else s
            for s, p, keep in zip(steps, builder.params, chosen, strict=True)
        ]

    return build
