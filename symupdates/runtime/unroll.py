"""Training as a graph: ``k`` steps of a rule unrolled in a PyTensor ``scan``, to differentiate through.

``unroll`` builds a rule's updates once, then carries the params and every state variable through a
``scan`` over ``k`` mini-batches (the machinery of ``symupdates.runtime.steps``). The result, the params
after ``k`` steps and the ``k`` losses, is an ordinary graph: ``pytensor.grad`` of anything computed from it
gives hypergradients (with respect to a symbolic learning rate, weight decay, any other symbolic
hyper-parameter), gradients with respect to the data and to the starting params (MAML's inner loop).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytensor.tensor as pt
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.tensor.variable import TensorVariable

try:
    from pytensor.graph.traversal import graph_inputs
except ImportError:  # PyTensor 2.38
    from pytensor.graph.basic import graph_inputs  # type: ignore[no-redef]

from ..core.transform import Transform, check_transform
from ..core.types import TensorLike
from ..core.updates import Updates
from .steps import scan_updates

__all__ = ["Unrolled", "unroll"]


@dataclass
class Unrolled:
    """``k`` training steps as a graph (what ``unroll`` returns).

    Attributes
    ----------
    params : list of TensorVariable
        The value of each param after the ``k`` steps, aligned with the ``params`` given to ``unroll``.
    losses : TensorVariable
        Shape ``(k,)``: the loss of step ``t`` on its slice of the data, before step ``t``'s update.
    state : dict of SharedVariable to TensorVariable
        Every state variable of the rule (moments, counters) after the ``k`` steps.
    updates : Updates
        The rule's updates for one step, which the loop repeats (its ``.params``, ``.state``, ``.monitors``).
    monitors : dict of str to TensorVariable
        Each of ``updates.monitors`` at every step, shape ``(k,)`` (the learning rate a schedule gave, the
        gradient norm before clipping).
    """

    params: list[TensorVariable]
    losses: TensorVariable
    state: dict[SharedVariable, TensorVariable] = field(default_factory=dict)
    updates: Updates | None = None
    monitors: dict[str, TensorVariable] = field(default_factory=dict)


def unroll(
    rule: Transform,
    loss: Variable,
    params: Sequence[SharedVariable],
    sequences: dict[Variable, TensorLike],
    steps: int,
    *,
    allow_piecewise_constant: bool = False,
) -> Unrolled:
    """Unroll ``steps`` steps of ``rule`` on ``loss`` into one differentiable graph.

    With ``x`` the keys of ``sequences``, ``X`` their values and ``s`` the rule's state, for
    ``t = 0 .. k-1``::

        losses[t] = loss(params_t, X[t])
        params_{t+1}, s_{t+1} = rule(grad loss(params_t, X[t]), params_t, s_t)

    starting from ``params_0`` and ``s_0``, the shared variables themselves (their current values when the
    graph is evaluated). Any symbolic input of the rule or the loss that is not a key of ``sequences``
    (``lr = pt.dscalar("lr")`` in ``adam(learning_rate=lr)``, a regularisation weight in the loss) is the
    same at every step, and ``pytensor.grad`` of a cost built from the result differentiates with respect to
    it, to the data ``X`` and to the starting params and state.

    Parameters
    ----------
    rule : Transform
        A rule with its hyper-parameters, e.g. ``symupdates.adam(learning_rate=lr)``; hyper-parameters may
        be symbolic scalars, shared variables or schedules (whose arguments may be symbolic), and the rule
        may be a ``chain`` with clipping or weight decay.
    loss : scalar TensorVariable
        The training loss, a graph of ``params`` and of the keys of ``sequences``.
    params : list of SharedVariable
        The params to train.
    sequences : dict of TensorVariable to TensorVariable
        ``{input of loss: stacked values}``: each value has one more (leading) axis than its key, of length
        ``steps``; step ``t`` sees ``value[t]``. Not modified.
    steps : int >= 1
        ``k``.
    allow_piecewise_constant : bool, keyword-only
        Unroll a rule whose step is a sign (``sign_sgd``, ``signum``, ``lion``, ``rprop``: a transform
        declared ``piecewise_constant``) instead of refusing it. Its trajectory is piecewise constant in the
        gradients and its derivative through the signs is 0 wherever it exists: the gradient is then the
        derivative almost everywhere, the signs counting as constants, so only the direct effect of the
        hyper-parameters that scale them is seen.

    Returns
    -------
    Unrolled
        ``.params`` (aligned with ``params``), ``.losses`` (shape ``(k,)``), ``.state``, ``.monitors`` and
        the one-step ``.updates``.

    Raises
    ------
    ValueError
        A rule with a sign-based step (unless ``allow_piecewise_constant``), a key of ``sequences`` that is
        not a free input of ``loss``, a value of the wrong rank, dtype or (static) length, a ``steps`` that
        is not an int >= 1.

    Notes
    -----
    Nothing is updated: the shared variables keep their values; compile ``.params`` with
    ``updates=dict(zip(params, result.params))`` to also train. The loop body is the one ``steps_function``
    compiles (the state carried in ``pytensor.function``'s order), so in NUMBA mode the params after ``k``
    steps are bit for bit those of ``k`` calls of ``pytensor.function([...], loss, updates=rule(loss,
    params))`` (``tests/runtime/test_unroll.py``; on PyTensor 2.38 to a few ulps, as ``steps_function``'s
    Notes explain).

    A square root of a second moment that can be exactly 0 (a weight whose gradient is always 0, such as
    one fed by a constant-zero pixel) has an infinite derivative there, and ``0 * inf`` makes the
    hypergradient NaN: with Adam-like rules put epsilon inside the root (``epsilon_placement="inside"``,
    optax's ``eps_root``), as ``jax.grad`` through optax needs too.

    The gradient of the scan stores the params and state of every step (memory grows linearly in ``k``)
    and differentiates the gradient inside the loop: Hessian-vector products of the loss, one per step.
    As ``jax.grad`` through ``k`` optax steps (optax's meta-learning example); the hypergradients agree with
    it to rounding for sgd with momentum, adam and adamw with a schedule and clipping.

    References
    ----------
    Maclaurin, Duvenaud and Adams (2015), Gradient-based hyperparameter optimization through reversible
    learning, ICML, arXiv:1502.03492. Finn, Abbeel and Levine (2017), Model-agnostic meta-learning, ICML,
    arXiv:1703.03400.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt, symupdates as su
    >>> w = pytensor.shared(np.array([1.0, -1.0]), name="w")
    >>> x = pt.dvector("x")
    >>> lr = pt.dscalar("lr")
    >>> xs = pt.dmatrix("xs")
    >>> result = su.unroll(su.sgd(learning_rate=lr), ((w - x) ** 2).sum(), [w], {x: xs}, 3)
    >>> final_loss = (result.params[0] ** 2).sum()
    >>> f = pytensor.function([lr, xs], [final_loss, pytensor.grad(final_loss, lr)])
    >>> [float(v) for v in f(0.25, np.zeros((3, 2)))]    # w = 0.5**3 * w0: loss 2 (1 - 2 lr)^6
    [0.03125, -0.75]
    """
    check_transform(rule, "rule")
    loss = pt.as_tensor_variable(loss)
    if loss.ndim != 0:
        raise ValueError(f"loss must be a scalar, got a tensor of {loss.ndim} dimensions")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not isinstance(sequences, dict):
        raise TypeError(f"sequences must be a dict {{input: stacked values}}, got {type(sequences).__name__}")
    inputs, stacked = _check_sequences(loss, sequences, steps)
    if not allow_piecewise_constant:
        _refuse_piecewise_constant(rule)
    updates = rule(loss, params)
    monitor_names = list(updates.monitors)
    outputs = [loss, *(pt.as_tensor_variable(updates.monitors[name]) for name in monitor_names)]
    per_step, final = scan_updates(inputs, outputs, updates, stacked, steps)
    return Unrolled(
        params=[final[p] for p in updates.params],
        losses=per_step[0],
        state={var: final[var] for var in updates.state if var in final},
        updates=updates,
        monitors=dict(zip(monitor_names, per_step[1:], strict=True)),
    )


def _check_sequences(
    loss: TensorVariable, sequences: Mapping[Variable, TensorLike], steps: int
) -> tuple[list[TensorVariable], list[TensorVariable]]:
    """The keys and values of ``sequences`` as lists, each pair checked against the loss and ``steps``."""
    free = {v for v in graph_inputs([loss]) if not isinstance(v, Constant | SharedVariable)}
    inputs: list[TensorVariable] = []
    stacked: list[TensorVariable] = []
    for key, value in sequences.items():
        name = key.name or str(key.type) if isinstance(key, Variable) else repr(key)
        if not isinstance(key, Variable) or key not in free:
            raise ValueError(f"sequences: the key {name} is not a free (non-shared) input of loss")
        key = pt.as_tensor_variable(key)
        value = pt.as_tensor_variable(value)
        if value.ndim != key.ndim + 1:
            raise ValueError(
                f"sequences[{name}] must have {key.ndim + 1} dimensions (steps first), got {value.ndim}"
            )
        if value.dtype != key.dtype:
            raise ValueError(f"sequences[{name}] must have dtype {key.dtype}, got {value.dtype}")
        if value.type.shape[0] is not None and value.type.shape[0] != steps:
            raise ValueError(
                f"sequences[{name}] has {value.type.shape[0]} steps along its first axis, not {steps}"
            )
        inputs.append(key)
        stacked.append(value)
    return inputs, stacked


def _piecewise_constant_parts(transform: Transform) -> list[Transform]:
    """The innermost transforms of ``transform`` (itself, if no part is) declared ``piecewise_constant``."""
    inner = [each for part in transform.parts for each in _piecewise_constant_parts(part)]
    return inner or ([transform] if transform.piecewise_constant else [])


def _refuse_piecewise_constant(rule: Transform) -> None:
    signs = _piecewise_constant_parts(rule)
    if signs:
        names = ", ".join(sorted({part.name for part in signs}))
        raise ValueError(
            f"unroll: {rule!r} steps by the sign of its gradients ({names}): "
            "the trajectory is piecewise constant in them and pytensor.grad through it would only see the "
            "hyper-parameters that scale the sign. Pass allow_piecewise_constant=True to differentiate it "
            "anyway (the derivative almost everywhere), or use a rule with a differentiable step"
        )
