"""symupdates: optimizer update rules for PyTensor.

Drop-in for ``lasagne.updates`` and ``pymc.variational.updates``::

    import symupdates
    updates = symupdates.adagrad(loss, params, learning_rate=0.01)   # OrderedDict: shared var -> new value
    train_fn = pytensor.function([x, y], loss, updates=updates)

Module layout: ``gradients`` (gradients and their checks), ``hyperparams`` (hyper-parameter checks and
typing), ``updates`` (the returned dict), ``builder`` (the state builder transforms write into),
``transforms`` (the composition machinery, how a rule is declared, ``inject_hyperparams``, and the
transforms every rule shares), ``scalings`` (one ``scale_by_*`` per published rule),
``optimizers`` (the public rules: Lasagne's and PyMC's, then torch.optim's and optax's), ``constraints``
(norm constraints), ``clipping`` (clipping transforms), ``wrappers`` (per-group rules, flattening, NaN
guard, accumulation, lookahead, averaging), ``schedules`` (hyper-parameters that change with the step),
``orthogonal`` (muon), ``schedule_free`` (schedule-free rules and their evaluation params),
``parameter_free`` (prodigy, D-Adaptation), ``sharpness`` (sam), ``curvature`` (adahessian and sophia:
Hessian-diagonal estimates), ``checkpoint`` (seeing, saving, loading
and resetting optimizer state), ``multiplicative`` (multiplicative updates for non-negative parameters, by
splitting the gradient graph), ``sparse`` (row-sparse steps for embedding tables), ``fast`` (a compiled
step without per-call checks, for training loops), ``inspection`` (what a compiled step does: fusion, in
place, dtypes, bytes moved), ``steps`` (many steps per compiled call), ``parallel`` (data-parallel steps on
a JAX device mesh).
"""

from types import ModuleType as _ModuleType

from .runtime.checkpoint import CheckpointError, StateEntry, load_state, reset_state, save_state, state_of
from .wrappers.clipping import clip_by_global_norm, clip_by_norm, clip_by_value
from .wrappers.constraints import norm_constraint, total_norm_constraint
from .runtime.fast import fast_function
from .core.gradients import get_or_compute_grads
from .runtime.inspection import StepReport, inspect_step, measure_bandwidth
from .rules.multiplicative import SplitError, multiplicative, split_gradient
from .rules.optimizers import (
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
from .rules.scalings import (
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
from .wrappers.sparse import SparseFallbackWarning, sparse
from .core.transform import (
    Transform,
    add_decayed_weights,
    apply,
    chain,
    inject_hyperparams,
    scale,
    scale_by_learning_rate,
)
from .rules.orthogonal import muon, newton_schulz, scale_by_muon
from .rules.parameter_free import dadapt_adamw, prodigy, scale_by_dadapt_adamw, scale_by_prodigy
from .rules.schedule_free import (
    schedule_free,
    schedule_free_adamw,
    schedule_free_eval_parameters,
    schedule_free_sgd,
)
from .rules.sharpness import sam
from .rules.curvature import adahessian, hutchinson_diagonal, scale_by_adahessian, scale_by_sophia, sophia
from .core.schedules import (
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
from .runtime.parallel import sharded_function
from .runtime.steps import scan_steps, steps_function
from .runtime.implicit import implicit_gradient
from .runtime.unroll import PIECEWISE_CONSTANT, Unrolled, unroll
from .core.updates import Updates, merge
from .wrappers.accumulation import accumulate_gradients
from .wrappers.averaging import (
    averaged_parameters,
    copy_parameters,
    lookahead,
    parameter_ema,
    swap_parameters,
)
from .wrappers.flatten import flatten
from .wrappers.guards import apply_if_finite
from .wrappers.hypergradient import hypergradient
from .wrappers.masks import masked, multi_transform

__version__ = "0.1.0"

# Everything imported above is public: the list is derived so that it cannot drift from the imports.
__all__ = sorted(
    name
    for name, value in globals().items()
    if not name.startswith("_") and not isinstance(value, _ModuleType)
)
