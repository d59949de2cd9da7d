"""Forward-mode checks shared by the JVP tests of activations, arith, shape, dense, dropout,
embedding and losses. For one example (inputs, parameters) of a one-op graph:

  - the JVP against central finite differences of the forward, (f(x+hv) - f(x-hv)) / 2h, in
    float64, for one random direction over every input and parameter that carries a tangent,
    for each of them alone, and for none (the tangent must then be zero); the JVP of all of them
    together must also be the sum of their single JVPs (contributions add);
  - the dot-product test against the VJP, <u, J v> = <J^T u, v>, for random u and v over the
    inputs and parameters the VJP covers (labels and targets get no gradient);
  - every JVP runs a second time into an output tangent full of NaN: the JVP must write every
    element (it overwrites; it does not accumulate).

`check_float32` runs the JVP of a float32 graph and compares it with the float64 one.
"""
from __future__ import annotations

import functools

import numpy as np

from netc import kernels
from netc.lower.emit import Emit, run_node

from _opcheck import op_node


@functools.lru_cache(maxsize=None)
def _kernels():
    return kernels.namespace()  # walks the package; the kernel modules do not change in a test run


def run_jvp(g, xs, params, dxs, dps, training=False, seed=0):
    """run_node's forward and JVP; then the JVP lines again into a NaN-filled output tangent,
    which must come out equal. Returns run_node's dict (the tangent in "dy")."""
    node = op_node(g)
    out = run_node(g, node.name, xs, params, training=training, seed=seed, dxs=dxs, dps=dps)
    ns = dict(_kernels(), F=np.dtype(g.dtype).type, np=np, training=training, seed=seed)
    ns.update({f"x{i}": x for i, x in enumerate(xs)}, y=out["y"], dy=np.full_like(out["y"], np.nan))
    ns.update({f"p_{k}": p for k, p in params.items()}, **{f"ws_{k}": w for k, w in out["ws"].items()})
    ns.update({f"dx{i}": d for i, d in enumerate(dxs)}, **{f"dp_{k}": d for k, d in dps.items()})
    e = Emit([f"x{i}" for i in range(len(xs))], "y", {k: f"p_{k}" for k in params},
             {k: f"ws_{k}" for k in out["ws"]},
             dx=[f"dx{i}" if d is not None else None for i, d in enumerate(dxs)],
             dp={k: (f"dp_{k}" if dps.get(k) is not None else None) for k in node.params}, dy="dy")
    exec("\n".join(node.op.emit_jvp(node, e)), ns)
    assert out["dy"].dtype == out["y"].dtype and out["dy"].shape == out["y"].shape
    np.testing.assert_array_equal(ns["dy"], out["dy"], err_msg=f"{node.name}: the JVP does not write every "
                                  "element of the output tangent (or it accumulates)")
    return out


def sources(xs, params, slots=None):
    """What may carry a tangent: ("x", slot) for float inputs (or the given slots), ("p", name)."""
    slots = slots if slots is not None else [i for i, x in enumerate(xs) if x.dtype.kind == "f"]
    return [("x", i) for i in slots] + [("p", k) for k in params]


def direction(rng, xs, params, chosen):
    """Random tangents for the chosen sources, None (zero) elsewhere."""
    dxs = [rng.standard_normal(x.shape).astype(x.dtype) if ("x", i) in chosen else None for i, x in enumerate(xs)]
    dps = {k: rng.standard_normal(p.shape).astype(p.dtype) if ("p", k) in chosen else None
           for k, p in params.items()}
    return dxs, dps


def check_jvp(g, xs, rng, params=None, slots=None, vjp_slots=None, h=1e-6, rtol=1e-6, training=False, seed=0):
    """The finite-difference, linearity, zero-tangent and dot-product checks (see the module doc).
    `slots`: the inputs that carry a tangent (default: the float ones); `vjp_slots`: those the
    VJP gives a gradient (default: the same)."""
    assert g.dtype == "float64"
    node = op_node(g)
    params = params or {}
    kw = dict(training=training, seed=seed)
    srcs = sources(xs, params, slots)

    def f(dxs, dps, sign):
        xs2 = [x + sign * h * d if d is not None else x for x, d in zip(xs, dxs)]
        ps2 = {k: p + sign * h * dps[k] if dps[k] is not None else p for k, p in params.items()}
        return run_node(g, node.name, xs2, ps2, **kw)["y"]

    singles = []
    for chosen in [srcs] + ([[s] for s in srcs] if len(srcs) > 1 else []):
        dxs, dps = direction(rng, xs, params, chosen)
        out = run_jvp(g, xs, params, dxs, dps, **kw)
        fd = (f(dxs, dps, 1) - f(dxs, dps, -1)) / (2 * h)
        scale = 1 + np.abs(out["y"]).max(initial=0) + np.abs(fd).max(initial=0)
        np.testing.assert_allclose(out["dy"], fd, rtol=rtol, atol=rtol * scale,
                                   err_msg=f"{node.name}: JVP (actual) vs finite differences (desired), "
                                           f"tangents on {chosen}")
        if len(chosen) == 1:
            singles.append((dxs, dps, out["dy"]))
    if len(singles) > 1:  # contributions add: the JVP of the sum of the single directions
        dxs = [next((s[0][i] for s in singles if s[0][i] is not None), None) for i in range(len(xs))]
        dps = {k: next((s[1][k] for s in singles if s[1][k] is not None), None) for k in params}
        total = run_jvp(g, xs, params, dxs, dps, **kw)["dy"]
        parts = sum(s[2] for s in singles)
        np.testing.assert_allclose(total, parts, rtol=1e-12, atol=1e-12 * (1 + np.abs(parts).max(initial=0)),
                                   err_msg=f"{node.name}: JVP of all tangents vs the sum of single ones")
    zero = run_jvp(g, xs, params, [None] * len(xs), {k: None for k in params}, **kw)
    assert not zero["dy"].any(), f"{node.name}: no tangent in, yet a nonzero tangent out"

    # dot-product test against the VJP
    vjp_slots = vjp_slots if vjp_slots is not None else [i for kind, i in srcs if kind == "x"]
    u = rng.standard_normal(np.shape(out["y"]))
    need = [i in vjp_slots for i in range(len(xs))]
    back = run_node(g, node.name, xs, params, gy=u, need_gx=need, **kw)
    dxs, dps = direction(rng, xs, params, [("x", i) for i in vjp_slots] + [("p", k) for k in back["gp"]])
    jv = run_jvp(g, xs, params, dxs, dps, **kw)["dy"]
    lhs = np.vdot(u, jv)
    rhs = sum(np.vdot(back["gx"][i], dxs[i]) for i in vjp_slots)
    rhs += sum(np.vdot(back["gp"][k], dps[k]) for k in back["gp"])
    size = np.abs(u).sum() * (1 + np.abs(jv).max(initial=0))
    assert abs(lhs - rhs) <= 1e-10 * size, f"{node.name}: <u, J v> = {lhs} (JVP) vs <J^T u, v> = {rhs} (VJP)"
    return out


def check_float32(g32, g64, xs, rng, params=None, training=False, seed=0, rtol=1e-4):
    """The JVP of a float32 graph, every input and parameter with a tangent: float32 out, finite,
    and close to the float64 JVP at the same (float32-representable) values."""
    assert g32.dtype == "float32" and g64.dtype == "float64"
    params = params or {}
    xs32 = [x.astype("float32") if x.dtype.kind == "f" else x for x in xs]
    ps32 = {k: p.astype("float32") for k, p in params.items()}
    dxs, dps = direction(rng, xs32, ps32, sources(xs32, ps32))
    out = run_jvp(g32, xs32, ps32, dxs, dps, training=training, seed=seed)
    assert out["dy"].dtype == np.float32 and np.isfinite(out["dy"]).all()
    up = lambda a: a.astype("float64") if a is not None and a.dtype.kind == "f" else a  # noqa: E731
    ref = run_jvp(g64, [up(x) for x in xs32], {k: up(p) for k, p in ps32.items()}, [up(d) for d in dxs],
                  {k: up(d) for k, d in dps.items()}, training=training, seed=seed)["dy"]
    np.testing.assert_allclose(out["dy"], ref, rtol=rtol, atol=rtol * (1 + np.abs(ref).max(initial=0)),
                               err_msg=f"{op_node(g32).name}: float32 JVP vs float64 JVP")
    return out
