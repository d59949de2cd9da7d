"""Elementwise activations, softmax and log-softmax, and maxout."""
from __future__ import annotations

from .base import Attr, Op, expect_float, expect_fixed, register


class Elementwise(Op):
    """y = f(x), same shape."""

    inputs = ("x",)

    def __init__(self, name, attrs=None, doc=""):
        self.name = name
        self.attrs = attrs or {}
        self.doc = doc

    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        return x

    def label(self, a):
        if a:
            return f"{self.name} " + " ".join(f"{k} {v}" for k, v in a.items())
        return self.name


for _name, _attrs, _doc in [
    ("identity", None, "y = x (the linear neuron's activation)"),
    ("sigmoid", None, "y = 1 / (1 + exp(-x)) (the logistic neuron)"),
    ("tanh", None, "y = tanh(x)"),
    ("relu", None, "y = max(0, x)"),
    ("leaky_relu", {"slope": Attr("float", 0.1, low=0.0)}, "y = x if x > 0 else slope*x (slope 0.1, as in the course)"),
    ("elu", {"alpha": Attr("float", 1.0, low=0.0)}, "y = x if x > 0 else alpha*(exp(x) - 1)"),
    ("threshold", None, "y = 1 if x >= 0 else 0 (the binary threshold neuron; its gradient is zero)"),
]:
    register(Elementwise(_name, _attrs, _doc))


class Softmax(Op):
    inputs = ("x",)
    attrs = {"axis": Attr("int", -1)}

    def __init__(self, name):
        self.name = name

    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        axis = node.attrs["axis"]
        if not -x.rank < axis < x.rank or axis in (0, -x.rank):
            node.fail(f"axis {axis} is not an axis of {x} other than the batch", attr="axis")
        return x


register(Softmax("softmax"))
register(Softmax("log_softmax"))


class Maxout(Op):
    """Splits the features along `axis` into groups of `pieces` and keeps each group's max."""

    name = "maxout"
    inputs = ("x",)
    attrs = {"pieces": Attr("int", 2, low=1), "axis": Attr("int", 1)}

    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        axis = node.attrs["axis"] % x.rank if x.rank else 0
        if axis == 0:
            node.fail("maxout cannot group along the batch axis", attr="axis")
        expect_fixed(node, x, (axis,), "the maxout axis")
        size, k = x.shape[axis], node.attrs["pieces"]
        if size % k:
            node.fail(f"{size} features along axis {axis} do not split into groups of {k} ({size}/{k} = {size / k:.4g})",
                      f"make the layer before produce a multiple of {k} ({size - size % k} or {size + k - size % k})",
                      attr="pieces")
        shape = list(x.shape)
        shape[axis] = size // k
        return x.with_shape(shape)

    def label(self, a):
        return f"maxout {a['pieces']}"


register(Maxout())
