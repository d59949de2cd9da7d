"""netc/plan.py: the fusion of a relu into the batch norm before it, and gradients written by their first
writer rather than zeroed and added to."""
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


WRITES = """netc: 1
name: first_writes_{name}
inputs: {{x: [8, 7, 7], y: {{shape: [], dtype: int32}}}}
layers:
  - conv2d: {{filters: 8, kernel: 3, pad: 1, name: c1}}
  - batchnorm: {{name: bn1}}
  - relu: {{name: r1}}
  - conv2d: {{filters: 8, kernel: 3, pad: 1, in: r1, name: c2}}
  - batchnorm: {{name: bn2}}
  - globalavgpool2d: {{name: squeeze}}
  - reshape: {{shape: [8, 1, 1], name: scale}}
  - mul: {{in: [bn2, scale], name: excite}}
  - conv2d: {{filters: 8, kernel: 1, stride: 2, in: r1, name: shortcut}}
  - conv2d: {{filters: 8, kernel: 3, stride: 2, pad: 1, in: excite, name: down}}
  - add: {{in: [down, shortcut], name: sum}}
  - add: {{in: [sum, sum], name: twice}}
  - relu: {{name: out}}
  - globalavgpool2d: {{name: pool}}
  - dense: {{units: 3, name: logits}}
loss: {{softmax_cross_entropy: {{logits: logits, labels: y}}}}
"""


def _poisoned_steps(write_first, monkeypatch, jit):
    """Three steps with every arena byte NaN before each: a gradient written first must not read it."""
    monkeypatch.setattr(plan, "WRITE_FIRST", write_first)
    net = netc.compile(WRITES.format(name=write_first), seed=3)
    net.jit = jit
    x = random_inputs(net, np.random.default_rng(0), N=4)
    losses = []
    for _ in range(3):
        net.train_step(**x)
        for bound in net._bound.values():
            arena = bound[0] if isinstance(bound[0], np.ndarray) else None
            if arena is not None:
                arena.view(np.float32)[:] = np.nan
        losses.append(net.train_step(**x))
    return net, losses


def test_first_writers_write_their_gradients(monkeypatch):
    net, losses = _poisoned_steps(True, monkeypatch, jit=False)
    plain, plain_losses = _poisoned_steps(False, monkeypatch, jit=False)
    p = net.train_plan
    written = {node for node, _ in p.fresh.values()}
    # conv (by columns, by rows, 1x1 stride 2), batch norm, mul, add, relu and pooling write;
    # add(sum, sum) adds twice into one buffer, so that one is zeroed; r1's gradient is written by
    # whichever of its two convs comes first and added to by the other
    assert {"bn1", "bn2", "excite", "down", "out", "pool"} <= written and len({"c2", "shortcut"} & written) == 1
    assert p.names[("d", "sum")] not in p.fresh and plain.train_plan.fresh == {}
    source = open(net.module.__file__).read()
    assert f"fill_value({p.names[('d', 'c2')]}, F(0))" not in source
    assert np.isfinite(losses).all()
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-6)
    np.testing.assert_allclose(net.P, plain.P, rtol=1e-5, atol=1e-7)
