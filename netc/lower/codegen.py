"""Stage: lower. A planned graph -> the Python source of one module with the network's entry points.

Entry points (each runs a whole pass per call; every buffer is passed in, nothing is a global):
  forward(<inputs>, bufs, training, seed)            -> None; outputs are in their buffers
  eval_loss(<inputs>, bufs, seed)                   -> total loss in eval mode; outputs in their buffers
  loss_and_grad(<inputs>, bufs, G, seed)            -> total loss; gradients in G
  train_step(<inputs>, bufs, P, G, S, seed, lr, clip) -> total loss; P updated in place
`bufs` is a tuple of arrays in the order the module's BUFS_* tuple names them. The body is the
sequence of kernel calls each op emits (netc/ops/*: emit_forward, emit_vjp).
"""
from __future__ import annotations

import numpy as np

from ..plan import Plan, var
from .emit import Emit

HEADER = '''"""netc generated module: {name} ({dtype}), key {key}. Do not edit; `netc cache clear` removes it."""
import numpy as np
from numba import njit
from netc.kernels import namespace as _namespace

globals().update(_namespace())
F = np.{dtype}
'''


def _forward_lines(graph, plan: Plan):
    lines = []
    absorbed = set(plan.fused.values())
    for step in plan.steps:
        if step.kind != "fwd" or step.node in absorbed:
            continue
        node = graph.node(step.node)
        act = plan.fused.get(step.node)
        e = Emit([plan.names[("y", s)] for s in node.inputs], plan.names[("y", act or step.node)],
                 {k: var("w", step.node, k) for k in node.params},
                 {k: plan.names[("ws", step.node, k)] for k in _ws_keys(plan, step.node)})
        label = node.op.label(node.attrs)
        if act:
            e.act = graph.node(act).op.name
            label += f" + {e.act} ({act})"
        lines.append(f"# {step.node}: {label}")
        lines += node.op.emit_forward(node, e)
    return lines


def _ws_keys(plan, node):
    return [key[2] for key in plan.names if key[0] == "ws" and key[1] == node]


def _backward_lines(graph, plan: Plan, back):
    lines = ["fill_value(G, F(0))"]
    for loss, weight in back.seeds.items():
        lines.append(f"fill_value({plan.names[('d', loss)]}, F({float(weight)!r}))")
    absorbed = set(plan.fused.values())
    for i, step in enumerate(plan.steps):
        if step.kind != "vjp" or step.node in absorbed:
            continue
        for b in plan.buffers.values():
            if b.kind == "grad" and b.zero_at == i:
                lines.append(f"fill_value({b.name}, F(0))")
        s = step.vjp
        node = graph.node(step.node)
        act = plan.fused.get(step.node)
        e = Emit([plan.names[("y", src)] for src in node.inputs], plan.names[("y", step.node)],
                 {k: var("w", step.node, k) for k in node.params},
                 {k: plan.names[("ws", step.node, k)] for k in _ws_keys(plan, step.node)},
                 plan.names[("d", act or step.node)],
                 [plan.names[("d", src)] if need else None for src, need in zip(node.inputs, s.grad_inputs)],
                 {k: (var("g", step.node, k) if k in s.grad_params else None) for k in node.params})
        if act:
            e.act, e.mask = graph.node(act).op.name, plan.names[("y", act)]
        e.fresh = [plan.fresh.get(g) == (step.node, i) for i, g in enumerate(e.gx)]
        lines.append(f"# d {step.node}")
        lines += node.op.emit_vjp(node, e)
    return lines


def buffer_order(graph, plan: Plan):
    """The names in a function's `bufs` tuple: arena buffers, then parameter and gradient views."""
    names = [b.name for b in plan.arena_buffers()]
    for n in graph.order:
        node = graph.node(n)
        for k, p in node.params.items():
            names.append(var("w", n, k))
            if plan.mode == "train" and p.trainable:
                names.append(var("g", n, k))
    return names


def _unpack(names):
    if not names:
        return []
    return [f"({', '.join(names)},) = bufs"]


def _loss_expr(graph, plan):
    terms = [f"F({graph.node(n).weight!r}) * {plan.names[('y', n)]}[()]" for n in graph.losses]
    return " + ".join(terms) if terms else "F(0)"


def generate(graph, infer_plan: Plan, train_plan: Plan | None, back, key: str, optimizer: str, slots=()) -> str:
    inputs = [var("x", n) for n in graph.inputs]
    args = ", ".join(inputs)
    out = [HEADER.format(name=graph.name, dtype=graph.dtype, key=key)]
    infer_bufs = buffer_order(graph, infer_plan)
    out.append(f"INPUTS = {tuple(graph.inputs)!r}")
    out.append(f"BUFS_FORWARD = {tuple(infer_bufs)!r}")
    out.append(f"OUTPUTS_FORWARD = {tuple(infer_plan.names[('y', o)] for o in infer_plan.outputs)!r}")
    body = _unpack(infer_bufs) + _forward_lines(graph, infer_plan)
    out.append(_function("forward", f"{args}, bufs, training, seed", body))
    if train_plan is not None:
        train_bufs = buffer_order(graph, train_plan)
        out.append(f"BUFS_TRAIN = {tuple(train_bufs)!r}")
        out.append(f"OUTPUTS_TRAIN = {tuple(train_plan.names[('y', o)] for o in train_plan.outputs)!r}")
        core = (_unpack(train_bufs) + ["training = True"] + _forward_lines(graph, train_plan)
                + _backward_lines(graph, train_plan, back))
        loss = _loss_expr(graph, train_plan)
        evaluate = _unpack(train_bufs) + ["training = False"] + _forward_lines(graph, train_plan)
        out.append(_function("eval_loss", f"{args}, bufs, seed", evaluate + [f"return {loss}"]))
        out.append(_function("loss_and_grad", f"{args}, bufs, G, seed", core + [f"return {loss}"]))
        update = _UPDATE[optimizer]
        step_body = core + [
            f"loss = {loss}",
            "if clip > 0:",
            "    clip_grad_norm(G, F(clip))",
            update,
            "return loss",
        ]
        out.append(_function("train_step",
                             f"{args}, bufs, P, G, S, seed, lr, momentum, weight_decay, beta2, eps, clip",
                             step_body))
    out += generate_compiled(graph, infer_plan, train_plan, back, slots, optimizer)
    return "\n\n".join(out) + "\n"


def _shape_expr(shape):
    parts = [str(d) for d in shape]
    if len(parts) == 1:
        return f"({parts[0]},)"
    return f"({', '.join(parts)})"


def _compiled_prologue(graph, plan, slots, n_state, with_grads):
    """Views of the arena and the flat buffers, built inside compiled code: the only things that
    cross from Python are one typed list of byte buffers and a tuple of ints, and neither makes
    Numba allocate, so a warm step allocates nothing at all."""
    lines = ["A = L[0]", "P = L[1].view(F)", "G = L[2].view(F)",
             "S = (" + ", ".join(f"L[{3 + i}].view(F)" for i in range(n_state + 1)) + ",)"]
    names = [b.name for b in plan.arena_buffers() + plan.input_buffers()]
    for i, name in enumerate(names):
        b = plan.buffers[name]
        size = "*".join([str(d) for d in b.shape] + [str(np.dtype(b.dtype).itemsize)])
        lines.append(f"{name} = A[off[{i}]:off[{i}] + {size}].view(np.{b.dtype}).reshape({_shape_expr(b.shape)})")
    for s in slots:
        end = s.offset + s.spec.size
        lines.append(f"{var('w', s.node, s.key)} = P[{s.offset}:{end}].reshape({_shape_expr(s.spec.shape)})")
        if with_grads and s.spec.trainable:
            lines.append(f"{var('g', s.node, s.key)} = G[{s.offset}:{end}].reshape({_shape_expr(s.spec.shape)})")
    return names, lines


def generate_compiled(graph, infer_plan, train_plan, back, slots, optimizer):
    """Whole-step @njit entry points: one dispatch per step, compiled once per network and cached."""
    n_state = 2 if optimizer == "adam" else 1
    out = []
    names, pro = _compiled_prologue(graph, infer_plan, slots, n_state, False)
    out.append(f"ARENA_C_FORWARD = {tuple(names)!r}")
    out.append("@njit(cache=True, nogil=True)\n" + _function(
        "forward_c", "L, off, N, T, training, seed", pro + _forward_lines(graph, infer_plan)))
    if train_plan is not None:
        names, pro = _compiled_prologue(graph, train_plan, slots, n_state, True)
        out.append(f"ARENA_C_TRAIN = {tuple(names)!r}")
        loss = _loss_expr(graph, train_plan)
        body = pro + ["training = True"] + _forward_lines(graph, train_plan) + _backward_lines(graph, train_plan, back)
        update = _UPDATE[optimizer]
        out.append("@njit(cache=True, nogil=True)\n" + _function(
            "train_step_c", "L, off, N, T, seed, lr, momentum, weight_decay, beta2, eps, clip",
            body + [f"loss = {loss}", "if clip > 0:", "    clip_grad_norm(G, F(clip))", update, "return loss"]))
    return out


_UPDATE = {
    "sgd": "sgd_update(P, G, S[0], F(lr), F(momentum), F(weight_decay))",
    "adam": "adam_update(P, G, S[0], S[1], S[2], F(lr), F(momentum), F(beta2), F(eps), F(weight_decay))",
}


def _function(name, params, body):
    lines = [f"def {name}({params}):"]
    lines += ["    " + ln for ln in body] or ["    pass"]
    return "\n".join(lines)


# -- forward mode and output-seeded reverse mode: one small module per set of seeds ----------------

def _param_names(graph, prefix, only=None):
    """Views of the flat parameter (w), gradient (g) or tangent (v) buffer, in graph order."""
    names = []
    for n in graph.order:
        for k, p in graph.node(n).params.items():
            if only is None or only(n, k, p):
                names.append(var(prefix, n, k))
    return names


def _jvp_lines(graph, plan: Plan):
    """Forward lines, each node's JVP lines right after its own (the tangent reads its forward)."""
    lines = []
    for step in plan.steps:
        node = graph.node(step.node)
        e = Emit([plan.names[("y", s)] for s in node.inputs], plan.names[("y", step.node)],
                 {k: var("w", step.node, k) for k in node.params},
                 {k: plan.names[("ws", step.node, k)] for k in _ws_keys(plan, step.node)})
        if step.kind == "fwd":
            lines.append(f"# {step.node}: {node.op.label(node.attrs)}")
            lines += node.op.emit_forward(node, e)
            continue
        s = step.jvp
        e.dx = [plan.names[("t", src)] if t else None for src, t in zip(node.inputs, s.tangent_inputs)]
        e.dp = {k: (var("v", step.node, k) if k in s.tangent_params else None) for k in node.params}
        e.dy = plan.names[("t", step.node)]
        lines.append(f"# t {step.node}")
        lines += node.op.emit_jvp(node, e)
    return lines


def generate_jvp(graph, plan: Plan, tan, key: str) -> str:
    """The module of one forward-mode entry point:
      jvp(<inputs>, <seeded input tangents>, bufs, training, seed) -> None
    outputs and their tangents are left in the buffers OUTPUTS_JVP and TANGENTS_JVP name (None:
    that output's tangent is zero)."""
    inputs = [var("x", n) for n in graph.inputs] + [var("t", n) for n in tan.seed_inputs]
    seeded = {tuple(p.rsplit(".", 1)) for p in tan.seed_params}
    bufs = ([b.name for b in plan.arena_buffers()] + _param_names(graph, "w")
            + _param_names(graph, "v", lambda n, k, p: (n, k) in seeded))
    out = [HEADER.format(name=graph.name, dtype=graph.dtype, key=key)]
    out.append(f"INPUTS = {tuple(graph.inputs)!r}")
    out.append(f"TANGENT_INPUTS = {tuple(tan.seed_inputs)!r}")
    out.append(f"BUFS_JVP = {tuple(bufs)!r}")
    out.append(f"OUTPUTS_JVP = {tuple(plan.names[('y', o)] for o in plan.outputs)!r}")
    out.append(f"TANGENTS_JVP = {tuple(plan.names.get(('t', o)) for o in plan.outputs)!r}")
    body = _unpack(bufs) + _jvp_lines(graph, plan)
    out.append(_function("jvp", f"{', '.join(inputs)}, bufs, training, seed", body))
    return "\n\n".join(out) + "\n"


def generate_vjp(graph, plan: Plan, back, key: str) -> str:
    """The module of one output-seeded reverse-mode entry point:
      vjp(<inputs>, <cotangents of the seeds>, bufs, G, training, seed) -> None
    parameter gradients are in G (the layout of P), input gradients in the buffers GRADS_VJP names."""
    seeds = list(back.seeds)
    cts = [var("ct", o) for o in seeds]
    inputs = [var("x", n) for n in graph.inputs]
    bufs = ([b.name for b in plan.arena_buffers()] + _param_names(graph, "w")
            + _param_names(graph, "g", lambda n, k, p: p.trainable))
    out = [HEADER.format(name=graph.name, dtype=graph.dtype, key=key)]
    out.append(f"INPUTS = {tuple(graph.inputs)!r}")
    out.append(f"SEEDS = {tuple(seeds)!r}")
    out.append(f"BUFS_VJP = {tuple(bufs)!r}")
    out.append(f"GRADS_VJP = {dict((n, plan.names[('d', n)]) for n in graph.inputs if ('d', n) in plan.names)!r}")
    backward = _backward_lines(graph, plan, back)
    head = 1 + len(back.seeds)  # zero G, then fill each seed with its weight: the caller's cotangent instead
    assert all(ln.startswith("fill_value(") for ln in backward[:head])
    copies = [f"{plan.names[('d', o)]}[...] = {ct}" for o, ct in zip(seeds, cts)]
    body = _unpack(bufs) + _forward_lines(graph, plan) + backward[:1] + copies + backward[head:]
    out.append(_function("vjp", f"{', '.join(inputs + cts)}, bufs, G, training, seed", body))
    return "\n\n".join(out) + "\n"
