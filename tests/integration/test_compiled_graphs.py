"""The compiled update graphs are as fast as the backend allows: for every rule, in NUMBA and CVM, each
param is updated by one fused in-place loop (its state too, where PyTensor's fuser can join them) that
computes in float32 only (float64 hyper-parameters are cast once, outside the loop), and scalars such as
bias corrections are computed once per step, outside the loops, and shared by all params of a dtype."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.graph.traversal import ancestors, apply_ancestors
from pytensor.link.vm import VMLinker
from pytensor.tensor.elemwise import DimShuffle

import symupdates
from support.reference import OTHER
from support.reference_more import OTHER_MORE
from symupdates.core.compat import elemwise_of

# Rules with per-tensor reductions (norms, row/column means, muon's matrix products) cannot be one loop:
# tests/integration/test_backends.py checks what holds for them.
REDUCING = {"lamb", "lars", "adafactor", "novograd", "prodigy", "dadapt_adamw", "muon"}
HYPER = {**OTHER, **{rule: hyper for rule, hyper in OTHER_MORE.items() if rule not in REDUCING}}
# Hyper-parameters that fill state when it is created must be numbers.
NUMBERS_ONLY = {("rprop", "learning_rate"), ("yogi", "initial_accumulator_value")}
RULES = sorted(HYPER)
SIZES = (7, 5)  # two float32 params per rule, one vector and one matrix


def all_rules_in_one_function(mode):
    """One compiled function updating two float32 params per rule, every float hyper-parameter a float64
    shared scalar; returns (fn, {rule: (params, updates)})."""
    grads, updates, built = [], {}, {}
    for rule in RULES:
        hyper = {
            k: pytensor.shared(np.float64(v), name=f"{rule}.{k}")
            if isinstance(v, float) and (rule, k) not in NUMBERS_ONLY
            else v
            for k, v in HYPER[rule].items()
        }
        params = [
            pytensor.shared(np.ones(SIZES[0], dtype="float32"), name=f"{rule}.w", shape=(SIZES[0],)),
            pytensor.shared(np.ones((2, SIZES[1]), dtype="float32"), name=f"{rule}.W", shape=(2, SIZES[1])),
        ]
        rule_grads = [
            pt.tensor(f"{rule}.g{i}", dtype="float32", shape=p.type.shape) for i, p in enumerate(params)
        ]
        rule_updates = getattr(symupdates, rule)(rule_grads, params, **hyper)
        grads += rule_grads
        updates.update(rule_updates)
        built[rule] = (params, rule_updates)
    return pytensor.function(grads, [], updates=updates, mode=mode), built


def loop_node(fn, var):
    fgraph = fn.maker.fgraph
    for out, inp in fgraph.update_mapping.items():
        if fn.maker.expanded_inputs[inp].variable is var:
            return fgraph.outputs[out].owner
    raise KeyError(var)


def scalar_source(var):
    """The variable a broadcast input of a loop was made from (before dimensions of size 1 were added)."""
    while var.owner is not None and isinstance(var.owner.op, DimShuffle):
        var = var.owner.inputs[0]
    return var


# The C backend's rewrites on a VM with Python thunks: the graph CVM runs, without compiling C (minutes).
CVM_GRAPH = Mode(VMLinker(use_cloop=False, c_thunks=False), get_mode("CVM").provided_optimizer)
# Rules whose state update and param update read the same inputs but not each other's results.
SIBLING_UPDATES = {"lion"}


def fuser_joins_siblings(mode):
    """Whether PyTensor's fuser puts two elementwise updates that read the same inputs, but not each other's
    results, into one loop. PyTensor 2.38's does not (3.0's does): there lion's moment update
    ``m' = beta2 m + (1 - beta2) g`` stays a second loop beside
    ``p' = p - lr sign(beta1 m + (1 - beta1) g)``."""
    a, b = (pytensor.shared(np.ones(3, dtype="float32"), name=n, shape=(3,)) for n in "ab")
    g = pt.tensor("g", dtype="float32", shape=(3,))
    fn = pytensor.function([g], [], updates={a: a * np.float32(0.5) + g, b: b - pt.sign(a + g)}, mode=mode)
    return sum(elemwise_of(node) is not None for node in fn.maker.fgraph.apply_nodes) == 1


@pytest.mark.parametrize("mode", ["NUMBA", "CVM"])
def test_each_param_is_one_fused_inplace_float32_loop(mode):
    mode = CVM_GRAPH if mode == "CVM" else mode
    fn, built = all_rules_in_one_function(mode)
    report = symupdates.inspect_step(fn)
    joins_siblings = fuser_joins_siblings(mode)
    loops, window_work = set(), set()
    for rule, (params, updates) in built.items():
        for param in params:
            record = report.of(param)
            assert record["fused"], f"{rule}: {param.name} is updated by {record['node']}"
            assert record["in_place"], f"{rule}: {param.name}'s update is not in place: {record}"
            # float32 arithmetic only; a bool may come in as a condition (radam's rectification switch).
            assert set(record["loop_dtypes"]) - {"bool"} == {"float32"}, f"{rule}: {param.name}: {record}"
            # Its state of the param's shape is written by the same loop (adagrad_window's ring buffer
            # has an extra axis and is written in place by a set_subtensor).
            state = [v for v in updates.state if v.type.shape == param.type.shape]
            if rule in SIBLING_UPDATES and not joins_siblings:
                # What this fuser can deliver: each state variable its own fused, in-place float32 loop.
                for v in state:
                    assert report.of(v)["fused"] and report.of(v)["in_place"], f"{rule}: {report.of(v)}"
                    assert set(report.of(v)["loop_dtypes"]) - {"bool"} == {"float32"}, rule
                    loops.add(loop_node(fn, v))
            else:
                assert {report.of(v)["loop"] for v in state} <= {record["loop"]}, rule
            loops.add(loop_node(fn, param))
        windows = [
            v for v in updates.state if v.type.ndim and v.type.shape not in {p.type.shape for p in params}
        ]
        window_work |= set(apply_ancestors([loop_node(fn, v).outputs[0] for v in windows]))
        # The bias corrections come from the step counter once per step, shared by both params' loops.
        for counter in [v for v in updates.state if v.name == f"{rule}.t"]:
            first, second = (
                {scalar_source(v) for v in loop_node(fn, p).inputs if counter in ancestors([v])}
                for p in params
            )
            assert first and first == second, rule
    # Everything else works on single numbers: the casts of the float64 hyper-parameters, the step
    # counters and the bias corrections are computed once per step, not per element.
    # (adagrad_window's ring buffer write of g**2 and the window sum are not elementwise; they accumulate
    # in float32.)
    for node in fn.maker.fgraph.apply_nodes - loops:
        if elemwise_of(node) and node not in window_work:
            for out in node.outputs:  # a native scalar (PyTensor 3.3's NUMBA mode) has no shape
                shape = getattr(out.type, "shape", ())
                assert all(s == 1 for s in shape), f"per-element work outside the loops: {node}"
        assert getattr(node.op, "acc_dtype", None) in (None, "float32"), node
