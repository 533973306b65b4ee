"""What the rule families share: where epsilon goes, the loop over params, and torch's options.

Every family module (``sgd``, ``adagrad``, ``rmsprop``, ``adam``, ``sign``, ``layerwise``) holds its
``scale_by_*`` transforms, each with its equations next to the code that builds them, and its public rules,
each one composition of those. This module has the few pieces more than one family uses.
"""

from collections.abc import Callable, Sequence
from typing import Any

import pytensor.tensor as pt

from ..core.builder import Builder
from ..core.hyperparams import Domain
from ..core.transform import Transform, add_decayed_weights, is_zero, scale

__all__ = [
    "CLOSED_UNIT_INTERVAL",
    "EPSILON_PLACEMENTS",
    "check_placement",
    "root",
    "per_param",
    "ascent",
    "decayed_weights",
    "torch_weight_decay",
]

#: torch's dampening and the like: 1 is allowed.
CLOSED_UNIT_INTERVAL = Domain("in [0, 1]", lambda v: 0 <= v <= 1)

#: Where a rule adds epsilon to the root of its second-moment estimate ``v``. Frameworks disagree, and the
#: choice changes the numbers whenever ``sqrt(v)`` is not much larger than epsilon (early steps, small
#: gradients). One keyword, ``epsilon_placement``, selects the form in every rule that has the choice:
EPSILON_PLACEMENTS = {
    "inside": "sqrt(v + epsilon): Lasagne's adagrad, rmsprop and adadelta; optax's adagrad",
    "outside": "sqrt(v) + epsilon, v bias-corrected if the rule corrects it: torch and optax adam, "
    "torch's adagrad and rmsprop",
    "hat": "sqrt(v) + epsilon with v NOT bias-corrected, the correction applied to the quotient "
    "(Kingma and Ba's 'epsilon hat'): Lasagne's and TF1's adam, torch's radam",
}


def check_placement(value: Any, allowed: Sequence[str]) -> str:
    """``value``, or a ValueError naming ``epsilon_placement`` unless it is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"epsilon_placement must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def root(v: Any, epsilon: Any, placement: str) -> Any:
    """The denominator ``sqrt(epsilon + v)`` (placement "inside") or ``epsilon + sqrt(v)`` (otherwise)."""
    return pt.sqrt(epsilon + v) if placement == "inside" else epsilon + pt.sqrt(v)


def per_param(steps: Sequence[Any], builder: Builder, step: Callable[[int, Any, str], Any]) -> list[Any]:
    """``[step(i, g, dtype) for each param i]``: the loop of every elementwise scaling (``g`` is param
    ``i``'s incoming step, ``dtype`` its param's dtype)."""
    return [step(i, g, p.dtype) for i, (g, p) in enumerate(zip(steps, builder.params, strict=True))]


def ascent(maximize: Any) -> list[Transform]:
    """``[scale(-1)]`` to ascend the objective (torch's ``maximize``), or nothing."""
    if not isinstance(maximize, bool):
        raise TypeError(f"maximize must be a bool, got {maximize!r}")
    return [scale(-1)] if maximize else []


def decayed_weights(weight_decay: Any) -> list[Transform]:
    """``[add_decayed_weights(weight_decay)]``, or nothing for a weight decay of 0 (no graph, no cost)."""
    return [] if is_zero(weight_decay) else [add_decayed_weights(weight_decay)]


def torch_weight_decay(scaling: Transform, weight_decay: Any, decoupled: Any) -> list[Transform]:
    """``scaling`` with torch's weight decay: added to the gradient before it, or (``decoupled``) to the
    step after it, i.e. ``p *= 1 - lr * weight_decay`` (torch's ``decoupled_weight_decay``)."""
    if not isinstance(decoupled, bool):
        raise TypeError(f"decoupled_weight_decay must be a bool, got {decoupled!r}")
    decay = decayed_weights(weight_decay)
    return [scaling, *decay] if decoupled else [*decay, scaling]
