"""Max/avg and global pooling forward mode: JVP vs finite differences, vs the VJP, float32."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from _check import one_op
from _tangent_check import check_float32, check_jvp, check_linear
from netc.lower.emit import run_node
from test_pool import distinct, pool_cases


@settings(max_examples=10, deadline=None)
@given(pool_cases(), st.integers(0, 2**32 - 1))
def test_jvp(case, seed):
    op, attrs, shape = case
    rng = np.random.default_rng(seed)
    g, node = one_op(op, attrs, shape[1:], "float64")
    x = distinct(rng, shape)  # no max-pool ties, even after a step of 1e-6
    dy, v, vp = check_jvp(g, node, [x], {}, rng)
    g32, node32 = one_op(op, attrs, shape[1:], "float32")
    check_float32(g32, node32, [x], {}, v, vp, dy, rtol=1e-5)


@settings(max_examples=6, deadline=None)
@given(st.sampled_from(("max", "avg")), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_global_pool_jvp(kind, spatial, seed):
    rng = np.random.default_rng(seed)
    shape = [int(n) for n in rng.integers(1, 4, size=2 + spatial)]
    op = f"global{kind}pool{spatial}d"
    g, node = one_op(op, {}, shape[1:], "float64")
    x = distinct(rng, shape)
    dy, v, vp = check_jvp(g, node, [x], {}, rng)
    g32, node32 = one_op(op, {}, shape[1:], "float32")
    check_float32(g32, node32, [x], {}, v, vp, dy, rtol=1e-5)


def test_window_past_the_padded_input():
    """The avgpool1d example of test_pool: the JVP divides dx as the forward divides x."""
    dx = np.array([[[1.0, 2.0, 3.0, 2.0]]])
    for include, want in ((True, [(0 + 1 + 2) / 3, (2 + 3 + 2) / 3, (2 + 0) / 2]),
                          (False, [(1 + 2) / 2, (2 + 3 + 2) / 3, 2 / 1])):
        g, node = one_op("avgpool1d", {"kernel": 3, "stride": 2, "pad": 1, "rounding": "ceil",
                                       "count_include_pad": include}, [1, 4], "float64")
        dy = run_node(g, node.name, [np.zeros((1, 1, 4))], {}, dxs=[dx])["dy"]
        np.testing.assert_allclose(dy[0, 0], want)


def test_tangents_add_up_and_overwrite():
    rng = np.random.default_rng(0)
    for op, attrs in (("maxpool2d", {"kernel": 3, "stride": 2, "pad": 1, "rounding": "ceil", "dilation": 2}),
                      ("avgpool2d", {"kernel": 3, "stride": 2, "pad": 1, "rounding": "ceil"}),
                      ("globalmaxpool2d", {}), ("globalavgpool2d", {})):
        g, node = one_op(op, attrs, [2, 5, 5], "float64")
        check_linear(g, node, [distinct(rng, (2, 2, 5, 5))], {}, rng)
