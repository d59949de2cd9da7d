"""embedding and one_hot: integer ids (N, ...) -> vectors (N, ..., size)."""
from __future__ import annotations

import numpy as np

from ..types import INT_DTYPES, TensorType
from .base import MAX_SIZE, Attr, Op, Param, register
from .shape import zero_tangent


def _expect_ids(node, x):
    if x.dtype not in INT_DTYPES:
        node.fail(f"expects integer ids, found {x.dtype} {x}",
                  "declare the input with 'dtype: int32'")


class Embedding(Op):
    piecewise_linear = True  # second order: the gradient of the table depends only on the ids
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

    # 4. reference
    def reference(self, node, xs, params):
        return params["table"][xs[0]]

    # 5. kernels bound: the ids get no gradient; the table's is a scatter-add
    def emit_forward(self, node, e):
        return [f"embedding_fwd({e.x[0]}, {e.p['table']}, {e.y})"]

    def emit_vjp(self, node, e):
        return [f"embedding_vjp_table({e.x[0]}, {e.gy}, {e.gp['table']})"] if e.gp.get("table") else []

    def emit_jvp(self, node, e):
        # linear in the table: its tangent gathered at the same ids (integer ids have no tangent)
        dtable = e.dp.get("table")
        return [f"embedding_jvp({e.x[0]}, {dtable}, {e.dy})"] if dtable else [zero_tangent(e)]

    def label(self, a):
        return f"embedding {a['vocab']}x{a['dim']}"


class OneHot(Op):
    piecewise_linear = True  # second order: no float input
    name = "one_hot"
    inputs = ("ids",)
    attrs = {"classes": Attr("int", low=1, high=MAX_SIZE)}

    def infer(self, node, xs):
        _expect_ids(node, xs[0])
        return TensorType(node.float_dtype,
                          xs[0].shape + (node.attrs["classes"],))

    # 4. reference
    def reference(self, node, xs, params):
        return np.eye(node.attrs["classes"], dtype=node.type.dtype)[xs[0]]

    # 5. kernels bound: the ids get no gradient, and one_hot has no other input
    def emit_forward(self, node, e):
        return [f"one_hot_fwd({e.x[0]}, {e.y})"]

    def emit_vjp(self, node, e):
        return []

    def emit_jvp(self, node, e):
        return [zero_tangent(e)]  # integer ids have no tangent, and one_hot has no parameters

    def label(self, a):
        return f"one_hot {a['classes']}"


register(Embedding())
register(OneHot())
