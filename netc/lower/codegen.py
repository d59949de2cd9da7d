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

from ..plan import Plan, var
from .emit import Emit

HEADER = '''"""netc generated module: {name} ({dtype}), key {key}. Do not edit; `netc cache clear` removes it."""
import numpy as np
from netc.kernels import namespace as _namespace

globals().update(_namespace())
F = np.{dtype}
'''


def _forward_lines(graph, plan: Plan):
    lines = []
    for step in plan.steps:
        if step.kind != "fwd":
            continue
        node = graph.node(step.node)
        e = Emit([plan.names[("y", s)] for s in node.inputs], plan.names[("y", step.node)],
                 {k: var("w", step.node, k) for k in node.params},
                 {k: plan.names[("ws", step.node, k)] for k in _ws_keys(plan, step.node)})
        lines.append(f"# {step.node}: {node.op.label(node.attrs)}")
        lines += node.op.emit_forward(node, e)
    return lines


def _ws_keys(plan, node):
    return [key[2] for key in plan.names if key[0] == "ws" and key[1] == node]


def _backward_lines(graph, plan: Plan, back):
    lines = ["G.fill(0)"]
    for loss, weight in back.seeds.items():
        lines.append(f"{plan.names[('d', loss)]}.fill(F({float(weight)!r}))")
    for i, step in enumerate(plan.steps):
        if step.kind != "vjp":
            continue
        for b in plan.buffers.values():
            if b.kind == "grad" and b.zero_at == i:
                lines.append(f"{b.name}.fill(0)")
        s = step.vjp
        node = graph.node(step.node)
        e = Emit([plan.names[("y", src)] for src in node.inputs], plan.names[("y", step.node)],
                 {k: var("w", step.node, k) for k in node.params},
                 {k: plan.names[("ws", step.node, k)] for k in _ws_keys(plan, step.node)},
                 plan.names[("d", step.node)],
                 [plan.names[("d", src)] if need else None for src, need in zip(node.inputs, s.grad_inputs)],
                 {k: (var("g", step.node, k) if k in s.grad_params else None) for k in node.params})
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


def generate(graph, infer_plan: Plan, train_plan: Plan | None, back, key: str, optimizer: str) -> str:
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
        update = {
            "sgd": "sgd_update(P, G, S[0], F(lr), F(momentum), F(weight_decay))",
            "adam": "adam_update(P, G, S[0], S[1], S[2], F(lr), F(momentum), F(beta2), F(eps), F(weight_decay))",
        }[optimizer]
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
    return "\n\n".join(out) + "\n"


def _function(name, params, body):
    lines = [f"def {name}({params}):"]
    lines += ["    " + ln for ln in body] or ["    pass"]
    return "\n".join(lines)
