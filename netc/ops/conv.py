"""conv1d, conv2d, conv3d: channels-first convolution (N, C, *spatial) -> (N, filters, *spatial')."""
from __future__ import annotations

import math

from ..types import TensorType
from .base import MAX_SIZE, Attr, Op, Param, expect_fixed, expect_float, expect_rank, register
from .window import output_sizes

INITS = ("glorot_uniform", "he_normal", "normal", "zeros")
LAYOUT = {1: "N x C x L", 2: "N x C x H x W", 3: "N x C x D x H x W"}


class Conv(Op):
    inputs = ("x",)

    # 1. attributes
    def __init__(self, spatial):
        self.spatial = spatial
        self.name = f"conv{spatial}d"
        self.attrs = {
            "filters": Attr("int", low=1, high=MAX_SIZE, doc="number of output channels"),
            "kernel": Attr("ints", low=1, high=MAX_SIZE, doc="window size F"),
            "stride": Attr("ints", 1, low=1, high=MAX_SIZE),
            "pad": Attr("pad", 0, low=0, high=MAX_SIZE),
            "dilation": Attr("ints", 1, low=1, high=MAX_SIZE),
            "bias": Attr("bool", True),
            "rounding": Attr("choice", "exact", choices=("exact", "floor", "ceil")),
            "init": Attr("choice", "he_normal", choices=INITS),
        }

    # 2. shape rule
    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        expect_rank(node, x, (self.spatial + 2,), LAYOUT[self.spatial])
        expect_fixed(node, x, range(1, x.rank), f"{self.name} input")
        a = node.attrs
        sizes, pads = output_sizes(node, x.shape[2:], a["kernel"], a["stride"], a["pad"], a["dilation"],
                                   a["rounding"])
        node.resolved_pads = pads
        return TensorType(x.dtype, ("N", a["filters"]) + sizes)

    # 3. parameters
    def params(self, node, xs):
        a = node.attrs
        channels = xs[0].shape[1]
        window = math.prod(a["kernel"])
        out = {"weight": Param((a["filters"], channels) + a["kernel"], a["init"],
                               fan_in=channels * window, fan_out=a["filters"] * window)}
        if a["bias"]:
            out["bias"] = Param((a["filters"],), "zeros")
        return out

    # 6. multiply-adds
    def macs(self, node, xs, y):
        return y.size_per_example() * xs[0].shape[1] * math.prod(node.attrs["kernel"])

    def label(self, a):
        text = f"{self.name} {'x'.join(map(str, a['kernel']))}"
        if any(s != 1 for s in a["stride"]):
            text += f" /{'x'.join(map(str, a['stride']))}"
        if a["pad"] == "same":
            text += " pad same"
        elif any(a["pad"]):
            text += f" pad {'x'.join(map(str, a['pad'])) if len(set(a['pad'])) > 1 else a['pad'][0]}"
        if any(d != 1 for d in a["dilation"]):
            text += f" dil {'x'.join(map(str, a['dilation']))}"
        return text


for _spatial in (1, 2, 3):
    register(Conv(_spatial))
