"""The netc command: exit codes (0 ok, 1 spec error on stderr, 2 usage) and every --emit view."""
import json
import subprocess
import sys

import pytest

from netc.cli import EMITS, main

GOOD = """netc: 1
name: tiny
inputs:
  x: [1, 8, 8]
  y: {shape: [], dtype: int32}
layers:
  - conv2d: {filters: 2, kernel: 3, pad: 1}
  - relu
  - maxpool2d: {kernel: 2}
  - flatten
  - dense: {units: 3, name: logits}
loss:
  softmax_cross_entropy: {labels: y}
"""


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(GOOD)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_is_the_default_and_the_network_is_compiled(capsys, good):
    code, out, err = run(capsys, "compile", good)
    assert code == 0
    first, second = err.splitlines()  # what is compiling, then how long it took and where it went
    assert first == "compiling tiny (float32, kernel library) ..."
    assert second.startswith("tiny: ready in ") and " s (" in second
    code, again, err = run(capsys, "compile", good, "--check")
    assert code == 0 and again == out and err == ""
    lines = out.splitlines()
    assert lines[0] == "tiny: 5 layers, 119 parameters (0.5 KiB as float32), 1,248 multiply-adds per example"
    assert lines[1].split() == ["layer", "op", "output", "params", "mult-adds"]
    assert lines[4].split() == ["conv2d_1", "conv2d", "3x3", "pad", "1", "N", "x", "2", "x", "8", "x", "8", "20", "1,152"]
    assert any(line.split()[:2] == ["loss", "softmax_cross_entropy"] for line in lines)
    assert lines[-2].startswith("  parameters: 119 trainable")


def test_every_emit_view(capsys, good):
    assert sorted(EMITS) == ["dot", "graph", "json", "summary", "types"]
    code, out, _ = run(capsys, "compile", good, "--emit", "graph")
    assert code == 0 and "%conv2d_1 = conv2d(x; filters=2, kernel=[3, 3]" in out
    assert out.splitlines()[-1] == "%loss = softmax_cross_entropy(logits, y) : float32[]"
    code, out, _ = run(capsys, "compile", good, "--emit", "types")
    assert code == 0 and "conv2d_1: float32[N, 2, 8, 8]" in out and "  conv2d_1.weight: float32[2, 1, 3, 3] init he_normal" in out
    code, out, _ = run(capsys, "compile", good, "--emit", "dot")
    assert code == 0 and out.startswith('digraph "tiny" {') and '"relu_1" -> "maxpool2d_1";' in out
    assert out.rstrip().endswith("}")
    code, out, _ = run(capsys, "compile", good, "--emit", "json")
    data = json.loads(out)
    assert code == 0 and data["name"] == "tiny" and data["outputs"] == ["logits"] and data["losses"] == ["loss"]
    assert [n["name"] for n in data["nodes"]][:3] == ["x", "y", "conv2d_1"]
    assert data["nodes"][2]["loc"].endswith("tiny.yaml:7:5") and data["totals"]["trainable"] == 119
    code, out, _ = run(capsys, "compile", good, "--emit", "summary")
    assert code == 0 and out.startswith("tiny: ")


def test_float64(capsys, good):
    code, out, _ = run(capsys, "compile", good, "--dtype", "float64", "--emit", "types")
    assert code == 0 and "conv2d_1: float64[N, 2, 8, 8]" in out and "y: int32[N]" in out


def test_spec_errors_exit_1_on_stderr(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("kernel: 3, pad: 1", "kernal: 3, pad: 1").replace("units: 3", "units: 0"))
    code, out, err = run(capsys, "compile", bad)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"{bad}:7:26: error: unknown attribute 'kernal' for conv2d", "  hint: did you mean 'kernel'?",
        f"{bad}:11:20: error: dense 'logits': 'units' must be at least 1, found 0", "2 errors"]
    code, out, err = run(capsys, "compile", tmp_path / "missing.yaml")
    assert code == 1 and err.splitlines()[0] == f"{tmp_path / 'missing.yaml'}:1:1: error: no such file"


def test_warnings_go_to_stderr_and_can_be_silenced(capsys, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(GOOD.replace("  y: {shape: [], dtype: int32}\n", "  y: {shape: [], dtype: int32}\n  z: [2]\n"))
    code, out, err = run(capsys, "compile", path)
    assert code == 0 and err.splitlines()[0] == f"{path}:6:3: warning: input 'z' is never used" and out.startswith("tiny:")
    code, out, err = run(capsys, "compile", path, "-W", "--check")
    assert code == 0 and err == ""


@pytest.mark.parametrize("argv", [[], ["compile"], ["compile", "a.yaml", "--emit", "nonsense"], ["frobnicate"],
                                  ["compile", "a.yaml", "--dtype", "float16"], ["compile", "a.yaml", "--bogus"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        code = main(argv)
        raise SystemExit(code)
    assert info.value.code == 2
    assert capsys.readouterr().err.strip()


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0 and "compile" in capsys.readouterr().out


def test_the_installed_command(good, tmp_path):
    """One real process, to check the exit codes as a shell sees them."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("netc: 1\n")
    cmd = [sys.executable, "-m", "netc.cli"]
    ok = subprocess.run(cmd + ["compile", str(good)], capture_output=True, text=True)
    fail = subprocess.run(cmd + ["compile", str(bad)], capture_output=True, text=True)
    usage = subprocess.run(cmd + ["compile"], capture_output=True, text=True)
    assert (ok.returncode, fail.returncode, usage.returncode) == (0, 1, 2)
    assert ok.stdout.startswith("tiny: ") and fail.stdout == "" and "error:" in fail.stderr
    assert "Traceback" not in fail.stderr + usage.stderr
