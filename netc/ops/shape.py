"""Ops that move elements without arithmetic: flatten, reshape, concat."""
from __future__ import annotations

import math

from ..types import format_shape
from .base import Attr, Op, register


class Flatten(Op):
    name = "flatten"
    inputs = ("x",)
    attrs = {}

    def infer(self, node, xs):
        (x,) = xs
        if x.has_time():
            node.fail(f"cannot flatten {x}: the sequence length T is not fixed",
                      "use global pooling over T, or an rnn/lstm with 'return: last'")
        return x.with_shape(("N", x.size_per_example()))


class Reshape(Op):
    name = "reshape"
    inputs = ("x",)
    attrs = {"shape": Attr("shape", doc="one example's new shape; -1 once for 'the rest'")}

    def infer(self, node, xs):
        (x,) = xs
        if x.has_time():
            node.fail(f"cannot reshape {x}: the sequence length T is not fixed")
        size = x.size_per_example()
        shape = list(node.attrs["shape"])
        known = math.prod(d for d in shape if d != -1)
        if -1 in shape:
            if size % known:
                node.fail(f"{format_shape(x.example_shape)} = {size} elements cannot fill "
                          f"{format_shape(shape)}: {size}/{known} = {size / known:.4g}", attr="shape")
            shape[shape.index(-1)] = size // known
        elif known != size:
            node.fail(f"{format_shape(x.example_shape)} = {size} elements per example, but "
                      f"{format_shape(shape)} = {known}", "the new shape must hold the same number of elements",
                      attr="shape")
        return x.with_shape(["N"] + shape)

    def label(self, a):
        return f"reshape {format_shape(a['shape'])}"


class Concat(Op):
    name = "concat"
    inputs = ("x",)
    variadic = True
    min_inputs = 1
    attrs = {"axis": Attr("int", 1, doc="1 is the channel (or feature) axis")}

    def infer(self, node, xs):
        first = xs[0]
        axis = node.attrs["axis"]
        if not -first.rank < axis < first.rank or axis % first.rank == 0:
            node.fail(f"axis {axis} is not an axis of {first} other than the batch", attr="axis")
        axis %= first.rank
        total = 0
        for i, x in enumerate(xs):
            if x.rank != first.rank or x.dtype != first.dtype:
                node.fail(f"input {i + 1} is {x.dtype} {x}, but input 1 is {first.dtype} {first}",
                          "concat joins tensors of one dtype and rank")
            for d in range(1, x.rank):
                if d != axis and x.shape[d] != first.shape[d]:
                    node.fail(f"input {i + 1} ({x}) and input 1 ({first}) differ in axis {d} "
                              f"({x.shape[d]} vs {first.shape[d]}); only axis {axis} may differ",
                              "resize one branch (pooling, stride or padding) so the other axes agree")
            if x.shape[axis] == "T":
                node.fail("cannot concatenate along the sequence length T")
            total += x.shape[axis]
        shape = list(first.shape)
        shape[axis] = total
        return first.with_shape(shape)


for _op in (Flatten(), Reshape(), Concat()):
    register(_op)
