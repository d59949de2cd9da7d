"""netc.profile and `netc profile`: a time for every op of a training step, from a step that
computes what the plain one does."""
import numpy as np
import pytest

import netc
from netc.cli import main
from netc.profile import profile
from netc.testing import random_inputs

SPEC = """netc: 1
name: profiled
inputs: {x: [6], y: {shape: [], dtype: int32}}
layers: [{dense: {units: 5}}, relu, {dense: {units: 3, name: logits}}]
loss: {softmax_cross_entropy: {logits: logits, labels: y}}
train: {optimizer: {sgd: {lr: 0.1, momentum: 0.9}}}
"""


def test_every_node_is_timed_and_the_step_is_the_plain_one():
    timed, plain = netc.compile(SPEC), netc.compile(SPEC)
    x = random_inputs(plain, np.random.default_rng(0), N=4)
    result = profile(timed, x, steps=2, warmup=1)
    for _ in range(3):
        plain.train_step(**x)
    np.testing.assert_array_equal(timed.P, plain.P)  # the instrumented step drops no line
    np.testing.assert_array_equal(timed.S[0], plain.S[0])
    rows = {r.node: r for r in result.rows}
    assert set(rows) == {"dense_1", "relu_1", "logits", "loss", "(gradient buffers)", "(optimizer)"}
    assert set(rows["dense_1"].ms) == {"forward", "backward"} and set(rows["(optimizer)"].ms) == {"update"}
    assert all(t >= 0 for r in result.rows for t in r.ms.values())
    assert [r.total for r in result.rows] == sorted((r.total for r in result.rows), reverse=True)
    assert sum(r.total for r in result.rows) <= result.step_ms * 1.5 + 0.05
    table = result.table(top=2)
    assert [line[:28].strip() for line in table.splitlines()[2:4]] == [r.node for r in result.rows[:2]]
    assert "... 4 more" in table


def test_cli(tmp_path, capsys):
    spec = tmp_path / "p.yaml"
    spec.write_text(SPEC)
    assert main(["profile", str(spec), "--batch", "3", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "profiled: batch 3, median of 2 steps" in out and "softmax_cross_entropy" in out
    spec.write_text(SPEC.split("loss:")[0])
    assert main(["profile", str(spec)]) == 1
    assert "has no loss" in capsys.readouterr().err
    spec.write_text(SPEC)
    with pytest.raises(SystemExit):
        main(["profile", str(spec), "--steps", "x"])
    assert main(["profile", str(spec), "--steps", "0"]) == 2
