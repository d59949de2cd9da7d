"""add and mul with netc's broadcasting (from the left, after N; size-1 axes broadcast):
kernels vs the NumPy reference, and VJPs (sums over the broadcast axes) vs finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netc

from _opcheck import check_forward, check_vjp, graph, shape_text


@st.composite
def operand_shapes(draw):
    """Two example shapes that broadcast: each axis of y is full or 1 in each operand, and an
    operand may drop trailing axes of size 1 (a lower rank gets trailing 1s)."""
    full = draw(st.lists(st.integers(2, 3), min_size=0, max_size=3))
    out = []
    for _ in range(2):
        shape = [1 if draw(st.booleans()) else d for d in full]
        while shape and shape[-1] == 1 and draw(st.booleans()):
            shape.pop()
        out.append(shape)
    return out[0], out[1], draw(st.integers(1, 3)), draw(st.integers(0, 2**32 - 1))


def arith_graph(op, a, b, dtype="float64"):
    return graph(f"{{a: {shape_text(a)}, b: {shape_text(b)}}}", f"{{{op}: {{in: [a, b]}}}}", dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ["add", "mul"])
@settings(max_examples=15, deadline=None)
@given(case=operand_shapes())
def test_forward(op, dtype, case):
    a, b, n, seed = case
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((n, *s)).astype(dtype) for s in (a, b)]
    check_forward(arith_graph(op, a, b, dtype), xs)


@pytest.mark.parametrize("op", ["add", "mul"])
@settings(max_examples=15, deadline=None)
@given(case=operand_shapes())
def test_vjp(op, case):
    a, b, n, seed = case
    rng = np.random.default_rng(seed)
    check_vjp(arith_graph(op, a, b), [rng.standard_normal((n, *s)) for s in (a, b)], rng)


def test_squeeze_excitation_scaling():
    """N x C scales N x C x H x W channel by channel; its gradient sums over H and W."""
    rng = np.random.default_rng(1)
    x, s = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3))
    g = arith_graph("mul", [3, 4, 5], [3])
    out = check_vjp(g, [x, s], rng)
    np.testing.assert_allclose(out["y"], x * s[:, :, None, None])


def test_mul_of_a_tensor_with_itself():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3))
    g = graph("{a: [3]}", "{mul: {in: [a, a]}}")
    check_vjp(g, [x, x], rng)


def test_too_many_alternating_broadcast_axes_is_a_located_error():
    spec = "netc: 1\ninputs: {a: [1, 2, 1, 2], b: [2, 1, 2, 1]}\nlayers: [{add: {in: [a, b]}}]\n"
    with pytest.raises(netc.SpecError, match="alternate"):
        netc.parse(spec)
