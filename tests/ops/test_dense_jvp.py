"""Forward mode of dense: dy = dx W + x dW + db, on N x F and on N x T x F (every step);
JVPs vs finite differences, vs the VJPs, and in float32."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _jvpcheck import check_float32, check_jvp
from _opcheck import graph, shape_text

cases = st.tuples(st.integers(1, 3), st.lists(st.integers(1, 4), min_size=1, max_size=2), st.integers(1, 4),
                  st.booleans(), st.integers(0, 2**32 - 1))


def dense_case(case, dtype="float64"):
    n, shape, units, bias, seed = case
    rng = np.random.default_rng(seed)
    g = graph(f"{{x: {shape_text(shape)}}}", f"{{dense: {{units: {units}, bias: {str(bias).lower()}}}}}", dtype)
    params = {"weight": rng.standard_normal((shape[-1], units))}
    if bias:
        params["bias"] = rng.standard_normal(units)
    return g, [rng.standard_normal((n, *shape))], params, rng


@settings(max_examples=10, deadline=None)
@given(case=cases)
def test_jvp(case):
    g, xs, params, rng = dense_case(case)
    check_jvp(g, xs, rng, params)


@pytest.mark.parametrize("bias", [True, False])
def test_float32(bias):
    case = (3, [2, 5], 4, bias, 0)
    g, xs, params, rng = dense_case(case)
    check_float32(dense_case(case, "float32")[0], g, xs, rng, params)
