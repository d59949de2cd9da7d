"""Forward mode as a graph transform: the forward graph -> a tangent graph of JVP steps.

A tangent node `jvp:<n>` stands for the JVP rule of forward node n. It reads n's inputs, output,
parameters and workspace (the forward step of n has run) and the tangents of the inputs and
parameters that carry one, and WRITES the tangent of n's output. An edge jvp:m -> jvp:n says n
reads m's output tangent, so m's step runs first; the steps run in the forward order, each right
after its forward step, so a tangent lives only as long as the activations it follows.

Tangents are seeded at float inputs, at parameters ('node.param'), or both. A node whose inputs and
parameters carry no tangent gets no step (its output's tangent is zero). A loss's labels get no
tangent, as they get no gradient in reverse mode: the two modes differentiate the same function.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx


@dataclass
class JVPStep:
    node: str  # forward node whose JVP this is
    tangent_inputs: list  # per input slot: True when that input carries a tangent
    tangent_params: list  # parameter names of the node that carry a tangent


@dataclass
class Tangent:
    graph: nx.DiGraph  # nodes "jvp:<name>" with attribute step=JVPStep
    has_tangent: set  # forward tensors (nodes) whose tangent is computed or seeded
    order: list = field(default_factory=list)  # JVPSteps in execution order (the forward order)
    seed_inputs: list = field(default_factory=list)  # input names with a given tangent
    seed_params: list = field(default_factory=list)  # 'node.param' names with a given tangent


def differentiable_slots(node) -> list:
    """Input slots a derivative flows through: all float inputs, except a loss's labels/target."""
    slots = [True] * len(node.inputs)
    if node.op.is_loss:
        slots = [i == 0 for i in range(len(node.inputs))]
    return slots


def param_names(graph, trainable_only=False) -> list:
    """Every parameter's 'node.param' name, in graph order."""
    return [f"{n.name}.{k}" for n in graph.nodes() for k, p in n.params.items()
            if p.trainable or not trainable_only]


def split_wrt(graph, names):
    """Sort tangent or gradient keys into (input names, 'node.param' names); unknown names raise."""
    params = set(param_names(graph))
    inputs, ps = [], []
    for name in names:
        if name in graph.inputs:
            if not graph.node(name).type.is_float:
                raise ValueError(f"input '{name}' is {graph.node(name).type.dtype}: integer inputs have no tangent")
            inputs.append(name)
        elif name in params:
            ps.append(name)
        else:
            raise ValueError(f"'{name}' is neither a float input nor a parameter of {graph.name}; inputs are "
                             f"{', '.join(graph.inputs)}, parameters look like 'dense_1.weight'")
    return inputs, ps


def forward_mode(graph, wrt_inputs=(), wrt_params=()) -> Tangent:
    """Build the tangent graph of `graph` for tangents seeded at `wrt_inputs` (input names) and
    `wrt_params` ('node.param' names)."""
    inputs, params = split_wrt(graph, list(wrt_inputs) + list(wrt_params))
    seeded = {}  # node -> parameter names with a tangent
    for full in params:
        node, key = full.rsplit(".", 1)  # a parameter name never holds a dot; a node name may
        seeded.setdefault(node, []).append(key)
    has = set(inputs)
    tg = nx.DiGraph()
    steps = {}
    for name in graph.order:
        node = graph.node(name)
        if node.op.name == "input" or not node.type.is_float:
            continue
        slots = differentiable_slots(node)
        t_in = [ok and src in has for src, ok in zip(node.inputs, slots)]
        t_par = [k for k in node.params if k in seeded.get(name, ())]
        if not any(t_in) and not t_par:
            continue
        has.add(name)
        steps[name] = JVPStep(name, t_in, t_par)
        tg.add_node(f"jvp:{name}", step=steps[name])
        for src, t in zip(node.inputs, t_in):
            if t and src in steps:
                tg.add_edge(f"jvp:{src}", f"jvp:{name}")
    order = [steps[n] for n in graph.order if n in steps]
    return Tangent(tg, has, order, inputs, params)


def tangent_text(graph, tan: Tangent) -> str:
    """The tangent graph as text, one JVP step a line, for `netc compile --emit tangent`."""
    seeds = [f"t[{n}]" for n in tan.seed_inputs] + [f"t[{p}]" for p in tan.seed_params]
    lines = [f"# tangent of {graph.name}: seeded at " + (", ".join(seeds) or "nothing")]
    for s in seeds:
        lines.append(f"{s} = given")
    for step in tan.order:
        node = graph.node(step.node)
        reads = [f"t[{src}]" for src, t in zip(node.inputs, step.tangent_inputs) if t]
        reads += [f"t[{step.node}.{p}]" for p in step.tangent_params]
        prim = list(dict.fromkeys(node.inputs))
        lines.append(f"t[{step.node}] = {node.op.name}_jvp({', '.join(reads + prim)})")
    return "\n".join(lines)
