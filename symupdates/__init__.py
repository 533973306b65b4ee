"""symupdates: optimizer update rules for PyTensor.

Drop-in for ``lasagne.updates`` and ``pymc.variational.updates``::

    import symupdates
    updates = symupdates.adagrad(loss, params, learning_rate=0.01)   # OrderedDict: shared var -> new value
    train_fn = pytensor.function([x, y], loss, updates=updates)

Module layout: ``gradients`` (gradients and their checks), ``hyperparams`` (hyper-parameter checks and
typing), ``updates`` (the returned dict and the state builder), ``transforms`` (the composition machinery
and the transforms every rule shares), ``scalings`` (one ``scale_by_*`` per published rule),
``optimizers`` (the public rules: Lasagne's and PyMC's, then torch.optim's and optax's), ``constraints``
(norm constraints), ``clipping`` (clipping transforms), ``wrappers`` (per-group rules, flattening, NaN
guard, accumulation, lookahead, averaging), ``schedules`` (hyper-parameters that change with the step),
``checkpoint`` (seeing, saving, loading and resetting optimizer state), ``multiplicative`` (multiplicative
updates for non-negative parameters, by splitting the gradient graph), ``fast`` (a compiled step without
per-call checks, for training loops), ``inspection`` (what a compiled step does: fusion, in place,
dtypes, bytes moved).
"""

from types import ModuleType as _ModuleType

from .checkpoint import CheckpointError, StateEntry, load_state, reset_state, save_state, state_of
from .clipping import clip_by_global_norm, clip_by_norm, clip_by_value
from .constraints import norm_constraint, total_norm_constraint
from .fast import fast_function
from .gradients import get_or_compute_grads
from .inspection import StepReport, inspect_step, measure_bandwidth
from .multiplicative import SplitError, multiplicative, split_gradient
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
    EPSILON_PLACEMENTS,
    scale_by_adadelta,
    scale_by_adam,
    scale_by_adamax,
    scale_by_amsgrad,
    scale_by_rms,
    scale_by_rss,
    scale_by_window_rss,
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
from .transforms import Transform, add_decayed_weights, apply, chain, scale, scale_by_learning_rate
from .schedules import (
    Schedule,
    constant_schedule,
    cosine_decay_schedule,
    cosine_onecycle_schedule,
    exponential_decay,
    inverse_time_decay,
    join_schedules,
    linear_schedule,
    piecewise_constant_schedule,
    polynomial_schedule,
    reduce_on_plateau,
    sgdr_schedule,
    warmup_cosine_decay_schedule,
)
from .updates import Updates, merge
from .wrappers import (
    accumulate_gradients,
    apply_if_finite,
    averaged_parameters,
    copy_parameters,
    flatten,
    lookahead,
    masked,
    multi_transform,
    parameter_ema,
    swap_parameters,
)

__version__ = "0.1.0"

# Everything imported above is public: the list is derived so that it cannot drift from the imports.
__all__ = sorted(
    name for name, value in globals().items() if not name.startswith("_") and not isinstance(value, _ModuleType)
)
