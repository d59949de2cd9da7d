"""Stage 4, infer: shape rules through whole specs, located errors, no cascades, size limits."""
import pytest

import netc
from netc.errors import SpecError


def net(inputs, layers, loss=""):
    return f"netc: 1\nname: t\ninputs:\n{inputs}layers:\n{layers}{loss}"


def shapes(text):
    return {n.name: str(n.type) for n in netc.parse(text, "s.yaml").nodes()}


def first(text):
    with pytest.raises(SpecError) as info:
        netc.parse(text, "s.yaml")
    return info.value.render().splitlines()[0]


def test_lenet5_shapes_params_and_macs():
    text = """netc: 1
name: lenet5
inputs:
  image: [1, 28, 28]
  label: {shape: [], dtype: int32}
layers:
  - conv2d: {filters: 6, kernel: 5, pad: 2}
  - tanh
  - avgpool2d: {kernel: 2, stride: 2}
  - conv2d: {filters: 16, kernel: 5}
  - tanh
  - avgpool2d: {kernel: 2, stride: 2}
  - flatten
  - dense: {units: 120}
  - tanh
  - dense: {units: 84}
  - tanh
  - dense: {units: 10, name: logits}
loss:
  softmax_cross_entropy: {logits: logits, labels: label}
"""
    g = netc.parse(text)
    assert str(g.node("avgpool2d_2").type) == "N x 16 x 5 x 5" and str(g.node("flatten_1").type) == "N x 400"
    assert sum(p.size for n in g.nodes() for p in n.params.values()) == 61706
    assert sum(n.macs for n in g.nodes()) == 416520
    assert g.warnings == []


def test_sequences_keep_T():
    s = shapes(net("  ids: {shape: [T], dtype: int32}\n",
                   "  - embedding: {vocab: 50, dim: 8}\n  - lstm: {units: 16}\n  - dense: {units: 50}\n"))
    assert s["embedding_1"] == "N x T x 8" and s["lstm_1"] == "N x T x 16" and s["dense_1"] == "N x T x 50"


@pytest.mark.parametrize("inputs, layers, expect", [
    ("  x: [T, 8]\n", "  - flatten\n",
     "s.yaml:6:5: error: flatten 'flatten_1': cannot flatten N x T x 8: the sequence length T is not fixed"),
    ("  x: [3, 8, 8]\n", "  - dense: {units: 4}\n",
     "s.yaml:6:5: error: dense 'dense_1': expects N x features"),
    ("  x: [8]\n", "  - maxout: {pieces: 3}\n",
     "s.yaml:6:22: error: maxout 'maxout_1': 8 features along axis 1 do not split into groups of 3 (8/3 = 2.667)"),
    ("  x: [12]\n", "  - reshape: {shape: [5, 2]}\n",
     "s.yaml:6:22: error: reshape 'reshape_1': 12 = 12 elements per example, but 5 x 2 = 10"),
    ("  x: [12]\n", "  - reshape: {shape: [5, -1]}\n",
     "s.yaml:6:22: error: reshape 'reshape_1': 12 = 12 elements cannot fill 5 x -1: 12/5 = 2.4"),
    ("  a: [3, 8, 8]\n  b: [4, 8, 4]\n", "  - concat: {in: [a, b]}\n",
     "s.yaml:7:5: error: concat 'concat_1': input 2 (N x 4 x 8 x 4) and input 1 (N x 3 x 8 x 8) differ in axis 3 (4 vs 8); only axis 1 may differ"),
    ("  a: [3, 8]\n  b: [3, 4]\n", "  - add: {in: [a, b]}\n",
     "s.yaml:7:5: error: add 'add_1': cannot combine N x 3 x 8 with N x 3 x 4: axis 2 is 8 in one and 4 in the other"),
    ("  x: [T, 8]\n  s: [20]\n", "  - lstm: {units: 5, state: s}\n",
     "s.yaml:7:5: error: lstm 'lstm_1': the initial state is N x 20, but 1 layer(s) x 1 direction(s) x 2 state(s) x 5 units needs N x 10"),
    ("  x: {shape: [4], dtype: int32}\n", "  - relu\n",
     "s.yaml:6:5: error: relu 'relu_1': input must be a float tensor, found int32 (N x 4)"),
    ("  x: [4]\n", "  - embedding: {vocab: 10, dim: 3}\n",
     "s.yaml:6:5: error: embedding 'embedding_1': expects integer ids, found float32 N x 4"),
])
def test_shape_errors_are_located_and_explained(inputs, layers, expect):
    assert first(net(inputs, layers)).startswith(expect)


@pytest.mark.parametrize("labels, loss, expect", [
    ("{shape: [], dtype: float32}", "softmax_cross_entropy: {labels: y}",
     "s.yaml:9:3: error: softmax_cross_entropy 'loss': float labels (class probabilities) must have the logits' shape N x 10, found N"),
    ("{shape: [10], dtype: int32}", "softmax_cross_entropy: {labels: y}",
     "s.yaml:9:3: error: softmax_cross_entropy 'loss': integer labels must have shape N (one class id per row of logits N x 10), found N x 10"),
    ("{shape: [], dtype: int32}", "binary_cross_entropy: {labels: y}",
     "s.yaml:9:3: error: binary_cross_entropy 'loss': labels must have the shape of the logits N x 10, found N"),
    ("{shape: [10], dtype: int32}", "mse: {target: y}",
     "s.yaml:9:3: error: mse 'loss': target (int32 N x 10) must match the prediction (float32 N x 10)"),
])
def test_label_dtype_and_shape_mismatch_in_a_loss(labels, loss, expect):
    text = net(f"  x: [4]\n  y: {labels}\n", "  - dense: {units: 10}\n", f"loss:\n  {loss}\n")
    assert first(text) == expect


def test_independent_shape_errors_all_reported_without_cascade():
    text = net("  x: [3, 9, 9]\n", """  - conv2d: {filters: 4, kernel: 2, stride: 2, name: a}
  - relu
  - dense: {units: 3}
  - conv2d: {filters: 4, kernel: 3, stride: 2, in: x, name: b}
  - maxout: {pieces: 2, in: x}
""")
    with pytest.raises(SpecError) as info:
        netc.parse(text, "s.yaml")
    # a fails; relu and dense, which read it, are skipped rather than reported; b divides; maxout fails
    assert [d.render().splitlines()[0] for d in info.value.diagnostics] == [
        "s.yaml:6:45: error: conv2d 'a': output height (H - F + 2P)/S + 1 = (9 - 2 + 2*0)/2 + 1 = 4.5 is not a whole number",
        "s.yaml:10:22: error: maxout 'maxout_1': 3 features along axis 1 do not split into groups of 2 (3/2 = 1.5)",
    ]


def test_dtype_float64_types_every_float_tensor():
    g = netc.parse(net("  x: [4]\n  y: {shape: [], dtype: int64}\n", "  - dense: {units: 3}\n",
                       "loss:\n  softmax_cross_entropy: {labels: y}\n"), dtype="float64")
    assert g.node("x").type.dtype == "float64" and g.node("dense_1").type.dtype == "float64"
    assert g.node("y").type.dtype == "int64" and g.dtype == "float64"
    with pytest.raises(ValueError):
        netc.parse(net("  x: [4]\n", "  - relu\n"), dtype="float16")


def test_tensors_too_large_are_refused():
    assert first(net("  x: [65536, 65536]\n", "  - relu\n")) == (
        "s.yaml:4:3: error: input 'x': its output N x 65536 x 65536 holds 4,294,967,296 values per example "
        "(16.0 GiB as float32); netc allows at most 2,147,483,648")
    assert first(net("  x: [1000000]\n", "  - dense: {units: 100000}\n")) == (
        "s.yaml:6:5: error: dense 'dense_1': its parameter 'weight' 1000000 x 100000 holds 100,000,000,000 values; "
        "netc allows at most 2,147,483,648")
