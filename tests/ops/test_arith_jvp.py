"""Forward mode of add and mul with broadcasting: a broadcast operand's tangent is broadcast like
its value; JVPs vs finite differences, vs the VJPs, and in float32."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from netc.lower.emit import run_node

from _jvpcheck import check_float32, check_jvp
from _opcheck import graph, op_node
from test_arith import arith_graph, operand_shapes


@pytest.mark.parametrize("op", ["add", "mul"])
@settings(max_examples=10, deadline=None)
@given(case=operand_shapes())
def test_jvp(op, case):
    a, b, n, seed = case
    rng = np.random.default_rng(seed)
    check_jvp(arith_graph(op, a, b), [rng.standard_normal((n, *s)) for s in (a, b)], rng)


@pytest.mark.parametrize("op", ["add", "mul"])
def test_squeeze_excitation_and_float32(op):
    """N x C against N x C x H x W, in float64 and in float32."""
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3))]
    check_jvp(arith_graph(op, [3, 4, 5], [3]), xs, rng)
    check_float32(arith_graph(op, [3, 4, 5], [3], "float32"), arith_graph(op, [3, 4, 5], [3]), xs, rng)


def test_mul_of_a_tensor_with_itself():
    """[x, x]: two slots, two tangents (d(x*x) = 2 x dx when they are equal)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3))
    g = graph("{a: [3]}", "{mul: {in: [a, a]}}")
    check_jvp(g, [x, x], rng)
    d = rng.standard_normal((2, 3))
    np.testing.assert_allclose(run_node(g, op_node(g).name, [x, x], {}, dxs=[d, d])["dy"], 2 * x * d)
