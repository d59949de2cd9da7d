"""flatten, reshape, concat: kernels vs the NumPy reference, VJPs vs finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _opcheck import check_forward, check_vjp, graph, shape_text

seeds = st.integers(0, 2**32 - 1)


@st.composite
def reshape_cases(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    size = int(np.prod(shape))
    first = draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0]))
    new = [first, size // first] if draw(st.booleans()) else [first, -1]
    layer = draw(st.sampled_from(["flatten", f"{{reshape: {{shape: {shape_text(new)}}}}}"]))
    return layer, shape, draw(st.integers(1, 3)), draw(seeds)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=12, deadline=None)
@given(case=reshape_cases())
def test_reshape_forward(dtype, case):
    layer, shape, n, seed = case
    g = graph(f"{{x: {shape_text(shape)}}}", layer, dtype)
    check_forward(g, [np.random.default_rng(seed).standard_normal((n, *shape)).astype(dtype)])


@settings(max_examples=12, deadline=None)
@given(case=reshape_cases())
def test_reshape_vjp(case):
    layer, shape, n, seed = case
    rng = np.random.default_rng(seed)
    check_vjp(graph(f"{{x: {shape_text(shape)}}}", layer), [rng.standard_normal((n, *shape))], rng)


@st.composite
def concat_cases(draw):
    """1-3 inputs of one rank that differ only along the concat axis."""
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    axis = draw(st.integers(1, len(shape)))
    shapes = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(shape)
        s[axis - 1] = draw(st.integers(1, 3))
        shapes.append(s)
    if draw(st.booleans()):
        axis -= len(shape) + 1  # the same axis, counted from the end
    return shapes, axis, draw(st.integers(1, 3)), draw(seeds)


def concat_graph(shapes, axis, dtype="float64"):
    names = [f"x{i}" for i in range(len(shapes))]
    inputs = "{" + ", ".join(f"{k}: {shape_text(s)}" for k, s in zip(names, shapes)) + "}"
    return graph(inputs, f"{{concat: {{in: [{', '.join(names)}], axis: {axis}}}}}", dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=12, deadline=None)
@given(case=concat_cases())
def test_concat_forward(dtype, case):
    shapes, axis, n, seed = case
    rng = np.random.default_rng(seed)
    check_forward(concat_graph(shapes, axis, dtype), [rng.standard_normal((n, *s)).astype(dtype) for s in shapes])


@settings(max_examples=12, deadline=None)
@given(case=concat_cases())
def test_concat_vjp(case):
    shapes, axis, n, seed = case
    rng = np.random.default_rng(seed)
    check_vjp(concat_graph(shapes, axis), [rng.standard_normal((n, *s)) for s in shapes], rng)


def test_concat_of_one_tensor_twice():
    """[x, x]: each slot gets its own slice of the gradient."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3))
    g = graph("{x: [3]}", "{concat: {in: [x, x], axis: 1}}")
    out = check_vjp(g, [x, x], rng)
    np.testing.assert_array_equal(out["y"], np.concatenate([x, x], axis=1))
