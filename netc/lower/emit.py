"""The names an op's emitted source lines refer to, and a harness that runs one node alone.

`Emit` hands an op the variable names of its inputs, output, parameters, workspace and
gradients; the op returns Python source lines that call its kernels. The same lines run in the
generated network module and, through `run_node`, in the kernel tests.
"""
from __future__ import annotations

import numpy as np

from .. import kernels


class Emit:
    def __init__(self, x, y, p=None, ws=None, gy=None, gx=None, gp=None, dx=None, dp=None, dy=None):
        self.x = list(x)  # input array names, by slot
        self.y = y  # output array name
        self.p = dict(p or {})  # parameter name -> array name
        self.ws = dict(ws or {})  # workspace name -> array name
        self.gy = gy  # gradient of the output
        self.gx = list(gx or [None] * len(self.x))  # gradient buffers of the inputs (None: not needed)
        self.gp = dict(gp or {})  # parameter name -> gradient buffer (None: frozen)
        self.dx = list(dx or [None] * len(self.x))  # forward mode: input tangents (None: zero)
        self.dp = dict(dp or {})  # forward mode: parameter tangents (None: zero)
        self.dy = dy  # forward mode: the output tangent, written by the op's JVP lines
        self.act = None  # an activation fused into the op's kernels (netc/plan.py, FUSIBLE)
        self.mask = None  # its output, which the op's VJP reads to mask the gradient gy
        self.fresh = [False] * len(self.x)  # gx[i] not zeroed: the op writes it (Op.writes_gradient)

    def accumulate(self, slot) -> str:
        """The kernels' `accumulate` argument for gx[slot]: add to it, or write it."""
        return repr(not self.fresh[slot])

    @staticmethod
    def lit(value) -> str:
        """A float constant in the network's dtype (F is np.float32 or np.float64 in generated code)."""
        return f"F({float(value)!r})"


def bind(shape, N, T=None) -> tuple:
    out = []
    for d in shape:
        if d == "N":
            out.append(N)
        elif d == "T":
            if T is None:
                raise ValueError("the sequence length T is not bound")
            out.append(T)
        else:
            out.append(d)
    return tuple(out)


def infer_dims(node_types, arrays):
    """Bind N and T by matching declared input types against the given arrays."""
    N = T = None
    for t, a in zip(node_types, arrays):
        for d, size in zip(t.shape, np.shape(a)):
            if d == "N":
                N = size
            elif d == "T":
                T = size
    return N, T


def run_node(graph, name, xs, params, *, gy=None, training=False, seed=0, need_gx=None, dxs=None, dps=None):
    """Run one node's forward kernels, its JVP when tangents `dxs` (list, None for a zero tangent)
    or `dps` (dict) are given (result in "dy"), and its VJP when `gy` is given.

    Returns a dict with y, ws (the workspace), and when gy is given gx (list, None where not
    asked) and gp (dict of parameter gradients). The arrays xs and params are used as given.
    """
    node = graph.node(name)
    op = node.op
    dtype = np.dtype(graph.dtype)
    in_types = [graph.node(src).type for src in node.inputs]
    N, T = infer_dims(in_types, xs)
    ns = dict(kernels.namespace())
    ns.update(F=dtype.type, np=np, training=training, seed=seed)
    x_names = [f"x{i}" for i in range(len(xs))]
    for n, a in zip(x_names, xs):
        ns[n] = a
    y = np.zeros(bind(node.type.shape, N, T), dtype=node.type.dtype)
    ns["y"] = y
    p_names = {}
    for pname in node.params:
        ns[f"p_{pname}"] = params[pname]
        p_names[pname] = f"p_{pname}"
    ws = {}
    for wname, (shape, wdtype) in op.workspace(node, in_types, node.type).items():
        ws[wname] = np.zeros(bind(shape, N, T), dtype=wdtype)
        ns[f"ws_{wname}"] = ws[wname]
    e = Emit(x_names, "y", p_names, {k: f"ws_{k}" for k in ws})
    exec("\n".join(op.emit_forward(node, e)), ns)
    out = {"y": y, "ws": ws}
    if dxs is not None or dps is not None:
        dxs = list(dxs or [None] * len(xs))
        dps = dict(dps or {})
        for i, d in enumerate(dxs):
            ns[f"dx{i}"] = d
        for k, d in dps.items():
            ns[f"dp_{k}"] = d
        out["dy"] = ns["dy"] = np.zeros_like(y)
        e = Emit(x_names, "y", p_names, {k: f"ws_{k}" for k in ws},
                 dx=[f"dx{i}" if d is not None else None for i, d in enumerate(dxs)],
                 dp={k: (f"dp_{k}" if dps.get(k) is not None else None) for k in node.params}, dy="dy")
        exec("\n".join(op.emit_jvp(node, e)), ns)
    if gy is None:
        return out
    ns["gy"] = np.asarray(gy, dtype=node.type.dtype)
    need_gx = need_gx if need_gx is not None else [t.is_float for t in in_types]
    gx = []
    for i, (a, need) in enumerate(zip(xs, need_gx)):
        if need:
            ns[f"gx{i}"] = np.zeros_like(a)
            gx.append(ns[f"gx{i}"])
        else:
            gx.append(None)
    gp = {}
    for pname, p in node.params.items():
        if p.trainable:
            gp[pname] = ns[f"gp_{pname}"] = np.zeros_like(params[pname])
    e = Emit(x_names, "y", p_names, {k: f"ws_{k}" for k in ws}, "gy",
             [f"gx{i}" if g is not None else None for i, g in enumerate(gx)],
             {k: (f"gp_{k}" if k in gp else None) for k in node.params})
    exec("\n".join(op.emit_vjp(node, e)), ns)
    out.update(gx=gx, gp=gp)
    return out
