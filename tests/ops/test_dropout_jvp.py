"""Forward mode of dropout: in training the tangent goes through the forward pass's saved mask,
in eval it is the identity."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from netc.lower.emit import run_node

from _jvpcheck import check_float32, check_jvp
from test_dropout import cases, dropout_graph


@settings(max_examples=8, deadline=None)
@given(case=cases)
def test_jvp(case):
    n, shape, rate, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape))
    for training in (False, True):
        check_jvp(dropout_graph(shape, rate), [x], rng, training=training, seed=seed)
    d = rng.standard_normal(x.shape)
    g = dropout_graph(shape, rate)
    np.testing.assert_array_equal(run_node(g, "drop", [x], {}, dxs=[d], training=False)["dy"], d)
    out = run_node(g, "drop", [x], {}, dxs=[d], training=True, seed=seed)
    np.testing.assert_array_equal(out["dy"], d * out["ws"]["mask"])


@pytest.mark.parametrize("training", [False, True])
def test_float32(training):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4))
    check_float32(dropout_graph([3, 4], 0.5, "float32"), dropout_graph([3, 4], 0.5), [x], rng,
                  training=training, seed=7)
