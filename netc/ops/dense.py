"""dense: y = x W + b over the last axis, so it also applies at every step of a sequence."""
from __future__ import annotations

from .base import MAX_SIZE, Attr, Op, Param, expect_fixed, expect_float, register


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
        if x.rank > 2 and not x.has_time():
            node.fail(f"expects N x features (or N x T x features), found {x}",
                      "add a flatten before this layer")
        return x.with_shape(x.shape[:-1] + (node.attrs["units"],))

    # 3. parameters
    def params(self, node, xs):
        fan_in, units = xs[0].shape[-1], node.attrs["units"]
        out = {"weight": Param((fan_in, units), node.attrs["init"], fan_in=fan_in, fan_out=units)}
        if node.attrs["bias"]:
            out["bias"] = Param((units,), "zeros")
        return out

    # 6. multiply-adds
    def macs(self, node, xs, y):
        return xs[0].size_per_example() * node.attrs["units"]

    def label(self, a):
        return f"dense {a['units']}"


register(Dense())
