"""dense: y = x W + b over the last axis, so it also applies at every step of a sequence."""
from __future__ import annotations

from .base import MAX_SIZE, Attr, Op, Param, bilinear_vjp_tangent, expect_fixed, expect_float, register
from .shape import zero_tangent


class Dense(Op):
    name = "dense"
    inputs = ("x",)
    # 1. attributes
    attrs = {
        "units": Attr("int", low=1, high=MAX_SIZE, doc="number of outputs"),
        "bias": Attr("bool", True),
        "init": Attr("choice", "glorot_uniform", choices=("glorot_uniform", "he_normal", "normal", "zeros")),
    }

    # 2. shape rule
    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        if x.rank < 2:
            node.fail(f"expects at least N x features, found {x}")
        expect_fixed(node, x, (-1,), "the feature axis")
        if x.rank > 3:
            node.fail(f"expects N x features (or N x steps x features), found {x}",
                      "add a flatten before this layer")
        return x.with_shape(x.shape[:-1] + (node.attrs["units"],))

    # 3. parameters
    def params(self, node, xs):
        fan_in, units = xs[0].shape[-1], node.attrs["units"]
        out = {"weight": Param((fan_in, units), node.attrs["init"], fan_in=fan_in, fan_out=units)}
        if node.attrs["bias"]:
            out["bias"] = Param((units,), "zeros")
        return out

    # 4. reference
    def reference(self, node, xs, params):
        y = xs[0] @ params["weight"]
        return y + params["bias"] if node.attrs["bias"] else y

    # 5. kernels bound
    def emit_forward(self, node, e):
        x, w = e.x[0], e.p["weight"]
        if node.attrs["bias"]:
            return [f"dense_fwd({x}, {w}, {e.p['bias']}, {e.y})"]
        return [f"dense_fwd_nobias({x}, {w}, {e.y})"]

    def emit_vjp(self, node, e):
        lines = []
        if e.gx[0]:
            lines.append(f"dense_vjp_x({e.gy}, {e.p['weight']}, {e.gx[0]})")
        if e.gp.get("weight"):
            lines.append(f"dense_vjp_w({e.x[0]}, {e.gy}, {e.gp['weight']})")
        if e.gp.get("bias"):
            lines.append(f"dense_vjp_b({e.gy}, {e.gp['bias']})")
        return lines

    def emit_jvp(self, node, e):
        # dy = dx W + x dW + db; a None tangent is zero (the kernel specialises on it)
        dx, dw, db = e.dx[0], e.dp.get("weight"), e.dp.get("bias")
        if not (dx or dw or db):
            return [zero_tangent(e)]
        return [f"dense_jvp({e.x[0]}, {e.p['weight']}, {dx}, {dw}, {db}, {e.dy})"]

    # 7. second order: x W is bilinear in (x, W)
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        return bilinear_vjp_tangent(xs, params, dxs, dps, gy, vjp, ("weight",))

    # 6. multiply-adds
    def macs(self, node, xs, y):
        return xs[0].size_per_example() * node.attrs["units"]

    def label(self, a):
        return f"dense {a['units']}"


register(Dense())
