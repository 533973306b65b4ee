"""Adapters between symupdates and other optimizer libraries of the PyTensor ecosystem.

Each adapter is a module of its own, imported only when the other library's objects are met, so that
symupdates depends on none of them. ``adapter_for`` is the one hook the core calls.
"""

import sys
from types import ModuleType

__all__ = ["adapter_for", "stage_adapter_for"]


def adapter_for(value: object) -> ModuleType | None:
    """The adapter module for ``value`` when it is another library's updates dict, else None.

    Recognised by the module that defines its class, so that the other library is never imported here:
    a ``pytensor_ml.optim.Updates`` (``Gradients``, ``Steps``) gives ``symupdates.interop.pytensor_ml``.

    Parameters
    ----------
    value : object
        What a rule was given as ``loss_or_grads``, or what a checkpoint function was given as ``updates``.

    Returns
    -------
    module or None

    Examples
    --------
    >>> adapter_for({}) is None
    True
    """
    if not isinstance(value, dict):
        return None
    if any(cls.__module__.partition(".")[0] == "pytensor_ml" for cls in type(value).__mro__):
        from . import pytensor_ml

        return pytensor_ml
    return None


def stage_adapter_for(value: object) -> ModuleType | None:
    """The adapter for ``value`` given to a rule as ``loss_or_grads``: ``adapter_for(value)``, or, for the
    ``Updates`` of an earlier symupdates stage of a pytensor-ml chain, the pytensor-ml adapter.

    A symupdates transform first in a ``pytensor_ml.optim.chain`` is given the loss and returns symupdates
    ``Updates``; the next stage, when it is symupdates' too, continues from them as from pytensor-ml's
    unplaced updates. That reading is taken only where pytensor-ml is loaded.

    Parameters
    ----------
    value : object

    Returns
    -------
    module or None

    Examples
    --------
    >>> stage_adapter_for([]) is None
    True
    """
    from ..core.updates import Updates

    if isinstance(value, Updates) and "pytensor_ml" in sys.modules:
        from . import pytensor_ml

        return pytensor_ml
    return adapter_for(value)
