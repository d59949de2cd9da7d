"""conv1d/2d/3d kernels against the NumPy reference, their VJP against finite differences, and torch."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _check import check_vjp, one_op, random_params
from netc import kernels
from netc.kernels import tiles
from netc.lower.emit import Emit, run_node
from netc.ops.window import same_padding, window_count

MAX_SIZE = {1: 11, 2: 7, 3: 5}


@st.composite
def conv_cases(draw, spatial=None, roundings=("exact", "floor", "ceil"), same=True, max_dilation=2):
    """(attrs, x shape with N) for a valid conv: every axis fits at least one window."""
    spatial = spatial or draw(st.integers(1, 3))
    rounding = draw(st.sampled_from(roundings))
    use_same = same and draw(st.booleans()) and draw(st.booleans())
    kernel, stride, dilation, pad, sizes = [], [], [], [], []
    for _ in range(spatial):
        k, s, d, p = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, max_dilation)),
                      draw(st.integers(0, 2)))
        eff = d * (k - 1) + 1
        size = draw(st.integers(max(eff - 2 * p, 1), max(eff - 2 * p, 1) + MAX_SIZE[spatial]))
        left, right = same_padding(size, k, s, d) if use_same else (p, p)
        if window_count(size, k, s, left, right, d, rounding) is None:
            s = 1  # exact rounding: stride 1 always divides
        kernel.append(k), stride.append(s), dilation.append(d), pad.append(p), sizes.append(size)
    attrs = {"filters": draw(st.integers(1, 3)), "kernel": kernel, "stride": stride, "dilation": dilation,
             "pad": "same" if use_same else pad, "rounding": rounding, "bias": draw(st.booleans())}
    return attrs, [draw(st.integers(1, 3)), draw(st.integers(1, 3))] + sizes


def op_name(x_shape):
    return f"conv{len(x_shape) - 2}d"


@settings(max_examples=15, deadline=None)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_forward_matches_reference(case, seed):
    attrs, shape = case
    rng = np.random.default_rng(seed)
    for dtype, tol in (("float32", 1e-5), ("float64", 1e-12)):
        g, node = one_op(op_name(shape), attrs, shape[1:], dtype)
        x = rng.standard_normal(shape).astype(dtype)
        params = random_params(node, rng, dtype)
        y = run_node(g, node.name, [x], params)["y"]
        ref = node.op.reference(node, [x.astype("float64")], {k: p.astype("float64") for k, p in params.items()})
        assert y.dtype == dtype and y.shape == ref.shape
        np.testing.assert_allclose(y, ref, rtol=tol, atol=tol * 10)


@settings(max_examples=10, deadline=None)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_forward_by_rows_matches_reference(case, seed):
    """Enough channels that the forward builds rows (conv_fwd_rows) wherever the window is wider
    than one tap, unless it runs in tiles (float32 with no dilation, on AVX-512): every stride,
    dilation, padding and rounding the column path sees."""
    attrs, shape = case
    shape[1] = channels = 16
    rng = np.random.default_rng(seed)
    for dtype, tol in (("float32", 1e-5), ("float64", 1e-12)):
        g, node = one_op(op_name(shape), attrs, shape[1:], dtype)
        x = rng.standard_normal(shape).astype(dtype)
        params = random_params(node, rng, dtype)
        out = run_node(g, node.name, [x], params)
        assert ("rows_in" in out["ws"]) == (max(attrs["kernel"]) > 1 and "tile_out" not in out["ws"])
        ref = node.op.reference(node, [x.astype("float64")], {k: p.astype("float64") for k, p in params.items()})
        np.testing.assert_allclose(out["y"], ref, rtol=tol, atol=tol * 10 * channels)


@settings(max_examples=12, deadline=None)
@given(conv_cases(max_dilation=1), st.sampled_from([(16, 16), (3, 16), (32, 16), (16, 48), (16, 5), (6, 21)]),
       st.integers(0, 2**32 - 1))
def test_tiled_kernels_match_float64(case, widths, seed):
    """float32 runs the forward in register tiles (conv_fwd_tiled, any number of filters), and with
    16-wide channels the VJPs too (conv_vjp_x_flipped at stride 1, else conv_vjp_x_tiled;
    conv_vjp_w_tiled), else the weight gradient by filters (conv_vjp_w_tiled_t) where windows' runs
    are long enough: every stride, padding, rounding and rank, against float64 (columns, whose VJP
    the finite differences check). Tile rows run 8, 4 and 1 at a time, columns 32 and 16."""
    attrs, shape = case
    shape[1], attrs["filters"] = widths
    rng = np.random.default_rng(seed)
    g, node = one_op(op_name(shape), attrs, shape[1:], "float32")
    g64, node64 = one_op(op_name(shape), attrs, shape[1:], "float64")
    x, params = rng.standard_normal(shape), random_params(node64, rng, "float64")
    gy = rng.standard_normal((shape[0],) + node.type.shape[1:])
    out = run_node(g, node.name, [x.astype("float32")], {k: p.astype("float32") for k, p in params.items()},
                   gy=gy.astype("float32"))
    ref = run_node(g64, node64.name, [x], params, gy=gy)
    if tiles.ENABLED:  # elsewhere the same checks run on BLAS's kernels
        assert "tile_out" in out["ws"] and ("tile_in" in out["ws"])
    assert "tile_in" not in ref["ws"]
    window = shape[1] * np.prod(attrs["kernel"])
    np.testing.assert_allclose(out["y"], ref["y"], rtol=1e-5, atol=1e-5 * window)
    np.testing.assert_allclose(out["gx"][0], ref["gx"][0], rtol=1e-5, atol=1e-5 * attrs["filters"] * window)
    np.testing.assert_allclose(out["gp"]["weight"], ref["gp"]["weight"], rtol=1e-5,
                               atol=1e-5 * np.prod(node.type.shape[1:]))


@settings(max_examples=15, deadline=None)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_vjp_matches_finite_differences(case, seed):
    attrs, shape = case
    rng = np.random.default_rng(seed)
    g, node = one_op(op_name(shape), attrs, shape[1:], "float64")
    x = rng.standard_normal(shape)
    check_vjp(g, node, x, random_params(node, rng, "float64"), rng, h=1e-3)  # bilinear: differences are exact


def test_vjp_accumulates_and_skips_frozen():
    g, node = one_op("conv2d", {"filters": 2, "kernel": 3, "pad": 1}, [2, 5, 5], "float64")
    rng = np.random.default_rng(0)
    x, params = rng.standard_normal((2, 2, 5, 5)), random_params(node, rng, "float64")
    gy = rng.standard_normal((2, 2, 5, 5))
    out = run_node(g, node.name, [x], params, gy=gy)
    # the emitted VJP lines again, into buffers that already hold a gradient: they add to it
    ns = dict(kernels.namespace(), x=x, gy=gy, w=params["weight"], gx=np.ones_like(x),
              gw=np.ones_like(params["weight"]), gb=np.ones(2), **{f"ws_{k}": v for k, v in out["ws"].items()})
    e = Emit(["x"], "y", {"weight": "w", "bias": "b"}, {k: f"ws_{k}" for k in out["ws"]}, "gy", ["gx"],
             {"weight": "gw", "bias": "gb"})
    exec("\n".join(node.op.emit_vjp(node, e)), ns)
    np.testing.assert_allclose(ns["gx"], 1 + out["gx"][0], rtol=1e-12)
    np.testing.assert_allclose(ns["gw"], 1 + out["gp"]["weight"], rtol=1e-12)
    np.testing.assert_allclose(ns["gb"], 1 + out["gp"]["bias"], rtol=1e-12)
    # no input gradient and a frozen weight: only the bias kernel runs
    e = Emit(["x"], "y", {"weight": "w", "bias": "b"}, {}, "gy", [None], {"weight": None, "bias": "gb"})
    assert [line.split("(")[0] for line in node.op.emit_vjp(node, e)] == ["conv_vjp_b"]


@settings(max_examples=10, deadline=None)
@given(conv_cases(spatial=2, roundings=("floor",)), st.integers(0, 2**32 - 1))
def test_conv2d_matches_torch(case, seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    attrs, shape = case
    rng = np.random.default_rng(seed)
    g, node = one_op("conv2d", attrs, shape[1:], "float64")
    x, params = rng.standard_normal(shape), random_params(node, rng, "float64")
    gy = rng.standard_normal((shape[0],) + node.type.shape[1:])
    out = run_node(g, node.name, [x], params, gy=gy)
    (hl, hr), (wl, wr) = node.resolved_pads
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(params["weight"], requires_grad=True)
    bt = torch.tensor(params["bias"], requires_grad=True) if attrs["bias"] else None
    yt = F.conv2d(F.pad(xt, (wl, wr, hl, hr)), wt, bt, stride=attrs["stride"], dilation=attrs["dilation"])
    yt.backward(torch.tensor(gy))
    np.testing.assert_allclose(out["y"], yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out["gx"][0], xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out["gp"]["weight"], wt.grad.numpy(), rtol=1e-10, atol=1e-10)
    if attrs["bias"]:
        np.testing.assert_allclose(out["gp"]["bias"], bt.grad.numpy(), rtol=1e-10, atol=1e-10)
