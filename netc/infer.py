"""Stage 4, infer: a dtype and shape for every tensor, parameters and multiply-adds for every node.

All problems are collected in one pass; a node whose input failed is skipped, so one mistake
does not cascade into a page of follow-on errors.
"""
from __future__ import annotations

from .errors import Diagnostics, Problem
from .graph import Graph
from .types import FLOAT_DTYPES


def infer(graph: Graph, dtype: str = "float32") -> Graph:
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be one of {FLOAT_DTYPES}, not {dtype!r}")
    graph.dtype = dtype
    diags = Diagnostics()
    for name in graph.order:
        node = graph.node(name)
        node.type = None
        node.float_dtype = dtype
        xs = [graph.node(src).type for src in node.inputs]
        if any(x is None for x in xs):
            continue
        try:
            node.type = node.op.infer(node, xs) if node.op.name != "input" else node.op.infer_input(node, dtype)
            node.params = node.op.params(node, xs)
            node.macs = int(node.op.macs(node, xs, node.type))
        except Problem as p:
            node.type = None
            diags.error(p.loc or node.loc, p.message, p.hint, node.call_sites)
    diags.raise_if_any()
    return graph
