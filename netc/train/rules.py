"""The single-neuron learning rules of the course, as gradient steps on the spec's squared error.

Delta rule (linear neuron, E = 1/2 sum_n (t - y)^2):   w <- w + lr sum_n (t^n - y^n) x^n
Perceptron rule (binary threshold neuron):              w <- w + lr sum_n (t^n - y^n) x^n
                                                        with y the thresholded 0/1 output.

Both run as plain SGD (no momentum, no weight decay) on the spec's `mse` loss. That loss is a mean,
mean_n,i (y - t)^2, whose gradient is 2 (y - t) / (N * U) for N examples of U outputs, so the
learning rate is scaled by N U / (2 weight) and the step is exactly the rule above, summed over
the batch (the course's batch delta rule; batch 1 is the online rule).

The perceptron rule needs one more thing: the threshold's true derivative is zero, so gradient
descent would never move. Under the perceptron optimizer only, the network is compiled from a
sibling graph whose threshold nodes pass the gradient straight through (d y / d z taken as 1),
which turns the gradient step into Rosenblatt's update. The threshold op itself is untouched:
every other optimizer (and forward mode) sees its true derivative, zero.
"""
from __future__ import annotations

from ..ops.activations import REFERENCE, Elementwise
from .graphs import variant

RULES = ("perceptron", "delta")


class StraightThroughThreshold(Elementwise):
    """y = 1 if x >= 0 else 0, with the VJP of the identity: the perceptron rule's threshold."""

    def __init__(self):
        super().__init__("threshold_straight_through", doc="threshold whose VJP is the identity (perceptron rule)")

    def reference(self, node, xs, params):
        return REFERENCE["threshold"](xs[0], node.attrs)

    def emit_forward(self, node, e):
        return [f"threshold_fwd({e.x[0]}, {e.y})"]

    def emit_vjp(self, node, e):
        return [f"identity_vjp_x({e.gy}, {e.gx[0]})"] if e.gx[0] else []


STRAIGHT_THROUGH = StraightThroughThreshold()


def prepare(graph, rule):
    """(graph to compile, lr factor function (N, T) -> float) for the perceptron or delta rule."""
    mse = [n for n in graph.losses if graph.node(n).op.name == "mse"]
    if len(graph.losses) != 1 or not mse:
        found = ", ".join(graph.node(n).op.name for n in graph.losses) or "none"
        raise ValueError(f"the {rule} rule is gradient descent on squared error: {graph.name} needs one 'mse' "
                         f"loss, found {found}")
    loss = graph.node(mse[0])
    pred = graph.node(loss.inputs[0]).type
    if rule == "perceptron":
        thresholds = {n: STRAIGHT_THROUGH for n in graph.order if graph.node(n).op.name == "threshold"}
        if not thresholds:
            raise ValueError(f"the perceptron rule trains a binary threshold neuron: {graph.name} has no "
                             f"'threshold' layer (for a linear neuron use the delta rule)")
        graph = variant(graph, ops=thresholds)

    def lr_factor(N, T):
        return N * pred.size_per_example(T or 1) / (2.0 * loss.weight)

    return graph, lr_factor


def reference_step(w, b, x, t, lr, threshold):
    """The rule written out in NumPy, for the tests: one step on a batch (x: N x D, t: N x 1)."""
    z = x @ w + b
    y = (z >= 0).astype(z.dtype) if threshold else z
    err = t - y
    return w + lr * x.T @ err, b + lr * err.sum(0)

