"""input: a tensor the user feeds; its example shape comes from the spec's `inputs:` section."""
from __future__ import annotations

from ..types import FLOAT_DTYPES, TensorType
from .base import Op, register


class Input(Op):
    piecewise_linear = True  # second order: no derivative of its own
    name = "input"
    inputs = ()
    attrs = {}

    def infer_input(self, node, float_dtype):
        dtype = node.attrs["dtype"]
        if dtype in FLOAT_DTYPES:
            dtype = float_dtype  # one float dtype per compiled network: no silent mixing
        return TensorType(dtype, ("N",) + tuple(node.attrs["shape"]))

    def label(self, a):
        return "input" if a["dtype"] in FLOAT_DTYPES else f"input {a['dtype']}"


register(Input())
