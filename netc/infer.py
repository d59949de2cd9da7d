"""Stage 4, infer: a dtype and shape for every tensor, parameters and multiply-adds for every node.

All problems are collected in one pass; a node whose input failed (or whose own attributes were
wrong, `valid = False`) is skipped, so one mistake does not cascade into a page of follow-on errors.
"""
from __future__ import annotations

from .errors import Diagnostics, Problem
from .graph import Graph
from .types import FLOAT_DTYPES, ITEMSIZE

MAX_ELEMENTS = 1 << 31  # per example, per tensor: 8 GiB of float32 is beyond any network netc targets


def infer(graph: Graph, dtype: str = "float32", diags: Diagnostics | None = None) -> Graph:
    """Type every node. With `diags`, problems are added to it (the caller raises); else raised here."""
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be one of {FLOAT_DTYPES}, not {dtype!r}")
    own = diags is None
    diags = Diagnostics() if own else diags
    graph.dtype = dtype
    for name in graph.order:
        node = graph.node(name)
        node.type = None
        node.float_dtype = dtype
        if not getattr(node, "valid", True):
            continue
        xs = [graph.node(src).type for src in node.inputs]
        if any(x is None for x in xs):
            continue
        node.in_types = xs
        try:
            node.type = node.op.infer(node, xs) if node.op.name != "input" else node.op.infer_input(node, dtype)
            node.params = node.op.params(node, xs)
            node.macs = int(node.op.macs(node, xs, node.type))
            _check_size(node)
        except Problem as p:
            node.type = None
            diags.error(p.loc or node.loc, p.message, p.hint, node.call_sites)
    if own:
        diags.raise_if_any()
    return graph


def _check_size(node):
    what = f"input '{node.name}'" if node.op.name == "input" else f"{node.op.name} '{node.name}'"
    n = node.type.size_per_example()
    if n > MAX_ELEMENTS:
        raise Problem(f"{what}: its output {node.type} holds {n:,} values per example "
                      f"({_gib(n, node.type.dtype)}); netc allows at most {MAX_ELEMENTS:,}",
                      "check the sizes: a digit too many, or a missing pooling or stride", node.loc)
    for pname, p in node.params.items():
        if p.size > MAX_ELEMENTS:
            raise Problem(f"{what}: its parameter '{pname}' {' x '.join(map(str, p.shape))} holds {p.size:,} "
                          f"values; netc allows at most {MAX_ELEMENTS:,}",
                          "a dense layer on a large image needs pooling (or a conv with a stride) before it",
                          node.loc)


def _gib(n, dtype):
    return f"{n * ITEMSIZE.get(dtype, 4) / (1 << 30):,.1f} GiB as {dtype}"
