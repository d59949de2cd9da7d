"""Stage: plan. A schedule of kernel steps and a static memory plan for one entry point.

Every tensor a step writes or reads is a named buffer with a symbolic shape and a live interval
[first step, last step]. Parameters and their gradients live in two flat buffers (one update loop,
one allreduce); the user's inputs are passed in. Everything else shares one arena: `layout(N, T)`
places buffers whose intervals overlap at different offsets, and reuses memory otherwise
(first fit, largest first), so a warm step allocates nothing.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field

import numpy as np

from .lower.emit import bind

ALIGN = 64  # bytes: a cache line, and enough for any dtype's alignment


def var(prefix, *parts) -> str:
    """A Python identifier for a buffer, from hierarchical names ('stage2/conv1' -> 'stage2__conv1')."""
    text = "__".join(re.sub(r"[^0-9a-zA-Z_]", "_", p.replace("/", "__")) for p in parts)
    return f"{prefix}_{text}"


@dataclass
class Buffer:
    name: str
    shape: tuple  # may hold 'N' and 'T'
    dtype: str
    kind: str  # input | activation | workspace | grad | param | param_grad | tangent | input_tangent
    start: int = 0
    end: int = 0
    zero_at: int | None = None  # step before which an accumulated gradient is zeroed
    alias_of: str | None = None  # computed in place: shares this (root) buffer's memory

    def nbytes(self, N, T) -> int:
        return math.prod(bind(self.shape, N, T)) * np.dtype(self.dtype).itemsize


@dataclass
class Step:
    kind: str  # fwd | vjp | jvp
    node: str
    vjp: object = None  # VJPStep for kind vjp
    jvp: object = None  # JVPStep for kind jvp


@dataclass
class Plan:
    mode: str  # infer | train | jvp | vjp
    steps: list
    buffers: dict  # name -> Buffer (arena buffers only)
    names: dict = field(default_factory=dict)  # ('y'|'ws'|'d', node[, key]) -> buffer name
    outputs: list = field(default_factory=list)
    fused: dict = field(default_factory=dict)  # producer node -> the activation node fused into it
    fresh: dict = field(default_factory=dict)  # grad buffer -> (node, input slot) that writes it first

    def arena_buffers(self):
        return [b for b in self.buffers.values() if b.kind in ("activation", "workspace", "grad", "tangent")]

    def input_buffers(self):
        return [b for b in self.buffers.values() if b.kind == "input"]

    def layout(self, N, T=None, include_inputs=False):
        """Byte offsets of every arena buffer for this batch size, and the arena's size.
        With include_inputs, the inputs get staging buffers in the arena too (compiled tier)."""
        placed = []  # (offset, nbytes, start, end)
        offsets = {}
        buffers = self.arena_buffers() + (self.input_buffers() if include_inputs else [])
        aliases = [b for b in buffers if b.alias_of]
        buffers = [b for b in buffers if not b.alias_of]
        for b in sorted(buffers, key=lambda b: (-b.nbytes(N, T), b.name)):
            size = max(b.nbytes(N, T), 1)
            clashes = sorted((o, n) for o, n, s, e in placed if not (e < b.start or b.end < s))
            offset = 0
            for o, n in clashes:
                if offset + size <= o:
                    break
                offset = max(offset, _align(o + n))
            placed.append((offset, size, b.start, b.end))
            offsets[b.name] = offset
        for b in aliases:
            offsets[b.name] = offsets[b.alias_of]
        total = max((o + n for o, n, _, _ in placed), default=0)
        return offsets, _align(total)


def _align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def make_plan(graph, mode="train", back=None, outputs=None) -> Plan:
    """Schedule forward steps (and, in train mode, the VJP steps of `back`) and their buffers."""
    steps = []
    names = {}
    buffers = {}
    fresh = {}
    order = [n for n in graph.order if graph.node(n).op.name != "input"]
    outputs = list(outputs if outputs is not None else graph.outputs)
    if mode == "infer":
        keep = set(outputs)
        for o in outputs:
            keep |= _ancestors(graph, o)
        order = [n for n in order if n in keep and not graph.node(n).is_loss]
    for n in order:
        steps.append(Step("fwd", n))
    if mode == "train":
        for s in back.order:
            steps.append(Step("vjp", s.node, s))
    index = {}  # node -> fwd step index; ("vjp", node) -> vjp step index
    for i, s in enumerate(steps):
        index[(s.kind, s.node)] = i
    last = len(steps) - 1

    def add(key, buf):
        buffers[buf.name] = buf
        names[key] = buf.name

    for n in order:
        node = graph.node(n)
        t = index[("fwd", n)]
        end = t
        for c in graph.g.successors(n):
            for kind in ("fwd", "vjp"):
                end = max(end, index.get((kind, c), -1))
        end = max(end, index.get(("vjp", n), -1))
        if n in outputs or node.is_loss:
            end = last
        add(("y", n), Buffer(var("y", n), node.type.shape, node.type.dtype, "activation", t, end))
        in_types = [graph.node(s).type for s in node.inputs]
        for k, (shape, dtype) in node.op.workspace(node, in_types, node.type).items():
            ws_end = max(t, index.get(("vjp", n), -1))
            add(("ws", n, k), Buffer(var("ws", n, k), tuple(shape), dtype, "workspace", t, ws_end))
    if mode == "train":
        for s in back.order:
            node = graph.node(s.node)
            t = index[("vjp", s.node)]
            for src, need in zip(node.inputs, s.grad_inputs):
                if not need:
                    continue
                key = ("d", src)
                if key not in names:
                    src_node = graph.node(src)
                    # written first by this (its first consumer's) step, read last by src's own VJP
                    end = index.get(("vjp", src), last if src_node.op.name == "input" else t)
                    slots = [i for i, (s2, n2) in enumerate(zip(node.inputs, s.grad_inputs)) if s2 == src and n2]
                    writes = WRITE_FIRST and len(slots) == 1 and node.op.writes_gradient(node, slots[0])
                    add(key, Buffer(var("d", src), src_node.type.shape, src_node.type.dtype, "grad", t, end,
                                    zero_at=None if writes else t))
                    if writes:
                        fresh[var("d", src)] = (s.node, slots[0])
        for loss in back.seeds:
            if ("d", loss) not in names:
                t = index.get(("vjp", loss), last)
                node = graph.node(loss)
                add(("d", loss), Buffer(var("d", loss), node.type.shape, node.type.dtype, "grad",
                                        len(order), t, zero_at=None))
    for name in graph.inputs:
        node = graph.node(name)
        buffers[var("x", name)] = Buffer(var("x", name), node.type.shape, node.type.dtype, "input", 0, last)
        names[("y", name)] = var("x", name)
    if mode == "infer":
        _compute_in_place(graph, order, buffers, names, outputs)
    fused = _fuse_activations(graph, order, index, buffers, names, outputs, fresh)
    return Plan(mode, steps, buffers, names, outputs, fused, fresh)


FUSE = True  # tests switch fusion off to compare
# A gradient's first writer writes it, where its op can (Op.writes_gradient), rather than adding to
# a zeroed buffer: W4 zeroed 37 MB a step, and every first += read it back. Tests switch it off.
WRITE_FIRST = True


def _fuse_activations(graph, order, index, buffers, names, outputs, fresh):
    """An activation whose input is read by nothing else runs inside its producer's kernels when the
    producer's op takes it (Op.fuses_activation; batch norm takes relu): the
    forward writes act(f(x)) straight into the activation's buffer, and the producer's VJP reads the
    activation's gradient and output (the mask) instead of a gradient the activation's VJP would
    write. Two sweeps over the tensor and a gradient buffer's zeroing go. The producer's own output
    and gradient buffers stay in the plan, untouched (nothing zeroes that gradient). The
    activation's output now starts at the producer's step, and it and its gradient live until the
    producer's VJP. Measured on W4 (4 batch
    norms + relu), interleaved in one process: 24.2 -> 23.7 ms a step. A residual add taking its
    relu measured no faster and was left out."""
    fused = {}
    if not FUSE:
        return fused
    for r in order:
        node = graph.node(r)
        if len(node.inputs) != 1:
            continue
        n = node.inputs[0]
        producer = graph.node(n)
        if (not producer.op.fuses_activation(producer, node.op.name) or n in outputs or producer.is_loss
                or graph.g.out_degree(n) != 1 or (("vjp", n) in index) != (("vjp", r) in index)):
            continue
        fused[n] = r
        out = buffers[names[("y", r)]]
        out = buffers[out.alias_of] if out.alias_of else out
        out.start = min(out.start, index[("fwd", n)])
        if ("vjp", n) in index:
            out.end = max(out.end, index[("vjp", n)])
            if ("d", r) in names:
                grad = buffers[names[("d", r)]]
                grad.end = max(grad.end, index[("vjp", n)])
        if ("d", n) in names:  # the activation's VJP would have written it; the producer's reads d(r)
            buffers[names[("d", n)]].zero_at = None
            fresh.pop(names[("d", n)], None)
    return fused


def _compute_in_place(graph, order, buffers, names, outputs):
    """Inference: an elementwise op whose input nobody else reads overwrites that input.
    (Training keeps both: a VJP may need the input and the output.)"""
    for n in order:
        node = graph.node(n)
        if not getattr(node.op, "in_place", False) or len(node.inputs) != 1:
            continue
        src = node.inputs[0]
        if (graph.node(src).op.name == "input" or src in outputs or graph.g.out_degree(src) != 1
                or graph.node(src).type != node.type):
            continue
        mine, theirs = buffers[names[("y", n)]], buffers[names[("y", src)]]
        root = buffers[theirs.alias_of] if theirs.alias_of else theirs
        mine.alias_of = root.name
        root.end = max(root.end, mine.end)


def make_jvp_plan(graph, tan, outputs) -> Plan:
    """Forward mode: the forward steps `outputs` need, each followed by its JVP step (netc.diff.
    forward) when it has one. Tangents are arena buffers (kind 'tangent') live from their JVP step
    to the last JVP step that reads them, like activations; the seeded inputs' tangents are passed
    in (kind 'input_tangent'), and parameter tangents are views of one flat buffer like P."""
    outputs = list(outputs)
    keep = set(outputs)
    for o in outputs:
        keep |= _ancestors(graph, o)
    order = [n for n in graph.order if n in keep and graph.node(n).op.name != "input"]
    jsteps = {s.node: s for s in tan.order}
    steps = []
    for n in order:
        steps.append(Step("fwd", n))
        if n in jsteps:
            steps.append(Step("jvp", n, jvp=jsteps[n]))
    index = {(s.kind, s.node): i for i, s in enumerate(steps)}
    last = len(steps) - 1
    buffers, names = {}, {}

    def add(key, buf):
        buffers[buf.name] = buf
        names[key] = buf.name

    for n in order:
        node = graph.node(n)
        t = index[("fwd", n)]
        readers = [index.get((kind, c), -1) for c in graph.g.successors(n) for kind in ("fwd", "jvp")]
        end = max([t, index.get(("jvp", n), -1)] + readers)
        if n in outputs:
            end = last
        add(("y", n), Buffer(var("y", n), node.type.shape, node.type.dtype, "activation", t, end))
        in_types = [graph.node(s).type for s in node.inputs]
        for k, (shape, dtype) in node.op.workspace(node, in_types, node.type).items():
            add(("ws", n, k), Buffer(var("ws", n, k), tuple(shape), dtype, "workspace", t,
                                     max(t, index.get(("jvp", n), -1))))
        if n in jsteps:
            tj = index[("jvp", n)]
            tend = max([tj] + [index.get(("jvp", c), -1) for c in graph.g.successors(n)])
            add(("t", n), Buffer(var("t", n), node.type.shape, node.type.dtype, "tangent", tj,
                                 last if n in outputs else tend))
    for name in graph.inputs:
        node = graph.node(name)
        add(("y", name), Buffer(var("x", name), node.type.shape, node.type.dtype, "input", 0, last))
        if name in tan.seed_inputs:
            add(("t", name), Buffer(var("t", name), node.type.shape, node.type.dtype, "input_tangent", 0, last))
    return Plan("jvp", steps, buffers, names, outputs)


def make_vjp_plan(graph, back) -> Plan:
    """Reverse mode seeded at outputs (`back` from reverse(graph, seeds=...)): the forward steps
    the seeded nodes need, then the VJP steps. The seeds' gradient buffers are filled by the
    caller's cotangents before the first VJP step and never zeroed (a seeded node that also feeds
    another seeded node adds its consumers' gradients to its own cotangent)."""
    keep = set(back.seeds) | set(graph.inputs)
    for o in back.seeds:
        keep |= _ancestors(graph, o)
    sub = copy.copy(graph)
    sub.g = graph.g.subgraph([n for n in graph.g.nodes if n in keep]).copy()
    plan = make_plan(sub, "train", back, list(back.seeds))
    first = sum(1 for s in plan.steps if s.kind == "fwd")
    for o in back.seeds:
        b = plan.buffers[plan.names[("d", o)]]
        b.zero_at, b.start = None, min(b.start, first)
        plan.fresh.pop(b.name, None)  # holds the cotangent: its consumers add to it
    plan.mode = "vjp"
    return plan


def _ancestors(graph, name):
    import networkx as nx

    return nx.ancestors(graph.g, name)


@dataclass
class ParamSlot:
    full: str  # 'node.param'
    node: str
    key: str
    spec: object  # netc.ops.base.Param
    offset: int  # in elements, into the flat parameter buffer (and the gradient buffer if trainable)


def param_layout(graph):
    """Parameters in one flat buffer, trainable first, so an optimizer update is one loop over
    the first `n_trainable` elements and the gradient buffer lines up with them."""
    entries = [(node.name, k, p) for node in graph.nodes() for k, p in node.params.items()]
    entries.sort(key=lambda e: not e[2].trainable)
    slots, offset = [], 0
    for node, k, p in entries:
        slots.append(ParamSlot(f"{node}.{k}", node, k, p, offset))
        offset += p.size
    n_trainable = sum(s.spec.size for s in slots if s.spec.trainable)
    return slots, offset, n_trainable
