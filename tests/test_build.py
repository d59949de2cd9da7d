"""Stage 3, build: attribute checks, arity, cycles, losses as inputs, unused warnings, the graph's edges."""
import textwrap

import pytest

import netc
from netc.build import build
from netc.errors import SpecError
from netc.spec.expand import expand
from netc.spec.parse import parse_yaml

HEAD = "netc: 1\nname: t\ninputs:\n  x: [1, 8, 8]\n"


def spec(layers, head=HEAD):
    return head + "layers:\n" + textwrap.dedent(layers).lstrip("\n")


def lines(text):
    with pytest.raises(SpecError) as info:
        netc.parse(text, "s.yaml")
    return [d.render().splitlines()[0] for d in info.value.diagnostics]


def hints(text):
    with pytest.raises(SpecError) as info:
        netc.parse(text, "s.yaml")
    return [d.hint for d in info.value.diagnostics]


def test_build_alone_gives_a_graph_with_edges_and_slots():
    doc = parse_yaml(spec("  - conv2d: {filters: 2, kernel: 3, pad: 1}\n  - mul: {in: [conv2d_1, conv2d_1]}\n"), "s.yaml")
    g = build(expand(doc, "s.yaml"))
    assert list(g.g.edges(data=True)) == [("x", "conv2d_1", {"slots": [0]}), ("conv2d_1", "mul_1", {"slots": [0, 1]})]
    assert g.node("conv2d_1").attrs == {"filters": 2, "kernel": (3, 3), "pad": (1, 1), "stride": (1, 1),
                                        "dilation": (1, 1), "bias": True, "rounding": "exact", "init": "he_normal"}


def test_misspelt_attribute_is_one_error_not_two():
    # 'kernal' for 'kernel': only the did-you-mean, not also "needs attribute 'kernel'"
    text = spec("  - conv2d: {filters: 2, kernal: 3}\n")
    assert lines(text) == ["s.yaml:6:24: error: unknown attribute 'kernal' for conv2d"]
    assert hints(text) == ["did you mean 'kernel'?"]
    assert lines(spec("  - dense: {unit: 3}\n", "netc: 1\nname: t\ninputs:\n  x: [4]\n")) == [
        "s.yaml:6:11: error: unknown attribute 'unit' for dense"]
    # a missing attribute with nothing misspelt is still reported
    assert lines(spec("  - conv2d: {filters: 2}\n")) == ["s.yaml:6:3: error: conv2d 'conv2d_1' needs attribute 'kernel'"]
    assert hints(spec("  - conv2d: {kernel: 2}\n")) == ["add 'filters: ...' (number of output channels)"]


@pytest.mark.parametrize("attrs, expect, hint", [
    ("{filters: 2, kernel: 0}", "s.yaml:6:32: error: conv2d 'conv2d_1': 'kernel' must be at least 1, found 0", None),
    ("{filters: -4, kernel: 3}", "s.yaml:6:21: error: conv2d 'conv2d_1': 'filters' must be at least 1, found -4", None),
    ("{filters: 2.0, kernel: 3}", "s.yaml:6:21: error: conv2d 'conv2d_1': 'filters' must be a whole number, found 2.0",
     "write 2 without the decimal point (in an expression, '//' divides to a whole number)"),
    ("{filters: yes, kernel: 3}", "s.yaml:6:21: error: conv2d 'conv2d_1': 'filters' must be a whole number, found True",
     "YAML reads true/false/yes/no/on/off as booleans; write a number"),
    ("{filters: 99999999999, kernel: 3}",
     "s.yaml:6:21: error: conv2d 'conv2d_1': 'filters' must be at most 16,777,216, found 99,999,999,999",
     "this is far beyond any network that fits in memory"),
    ("{filters: 2, kernel: [3, 3, 3]}",
     "s.yaml:6:32: error: conv2d 'conv2d_1': 'kernel' has 3 values but this op has 2 spatial dimensions",
     "give one number for all, or exactly 2"),
    ("{filters: 2, kernel: 3, pad: sam}",
     "s.yaml:6:40: error: conv2d 'conv2d_1': 'pad' must be a whole number, a list, or 'same'; found 'sam'",
     "did you mean 'same'?"),
    ("{filters: 2, kernel: 3, rounding: flooor}",
     "s.yaml:6:45: error: conv2d 'conv2d_1': 'rounding' must be one of exact, floor, ceil; found 'flooor'",
     "did you mean 'floor'?"),
    ("{filters: 2, kernel: 3, bias: 'false'}",
     "s.yaml:6:41: error: conv2d 'conv2d_1': 'bias' must be true or false, found 'false'", "write true or false without quotes"),
    ("{filters: 2, kernel: {a: 1}}",
     "s.yaml:6:32: error: conv2d 'conv2d_1': 'kernel' must be a whole number, found a mapping", None),
    ("{filters: 2, kernel: null}",
     "s.yaml:6:32: error: conv2d 'conv2d_1': 'kernel' must be a whole number, found nothing (null)", None),
])
def test_attribute_values_are_checked_at_the_value(attrs, expect, hint):
    text = spec(f"  - conv2d: {attrs}\n")
    assert lines(text) == [expect]
    assert hints(text) == [hint]


@pytest.mark.parametrize("layer, expect", [
    ("dropout: {rate: 1.5}", "s.yaml:6:19: error: dropout 'dropout_1': 'rate' must be at most 0.99, found 1.5"),
    ("dropout: {rate: .nan}", "s.yaml:6:19: error: dropout 'dropout_1': 'rate' must be a finite number, found nan"),
    ("dropout: {rate: " + "9" * 400 + "}", "s.yaml:6:19: error: dropout 'dropout_1': 'rate' must be a finite number, found one with 400 digits"),
    ("reshape: {shape: [2, -1, -1]}", "s.yaml:6:20: error: reshape 'reshape_1': 'shape' may hold -1 only once"),
    ("reshape: {shape: [0, 4]}", "s.yaml:6:20: error: reshape 'reshape_1': 'shape' must be at least 1, found 0"),
    ("reshape: {shape: [99999999999]}", "s.yaml:6:20: error: reshape 'reshape_1': 'shape' must be at most 16,777,216, found 99,999,999,999"),
    ("reshape: {shape: 4}", "s.yaml:6:20: error: reshape 'reshape_1': 'shape' must be a list of sizes, found 4"),
])
def test_more_attribute_checks(layer, expect):
    assert lines(spec(f"  - {layer}\n")) == [expect]


def test_arity():
    head = "netc: 1\nname: t\ninputs:\n  x: [4]\n"
    assert lines(spec("  - add\n", head)) == ["s.yaml:6:3: error: add 'add_1' needs input 'b' (it reads a, b), given 1"]
    assert hints(spec("  - add\n", head)) == ["add 'b: NAME', or say 'in: [...]' with 2 names"]
    assert lines(spec("  - relu: {in: [x, x]}\n", head)) == ["s.yaml:6:3: error: relu 'relu_1' takes 1 input (x), given 2"]
    assert lines(spec("  - add: {in: [x, x, x]}\n", head)) == ["s.yaml:6:3: error: add 'add_1' takes 2 inputs (a, b), given 3"]
    g = netc.parse(spec("  - concat: {in: [x, x, x]}\n", head))
    assert str(g.node("concat_1").type) == "N x 12"


def test_cycles_are_reported_with_the_path():
    head = "netc: 1\nname: t\ninputs:\n  x: [4]\n"
    text = spec("  - add: {in: [x, c], name: a}\n  - relu: {name: b}\n  - relu: {name: c}\n", head)
    assert lines(text) == ["s.yaml:6:3: error: the layers form a cycle: a -> b -> c -> a"]
    assert hints(text) == ["a layer may only read layers computed before it; recurrence lives inside rnn/lstm"]
    assert lines(spec("  - relu: {in: r, name: r}\n", head)) == ["s.yaml:6:3: error: the layers form a cycle: r -> r"]


def test_a_layer_reading_a_loss_is_refused():
    head = "netc: 1\nname: t\ninputs:\n  x: [4]\n"
    text = spec("  - dense: {units: 4}\n  - relu: {in: loss}\nloss:\n  mse: {pred: dense_1, target: x}\n", head)
    assert lines(text) == ["s.yaml:7:5: error: relu 'relu_1' reads the loss 'loss', a scalar"]


def test_unused_layers_and_inputs_warn():
    text = spec("  - dense: {units: 4, name: side}\n  - dense: {units: 2, in: x}\n",
                "netc: 1\nname: t\ninputs:\n  x: [4]\n  extra: [3]\n")
    g = netc.parse(text, "s.yaml")
    assert [w.render().splitlines()[0] for w in g.warnings] == [
        "s.yaml:5:3: warning: input 'extra' is never used", "s.yaml:7:3: warning: layer 'side' is never used"]
    assert g.warnings[0].hint == "list it under 'outputs:', feed it to a layer, or remove it"
    text += "outputs: [side, dense_1]\n"
    assert [w.message for w in netc.parse(text).warnings] == ["input 'extra' is never used"]


def test_unused_warning_inside_a_block_names_the_call_site():
    text = ("netc: 1\nname: t\ninputs:\n  x: [4]\nblocks:\n  b:\n    output: keep\n    layers:\n"
            "      - dense: {units: 3, name: keep}\n      - dense: {units: 3, name: waste}\nlayers:\n  - b\n")
    (w,) = netc.parse(text, "s.yaml").warnings
    assert w.render() == ("s.yaml:10:9: warning: layer 'b_1/waste' is never used\n"
                          "  hint: list it under 'outputs:', feed it to a layer, or remove it\n"
                          "  in block 'b' called at s.yaml:12:5")


def test_attribute_errors_and_shape_errors_come_in_one_pass():
    # the design's example: a conv whose arithmetic is not whole, and a misspelt attribute elsewhere
    text = spec("""
          - conv2d: {filters: 6, kernel: 5, stride: 2}
          - relu
          - conv2d: {filters: 6, kernal: 3}
          - tanh
        """, "netc: 1\nname: t\ninputs:\n  x: [1, 28, 28]\n")
    with pytest.raises(SpecError) as info:
        netc.parse(text, "bad.yaml")
    assert info.value.render().splitlines() == [
        "bad.yaml:6:43: error: conv2d 'conv2d_1': output height (H - F + 2P)/S + 1 = (28 - 5 + 2*0)/2 + 1 = 12.5 is not a whole number",
        "  hint: stride: 1 gives 24; or say rounding: floor (12) or ceil (13)",
        "bad.yaml:8:24: error: unknown attribute 'kernal' for conv2d",
        "  hint: did you mean 'kernel'?",
        "2 errors",
    ]


def test_a_mistake_in_a_block_called_three_times_is_reported_once():
    text = ("netc: 1\nname: t\ninputs:\n  x: [4]\nblocks:\n  b:\n    layers:\n      - dense: {units: 4, kernal: 2}\n"
            "layers:\n  - b: {repeat: 3}\n")
    assert lines(text) == ["s.yaml:8:27: error: unknown attribute 'kernal' for dense"]
