"""symupdates: optimizer update rules for PyTensor.

Drop-in for ``lasagne.updates`` and ``pymc.variational.updates``::

    import symupdates
    updates = symupdates.adagrad(loss, params, learning_rate=0.01)   # OrderedDict: shared var -> new value
    train_fn = pytensor.function([x, y], loss, updates=updates)

Layout, in four groups:

* ``core``: the returned dict (``updates``), the state builder transforms write into (``builder``), the
  composition machinery and how a rule is declared (``transform``), hyper-parameter domains and typing
  (``hyperparams``), schedules, gradients and the PyTensor version differences (``compat``);
* ``rules``: one module per family, each with its ``scale_by_*`` transforms and its public rules, the
  equations next to the code: ``sgd`` (sgd, Lasagne's momentum, ``trace``), ``adagrad``, ``rmsprop``
  (and adadelta), ``adam`` (adam, adamw, amsgrad, adamax, nadam, radam, yogi, adabelief), ``sign`` (signSGD,
  signum, lion, rprop), ``layerwise`` (lamb, lars, novograd, adafactor), ``common`` (what they share), then
  ``orthogonal`` (muon), ``schedule_free``, ``parameter_free`` (prodigy, D-Adaptation), ``sharpness`` (sam),
  ``curvature`` (adahessian, sophia) and ``multiplicative`` (non-negative parameters);
* ``wrappers``: transforms around a rule (clipping, constraints, masks, flatten, NaN guard, accumulation,
  lookahead and averaging, sparse rows);
* ``runtime``: compiled steps without per-call checks (``fast``), many steps per call (``steps``),
  data-parallel steps (``parallel``), what a compiled step does (``inspection``), saving and loading state
  (``checkpoint``).
"""

from .core.gradients import get_or_compute_grads
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
from .core.transform import (
    Transform,
    add_decayed_weights,
    apply,
    chain,
    inject_hyperparams,
    scale,
    scale_by_learning_rate,
)
from .core.updates import Updates, merge
from .rules.adagrad import adagrad, adagrad_window, scale_by_inverse_time, scale_by_rss, scale_by_window_rss
from .rules.adam import (
    EPSILON_PLACEMENTS,
    adabelief,
    adam,
    adamax,
    adamw,
    amsgrad,
    nadam,
    radam,
    scale_by_adam,
    scale_by_adamax,
    scale_by_amsgrad,
    scale_by_belief,
    scale_by_nadam,
    scale_by_radam,
    scale_by_yogi,
    yogi,
)
from .rules.curvature import adahessian, hutchinson_diagonal, scale_by_adahessian, scale_by_sophia, sophia
from .rules.layerwise import (
    adafactor,
    lamb,
    lars,
    novograd,
    scale_by_adafactor,
    scale_by_novograd,
    scale_by_trust_ratio,
)
from .rules.lbfgs import lbfgs, scale_by_lbfgs
from .rules.multiplicative import SplitError, multiplicative, split_gradient
from .rules.orthogonal import muon, newton_schulz, scale_by_muon
from .rules.parameter_free import dadapt_adamw, prodigy, scale_by_dadapt_adamw, scale_by_prodigy
from .rules.rmsprop import adadelta, rmsprop, scale_by_adadelta, scale_by_rms
from .rules.schedule_free import (
    schedule_free,
    schedule_free_adamw,
    schedule_free_eval_parameters,
    schedule_free_sgd,
)
from .rules.sgd import apply_momentum, apply_nesterov_momentum, momentum, nesterov_momentum, sgd, trace
from .rules.sharpness import sam
from .rules.sign import lion, rprop, scale_by_lion, scale_by_rprop, scale_by_sign, sign_sgd, signum
from .runtime.checkpoint import CheckpointError, StateEntry, load_state, reset_state, save_state, state_of
from .runtime.fast import fast_function
from .runtime.implicit import implicit_gradient
from .runtime.inspection import StepReport, inspect_step, measure_bandwidth
from .runtime.parallel import sharded_function
from .runtime.steps import scan_steps, steps_function
from .runtime.unroll import Unrolled, unroll
from .wrappers.accumulation import accumulate_gradients
from .wrappers.averaging import (
    averaged_parameters,
    copy_parameters,
    lookahead,
    parameter_ema,
    swap_parameters,
)
from .wrappers.clipping import clip_by_global_norm, clip_by_norm, clip_by_value
from .wrappers.constraints import norm_constraint, total_norm_constraint
from .wrappers.flatten import flatten
from .wrappers.guards import GuardedStep, TooManySkippedSteps, apply_if_finite, large_step, skip_if
from .wrappers.hypergradient import hypergradient
from .wrappers.linesearch import scale_by_backtracking_linesearch, scale_by_zoom_linesearch
from .wrappers.masks import masked, multi_transform
from .wrappers.sparse import SparseFallbackWarning, sparse

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "EPSILON_PLACEMENTS",
    "GuardedStep",
    "Schedule",
    "SparseFallbackWarning",
    "SplitError",
    "StateEntry",
    "StepReport",
    "TooManySkippedSteps",
    "Transform",
    "Unrolled",
    "Updates",
    "accumulate_gradients",
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adagrad_window",
    "adahessian",
    "adam",
    "adamax",
    "adamw",
    "add_decayed_weights",
    "amsgrad",
    "apply",
    "apply_if_finite",
    "apply_momentum",
    "apply_nesterov_momentum",
    "averaged_parameters",
    "chain",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
    "constant_schedule",
    "copy_parameters",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "dadapt_adamw",
    "exponential_decay",
    "fast_function",
    "flatten",
    "get_or_compute_grads",
    "hutchinson_diagonal",
    "hypergradient",
    "implicit_gradient",
    "inject_hyperparams",
    "inspect_step",
    "inverse_time_decay",
    "join_schedules",
    "lamb",
    "large_step",
    "lars",
    "lbfgs",
    "linear_schedule",
    "lion",
    "load_state",
    "lookahead",
    "masked",
    "measure_bandwidth",
    "merge",
    "momentum",
    "multi_transform",
    "multiplicative",
    "muon",
    "nadam",
    "nesterov_momentum",
    "newton_schulz",
    "norm_constraint",
    "novograd",
    "parameter_ema",
    "piecewise_constant_schedule",
    "polynomial_schedule",
    "prodigy",
    "radam",
    "reduce_on_plateau",
    "reset_state",
    "rmsprop",
    "rprop",
    "sam",
    "save_state",
    "scale",
    "scale_by_adadelta",
    "scale_by_adafactor",
    "scale_by_adahessian",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_amsgrad",
    "scale_by_backtracking_linesearch",
    "scale_by_belief",
    "scale_by_dadapt_adamw",
    "scale_by_inverse_time",
    "scale_by_lbfgs",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_muon",
    "scale_by_nadam",
    "scale_by_novograd",
    "scale_by_prodigy",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_rss",
    "scale_by_sign",
    "scale_by_sophia",
    "scale_by_trust_ratio",
    "scale_by_window_rss",
    "scale_by_yogi",
    "scale_by_zoom_linesearch",
    "scan_steps",
    "schedule_free",
    "schedule_free_adamw",
    "schedule_free_eval_parameters",
    "schedule_free_sgd",
    "sgd",
    "sgdr_schedule",
    "sharded_function",
    "sign_sgd",
    "signum",
    "skip_if",
    "sophia",
    "sparse",
    "split_gradient",
    "state_of",
    "steps_function",
    "swap_parameters",
    "total_norm_constraint",
    "trace",
    "unroll",
    "warmup_cosine_decay_schedule",
    "yogi",
]
