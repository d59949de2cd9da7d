"""add and mul of two tensors, with broadcasting.

netc broadcasts from the left, after the batch axis: a tensor of shape N x C scales an N x C x H x W
one channel by channel (squeeze-and-excitation), because with channels-first layouts the
channel is the axis two such tensors share. Otherwise sizes must be equal or 1, axis by axis.
"""
from __future__ import annotations

from .base import Op, bilinear_vjp_tangent, expect_float, register
from .shape import view, zero_tangent

KERNEL_RANK = 4  # the kernels take 4-D views: at most 4 groups of axes (shared / a broadcast / b broadcast)


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


def padded(x, rank):
    """x's shape with trailing 1s up to `rank` (netc broadcasts from the left)."""
    return tuple(x.shape) + (1,) * (rank - x.rank)


def groups(a, b):
    """Consecutive axes in which both operands are full, or a is 1, or b is 1, merged into one:
    the kernels then loop over at most KERNEL_RANK axes, whatever the ranks."""
    rank = max(a.rank, b.rank)
    sa, sb = padded(a, rank), padded(b, rank)
    out, kinds = [], []
    for d in range(rank):
        kind = "both" if sa[d] == sb[d] else "a" if sb[d] == 1 else "b"
        if sa[d] == sb[d] == 1 and kinds:
            kind = kinds[-1]  # a size-1 axis joins any group
        if kinds and kinds[-1] == kind:
            out[-1].append(d)
        else:
            out.append([d])
            kinds.append(kind)
    return out


class Binary(Op):
    inputs = ("a", "b")

    def __init__(self, name):
        self.name = name
        self.attrs = {}
        self.piecewise_linear = name == "add"

    # 7. second order: a * b is bilinear in (a, b); a + b is linear
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        if self.piecewise_linear:
            return [None] * len(xs), {}
        return bilinear_vjp_tangent(xs, params, dxs, dps, gy, vjp, ())

    def infer(self, node, xs):
        a, b = xs
        expect_float(node, a)
        y = broadcast(node, a, b)
        if len(groups(a, b)) > KERNEL_RANK:
            node.fail(f"cannot combine {a} with {b}: the broadcast axes alternate more than {KERNEL_RANK} times",
                      "reshape an operand so its size-1 axes are consecutive")
        return y

    # 4. reference
    def reference(self, node, xs, params):
        rank = max(x.ndim for x in xs)
        a, b = (x.reshape(x.shape + (1,) * (rank - x.ndim)) for x in xs)
        return a + b if self.name == "add" else a * b

    # 5. kernels bound: every array as a 4-D view over the same axis groups
    def _views(self, node, names):
        a, b = node.in_types
        gs = groups(a, b)
        gs = [[]] * (KERNEL_RANK - len(gs)) + gs  # leading 1s: the kernels' inner loop is the last group
        rank = node.type.rank
        shapes = [padded(a, rank), padded(b, rank), node.type.shape]
        return [view(n, s, gs) if n else None for n, s in zip(names, shapes)]

    def emit_forward(self, node, e):
        a, b, y = self._views(node, [e.x[0], e.x[1], e.y])
        return [f"{self.name}_fwd({a}, {b}, {y})"]

    def emit_vjp(self, node, e):
        a, b, gy = self._views(node, [e.x[0], e.x[1], e.gy])
        ga, gb, _ = self._views(node, [e.gx[0], e.gx[1], None])
        lines = []
        for slot, g, other in ((0, ga, b), (1, gb, a)):
            if g and self.name == "add":
                lines.append(f"add_vjp_x({gy}, {g}, {e.accumulate(slot)})")
            elif g:
                lines.append(f"mul_vjp_x({gy}, {other}, {g}, {e.accumulate(slot)})")
        return lines

    def writes_gradient(self, node, slot):
        return True

    def emit_jvp(self, node, e):
        # one kernel per op; a None tangent is zero (Numba specialises on it)
        if not e.dx[0] and not e.dx[1]:
            return [zero_tangent(e)]
        a, b, dy = self._views(node, [e.x[0], e.x[1], e.dy])
        da, db, _ = self._views(node, [e.dx[0], e.dx[1], None])
        if self.name == "add":
            return [f"add_jvp({da}, {db}, {dy})"]
        return [f"mul_jvp({a}, {b}, {da}, {db}, {dy})"]

    def macs(self, node, xs, y):
        return y.size_per_example() if self.name == "mul" else 0


register(Binary("add"))
register(Binary("mul"))
