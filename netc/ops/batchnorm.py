"""batchnorm: normalise each channel (axis 1) over the batch and spatial axes; running stats for eval."""
from __future__ import annotations

from .base import Attr, Op, Param, expect_fixed, expect_float, register


class BatchNorm(Op):
    name = "batchnorm"
    inputs = ("x",)
    attrs = {
        "momentum": Attr("float", 0.1, low=0.0, high=1.0, doc="weight of the new batch in the running stats"),
        "eps": Attr("float", 1e-5, low=0.0),
    }

    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        if x.rank < 2:
            node.fail(f"expects N x C (x spatial...), found {x}")
        expect_fixed(node, x, (1,), "the channel axis")
        return x

    def params(self, node, xs):
        c = xs[0].shape[1]
        return {
            "gamma": Param((c,), "ones"),
            "beta": Param((c,), "zeros"),
            "running_mean": Param((c,), "zeros", trainable=False),
            "running_var": Param((c,), "ones", trainable=False),
        }

    def macs(self, node, xs, y):
        return y.size_per_example()


register(BatchNorm())
