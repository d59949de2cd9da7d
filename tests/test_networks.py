"""Whole networks from specs/: gradients against finite differences, against PyTorch, training
on real data, and every kernel once under NUMBA_BOUNDSCHECK."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import netc

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def random_inputs(graph, N, T=None, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name in graph.inputs:
        t = graph.node(name).type
        shape = tuple(N if d == "N" else T if d == "T" else d for d in t.shape)
        if t.dtype.startswith("int"):
            limit = 2
            for c in graph.g.successors(name):
                node = graph.node(c)
                limit = {"embedding": node.attrs.get("vocab"), "one_hot": node.attrs.get("classes")}.get(
                    node.op.name) or graph.node(node.inputs[0]).type.shape[-1]
            out[name] = rng.integers(0, limit, shape).astype(t.dtype)
        else:
            out[name] = rng.random(shape).astype(t.dtype)
    return out


def directional_check(net, inputs, seed=0, h=1e-6):
    """<grad, v> against (L(w + hv) - L(w - hv)) / 2h for one random direction over all parameters."""
    loss, grads = net.loss_and_grad(seed=0, **inputs)
    rng = np.random.default_rng(seed)
    n = net.G.size
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)  # a unit step moves each relu input by ~h: crossing a kink stays unlikely
    analytic = float(net.G @ v)
    w = net.P[:n].copy()
    net.P[:n] = w + h * v
    up, _ = net.loss_and_grad(seed=0, **inputs)
    net.P[:n] = w - h * v
    down, _ = net.loss_and_grad(seed=0, **inputs)
    net.P[:n] = w
    numeric = (up - down) / (2 * h)
    return analytic, numeric


@pytest.mark.parametrize("spec, N, T", [
    ("xor_mlp.yaml", 4, None),
    ("lenet5.yaml", 2, None),
    ("char_lstm.yaml", 2, 5),
    ("resnet_se.yaml", 2, None),
])
def test_whole_network_gradients_match_finite_differences(spec, N, T):
    net = netc.compile(SPECS / spec, dtype="float64", seed=1)
    inputs = random_inputs(net.graph, N, T)
    analytic, numeric = directional_check(net, inputs)
    assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_mlp_learns_digits():
    pytest.importorskip("sklearn")
    from netc.train.data import dataset_for, split
    from netc.train.loop import Config, evaluate, fit

    graph = netc.load(SPECS / "mlp_digits.yaml")
    data, _ = dataset_for(graph, "digits")
    train, val = split(data, 0.2, np.random.default_rng(0))
    net = netc.Network(graph, seed=0)
    before = evaluate(net, val)
    fit(net, train, val, Config(epochs=8, batch=32, lr=0.05), progress=False, log=lambda m: None)
    after = evaluate(net, val)
    assert after["loss"] < 0.3 * before["loss"]
    assert after["accuracy"] > 0.9


def _torch_pair(spec, N, T):
    torch = pytest.importorskip("torch")
    from netc.interop.pytorch import TorchGraph

    net = netc.compile(SPECS / spec, dtype="float64", seed=2)
    inputs = random_inputs(net.graph, N, T, seed=3)
    tg = TorchGraph(net.graph)
    params = tg.tensors_from(net.params)
    values = tg.run(inputs, params, training=True)
    total = tg.total_loss(values)
    total.backward()
    return torch, net, inputs, values, total, params


@pytest.mark.parametrize("spec, N, T, output", [("lenet5.yaml", 3, None, "logits"),
                                                ("char_lstm.yaml", 3, 7, "logits")])
def test_matches_pytorch_outputs_and_gradients(spec, N, T, output):
    torch, net, inputs, values, total, params = _torch_pair(spec, N, T)
    loss, grads = net.loss_and_grad(**inputs)
    assert loss == pytest.approx(float(total.detach()), rel=1e-10)
    np.testing.assert_allclose(net.forward(**{k: v for k, v in inputs.items()
                                              if k in net._needed(net.infer_plan)})[output],
                               values[output].detach().numpy(), rtol=1e-9, atol=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(g, params[name].grad.numpy(), rtol=1e-8, atol=1e-11, err_msg=name)


BOUNDSCHECK_SCRIPT = """
import numpy as np, netc, sys
sys.path.insert(0, {tests!r})
from test_networks import random_inputs
for spec, N, T in [("lenet5.yaml", 2, None), ("char_lstm.yaml", 2, 4), ("resnet_se.yaml", 2, None),
                   ("dna_cnn.yaml", 2, None), ("bilstm_tagger.yaml", 2, 3), ("seq2seq_lstm.yaml", 2, 3),
                   ("disentangled_autoencoder.yaml", 2, None), ("kim_cnn.yaml", 2, None)]:
    net = netc.compile({specs!r} + "/" + spec)
    x = random_inputs(net.graph, N, T)
    net.train_step(**x)
    net.forward(**{{k: v for k, v in x.items() if k in net._needed(net.infer_plan)}})
print("ok")
"""


def test_kernels_run_under_boundscheck(tmp_path):
    """Every kernel the specs use, compiled with bounds checks: an out-of-bounds index raises."""
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"),
               NETC_CACHE_DIR=str(tmp_path / "netc"))
    script = BOUNDSCHECK_SCRIPT.format(tests=str(ROOT / "tests"), specs=str(SPECS))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
