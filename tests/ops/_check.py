"""Shared by the op tests: build a one-op graph, and the finite-difference check of a VJP."""
from __future__ import annotations

import json

import numpy as np

import netc
from netc.lower.emit import run_node


def one_op(op, attrs, x_shape, dtype):
    """A graph x -> op, with its node (the node is named <op>_1)."""
    spec = f"netc: 1\ninputs: {{x: {json.dumps(list(x_shape))}}}\nlayers: [{{{op}: {json.dumps(attrs)}}}]\n"
    g = netc.parse(spec, dtype=dtype)
    return g, g.node(f"{op}_1")


def random_params(node, rng, dtype):
    out = {}
    for name, p in node.params.items():
        if name == "running_var":
            out[name] = rng.uniform(0.5, 2.0, p.shape).astype(dtype)
        else:
            out[name] = rng.standard_normal(p.shape).astype(dtype)
    return out


def check_vjp(g, node, x, params, rng, h=1e-5, rtol=1e-6, training=False):
    """<gx, v> + <gp, vp> (autodiff) against <gy, (f(x+hv) - f(x-hv))/2h> (finite differences)."""
    gy = rng.standard_normal((x.shape[0],) + node.type.shape[1:])
    out = run_node(g, node.name, [x], {k: p.copy() for k, p in params.items()}, gy=gy, training=training)
    v = rng.standard_normal(x.shape)
    vp = {k: rng.standard_normal(p.shape) for k, p in params.items() if k in out["gp"]}

    def f(sign):
        ps = {k: p + sign * h * vp[k] if k in vp else p.copy() for k, p in params.items()}
        return np.vdot(gy, run_node(g, node.name, [x + sign * h * v], ps, training=training)["y"])
    fd = (f(1) - f(-1)) / (2 * h)
    ad = np.vdot(out["gx"][0], v) + sum(np.vdot(out["gp"][k], vp[k]) for k in vp)
    scale = np.abs(gy).sum() * (np.abs(x).max() + 1)
    assert abs(fd - ad) <= rtol * scale, f"{node.name}: autodiff {ad} vs finite differences {fd}"
    return out
