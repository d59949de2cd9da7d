"""netc/plan.py: the fusion of a relu into the batch norm before it."""
import numpy as np
import netc
from netc import plan
from netc.testing import random_inputs

SPEC = """netc: 1
name: fused_{name}
inputs: {{x: [2, 5, 5], y: {{shape: [], dtype: int32}}}}
layers:
  - conv2d: {{filters: 3, kernel: 3, pad: 1}}
  - batchnorm: {{name: bn}}
  - relu: {{name: act}}
  - conv2d: {{filters: 2, kernel: 3}}
  - batchnorm: {{name: bn_shared}}
  - relu: {{name: act_shared}}
  - add: {{in: [act_shared, bn_shared]}}
  - flatten
  - dense: {{units: 3, name: logits}}
loss: {{softmax_cross_entropy: {{logits: logits, labels: y}}}}
"""


def _run(fuse, monkeypatch):
    monkeypatch.setattr(plan, "FUSE", fuse)
    net = netc.compile(SPEC.format(name=fuse), seed=3)
    x = random_inputs(net, np.random.default_rng(0), N=4)
    losses = [net.train_step(**x) for _ in range(3)]
    out = net.forward(x=x["x"])
    return net, losses, out


def test_a_fused_network_computes_what_the_unfused_one_does(monkeypatch):
    fused, losses, out = _run(True, monkeypatch)
    plain, plain_losses, plain_out = _run(False, monkeypatch)
    # only the batch norm whose output nothing else reads takes its relu
    assert fused.train_plan.fused == {"bn": "act"} and fused.infer_plan.fused == {"bn": "act"}
    assert plain.train_plan.fused == {}
    # the same arithmetic, but the masked sums may vectorize in another order: rounding apart
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-5)
    np.testing.assert_allclose(fused.P, plain.P, rtol=1e-4, atol=1e-6)
    for k in out:
        np.testing.assert_allclose(out[k], plain_out[k], rtol=1e-4, atol=1e-6)


def test_the_fused_buffers_live_from_the_batch_norm_to_its_gradient(monkeypatch):
    net, _, _ = _run(True, monkeypatch)
    p = net.train_plan
    steps = {(s.kind, s.node): i for i, s in enumerate(p.steps)}
    act = p.buffers[p.names[("y", "act")]]
    grad = p.buffers[p.names[("d", "act")]]
    assert act.start == steps[("fwd", "bn")] and act.end >= steps[("vjp", "bn")]
    assert grad.end >= steps[("vjp", "bn")]
    source = open(net.module.__file__).read()
    assert "# bn: batchnorm + relu (act)" in source and "relu_vjp_x(y_act," not in source


def test_fused_gradients_match_finite_differences(monkeypatch):
    from netc.runtime import retype

    monkeypatch.setattr(plan, "FUSE", True)
    net = netc.Network(retype(netc.compile(SPEC.format(name="fd")).graph, "float64"), seed=1)
    assert net.train_plan.fused == {"bn": "act"}
    rng = np.random.default_rng(0)
    x = random_inputs(net, rng, N=3)
    net.loss_and_grad(**x)
    g = net.G.copy()
    P = net.P.copy()
    for _ in range(3):
        v = np.zeros_like(P)
        v[:g.size] = rng.standard_normal(g.size)  # the trainable parameters come first in P
        h = 1e-6
        net.P[:] = P + h * v
        up, _ = net.loss_and_grad(**x)
        net.P[:] = P - h * v
        down, _ = net.loss_and_grad(**x)
        net.P[:] = P
        np.testing.assert_allclose((up - down) / (2 * h), g @ v[:g.size], rtol=1e-5, atol=1e-9)


def test_the_same_graph_planned_without_fusion_is_another_module(monkeypatch):
    keys = []
    for fuse in (True, False):
        monkeypatch.setattr(plan, "FUSE", fuse)
        keys.append(netc.compile(SPEC.format(name="key")).key)
    assert keys[0] != keys[1]
