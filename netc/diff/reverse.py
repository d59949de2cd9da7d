"""Reverse mode as a graph transform: the forward graph -> a backward graph of VJP steps.

A backward node `vjp:<n>` stands for the VJP rule of forward node n. It reads n's inputs, output
and workspace and the gradient of n's output, and accumulates into the gradients of the inputs
that need one and of n's trainable parameters. An edge vjp:m -> vjp:n says m consumes n's output,
so m's step must run first: the gradient of n's output is complete only after all its consumers
have added to it (fan-out accumulates).

Data inputs get no gradient unless asked (`wrt_inputs`), and nodes that neither hold trainable
parameters nor lie between such a node (or a requested input) and the loss get no step at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx


@dataclass
class VJPStep:
    node: str  # forward node whose VJP this is
    grad_inputs: list  # per input slot: True when that input's gradient is accumulated
    grad_params: list  # trainable parameter names of the node
    reads_grad_of: str  # the forward tensor whose gradient this step consumes (the node's output)


@dataclass
class Backward:
    graph: nx.DiGraph  # nodes "vjp:<name>" with attribute step=VJPStep
    needs_grad: set  # forward tensors whose gradient is computed
    order: list = field(default_factory=list)  # VJPSteps in execution order
    seeds: dict = field(default_factory=dict)  # loss node -> its weight in the total loss


def reverse(graph, wrt_inputs=(), seeds=None) -> Backward:
    """Build the backward graph of `graph`'s total loss; with `seeds` (node -> weight), of those
    nodes' outputs instead, whose gradients the caller fills (a VJP from output cotangents)."""
    g = graph.g
    wrt_inputs = set(wrt_inputs)
    for name in wrt_inputs:
        if name not in graph.inputs:
            raise ValueError(f"'{name}' is not an input of {graph.name}; inputs are {', '.join(graph.inputs)}")
        if not graph.node(name).type.is_float:
            raise ValueError(f"input '{name}' is {graph.node(name).type.dtype}: integer inputs have no gradient")
    # tensors that depend on something trainable (or on an input we differentiate for)
    depends = set()
    for name in graph.order:
        node = graph.node(name)
        if not node.type.is_float:
            continue
        own = any(p.trainable for p in node.params.values()) or name in wrt_inputs
        if own or any(src in depends for src in node.inputs):
            depends.add(name)
    # ... and that the loss depends on
    targets = dict(seeds) if seeds is not None else {n: graph.node(n).weight for n in graph.losses}
    feeds_loss = set(targets)
    for loss in targets:
        feeds_loss |= nx.ancestors(g, loss)
    needs_grad = {n for n in depends if n in feeds_loss}

    bg = nx.DiGraph()
    steps = {}
    for name in graph.order:
        if name not in needs_grad:
            continue
        node = graph.node(name)
        if node.op.name == "input":
            continue
        grad_inputs = [src in needs_grad for src in node.inputs]
        grad_params = [p for p, spec in node.params.items() if spec.trainable]
        if not any(grad_inputs) and not grad_params:
            continue
        steps[name] = VJPStep(name, grad_inputs, grad_params, name)
        bg.add_node(f"vjp:{name}", step=steps[name])
    for name in steps:
        for consumer in g.successors(name):
            if consumer in steps:
                bg.add_edge(f"vjp:{consumer}", f"vjp:{name}")
    index = {n: i for i, n in enumerate(reversed(graph.order))}
    order = [bg.nodes[n]["step"] for n in
             nx.lexicographical_topological_sort(bg, key=lambda v: index[v[4:]])]
    seeds = {loss: w for loss, w in targets.items() if loss in needs_grad}
    return Backward(bg, needs_grad, order, seeds)


def backward_text(graph, back: Backward) -> str:
    """The backward graph as text, one VJP step a line, for `netc compile --emit backward`."""
    lines = [f"# backward of {graph.name}: total loss = " + " + ".join(
        f"{w:g} * {n}" if w != 1 else n for n, w in back.seeds.items())]
    for loss, w in back.seeds.items():
        lines.append(f"d[{loss}] = {w:g}")
    for step in back.order:
        node = graph.node(step.node)
        outs = [f"d[{src}]" for src, need in zip(node.inputs, step.grad_inputs) if need]
        outs += [f"d[{step.node}.{p}]" for p in step.grad_params]
        reads = ", ".join([f"d[{step.node}]"] + list(dict.fromkeys(node.inputs)))
        lines.append(f"{', '.join(outs)} += {node.op.name}_vjp({reads})")
    return "\n".join(lines)
