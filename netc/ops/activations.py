"""Elementwise activations, softmax and log-softmax, and maxout."""
from __future__ import annotations

import numpy as np

from .base import Attr, Op, expect_float, expect_fixed, register
from .shape import view3, zero_tangent


class Elementwise(Op):
    """y = f(x), same shape."""

    inputs = ("x",)
    in_place = True  # the kernels read x[i] before writing y[i] and nothing else: y may alias x

    def __init__(self, name, attrs=None, doc=""):
        self.name = name
        self.attrs = attrs or {}
        self.doc = doc
        self.piecewise_linear = SECOND.get(name) is None  # subclasses (the perceptron rule's threshold) too

    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        return x

    # 4. reference
    def reference(self, node, xs, params):
        return REFERENCE[self.name](xs[0], node.attrs)

    # 5. kernels bound
    def emit_forward(self, node, e):
        return [KERNELS[self.name][0].format(x=e.x[0], y=e.y, **_lits(node, e))]

    def emit_vjp(self, node, e):
        rule = KERNELS[self.name][1]
        if not e.gx[0] or rule is None:
            return []
        return [rule.format(x=e.x[0], y=e.y, gy=e.gy, gx=e.gx[0], accumulate=e.accumulate(0), **_lits(node, e))]

    def writes_gradient(self, node, slot):
        return "{accumulate}" in (KERNELS.get(self.name, (None, None))[1] or "")  # subclasses emit their own

    def emit_jvp(self, node, e):
        rule = JVP[self.name]
        if not e.dx[0] or rule is None:
            return [zero_tangent(e)]
        return [rule.format(x=e.x[0], y=e.y, dx=e.dx[0], dy=e.dy, **_lits(node, e))]

    def label(self, a):
        if a:
            return f"{self.name} " + " ".join(f"{k} {v}" for k, v in a.items())
        return self.name

    # 7. second order: gx = gy f'(x) moves by gy f''(x) dx (the table SECOND)
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        if self.piecewise_linear or dxs[0] is None:
            return [None], {}
        return [SECOND[self.name](xs[0], y, gy, dxs[0], node.attrs)], {}

    def kink_piece(self, node, xs, y, ws):
        side = KINKS.get(self.name)
        return None if side is None else side(xs[0])


def _lits(node, e):
    return {k: e.lit(v) for k, v in node.attrs.items()}


# the rules, one line each: NumPy reference, then forward and VJP kernel calls (None: no gradient)
REFERENCE = {
    "identity": lambda x, a: x.copy(),
    "sigmoid": lambda x, a: np.exp(-np.logaddexp(0, -x)),  # = 1/(1+exp(-x)), without overflow
    "tanh": lambda x, a: np.tanh(x),
    "relu": lambda x, a: np.maximum(x, 0),
    "leaky_relu": lambda x, a: np.where(x > 0, x, a["slope"] * x),
    "elu": lambda x, a: np.where(x > 0, x, a["alpha"] * np.expm1(np.minimum(x, 0))),
    "threshold": lambda x, a: (x >= 0).astype(x.dtype),
}

KERNELS = {
    "identity": ("identity_fwd({x}, {y})", "identity_vjp_x({gy}, {gx})"),
    "sigmoid": ("sigmoid_fwd({x}, {y})", "sigmoid_vjp_x({y}, {gy}, {gx})"),
    "tanh": ("tanh_fwd({x}, {y})", "tanh_vjp_x({y}, {gy}, {gx})"),
    "relu": ("relu_fwd({x}, {y})", "relu_vjp_x({y}, {gy}, {gx}, {accumulate})"),
    "leaky_relu": ("leaky_relu_fwd({x}, {y}, {slope})", "leaky_relu_vjp_x({x}, {gy}, {gx}, {slope})"),
    "elu": ("elu_fwd({x}, {y}, {alpha})", "elu_vjp_x({x}, {y}, {gy}, {gx}, {alpha})"),
    "threshold": ("threshold_fwd({x}, {y})", None),  # a step: zero gradient almost everywhere
}

# forward mode, one line each: the JVP kernel call writing dy (None: the tangent is zero)
JVP = {
    "identity": "identity_jvp({dx}, {dy})",
    "sigmoid": "sigmoid_jvp({y}, {dx}, {dy})",
    "tanh": "tanh_jvp({y}, {dx}, {dy})",
    "relu": "relu_jvp({y}, {dx}, {dy})",
    "leaky_relu": "leaky_relu_jvp({x}, {dx}, {dy}, {slope})",
    "elu": "elu_jvp({x}, {y}, {dx}, {dy}, {alpha})",
    "threshold": None,  # a step: zero tangent almost everywhere
}

# second order, one line each: gy f''(x) dx in NumPy, written with y as the VJP kernels are
# (None: piecewise linear, f'' is zero away from the kinks)
SECOND = {
    "identity": None,
    "sigmoid": lambda x, y, gy, dx, a: gy * dx * y * (1 - y) * (1 - 2 * y),
    "tanh": lambda x, y, gy, dx, a: -2 * gy * dx * y * (1 - y * y),
    "relu": None,
    "leaky_relu": None,
    "elu": lambda x, y, gy, dx, a: np.where(x > 0, 0.0, gy * dx * (y + a["alpha"])),  # alpha e^x = y + alpha
    "threshold": None,  # a step: its gradient is zero, and so is its tangent
}

# the side of the kink each element is on, for the activations that have one
KINKS = {"relu": lambda x: x > 0, "leaky_relu": lambda x: x > 0, "elu": lambda x: x > 0,
         "threshold": lambda x: x >= 0}


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

    # 4. reference
    def reference(self, node, xs, params):
        x = xs[0]
        z = x - x.max(axis=node.attrs["axis"], keepdims=True)
        s = np.exp(z).sum(axis=node.attrs["axis"], keepdims=True)
        return z - np.log(s) if self.name == "log_softmax" else np.exp(z) / s

    # 5. kernels bound: (outer, axis, inner) views, so one kernel serves any axis and rank
    def emit_forward(self, node, e):
        shape, axis = node.type.shape, node.attrs["axis"]
        return [f"{self.name}_fwd({view3(e.x[0], shape, axis)}, {view3(e.y, shape, axis)})"]

    def emit_vjp(self, node, e):
        if not e.gx[0]:
            return []
        shape, axis = node.type.shape, node.attrs["axis"]
        return [f"{self.name}_vjp_x({view3(e.y, shape, axis)}, {view3(e.gy, shape, axis)}, "
                f"{view3(e.gx[0], shape, axis)})"]

    def emit_jvp(self, node, e):
        if not e.dx[0]:
            return [zero_tangent(e)]
        shape, axis = node.type.shape, node.attrs["axis"]
        return [f"{self.name}_jvp({view3(e.y, shape, axis)}, {view3(e.dx[0], shape, axis)}, "
                f"{view3(e.dy, shape, axis)})"]

    # 7. second order, along the axis, with s = softmax(x) and its tangent ds:
    #    softmax:     gx = s (gy - <gy, s>)    moves by ds (gy - <gy, s>) - s <gy, ds>, ds = dy
    #    log_softmax: gx = gy - s sum(gy)      moves by -ds sum(gy), ds = s dy (s = exp(y))
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        if dxs[0] is None:
            return [None], {}
        axis = node.attrs["axis"]
        if self.name == "softmax":
            ds = dy
            g = ds * (gy - (gy * y).sum(axis=axis, keepdims=True)) - y * (gy * ds).sum(axis=axis, keepdims=True)
        else:
            ds = np.exp(y) * dy
            g = -ds * gy.sum(axis=axis, keepdims=True)
        return [g], {}


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

    # 4. reference
    def reference(self, node, xs, params):
        x, k = xs[0], node.attrs["pieces"]
        axis = node.attrs["axis"] % x.ndim
        groups = x.reshape(x.shape[:axis] + (x.shape[axis] // k, k) + x.shape[axis + 1:])
        return groups.max(axis=axis + 1)

    # 5. kernels bound: the winning piece is saved for the VJP
    def workspace(self, node, xs, y):
        return {"argmax": (y.shape, "int32")}

    def emit_forward(self, node, e):
        xshape, yshape, axis = node.in_types[0].shape, node.type.shape, node.attrs["axis"]
        return [f"maxout_fwd({view3(e.x[0], xshape, axis)}, {view3(e.y, yshape, axis)}, "
                f"{view3(e.ws['argmax'], yshape, axis)})"]

    def emit_vjp(self, node, e):
        if not e.gx[0]:
            return []
        xshape, yshape, axis = node.in_types[0].shape, node.type.shape, node.attrs["axis"]
        return [f"maxout_vjp_x({view3(e.gy, yshape, axis)}, {view3(e.ws['argmax'], yshape, axis)}, "
                f"{view3(e.gx[0], xshape, axis)})"]

    def emit_jvp(self, node, e):
        if not e.dx[0]:
            return [zero_tangent(e)]
        xshape, yshape, axis = node.in_types[0].shape, node.type.shape, node.attrs["axis"]
        return [f"maxout_jvp({view3(e.dx[0], xshape, axis)}, {view3(e.ws['argmax'], yshape, axis)}, "
                f"{view3(e.dy, yshape, axis)})"]

    # 7. second order: the VJP routes gy to the winning piece; it moves only where the winner changes
    piecewise_linear = True

    def kink_piece(self, node, xs, y, ws):
        return ws["argmax"]

    def label(self, a):
        return f"maxout {a['pieces']}"


register(Maxout())
