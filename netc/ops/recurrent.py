"""rnn and lstm over N x T x F sequences: stacked (`layers`), `bidirectional`, and seq2seq via state.

`return: sequence` gives N x T x H (H doubled when bidirectional), `last` the final step N x H,
and `state` the final states of every layer and direction, concatenated: N x S with
S = layers * directions * H for rnn and twice that for lstm (h, then c). A decoder takes an
encoder's state through its optional second input `state`, which is how a sequence-to-sequence
model is written.
"""
from __future__ import annotations

from ..errors import Problem
from ..types import TensorType
from .base import MAX_SIZE, Attr, Op, Param, expect_fixed, expect_float, register


class Recurrent(Op):
    inputs = ("x", "state")
    min_inputs = 1
    gates = 1  # weight blocks per cell: 1 for rnn, 4 for lstm (input, forget, cell, output)
    states = 1  # state tensors per cell: h for rnn; h and c for lstm

    # 1. attributes
    def __init__(self, name):
        self.name = name
        self.attrs = {
            "units": Attr("int", low=1, high=MAX_SIZE, doc="hidden size H"),
            "layers": Attr("int", 1, low=1, high=64),
            "bidirectional": Attr("bool", False),
            "return": Attr("choice", "sequence", choices=("sequence", "last", "state")),
        }

    def state_size(self, a):
        return a["layers"] * self.directions(a) * self.states * a["units"]

    @staticmethod
    def directions(a):
        return 2 if a["bidirectional"] else 1

    # 2. shape rule
    def infer(self, node, xs):
        x = xs[0]
        expect_float(node, x)
        if x.rank != 3:
            node.fail(f"expects a sequence N x T x features, found {x}",
                      "one_hot or embedding turns token ids into N x T x features")
        expect_fixed(node, x, (2,), "the feature axis")
        a = node.attrs
        if len(xs) > 1:
            s = xs[1]
            need = self.state_size(a)
            if s.rank != 2 or s.shape[1] != need:
                node.fail(f"the initial state is {s}, but {a['layers']} layer(s) x {self.directions(a)} "
                          f"direction(s) x {self.states} state(s) x {a['units']} units needs N x {need}",
                          "feed the 'return: state' output of an encoder with the same units and layers")
        h = a["units"] * self.directions(a)
        if a["return"] == "sequence":
            return TensorType(x.dtype, ("N", x.shape[1], h))
        if a["return"] == "last":
            return TensorType(x.dtype, ("N", h))
        return TensorType(x.dtype, ("N", self.state_size(a)))

    # 3. parameters: per layer and direction, input weights, recurrent weights and a bias
    def params(self, node, xs):
        a = node.attrs
        H, G = a["units"], self.gates * a["units"]
        out = {}
        for prefix, fan_in in self.cells(a, xs[0].shape[2]):
            out[prefix + "wx"] = Param((fan_in, G), "glorot_uniform", fan_in=fan_in, fan_out=G)
            out[prefix + "wh"] = Param((H, G), "orthogonal", fan_in=H, fan_out=G)
            out[prefix + "b"] = self.bias_param(a)
            out.update(self.extra_params(prefix, a))
        return out

    def cells(self, a, features):
        """(parameter name prefix, input size) for every layer and direction."""
        many = a["layers"] > 1 or a["bidirectional"]
        out = []
        for layer in range(a["layers"]):
            fan_in = features if layer == 0 else a["units"] * self.directions(a)
            for d in range(self.directions(a)):
                prefix = (f"l{layer}_" if many else "") + ("rev_" if d else ("fwd_" if a["bidirectional"] else ""))
                out.append((prefix, fan_in))
        return out

    def bias_param(self, a):
        return Param((self.gates * a["units"],), "zeros")

    def extra_params(self, prefix, a):
        return {}

    # 6. multiply-adds per time step
    def macs(self, node, xs, y):
        a = node.attrs
        return sum(self.gates * a["units"] * (fan_in + a["units"]) for _, fan_in in self.cells(a, xs[0].shape[2]))

    def label(self, a):
        text = f"{self.name} {a['units']}"
        if a["layers"] > 1:
            text += f" x{a['layers']}"
        if a["bidirectional"]:
            text += " bidir"
        if a.get("peephole"):
            text += " peephole"
        return text


class RNN(Recurrent):
    gates = 1
    states = 1

    def __init__(self):
        super().__init__("rnn")
        self.attrs["activation"] = Attr("choice", "tanh", choices=("tanh", "relu"))


class LSTM(Recurrent):
    """Gates in the order input, forget, cell, output; peepholes connect c to i, f (c_{t-1}) and o (c_t)."""

    gates = 4
    states = 2

    def __init__(self):
        super().__init__("lstm")
        self.attrs["peephole"] = Attr("bool", False)
        self.attrs["forget_bias"] = Attr("float", 1.0, doc="initial forget-gate bias: remember by default")

    def bias_param(self, a):
        return Param((4 * a["units"],), "forget_bias", value=a["forget_bias"])

    def extra_params(self, prefix, a):
        if not a["peephole"]:
            return {}
        return {prefix + "peep": Param((3, a["units"]), "zeros")}

    def check_attrs(self, a):
        if a["forget_bias"] < -100 or a["forget_bias"] > 100:
            raise Problem("forget_bias must lie between -100 and 100")


register(RNN())
register(LSTM())
