"""netc train / eval / predict / sample / decode end to end, on tiny specs and data."""
import numpy as np
import pytest

from netc.cli import main

from _trainspecs import CHAR, MLP, SEQ2SEQ, blobs, reversal_pairs

DNA = """netc: 1
name: tiny_dna
inputs:
  dna: [4, 6]
  label: {shape: [], dtype: int32}
layers:
  - flatten
  - dense: {units: 2, name: logits}
loss:
  softmax_cross_entropy: {logits: logits, labels: label}
train:
  optimizer: {sgd: {lr: 0.5}}
  batch: 4
  epochs: 30
  validation: 0.0
"""


@pytest.fixture
def run(capsys):
    def _run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return _run


def test_train_eval_predict(run, write, tmp_path):
    spec = write("mlp.yaml", MLP)
    X, y = blobs(40)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    assert run("train", spec, "--data", tmp_path / "d.npz", "--out", tmp_path / "r", "-q", "--epochs", "8")[0] == 0
    weights = tmp_path / "r/checkpoint.npz"
    code, out, err = run("eval", spec, "--weights", weights, "--data", tmp_path / "d.npz")
    assert code == 0, err
    words = out.split()
    assert words[0] == "loss" and words[2] == "accuracy" and float(words[3]) > 0.9
    code, out, _ = run("predict", spec, "--weights", weights, "--data", tmp_path / "d.npz")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "logits[0],logits[1],logits[2],argmax" and len(lines) == 41
    assert np.mean([int(float(line.split(",")[-1])) == t for line, t in zip(lines[1:], y)]) > 0.9
    code, _, err = run("predict", spec, "--weights", weights, "--data", tmp_path / "d.npz", "--out", tmp_path / "p.csv")
    assert code == 0 and np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1).shape == (40, 4)
    code, _, err = run("eval", spec, "--weights", tmp_path / "nope.npz", "--data", tmp_path / "d.npz")
    assert code == 1 and "no such file" in err
    other = write("other.yaml", MLP.replace("units: 8", "units: 5"))
    code, _, err = run("eval", other, "--weights", weights, "--data", tmp_path / "d.npz")
    assert code == 1 and "the spec has changed" in err


def test_text_model_train_eval_predict_sample(run, write, tmp_path):
    spec = write("char.yaml", CHAR)
    write("t.txt", "abcde\n" * 30)
    code, _, err = run("train", spec, "--data", tmp_path / "t.txt", "--out", tmp_path / "r", "-q", "--seq-len", "6")
    assert code == 0, err
    assert "180 characters, 6 distinct, in 29 windows of 6" in err
    weights = tmp_path / "r/checkpoint.npz"
    assert (tmp_path / "r/vocab.json").exists()
    code, out, _ = run("eval", spec, "--weights", weights, "--data", tmp_path / "t.txt", "--seq-len", "6")
    assert code == 0 and float(out.split()[3]) > 0.9
    code, out, _ = run("predict", spec, "--weights", weights, "--data", tmp_path / "t.txt", "--seq-len", "6")
    lines = out.splitlines()  # the most likely next character at every step, one window a line
    assert code == 0 and len(lines) == 29 and lines[0] == "bcde\\na"
    code, out, _ = run("sample", spec, "--weights", weights, "--length", "10", "--temperature", "0", "--prime", "abc")
    assert code == 0 and out == "abcde\nabcde\na\n"
    code, _, err = run("sample", spec, "--weights", weights, "--prime", "xyz")
    assert code == 1 and "the prime holds characters the vocabulary lacks: 'xyz'" in err


def test_fasta_model_trains_on_header_labels(run, write, tmp_path):
    spec = write("dna.yaml", DNA)
    records = "".join(f">r{i} label={i % 2}\n{'ACGTAC' if i % 2 else 'TTTGG'}\n" for i in range(12))
    write("s.fasta", records)
    code, _, err = run("train", spec, "--data", tmp_path / "s.fasta", "--out", tmp_path / "r", "-q")
    assert code == 0, err
    assert "records shorter than 6 padded with zeros at the end" in err
    code, out, _ = run("eval", spec, "--weights", tmp_path / "r/checkpoint.npz", "--data", tmp_path / "s.fasta")
    assert code == 0 and out.split()[3] == "1.0000"


def test_seq2seq_train_and_decode(run, write, tmp_path):
    spec = write("s2s.yaml", SEQ2SEQ)
    write("p.tsv", reversal_pairs())
    code, _, err = run("train", spec, "--data", tmp_path / "p.tsv", "--out", tmp_path / "r", "-q", "--reverse-source")
    assert code == 0, err
    weights = tmp_path / "r/checkpoint.npz"
    code, out, err = run("decode", spec, "--weights", weights, "--source", "a b c", "--source", "d d a", "--beam", "3")
    assert code == 0 and out == "c b a\na d d\n", err
    code, _, err = run("sample", spec, "--weights", weights)
    assert code == 1 and "no character vocabulary" in err


def test_data_errors_exit_1_with_the_message(run, write, tmp_path):
    spec = write("mlp.yaml", MLP)
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 5)), y=np.zeros(4))
    code, _, err = run("train", spec, "--data", tmp_path / "d.npz", "--out", tmp_path / "r", "-q")
    assert code == 1 and "input 'x' expects 4 = 4 values per example, but the data has 5" in err
