"""Losses: kernels vs the NumPy reference (float32, float64), VJPs vs finite differences (labels
get no gradient), and stability for large logits."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netc.lower.emit import run_node

from _opcheck import check_forward, check_vjp, graph, op_node, shape_text

# (N, T or None, classes, seed): logits N x C, or N x T x C for sequences (mean over N and T)
cases = st.tuples(st.integers(1, 3), st.one_of(st.none(), st.integers(1, 3)), st.integers(1, 4),
                  st.integers(0, 2**32 - 1))
KINDS = ["xent_ids", "xent_probs", "bce_logits", "bce_probs", "mse"]


def loss_case(kind, case, dtype="float64", scale=3.0):
    """The graph and its inputs [prediction, labels] for one drawn case."""
    n, t, c, seed = case
    rng = np.random.default_rng(seed)
    rows = [t] if t else []
    shape = (n, *rows, c)
    z = rng.standard_normal(shape) * scale
    probs = rng.dirichlet(np.ones(c), size=shape[:-1])
    full = shape_text(rows + [c])
    inputs = f"{{z: {full}, p: {full}, ids: {{shape: {shape_text(rows)}, dtype: int32}}}}"
    if kind == "xent_ids":
        layer, xs = "{softmax_cross_entropy: {in: [z, ids]}}", [z, rng.integers(0, c, shape[:-1]).astype("int32")]
    elif kind == "xent_probs":
        layer, xs = "{softmax_cross_entropy: {in: [z, p]}}", [z, probs]
    elif kind == "bce_logits":
        layer, xs = "{binary_cross_entropy: {in: [z, p]}}", [z, rng.random(shape)]
    elif kind == "bce_probs":  # probabilities inside the clip range, so finite differences see no clip
        layer, xs = "{binary_cross_entropy: {in: [z, p], from_logits: false}}", [rng.uniform(0.02, 0.98, shape),
                                                                                 rng.random(shape)]
    else:
        layer, xs = "{mse: {in: [z, p]}}", [z, rng.standard_normal(shape)]
    xs = [x.astype(dtype) if x.dtype.kind == "f" else x for x in xs]
    return graph(inputs, layer, dtype), xs, rng


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=12, deadline=None)
@given(case=cases)
def test_forward(kind, dtype, case):
    g, xs, _ = loss_case(kind, case, dtype)
    out = check_forward(g, xs)
    assert out["y"].shape == ()


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=12, deadline=None)
@given(case=cases)
def test_vjp(kind, case):
    g, xs, rng = loss_case(kind, case)
    out = check_vjp(g, xs, rng, need_gx=[True, False])
    assert out["gx"][1] is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["xent_ids", "xent_probs", "bce_logits"])
def test_large_logits_stay_finite(kind, dtype):
    g, xs, _ = loss_case(kind, (2, 3, 4, 0), dtype, scale=1000.0)
    out = check_forward(g, xs)
    grad = run_node(g, op_node(g).name, xs, {}, gy=np.array(1.0), need_gx=[True, False])["gx"][0]
    assert np.isfinite(out["y"]) and np.isfinite(grad).all()


def test_bce_probabilities_are_clipped():
    """p = 0 or 1 gives a finite loss (log of eps, not of 0), and the clip passes no gradient."""
    g, _, _ = loss_case("bce_probs", (1, None, 3, 0))
    p, t = np.array([[0.0, 1.0, 0.5]]), np.array([[1.0, 0.0, 1.0]])
    out = check_forward(g, [p, t])
    assert np.isfinite(out["y"])
    grad = run_node(g, op_node(g).name, [p, t], {}, gy=np.array(1.0), need_gx=[True, False])["gx"][0]
    np.testing.assert_allclose(grad, [[0.0, 0.0, (0.5 - 1) / 0.25 / 3]])


def test_gradient_scales_with_the_loss_weight():
    g, xs, _ = loss_case("xent_ids", (3, None, 4, 5))
    name = op_node(g).name
    g1 = run_node(g, name, xs, {}, gy=np.array(1.0), need_gx=[True, False])["gx"][0]
    g3 = run_node(g, name, xs, {}, gy=np.array(0.25), need_gx=[True, False])["gx"][0]
    np.testing.assert_allclose(g3, 0.25 * g1)
    np.testing.assert_allclose(g1.sum(axis=-1), 0, atol=1e-15)  # softmax - onehot sums to 0 per row
