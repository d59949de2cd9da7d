"""Forward mode of the activations, softmax, log-softmax and maxout: JVPs vs finite differences,
vs the VJPs (dot-product test), and in float32."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _jvpcheck import check_float32, check_jvp
from _opcheck import graph, shape_text
from test_activations import ELEMENTWISE, data, distinct, maxout_cases, softmax_cases

seeds = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("layer", ELEMENTWISE)
@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 3), shape=st.lists(st.integers(1, 4), min_size=1, max_size=2), seed=seeds)
def test_elementwise_jvp(layer, n, shape, seed):
    rng = np.random.default_rng(seed)
    x = data(rng, (n, *shape), scale=2.0)
    out = check_jvp(graph(f"{{x: {shape_text(shape)}}}", layer), [x], rng)
    if layer == "threshold":
        assert not out["dy"].any()  # a step function passes no tangent


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@settings(max_examples=8, deadline=None)
@given(case=softmax_cases())
def test_softmax_jvp(op, case):
    n, shape, axis, seed = case
    rng = np.random.default_rng(seed)
    check_jvp(graph(f"{{x: {shape_text(shape)}}}", f"{{{op}: {{axis: {axis}}}}}"),
              [rng.standard_normal((n, *shape)) * 2], rng)


@settings(max_examples=8, deadline=None)
@given(case=maxout_cases())
def test_maxout_jvp(case):
    n, shape, axis, pieces, seed = case
    rng = np.random.default_rng(seed)
    layer = f"{{maxout: {{pieces: {pieces}, axis: {axis}}}}}"
    check_jvp(graph(f"{{x: {shape_text(shape)}}}", layer), [distinct(rng, (n, *shape))], rng)


@pytest.mark.parametrize("layer", ELEMENTWISE + ["{softmax: {axis: 1}}", "{log_softmax: {axis: -1}}",
                                                 "{maxout: {pieces: 2, axis: 2}}"])
def test_float32(layer):
    rng = np.random.default_rng(0)
    inputs = "{x: [3, 4]}"
    x = distinct(rng, (2, 3, 4)) * 8 if "maxout" in layer else data(rng, (2, 3, 4), scale=2.0)
    check_float32(graph(inputs, layer, "float32"), graph(inputs, layer), [x], rng)
