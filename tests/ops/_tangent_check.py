"""Shared by the forward-mode (JVP) tests of conv, pool, batchnorm and rnn/lstm.

One random direction over every float input and trainable parameter together, then:
  (1) the JVP against central finite differences of the forward, (f(x+hv) - f(x-hv)) / 2h;
  (2) the dot-product test against the VJP, <u, J v> = <J^T u, v>;
  (3) the same JVP in float32, against the float64 one.
`jvp_into` runs an op's JVP lines alone into an output tangent that holds NaN, for the tests that
the tangent is overwritten and that tangents given one at a time add up (linearity, None tangents).
"""
from __future__ import annotations

import numpy as np

from netc import kernels
from netc.lower.emit import Emit, bind, infer_dims, run_node


def directions(node, xs, params, rng):
    """A random tangent for every float input and every trainable parameter (running stats: none)."""
    v = [rng.standard_normal(np.shape(x)) if np.asarray(x).dtype.kind == "f" else None for x in xs]
    vp = {k: rng.standard_normal(p.shape) for k, p in params.items() if node.params[k].trainable}
    return v, vp


def _copy(params):
    return {k: p.copy() for k, p in params.items()}  # training batchnorm updates its running stats


def check_jvp(g, node, xs, params, rng, *, training=False, h=1e-6, rtol=1e-6, dot_rtol=1e-10):
    """Checks (1) and (2) in float64; returns (dy, v, vp) for the float32 check."""
    assert g.dtype == "float64"
    v, vp = directions(node, xs, params, rng)
    N, T = infer_dims([g.node(s).type for s in node.inputs], xs)
    u = rng.standard_normal(bind(node.type.shape, N, T))
    out = run_node(g, node.name, xs, _copy(params), dxs=v, dps=vp, gy=u, training=training)
    dy = out["dy"]
    assert dy.shape == out["y"].shape and dy.dtype == out["y"].dtype

    def f(sign):
        xs2 = [x + sign * h * d if d is not None else x for x, d in zip(xs, v)]
        ps2 = {k: p + sign * h * vp[k] if k in vp else p.copy() for k, p in params.items()}
        return run_node(g, node.name, xs2, ps2, training=training)["y"]

    fd = (f(1) - f(-1)) / (2 * h)
    err = np.abs(fd - dy).max(initial=0)
    assert err <= rtol * (np.abs(fd).max(initial=0) + 1), \
        f"{node.name}: JVP (autodiff) vs finite differences differ by {err:.3g} (largest |fd| {np.abs(fd).max():.3g})"
    forward = np.vdot(u, dy)
    reverse = sum(np.vdot(gx, d) for gx, d in zip(out["gx"], v) if d is not None)
    reverse += sum(np.vdot(out["gp"][k], vp[k]) for k in vp)
    scale = np.abs(u).sum() * (np.abs(dy).max(initial=0) + 1)
    assert abs(forward - reverse) <= dot_rtol * scale, \
        f"{node.name}: <u, J v> = {forward} (JVP) but <J^T u, v> = {reverse} (VJP)"
    return dy, v, vp


def check_float32(g32, node32, xs, params, v, vp, dy64, *, training=False, rtol=1e-4):
    """The JVP in float32 on the same values: float32 out, close to the float64 tangent."""
    assert g32.dtype == "float32"
    f32 = lambda a: None if a is None else np.asarray(a).astype(np.float32)  # noqa: E731
    out = run_node(g32, node32.name, [f32(x) for x in xs], {k: f32(p) for k, p in params.items()},
                   dxs=[f32(d) for d in v], dps={k: f32(d) for k, d in vp.items()}, training=training)
    assert out["dy"].dtype == np.float32
    np.testing.assert_allclose(out["dy"], dy64, rtol=rtol, atol=rtol * (np.abs(dy64).max(initial=0) + 1),
                               err_msg=f"{node32.name}: float32 JVP vs float64")


def jvp_into(g, node, xs, params, dxs, dps, training=False):
    """Run the forward, then only the op's JVP lines into a NaN-filled tangent, which they must overwrite."""
    out = run_node(g, node.name, xs, _copy(params), training=training)
    ns = dict(kernels.namespace(), F=np.dtype(g.dtype).type, np=np, training=training, seed=0, y=out["y"])
    ns.update({f"x{i}": x for i, x in enumerate(xs)}, **{f"p_{k}": p for k, p in params.items()})
    ns.update({f"ws_{k}": w for k, w in out["ws"].items()}, **{f"dx{i}": d for i, d in enumerate(dxs)})
    ns.update({f"dp_{k}": d for k, d in dps.items()})
    ns["dy"] = np.full_like(out["y"], np.nan)
    e = Emit([f"x{i}" for i in range(len(xs))], "y", {k: f"p_{k}" for k in node.params},
             {k: f"ws_{k}" for k in out["ws"]},
             dx=[f"dx{i}" if d is not None else None for i, d in enumerate(dxs)],
             dp={k: (f"dp_{k}" if dps.get(k) is not None else None) for k in node.params}, dy="dy")
    exec("\n".join(node.op.emit_jvp(node, e)), ns)
    return ns["dy"]


def check_linear(g, node, xs, params, rng, training=False, rtol=1e-12):
    """Tangents one at a time (the others None) add up to all of them at once; none at all gives 0."""
    v, vp = directions(node, xs, params, rng)
    full = jvp_into(g, node, xs, params, v, vp, training)
    parts = [jvp_into(g, node, xs, params, [d if j == i else None for j, d in enumerate(v)], {}, training)
             for i, d in enumerate(v) if d is not None]
    parts += [jvp_into(g, node, xs, params, [None] * len(xs), {k: vp[k]}, training) for k in vp]
    zero = jvp_into(g, node, xs, params, [None] * len(xs), {}, training)
    assert not np.isnan(full).any() and not any(np.isnan(p).any() for p in parts)
    np.testing.assert_array_equal(zero, np.zeros_like(zero))
    np.testing.assert_allclose(sum(parts), full, rtol=rtol, atol=rtol * (np.abs(full).max(initial=0) + 1))
