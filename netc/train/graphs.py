"""Sibling graphs that training derives from a spec's graph, compiled like any other network.

Three training features need a network that differs from the spec's in one place:
  - the perceptron rule: the threshold's VJP passes the gradient straight through (rules.py);
  - mixup: the labels input takes float class probabilities of the logits' shape (augment.py);
  - truncated BPTT with a carried state: a recurrent layer's final state as an output (sequence.py).
`variant` copies the graph with that change and types it again; node names and parameter shapes
stay the same, so the sibling can share the original's flat parameter buffer (Network(share=...)).
"""
from __future__ import annotations

import dataclasses

import networkx as nx

from ..graph import Graph
from ..infer import infer


def variant(graph: Graph, *, inputs=None, ops=None, attrs=None, upto=None, losses=None, outputs=None) -> Graph:
    """A re-typed copy of `graph`.

    inputs: {input name: (example shape, dtype)}   ops: {node: op object}
    attrs: {node: {attribute: value}}              upto: keep only these nodes and their ancestors
    losses / outputs: replace the lists (default: the original's, less what `upto` dropped)
    """
    keep = set(graph.g.nodes)
    if upto is not None:
        keep = set(upto)
        for n in upto:
            keep |= nx.ancestors(graph.g, n)
    g = nx.DiGraph()
    for name in graph.g.nodes:  # insertion order is the spec's layer order: keep it for ties
        if name not in keep:
            continue
        node = graph.node(name)
        new_attrs = dict(node.attrs)
        if inputs and name in inputs:
            shape, dtype = inputs[name]
            new_attrs.update(shape=tuple(shape), dtype=dtype)
        new_attrs.update((attrs or {}).get(name, {}))
        op = (ops or {}).get(name, node.op)
        g.add_node(name, node=dataclasses.replace(node, op=op, attrs=new_attrs, params={}, type=None, in_types=[]))
    for u, v, data in graph.g.edges(data=True):
        if u in keep and v in keep:
            g.add_edge(u, v, **data)
    kept_inputs = [n for n in graph.inputs if n in keep]
    new = Graph(graph.name, graph.file, g, kept_inputs,
                list(outputs if outputs is not None else [o for o in graph.outputs if o in keep]),
                list(losses if losses is not None else [n for n in graph.losses if n in keep]),
                dict(graph.train), [], graph.dtype)
    return infer(new, graph.dtype)


def feeds_loss_labels(graph, name) -> bool:
    """True when input `name` is the labels (or target) slot of a loss."""
    return any(graph.node(c).is_loss and graph.node(c).inputs.index(name) == 1
               for c in graph.g.successors(name) if name in graph.node(c).inputs)
