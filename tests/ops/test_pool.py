"""Max/avg pooling 1/2/3-d and global pooling: kernels vs reference, VJP vs finite differences, torch."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from _check import check_vjp, one_op
from netc.lower.emit import run_node
from netc.ops.window import same_padding, window_count

MAX_SIZE = {1: 11, 2: 7, 3: 5}


@st.composite
def pool_cases(draw, kind=None, spatial=None, roundings=("exact", "floor", "ceil"), dilation=True, same=True):
    """(op name, attrs, x shape with N) for a valid pooling layer (pad at most half the kernel)."""
    kind = kind or draw(st.sampled_from(("max", "avg")))
    spatial = spatial or draw(st.integers(1, 3))
    rounding = draw(st.sampled_from(roundings))
    use_same = same and draw(st.booleans()) and draw(st.booleans())
    kernel, stride, dil, pad, sizes = [], [], [], [], []
    for _ in range(spatial):
        k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        d = draw(st.integers(1, 2)) if dilation else 1
        p = draw(st.integers(0, k // 2))
        eff = d * (k - 1) + 1
        size = draw(st.integers(max(eff - 2 * p, 1), max(eff - 2 * p, 1) + MAX_SIZE[spatial]))
        left, right = same_padding(size, k, s, d) if use_same else (p, p)
        if window_count(size, k, s, left, right, d, rounding) is None:
            s = 1  # exact rounding: stride 1 always divides
        kernel.append(k), stride.append(s), dil.append(d), pad.append(p), sizes.append(size)
    attrs = {"kernel": kernel, "stride": stride, "dilation": dil, "pad": "same" if use_same else pad,
             "rounding": rounding}
    if kind == "avg":
        attrs["count_include_pad"] = draw(st.booleans())
    return f"{kind}pool{spatial}d", attrs, [draw(st.integers(1, 3)), draw(st.integers(1, 3))] + sizes


def distinct(rng, shape):
    """Values at least 0.01 apart, so no max-pool window holds a tie, even after a step of 1e-5."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 1.0) * rng.choice([-1, 1])


@settings(max_examples=15, deadline=None)
@given(pool_cases(), st.integers(0, 2**32 - 1))
def test_forward_matches_reference(case, seed):
    op, attrs, shape = case
    rng = np.random.default_rng(seed)
    for dtype, tol in (("float32", 1e-6), ("float64", 1e-13)):
        g, node = one_op(op, attrs, shape[1:], dtype)
        x = rng.standard_normal(shape).astype(dtype)
        y = run_node(g, node.name, [x], {})["y"]
        ref = node.op.reference(node, [x.astype("float64")], {})
        assert y.dtype == dtype and y.shape == ref.shape
        np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)


@settings(max_examples=15, deadline=None)
@given(pool_cases(), st.integers(0, 2**32 - 1))
def test_vjp_matches_finite_differences(case, seed):
    op, attrs, shape = case
    rng = np.random.default_rng(seed)
    g, node = one_op(op, attrs, shape[1:], "float64")
    check_vjp(g, node, distinct(rng, shape), {}, rng, h=1e-5, rtol=1e-8)


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(("max", "avg")), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_global_pool(kind, spatial, seed):
    rng = np.random.default_rng(seed)
    shape = [int(n) for n in rng.integers(1, 4, size=2 + spatial)]
    for dtype in ("float32", "float64"):
        g, node = one_op(f"global{kind}pool{spatial}d", {}, shape[1:], dtype)
        x = distinct(rng, shape).astype(dtype)
        y = run_node(g, node.name, [x], {})["y"]
        assert y.dtype == dtype and y.shape == tuple(shape[:2])
        np.testing.assert_allclose(y, node.op.reference(node, [x], {}), rtol=1e-6)
    check_vjp(g, node, distinct(rng, shape), {}, rng, h=1e-5, rtol=1e-8)


def test_window_past_the_padded_input_and_divisors():
    """Length 4, kernel 3, stride 2, pad 1, ceil: windows start at -1, 1 and 3; the last has taps
    3 (real), 4 (right padding) and 5 (past the padded input, never counted)."""
    x = np.array([[[1.0, 2.0, 3.0, 2.0]]])
    for include, want in ((True, [(0 + 1 + 2) / 3, (2 + 3 + 2) / 3, (2 + 0) / 2]),
                          (False, [(1 + 2) / 2, (2 + 3 + 2) / 3, 2 / 1])):
        g, node = one_op("avgpool1d", {"kernel": 3, "stride": 2, "pad": 1, "rounding": "ceil",
                                       "count_include_pad": include}, [1, 4], "float64")
        np.testing.assert_allclose(run_node(g, node.name, [x], {})["y"][0, 0], want)
        np.testing.assert_allclose(node.op.reference(node, [x], {})[0, 0], want)


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(("max", "avg")).flatmap(  # torch's avg_pool2d has no dilation
    lambda kind: pool_cases(kind, spatial=2, same=False, dilation=kind == "max")), st.integers(0, 2**32 - 1))
def test_pool2d_matches_torch(case, seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    op, attrs, shape = case
    rng = np.random.default_rng(seed)
    g, node = one_op(op, attrs, shape[1:], "float64")
    x = distinct(rng, shape)
    gy = rng.standard_normal((shape[0],) + node.type.shape[1:])
    out = run_node(g, node.name, [x], {}, gy=gy)
    xt = torch.tensor(x, requires_grad=True)
    common = dict(kernel_size=attrs["kernel"], stride=attrs["stride"], padding=attrs["pad"],
                  ceil_mode=attrs["rounding"] == "ceil")
    if op.startswith("max"):
        yt = F.max_pool2d(xt, dilation=attrs["dilation"], **common)
    else:
        yt = F.avg_pool2d(xt, count_include_pad=attrs["count_include_pad"], **common)
    # a dilated window that sees padding alone: torch gives -inf, netc 0 (tested against the reference)
    assume(np.isfinite(yt.detach().numpy()).all())
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(out["y"], yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["gx"][0], xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_global_max_pool_takes_the_first_maximum_and_propagates_nan():
    """Ties: the first maximum's position (its gradient goes there); -0 and 0 tie; a NaN wins,
    the first NaN's position."""
    planes = [[1.0, 3.0, 2.0, 3.0], [-1.0, -0.0, 0.0, -2.0], [1.0, np.nan, 5.0, np.nan], [np.nan, 1.0, 2.0, 0.0],
              [-np.inf, -np.inf, -np.inf, -np.inf], [2.0, np.inf, 1.0, np.inf]]
    x = np.array(planes)[None]  # N 1, C 6, S 4
    for dtype in ("float32", "float64"):
        g, node = one_op("globalmaxpool1d", {}, [6, 4], dtype)
        out = run_node(g, node.name, [x.astype(dtype)], {}, gy=np.ones((1, 6)))
        y, gx = out["y"][0], out["gx"][0][0]
        np.testing.assert_array_equal(y, [3.0, -0.0, np.nan, np.nan, -np.inf, np.inf])
        assert np.signbit(y[1])  # the first of the tied zeros, -0
        np.testing.assert_array_equal(np.argmax(gx, axis=1), [1, 1, 1, 0, 0, 1])
        assert gx.sum() == 6
