"""Stage 3, build: expanded layers -> a networkx.DiGraph whose nodes carry checked attributes."""
from __future__ import annotations

import networkx as nx

from .errors import Diagnostics, Problem, did_you_mean
from .graph import Graph, Node
from .ops import REGISTRY
from .spec.expand import LAYER_KEYS, Spec


def build(spec: Spec) -> Graph:
    diags = Diagnostics()
    diags.items.extend(spec.diagnostics)
    g = nx.DiGraph()
    for decl in spec.inputs:
        node = Node(decl.name, REGISTRY["input"], {"shape": decl.shape, "dtype": decl.dtype}, decl.loc)
        g.add_node(decl.name, node=node)
    for layer in spec.layers:
        op = REGISTRY[layer.op]
        attrs = _check_attrs(op, layer, spec.defaults, diags)
        node = Node(layer.name, op, attrs or {}, layer.loc, layer.attr_locs, layer.call_sites,
                    list(layer.inputs), layer.is_loss, layer.weight)
        g.add_node(layer.name, node=node)
        if not spec.diagnostics or not any(d.severity == "error" for d in spec.diagnostics):
            _check_arity(op, node, diags)  # inputs are resolved only when expansion succeeded
    diags.raise_if_any()
    for name in list(g.nodes):
        node = g.nodes[name]["node"]
        for slot, src in enumerate(node.inputs):
            if src is None:
                continue
            if g.has_edge(src, name):
                g.edges[src, name]["slots"].append(slot)
            else:
                g.add_edge(src, name, slots=[slot])
    diags.raise_if_any()
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        names = [u for u, _ in cycle] + [cycle[0][0]]
        first = g.nodes[cycle[0][1]]["node"]
        diags.error(first.loc, f"the layers form a cycle: {' -> '.join(names)}",
                    "a layer may only read layers computed before it; recurrence lives inside rnn/lstm",
                    first.call_sites)
        diags.raise_if_any()
    graph = Graph(spec.name, spec.file, g, [d.name for d in spec.inputs], list(spec.outputs),
                  [layer.name for layer in spec.layers if layer.is_loss], spec.train)
    _warn_unused(graph, diags)
    graph.warnings = diags.warnings
    return graph


def _check_attrs(op, layer, defaults, diags):
    given = dict(defaults.get(op.name, {}))
    locs = dict(getattr(defaults.get(op.name), "value_locs", {}))
    given.update(layer.attrs)
    locs.update(layer.attr_locs)
    out = {}
    ok = True
    for key, value in given.items():
        if key not in op.attrs:
            known = list(op.attrs) + list(LAYER_KEYS) + list(op.inputs if not op.variadic else ())
            if layer.is_loss:
                known.append("weight")
            diags.error(locs.get(key, layer.loc), f"unknown attribute '{key}' for {op.name}",
                        did_you_mean(key, known), layer.call_sites)
            ok = False
            continue
        try:
            out[key] = op.attrs[key].normalize(value, key, op.spatial)
        except Problem as p:
            diags.error(locs.get(key, layer.loc), f"{op.name} '{layer.name}': {p.message}", p.hint, layer.call_sites)
            ok = False
    for key, attr in op.attrs.items():
        if key not in out and key not in given:
            if attr.required:
                diags.error(layer.loc, f"{op.name} '{layer.name}' needs attribute '{key}'",
                            f"add '{key}: ...'" + (f" ({attr.doc})" if attr.doc else ""), layer.call_sites)
                ok = False
            else:
                value = attr.default
                out[key] = attr.normalize(value, key, op.spatial) if attr.kind in ("ints", "pad") and value is not None else value
    if ok:
        try:
            op.check_attrs(out)
        except Problem as p:
            diags.error(p.loc or locs.get(getattr(p, "attr", None), layer.loc),
                        f"{op.name} '{layer.name}': {p.message}", p.hint, layer.call_sites)
            return None
    return out if ok else None


def _check_arity(op, node, diags):
    n = len(node.inputs)
    lo = op.min_inputs if op.min_inputs is not None else len(op.inputs)
    hi = None if op.variadic else len(op.inputs)
    missing = [op.inputs[i] for i, src in enumerate(node.inputs[:lo]) if src is None]
    if missing:
        diags.error(node.loc, f"{op.name} '{node.name}' needs input '{missing[0]}'",
                    f"add '{missing[0]}: NAME'", node.call_sites)
    elif n < lo or (hi is not None and n > hi):
        if hi is None:
            want = f"at least {lo}"
        elif lo == hi:
            want = f"{lo}"
        else:
            want = f"{lo} to {hi}"
        names = ", ".join(op.inputs)
        diags.error(node.loc, f"{op.name} '{node.name}' takes {want} input{'s' if want != '1' else ''} "
                    f"({names}), given {n}",
                    f"say 'in: [...]' with {want} names" if op.variadic or lo > 1 else "say 'in: NAME'",
                    node.call_sites)


def _warn_unused(graph, diags):
    used = set(graph.outputs) | set(graph.losses)
    for name in graph.g.nodes:
        node = graph.node(name)
        if graph.g.out_degree(name) == 0 and name not in used:
            what = "input" if node.op.name == "input" else "layer"
            diags.warn(node.loc, f"{what} '{name}' is never used",
                       "list it under 'outputs:', feed it to a layer, or remove it", node.call_sites)
