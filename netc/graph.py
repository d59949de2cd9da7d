"""The computational graph: a networkx.DiGraph of op instances, plus the Node record each carries.

Nodes are keyed by their full hierarchical name; `g.nodes[name]["node"]` is the Node. An edge
u -> v is a tensor; its `slots` attribute lists which inputs of v read it (a list, because
`mul: {in: [x, x]}` reads the same tensor twice).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from .errors import Loc, Problem


@dataclass
class Node:
    name: str
    op: object  # an netc.ops.base.Op
    attrs: dict
    loc: Loc | None
    attr_locs: dict = field(default_factory=dict)
    call_sites: tuple = ()
    inputs: list = field(default_factory=list)  # producer names, by input slot
    is_loss: bool = False
    weight: float = 1.0
    type: object = None  # TensorType, after inference
    params: dict = field(default_factory=dict)  # name -> Param, after inference
    in_types: list = field(default_factory=list)  # input TensorTypes by slot, after inference (for emit)
    macs: int = 0
    float_dtype: str = "float32"  # the network's float dtype, for ops that make floats from ints
    valid: bool = True  # False when its attributes or inputs were wrong: inference skips it

    def fail(self, message, hint=None, attr=None):
        """Raise a located problem for this node (at the attribute's value when one is named)."""
        loc = self.attr_locs.get(attr, self.loc) if attr else self.loc
        raise Problem(f"{self.op.name} '{self.name}': {message}", hint, loc)

    def warn_text(self, message):
        return f"{self.op.name} '{self.name}': {message}"


@dataclass
class Graph:
    name: str
    file: str
    g: nx.DiGraph
    inputs: list  # names of input nodes, in declared order
    outputs: list  # names of requested outputs
    losses: list  # names of loss nodes
    train: dict
    warnings: list = field(default_factory=list)
    dtype: str = "float32"

    def node(self, name) -> Node:
        return self.g.nodes[name]["node"]

    @property
    def order(self) -> list:
        """Topological order, ties broken by the order the spec wrote the layers."""
        index = {n: i for i, n in enumerate(self.g.nodes)}
        return list(nx.lexicographical_topological_sort(self.g, key=index.__getitem__))

    def nodes(self):
        return [self.node(n) for n in self.order]

    def is_chain(self) -> bool:
        body = [n for n in self.g.nodes if not self.node(n).is_loss]
        return all(self.g.in_degree(n) <= 1 and self.g.out_degree(n) <= 1 for n in body
                   if self.node(n).op.name != "input")
