"""batchnorm forward mode, training and eval: JVP vs finite differences, vs the VJP, float32."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from _check import one_op, random_params
from _tangent_check import check_float32, check_jvp, check_linear
from test_batchnorm import shapes


@settings(max_examples=10, deadline=None)
@given(shapes, st.booleans(), st.integers(0, 2**32 - 1))
def test_jvp(shape, training, seed):
    rng = np.random.default_rng(seed)
    g, node = one_op("batchnorm", {"eps": 1e-3}, shape[1:], "float64")
    x, params = rng.standard_normal(shape) * 2 + 0.5, random_params(node, rng, "float64")
    dy, v, vp = check_jvp(g, node, [x], params, rng, training=training)
    assert set(vp) == {"gamma", "beta"}  # the running statistics carry no tangent
    g32, node32 = one_op("batchnorm", {"eps": 1e-3}, shape[1:], "float32")
    check_float32(g32, node32, [x], params, v, vp, dy, training=training)


def test_tangents_add_up_and_overwrite():
    rng = np.random.default_rng(0)
    g, node = one_op("batchnorm", {}, [3, 4], "float64")
    x, params = rng.standard_normal((5, 3, 4)), random_params(node, rng, "float64")
    for training in (False, True):
        check_linear(g, node, [x], params, rng, training=training)
