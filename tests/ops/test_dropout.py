"""dropout: eval mode is the identity; training draws a mask from the call's seed, scales the
kept elements by 1/(1-rate), and the VJP applies the same mask."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netc.lower.emit import run_node

from _opcheck import check_forward, check_vjp, graph, op_node, shape_text

cases = st.tuples(st.integers(1, 3), st.lists(st.integers(1, 5), min_size=1, max_size=2),
                  st.sampled_from([0.0, 0.1, 0.5, 0.9]), st.integers(0, 2**32 - 1))


def dropout_graph(shape, rate, dtype="float64", name="drop"):
    return graph(f"{{x: {shape_text(shape)}}}", f"{{dropout: {{rate: {rate}, name: {name}}}}}", dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=10, deadline=None)
@given(case=cases)
def test_eval_is_the_identity(dtype, case):
    n, shape, rate, seed = case
    x = np.random.default_rng(seed).standard_normal((n, *shape)).astype(dtype)
    out = check_forward(dropout_graph(shape, rate, dtype), [x], training=False, seed=seed)
    np.testing.assert_array_equal(out["y"], x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=10, deadline=None)
@given(case=cases)
def test_training_applies_the_saved_mask(dtype, case):
    n, shape, rate, seed = case
    g = dropout_graph(shape, rate, dtype)
    x = np.random.default_rng(seed).standard_normal((n, *shape)).astype(dtype)
    out = run_node(g, "drop", [x], {}, training=True, seed=seed)
    mask = out["ws"]["mask"]
    scale = np.dtype(dtype).type(1 / (1 - rate))
    assert set(np.unique(mask)) <= {0, scale}
    np.testing.assert_array_equal(out["y"], x * mask)
    again = run_node(g, "drop", [x], {}, training=True, seed=seed)
    np.testing.assert_array_equal(again["ws"]["mask"], mask)  # one seed, one mask


@settings(max_examples=10, deadline=None)
@given(case=cases)
def test_vjp(case):
    n, shape, rate, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape))
    for training in (False, True):
        check_vjp(dropout_graph(shape, rate), [x], rng, training=training, seed=seed)


def test_mask_statistics_and_seeds():
    g = dropout_graph([100, 100], 0.3)
    x = np.ones((2, 100, 100))
    masks = [run_node(g, "drop", [x], {}, training=True, seed=s)["ws"]["mask"] for s in (1, 2)]
    for m in masks:
        assert abs((m == 0).mean() - 0.3) < 0.01
        assert abs(m.mean() - 1) < 0.02  # 1/(1-rate) keeps the expected value
    assert (masks[0] != masks[1]).any()
    # two dropout layers of one network draw different masks from the same seed
    other = run_node(dropout_graph([100, 100], 0.3, name="drop2"), "drop2", [x], {}, training=True, seed=1)
    assert (other["ws"]["mask"] != masks[0]).any()


def test_rate_zero_keeps_everything():
    g = dropout_graph([7], 0.0)
    x = np.arange(14.0).reshape(2, 7)
    out = run_node(g, op_node(g).name, [x], {}, training=True, seed=3)
    np.testing.assert_array_equal(out["y"], x)
