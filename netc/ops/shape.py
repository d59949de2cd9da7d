"""Ops that move elements without arithmetic: flatten, reshape, concat."""
from __future__ import annotations

import math

import numpy as np

from ..types import format_shape
from .base import Attr, Op, register


# helpers for emitted lines: kernels take fixed-rank views, so one compiled kernel serves every rank

def size_expr(arr: str, shape, axes) -> str:
    """Source text for the number of elements over `axes` of array `arr` of type shape `shape`:
    fixed sizes inline, N and T read from the array at run time."""
    fixed, terms = 1, []
    for d in axes:
        if isinstance(shape[d], int):
            fixed *= shape[d]
        else:
            terms.append(f"{arr}.shape[{d}]")
    if fixed != 1 or not terms:
        terms.append(str(fixed))
    return "*".join(terms)


def view(arr: str, shape, groups) -> str:
    """Source text reshaping `arr` to one axis per group of consecutive axes."""
    return f"{arr}.reshape(({', '.join(size_expr(arr, shape, g) for g in groups)},))"


def view3(arr: str, shape, axis: int) -> str:
    """`arr` as (before axis, axis, after axis), for kernels that work along one axis."""
    axis %= len(shape)
    return view(arr, shape, [range(axis), [axis], range(axis + 1, len(shape))])


def zero_tangent(e) -> str:
    """The line writing a zero output tangent: no input or parameter carries one, or the op is flat."""
    return f"fill_value({e.dy}, {e.lit(0)})"


class Regroup(Op):
    """Flatten and reshape: the same elements in the same order, in another shape."""
    piecewise_linear = True  # second order: moves values

    # 4. reference
    def reference(self, node, xs, params):
        return xs[0].reshape((xs[0].shape[0],) + node.type.shape[1:])

    # 5. kernels bound: a copy, since y has its own buffer in the plan
    def emit_forward(self, node, e):
        return [f"reshape_fwd({e.x[0]}, {e.y})"]

    def emit_vjp(self, node, e):
        return [f"reshape_vjp_x({e.gy}, {e.gx[0]})"] if e.gx[0] else []

    def emit_jvp(self, node, e):
        return [f"reshape_jvp({e.dx[0]}, {e.dy})"] if e.dx[0] else [zero_tangent(e)]


class Flatten(Regroup):
    name = "flatten"
    inputs = ("x",)
    attrs = {}

    def infer(self, node, xs):
        (x,) = xs
        if x.has_time():
            node.fail(f"cannot flatten {x}: the sequence length T is not fixed",
                      "use global pooling over T, or an rnn/lstm with 'return: last'")
        return x.with_shape(("N", x.size_per_example()))


class Reshape(Regroup):
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
    piecewise_linear = True  # second order: moves values
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

    # 4. reference
    def reference(self, node, xs, params):
        return np.concatenate(xs, axis=node.attrs["axis"])

    # 5. kernels bound: one copy per input into its slice of y, all as (outer, axis, inner) views
    def _slices(self, node):
        axis = node.attrs["axis"] % node.type.rank
        offset = 0
        for i, t in enumerate(node.in_types):
            yield i, axis, t.shape, offset
            offset += t.shape[axis]

    def emit_forward(self, node, e):
        y = view3(e.y, node.type.shape, node.attrs["axis"])
        return [f"concat_fwd({view3(e.x[i], shape, axis)}, {y}, {off})" for i, axis, shape, off in self._slices(node)]

    def emit_vjp(self, node, e):
        gy = view3(e.gy, node.type.shape, node.attrs["axis"])
        return [f"concat_vjp_x({gy}, {view3(e.gx[i], shape, axis)}, {off})"
                for i, axis, shape, off in self._slices(node) if e.gx[i]]

    def emit_jvp(self, node, e):
        # every input writes its slice of dy, a zero tangent (None) as zeros, so dy is written whole
        dy = view3(e.dy, node.type.shape, node.attrs["axis"])
        return [f"concat_jvp({view3(e.dx[i], shape, axis) if e.dx[i] else None}, {dy}, {off}, {shape[axis]})"
                for i, axis, shape, off in self._slices(node)]


for _op in (Flatten(), Reshape(), Concat()):
    register(_op)
