"""The model library in specs/: every network compiles cleanly and has the size its paper says.

Parameter totals are the trainable ones (batch-norm running statistics excluded), the way
torchvision counts `p.requires_grad` parameters, so the ImageNet models match torchvision's
numbers exactly. Only the front end runs here (parse, expand, build, infer): no kernels compile.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import netc
from netc.cli import main

SPECS = Path(__file__).resolve().parent.parent / "specs"
SPEC_FILES = sorted(SPECS.glob("*.yaml"))
IDS = [p.stem for p in SPEC_FILES]

# trainable parameters, from the papers and torchvision.models
TRAINABLE = {
    "lenet5": 61_706,
    "alexnet": 61_100_840,
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
}

# every network the course and the benchmark workloads (W1-W6) name has a spec
EXPECTED = {
    "linear_neuron", "perceptron", "logistic_neuron", "xor_mlp", "mlp_digits", "autoencoder_digits",
    "disentangled_autoencoder", "lenet5", "dna_cnn", "kim_cnn", "char_rnn", "char_lstm",
    "bilstm_tagger", "seq2seq_lstm", "resnet_se", "alexnet", "vgg16", "resnet18", "resnet50",
}


def trainable(graph) -> int:
    return sum(p.size for node in graph.nodes() for p in node.params.values() if p.trainable)


@pytest.fixture(scope="module")
def graphs():
    """Each spec loaded once for the whole module (ResNet-50 expands to 174 layers)."""
    return {p.stem: netc.load(p) for p in SPEC_FILES}


def test_library_is_complete():
    assert EXPECTED <= set(IDS), f"missing specs: {sorted(EXPECTED - set(IDS))}"


@pytest.mark.parametrize("path", SPEC_FILES, ids=IDS)
def test_spec_loads_without_warnings(path, graphs):
    graph = graphs[path.stem]
    assert not graph.warnings, "\n".join(w.render() for w in graph.warnings)
    assert graph.losses, "every spec in the library trains against a loss"
    assert graph.train, "every spec in the library gives train: settings to start from"
    assert graph.name == path.stem, "the spec's name is its file name"


@pytest.mark.parametrize("path", SPEC_FILES, ids=IDS)
def test_spec_has_header_comment(path):
    first = path.read_text().lstrip().splitlines()[0]
    assert first.startswith("#"), "each spec opens with a comment: what it is and where it comes from"


@pytest.mark.parametrize("name,total", sorted(TRAINABLE.items()))
def test_trainable_parameters(name, total, graphs):
    assert trainable(graphs[name]) == total


def test_lenet5_multiply_adds(graphs):
    assert sum(node.macs for node in graphs["lenet5"].nodes()) == 416_520


def test_weighted_loss_sum(graphs):
    g = graphs["disentangled_autoencoder"]
    weights = sorted(g.node(name).weight for name in g.losses)
    assert weights == [0.1, 1.0]


@pytest.mark.parametrize("path", SPEC_FILES, ids=IDS)
def test_cli_compile(path, capsys):
    assert main(["compile", str(path), "--check"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"{path.stem}:")
