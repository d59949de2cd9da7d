"""rnn and lstm forward mode (layers, directions, return modes, state input, peepholes): JVP vs
finite differences, vs the VJP (dot-product test), float32."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from _tangent_check import check_float32, check_jvp, check_linear
from test_recurrent import build, configs


@settings(max_examples=10, deadline=None)
@given(c=configs())
def test_jvp(c):
    g, name, node, xs, params = build(c, "float64")
    rng = np.random.default_rng(c["seed"] + 1)
    dy, v, vp = check_jvp(g, node, xs, params, rng)
    g32, _, node32, _, _ = build(c, "float32")
    check_float32(g32, node32, xs, params, v, vp, dy)


def test_tangents_add_up_and_overwrite():
    rng = np.random.default_rng(0)
    for c in ({"op": "lstm", "units": 2, "layers": 2, "bidirectional": True, "return": "state", "state": True,
               "peephole": True, "N": 2, "T": 3, "F": 2, "seed": 5},
              {"op": "rnn", "units": 2, "layers": 2, "bidirectional": False, "return": "sequence", "state": False,
               "activation": "tanh", "N": 2, "T": 3, "F": 2, "seed": 6}):
        g, name, node, xs, params = build(c, "float64")
        check_linear(g, node, xs, params, rng)
