"""dropout: during training, zero each element with probability `rate` and scale the rest by 1/(1-rate)."""
from __future__ import annotations

from .base import Attr, Op, expect_float, register


class Dropout(Op):
    name = "dropout"
    inputs = ("x",)
    attrs = {"rate": Attr("float", 0.5, low=0.0, high=0.99, doc="probability of dropping an element")}

    def infer(self, node, xs):
        expect_float(node, xs[0])
        return xs[0]

    def label(self, a):
        return f"dropout {a['rate']:g}"


register(Dropout())
