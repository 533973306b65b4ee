"""Optimizers beyond Lasagne's nine: torch.optim's and optax's rules, each a short chain of transforms.

Same calling convention as ``optimizers``: ``rule(loss_or_grads, params, learning_rate, ...)`` returns the
``Updates`` dict, and ``rule(**hyper)`` (both first arguments omitted) returns the chain as a
``Transform``. Defaults are those of the rule's paper or of its reference implementation (named in each
docstring); docs/optimizers.md lists them all with their torch/optax equivalents.
"""

from .hyperparams import check_hyper
from .optimizers import _is_zero, _optimizer
from .scalings import (
    scale_by_adafactor,
    scale_by_belief,
    scale_by_lion,
    scale_by_nadam,
    scale_by_novograd,
    scale_by_radam,
    scale_by_rprop,
    scale_by_sign,
    scale_by_trust_ratio,
    scale_by_yogi,
    trace,
)
from .transforms import add_decayed_weights, scale, scale_by_adam, scale_by_learning_rate, with_options

__all__ = [
    "nadam",
    "adamw",
    "radam",
    "lion",
    "rprop",
    "sign_sgd",
    "signum",
    "yogi",
    "adabelief",
    "lamb",
    "lars",
    "adafactor",
    "novograd",
]


def _decay(weight_decay):
    """``add_decayed_weights(weight_decay)``, or nothing for the number 0."""
    check_hyper(weight_decay, "weight_decay")
    return [] if _is_zero(weight_decay) else [add_decayed_weights(weight_decay)]


def _config(learning_rate, scaling, **extra):
    return {"learning_rate": learning_rate, **scaling.config, **extra}


def nadam(loss_or_grads=None, params=None, learning_rate=2e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,
          momentum_decay=4e-3):
    """NAdam: Adam with Nesterov momentum and Dozat's momentum schedule.

    ``p' = p - learning_rate * s`` with ``s`` of ``scale_by_nadam``:
    ``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))``, ``P_t = mu_1 ... mu_t``,
    ``s = ((1 - mu_t) / (1 - P_t) * g + mu_{t+1} / (1 - P_t mu_{t+1}) * m') / (sqrt(v' / (1 - beta2^t)) + eps)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        2e-3 (torch).
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    momentum_decay : float or symbolic scalar, >= 0

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., nadam.t, nadam.mu_product``.

    Notes
    -----
    Defaults and numbers of ``torch.optim.NAdam`` (tests/test_parity.py). optax's ``nadam`` is a
    different simplification (no schedule).

    References
    ----------
    Dozat (2016), Incorporating Nesterov momentum into Adam, ICLR workshop.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.nadam((w ** 2).sum(), [w])]
    ['w.nadam.m', 'w.nadam.v', 'w', 'nadam.t', 'nadam.mu_product']
    """
    scaling = scale_by_nadam(beta1, beta2, epsilon, momentum_decay)
    return _optimizer("nadam", _config(learning_rate, scaling), loss_or_grads, params, scaling,
                      scale_by_learning_rate(learning_rate))


def adamw(loss_or_grads=None, params=None, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,
          weight_decay=1e-2, *, epsilon_placement="outside"):
    """AdamW: Adam with decoupled weight decay.

    ``m_hat``, ``v_hat`` as in Adam; ``p' = p - learning_rate * (m_hat / (sqrt(v_hat) + epsilon)
    + weight_decay * p)``: the decay is multiplied by the learning rate (torch's convention
    ``p -= lr * wd * p``), not by the adaptive scaling.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    weight_decay : float or symbolic scalar
        1e-2 (torch; optax's default is 1e-4).
    epsilon_placement : {"outside", "hat", "inside"}, keyword-only
        "outside" as torch and optax; "hat" is Lasagne's ``adam`` form. See
        ``symupdates.EPSILON_PLACEMENTS``.

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., adam.t``.

    Notes
    -----
    ``chain(scale_by_adam(...), add_decayed_weights(wd), scale_by_learning_rate(lr))``, exactly
    ``torch.optim.AdamW`` and ``optax.adamw`` (tests/test_parity.py). The paper's schedule multiplier
    ``eta_t`` is the learning rate here.

    References
    ----------
    Loshchilov and Hutter (2019), Decoupled weight decay regularization, ICLR, arXiv:1711.05101.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.adamw((w ** 2).sum(), [w], weight_decay=0.1)]
    ['w.adam.m', 'w.adam.v', 'w', 'adam.t']
    """
    scaling = scale_by_adam(beta1, beta2, epsilon, epsilon_placement=epsilon_placement)
    config = {"learning_rate": learning_rate, "beta1": beta1, "beta2": beta2, "epsilon": epsilon,
              "weight_decay": weight_decay}
    config = with_options(config, epsilon_placement=(epsilon_placement, "outside"))
    return _optimizer("adamw", config, loss_or_grads, params, scaling, *_decay(weight_decay),
                      scale_by_learning_rate(learning_rate))


def radam(loss_or_grads=None, params=None, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, *,
          epsilon_placement="hat"):
    """RAdam: rectified Adam, plain momentum SGD until the variance of the adaptive rate is tractable.

    ``p' = p - learning_rate * s`` with ``s`` of ``scale_by_radam``: ``m_hat`` while
    ``rho_t <= 5``, then ``r_t * m_hat * sqrt(1 - beta2^t) / (sqrt(v') + epsilon)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    epsilon_placement : {"hat", "outside", "inside"}, keyword-only
        "hat" is ``torch.optim.RAdam``, "outside" is ``optax.radam``.

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., radam.t``.

    Notes
    -----
    Defaults of torch (and optax). With beta2 = 0.999 the first 5 steps are un-adapted.

    References
    ----------
    Liu et al. (2020), On the variance of the adaptive learning rate and beyond, ICLR, arXiv:1908.03265.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.radam((w ** 2).sum(), [w])]
    ['w.radam.m', 'w.radam.v', 'w', 'radam.t']
    """
    scaling = scale_by_radam(beta1, beta2, epsilon, epsilon_placement=epsilon_placement)
    config = _config(learning_rate, scaling)
    config.pop("threshold")
    return _optimizer("radam", config, loss_or_grads, params, scaling, scale_by_learning_rate(learning_rate))


def lion(loss_or_grads=None, params=None, learning_rate=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    """Lion (EvoLved Sign Momentum).

    ``p' = p - learning_rate * (sign(beta1 * m + (1 - beta1) * g) + weight_decay * p)``;
    ``m' = beta2 * m + (1 - beta2) * g``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        1e-4: the paper advises 3-10x less than AdamW's, since every element moves by the full rate.
    beta1, beta2 : float or symbolic scalar
    weight_decay : float or symbolic scalar
        Decoupled, multiplied by the learning rate (0 here; optax's default is 1e-3).

    Returns
    -------
    Updates or Transform
        Key order ``m1, p1, m2, p2, ...``.

    Notes
    -----
    As ``optax.lion`` (tests/test_parity.py). torch has no Lion.

    References
    ----------
    Chen et al. (2023), Symbolic discovery of optimization algorithms, NeurIPS, arXiv:2302.06675.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.lion((w ** 2).sum(), [w])]
    ['w.lion.m', 'w']
    """
    scaling = scale_by_lion(beta1, beta2)
    return _optimizer("lion", _config(learning_rate, scaling, weight_decay=weight_decay), loss_or_grads, params,
                      scaling, *_decay(weight_decay), scale_by_learning_rate(learning_rate))


def rprop(loss_or_grads=None, params=None, learning_rate=1e-2, etaminus=0.5, etaplus=1.2, min_step=1e-6,
          max_step=50.0):
    """Rprop: resilient backpropagation, sign-based steps with per-element adaptive sizes.

    With ``q = g * g_prev``: ``d' = clip(d * (etaplus if q > 0, etaminus if q < 0, else 1), min_step,
    max_step)``; ``g' = 0 where q < 0 else g``; ``p' = p - sign(g') * d'``; ``g_prev = g'``;
    ``d`` starts at ``learning_rate``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float
        The initial step size (a number: it fills the state).
    etaminus, etaplus : float or symbolic scalar
    min_step, max_step : float or symbolic scalar

    Returns
    -------
    Updates or Transform
        Key order ``prev1, size1, p1, ...``.

    Notes
    -----
    ``torch.optim.Rprop`` (defaults ``lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50)``; same numbers,
    tests/test_parity.py). Meant for full-batch training.

    References
    ----------
    Riedmiller and Braun (1993), IEEE ICNN; Igel and Huesken (2000).

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.rprop((w ** 2).sum(), [w])]
    ['w.rprop.prev', 'w.rprop.step_size', 'w']
    """
    check_hyper(learning_rate, "learning_rate", nonnegative=True, symbolic=False)  # rprop's first step size
    scaling = scale_by_rprop(learning_rate, etaminus, etaplus, min_step, max_step)
    config = {"learning_rate": learning_rate, **scaling.config}
    config.pop("initial_step")
    return _optimizer("rprop", config, loss_or_grads, params, scaling, scale(-1))


def sign_sgd(loss_or_grads=None, params=None, learning_rate=1e-3):
    """signSGD: ``p' = p - learning_rate * sign(g)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar

    Returns
    -------
    Updates or Transform

    Notes
    -----
    The paper gives no default rate; 1e-3 as ``sgd``.

    References
    ----------
    Bernstein, Wang, Azizzadenesheli and Anandkumar (2018), signSGD: Compressed optimisation for
    non-convex problems, ICML, arXiv:1802.04434.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.array([2.0, -3.0]), name="w")
    >>> step = pytensor.function([], [], updates=symupdates.sign_sgd((w ** 2).sum(), [w], 0.5))
    >>> _ = step(); w.get_value()
    array([ 1.5, -2.5])
    """
    return _optimizer("sign_sgd", {"learning_rate": learning_rate}, loss_or_grads, params, scale_by_sign(),
                      scale_by_learning_rate(learning_rate))


def signum(loss_or_grads=None, params=None, learning_rate=1e-3, momentum=0.9):
    """Signum: signSGD on a momentum of the gradients.

    ``m' = momentum * m + (1 - momentum) * g``; ``p' = p - learning_rate * sign(m')``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    momentum : float or symbolic scalar
        0.9, the paper's.

    Returns
    -------
    Updates or Transform
        Key order ``b1, p1, b2, p2, ...`` (``"<param>.signum.velocity"``).

    Notes
    -----
    Built as ``chain(trace(momentum), scale_by_sign(), scale_by_learning_rate(lr))``: the trace
    ``b' = momentum * b + g`` is ``m' / (1 - momentum)``, a positive multiple with the same sign.

    References
    ----------
    Bernstein et al. (2018), signSGD, ICML, arXiv:1802.04434.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.signum((w ** 2).sum(), [w])]
    ['w.signum.velocity', 'w']
    """
    return _optimizer("signum", {"learning_rate": learning_rate, "momentum": momentum}, loss_or_grads, params,
                      trace(momentum, name="signum"), scale_by_sign(), scale_by_learning_rate(learning_rate))


def yogi(loss_or_grads=None, params=None, learning_rate=1e-2, beta1=0.9, beta2=0.999, epsilon=1e-3,
         initial_accumulator_value=1e-6):
    """Yogi: Adam with an additive, sign-controlled second-moment update.

    ``v' = v - (1 - beta2) * sign(v - g^2) * g^2``; ``p' = p - learning_rate * m_hat / (sqrt(v_hat) +
    epsilon)`` (see ``scale_by_yogi``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        1e-2, the paper's.
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
    initial_accumulator_value : float >= 0

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., yogi.t``.

    Notes
    -----
    ``optax.yogi`` (tests/test_parity.py).

    References
    ----------
    Zaheer, Reddi, Sachan, Kale and Kumar (2018), Adaptive methods for nonconvex optimization, NeurIPS.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.yogi((w ** 2).sum(), [w])]
    ['w.yogi.m', 'w.yogi.v', 'w', 'yogi.t']
    """
    scaling = scale_by_yogi(beta1, beta2, epsilon, initial_accumulator_value)
    return _optimizer("yogi", _config(learning_rate, scaling), loss_or_grads, params, scaling,
                      scale_by_learning_rate(learning_rate))


def adabelief(loss_or_grads=None, params=None, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-16):
    """AdaBelief: Adam whose second moment is the variance of ``g`` around its running mean.

    ``s_v' = beta2 * s_v + (1 - beta2) * (g - m')^2 + epsilon``;
    ``p' = p - learning_rate * m_hat / (sqrt(s_hat) + epsilon)`` (see ``scale_by_belief``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
        1e-16, the authors' and optax's default.

    Returns
    -------
    Updates or Transform
        Key order ``m1, s1, p1, ..., adabelief.t``.

    Notes
    -----
    ``optax.adabelief`` (tests/test_parity.py).

    References
    ----------
    Zhuang et al. (2020), AdaBelief optimizer, NeurIPS, arXiv:2010.07468.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.adabelief((w ** 2).sum(), [w])]
    ['w.adabelief.m', 'w.adabelief.s', 'w', 'adabelief.t']
    """
    scaling = scale_by_belief(beta1, beta2, epsilon)
    return _optimizer("adabelief", _config(learning_rate, scaling), loss_or_grads, params, scaling,
                      scale_by_learning_rate(learning_rate))


def lamb(loss_or_grads=None, params=None, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-6,
         weight_decay=0.0):
    """LAMB: Adam steps plus decoupled weight decay, rescaled per layer by a trust ratio.

    ``u = m_hat / (sqrt(v_hat) + epsilon) + weight_decay * p``;
    ``p' = p - learning_rate * ||p|| / ||u|| * u`` (ratio 1 where a norm is 0).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1, beta2 : float or symbolic scalar
    epsilon : float or symbolic scalar, >= 0
        1e-6, the paper's and optax's.
    weight_decay : float or symbolic scalar

    Returns
    -------
    Updates or Transform
        Key order ``m1, v1, p1, ..., adam.t``.

    Notes
    -----
    ``optax.lamb``: ``chain(scale_by_adam(epsilon_placement="outside"), add_decayed_weights(wd),
    scale_by_trust_ratio(), scale_by_learning_rate(lr))`` (tests/test_parity.py). The trust ratio needs
    two norms per param, so the update is not a single elementwise loop.

    References
    ----------
    You et al. (2020), Large batch optimization for deep learning: Training BERT in 76 minutes, ICLR,
    arXiv:1904.00962.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.lamb((w ** 2).sum(), [w])]
    ['w.adam.m', 'w.adam.v', 'w', 'adam.t']
    """
    scaling = scale_by_adam(beta1, beta2, epsilon, epsilon_placement="outside")
    config = {"learning_rate": learning_rate, "beta1": beta1, "beta2": beta2, "epsilon": epsilon,
              "weight_decay": weight_decay}
    return _optimizer("lamb", config, loss_or_grads, params, scaling, *_decay(weight_decay),
                      scale_by_trust_ratio(), scale_by_learning_rate(learning_rate))


def lars(loss_or_grads=None, params=None, learning_rate=0.1, momentum=0.9, weight_decay=0.0,
         trust_coefficient=1e-3, epsilon=0.0, *, nesterov=False):
    """LARS: momentum SGD with a layer-wise trust ratio.

    ``u = g + weight_decay * p``; ``u = u * trust_coefficient * ||p|| / (||u|| + epsilon)`` (unchanged
    where a norm is 0); ``b' = momentum * b + u``; ``p' = p - learning_rate * b'`` (Nesterov:
    ``p - learning_rate * (u + momentum * b')``).

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        0.1 (the paper scales it with the batch size; optax has no default).
    momentum : float or symbolic scalar
    weight_decay : float or symbolic scalar
        Coupled: added to the gradient before the trust ratio.
    trust_coefficient : float or symbolic scalar
        ``eta`` of the paper, 1e-3.
    epsilon : float or symbolic scalar, >= 0
    nesterov : bool, keyword-only

    Returns
    -------
    Updates or Transform
        Key order ``b1, p1, ...`` (``"<param>.lars.velocity"``).

    Notes
    -----
    ``optax.lars`` (tests/test_parity.py) applies the momentum after the learning rate; for a constant
    rate that is the same trajectory. It has masks to spare biases from decay and trust ratio; use
    ``add_decayed_weights(mask=...)`` in your own chain for that. Not a single elementwise loop (norms).

    References
    ----------
    You, Gitman and Ginsburg (2017), Large batch training of convolutional networks, arXiv:1708.03888.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.lars((w ** 2).sum(), [w])]
    ['w.lars.velocity', 'w']
    """
    config = with_options(
        {"learning_rate": learning_rate, "momentum": momentum, "weight_decay": weight_decay,
         "trust_coefficient": trust_coefficient, "epsilon": epsilon},
        nesterov=(nesterov, False),
    )
    return _optimizer("lars", config, loss_or_grads, params, *_decay(weight_decay),
                      scale_by_trust_ratio(trust_coefficient, epsilon),
                      trace(momentum, nesterov=nesterov, name="lars"),
                      scale_by_learning_rate(learning_rate))


def adafactor(loss_or_grads=None, params=None, learning_rate=1e-2, decay_rate=0.8, clipping_threshold=1.0,
              epsilon1=None, epsilon2=1e-3, weight_decay=0.0):
    """Adafactor: factored second moments (a row and a column statistic per matrix), relative steps.

    ``p' = p - s - learning_rate * weight_decay * p`` with ``s`` of ``scale_by_adafactor``:
    ``alpha = max(epsilon2, RMS(p)) * min(learning_rate, 1 / sqrt(t))``, ``V`` the (factored for
    ndim >= 2) running mean of ``g^2`` with weight ``t^-decay_rate``, ``U = g / sqrt(V)``,
    ``s = alpha * U / max(1, RMS(U) / clipping_threshold)``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
        Cap of the relative step size (torch's ``lr=1e-2``).
    decay_rate : float or symbolic scalar
        0.8 (torch's ``beta2_decay=-0.8``).
    clipping_threshold : float or symbolic scalar
        ``d`` of the paper and torch (1.0).
    epsilon1 : float, symbolic scalar or None
        None: the dtype's machine epsilon (torch's ``eps=(None, 1e-3)``).
    epsilon2 : float or symbolic scalar
    weight_decay : float or symbolic scalar
        Decoupled, ``p -= learning_rate * weight_decay * p`` (torch's convention).

    Returns
    -------
    Updates or Transform
        Key order ``row1, col1, p1, v2, p2, ..., adafactor.t`` (a matrix gets ``row`` and ``col``,
        a vector or scalar ``v``).

    Notes
    -----
    ``torch.optim.Adafactor`` (tests/test_parity.py). The memory saving is the paper's: a ``(n, m)``
    matrix keeps ``n + m`` statistics. Needs per-tensor reductions (RMS, row and column means).

    References
    ----------
    Shazeer and Stern (2018), Adafactor: Adaptive learning rates with sublinear memory cost, ICML,
    arXiv:1804.04235.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones((2, 3)), name="w")
    >>> [v.name for v in symupdates.adafactor((w ** 2).sum(), [w])]
    ['w.adafactor.row', 'w.adafactor.col', 'w', 'adafactor.t']
    """
    scaling = scale_by_adafactor(learning_rate, decay_rate, clipping_threshold, epsilon1, epsilon2)
    check_hyper(weight_decay, "weight_decay")
    decay = [] if _is_zero(weight_decay) else [add_decayed_weights(learning_rate * weight_decay)]
    return _optimizer("adafactor", {**scaling.config, "weight_decay": weight_decay}, loss_or_grads, params,
                      scaling, *decay, scale(-1))


def novograd(loss_or_grads=None, params=None, learning_rate=1e-3, beta1=0.9, beta2=0.25, epsilon=1e-6,
             weight_decay=0.0):
    """NovoGrad: layer-wise second moments, momentum on normalised gradients.

    ``n' = ||g||^2`` (first step), then ``beta2 * n + (1 - beta2) * ||g||^2``;
    ``m' = beta1 * m + (g / (sqrt(n') + epsilon) + weight_decay * p)``; ``p' = p - learning_rate * m'``.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable or list of TensorVariable, optional
    params : list of SharedVariable, optional
        Omit both to get a ``Transform`` taking ``(loss_or_grads, params)``.
    learning_rate : float or symbolic scalar
    beta1 : float or symbolic scalar
        Momentum (0.9).
    beta2 : float or symbolic scalar
        Decay of the layer norm average (0.25, optax's; the paper uses 0.98 in its experiments).
    epsilon : float or symbolic scalar, >= 0
    weight_decay : float or symbolic scalar

    Returns
    -------
    Updates or Transform
        Key order ``nu1, m1, p1, ..., novograd.t``; ``nu`` is a scalar per param, ``m`` is named
        ``"<param>.novograd.velocity"``.

    Notes
    -----
    ``optax.novograd`` (tests/test_parity.py): ``chain(scale_by_novograd(beta2, epsilon),
    add_decayed_weights(wd), trace(beta1), scale_by_learning_rate(lr))``. Per-tensor norms: not a
    single elementwise loop.

    References
    ----------
    Ginsburg et al. (2019), Stochastic gradient methods with layer-wise adaptive moments for training of
    deep networks, arXiv:1905.11286.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates
    >>> w = pytensor.shared(np.ones(2), name="w")
    >>> [v.name for v in symupdates.novograd((w ** 2).sum(), [w])]
    ['w.novograd.nu', 'w.novograd.velocity', 'w', 'novograd.t']
    """
    scaling = scale_by_novograd(beta2, epsilon)
    config = {"learning_rate": learning_rate, "beta1": beta1, "beta2": beta2, "epsilon": epsilon,
              "weight_decay": weight_decay}
    return _optimizer("novograd", config, loss_or_grads, params, scaling, *_decay(weight_decay),
                      trace(beta1, name="novograd"), scale_by_learning_rate(learning_rate))
