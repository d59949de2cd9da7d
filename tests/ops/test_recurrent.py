"""rnn and lstm: kernels vs the NumPy reference, VJP vs finite differences, and lstm vs PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netc
from netc import kernels
from netc.lower.emit import Emit, run_node


@st.composite
def configs(draw):
    op = draw(st.sampled_from(["rnn", "lstm"]))
    c = {
        "op": op,
        "units": draw(st.integers(1, 3)),
        "layers": draw(st.integers(1, 2)),
        "bidirectional": draw(st.booleans()),
        "return": draw(st.sampled_from(["sequence", "last", "state"])),
        "state": draw(st.booleans()),
        "N": draw(st.integers(1, 3)),
        "T": draw(st.integers(1, 4)),
        "F": draw(st.integers(1, 4)),
        "seed": draw(st.integers(0, 2**16)),
    }
    if op == "lstm":
        c["peephole"] = draw(st.booleans())
    else:
        c["activation"] = draw(st.sampled_from(["tanh", "relu"]))
    return c


def build(c, dtype):
    """The graph, its recurrent node, and drawn inputs and parameters (float64 values, cast)."""
    D = 2 if c["bidirectional"] else 1
    S = c["layers"] * D * (2 if c["op"] == "lstm" else 1) * c["units"]
    attrs = {k: c[k] for k in ("units", "layers", "peephole", "activation") if k in c}
    attrs["bidirectional"] = str(c["bidirectional"]).lower()
    attrs["return"] = c["return"]
    body = ", ".join(f"{k}: {v}" for k, v in attrs.items())
    inputs = f"{{x: [T, {c['F']}], s: [{S}]}}" if c["state"] else f"{{x: [T, {c['F']}]}}"
    use = ", in: [x, s]" if c["state"] else ""
    g = netc.parse(f"netc: 1\ninputs: {inputs}\nlayers: [{{{c['op']}: {{{body}{use}}}}}]\n", dtype=dtype)
    name = f"{c['op']}_1"
    node = g.node(name)
    rng = np.random.default_rng(c["seed"])
    xs = [rng.normal(size=(c["N"], c["T"], c["F"]))]
    if c["state"]:
        xs.append(0.5 * rng.normal(size=(c["N"], S)))
    params = {k: 0.6 * rng.normal(size=p.shape) for k, p in node.params.items()}
    xs = [a.astype(dtype) for a in xs]
    params = {k: v.astype(dtype) for k, v in params.items()}
    return g, name, node, xs, params


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=12, deadline=None)
@given(c=configs())
def test_forward_matches_reference(c, dtype):
    g, name, node, xs, params = build(c, dtype)
    y = run_node(g, name, xs, params)["y"]
    ref = node.op.reference(node, [a.astype(np.float64) for a in xs],
                            {k: v.astype(np.float64) for k, v in params.items()})
    assert y.dtype == np.dtype(dtype)
    assert y.shape == ref.shape
    tol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)


@settings(max_examples=12, deadline=None)
@given(c=configs())
def test_vjp_matches_finite_differences(c):
    g, name, node, xs, params = build(c, "float64")
    rng = np.random.default_rng(c["seed"] + 1)
    y = node.op.reference(node, xs, params)
    gy = rng.normal(size=y.shape)
    out = run_node(g, name, xs, params, gy=gy)
    # one random direction over every input and parameter
    vx = [rng.normal(size=a.shape) for a in xs]
    vp = {k: rng.normal(size=v.shape) for k, v in params.items()}
    autodiff = sum(np.vdot(gx, v) for gx, v in zip(out["gx"], vx))
    autodiff += sum(np.vdot(out["gp"][k], vp[k]) for k in params)

    def f(eps):
        ys = node.op.reference(node, [a + eps * v for a, v in zip(xs, vx)],
                               {k: params[k] + eps * vp[k] for k in params})
        return np.vdot(ys, gy)

    eps = 1e-6
    fd = (f(eps) - f(-eps)) / (2 * eps)
    assert abs(autodiff - fd) <= 1e-6 * (1 + abs(fd)), f"{c}: autodiff {autodiff}, finite differences {fd}"


@pytest.mark.parametrize("op", ["rnn", "lstm"])
@pytest.mark.parametrize("sparse", [False, True])
def test_row_tiles_and_sparse_inputs(op, sparse):
    """Batches large enough for the lstm's per-step GEMM's 4-row tiles and its leftovers (9 rows
    in up to 2 chunks; BPTT's 5 output columns are odd), and mostly-zero inputs, which take the
    row gather and scatter of wx instead of GEMMs: one-hot rows, an all-zero row, a row with two
    entries not 1."""
    c = {"op": op, "units": 5, "layers": 2, "bidirectional": True, "return": "sequence", "state": True,
         "N": 9, "T": 4, "F": 16, "seed": 3}
    c.update({"peephole": True} if op == "lstm" else {"activation": "tanh"})
    rng = np.random.default_rng(4)
    x = np.eye(16)[rng.integers(0, 16, (9, 4))]
    x[0, 1] = 0
    x[2, 3, 5], x[2, 3, 7] = -0.7, 1.9
    for dtype, tol in (("float32", 2e-6), ("float64", 1e-12)):
        g, name, node, xs, params = build(c, dtype)
        if sparse:
            xs[0] = x.astype(dtype)
        ys = run_node(g, name, xs, params)["y"]
        ref = node.op.reference(node, [a.astype(np.float64) for a in xs],
                                {k: v.astype(np.float64) for k, v in params.items()})
        np.testing.assert_allclose(ys, ref, rtol=tol, atol=tol)
    gy = rng.normal(size=ys.shape)
    out = run_node(g, name, xs, params, gy=gy)
    vp = {k: rng.normal(size=v.shape) for k, v in params.items()}
    autodiff = sum(np.vdot(out["gp"][k], vp[k]) for k in params)

    def f(eps):
        return np.vdot(node.op.reference(node, xs, {k: params[k] + eps * vp[k] for k in params}), gy)

    fd = (f(1e-6) - f(-1e-6)) / 2e-6
    assert abs(autodiff - fd) <= 1e-6 * (1 + abs(fd))


def test_vjp_accumulates():
    """The emitted VJP adds into gradient buffers that already hold something (fan-out)."""
    c = {"op": "lstm", "units": 2, "layers": 2, "bidirectional": True, "return": "state", "state": True,
         "peephole": True, "N": 2, "T": 3, "F": 2, "seed": 5}
    g, name, node, xs, params = build(c, "float64")
    gy = np.random.default_rng(0).normal(size=(2, node.op.state_size(node.attrs)))
    want = run_node(g, name, xs, params, gy=gy)
    ns = dict(kernels.namespace(), F=np.float64, gy=gy)
    ns.update({f"x{i}": a for i, a in enumerate(xs)})
    ns.update({f"ws_{k}": v for k, v in want["ws"].items()})  # the forward's saved tensors
    ns.update({f"p_{k}": v for k, v in params.items()})
    ns.update({f"gx{i}": np.ones_like(a) for i, a in enumerate(xs)})
    ns.update({f"gp_{k}": np.ones_like(v) for k, v in params.items()})
    e = Emit(["x0", "x1"], "y", {k: f"p_{k}" for k in params}, {k: f"ws_{k}" for k in want["ws"]}, "gy",
             ["gx0", "gx1"], {k: f"gp_{k}" for k in params})
    exec("\n".join(node.op.emit_vjp(node, e)), ns)
    for i in range(2):
        np.testing.assert_allclose(ns[f"gx{i}"], want["gx"][i] + 1, rtol=1e-12)
    for k in params:
        np.testing.assert_allclose(ns[f"gp_{k}"], want["gp"][k] + 1, rtol=1e-12)


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_matches_torch(layers):
    torch = pytest.importorskip("torch")
    N, T, F, H = 3, 5, 4, 3
    D = 2
    K = layers * D
    outs = {}
    for ret in ("sequence", "state"):
        c = {"op": "lstm", "units": H, "layers": layers, "bidirectional": True, "return": ret, "state": True,
             "peephole": False, "N": N, "T": T, "F": F, "seed": 11}
        outs[ret] = build(c, "float64")
    g, name, node, xs, params = outs["sequence"]
    x, s = xs
    lstm = torch.nn.LSTM(F, H, num_layers=layers, bidirectional=True, batch_first=True, dtype=torch.float64)
    cells = node.op.cells(node.attrs, F)
    with torch.no_grad():
        for k, (prefix, _) in enumerate(cells):
            sfx = f"_l{k // D}" + ("_reverse" if k % D else "")
            getattr(lstm, "weight_ih" + sfx).copy_(torch.from_numpy(params[prefix + "wx"].T))
            getattr(lstm, "weight_hh" + sfx).copy_(torch.from_numpy(params[prefix + "wh"].T))
            getattr(lstm, "bias_ih" + sfx).copy_(torch.from_numpy(params[prefix + "b"]))
            getattr(lstm, "bias_hh" + sfx).zero_()
    tx = torch.from_numpy(x).requires_grad_()
    ts = torch.from_numpy(s).requires_grad_()
    h0 = ts[:, :K * H].reshape(N, K, H).transpose(0, 1).contiguous()
    c0 = ts[:, K * H:].reshape(N, K, H).transpose(0, 1).contiguous()
    ty, (hn, cn) = lstm(tx, (h0, c0))
    gy = np.random.default_rng(3).normal(size=ty.shape)
    (ty * torch.from_numpy(gy)).sum().backward()

    got = run_node(g, name, xs, params, gy=gy)
    np.testing.assert_allclose(got["y"], ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["gx"][0], tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["gx"][1], ts.grad.numpy(), rtol=1e-9, atol=1e-12)
    for k, (prefix, _) in enumerate(cells):
        sfx = f"_l{k // D}" + ("_reverse" if k % D else "")
        np.testing.assert_allclose(got["gp"][prefix + "wx"], getattr(lstm, "weight_ih" + sfx).grad.numpy().T,
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got["gp"][prefix + "wh"], getattr(lstm, "weight_hh" + sfx).grad.numpy().T,
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got["gp"][prefix + "b"], getattr(lstm, "bias_ih" + sfx).grad.numpy(),
                                   rtol=1e-9, atol=1e-12)

    # return: state is h_n then c_n, flattened cell by cell: the layout the state input reads
    g, name, node, xs, params = outs["state"]
    state = run_node(g, name, xs, params)["y"]
    want = torch.cat([hn.transpose(0, 1).reshape(N, K * H), cn.transpose(0, 1).reshape(N, K * H)], dim=1)
    np.testing.assert_allclose(state, want.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("units, N", [(16, 9), (12, 9), (16, 3)])
def test_lstm_step_tiles_match_float64(units, N):
    """float32 with 4H in whole 16-wide vectors runs the forward's per-step GEMM in register tiles
    (kernels/tiles.py, where Numba targets AVX-512), and with H in whole vectors BPTT's too: chunks
    of at least 4 rows (N 9; N 3 keeps _gemm_nt), against float64, which the finite differences check."""
    c = {"op": "lstm", "units": units, "layers": 1, "bidirectional": True, "return": "sequence", "state": True,
         "N": N, "T": 5, "F": 7, "seed": 3, "peephole": True}
    g, name, node, xs, params = build(c, "float64")
    g32, _, _, xs32, params32 = build(c, "float32")
    gy = np.random.default_rng(5).normal(size=(N, 5, 2 * units))
    want = run_node(g, name, xs, params, gy=gy)
    got = run_node(g32, name, xs32, params32, gy=gy.astype("float32"))
    np.testing.assert_allclose(got["y"], want["y"], rtol=1e-5, atol=1e-5)
    for a, b in zip(got["gx"], want["gx"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    for k in want["gp"]:
        np.testing.assert_allclose(got["gp"][k], want["gp"][k], rtol=1e-5, atol=2e-5)
