"""Losses: softmax cross-entropy, binary cross-entropy, mean squared error. Each gives a scalar,
the mean over the batch (and the time steps, for sequences); the spec's `weight` scales it in
the total."""
from __future__ import annotations

import numpy as np

from ..types import INT_DTYPES, TensorType
from .base import Attr, Op, expect_float, register
from .shape import zero_tangent


class Loss(Op):
    is_loss = True

    def scalar(self, x):
        return TensorType(x.dtype, ())

    # 5. kernels bound, shared: the loss is a 0-d array; only the first input gets a gradient
    def emit_forward(self, node, e):
        return [f"{self.kernel(node)}_fwd({e.x[0]}, {e.x[1]}, {e.y}{self.extra(node, e)})"]

    def emit_vjp(self, node, e):
        if not e.gx[0]:
            return []
        return [f"{self.kernel(node)}_vjp_{self.inputs[0]}({e.x[0]}, {e.x[1]}, {e.gy}, {e.gx[0]}{self.extra(node, e)})"]

    def emit_jvp(self, node, e):
        # float labels and targets may carry a tangent (the loss is smooth in them); integer class
        # ids have none. A None tangent is zero: the kernel specialises on it.
        ids = not node.in_types[1].is_float
        d0, d1 = e.dx[0], None if ids else e.dx[1]
        if not (d0 or d1):
            return [zero_tangent(e)]
        tangents = f"{d0}" if ids else f"{d0}, {d1}"
        return [f"{self.kernel(node)}_jvp({e.x[0]}, {e.x[1]}, {tangents}, {e.dy}{self.extra(node, e)})"]

    def kernel(self, node):
        return self.name

    def extra(self, node, e):
        return ""


def _lse(z):
    m = z.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


class SoftmaxCrossEntropy(Loss):
    """logits N x ... x C; labels are class ids (N x ..., integer) or probabilities (same shape, float)."""

    name = "softmax_cross_entropy"
    inputs = ("logits", "labels")
    attrs = {}

    def infer(self, node, xs):
        logits, labels = xs
        expect_float(node, logits, "logits")
        if logits.rank < 2:
            node.fail(f"logits must be N x classes, found {logits}")
        if labels.dtype in INT_DTYPES:
            if labels.shape != logits.shape[:-1]:
                node.fail(f"integer labels must have shape {TensorType('', logits.shape[:-1])} "
                          f"(one class id per row of logits {logits}), found {labels}",
                          "declare the labels input with shape [] (one id per example) or [T] for sequences")
        elif labels.shape != logits.shape:
            node.fail(f"float labels (class probabilities) must have the logits' shape {logits}, found {labels}",
                      "for class ids, declare the labels input with 'dtype: int32'")
        elif labels.dtype != logits.dtype:
            node.fail(f"labels are {labels.dtype} but logits are {logits.dtype}")
        return self.scalar(logits)

    # 4. reference: mean over rows (N, and T for sequences) of -sum_c p_c log softmax(z)_c
    def reference(self, node, xs, params):
        z, labels = xs
        logp = z - _lse(z)
        if labels.dtype.kind in "iu":
            rows = np.take_along_axis(logp, labels[..., None].astype(np.intp), axis=-1)
            return np.asarray(-rows.mean(), z.dtype)
        return np.asarray(-(labels * logp).sum(axis=-1).mean(), z.dtype)

    # 5. kernels bound: one pair for class ids, one for probabilities
    def kernel(self, node):
        ids = node.in_types[1].dtype in INT_DTYPES
        return self.name if ids else f"{self.name}_probs"

    # 7. second order. Per row, with s = softmax(z), ds = s (dz - <s, dz>) and scale = gy / rows,
    #    the VJP gx = scale (s - onehot) moves by scale ds; with probability labels p it is
    #    gx = scale (s sum(p) - p), which moves by scale (ds sum(p) + s sum(dp) - dp): float labels
    #    carry a tangent in the JVP, so their cross term belongs to the logits' rule too.
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        z, labels = xs
        dz, dp = dxs[0], (dxs[1] if labels.dtype.kind == "f" else None)
        if dz is None and dp is None:
            return [None, None], {}
        scale = float(gy) / (z.size // z.shape[-1])
        s = np.exp(z - _lse(z))
        g = np.zeros_like(z, dtype=np.float64)
        if dz is not None:
            ds = s * (dz - (s * dz).sum(axis=-1, keepdims=True))
            g += ds if labels.dtype.kind != "f" else ds * labels.sum(axis=-1, keepdims=True)
        if dp is not None:
            g += s * dp.sum(axis=-1, keepdims=True) - dp
        return [scale * g, None], {}


EPS = 1e-7  # probabilities are clipped to [EPS, 1 - EPS] so that log stays finite


class BinaryCrossEntropy(Loss):
    name = "binary_cross_entropy"
    inputs = ("logits", "labels")
    attrs = {"from_logits": Attr("bool", True, doc="false: the input is already a probability")}

    def infer(self, node, xs):
        logits, labels = xs
        expect_float(node, logits, "logits")
        if labels.shape != logits.shape:
            node.fail(f"labels must have the shape of the {'logits' if node.attrs['from_logits'] else 'probabilities'} "
                      f"{logits}, found {labels}", "one 0/1 target per output unit")
        if not labels.is_float:
            node.fail(f"labels must be float 0/1 targets, found {labels.dtype}", "declare the labels input as float32")
        return self.scalar(logits)

    # 4. reference: the mean over all elements
    def reference(self, node, xs, params):
        z, t = xs
        if node.attrs["from_logits"]:
            loss = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        else:
            p = np.clip(z, EPS, 1 - EPS)
            loss = -(t * np.log(p) + (1 - t) * np.log(1 - p))
        return np.asarray(loss.mean(), z.dtype)

    # 5. kernels bound
    def kernel(self, node):
        return self.name if node.attrs["from_logits"] else f"{self.name}_probs"

    def extra(self, node, e):
        return "" if node.attrs["from_logits"] else f", {e.lit(EPS)}"

    # 7. second order, with scale = gy / size. From logits gx = scale (sigmoid(z) - t) moves by
    #    scale (s (1 - s) dz - dt). From probabilities gx = scale ((1 - t)/(1 - p) - t/p) inside the
    #    clip range (zero outside, as in the VJP kernel) moves by
    #    scale (((1 - t)/(1 - p)^2 + t/p^2) dp - dt / (p (1 - p))).
    #    Float labels carry a tangent in the JVP, so their cross term dt belongs here too.
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        z, t = xs
        dz, dt = dxs[0], dxs[1]
        if dz is None and dt is None:
            return [None, None], {}
        scale = float(gy) / z.size
        g = np.zeros_like(z, dtype=np.float64)
        if node.attrs["from_logits"]:
            if dz is not None:
                s = np.exp(-np.logaddexp(0, -z))  # sigmoid without overflow
                g += s * (1 - s) * dz
            if dt is not None:
                g -= dt
        else:
            inside = (z >= EPS) & (z <= 1 - EPS)
            p = np.where(inside, z, 0.5)  # a safe value outside the clip range, masked below
            if dz is not None:
                g += ((1 - t) / (1 - p) ** 2 + t / p ** 2) * dz
            if dt is not None:
                g -= dt / (p * (1 - p))
            g = np.where(inside, g, 0.0)
        return [scale * g, None], {}


class MSE(Loss):
    name = "mse"
    inputs = ("pred", "target")
    attrs = {}

    def infer(self, node, xs):
        pred, target = xs
        expect_float(node, pred, "pred")
        if target.shape != pred.shape or target.dtype != pred.dtype:
            node.fail(f"target ({target.dtype} {target}) must match the prediction ({pred.dtype} {pred})",
                      "an autoencoder compares its output with its own input")
        return self.scalar(pred)

    # 4. reference: the mean over all elements; the target gets no gradient, like labels
    def reference(self, node, xs, params):
        p, t = xs
        return np.asarray(((p - t) ** 2).mean(), p.dtype)

    # 7. second order: gx = 2 gy (p - t) / size moves by 2 gy (dp - dt) / size; the target's
    #    tangent (the JVP carries one) enters through the cross term
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        p, _ = xs
        dp, dt = dxs
        if dp is None and dt is None:
            return [None, None], {}
        d = np.zeros_like(p, dtype=np.float64)
        if dp is not None:
            d += dp
        if dt is not None:
            d -= dt
        return [2 * float(gy) / p.size * d, None], {}


for _op in (SoftmaxCrossEntropy(), BinaryCrossEntropy(), MSE()):
    register(_op)
