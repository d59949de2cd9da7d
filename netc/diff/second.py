"""Second order: Hessian-vector products by forward-over-reverse.

H v is the tangent of the reverse pass when the parameters move along v. One forward sweep
carries values and tangents (each node's forward and JVP kernels); one reverse sweep carries each
node's cotangent gy and the cotangent's tangent dgy, and at every node

    gx, gp   = VJP(x, p; gy)                                   (the node's VJP kernels)
    dgx, dgp = VJP(x, p; dgy) + vjp_tangent(x, p; gy; dx, dp)  (the kernels again, and the
                                                                op's second-order rule)

summing over fan-out as reverse mode does. The dgp of the trainable parameters is H v. No
difference quotients are taken: the result is exact up to rounding, and at a kink (relu at 0, a
max-pool tie) it is the Hessian of the piece the point lies on.

Both sweeps run node by node through `run_node`, in float64 (netc/lower/emit.py): H v serves
analysis and gradient checks, where per-node dispatch is cheap next to the Numba kernels.
"""
from __future__ import annotations

import numpy as np

from .forward import differentiable_slots


def forward_sweep(graph, params, inputs, v, training=False, seed=0):
    """Every node's value, tangent (along v: 'node.param' -> array; v None: no tangents) and
    workspace, in graph order. Data inputs carry no tangent."""
    from ..lower.emit import run_node

    values, tangents, spaces = {}, {}, {}
    for name in graph.order:
        node = graph.node(name)
        if node.op.name == "input":
            if name in inputs:
                values[name], tangents[name] = inputs[name], None
            continue
        if any(s not in values for s in node.inputs):
            continue  # an input it needs was not given
        xs = [values[s] for s in node.inputs]
        ps = {k: params[f"{name}.{k}"] for k in node.params}
        dxs = [tangents[s] for s in node.inputs] if v is not None else None
        dps = {k: v.get(f"{name}.{k}") for k in node.params} if v is not None else None
        out = run_node(graph, name, xs, ps, training=training, seed=seed, dxs=dxs, dps=dps)
        values[name], tangents[name], spaces[name] = out["y"], out.get("dy"), out["ws"]
    return values, tangents, spaces


def hvp(graph, params, trainable, inputs, v, training=False, seed=0) -> dict:
    """H v for the weighted total loss with respect to the `trainable` parameters ('node.param'
    -> array, float64 throughout): a dict with an array for each trainable parameter."""
    from ..lower.emit import run_node

    values, tangents, spaces = forward_sweep(graph, params, inputs, v, training, seed)
    gys = {ls: np.asarray(graph.node(ls).weight, np.float64) for ls in graph.losses}
    dgys = {}
    result = {k: np.zeros_like(params[k]) for k in trainable}
    for name in reversed(graph.order):
        node = graph.node(name)
        if node.op.name == "input" or name not in gys:
            continue
        gy = np.broadcast_to(gys.pop(name), values[name].shape)
        dgy = dgys.pop(name, None)
        xs = [values[s] for s in node.inputs]
        ps = {k: params[f"{name}.{k}"] for k in node.params}
        dxs = [tangents[s] for s in node.inputs]
        dps = {k: v.get(f"{name}.{k}") for k in node.params}
        need = [ok and graph.node(s).type.is_float and graph.node(s).op.name != "input"
                for s, ok in zip(node.inputs, differentiable_slots(node))]
        kw = dict(training=training, seed=seed, need_gx=need)
        first = run_node(graph, name, xs, ps, gy=gy, **kw)
        moved = run_node(graph, name, xs, ps, gy=dgy, **kw) if dgy is not None else None
        extra_gx, extra_gp = node.op.vjp_tangent(node, xs, ps, values[name], gy, dxs, dps, tangents[name],
                                                 spaces[name], training, node_vjp(graph, name, **kw))
        for i, src in enumerate(node.inputs):
            if not need[i]:
                continue
            _add(gys, src, first["gx"][i])
            _add(dgys, src, moved["gx"][i] if moved else None)
            _add(dgys, src, extra_gx[i])
        for k in first["gp"]:
            full = f"{name}.{k}"
            if full in result:
                if moved:
                    result[full] += moved["gp"][k]
                if extra_gp.get(k) is not None:
                    result[full] += extra_gp[k]
    return result


def node_vjp(graph, name, **kw):
    """vjp(xs, params, gy) -> (gxs, gps): node `name`'s VJP kernels at any point (run_node's
    keywords: training, seed, need_gx)."""
    from ..lower.emit import run_node

    def vjp(xs, params, gy):
        out = run_node(graph, name, [np.ascontiguousarray(x) for x in xs], params, gy=gy, **kw)
        return out["gx"], out["gp"]
    return vjp


def _add(acc, name, a):
    if a is None:
        return
    acc[name] = acc[name] + a if name in acc else np.array(a, np.float64)
