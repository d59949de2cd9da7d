"""embedding and one_hot: integer ids (N, ...) -> vectors (N, ..., size)."""
from __future__ import annotations

from ..types import INT_DTYPES, TensorType
from .base import MAX_SIZE, Attr, Op, Param, register


def _expect_ids(node, x):
    if x.dtype not in INT_DTYPES:
        node.fail(f"expects integer ids, found {x.dtype} {x}",
                  "declare the input with 'dtype: int32'")


class Embedding(Op):
    name = "embedding"
    inputs = ("ids",)
    attrs = {"vocab": Attr("int", low=1, high=MAX_SIZE, doc="number of distinct ids"),
             "dim": Attr("int", low=1, high=MAX_SIZE, doc="vector size")}

    def infer(self, node, xs):
        _expect_ids(node, xs[0])
        return TensorType(node.float_dtype,
                          xs[0].shape + (node.attrs["dim"],))

    def params(self, node, xs):
        return {"table": Param((node.attrs["vocab"], node.attrs["dim"]), "normal",
                               fan_in=1, fan_out=node.attrs["dim"])}

    def label(self, a):
        return f"embedding {a['vocab']}x{a['dim']}"


class OneHot(Op):
    name = "one_hot"
    inputs = ("ids",)
    attrs = {"classes": Attr("int", low=1, high=MAX_SIZE)}

    def infer(self, node, xs):
        _expect_ids(node, xs[0])
        return TensorType(node.float_dtype,
                          xs[0].shape + (node.attrs["classes"],))

    def label(self, a):
        return f"one_hot {a['classes']}"


register(Embedding())
register(OneHot())
