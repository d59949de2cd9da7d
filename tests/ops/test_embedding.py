"""embedding and one_hot: kernels vs the NumPy reference; the embedding table's gradient is a
scatter-add (repeated ids add up) checked against finite differences; ids get no gradient."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netc.kernels.embedding import one_hot_fwd
from netc.lower.emit import run_node

from _opcheck import check_forward, check_vjp, graph, op_node, shape_text

cases = st.tuples(st.integers(1, 3), st.lists(st.integers(1, 4), min_size=0, max_size=2),
                  st.integers(1, 5), st.integers(1, 3), st.integers(0, 2**32 - 1))


def embedding_graph(shape, vocab, dim, dtype="float64"):
    return graph(f"{{ids: {{shape: {shape_text(shape)}, dtype: int32}}}}",
                 f"{{embedding: {{vocab: {vocab}, dim: {dim}}}}}", dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=12, deadline=None)
@given(case=cases)
def test_embedding_forward(dtype, case):
    n, shape, vocab, dim, seed = case
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, (n, *shape)).astype("int32")
    table = rng.standard_normal((vocab, dim)).astype(dtype)
    check_forward(embedding_graph(shape, vocab, dim, dtype), [ids], {"table": table})


@settings(max_examples=12, deadline=None)
@given(case=cases)
def test_embedding_vjp(case):
    n, shape, vocab, dim, seed = case
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, (n, *shape)).astype("int32")
    g = embedding_graph(shape, vocab, dim)
    out = check_vjp(g, [ids], rng, {"table": rng.standard_normal((vocab, dim))})
    assert out["gx"] == [None]


def test_repeated_ids_add_up():
    g = embedding_graph([3], 4, 2)
    ids = np.array([[1, 1, 3]], "int32")
    gy = np.arange(6.0).reshape(1, 3, 2)
    out = run_node(g, op_node(g).name, [ids], {"table": np.zeros((4, 2))}, gy=gy)
    np.testing.assert_array_equal(out["gp"]["table"], [[0, 0], [0 + 2, 1 + 3], [0, 0], [4, 5]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=12, deadline=None)
@given(case=cases)
def test_one_hot(dtype, case):
    n, shape, classes, _, seed = case
    g = graph(f"{{ids: {{shape: {shape_text(shape)}, dtype: int32}}}}", f"{{one_hot: {{classes: {classes}}}}}", dtype)
    ids = np.random.default_rng(seed).integers(0, classes, (n, *shape)).astype("int32")
    out = check_forward(g, [ids])
    y = np.full(out["y"].shape, 7, dtype)  # a reused buffer holds old values: the kernel zeroes it
    one_hot_fwd(ids, y)
    np.testing.assert_array_equal(y, out["y"])
    assert run_node(g, op_node(g).name, [ids], {}, gy=np.ones_like(y))["gx"] == [None]
