"""netc.interop.jax against netc itself: eval-mode outputs, loss gradients and SGD steps on the
benchmark workloads, in float32 with float32 tolerances; unsupported ops and random dropout."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import netc  # noqa: E402
from netc.interop.jax import JaxGraph, Unsupported  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.workloads import SGD, load_graph, make_inputs  # noqa: E402


def close(actual, expected, name, rtol=1e-3):
    """float32 agreement: relative to each array's largest value, since sums reorder between the two."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol,
                               atol=rtol * 0.1 * float(np.abs(expected).max()) + 1e-7, err_msg=name)


@pytest.mark.parametrize("spec, T, output", [
    ("specs/mlp_digits.yaml", None, "logits"),
    ("specs/lenet5.yaml", None, "logits"),
    ("specs/char_lstm.yaml", 3, "logits"),
    ("specs/resnet_se.yaml", None, "logits"),
])
def test_outputs_and_gradients_match_netc(spec, T, output):
    net = netc.Network(load_graph(spec), seed=1)
    x = make_inputs(net.graph, 2, T, seed=3)
    jg = JaxGraph(net.graph)
    params, state = jg.arrays_from(net.params)

    outputs = jg.infer_fn()(params, state, x)
    expected = net.forward(**{k: v for k, v in x.items() if k in net._needed(net.infer_plan)})
    close(outputs[output], expected[output], output)

    (loss, new_state), grads = jax.value_and_grad(jg.loss_fn, has_aux=True)(params, state, x)
    netc_loss, netc_grads = net.loss_and_grad(**x)
    assert float(loss) == pytest.approx(netc_loss, rel=1e-5)
    assert sorted(grads) == sorted(netc_grads)
    for name, g in netc_grads.items():
        close(grads[name], g, name)
    for name, v in new_state.items():  # batch norm's running statistics, updated by the training pass
        close(v, net.params[name], name)


def test_train_step_matches_netc_sgd():
    net = netc.Network(load_graph("specs/mlp_digits.yaml"), seed=1)
    assert net.optimizer == "sgd" and net.hyper == SGD
    x = make_inputs(net.graph, 4, None, seed=3)
    jg = JaxGraph(net.graph)
    params, state = jg.arrays_from(net.params)
    buffers = jax.tree_util.tree_map(jax.numpy.zeros_like, params)
    step = jg.train_step_fn(SGD)
    for _ in range(2):  # the second step uses the momentum buffer
        params, buffers, state, loss = step(params, buffers, state, x, jax.random.PRNGKey(0))
        assert float(loss) == pytest.approx(net.train_step(**x), rel=1e-5)
    for name in jg.trainable:
        close(params[name], net.params[name], name, rtol=1e-5)


def random_params(graph, seed=0):
    rng = np.random.default_rng(seed)
    return {f"{n.name}.{k}": (rng.uniform(0.5, 1.5, p.shape) if k == "running_var" else rng.standard_normal(p.shape))
            .astype(np.float32) for n in graph.nodes() for k, p in n.params.items()}


def test_dropout_draws_only_when_allowed():
    graph = load_graph("specs/dna_cnn.yaml")
    x = make_inputs(graph, 8, None)
    params, state = JaxGraph(graph).arrays_from(random_params(graph))
    with pytest.raises(Unsupported, match="dropout"):
        JaxGraph(graph).run(params, state, x, training=True, key=jax.random.PRNGKey(0))
    values, _ = JaxGraph(graph, random_ok=True).run(params, state, x, training=True, key=jax.random.PRNGKey(0))
    kept, dropped = np.asarray(values["globalmaxpool1d_1"]), np.asarray(values["dropout_1"])
    assert np.all((dropped == 0) | np.isclose(dropped, 2 * kept))  # rate 0.5: zero, or scaled by 1/(1 - 0.5)
    assert 0 < np.mean(dropped == 0) < 1


def test_unsupported_op_is_refused():
    graph = netc.parse("netc: 1\nname: m\ninputs:\n  x: [8]\nlayers:\n  - maxout: {pieces: 2}\n")
    with pytest.raises(Unsupported, match="maxout"):
        JaxGraph(graph)


@pytest.mark.parametrize("inputs, layer", [
    ("x: [3, 9, 9]", "maxpool2d: {kernel: 3, stride: 2, pad: 1, rounding: ceil}"),
    ("x: [3, 9, 9]", "avgpool2d: {kernel: 3, stride: 2, pad: 1, rounding: ceil}"),
    ("x: [3, 9, 9]", "avgpool2d: {kernel: 3, stride: 2, pad: 1, rounding: ceil, count_include_pad: true}"),
    ("x: [3, 9, 9]", "conv2d: {filters: 4, kernel: 3, stride: 2, pad: same}"),
    ("x: [2, 11]", "conv1d: {filters: 3, kernel: 3, dilation: 2, pad: 1, rounding: ceil, stride: 2}"),
    ("x: [3, 4, 4]", "batchnorm"),
    ("x: {shape: [T, 5]}", "lstm: {units: 3, layers: 2, bidirectional: true, peephole: true, return: state}"),
    ("x: {shape: [T, 5]}", "rnn: {units: 3, activation: relu, return: last}"),
])
def test_rules_beyond_the_workloads_match_netc_reference(inputs, layer):
    """Attributes the workloads do not use (ceil rounding, padding, dilation, stacked bidirectional
    peephole LSTMs), against each op's NumPy reference in netc/ops (eval mode)."""
    graph = netc.parse(f"netc: 1\nname: t\ninputs:\n  {inputs}\nlayers:\n  - {layer}\n")
    x = make_inputs(graph, 2, 4)
    params = random_params(graph)
    values, _ = JaxGraph(graph).run(*JaxGraph(graph).arrays_from(params), x)
    node = graph.node(graph.order[-1])
    expected = node.op.reference(node, [x[node.inputs[0]]], {k: params[f"{node.name}.{k}"] for k in node.params})
    close(values[node.name], expected, node.name, rtol=1e-5)
