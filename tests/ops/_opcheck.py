"""Checks shared by the op tests of activations, arith, shape, dropout, embedding and losses:
a one-op graph, its kernels' forward against the NumPy reference, and its VJP against central
finite differences (one random direction over all inputs and parameters), run twice to check
that gradients accumulate."""
from __future__ import annotations

import functools

import numpy as np

import netc
from netc import kernels
from netc.lower.emit import Emit, run_node

TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


@functools.lru_cache(maxsize=None)
def graph(inputs: str, layer: str, dtype: str = "float64"):
    """A graph of `inputs` (the spec's mapping, as text) and one layer; cached, since the shapes a
    test draws repeat."""
    return netc.parse(f"netc: 1\ninputs: {inputs}\nlayers: [{layer}]\n", dtype=dtype)


def op_node(g):
    return next(n for n in g.nodes() if n.op.name != "input")


def shape_text(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def check_forward(g, xs, params=None, **kw):
    """Run the node's forward kernels and compare with its reference; returns run_node's dict."""
    node = op_node(g)
    params = params or {}
    out = run_node(g, node.name, xs, params, **kw)
    ref = node.op.reference(node, xs, params)
    assert out["y"].dtype == np.dtype(node.type.dtype)
    assert np.shape(ref) == out["y"].shape, (np.shape(ref), out["y"].shape)
    np.testing.assert_allclose(out["y"], ref, **TOL[g.dtype], err_msg=f"{node.name}: kernel vs reference")
    return out


def check_vjp(g, xs, rng, params=None, need_gx=None, h=1e-6, rtol=1e-5, **kw):
    """<gx, v> + <gp, vp> (autodiff) against <gy, f(x+hv) - f(x-hv)> / 2h (central differences),
    in float64, for a random cotangent gy and one random direction (v, vp)."""
    assert g.dtype == "float64"
    node = op_node(g)
    params = params or {}
    y = run_node(g, node.name, xs, params, **kw)["y"]
    gy = rng.standard_normal(y.shape)
    out = run_node(g, node.name, xs, params, gy=gy, need_gx=need_gx, **kw)
    v = [rng.standard_normal(x.shape) if gx is not None else None for x, gx in zip(xs, out["gx"])]
    vp = {k: rng.standard_normal(params[k].shape) for k in out["gp"]}

    def f(sign):
        xs2 = [x + sign * h * d if d is not None else x for x, d in zip(xs, v)]
        ps2 = {k: p + sign * h * vp[k] if k in vp else p for k, p in params.items()}
        return run_node(g, node.name, xs2, ps2, **kw)["y"]

    fd = np.vdot(gy, f(1) - f(-1)) / (2 * h)
    ad = sum(np.vdot(gx, d) for gx, d in zip(out["gx"], v) if d is not None)
    ad += sum(np.vdot(out["gp"][k], vp[k]) for k in vp)
    assert abs(fd - ad) <= rtol * max(abs(fd), abs(ad)) + 1e-8, \
        f"{node.name}: autodiff {ad} vs finite differences {fd}"
    check_accumulates(g, xs, params, gy, out, **kw)
    return out


def check_accumulates(g, xs, params, gy, out, training=False, seed=0):
    """Run the VJP lines again into the gradients of a first run: every gradient must double."""
    node = op_node(g)
    ns = dict(kernels.namespace(), F=np.dtype(g.dtype).type, np=np, training=training, seed=seed)
    ns.update({f"x{i}": x for i, x in enumerate(xs)}, y=out["y"], gy=np.asarray(gy, out["y"].dtype))
    ns.update({f"p_{k}": p for k, p in params.items()}, **{f"ws_{k}": w for k, w in out["ws"].items()})
    twice = {f"gx{i}": gx.copy() for i, gx in enumerate(out["gx"]) if gx is not None}
    twice.update({f"gp_{k}": gp.copy() for k, gp in out["gp"].items()})
    ns.update(twice)
    e = Emit([f"x{i}" for i in range(len(xs))], "y", {k: f"p_{k}" for k in params},
             {k: f"ws_{k}" for k in out["ws"]}, "gy",
             [f"gx{i}" if gx is not None else None for i, gx in enumerate(out["gx"])],
             {k: (f"gp_{k}" if k in out["gp"] else None) for k in node.params})
    exec("\n".join(node.op.emit_vjp(node, e)), ns)
    once = {f"gx{i}": gx for i, gx in enumerate(out["gx"]) if gx is not None}
    once.update({f"gp_{k}": gp for k, gp in out["gp"].items()})
    for name, g1 in once.items():
        np.testing.assert_allclose(twice[name], 2 * g1, rtol=1e-12, atol=1e-300,
                                   err_msg=f"{node.name}: {name} is overwritten, not accumulated")


def away_from_zero(x, gap=1e-2):
    """Move values off the kink at 0 (relu, leaky relu, elu, threshold) by at least `gap`."""
    return np.where(x >= 0, x + gap, x - gap)
