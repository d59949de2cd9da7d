"""Every spec in specs/ passes `netc gradcheck` in float64 (batch 2, T = 3). The small specs run
here; the large ones (seconds to minutes each, mostly Numba compiling float64 kernels and the
finite differences of millions of weights) are marked slow: `pytest -m slow tests/test_gradcheck_specs.py`."""
from pathlib import Path

import pytest

from netc.cli import main

SPECS = Path(__file__).resolve().parent.parent / "specs"
SMALL = {"xor_mlp", "perceptron", "linear_neuron", "logistic_neuron", "mlp_digits", "breast_cancer_mlp",
         "char_rnn", "char_lstm", "bilstm_tagger", "autoencoder_digits"}
ALL = sorted(p.stem for p in SPECS.glob("*.yaml"))


def _params():
    for name in ALL:
        marks = () if name in SMALL else (pytest.mark.slow,)
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", _params())
def test_spec_passes_gradcheck(name, capsys):
    status = main(["gradcheck", str(SPECS / f"{name}.yaml"), "--batch", "2", "--length", "3"])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "all derivatives agree" in out.out


def test_gradcheck_prints_errors_per_node_and_parameter(capsys):
    assert main(["gradcheck", str(SPECS / "xor_mlp.yaml"), "--examples", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "2 examples" in out and "fwd abs" in out and "rev rel" in out
    for row in ("dense_1 ", "dense_1.weight", "logit.bias", "total loss"):
        assert row in out
