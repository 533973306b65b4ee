"""symupdates: optimizer update rules for PyTensor.

Drop-in for ``lasagne.updates`` and ``pymc.variational.updates``::

    import symupdates
    updates = symupdates.adagrad(loss, params, learning_rate=0.01)   # OrderedDict: shared var -> new value
    train_fn = pytensor.function([x, y], loss, updates=updates)

Module layout: ``gradients`` (gradients and their checks), ``hyperparams`` (hyper-parameter checks and
typing), ``updates`` (the returned dict and the state builder), ``transforms`` (composable building
blocks), ``optimizers`` (the public rules), ``constraints`` (norm constraints).
"""

from .constraints import norm_constraint, total_norm_constraint
from .fast import fast_function
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
from .transforms import (
    Transform,
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
    "fast_function",
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
]
