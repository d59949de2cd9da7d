"""add and mul of two tensors, with broadcasting.

netc broadcasts from the left, after the batch axis: a tensor of shape N x C scales an N x C x H x W
one channel by channel (squeeze-and-excitation), because with channels-first layouts the
channel is the axis two such tensors share. Otherwise sizes must be equal or 1, axis by axis.
"""
from __future__ import annotations

from .base import Op, expect_float, register


def broadcast(node, a, b):
    if a.dtype != b.dtype:
        node.fail(f"inputs have different dtypes: {a.dtype} and {b.dtype}")
    rank = max(a.rank, b.rank)
    sa = tuple(a.shape) + (1,) * (rank - a.rank)
    sb = tuple(b.shape) + (1,) * (rank - b.rank)
    out = []
    for d, (x, y) in enumerate(zip(sa, sb)):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            node.fail(f"cannot combine {a} with {b}: axis {d} is {x} in one and {y} in the other",
                      "shapes must agree axis by axis after the batch, or be 1 there "
                      "(N x C scales N x C x H x W per channel); on a residual path, "
                      "a 1x1 conv with the right filters and stride makes them agree")
    return a.with_shape(out)


class Binary(Op):
    inputs = ("a", "b")

    def __init__(self, name):
        self.name = name
        self.attrs = {}

    def infer(self, node, xs):
        a, b = xs
        expect_float(node, a)
        return broadcast(node, a, b)

    def macs(self, node, xs, y):
        return y.size_per_example() if self.name == "mul" else 0


register(Binary("add"))
register(Binary("mul"))
