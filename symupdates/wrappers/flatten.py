"""One flat vector per dtype (``flatten``): a rule applied to all params joined, as one tensor."""

from ..core.builder import FlatBuilder
from ..core.transform import Transform, check_transform, transform
from ..core.types import Build, Builder, Steps

__all__ = ["flatten"]


@transform
def flatten(inner: Transform) -> Build:
    """Run ``inner`` on one flat vector per dtype: all params of a dtype, and their steps, concatenated.

    For each dtype (groups in the order the params first appear): ``g = concat(ravel(g_i))`` over the
    params ``p_i`` of that dtype, ``s = inner(g)`` with ``inner`` seeing one param
    ``p = concat(ravel(p_i))`` named ``"flat.<dtype>"``, and ``s_i = reshape(s[o_i:o_i + n_i], shape(p_i))``
    (``o_i`` the offset and ``n_i`` the size of ``p_i``), so ``p_i' = p_i + s_i``. ``inner``'s state is one
    vector per dtype, named ``"flat.<dtype>.<tag>.<slot>"`` (``"flat.float32.adam.m"``).

    Parameters
    ----------
    inner : Transform
        The rule to run on the flat vectors, e.g. ``adam(learning_rate=1e-3)``. (Lasagne's ``momentum`` and
        ``nesterov_momentum`` act on a finished updates dict; their transform form is
        ``sgd(learning_rate, momentum=mu, nesterov=...)``.)

    Returns
    -------
    Transform

    Notes
    -----
    As ``optax.flatten``, for speed with many small params. A compiled call pays a fixed cost per array
    argument and result (with NUMBA, boxing and unboxing each one), and each param brings its state arrays
    too; flat state makes that one array per slot and dtype. Each param's update is still one in-place add,
    reading its slice of the flat step without a copy. The price is the concatenation of the gradients, one
    more read and write of every value: flattening pays for many small params and costs time on a few
    large ones (measured with ``benchmarks/update_step.py``, see benchmarks/results.md), so it is opt-in.

    Elementwise rules (sgd, with or without momentum, adagrad, rmsprop, adadelta, adam, ...) give the same
    numbers as ``inner`` itself, up to rounding (the step and the add are two loops, no longer one). Rules
    that use a param's norm or shape (lamb, lars, novograd, ``clip_by_norm``, ``scale_by_trust_ratio``,
    masks by ``ndim``) see one vector per dtype instead, as in optax, and give other numbers
    (``clip_by_global_norm`` is unaffected); adafactor keeps an unfactored second moment for the vector,
    losing its memory saving, and a transform asking for a row or column statistic (``reduced_axis``) is
    refused. Each dtype's state is laid out just before the first param of that dtype, and the dtypes
    share ``inner``'s step counters (``adam.t``). A checkpoint of ``inner`` does not load into
    ``flatten(inner)`` (other state names and shapes), nor the reverse.

    The rules that skip steps, ``apply_if_finite`` and ``accumulate_gradients``, go outside
    (``apply_if_finite(flatten(adam(...)))``); inside, each dtype's check would skip the others' steps
    half-way, so ``flatten`` refuses them. ``lookahead`` and ``parameter_ema`` work either way; inside,
    their state is flat too (``lookahead`` then copies each param's next value out of a flat vector), and
    the key of ``averaged_parameters`` is the flat vector of each dtype, which ``swap_parameters`` and
    ``copy_parameters`` accept.

    References
    ----------
    optax, ``optax.flatten``: https://optax.readthedocs.io/en/latest/api/optimizer_wrappers.html.
    PyTorch's ``foreach`` and ``fused`` optimizer implementations, which batch the params of a dtype and
    device for the same reason: https://pytorch.org/docs/stable/optim.html.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> W = pytensor.shared(np.ones((2, 3), dtype="float32"), name="W")
    >>> b = pytensor.shared(np.ones(3, dtype="float32"), name="b")
    >>> updates = su.flatten(su.adam(learning_rate=1e-3))((W.sum() + b.sum()) ** 2, [W, b])
    >>> [(v.name, v.get_value().shape) for v in updates.state]
    [('adam.t', ()), ('flat.float32.adam.m', (9,)), ('flat.float32.adam.v', (9,))]
    >>> [v.name for v in updates]
    ['flat.float32.adam.m', 'flat.float32.adam.v', 'W', 'b', 'adam.t']
    """
    check_transform(inner, "inner")

    def build(steps: Steps, builder: Builder) -> Steps:
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(builder.params):
            groups.setdefault(p.dtype, []).append(i)
        out, counters = list(steps), dict[str, int]()
        for indices in groups.values():
            flat = FlatBuilder(builder, indices, inner.name, counters)
            (step,) = inner.build([flat.join([steps[i] for i in indices])], flat)
            for i, s in zip(indices, flat.split(step), strict=True):
                out[i] = s
        return out

    return build
