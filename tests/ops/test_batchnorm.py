"""batchnorm in training and eval mode: kernels vs reference and running statistics, VJP, torch."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _check import check_vjp, one_op, random_params
from netc.lower.emit import run_node

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).flatmap(
    lambda spatial: st.tuples(st.integers(2, 4), st.integers(1, 3)).map(lambda nc: list(nc) + spatial))


@settings(max_examples=15, deadline=None)
@given(shapes, st.booleans(), st.integers(0, 2**32 - 1))
def test_forward_matches_reference(shape, training, seed):
    rng = np.random.default_rng(seed)
    for dtype, tol in (("float32", 2e-5), ("float64", 1e-12)):
        g, node = one_op("batchnorm", {"momentum": 0.2, "eps": 1e-3}, shape[1:], dtype)
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        params = random_params(node, rng, dtype)
        before = {k: p.astype("float64") for k, p in params.items()}
        out = run_node(g, node.name, [x], params, training=training)
        ref = node.op.reference(node, [x.astype("float64")], before, training=training)
        assert out["y"].dtype == dtype
        np.testing.assert_allclose(out["y"], ref, rtol=tol, atol=tol)
        axes = (0,) + tuple(range(2, len(shape)))
        if training:  # running = (1 - m) running + m batch, with the unbiased variance
            m = x.size // shape[1]
            var = x.astype("float64").var(axis=axes) * (m / (m - 1) if m > 1 else 1)
            mean = x.astype("float64").mean(axis=axes)
            for name, batch in (("running_mean", mean), ("running_var", var)):
                np.testing.assert_allclose(params[name], 0.8 * before[name] + 0.2 * batch, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(params["running_mean"], before["running_mean"].astype(dtype))
            np.testing.assert_array_equal(params["running_var"], before["running_var"].astype(dtype))


@settings(max_examples=15, deadline=None)
@given(shapes, st.booleans(), st.integers(0, 2**32 - 1))
def test_vjp_matches_finite_differences(shape, training, seed):
    rng = np.random.default_rng(seed)
    g, node = one_op("batchnorm", {}, shape[1:], "float64")
    x = rng.standard_normal(shape) * 2 + 0.5
    check_vjp(g, node, x, random_params(node, rng, "float64"), rng, h=1e-5, rtol=1e-7, training=training)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_matches_torch(training):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    shape = (4, 3, 5, 6)
    g, node = one_op("batchnorm", {"momentum": 0.1, "eps": 1e-5}, shape[1:], "float64")
    x, params = rng.standard_normal(shape) * 2 + 1, random_params(node, rng, "float64")
    gy = rng.standard_normal(shape)
    rm, rv = torch.tensor(params["running_mean"]), torch.tensor(params["running_var"])
    out = run_node(g, node.name, [x], params, gy=gy, training=training)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, params["gamma"], params["beta"]))
    yt = torch.nn.functional.batch_norm(xt, rm, rv, gt, bt, training=training, momentum=0.1, eps=1e-5)
    yt.backward(torch.tensor(gy))
    for ours, theirs in ((out["y"], yt), (out["gx"][0], xt.grad), (out["gp"]["gamma"], gt.grad),
                         (out["gp"]["beta"], bt.grad), (params["running_mean"], rm), (params["running_var"], rv)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-10)
