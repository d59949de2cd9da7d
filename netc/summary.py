"""Human-readable views of a checked graph: the layer table, types, edges, DOT and JSON."""
from __future__ import annotations

import json

from .types import ITEMSIZE


def _kib(nbytes) -> str:
    if nbytes >= 1 << 20:
        return f"{nbytes / (1 << 20):,.1f} MiB"
    return f"{nbytes / 1024:,.1f} KiB"


def totals(graph) -> dict:
    trainable = frozen = macs = act = 0
    for node in graph.nodes():
        for p in node.params.values():
            if p.trainable:
                trainable += p.size
            else:
                frozen += p.size
        macs += node.macs
        if node.op.name != "input" and not node.is_loss:
            act += node.type.size_per_example() * ITEMSIZE[node.type.dtype]
    layers = sum(1 for n in graph.nodes() if n.op.name != "input" and not n.is_loss)
    timed = any(n.type.has_time() for n in graph.nodes())
    return {"layers": layers, "trainable": trainable, "frozen": frozen, "macs": macs,
            "activation_bytes": act, "per_step": timed}


def summary(graph) -> str:
    t = totals(graph)
    item = ITEMSIZE[graph.dtype]
    step = " per time step" if t["per_step"] else ""
    head = (f"{graph.name}: {t['layers']} layer{'s' if t['layers'] != 1 else ''}, {t['trainable']:,} parameters "
            f"({_kib(t['trainable'] * item)} as {graph.dtype}), {t['macs']:,} multiply-adds per example{step}")
    show_in = not graph.is_chain()
    rows = []
    prev = None
    for node in graph.nodes():
        params = sum(p.size for p in node.params.values())
        label = node.op.label(node.attrs)
        if node.is_loss and node.weight != 1.0:
            label += f" x{node.weight:g}"
        reads = ""
        if show_in and node.inputs and node.inputs != [prev]:
            reads = ", ".join(node.inputs)
        rows.append([node.name, label, str(node.type), f"{params:,}" if params else "",
                     f"{node.macs:,}" if node.macs else "", reads])
        prev = node.name
    cols = ["layer", "op", "output", "params", "mult-adds"] + (["reads"] if show_in else [])
    rows = [r[:len(cols)] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    right = {3, 4}

    def fmt(r):
        cells = [r[i].rjust(widths[i]) if i in right else r[i].ljust(widths[i]) for i in range(len(cols))]
        return ("  " + "  ".join(cells)).rstrip()

    lines = [head, fmt(cols)] + [fmt(r) for r in rows]
    lines.append(f"  parameters: {t['trainable']:,} trainable, {t['frozen']:,} not trainable "
                 f"({_kib((t['trainable'] + t['frozen']) * item)})")
    lines.append(f"  activations: {_kib(t['activation_bytes'])} per example{step} (forward)")
    if len(graph.losses) > 1 or any(graph.node(n).weight != 1 for n in graph.losses):
        lines.append("  loss: " + " + ".join(
            (f"{graph.node(n).weight:g} * " if graph.node(n).weight != 1 else "") + n for n in graph.losses))
    return "\n".join(lines)


def types_text(graph) -> str:
    lines = []
    for node in graph.nodes():
        lines.append(f"{node.name}: {node.type.dtype}[{', '.join(map(str, node.type.shape))}]")
        for pname, p in node.params.items():
            kind = "" if p.trainable else " (not trainable)"
            lines.append(f"  {node.name}.{pname}: {graph.dtype}[{', '.join(map(str, p.shape))}] init {p.init}{kind}")
    return "\n".join(lines)


def graph_text(graph) -> str:
    lines = []
    for node in graph.nodes():
        args = ", ".join(node.inputs)
        attrs = ", ".join(f"{k}={_plain(v)}" for k, v in node.attrs.items()) if node.op.name != "input" else ""
        lines.append(f"%{node.name} = {node.op.name}({args}{'; ' if args and attrs else ''}{attrs}) "
                     f": {node.type.dtype}[{', '.join(map(str, node.type.shape))}]")
    return "\n".join(lines)


def dot(graph) -> str:
    lines = [f'digraph "{graph.name}" {{', "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    for node in graph.nodes():
        shape = ", shape=ellipse" if node.op.name == "input" else (", shape=octagon" if node.is_loss else "")
        lines.append(f'  "{node.name}" [label="{node.name}\\n{node.op.label(node.attrs)}\\n{node.type}"{shape}];')
    for u, v, data in graph.g.edges(data=True):
        lines.append(f'  "{u}" -> "{v}";')
    lines.append("}")
    return "\n".join(lines)


def to_json(graph) -> str:
    nodes = []
    for node in graph.nodes():
        nodes.append({
            "name": node.name, "op": node.op.name, "inputs": node.inputs,
            "attrs": {k: _plain(v) for k, v in node.attrs.items()},
            "dtype": node.type.dtype, "shape": list(node.type.shape),
            "params": {k: {"shape": list(p.shape), "trainable": p.trainable, "init": p.init}
                       for k, p in node.params.items()},
            "macs": node.macs, "loss_weight": node.weight if node.is_loss else None,
            "loc": str(node.loc) if node.loc else None,
        })
    return json.dumps({"name": graph.name, "dtype": graph.dtype, "inputs": graph.inputs,
                       "outputs": graph.outputs, "losses": graph.losses, "nodes": nodes,
                       "totals": totals(graph)}, indent=2)


def _plain(v):
    if isinstance(v, tuple):
        return list(v)
    return v
