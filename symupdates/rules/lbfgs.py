"""L-BFGS with torch's optional strong-Wolfe line search, as one compiled call (``lbfgs``), and optax's
L-BFGS direction as a transform (``scale_by_lbfgs``), for a line search to scale.

One call of the compiled step is one ``torch.optim.LBFGS.step(closure)``: up to ``max_iter`` L-BFGS
iterations, each re-evaluating the loss and its gradient at trial points *inside* the compiled step. The
loss graph is cloned with the params replaced by the trial point; the iterations are a PyTensor ``scan``
that stops on torch's exit conditions (``until``), and the strong-Wolfe search is a nested ``scan``, one
loss evaluation per step.
"""

import inspect
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import clone_replace
from pytensor.ifelse import ifelse
from pytensor.scan.utils import until
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable

from ..core.hyperparams import NONNEGATIVE, check_count, typed
from ..core.transform import Transform, rule, transform
from ..core.types import Build, Builder, Scalar, Steps
from ..core.updates import Updates

__all__ = ["lbfgs", "scale_by_lbfgs"]

# torch's _strong_wolfe arguments, which LBFGS.step leaves at their defaults.
SUFFICIENT_DECREASE = 1e-4  # c1
CURVATURE = 0.9  # c2
# A curvature pair (s, y) enters the history only when y's = y . s exceeds this (torch's constant).
MIN_CURVATURE = 1e-10

# PyTensor 3 warns unless scan is told to return its outputs only; 2.38 does not know the argument.
_SCAN_OUTPUTS_ONLY = (
    {"return_updates": False} if "return_updates" in inspect.signature(pytensor.scan).parameters else {}
)


def _scan(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """``pytensor.scan``'s outputs (none of our loops has random updates): a list of them, or the output
    itself when there is one (scan's convention, hence ``Any``)."""
    made = pytensor.scan(fn, **kwargs, **_SCAN_OUTPUTS_ONLY)
    return made if _SCAN_OUTPUTS_ONLY else made[0]


# The phases of the line search's state machine.
BRACKETING, ZOOMING, FINISHED = 0, 1, 2

#: Symbolic values taken or returned together: a bracket's ``(t, f, g, g.d)``, a scan step's state.
Tensors: TypeAlias = tuple[TensorVariable, ...]


class _Objective:
    """The loss and its gradient as functions of one flat vector: the params' values, concatenated."""

    def __init__(self, loss: TensorVariable, params: Sequence[Any]) -> None:
        self.dtype = params[0].dtype
        self.shapes = [p.get_value(borrow=True).shape for p in params]
        self.sizes = [int(np.prod(shape)) for shape in self.shapes]
        self.theta = pt.vector("theta", dtype=self.dtype)
        replacements: dict = dict(zip(params, self.split(self.theta), strict=True))
        self.loss = pt.cast(clone_replace(loss, replacements), self.dtype)
        self.grad: TensorVariable = pytensor.grad(self.loss, self.theta)  # type: ignore[assignment]

    def __call__(self, x: TensorVariable) -> list[TensorVariable]:
        """``(loss(x), gradient(x))``: the graphs cloned at the point ``x``."""
        replacements: dict = {self.theta: x}
        return cast(list[TensorVariable], clone_replace([self.loss, self.grad], replacements))

    def split(self, flat: TensorVariable) -> list[TensorVariable]:
        """``flat`` cut into one piece per param, each of its param's shape."""
        offsets = np.cumsum([0, *self.sizes])
        return [
            flat[start:stop].reshape(shape)
            for start, stop, shape in zip(offsets[:-1], offsets[1:], self.shapes, strict=True)
        ]


def _cubic_interpolate(
    x1: TensorVariable,
    f1: TensorVariable,
    g1: TensorVariable,
    x2: TensorVariable,
    f2: TensorVariable,
    g2: TensorVariable,
    lower: TensorVariable,
    upper: TensorVariable,
) -> TensorVariable:
    """torch's ``_cubic_interpolate``: the minimiser of the cubic through ``(x1, f1, g1)`` and ``(x2, f2,
    g2)`` (value and slope at two points), clipped to ``[lower, upper]``; their midpoint when the cubic has
    no minimum (``d1^2 < g1 g2``)::

        d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2),   d2 = sqrt(d1^2 - g1 g2)
        x = x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2)      (x1 <= x2; mirrored otherwise)
    """
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    real = d2_square >= 0
    d2 = pt.sqrt(pt.switch(real, d2_square, 0))
    minimum = pt.switch(
        x1 <= x2,
        x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)),
        x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2)),
    )
    return pt.switch(real, pt.minimum(pt.maximum(minimum, lower), upper), (lower + upper) / 2)


def _at(bracket: Tensors, pos: int | TensorVariable) -> Tensors:
    return tuple(b[pos] for b in bracket)


def _put(bracket: Tensors, pos: int | TensorVariable, point: Tensors) -> Tensors:
    return tuple(pt.set_subtensor(b[pos], v) for b, v in zip(bracket, point, strict=True))


def _choose(condition: TensorVariable, if_true: Tensors, if_false: Tensors) -> Tensors:
    return tuple(pt.switch(condition, a, b) for a, b in zip(if_true, if_false, strict=True))


def _lowest(bracket_f: TensorVariable) -> TensorVariable:
    """torch's ``low_pos``: 0 if ``f[0] <= f[1]`` else 1."""
    return pt.switch(bracket_f[0] <= bracket_f[1], 0, 1).astype("int64")


def _strong_wolfe(
    objective: _Objective,
    x: TensorVariable,
    t: TensorVariable,
    d: TensorVariable,
    f: TensorVariable,
    g: TensorVariable,
    gtd: TensorVariable,
    max_ls: TensorVariable,
    tolerance_change: TensorVariable,
    max_evals: int,
) -> tuple[TensorVariable, TensorVariable, TensorVariable, TensorVariable]:
    """torch's ``_strong_wolfe`` from ``x`` along ``d``, first trial step ``t``: ``(f, g, t, evals)``.

    One ``scan`` step evaluates the loss at one trial step and updates the search's state: the bracket
    ``[(t, f, g, g.d)] * 2`` (in the bracketing phase, the previous and the current trial), the position
    of its lower end, the phase, torch's ``insuf_progress`` and ``done`` flags. Then it takes torch's
    decisions up to its next evaluation (the checks heading torch's two loops), and computes that
    evaluation's step (a cubic interpolation, bounded while bracketing, nudged off the bracket's ends
    while zooming). It stops when torch returns: ``ls_iter`` (evaluations after the first) is
    ``max_ls``, or the Wolfe conditions hold, or the bracket is shorter than ``tolerance_change`` in
    max-norm.
    """
    dtype = x.dtype
    c1, c2 = typed(SUFFICIENT_DECREASE, dtype), typed(CURVATURE, dtype)
    d_norm = pt.max(pt.abs(d))
    armijo_slope = c1 * gtd

    def step(
        bracket_t: TensorVariable,
        bracket_f: TensorVariable,
        bracket_g: TensorVariable,
        bracket_gtd: TensorVariable,
        low: TensorVariable,
        phase: TensorVariable,
        insuf: TensorVariable,
        done: TensorVariable,
        evals: TensorVariable,
        t: TensorVariable,
        *_previous_choice: TensorVariable,
    ) -> tuple[Tensors, until]:
        bracket: Tensors = (bracket_t, bracket_f, bracket_g, bracket_gtd)
        f_new, g_new = objective(x + t * d)
        new = (t, f_new, g_new, pt.dot(g_new, d))
        evals = evals + 1
        ls_iter = evals - 1

        # The evaluated point joins the bracket of its phase.
        shifted = _put(_put(bracket, 0, _at(bracket, 1)), 1, new)
        high = 1 - low
        rises = (f_new > f + t * armijo_slope) | (f_new >= bracket_f[low])
        wolfe = pt.abs(new[3]) <= -c2 * gtd
        raised = _put(bracket, high, new)
        old_high_to_low = ~wolfe & (new[3] * (bracket_t[high] - bracket_t[low]) >= 0)
        lowered = _put(_choose(old_high_to_low, _put(bracket, high, _at(bracket, low)), bracket), low, new)
        bracketing = pt.eq(phase, BRACKETING)
        bracket = _choose(bracketing, shifted, _choose(rises, raised, lowered))
        low = pt.switch(bracketing, low, pt.switch(rises, _lowest(bracket[1]), low))
        done = pt.switch(bracketing, done, ~rises & wolfe)

        # The bracketing loop's head: stop at max_ls, or bracket, or accept the current point.
        t_prev, t_cur = bracket[0][0], bracket[0][1]
        f_prev, f_cur = bracket[1][0], bracket[1][1]
        gtd_prev, gtd_cur = bracket[3][0], bracket[3][1]
        exhausted = ls_iter >= max_ls
        current_rises = (f_cur > f + t_cur * armijo_slope) | ((ls_iter > 1) & (f_cur >= f_prev))
        current_wolfe = pt.abs(gtd_cur) <= -c2 * gtd
        brackets = ~exhausted & (current_rises | (~current_wolfe & (gtd_cur >= 0)))
        accepts = ~exhausted & ~current_rises & current_wolfe
        bracket = _choose(bracketing & exhausted, _put(bracket, 0, (pt.zeros_like(t), f, g, gtd)), bracket)
        low = pt.switch(
            bracketing & (exhausted | brackets), _lowest(bracket[1]), pt.switch(bracketing & accepts, 1, low)
        )
        done = done | (bracketing & accepts)
        phase = pt.switch(bracketing & (exhausted | brackets | accepts), ZOOMING, phase)
        grow = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t_cur, f_cur, gtd_cur, t_cur + 0.01 * (t_cur - t_prev), t_cur * 10
        )

        # The zoom loop's head, then its next trial, kept 10% of the bracket away from its ends.
        zooming = pt.eq(phase, ZOOMING)
        short = pt.abs(bracket[0][1] - bracket[0][0]) * d_norm < tolerance_change
        finished = zooming & (done | (ls_iter >= max_ls) | short)
        lo, hi = pt.min(bracket[0]), pt.max(bracket[0])
        cubic = _cubic_interpolate(
            bracket[0][0], bracket[1][0], bracket[3][0], bracket[0][1], bracket[1][1], bracket[3][1], lo, hi
        )
        eps = 0.1 * (hi - lo)
        near_end = pt.minimum(hi - cubic, cubic - lo) < eps
        move = near_end & (insuf | (cubic >= hi) | (cubic <= lo))
        nudged = pt.switch(
            move, pt.switch(pt.abs(cubic - hi) < pt.abs(cubic - lo), hi - eps, lo + eps), cubic
        )
        insuf = pt.switch(zooming & ~finished, near_end & ~move, insuf)
        t = pt.switch(zooming, nudged, grow)
        phase = pt.switch(finished, FINISHED, phase)
        # The bracket's lower end, what the search returns, is a state of its own: were the bracket read
        # after the loop (bracket[-1][low]), scan would keep every step's bracket (max_evals x 2 x n).
        choice = (bracket[0][low], bracket[1][low], bracket[2][low])
        state = (*bracket, low, phase.astype("int64"), insuf, done, evals, t.astype(dtype), *choice)
        return state, until(finished)

    start = (pt.zeros_like(t), f, g, gtd)
    pair = tuple(pt.stack([v, v]) for v in start)
    false = pt.as_tensor_variable(np.bool_(False))
    outputs = _scan(
        step,
        outputs_info=[
            *pair,
            pt.constant(0, dtype="int64"),
            pt.constant(BRACKETING, dtype="int64"),
            false,
            false,
            pt.constant(0, dtype="int64"),
            t,
            *start[:3],
        ],
        n_steps=max_evals,
        name="lbfgs.strong_wolfe",
    )
    *_, evals, _, t_low, f_low, g_low = (o[-1] for o in outputs)
    return f_low, g_low, t_low, evals


def _two_loop(
    grad: TensorVariable,
    dirs: TensorVariable,
    stps: TensorVariable,
    ro: TensorVariable,
    num_old: TensorVariable,
    head: TensorVariable,
    h_diag: TensorVariable,
) -> TensorVariable:
    """torch's two-loop recursion: ``-H g`` for the L-BFGS inverse Hessian ``H`` of the history.

    The history is a ring: entry ``k`` (0 the oldest, ``num_old - 1`` the newest) is row ``(head + k) %
    history_size`` of ``dirs`` (the ``y``), ``stps`` (the ``s``) and ``ro`` (``1 / y.s``)::

        q = -g;  for k newest..oldest: a_k = ro_k s_k.q,  q -= a_k y_k
        r = h_diag q;  for k oldest..newest: b = ro_k y_k.r,  r += (a_k - b) s_k
    """
    size = dirs.shape[0]
    # The history oldest first, padded to at least one entry (a scan runs at least once) with entries
    # past num_old that change nothing: the scans read their rows as sequences, so the loop bodies hold no
    # index arithmetic for PyTensor's rewrites to push out of them (which copied both loops twice).
    order = pt.arange(pt.maximum(num_old, 1))
    valid, rows = order < num_old, (head + order) % size
    ys, ss, ros = dirs[rows], stps[rows], ro[rows]

    def backward(
        valid: TensorVariable, y: TensorVariable, s: TensorVariable, ro: TensorVariable, q: TensorVariable
    ) -> tuple[TensorVariable, TensorVariable]:
        alpha = pt.switch(valid, pt.dot(s, q) * ro, 0)
        return pt.switch(valid, q - alpha * y, q), alpha

    qs, alphas = _scan(
        backward,
        sequences=[valid[::-1], ys[::-1], ss[::-1], ros[::-1]],
        outputs_info=[-grad, None],
        name="lbfgs.two_loop_q",
    )

    def forward(
        valid: TensorVariable,
        y: TensorVariable,
        s: TensorVariable,
        ro: TensorVariable,
        alpha: TensorVariable,
        r: TensorVariable,
    ) -> TensorVariable:
        beta = pt.dot(y, r) * ro
        return pt.switch(valid, r + (alpha - beta) * s, r)

    rs = _scan(
        forward,
        sequences=[valid, ys, ss, ros, alphas[::-1]],
        outputs_info=[qs[-1] * h_diag],
        name="lbfgs.two_loop_r",
    )
    return rs[-1]


@rule(learning_rate=NONNEGATIVE, tolerance_grad=NONNEGATIVE, tolerance_change=NONNEGATIVE)
def lbfgs(
    loss_or_grads: Any = None,
    params: Any = None,
    learning_rate: Scalar = 1.0,
    max_iter: int = 20,
    max_eval: int | None = None,
    tolerance_grad: Scalar = 1e-7,
    tolerance_change: Scalar = 1e-9,
    history_size: int = 100,
    line_search_fn: Literal["strong_wolfe"] | None = None,
) -> Updates | Transform:
    """L-BFGS: one compiled call is one ``torch.optim.LBFGS.step(closure)``.

    The params are one flat vector ``x`` (concatenated in order, as torch does). One call evaluates
    ``f(x)`` and ``g = grad f(x)``, returns at once if ``max|g| <= tolerance_grad``, and otherwise runs up
    to ``max_iter`` iterations of::

        s = t d,  y = g - g_prev                     (the last iteration's step and gradient change)
        if y.s > 1e-10:  push (y, s, 1 / y.s) into the history (dropping the oldest past history_size),
                         h_diag = y.s / y.y
        d = -H g                                     (two-loop recursion; d = -g on the very first iteration)
        t = min(1, 1 / |g|_1) learning_rate on the very first iteration, learning_rate after
        stop if g.d > -tolerance_change              (not a descent direction; nothing moves)
        t = strong_wolfe(x, t, d) (line_search_fn="strong_wolfe") or t,   x = x + t d
        f, g = f(x), grad f(x)                       (without line search: not on the last iteration)

    stopping after ``max_iter`` iterations, ``max_eval`` evaluations in the call, or when
    ``max|g| <= tolerance_grad``, ``max|t d| <= tolerance_change`` or ``|f - f_prev| < tolerance_change``.
    The strong-Wolfe search (``c1 = 1e-4``, ``c2 = 0.9``, at most ``max_eval`` minus the call's
    evaluations so far) brackets a step by cubic interpolation, then zooms into the bracket.

    Parameters
    ----------
    loss_or_grads : scalar TensorVariable, optional
        The loss: L-BFGS re-evaluates it at trial points, so gradients alone are refused.
    params : list of SharedVariable, optional
        The parameters to update, all of one float dtype. Omit both this and ``loss_or_grads`` to get the
        rule as a ``Transform``, which must come last in a chain: it computes the params' next values
        itself (wrappers that skip steps, ``apply_if_finite``, ``skip_if``, may wrap it).
    learning_rate : float or symbolic scalar
        torch's ``lr``: the first trial step.
    max_iter : int
        Iterations per call.
    max_eval : int or None
        Loss evaluations per call (the first included); None is torch's ``max_iter * 5 // 4``.
    tolerance_grad, tolerance_change : float
        The exits above.
    history_size : int
        Curvature pairs kept.
    line_search_fn : None or "strong_wolfe"

    Returns
    -------
    Updates
        Its ``monitors["loss"]`` is the loss at the start of the call (what torch's ``step`` returns) and
        ``monitors["func_evals"]`` the evaluations so far (torch's ``state["func_evals"]``).

    Notes
    -----
    Equal to ``torch.optim.LBFGS`` 2.13 (tests/rules/test_lbfgs.py: recorded trajectories, float64,
    rtol 1e-9), including its quirks: when the loop stops on ``g.d > -tolerance_change`` the new
    direction and step size are kept though not taken, and the next call's curvature pair uses them.
    State (named ``"lbfgs.*"``, checkpointable): the flat direction ``d``, step ``t``, the history ring
    ``old_dirs``/``old_stps``/``ro`` with ``head`` and ``num_old``, ``H_diag``, ``prev_flat_grad``,
    ``prev_loss``, ``func_evals``, ``n_iter``. Inside the compiled step every loss evaluation is a clone
    of the loss graph; with PyTensor's NUMBA backend a branch not taken (the fixed step's evaluation on
    the last iteration, the search when the call returns at once) may still be computed, though never
    used or counted. The loops are written so that PyTensor keeps only their last state (every value read
    after a loop is its last step's), so memory does not grow with ``max_iter`` or ``max_eval`` (PyTensor
    3.0.7, NUMBA: no compiled scan keeps a per-step trace).

    References
    ----------
    Nocedal (1980), Updating quasi-Newton matrices with limited storage, Math. Comp. 35(151).
    Nocedal and Wright (2006), Numerical Optimization, 2nd ed., algorithms 3.5, 3.6 and 7.4.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([3.0, -2.0]), name="w")
    >>> updates = su.lbfgs(((w - 1.0) ** 2).sum(), [w], line_search_fn="strong_wolfe")
    >>> step = pytensor.function([], updates.monitors["loss"], updates=updates)
    >>> float(step()), w.get_value().round(6)
    (13.0, array([1., 1.]))
    """
    check_count(max_iter, "max_iter")
    check_count(history_size, "history_size")
    if max_eval is None:
        max_eval = max_iter * 5 // 4
    check_count(max_eval, "max_eval")
    if line_search_fn not in (None, "strong_wolfe"):
        raise ValueError(f"line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")

    def build(steps: Steps, builder: Builder) -> Steps:
        if builder.loss is None:
            raise ValueError("lbfgs needs the loss itself (it evaluates it at trial points), not gradients")
        params = builder.params
        dtypes = {p.dtype for p in params}
        if len(dtypes) != 1:
            raise ValueError(
                f"lbfgs flattens the params into one vector: they must share a dtype, got {dtypes}"
            )
        loss = pt.as_tensor_variable(builder.loss)
        if loss.ndim != 0:
            raise ValueError(f"lbfgs needs a scalar loss, got one with {loss.ndim} dimensions")
        objective = _Objective(loss, params)
        dtype, size = objective.dtype, sum(objective.sizes)

        def array(
            name: str, shape: tuple[int, ...], value: float = 0, kind: str = dtype
        ) -> TensorSharedVariable:
            return builder.array(f"lbfgs.{name}", np.full(shape, value, dtype=kind), owner=0)

        d, t = array("d", (size,)), array("t", ())
        dirs, stps = array("old_dirs", (history_size, size)), array("old_stps", (history_size, size))
        ro, num_old, head = (
            array("ro", (history_size,)),
            array("num_old", (), kind="int64"),
            array("head", (), kind="int64"),
        )
        h_diag = array("H_diag", (), 1)
        prev_grad, prev_loss = array("prev_flat_grad", (size,)), array("prev_loss", ())
        func_evals, n_iter = array("func_evals", (), kind="int64"), array("n_iter", (), kind="int64")

        lr = typed(learning_rate, dtype)
        tol_grad, tol_change = typed(tolerance_grad, dtype), typed(tolerance_change, dtype)
        x0 = pt.concatenate([p.ravel() for p in params])
        loss0, grad0 = objective(x0)

        def iteration(
            x: TensorVariable,
            grad: TensorVariable,
            loss: TensorVariable,
            d: TensorVariable,
            t: TensorVariable,
            dirs: TensorVariable,
            stps: TensorVariable,
            ro: TensorVariable,
            num_old: TensorVariable,
            head: TensorVariable,
            h_diag: TensorVariable,
            prev_grad: TensorVariable,
            prev_loss: TensorVariable,
            n_iter: TensorVariable,
            func_evals: TensorVariable,
            evals: TensorVariable,
            local_iter: TensorVariable,
        ) -> tuple[Tensors, until]:
            local_iter, n_iter = local_iter + 1, n_iter + 1
            first = pt.eq(n_iter, 1)
            y, s = grad - prev_grad, d * t
            ys = pt.dot(y, s)
            store, full = ys > MIN_CURVATURE, pt.eq(num_old, history_size)
            row = pt.switch(full, head, (head + num_old) % history_size)
            dirs, stps, ro = _choose(
                store,
                (
                    pt.set_subtensor(dirs[row], y),
                    pt.set_subtensor(stps[row], s),
                    pt.set_subtensor(ro[row], 1.0 / ys),
                ),
                (dirs, stps, ro),
            )
            head = pt.switch(store & full, (head + 1) % history_size, head)
            num_old = pt.switch(store & ~full, num_old + 1, num_old)
            h_diag = pt.switch(store, ys / pt.dot(y, y), h_diag)
            # The very first iteration (of all calls) starts from an empty history.
            d = pt.switch(first, -grad, _two_loop(grad, dirs, stps, ro, num_old, head, h_diag))
            num_old, head, h_diag = _choose(
                first,
                (pt.zeros_like(num_old), pt.zeros_like(head), pt.ones_like(h_diag)),
                (num_old, head, h_diag),
            )
            prev_grad, prev_loss = grad, loss
            t = pt.switch(first, pt.minimum(1, 1 / pt.abs(grad).sum()) * lr, lr)
            gtd = pt.dot(grad, d)
            descends = gtd <= -tol_change

            if line_search_fn == "strong_wolfe":
                new_loss, new_grad, t_taken, used = _strong_wolfe(
                    objective, x, t, d, loss, grad, gtd, max_eval - evals, tol_change, max_eval
                )
                optimal = pt.max(pt.abs(new_grad)) <= tol_grad
            else:
                t_taken = t
                last = pt.eq(local_iter, max_iter)
                evaluated: list = ifelse(last, [loss, grad], objective(x + t * d))  # type: ignore[assignment]
                new_loss, new_grad = evaluated
                used = pt.switch(last, 0, 1)
                optimal = ~last & (pt.max(pt.abs(new_grad)) <= tol_grad)
            new_x = x + t_taken * d
            new_evals, new_func_evals = evals + used, func_evals + used
            stop = (
                pt.eq(local_iter, max_iter)
                | (new_evals >= max_eval)
                | optimal
                | (pt.max(pt.abs(d * t_taken)) <= tol_change)
                | (pt.abs(new_loss - prev_loss) < tol_change)
            )
            x, grad, loss, t, evals, func_evals = _choose(
                descends,
                (new_x, new_grad, new_loss, t_taken, new_evals, new_func_evals),
                (x, grad, loss, t, evals, func_evals),
            )
            state = (
                x,
                grad,
                loss,
                d,
                t,
                dirs,
                stps,
                ro,
                num_old,
                head,
                h_diag,
                prev_grad,
                prev_loss,
                n_iter,
                func_evals,
                evals,
                local_iter,
            )
            return state, until(stop | ~descends)

        start = (
            x0,
            grad0,
            loss0,
            d,
            t,
            dirs,
            stps,
            ro,
            num_old,
            head,
            h_diag,
            prev_grad,
            prev_loss,
            n_iter,
            func_evals + 1,
            pt.constant(1, dtype="int64"),
            pt.constant(0, dtype="int64"),
        )
        outputs = _scan(iteration, outputs_info=list(start), n_steps=max_iter, name="lbfgs.iterations")
        final = [o[-1] for o in outputs]
        # Optimal at the start: torch returns at once, having only counted the evaluation.
        returned: list = ifelse(pt.max(pt.abs(grad0)) <= tol_grad, list(start), final)  # type: ignore[assignment]
        x, _, _, *state, _, _ = returned
        for var, value in zip(
            (d, t, dirs, stps, ro, num_old, head, h_diag, prev_grad, prev_loss, n_iter, func_evals),
            state,
            strict=True,
        ):
            builder.set(var, value)
        builder.monitor("loss", loss0)
        builder.monitor("func_evals", state[-1])
        next_params = objective.split(x)

        def exact(values: list[TensorVariable]) -> list[TensorVariable]:
            # p + (x' - p) may differ from x' in the last bit: the params take x' itself.
            for value, param, step in zip(values, params, taken, strict=True):
                if value.owner is None or list(value.owner.inputs) != [param, step]:
                    raise ValueError(
                        "lbfgs computes the params' next values itself: it must come last in a chain"
                    )
            return next_params

        taken = [piece - p for piece, p in zip(next_params, params, strict=True)]
        builder.map_params(exact)
        return taken

    return Transform(build, "lbfgs")


@transform()
def scale_by_lbfgs(
    memory_size: int = 10, scale_init_precond: bool = True, *, name: str = "lbfgs_direction"
) -> Build:
    """optax's L-BFGS direction: the incoming step ``u`` (the gradient, first in a chain) times an
    approximation ``P`` of the inverse Hessian built from the last ``memory_size`` changes of the params and
    of ``u``, one iteration per call::

        dw = w - w_prev,  du = u - u_prev,  rho = 1 / du.dw (0 if du.dw = 0)    (all 0 at the first call)
        the memory's slot (t - 1) % memory_size  <-  (dw, du, rho)
        gamma = du.dw / du.du (1 if du = 0), or min(1, 1 / |u|) at the first call   (scale_init_precond)
        s' = P u by the two-loop recursion over the memory, oldest first:
             q = u;  newest to oldest: a_j = rho_j dw_j.q,  q -= a_j du_j;   r = gamma q
             oldest to newest: b_j = rho_j du_j.r,  r += (a_j - b_j) dw_j

    with ``w_prev``, ``u_prev`` the params and incoming step of the last call and ``t`` the call's count.
    Dot products and norms run over all params together. The step ``s'`` points uphill (``P`` is
    positive definite): follow it with ``scale(-1.0)`` or ``scale_by_learning_rate`` and, as optax's
    ``lbfgs``, a line search.

    Parameters
    ----------
    memory_size : int
        How many pairs ``(dw, du)`` the memory keeps.
    scale_init_precond : bool
        Start the recursion from ``gamma I`` as above (True) or from ``I``.
    name : str
        The tag in state names: ``"<param>.<name>.params"``, ``".updates"``, ``".diff_params"``,
        ``".diff_updates"`` (``memory_size`` stacked along a first axis), ``"<name>.weights"`` (the
        ``rho``) and the int64 counter ``"<name>.t"``.

    Returns
    -------
    Transform

    Notes
    -----
    optax's ``scale_by_lbfgs`` (0.2.8), its state's fields named as here; ``chain(scale_by_lbfgs(),
    scale(-1.0), scale_by_zoom_linesearch(20, initial_guess_strategy="one"))`` is ``optax.lbfgs()``. The
    memory updates before the step is taken, as in optax, so a line search after it sees the pair of the
    step it accepted last call. ``symupdates.lbfgs`` is torch's L-BFGS instead: a whole ``LBFGS.step``
    per call, its own search, a pair skipped when ``y.s <= 1e-10``. The weights have the params' common
    dtype.

    References
    ----------
    Nocedal and Wright (2006), Numerical Optimization, 2nd ed., algorithms 7.4 and 7.5. Liu and Nocedal
    (1989), On the limited memory BFGS method for large scale optimization, Mathematical Programming 45.

    Examples
    --------
    >>> import numpy as np, pytensor, symupdates as su
    >>> w = pytensor.shared(np.array([1.0, -2.0]), name="w")
    >>> loss = (w[0] ** 2 + 10 * w[1] ** 2) / 2
    >>> search = su.scale_by_zoom_linesearch(20, initial_guess_strategy="one")
    >>> rule = su.chain(su.scale_by_lbfgs(), su.scale(-1.0), search)   # optax.lbfgs()
    >>> step = pytensor.function([], loss, updates=rule(loss, [w]))
    >>> [f"{step():.3g}" for _ in range(8)]   # the loss before each call's step, as optax's
    ['20.5', '5.46', '0.328', '0.265', '1.02e-05', '5.01e-12', '6.31e-18', '9.24e-23']
    """
    check_count(memory_size, "memory_size")
    if not isinstance(scale_init_precond, bool):
        raise ValueError(f"scale_init_precond must be True or False, got {scale_init_precond!r}")

    def build(steps: Steps, builder: Builder) -> Steps:
        params = builder.params
        dtype = pytensor.scalar.upcast(*(p.dtype for p in params))
        count, _ = builder.counter(name)
        first = pt.eq(count, 0)
        memory_idx, previous_idx = count % memory_size, (count - 1) % memory_size

        def vdot(a: Sequence[Any], b: Sequence[Any]) -> TensorVariable:
            return pt.cast(sum(pt.sum(x * y) for x, y in zip(a, b, strict=True)), dtype)

        def stacked(i: int, slot: str) -> Any:
            p = params[i].get_value(borrow=True)
            zeros = np.zeros((memory_size, *p.shape), dtype=p.dtype)
            return builder.array(f"{builder.keys[i]}.{name}.{slot}", zeros, owner=i)

        indices = range(len(params))
        previous_params = [builder.slot(i, name, "params") for i in indices]
        previous_steps = [builder.slot(i, name, "updates") for i in indices]
        dw_memory, du_memory = (
            [stacked(i, "diff_params") for i in indices],
            [stacked(i, "diff_updates") for i in indices],
        )
        weights = builder.array(f"{name}.weights", np.zeros(memory_size, dtype=dtype))

        # 1. the memory's newest pair: the last call's step and change of u (none at the first call)
        dw = [
            pt.switch(first, 0, p - prev).astype(p.dtype)
            for p, prev in zip(params, previous_params, strict=True)
        ]
        du = [
            pt.switch(first, 0, u - prev).astype(u.dtype)
            for u, prev in zip(steps, previous_steps, strict=True)
        ]
        curvature = vdot(du, dw)
        weight = pt.switch(first | pt.eq(curvature, 0), 0, 1 / curvature).astype(dtype)
        dw_memory_new = [pt.set_subtensor(m[previous_idx], d) for m, d in zip(dw_memory, dw, strict=True)]
        du_memory_new = [pt.set_subtensor(m[previous_idx], d) for m, d in zip(du_memory, du, strict=True)]
        weights_new = pt.set_subtensor(weights[previous_idx], weight)
        for var, new in [
            *zip(previous_params, params, strict=True),
            *zip(previous_steps, steps, strict=True),
            *zip(dw_memory, dw_memory_new, strict=True),
            *zip(du_memory, du_memory_new, strict=True),
            (weights, weights_new),
        ]:
            builder.set(var, new)

        # 2. the initial inverse Hessian gamma I
        if scale_init_precond:
            squared = vdot(du, du)
            gamma = pt.switch(squared > 0, curvature / squared, 1)
            capped_inverse_norm = pt.minimum(1, 1 / pt.sqrt(vdot(steps, steps)))
            gamma = pt.switch(first, capped_inverse_norm, gamma).astype(dtype)
        else:
            gamma = pt.constant(1, dtype=dtype)

        # 3. the two-loop recursion over all memory slots, oldest first from memory_idx (empty slots are 0)
        order = [(memory_idx + j) % memory_size for j in range(memory_size)]
        q: list[Any] = list(steps)
        alphas = {}
        for j in reversed(range(memory_size)):
            k = order[j]
            alphas[j] = weights_new[k] * vdot([m[k] for m in dw_memory_new], q)
            q = [v - pt.cast(alphas[j], v.dtype) * m[k] for v, m in zip(q, du_memory_new, strict=True)]
        r = [pt.cast(gamma, v.dtype) * v for v in q]
        for j in range(memory_size):
            k = order[j]
            beta = weights_new[k] * vdot([m[k] for m in du_memory_new], r)
            r = [v + pt.cast(alphas[j] - beta, v.dtype) * m[k] for v, m in zip(r, dw_memory_new, strict=True)]
        return r

    return build
