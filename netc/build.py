"""Stage 3, build: expanded layers -> a networkx.DiGraph whose nodes carry checked attributes.

`check` collects every problem it can see; a node whose own attributes (or inputs) are wrong is
marked invalid, so that shape inference still runs over the rest of the graph and reports the
independent problems of the same file in the same pass.
"""
from __future__ import annotations

import networkx as nx

from .errors import Diagnostics, Problem, closest, did_you_mean
from .graph import Graph, Node
from .ops import REGISTRY
from .spec.expand import LAYER_KEYS, Spec
from .spec.expr import INVALID


def build(spec: Spec) -> Graph:
    """The checked graph, or SpecError listing every problem found so far."""
    graph, diags = check(spec)
    diags.raise_if_any()
    graph.warnings = diags.warnings
    return graph


def check(spec: Spec):
    """(graph, diagnostics). The graph is None when its structure is unknown (references that did
    not resolve, a cycle); otherwise invalid nodes carry `valid = False`."""
    diags = Diagnostics()
    diags.items.extend(spec.diagnostics)
    expanded = not any(d.severity == "error" for d in spec.diagnostics)  # inputs are resolved
    g = nx.DiGraph()
    for decl in spec.inputs:
        node = Node(decl.name, REGISTRY["input"], {"shape": decl.shape, "dtype": decl.dtype}, decl.loc)
        g.add_node(decl.name, node=node)
    reported = set()  # (op, attribute) of `defaults:` already reported
    for layer in spec.layers:
        op = REGISTRY[layer.op]
        attrs = _check_attrs(op, layer, spec.defaults, diags, reported)
        node = Node(layer.name, op, attrs or {}, layer.loc, layer.attr_locs, layer.call_sites,
                    list(layer.inputs), layer.is_loss, layer.weight)
        node.valid = attrs is not None
        g.add_node(layer.name, node=node)
        if expanded and not _check_arity(op, node, diags):
            node.valid = False
    if not expanded:
        return None, diags
    for name in list(g.nodes):
        node = g.nodes[name]["node"]
        for slot, src in enumerate(node.inputs):
            if src is None:
                continue
            if src not in g:  # cannot happen when expansion resolved every reference
                raise AssertionError(f"{name} reads unknown node {src}")
            source = g.nodes[src]["node"]
            if source.is_loss:
                diags.error(node.loc, f"{node.op.name} '{name}' reads the loss '{src}', a scalar",
                            "a loss ends the network; read the layer before it (several losses add up "
                            "by themselves, with 'weight:')", node.call_sites)
                node.valid = False
            if g.has_edge(src, name):
                g.edges[src, name]["slots"].append(slot)
            else:
                g.add_edge(src, name, slots=[slot])
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        names = [u for u, _ in cycle] + [cycle[0][0]]
        # reported at the layer that reads one written after it: that reference closes the loop
        order = {n: i for i, n in enumerate(g.nodes)}
        reader = next((v for u, v in cycle if order[u] >= order[v]), cycle[0][1])
        first = g.nodes[reader]["node"]
        diags.error(first.loc, f"the layers form a cycle: {' -> '.join(names)}",
                    "a layer may only read layers computed before it; recurrence lives inside rnn/lstm",
                    first.call_sites)
        return None, diags
    graph = Graph(spec.name, spec.file, g, [d.name for d in spec.inputs], list(spec.outputs),
                  [layer.name for layer in spec.layers if layer.is_loss], spec.train)
    _warn_unused(graph, diags)
    return graph, diags


def _has_invalid(value) -> bool:
    return value is INVALID or (isinstance(value, list) and any(_has_invalid(v) for v in value))


def _check_attrs(op, layer, defaults, diags, reported):
    """The op's attributes, normalised and with defaults filled in; None when any is wrong."""
    from_defaults = defaults.get(op.name, {})
    given = dict(from_defaults)
    locs = dict(getattr(from_defaults, "value_locs", {}))
    given.update(layer.attrs)
    locs.update(layer.attr_locs)
    out = {}
    ok = True
    meant = set()  # attributes the user misspelt: not reported missing as well
    for key, value in given.items():
        in_defaults = key not in layer.attrs
        if key not in op.attrs:
            if in_defaults:
                continue  # the expand stage reported it, once, at the defaults
            known = list(op.attrs) + list(LAYER_KEYS) + list(op.inputs if not op.variadic else ())
            if layer.is_loss:
                known.append("weight")
            diags.error(layer.key_locs.get(key, layer.loc), f"unknown attribute '{key}' for {op.name}",
                        did_you_mean(key, known), layer.call_sites)
            meant.add(closest(key, known))
            ok = False
            continue
        if _has_invalid(value):  # an expression that failed, reported where it was written
            ok = False
            continue
        try:
            out[key] = op.attrs[key].normalize(value, key, op.spatial)
        except Problem as p:
            ok = False
            if in_defaults:
                if (op.name, key) not in reported:
                    reported.add((op.name, key))
                    diags.error(locs.get(key, layer.loc), f"defaults for {op.name}: {p.message}", p.hint)
                continue
            diags.error(locs.get(key, layer.loc), f"{op.name} '{layer.name}': {p.message}", p.hint,
                        layer.call_sites)
    for key, attr in op.attrs.items():
        if key not in out and key not in given:
            if attr.required:
                if key not in meant:
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
            diags.error(p.loc or locs.get(p.attr, layer.loc),
                        f"{op.name} '{layer.name}': {p.message}", p.hint, layer.call_sites)
            return None
    return out if ok else None


def _check_arity(op, node, diags) -> bool:
    n = len(node.inputs)
    lo = op.min_inputs if op.min_inputs is not None else len(op.inputs)
    hi = None if op.variadic else len(op.inputs)
    missing = [op.inputs[i] for i, src in enumerate(node.inputs[:lo]) if src is None]
    if not missing and n < lo and not op.variadic:
        missing = [op.inputs[n]]
    names = ", ".join(op.inputs)
    if missing:
        diags.error(node.loc, f"{op.name} '{node.name}' needs input '{missing[0]}' (it reads {names}), "
                    f"given {n - sum(src is None for src in node.inputs)}",
                    f"add '{missing[0]}: NAME'" + ("" if node.is_loss else f", or say 'in: [...]' with {lo} names"),
                    node.call_sites)
        return False
    if n < lo or (hi is not None and n > hi):
        if hi is None:
            want = f"at least {lo}"
        elif lo == hi:
            want = f"{lo}"
        else:
            want = f"{lo} to {hi}"
        diags.error(node.loc, f"{op.name} '{node.name}' takes {want} input{'s' if want != '1' else ''} "
                    f"({names}), given {n}",
                    f"say 'in: [...]' with {want} names" if op.variadic or lo > 1 else "say 'in: NAME'",
                    node.call_sites)
        return False
    return True


def _warn_unused(graph, diags):
    used = set(graph.outputs) | set(graph.losses)
    for name in graph.g.nodes:
        node = graph.node(name)
        if graph.g.out_degree(name) == 0 and name not in used:
            what = "input" if node.op.name == "input" else "layer"
            diags.warn(node.loc, f"{what} '{name}' is never used",
                       "list it under 'outputs:', feed it to a layer, or remove it", node.call_sites)
