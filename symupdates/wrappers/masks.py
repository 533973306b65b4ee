"""Per-group rules: a transform per group of params (``multi_transform``), or for some params only
(``masked``)."""

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from ..core.transform import Transform, check_transform, transform
from ..core.types import Build, Builder, Steps

__all__ = ["multi_transform", "masked"]


def _labels_of(
    param_labels: Sequence[Any] | Callable[[Any], Any], params: Sequence[Any], name: str
) -> list[Any]:
    labels = [param_labels(p) for p in params] if callable(param_labels) else list(param_labels)
    if len(labels) != len(params):
        raise ValueError(f"{name} has {len(labels)} entries for {len(params)} params")
    return labels


@transform
def multi_transform(
    transforms: Mapping[Hashable, Transform], param_labels: Sequence[Hashable] | Callable[[Any], Hashable]
) -> Build:
    """Apply a different transform to each group of params (per-group hyper-parameters).

    Parameters
    ----------
    transforms : dict
        ``{label: Transform}``.
    param_labels : sequence or callable
        One label per param, in the order of ``params``, or ``label = param_labels(param)``.

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.multi_transform``. Each group's transform creates its state for that group's params only
    (two groups using adam get counters ``adam.t`` and ``adam.t#2``).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> W, b = pytensor.shared(np.ones((2, 2)), name="W"), pytensor.shared(np.ones(2), name="b")
    >>> tx = su.multi_transform({"weights": su.adam(learning_rate=1e-3), "biases": su.sgd(learning_rate=0.1)},
    ...                         lambda p: "weights" if p.ndim > 1 else "biases")
    >>> [v.name for v in tx((W.sum() + b.sum()) ** 2, [W, b])]
    ['W.adam.m', 'W.adam.v', 'W', 'b', 'adam.t']
    """
    if not isinstance(transforms, Mapping):
        raise TypeError(f"transforms must be a dict of label: Transform, got {type(transforms).__name__}")
    transforms = dict(transforms)
    for label, t in transforms.items():
        check_transform(t, f"transforms[{label!r}]")

    def build(steps: Steps, builder: Builder) -> Steps:
        labels = _labels_of(param_labels, builder.params, "param_labels")
        unknown = {label for label in labels if label not in transforms}
        if unknown:
            raise ValueError(f"param_labels has labels {sorted(map(repr, unknown))} missing from transforms")
        out = list(steps)
        for label, t in transforms.items():
            group = [i for i, lab in enumerate(labels) if lab == label]
            if group:
                for i, s in zip(
                    group, t.build([steps[i] for i in group], builder.subset(group)), strict=True
                ):
                    out[i] = s
        return out

    return build


_identity = Transform(lambda steps, builder: steps, "identity")


@transform
def masked(inner: Transform, mask: Sequence[bool] | Callable[[Any], bool]) -> Build:
    """Apply ``inner`` to the params where ``mask`` is true; the others' steps pass through unchanged.

    Parameters
    ----------
    inner : Transform
    mask : sequence of bool or callable
        One flag per param, or ``flag = mask(param)`` (e.g. ``lambda p: p.ndim > 1`` for weights only).

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.masked``: unmasked steps are left as they come, so a later transform of the chain still
    applies to them (``chain(masked(clip_by_norm(1.0), mask), scale_by_adam(), ...)`` clips some gradients
    and adapts all). To give the other params another transform, use ``multi_transform``.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> W, b = pytensor.shared(np.ones((2, 2)), name="W"), pytensor.shared(np.ones(2), name="b")
    >>> tx = su.chain(su.masked(su.scale_by_rss(), lambda p: p.ndim > 1), su.scale_by_learning_rate(0.1))
    >>> [v.name for v in tx((W.sum() + b.sum()) ** 2, [W, b])]
    ['W.adagrad.accu', 'W', 'b']
    """
    check_transform(inner, "inner")

    def build(steps: Steps, builder: Builder) -> Steps:
        flags = [bool(f) for f in _labels_of(mask, builder.params, "mask")]
        return multi_transform({True: inner, False: _identity}, flags).build(steps, builder)

    return build
