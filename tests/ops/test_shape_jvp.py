"""Forward mode of flatten, reshape and concat: tangents move like the values; a concat input
without a tangent contributes zeros to its slice."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from _jvpcheck import check_float32, check_jvp
from _opcheck import graph, shape_text
from test_shape import concat_cases, concat_graph, reshape_cases


@settings(max_examples=10, deadline=None)
@given(case=reshape_cases())
def test_reshape_jvp(case):
    layer, shape, n, seed = case
    rng = np.random.default_rng(seed)
    check_jvp(graph(f"{{x: {shape_text(shape)}}}", layer), [rng.standard_normal((n, *shape))], rng)


@settings(max_examples=10, deadline=None)
@given(case=concat_cases())
def test_concat_jvp(case):
    shapes, axis, n, seed = case
    rng = np.random.default_rng(seed)
    check_jvp(concat_graph(shapes, axis), [rng.standard_normal((n, *s)) for s in shapes], rng)


@pytest.mark.parametrize("layer", ["flatten", "{reshape: {shape: [-1, 2]}}"])
def test_reshape_float32(layer):
    rng = np.random.default_rng(0)
    check_float32(graph("{x: [3, 4]}", layer, "float32"), graph("{x: [3, 4]}", layer),
                  [rng.standard_normal((2, 3, 4))], rng)


def test_concat_float32():
    rng = np.random.default_rng(0)
    shapes = [[2, 3], [4, 3]]
    check_float32(concat_graph(shapes, 1, "float32"), concat_graph(shapes, 1),
                  [rng.standard_normal((2, *s)) for s in shapes], rng)
