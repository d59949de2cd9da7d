"""Activations: kernels vs the NumPy reference (float32 and float64), VJPs vs finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netc.lower.emit import run_node

from _opcheck import away_from_zero, check_forward, check_vjp, graph, op_node, shape_text

ELEMENTWISE = ["identity", "sigmoid", "tanh", "relu", "{leaky_relu: {slope: 0.1}}", "{elu: {alpha: 1.5}}",
               "threshold"]
example_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=2)  # one example; N is drawn apart
seeds = st.integers(0, 2**32 - 1)


def data(rng, shape, scale=3.0):
    """Values away from the kinks at 0, a few of them large (stability of sigmoid, tanh, elu)."""
    x = away_from_zero(rng.standard_normal(shape) * scale)
    big = rng.random(shape) < 0.1
    return np.where(big, np.sign(x) * 60.0, x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layer", ELEMENTWISE)
@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 3), shape=example_shapes, seed=seeds)
def test_elementwise_forward(layer, dtype, n, shape, seed):
    g = graph(f"{{x: {shape_text(shape)}}}", layer, dtype)
    x = data(np.random.default_rng(seed), (n, *shape)).astype(dtype)
    out = check_forward(g, [x])
    assert np.isfinite(out["y"]).all()


@pytest.mark.parametrize("layer", ELEMENTWISE)
@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 3), shape=example_shapes, seed=seeds)
def test_elementwise_vjp(layer, n, shape, seed):
    g = graph(f"{{x: {shape_text(shape)}}}", layer)
    rng = np.random.default_rng(seed)
    out = check_vjp(g, [data(rng, (n, *shape), scale=2.0)], rng)
    if op_node(g).op.name == "threshold":
        assert not out["gx"][0].any()  # a step function passes no gradient


@st.composite
def softmax_cases(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    rank = len(shape) + 1
    axis = draw(st.integers(1, rank - 1))
    if draw(st.booleans()):
        axis -= rank  # the same axis, counted from the end
    return draw(st.integers(1, 3)), shape, axis, draw(seeds)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@settings(max_examples=12, deadline=None)
@given(case=softmax_cases())
def test_softmax_forward(op, dtype, case):
    n, shape, axis, seed = case
    g = graph(f"{{x: {shape_text(shape)}}}", f"{{{op}: {{axis: {axis}}}}}", dtype)
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, *shape)) * 5).astype(dtype)
    check_forward(g, [x])
    # stable: a shift by 1000 would overflow exp without subtracting the max
    out = check_forward(g, [x + dtype_type(dtype)(1000)])
    assert np.isfinite(out["y"]).all()


def dtype_type(dtype):
    return np.dtype(dtype).type


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@settings(max_examples=12, deadline=None)
@given(case=softmax_cases())
def test_softmax_vjp(op, case):
    n, shape, axis, seed = case
    g = graph(f"{{x: {shape_text(shape)}}}", f"{{{op}: {{axis: {axis}}}}}")
    rng = np.random.default_rng(seed)
    check_vjp(g, [rng.standard_normal((n, *shape)) * 2], rng)


@st.composite
def maxout_cases(draw):
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    axis = draw(st.integers(1, len(shape)))
    pieces = draw(st.integers(1, 3))
    shape[axis - 1] *= pieces
    return draw(st.integers(1, 3)), shape, axis, pieces, draw(seeds)


def distinct(rng, shape):
    """Values at least 1/size apart: no ties, so a step of 1e-6 never changes the winning piece."""
    size = int(np.prod(shape))
    return rng.permutation(size).reshape(shape) / size - 0.5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=12, deadline=None)
@given(case=maxout_cases())
def test_maxout_forward(dtype, case):
    n, shape, axis, pieces, seed = case
    g = graph(f"{{x: {shape_text(shape)}}}", f"{{maxout: {{pieces: {pieces}, axis: {axis}}}}}", dtype)
    check_forward(g, [distinct(np.random.default_rng(seed), (n, *shape)).astype(dtype)])


@settings(max_examples=12, deadline=None)
@given(case=maxout_cases())
def test_maxout_vjp(case):
    n, shape, axis, pieces, seed = case
    g = graph(f"{{x: {shape_text(shape)}}}", f"{{maxout: {{pieces: {pieces}, axis: {axis}}}}}")
    rng = np.random.default_rng(seed)
    out = check_vjp(g, [distinct(rng, (n, *shape))], rng)
    assert out["ws"]["argmax"].max() < pieces


def test_maxout_ties_go_to_the_first_piece():
    g = graph("{x: [4]}", "{maxout: {pieces: 2, axis: 1}}")
    out = run_node(g, op_node(g).name, [np.array([[1.0, 1.0, 3.0, -2.0]])], {}, gy=np.array([[5.0, 7.0]]))
    np.testing.assert_array_equal(out["ws"]["argmax"], [[0, 0]])
    np.testing.assert_array_equal(out["gx"][0], [[5.0, 0.0, 7.0, 0.0]])


def test_threshold_at_zero_is_one():
    g = graph("{x: [3]}", "threshold")
    out = run_node(g, op_node(g).name, [np.array([[-1e-300, 0.0, 1e-300]])], {}, gy=np.ones((1, 3)))
    np.testing.assert_array_equal(out["y"], [[0.0, 1.0, 1.0]])
    assert not out["gx"][0].any()
