"""The fused elementwise programs of a compiled graph, to tell whether two graphs fuse alike."""

from pytensor.graph.basic import Constant

from symupdates.core.compat import elemwise_of


def fused_programs(fgraph):
    """Every fused elementwise program in ``fgraph``, as expressions over its numbered operands."""

    def expression(v, operands):
        if v in operands:
            return f"i{operands.index(v)}"
        if isinstance(v, Constant):
            return repr(v.data.item())
        return f"{v.owner.op}({','.join(expression(i, operands) for i in v.owner.inputs)})"

    programs = []
    for node in fgraph.apply_nodes:
        composite = getattr(elemwise_of(node), "scalar_op", None)
        if hasattr(composite, "fgraph"):
            operands = list(composite.fgraph.inputs)
            programs.append("|".join(expression(o, operands) for o in composite.fgraph.outputs))
    return sorted(programs)
