"""Losses: softmax cross-entropy, binary cross-entropy, mean squared error. Each gives a scalar,
the mean over the batch (and the time steps, for sequences); the spec's `weight` scales it in
the total."""
from __future__ import annotations

from ..types import INT_DTYPES, TensorType
from .base import Attr, Op, expect_float, register


class Loss(Op):
    is_loss = True

    def scalar(self, x):
        return TensorType(x.dtype, ())


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


for _op in (SoftmaxCrossEntropy(), BinaryCrossEntropy(), MSE()):
    register(_op)
