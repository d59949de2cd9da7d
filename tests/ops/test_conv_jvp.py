"""conv1d/2d/3d forward mode: JVP vs finite differences, vs the VJP (dot-product test), float32."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from _check import one_op, random_params
from _tangent_check import check_float32, check_jvp, check_linear
from test_conv import conv_cases, op_name


@settings(max_examples=10, deadline=None)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_jvp(case, seed):
    attrs, shape = case
    rng = np.random.default_rng(seed)
    g, node = one_op(op_name(shape), attrs, shape[1:], "float64")
    x, params = rng.standard_normal(shape), random_params(node, rng, "float64")
    dy, v, vp = check_jvp(g, node, [x], params, rng)
    g32, node32 = one_op(op_name(shape), attrs, shape[1:], "float32")
    check_float32(g32, node32, [x], params, v, vp, dy)


def test_tangents_add_up_and_overwrite():
    for attrs in ({"filters": 2, "kernel": 3, "pad": 1, "stride": 2, "rounding": "ceil"},
                  {"filters": 3, "kernel": 2, "bias": False}):
        g, node = one_op("conv2d", attrs, [2, 5, 5], "float64")
        rng = np.random.default_rng(0)
        check_linear(g, node, [rng.standard_normal((2, 2, 5, 5))], random_params(node, rng, "float64"), rng)
