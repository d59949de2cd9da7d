"""Max and average pooling over 1-3 spatial axes, and global pooling (N, C, *spatial) -> (N, C)."""
from __future__ import annotations

import numpy as np

from ..types import TensorType
from .base import MAX_SIZE, Attr, Op, expect_fixed, expect_float, expect_rank, register
from .conv import LAYOUT, as3d, flat, three, window_slices
from .window import output_sizes


class Pool(Op):
    piecewise_linear = True  # second order: max picks, average weighs: linear on each piece
    inputs = ("x",)

    # 1. attributes
    def __init__(self, kind, spatial):
        self.kind = kind  # max | avg
        self.spatial = spatial
        self.name = f"{kind}pool{spatial}d"
        self.attrs = {
            "kernel": Attr("ints", low=1, high=MAX_SIZE, doc="window size F"),
            "stride": Attr("ints", None, low=1, high=MAX_SIZE, doc="defaults to the kernel"),
            "pad": Attr("pad", 0, low=0, high=MAX_SIZE),
            "dilation": Attr("ints", 1, low=1, high=MAX_SIZE),
            "rounding": Attr("choice", "exact", choices=("exact", "floor", "ceil")),
        }
        if kind == "avg":
            # whether padded zeros count in the divisor: PyTorch says yes by default, ONNX no
            self.attrs["count_include_pad"] = Attr("bool", False)

    def check_attrs(self, a):
        if a["stride"] is None:
            a["stride"] = a["kernel"]
        if a["pad"] != "same":
            for p, k in zip(a["pad"], a["kernel"]):
                if p > k // 2:
                    from ..errors import Problem
                    raise Problem(f"pad {p} is more than half the kernel {k}: some windows would see only padding",
                                  f"use pad: {k // 2} or less", attr="pad")

    # 2. shape rule
    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        expect_rank(node, x, (self.spatial + 2,), LAYOUT[self.spatial])
        expect_fixed(node, x, range(2, x.rank), f"{self.name} input")
        a = node.attrs
        sizes, pads = output_sizes(node, x.shape[2:], a["kernel"], a["stride"], a["pad"], a["dilation"],
                                   a["rounding"], max_pad=[k // 2 for k in a["kernel"]])
        node.resolved_pads = pads
        return x.with_shape(("N", x.shape[1]) + sizes)

    # 4. reference: max or mean over kernel offsets of strided slices of the padded input
    def reference(self, node, xs, params):
        x, a, pads = xs[0], node.attrs, node.resolved_pads
        out = node.type.shape[2:]

        def windows(arr, pads_, fill):
            return [patch for _, patch in window_slices(arr, pads_, a["kernel"], a["stride"], a["dilation"], out, fill)]
        if self.kind == "max":
            y = np.max(windows(x, pads, -np.inf), axis=0)
            return np.where(np.isneginf(y), 0, y).astype(x.dtype)  # a window of padding alone gives 0
        total = np.sum(windows(x, pads, 0), axis=0)
        spatial = x.shape[2:]
        if a["count_include_pad"]:  # taps inside the padded input count, taps past it do not
            inside = np.ones((1, 1) + tuple(s + l + r for s, (l, r) in zip(spatial, pads)))
            count = np.sum(windows(inside, [(0, 0)] * len(spatial), 0), axis=0)
        else:
            count = np.sum(windows(np.ones((1, 1) + spatial), pads, 0), axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), 0).astype(x.dtype)

    # 5. kernels bound: 1-d and 2-d run as 3-d with singleton axes (netc/kernels/pool.py, pool_jvp.py)
    def workspace(self, node, xs, y):
        return {"arg": (y.shape, "int64")} if self.kind == "max" else {}

    def _geometry(self, node):
        a, pads = node.attrs, node.resolved_pads
        parts = [three(a["kernel"], 1), three(a["stride"], 1), three([p[0] for p in pads], 0)]
        if self.kind == "avg":
            parts.append(three([p[1] for p in pads], 0))
        parts.append(three(a["dilation"], 1))
        if self.kind == "avg":
            parts.append(repr(a["count_include_pad"]))
        return ", ".join(parts)

    def emit_forward(self, node, e):
        x, y = as3d(e.x[0], self.spatial), as3d(e.y, self.spatial)
        if self.kind == "max":
            return [f"maxpool_fwd({x}, {y}, {as3d(e.ws['arg'], self.spatial)}, {self._geometry(node)})"]
        return [f"avgpool_fwd({x}, {y}, {self._geometry(node)})"]

    def emit_vjp(self, node, e):
        if not e.gx[0]:
            return []
        if self.kind == "max":
            return [f"maxpool_vjp_x({flat(e.gy)}, {flat(e.ws['arg'])}, {flat(e.gx[0])})"]
        return [f"avgpool_vjp_x({as3d(e.gy, self.spatial)}, {as3d(e.gx[0], self.spatial)}, {self._geometry(node)})"]

    def emit_jvp(self, node, e):
        if not e.dx[0]:
            return [f"fill_value({e.dy}, F(0))"]
        if self.kind == "max":
            return [f"maxpool_jvp({flat(e.dx[0])}, {flat(e.ws['arg'])}, {flat(e.dy)})"]
        return [f"avgpool_jvp({as3d(e.dx[0], self.spatial)}, {as3d(e.dy, self.spatial)}, {self._geometry(node)})"]

    # 6. multiply-adds: pooling compares or adds, it does not multiply
    def macs(self, node, xs, y):
        return 0

    def label(self, a):
        text = f"{self.name} {'x'.join(map(str, a['kernel']))}"
        if a["stride"] != a["kernel"]:
            text += f" /{'x'.join(map(str, a['stride']))}"
        return text

    def kink_piece(self, node, xs, y, ws):
        return ws["arg"] if self.kind == "max" else None  # max-pool's winners; average has no kinks


class GlobalPool(Op):
    piecewise_linear = True  # second order: max picks, average weighs: linear on each piece
    inputs = ("x",)
    attrs = {}

    def __init__(self, kind, spatial):
        self.kind = kind
        self.spatial = spatial
        self.name = f"global{kind}pool{spatial}d"

    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        expect_rank(node, x, (self.spatial + 2,), LAYOUT[self.spatial])
        expect_fixed(node, x, (1,), "the channel count")
        return TensorType(x.dtype, ("N", x.shape[1]))

    # 4. reference
    def reference(self, node, xs, params):
        x = xs[0]
        flat = x.reshape(x.shape[0], x.shape[1], -1)
        return (flat.max(axis=2) if self.kind == "max" else flat.mean(axis=2)).astype(x.dtype)

    # 5. kernels bound: x viewed as N x C x S
    def workspace(self, node, xs, y):
        return {"arg": (y.shape, "int64")} if self.kind == "max" else {}

    def emit_forward(self, node, e):
        x = flat(e.x[0])
        if self.kind == "max":
            return [f"globalmaxpool_fwd({x}, {e.y}, {e.ws['arg']})"]
        return [f"globalavgpool_fwd({x}, {e.y})"]

    def emit_vjp(self, node, e):
        if not e.gx[0]:
            return []
        if self.kind == "max":
            return [f"globalmaxpool_vjp_x({e.gy}, {e.ws['arg']}, {flat(e.gx[0])})"]
        return [f"globalavgpool_vjp_x({e.gy}, {flat(e.gx[0])}, {e.accumulate(0)})"]

    def writes_gradient(self, node, slot):
        return self.kind == "avg"

    def emit_jvp(self, node, e):
        if not e.dx[0]:
            return [f"fill_value({e.dy}, F(0))"]
        if self.kind == "max":
            return [f"globalmaxpool_jvp({flat(e.dx[0])}, {e.ws['arg']}, {e.dy})"]
        return [f"globalavgpool_jvp({flat(e.dx[0])}, {e.dy})"]

    # 6. multiply-adds
    def macs(self, node, xs, y):
        return 0

    def kink_piece(self, node, xs, y, ws):
        return ws["arg"] if self.kind == "max" else None  # max-pool's winners; average has no kinks


for _kind in ("max", "avg"):
    for _spatial in (1, 2, 3):
        register(Pool(_kind, _spatial))
        register(GlobalPool(_kind, _spatial))
