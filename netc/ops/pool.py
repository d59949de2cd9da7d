"""Max and average pooling over 1-3 spatial axes, and global pooling (N, C, *spatial) -> (N, C)."""
from __future__ import annotations

import math

from ..types import TensorType
from .base import MAX_SIZE, Attr, Op, expect_fixed, expect_float, expect_rank, register
from .conv import LAYOUT
from .window import output_sizes


class Pool(Op):
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
                                  f"use pad: {k // 2} or less")

    # 2. shape rule
    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        expect_rank(node, x, (self.spatial + 2,), LAYOUT[self.spatial])
        expect_fixed(node, x, range(2, x.rank), f"{self.name} input")
        a = node.attrs
        sizes, pads = output_sizes(node, x.shape[2:], a["kernel"], a["stride"], a["pad"], a["dilation"],
                                   a["rounding"])
        node.resolved_pads = pads
        return x.with_shape(("N", x.shape[1]) + sizes)

    # 6. multiply-adds: pooling compares or adds, it does not multiply
    def macs(self, node, xs, y):
        return 0

    def label(self, a):
        text = f"{self.name} {'x'.join(map(str, a['kernel']))}"
        if a["stride"] != a["kernel"]:
            text += f" /{'x'.join(map(str, a['stride']))}"
        return text


class GlobalPool(Op):
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


for _kind in ("max", "avg"):
    for _spatial in (1, 2, 3):
        register(Pool(_kind, _spatial))
        register(GlobalPool(_kind, _spatial))
