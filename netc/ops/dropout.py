"""dropout: during training, zero each element with probability `rate` and scale the rest by 1/(1-rate)."""
from __future__ import annotations

import zlib

from .base import Attr, Op, expect_float, register
from .shape import zero_tangent

SPAN = 1 << 24  # a drop is an integer draw from [0, SPAN) below round(rate * SPAN)


class Dropout(Op):
    piecewise_linear = True  # second order: a fixed mask times x
    name = "dropout"
    inputs = ("x",)
    attrs = {"rate": Attr("float", 0.5, low=0.0, high=0.99, doc="probability of dropping an element")}

    def infer(self, node, xs):
        expect_float(node, xs[0])
        return xs[0]

    # 4. reference: eval mode (training draws a mask; tests check y = x * the saved mask)
    def reference(self, node, xs, params):
        return xs[0].copy()

    # 5. kernels bound: the mask is drawn in the forward pass and saved for the VJP
    def workspace(self, node, xs, y):
        return {"mask": (y.shape, y.dtype)}

    def emit_forward(self, node, e):
        rate = node.attrs["rate"]
        drop_below = round(rate * SPAN)
        # a salt per layer: two dropout layers of one step draw different masks (Numba seeds with
        # the low 32 bits of seed + salt)
        salt = zlib.crc32(node.name.encode())
        return [f"dropout_fwd({e.x[0]}, {e.y}, {e.ws['mask']}, training, {drop_below}, {SPAN}, "
                f"{e.lit(1 / (1 - rate))}, seed + {salt})"]

    def emit_vjp(self, node, e):
        return [f"dropout_vjp_x({e.gy}, {e.ws['mask']}, {e.gx[0]})"] if e.gx[0] else []

    def emit_jvp(self, node, e):
        # the forward's saved mask: the drawn one in training, ones in eval (the identity)
        return [f"dropout_jvp({e.dx[0]}, {e.ws['mask']}, {e.dy})"] if e.dx[0] else [zero_tangent(e)]

    def label(self, a):
        return f"dropout {a['rate']:g}"


register(Dropout())
