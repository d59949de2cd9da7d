"""Stage 2, expand: sections, inputs/outputs, losses, defaults, blocks, expressions, repeat, names, references."""
import os
import textwrap

import pytest

import netc
from netc.errors import SpecError

HEAD = "netc: 1\nname: t\ninputs:\n  x: [4]\n"


def spec(body, head=HEAD):
    return head + textwrap.dedent(body).lstrip("\n")


def ok(text):
    return netc.parse(text, "s.yaml")


def errors(text):
    """Every diagnostic, as its first line plus its hint and call sites."""
    with pytest.raises(SpecError) as info:
        netc.parse(text, "s.yaml")
    return info.value.diagnostics


def lines(text):
    return [d.render().splitlines()[0] for d in errors(text)]


def shapes(graph):
    return {n.name: str(n.type) for n in graph.nodes()}


# -- sections and the format version ----------------------------------------------------------

def test_a_minimal_spec():
    g = ok(spec("layers:\n  - dense: {units: 3}\n"))
    assert g.name == "t" and shapes(g) == {"x": "N x 4", "dense_1": "N x 3"} and g.outputs == ["dense_1"]


@pytest.mark.parametrize("head, expect", [
    ("name: t\ninputs: {x: [4]}\n",
     "s.yaml:1:1: error: the spec does not say which netc format it uses"),
    ("netc: 2\nname: t\ninputs: {x: [4]}\n", "s.yaml:1:7: error: unsupported format version 2; this netc reads version 1"),
    ("netc: '1'\nname: t\ninputs: {x: [4]}\n", "s.yaml:1:7: error: unsupported format version '1'; this netc reads version 1"),
    ("netc: true\nname: t\ninputs: {x: [4]}\n", "s.yaml:1:7: error: unsupported format version True; this netc reads version 1"),
    ("netc: 1.0\nname: t\ninputs: {x: [4]}\n", "s.yaml:1:7: error: unsupported format version 1.0; this netc reads version 1"),
])
def test_format_version(head, expect):
    assert lines(head + "layers: [relu]\n") == [expect]


def test_the_top_level_must_be_a_mapping():
    assert lines("- relu\n- tanh\n") == ["s.yaml:1:1: error: a spec is a mapping with keys 'netc', 'name', 'inputs' and 'layers'"]


def test_unknown_section_suggests_and_is_not_also_reported_missing():
    # 'layer' for 'layers': one error, not also "the spec has no 'layers'"
    assert lines("netc: 1\nname: t\ninputs: {x: [4]}\nlayer:\n  - relu\n") == ["s.yaml:4:1: error: unknown section 'layer'"]
    d = errors("netc: 1\nname: t\ninput: {x: [4]}\nlayers: [relu]\n")
    assert len(d) == 1 and d[0].hint == "did you mean 'inputs'?"
    d = errors("netcc: 1\nname: t\ninputs: {x: [4]}\nlayers: [relu]\n")
    assert len(d) == 1 and d[0].hint == "did you mean 'netc'?"


def test_all_problems_of_a_file_in_one_pass():
    text = spec("""
        lossy: 1
        layers:
          - conv1d: {filters: 2, kernel: 3}
          - dense: {units: 4, kernal: 2}
          - nosuchop
          - relu: {in: nowhere}
        train: {epochs: 0, optimiser: sgd}
        """, head="netc: 1\nname: t\ninputs:\n  x: [4]\n  y: {shape: [2], dtype: int33}\n")
    assert lines(text) == [
        "s.yaml:5:26: error: unknown dtype 'int33' for input 'y'",
        "s.yaml:6:1: error: unknown section 'lossy'",
        "s.yaml:9:23: error: unknown attribute 'kernal' for dense",
        "s.yaml:10:5: error: unknown op 'nosuchop'",
        "s.yaml:11:16: error: relu 'relu_1': no layer or input named 'nowhere'",
        "s.yaml:12:17: error: train: 'epochs' must be at least 1, found 0",
        "s.yaml:12:20: error: unknown key 'optimiser' in train",
    ]
    # attribute errors of every layer come in the same pass as the expansion errors
    text = spec("""
        layers:
          - dense: {units: 4, kernal: 2}
          - dense: {units: -3}
          - nosuchop
        """)
    assert lines(text) == [
        "s.yaml:6:23: error: unknown attribute 'kernal' for dense",
        "s.yaml:7:20: error: dense 'dense_2': 'units' must be at least 1, found -3",
        "s.yaml:8:5: error: unknown op 'nosuchop'",
    ]


# -- inputs and outputs --------------------------------------------------------------------------

def test_several_inputs_and_outputs():
    g = ok(spec("""
        layers:
          - dense: {units: 3, in: a, name: ha}
          - dense: {units: 5, in: b, name: hb}
          - concat: {in: [ha, hb], name: both}
          - dense: {units: 2, name: out1}
          - dense: {units: 1, in: both, name: out2}
        outputs: [out1, out2]
        """, head="netc: 1\nname: t\ninputs:\n  a: [4]\n  b: {shape: [6]}\n"))
    assert g.inputs == ["a", "b"] and g.outputs == ["out1", "out2"]
    assert shapes(g)["both"] == "N x 8" and shapes(g)["out2"] == "N x 1"
    assert g.warnings == []


@pytest.mark.parametrize("decl, shape, dtype", [
    ("[1, 28, 28]", ("N", 1, 28, 28), "float32"), ("7", ("N", 7), "float32"),
    ("{shape: [], dtype: int32}", ("N",), "int32"), ("{shape: [T, 65]}", ("N", "T", 65), "float32"),
    ("{shape: [T], dtype: int64}", ("N", "T"), "int64"),
])
def test_input_declarations(decl, shape, dtype):
    op = "one_hot: {classes: 3}" if "int" in decl else "identity"
    g = ok(f"netc: 1\nname: t\ninputs:\n  x: {decl}\nlayers:\n  - {op}\n")
    assert g.node("x").type.shape == shape and g.node("x").type.dtype == dtype


@pytest.mark.parametrize("decl, expect", [
    ("[N, 4]", "s.yaml:4:7: error: input 'x': the batch dimension N is implicit"),
    ("[0, 4]", "s.yaml:4:7: error: input 'x': a size must be a positive whole number or T, found 0"),
    ("[-2]", "s.yaml:4:7: error: input 'x': a size must be a positive whole number or T, found -2"),
    ("[4, true]", "s.yaml:4:10: error: input 'x': a size must be a positive whole number or T, found True"),
    ("[4, 2.5]", "s.yaml:4:10: error: input 'x': a size must be a positive whole number or T, found 2.5"),
    ("[99999999999]", "s.yaml:4:7: error: input 'x': a size must be a positive whole number or T, found 99999999999"),
    ("hello", "s.yaml:4:6: error: the shape of input 'x' must be a list of sizes, found 'hello'"),
    ("{shape: [4], dtype: float16}", "s.yaml:4:26: error: unknown dtype 'float16' for input 'x'"),
    ("{dtype: int32}", "s.yaml:4:6: error: input 'x' has no shape"),
    ("{shap: [4]}", "s.yaml:4:7: error: unknown key 'shap' for input 'x'"),  # and not also "has no shape"
])
def test_bad_input_declarations(decl, expect):
    assert lines(f"netc: 1\nname: t\ninputs:\n  x: {decl}\nlayers:\n  - identity\n") == [expect]


def test_bad_input_names_and_sections():
    assert lines("netc: 1\nname: t\ninputs: [4]\nlayers: [relu]\n") == [
        "s.yaml:3:9: error: the spec needs 'inputs': a mapping from input names to shapes"]
    assert lines("netc: 1\nname: t\ninputs: {a/b: [4]}\nlayers: [relu]\n") == ["s.yaml:3:10: error: 'a/b' is not a valid name"]
    assert lines(HEAD + "layers: {relu: null}\n") == ["s.yaml:5:9: error: 'layers' must be a non-empty list"]
    assert lines(HEAD + "layers: []\n") == ["s.yaml:5:9: error: 'layers' must be a non-empty list"]
    assert lines(HEAD) == ["s.yaml:1:1: error: the spec has no 'layers'"]
    assert lines(HEAD + "name2: 3\nlayers: [relu]\n")[0] == "s.yaml:5:1: error: unknown section 'name2'"
    assert lines("netc: 1\nname: [a]\ninputs: {x: [4]}\nlayers: [relu]\n") == ["s.yaml:2:7: error: 'name' must be a word, found ['a']"]


def test_outputs_are_checked():
    assert lines(spec("layers: [relu]\noutputs: [relu_1, relu_9]\n")) == [
        "s.yaml:6:19: error: output: no layer or input named 'relu_9'"]
    assert lines(spec("layers: [relu]\noutputs: [3]\n")) == ["s.yaml:6:11: error: 'outputs' must name layers, found 3"]
    assert ok(spec("layers: [relu]\noutputs: relu_1\n")).outputs == ["relu_1"]


# -- losses --------------------------------------------------------------------------------------

def test_a_single_loss_reads_the_last_layer():
    g = ok("netc: 1\nname: t\ninputs:\n  x: [4]\n  y: {shape: [], dtype: int32}\nlayers:\n  - dense: {units: 3}\n"
           "loss:\n  softmax_cross_entropy: {labels: y}\n")
    assert g.losses == ["loss"] and g.node("loss").inputs == ["dense_1", "y"]
    assert str(g.node("loss").type) == "scalar"


def test_weighted_losses():
    g = ok(spec("""
        layers:
          - dense: {units: 2, name: code}
          - dense: {units: 4, name: recon}
          - dense: {units: 3, in: code, name: logits}
        loss:
          - mse: {pred: recon, target: x, weight: 0.5, name: rec}
          - softmax_cross_entropy: {logits: logits, labels: y, weight: 2}
        """, head="netc: 1\nname: t\ninputs:\n  x: [4]\n  y: {shape: [], dtype: int32}\n"))
    assert g.losses == ["rec", "softmax_cross_entropy_1"]
    assert [g.node(n).weight for n in g.losses] == [0.5, 2.0]
    assert "loss: 0.5 * rec + 2 * softmax_cross_entropy_1" in netc.summary.summary(g) if hasattr(netc, "summary") else True


@pytest.mark.parametrize("loss, expect", [
    ("mse: {target: x, weight: -1}", "s.yaml:8:28: error: a loss weight must be a number >= 0, found -1"),
    ("mse: {target: x, weight: .inf}", "s.yaml:8:28: error: a loss weight must be a number >= 0, found inf"),
    ("mse: {target: x, weight: heavy}", "s.yaml:8:28: error: a loss weight must be a number >= 0, found 'heavy'"),
    ("dense: {units: 3}", "s.yaml:8:3: error: 'dense' is not a loss"),
    ("msee: {target: x}", "s.yaml:8:3: error: 'msee' is not a loss"),
    ("softmax_cross_entropy: {}", "s.yaml:8:3: error: softmax_cross_entropy 'loss' needs input 'labels' (it reads logits, labels), given 1"),
    ("mse: {target: x, name: dense_1}", "s.yaml:8:26: error: the name 'dense_1' is already used"),
])
def test_bad_losses(loss, expect):
    assert lines(spec(f"layers:\n  - dense: {{units: 4}}\nloss:\n  {loss}\n")) == [expect]


def test_mistyped_loss_gets_did_you_mean():
    d = errors(spec("layers:\n  - dense: {units: 4}\nloss:\n  msee: {target: x}\n"))
    assert d[0].hint == "did you mean 'mse'?"


# -- defaults ---------------------------------------------------------------------------------

def test_defaults_apply_and_a_layer_overrides_them():
    g = ok(spec("""
        defaults: {conv1d: {rounding: floor, bias: false}, dense: {bias: false}}
        layers:
          - conv1d: {filters: 2, kernel: 2, stride: 3}
          - conv1d: {filters: 2, kernel: 1, bias: true}
        """, head="netc: 1\nname: t\ninputs:\n  x: [1, 8]\n"))
    assert g.node("conv1d_1").attrs["rounding"] == "floor" and shapes(g)["conv1d_1"] == "N x 2 x 3"
    assert list(g.node("conv1d_1").params) == ["weight"] and list(g.node("conv1d_2").params) == ["weight", "bias"]


def test_bad_defaults_are_reported_once():
    text = spec("""
        defaults: {conv1d: {kernal: 3, rounding: flor}, convv1d: {}, relu: 3}
        layers:
          - conv1d: {filters: 2, kernel: 1}
          - conv1d: {filters: 2, kernel: 1}
        """, head="netc: 1\nname: t\ninputs:\n  x: [1, 8]\n")
    assert lines(text) == [
        "s.yaml:5:21: error: unknown attribute 'kernal' for conv1d in defaults",
        "s.yaml:5:42: error: defaults for conv1d: 'rounding' must be one of exact, floor, ceil; found 'flor'",
        "s.yaml:5:49: error: unknown op 'convv1d' in defaults",
        "s.yaml:5:68: error: defaults for 'relu' must be a mapping",
    ]


# -- blocks ---------------------------------------------------------------------------------------

SE = """
blocks:
  se:
    params: {channels: int, reduction: 4}
    layers:
      - globalavgpool2d
      - dense: {units: "channels // reduction"}
      - relu
      - dense: {units: channels}
      - sigmoid
      - mul: {in: [$input, $last]}
"""


def se_spec(calls):
    return "netc: 1\nname: t\ninputs:\n  x: [3, 8, 8]\n" + SE + "layers:\n  - conv2d: {filters: 16, kernel: 3, pad: 1}\n" + calls


def test_block_params_expressions_input_and_last():
    g = ok(se_spec("  - se: {channels: 16}\n"))
    assert shapes(g)["se_1/dense_1"] == "N x 4" and shapes(g)["se_1/dense_2"] == "N x 16"
    assert g.node("se_1/mul_1").inputs == ["conv2d_1", "se_1/sigmoid_1"]
    assert g.outputs == ["se_1/mul_1"]
    g = ok(se_spec("  - se: {channels: 16, reduction: 8}\n"))
    assert shapes(g)["se_1/dense_1"] == "N x 2"


def test_repeat_of_a_block_chains_and_names_each_copy():
    g = ok(se_spec("  - se: {channels: 16, repeat: 3}\n  - flatten\n"))
    assert g.node("se_2/globalavgpool2d_1").inputs == ["se_1/mul_1"]
    assert g.node("se_3/mul_1").inputs == ["se_2/mul_1", "se_3/sigmoid_1"]
    assert g.node("flatten_1").inputs == ["se_3/mul_1"]


def test_named_block_calls_and_hierarchical_references():
    g = ok(se_spec("  - se: {channels: 16, name: s1}\n  - se: {channels: 16, name: s2}\n"
                   "  - add: {in: [s1, s2/dense_2]}\n"))
    assert g.node("add_1").inputs == ["s1/mul_1", "s2/dense_2"]
    assert g.node("s2/globalavgpool2d_1").inputs == ["s1/mul_1"]


def test_nested_blocks_names_and_call_sites():
    text = """netc: 1
name: t
inputs:
  x: [4]
blocks:
  inner:
    params: {u: int}
    layers:
      - dense: {units: u, name: fc}
      - relu
  outer:
    params: {u: int}
    layers:
      - inner: {u: "u * 2", name: a}
      - inner: {u: "u * 3", name: b, in: $input}
      - add: {in: [a/fc, b]}
      - dense: {units: "u - 100"}
layers:
  - outer: {u: 4, name: stage1}
  - outer: {u: 1, name: stage2, repeat: 2}
"""
    d = errors(text)
    # the error inside a nested block names the line in the block and every call site
    assert [x.render() for x in d] == [
        "s.yaml:16:9: error: add 'stage1/add_1': cannot combine N x 8 with N x 12: axis 1 is 8 in one and 12 in the other\n"
        "  hint: shapes must agree axis by axis after the batch, or be 1 there (N x C scales N x C x H x W per channel); "
        "on a residual path, a 1x1 conv with the right filters and stride makes them agree\n"
        "  in block 'outer' called at s.yaml:19:5",
        "s.yaml:17:24: error: dense 'stage1/dense_1': 'units' must be at least 1, found -96\n"
        "  in block 'outer' called at s.yaml:19:5",
        "s.yaml:17:24: error: dense 'stage2_1/dense_1': 'units' must be at least 1, found -99\n"
        "  in block 'outer' called at s.yaml:20:5",
        "s.yaml:17:24: error: dense 'stage2_2/dense_1': 'units' must be at least 1, found -99\n"
        "  in block 'outer' called at s.yaml:20:5",
    ]
    fixed = text.replace('"u * 3"', '"u * 2"').replace('"u - 100"', '"u + 1"')
    g = ok(fixed)
    assert shapes(g)["stage1/a/fc"] == "N x 8" and shapes(g)["stage2_2/dense_1"] == "N x 2"
    assert g.node("stage1/b/fc").inputs == ["x"]  # $input of outer, through inner
    assert g.node("stage2_1/a/fc").inputs == ["stage1/dense_1"]
    assert g.node("stage2_1/b/fc").call_sites[0][0] == "inner"
    assert [b for b, _ in g.node("stage2_1/b/fc").call_sites] == ["inner", "outer"]


def test_error_deep_in_a_block_names_the_block_line_and_every_call_site():
    text = """netc: 1
name: t
inputs:
  x: [4]
blocks:
  inner:
    layers:
      - dense: {units: 2, kernal: 3}
  outer:
    layers:
      - inner
layers:
  - outer
"""
    (d,) = errors(text)
    assert d.render() == ("s.yaml:8:27: error: unknown attribute 'kernal' for dense\n"
                          "  hint: expected one of: bias, in, init, name, repeat, units, x\n"
                          "  in block 'inner' called at s.yaml:11:9\n"
                          "  in block 'outer' called at s.yaml:13:5")


@pytest.mark.parametrize("call, expect", [
    ("se", "s.yaml:18:5: error: block 'se' needs parameter 'channels' (int)"),
    ("se: {channel: 16}", "s.yaml:18:10: error: unknown parameter 'channel' for block 'se'"),  # not also "needs"
    ("se: {channels: 2.5}", "s.yaml:18:20: error: parameter 'channels' of block 'se' must be int, found 2.5"),
    ("se: {channels: true}", "s.yaml:18:20: error: parameter 'channels' of block 'se' must be int, found True"),
    ("se: {channels: '16', reduction: many}", "s.yaml:18:37: error: parameter 'reduction' of block 'se' must be int, found 'many'"),
    ("se: {channels: 16, in: [x, x]}", "s.yaml:18:5: error: block 'se' reads one input, given 2"),
    ("se: {channels: 16, repeat: 0}", "s.yaml:18:32: error: 'repeat' must be a whole number from 1 to 10,000, found 0"),
    ("se: {channels: 16, repeat: 100000}", "s.yaml:18:32: error: 'repeat' must be a whole number from 1 to 10,000, found 100000"),
    ("se: {channels: 16, name: a/b}", "s.yaml:18:30: error: 'a/b' is not a valid name"),
    ("se: [16]", "s.yaml:18:9: error: the attributes of 'se' must be a mapping, found [16]"),
    ("{se: {channels: 16}, relu: null}", "s.yaml:18:5: error: a layer entry must name exactly one op, found 2 keys: se, relu"),
])
def test_bad_block_calls(call, expect):
    assert lines(se_spec(f"  - {call}\n")) == [expect]


def test_block_param_defaults_and_types():
    text = """netc: 1
name: t
inputs:
  x: [1, 9]
blocks:
  b:
    params: {k: int, rate: 0.5, bias: true, how: floor, scale: float}
    layers:
      - conv1d: {filters: 1, kernel: k, stride: 2, rounding: how, bias: bias}
      - dropout: {rate: "rate * scale"}
layers:
  - b: {k: 2, scale: 1}
  - b: {k: 2, rate: 0.25, bias: false, how: ceil, scale: 2.0}
"""
    g = ok(text)
    assert shapes(g)["b_1/conv1d_1"] == "N x 1 x 4" and shapes(g)["b_2/conv1d_1"] == "N x 1 x 2"
    assert g.node("b_1/dropout_1").attrs["rate"] == 0.5 and g.node("b_2/dropout_1").attrs["rate"] == 0.5
    assert "bias" not in g.node("b_2/conv1d_1").params


@pytest.mark.parametrize("params, expect", [
    ("{n: integer}", "s.yaml:7:17: error: unknown type 'integer' for parameter 'n' of block 'b'"),
    ("{n: [1]}", "s.yaml:7:17: error: parameter 'n' of block 'b' needs a type (int, float, bool, str) or a default value"),
    ("{name: str}", "s.yaml:7:14: error: block 'b' cannot have a parameter named 'name'"),
    ("[n]", "s.yaml:7:13: error: 'params' of block 'b' must be a mapping"),
])
def test_bad_block_definitions(params, expect):
    text = f"netc: 1\nname: t\ninputs:\n  x: [4]\nblocks:\n  b:\n    params: {params}\n    layers: [relu]\nlayers:\n  - relu\n"
    assert lines(text) == [expect]


def test_more_bad_block_definitions():
    head = "netc: 1\nname: t\ninputs:\n  x: [4]\n"
    assert lines(head + "blocks:\n  relu: {layers: [tanh]}\nlayers: [relu]\n") == [
        "s.yaml:6:3: error: block 'relu' has the name of a built-in op"]
    # a misspelt 'layers' is one error: not also "needs layers", nor "unknown op" at the call
    assert lines(head + "blocks:\n  b: {layer: [tanh]}\nlayers: [b]\n") == ["s.yaml:6:7: error: unknown key 'layer' in block 'b'"]
    assert lines(head + "blocks:\n  b: {layers: []}\nlayers: [b]\n") == [
        "s.yaml:6:15: error: block 'b' needs a non-empty list of 'layers'"]
    assert lines(head + "blocks:\n  b: {layers: [tanh], output: nope}\nlayers: [b]\n") == [
        "s.yaml:6:31: error: block 'b' has no layer named 'nope'"]


def test_block_output_names_the_result():
    g = ok("netc: 1\nname: t\ninputs:\n  x: [4]\nblocks:\n  b:\n    output: mid\n    layers:\n"
           "      - dense: {units: 3, name: mid}\n      - relu\nlayers:\n  - b\n  - tanh\n")
    assert g.node("tanh_1").inputs == ["b_1/mid"]
    assert [w.message for w in g.warnings] == ["layer 'b_1/relu_1' is never used"]


def test_a_block_that_calls_itself():
    text = "netc: 1\nname: t\ninputs:\n  x: [4]\nblocks:\n  a:\n    layers:\n      - relu\n      - a\nlayers:\n  - a\n"
    (d,) = errors(text)
    assert d.render() == ("s.yaml:9:9: error: block 'a' calls itself (a -> a)\n"
                          "  hint: a block may call other blocks, but never itself\n"
                          "  in block 'a' called at s.yaml:11:5")
    text = ("netc: 1\nname: t\ninputs:\n  x: [4]\nblocks:\n  a:\n    layers: [b]\n  b:\n    layers: [relu, a]\n"
            "layers:\n  - a: {repeat: 3}\n")
    assert lines(text) == ["s.yaml:9:20: error: block 'a' calls itself (a -> b -> a)"]


# -- expressions ---------------------------------------------------------------------------------

def block_with(units_expr, call="b: {n: 12}", extra=""):
    return (f"netc: 1\nname: t\ninputs:\n  x: [4]\nblocks:\n  b:\n    params: {{n: int, f: 0.5, s: relu}}\n"
            f"    layers:\n      - dense: {{units: {units_expr}}}\n{extra}layers:\n  - {call}\n")


@pytest.mark.parametrize("text, units", [
    ('"n // 4 + 1"', 4), ('"n * 2 - 3"', 21), ('"n % 5"', 2), ('"2 ** 3"', 8), ('"-(-n)"', 12),
    ('"max(n, 100)"', 100), ('"min(n, 7, 9)"', 7), ('"abs(3 - n)"', 9), ('"(n + 4) // (2 * 2)"', 4),
    ('"min(n)"', 12), ('n', 12), ('"8"', 8), ('"n / 4"', None),
])
def test_expressions(text, units):
    if units is None:
        assert lines(block_with(text)) == ["s.yaml:9:24: error: dense 'b_1/dense_1': 'units' must be a whole number, found 3.0"]
        return
    g = ok(block_with(text))
    assert g.node("b_1/dense_1").attrs["units"] == units


def test_float_expression_for_a_float_attribute():
    g = ok(spec("layers:\n  - dropout: {rate: '1 / 4 + 0.25'}\n"))
    assert g.node("dropout_1").attrs["rate"] == 0.5


@pytest.mark.parametrize("text, message", [
    ('"n // 0"', "'n // 0': division by zero"),
    ('"n % 0"', "'n % 0': division by zero"),
    ('"0 ** -1"', "'0 ** -1': division by zero"),
    ('"2 ** 1000"', "'2 ** 1000': power too large"),
    ('"10 ** 16"', "'10 ** 16' = 10000000000000000 is out of range"),
    ('"999999999999999.0 ** 64"', "'999999999999999.0 ** 64' is out of range"),
    ('"(-8) ** 0.5"', "'(-8) ** 0.5' = (1.7319121124709868e-16+2.8284271247461903j) is out of range"),
    ('"abs(1, 2)"', "'abs(1, 2)': abs() takes one argument, given 2"),
    ('"max()"', "'max()': max() takes arguments, given 0"),
    ('"s * 2"', "'s' is 'relu', not a number, in expression 's * 2'"),
    ('"m * 2"', "unknown name 'm' in expression 'm * 2'"),
    ('"nn - 1"', "unknown name 'nn' in expression 'nn - 1'"),  # a near name: the expression error, not a word
])
def test_bad_expressions_are_located_and_reported_once(text, message):
    (d,) = errors(block_with(text))
    assert (d.loc.line, d.loc.col, d.message) == (9, 24, message)
    assert d.call_sites and d.call_sites[0][0] == "b"


@pytest.mark.parametrize("text, uses", [
    ("\"__import__('os').system('touch HACKED')\"", "a call"),
    ("\"open('/etc/passwd')\"", "a call of 'open'"),
    ('"n.bit_length()"', "a call"),
    ('"(n).real"', "attribute access ('.')"),
    ('"[n][0]"', "indexing ('[...]')"),
    ('"n if n else 1"', "'if ... else'"),
    ('"n > 1"', "a comparison"),
    ('"lambda: 1"', "'lambda'"),
    ('"n << 2"', "'<<'"),
    ("\"'a' * 3\"", "the constant 'a'"),
    ('"max(n, key=abs)"', "keyword arguments in max()"),
])
def test_syntax_outside_the_allow_list_is_refused_never_evaluated(text, uses, tmp_path):
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        (d,) = errors(block_with(text))
    finally:
        os.chdir(cwd)
    assert not list(tmp_path.iterdir())
    assert d.message.endswith(f"is not arithmetic netc evaluates: it uses {uses}")
    assert d.hint.startswith("an expression may use numbers, block parameters")


def test_words_with_dashes_are_names_not_arithmetic():
    g = ok(spec("layers:\n  - dense: {units: 3, name: fc-1}\n  - relu: {in: fc-1, name: out.1}\n"))
    assert g.node("out.1").inputs == ["fc-1"]
    # a choice misspelt with a dash is the attribute's error, with its did-you-mean
    (d,) = errors(spec("layers:\n  - dense: {units: 3, init: glorot-uniform}\n"))
    assert d.message == "dense 'dense_1': 'init' must be one of glorot_uniform, he_normal, normal, zeros; found 'glorot-uniform'"
    assert d.hint == "did you mean 'glorot_uniform'?"


def test_top_level_expressions():
    g = ok(spec("layers:\n  - dense: {units: '4 * 8'}\n  - dense: {units: '1e1'}\n") .replace("'1e1'", "10"))
    assert shapes(g)["dense_1"] == "N x 32"


# -- names, repeat, $input / $last, references ----------------------------------------------------

def test_automatic_names_and_repeat():
    g = ok(spec("layers:\n  - dense: {units: 4, repeat: 3}\n  - relu\n  - dense: {units: 2, name: fc, repeat: 2}\n"
                "  - add: {in: [fc, fc_1]}\n"))
    assert [n.name for n in g.nodes()] == ["x", "dense_1", "dense_2", "dense_3", "relu_1", "fc_1", "fc_2", "add_1"]
    assert g.node("add_1").inputs == ["fc_2", "fc_1"]  # the name of a repeat is its last copy


def test_repeat_with_in_applies_to_the_first_copy():
    g = ok(spec("layers:\n  - dense: {units: 4, name: a}\n  - relu: {in: x, repeat: 2}\n  - add: {in: [a, $last]}\n"))
    assert g.node("relu_1").inputs == ["x"] and g.node("relu_2").inputs == ["relu_1"]


def test_named_input_slots():
    g = ok(spec("layers:\n  - dense: {units: 4, name: a}\n  - add: {b: x}\n  - add: {a: x, b: a}\n"))
    assert g.node("add_1").inputs == ["a", "x"] and g.node("add_2").inputs == ["x", "a"]
    assert lines(spec("layers:\n  - add: {in: [x, x], a: x}\n")) == [
        "s.yaml:6:26: error: add 'add_1': input 'a' is given twice, by 'in:' and by 'a:'"]


@pytest.mark.parametrize("layers, expect", [
    ("  - relu: {in: $input}\n", "s.yaml:6:16: error: '$input' is only meaningful inside a block"),
    ("  - relu: {in: $lats}\n", "s.yaml:6:16: error: unknown reference '$lats'"),
    ("  - relu: {in: [x, 3]}\n", "s.yaml:6:20: error: 'in' must name layers or inputs, found 3"),
    ("  - relu: {in: []}\n", "s.yaml:6:16: error: 'in' is empty"),
    ("  - relu: {in: nope}\n", "s.yaml:6:16: error: relu 'relu_1': no layer or input named 'nope'"),
    ("  - relu: {name: a}\n  - relu: {name: a}\n", "s.yaml:7:18: error: the name 'a' is already used (line 6)"),
    ("  - relu: {name: x}\n", "s.yaml:6:18: error: the name 'x' is already used (line 4)"),
    ("  - 42\n", "s.yaml:6:5: error: a layer entry must be an op name or '- op: {attributes}', found 42"),
    ("  - conv2dd: {filters: 3}\n", "s.yaml:6:5: error: unknown op 'conv2dd'"),
    ("  - input: {shape: [3]}\n", "s.yaml:6:5: error: 'input' is not a layer"),
])
def test_bad_references_and_names(layers, expect):
    assert lines(spec("layers:\n" + layers)) == [expect]


def test_dangling_reference_suggests_the_near_name():
    (d,) = errors(spec("layers:\n  - dense: {units: 3, name: logits}\n  - relu: {in: logit}\n"))
    assert d.hint == "did you mean 'logits'?"
    (d,) = errors(spec("layers:\n  - conv2dd: {filters: 3}\n"))
    assert d.hint == "did you mean 'conv2d'?"


def test_a_failed_layer_does_not_cause_follow_on_reference_errors():
    text = spec("layers:\n  - densee: {units: 3, name: a}\n  - relu: {in: a}\n  - tanh\n  - add: {in: [a, $last]}\n")
    assert lines(text) == ["s.yaml:6:5: error: unknown op 'densee'"]


def test_ambiguous_and_full_references():
    text = se_spec("  - se: {channels: 16, repeat: 2}\n  - add: {in: [dense_2, $last]}\n")
    (d,) = errors(text)
    assert d.message == "add 'add_1': 'dense_2' is ambiguous: it could be se_1/dense_2, se_2/dense_2"
    assert d.hint == "use the full name with its block path"
    g = ok(text.replace("[dense_2,", "[se_1/dense_2,").replace("add:", "mul:"))
    assert g.node("mul_1").inputs == ["se_1/dense_2", "se_2/mul_1"]


def test_a_wrong_in_of_a_block_call_is_reported_once_at_the_call():
    (d,) = errors(se_spec("  - se: {channels: 16, in: nope}\n"))
    assert d.render().splitlines()[0] == "s.yaml:18:28: error: block 'se' called as 'se_1': no layer or input named 'nope'"


def test_huge_repeat_is_refused_quickly():
    import time
    t0 = time.perf_counter()
    text = ("netc: 1\nname: t\ninputs:\n  x: [4]\nblocks:\n  b:\n    layers:\n" + "      - relu\n" * 20
            + "layers:\n  - b: {repeat: 10000}\n")
    (d,) = errors(text)
    assert time.perf_counter() - t0 < 2
    assert d.message == "the network expands to more than 20,000 layers"
