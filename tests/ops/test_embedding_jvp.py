"""Forward mode of embedding (the table's tangent gathered at the ids; ids carry none) and
one_hot (a zero tangent)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from _jvpcheck import check_float32, check_jvp
from _opcheck import graph, shape_text
from test_embedding import cases, embedding_graph


@settings(max_examples=8, deadline=None)
@given(case=cases)
def test_embedding_jvp(case):
    n, shape, vocab, dim, seed = case
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, (n, *shape)).astype("int32")
    check_jvp(embedding_graph(shape, vocab, dim), [ids], rng, {"table": rng.standard_normal((vocab, dim))})


@settings(max_examples=4, deadline=None)
@given(case=cases)
def test_one_hot_jvp_is_zero(case):
    n, shape, classes, _, seed = case
    inputs, layer = f"{{ids: {{shape: {shape_text(shape)}, dtype: int32}}}}", f"{{one_hot: {{classes: {classes}}}}}"
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, classes, (n, *shape)).astype("int32")
    assert not check_jvp(graph(inputs, layer), [ids], rng)["dy"].any()
    assert not check_float32(graph(inputs, layer, "float32"), graph(inputs, layer), [ids], rng)["dy"].any()


def test_embedding_float32():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, (2, 3)).astype("int32")
    check_float32(embedding_graph([3], 5, 4, "float32"), embedding_graph([3], 5, 4), [ids], rng,
                  {"table": rng.standard_normal((5, 4))})
