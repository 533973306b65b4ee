"""symupdates: optimizer update rules for PyTensor.

Drop-in for ``lasagne.updates`` and ``pymc.variational.updates``::

    import symupdates
    updates = symupdates.adagrad(loss, params, learning_rate=0.01)   # OrderedDict: shared var -> new value
    train_fn = pytensor.function([x, y], loss, updates=updates)

Module layout: ``gradients`` (gradients and their checks), ``hyperparams`` (hyper-parameter checks and
typing), ``updates`` (the returned dict and the state builder), ``transforms`` (composable building
blocks), ``optimizers`` (the public rules), ``scalings`` and ``optimizers_more`` (the
rules beyond Lasagne), ``constraints`` (norm constraints).
"""

from .constraints import norm_constraint, total_norm_constraint
from .gradients import get_or_compute_grads
from .optimizers import (
    adadelta,
    adagrad,
    adagrad_window,
    adam,
    adamax,
    amsgrad,
    apply_momentum,
    apply_nesterov_momentum,
    momentum,
    nesterov_momentum,
    rmsprop,
    sgd,
)
from .optimizers_more import (
    adabelief,
    adafactor,
    adamw,
    lamb,
    lars,
    lion,
    nadam,
    novograd,
    radam,
    rprop,
    sign_sgd,
    signum,
    yogi,
)
from .scalings import (
    scale_by_adafactor,
    scale_by_belief,
    scale_by_inverse_time,
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
from .transforms import (
    EPSILON_PLACEMENTS,
    Transform,
    add_decayed_weights,
    apply,
    chain,
    scale,
    scale_by_adadelta,
    scale_by_adam,
    scale_by_adamax,
    scale_by_amsgrad,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_rss,
    scale_by_window_rss,
)
from .updates import Updates

__version__ = "0.1.0"

__all__ = [
    "Transform",
    "Updates",
    "adadelta",
    "adagrad",
    "adagrad_window",
    "adam",
    "adamax",
    "amsgrad",
    "apply",
    "apply_momentum",
    "apply_nesterov_momentum",
    "chain",
    "get_or_compute_grads",
    "momentum",
    "nesterov_momentum",
    "norm_constraint",
    "rmsprop",
    "scale",
    "scale_by_adadelta",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_amsgrad",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_window_rss",
    "sgd",
    "total_norm_constraint",
    # optimizers beyond Lasagne (optimizers_more, scalings)
    "EPSILON_PLACEMENTS",
    "adabelief",
    "adafactor",
    "adamw",
    "add_decayed_weights",
    "lamb",
    "lars",
    "lion",
    "nadam",
    "novograd",
    "radam",
    "rprop",
    "scale_by_adafactor",
    "scale_by_belief",
    "scale_by_inverse_time",
    "scale_by_lion",
    "scale_by_nadam",
    "scale_by_novograd",
    "scale_by_radam",
    "scale_by_rprop",
    "scale_by_sign",
    "scale_by_trust_ratio",
    "scale_by_yogi",
    "sign_sgd",
    "signum",
    "trace",
    "yogi",
]
