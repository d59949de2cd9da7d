"""Checkpoints: bit-identical resume, atomic writes, corrupt files, NaN stops, Ctrl-C, metrics."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import netc
from netc.cli import main
from netc.frontend import parse
from netc.runtime import Network
from netc.train.data import load_data
from netc.train.loop import Config, fit

from _trainspecs import CHAR, IMAGES, MLP, blobs

QUIET = dict(progress=False, log=lambda m: None)


def _data(spec, tmp_path):
    if spec is CHAR:
        (tmp_path / "t.txt").write_text("abcde\n" * 12)
        d = load_data(parse(CHAR), tmp_path / "t.txt")
        return d.arrays, d.ordered
    if spec is IMAGES:
        rng = np.random.default_rng(0)
        return {"image": rng.uniform(0, 1, (20, 1, 6, 6)).astype(np.float32),
                "label": (np.arange(20) % 3).astype(np.int32)}, False
    X, y = blobs(40)
    return {"x": X, "label": y}, False


def _train(spec, tmp_path, out, epochs, resume=False, stop_at=None):
    arrays, ordered = _data(spec, tmp_path)
    net = netc.compile(spec)
    cfg = Config.from_spec(net.graph.train, epochs=epochs, out=str(tmp_path / out))
    os.makedirs(cfg.out, exist_ok=True)
    calls = [0]
    if stop_at is not None:  # Ctrl-C during the stop_at-th step, before it changes anything
        original = Network.train_step

        def step(self, *a, **k):
            calls[0] += 1
            if calls[0] == stop_at:
                raise KeyboardInterrupt
            return original(self, *a, **k)

        Network.train_step = step
    try:
        fit(net, arrays, None, cfg, resume=resume, ordered=ordered, **QUIET)
    finally:
        if stop_at is not None:
            Network.train_step = original
    return net


@pytest.mark.parametrize("spec", [MLP, IMAGES, CHAR], ids=["dropout-momentum", "augment-mixup", "carried-state"])
def test_resume_gives_bit_identical_weights(tmp_path, spec):
    whole = _train(spec, tmp_path, "whole", 2)
    _train(spec, tmp_path, "parts", 1)
    resumed = _train(spec, tmp_path, "parts", 2, resume=True)
    np.testing.assert_array_equal(resumed.P, whole.P)
    for a, b in zip(resumed.S, whole.S):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(KeyboardInterrupt):  # and from the middle of an epoch
        _train(spec, tmp_path, "mid", 2, stop_at=4)
    meta = json.loads(str(np.load(tmp_path / "mid/checkpoint.npz")["meta"]))
    assert meta["step"] == 3  # three steps done; the fourth never started
    resumed = _train(spec, tmp_path, "mid", 2, resume=True)
    np.testing.assert_array_equal(resumed.P, whole.P)
    assert resumed.step_count == whole.step_count


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    net = netc.compile(MLP)
    path = tmp_path / "checkpoint.npz"
    net.save(path)
    good = path.read_bytes()
    net.P[...] += 1

    def broken(fh, **arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError):
        net.save(path)
    assert path.read_bytes() == good and os.listdir(tmp_path) == ["checkpoint.npz"]
    monkeypatch.undo()
    fresh = netc.compile(MLP)
    fresh.load(path)


def test_a_process_killed_while_writing_leaves_the_previous_checkpoint(tmp_path):
    spec = tmp_path / "mlp.yaml"
    spec.write_text(MLP)
    child = textwrap.dedent(f"""
        import sys, time, numpy as np, netc
        net = netc.compile({str(spec)!r})
        net.save({str(tmp_path / 'checkpoint.npz')!r})
        real = np.savez
        def slow(fh, **arrays):
            fh.write(b"PK\\x03\\x04 partial")
            fh.flush()
            print("writing", flush=True)
            time.sleep(60)
        np.savez = slow
        net.P[...] += 1
        net.save({str(tmp_path / 'checkpoint.npz')!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, env=os.environ.copy())
    assert proc.stdout.readline().strip() == b"writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    netc.compile(MLP).load(tmp_path / "checkpoint.npz")  # still the first, whole checkpoint
    assert [f for f in os.listdir(tmp_path) if f.startswith(".netc-")]  # only a stray temporary file


@pytest.fixture
def cli(tmp_path, capsys):
    spec = tmp_path / "mlp.yaml"
    spec.write_text(MLP)
    X, y = blobs(40)
    np.savez(tmp_path / "d.npz", X=X, y=y)

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run, spec, tmp_path / "d.npz"


def test_train_writes_checkpoint_metrics_and_plot(cli, tmp_path):
    run, spec, data = cli
    code, _, err = run("train", spec, "--data", data, "--out", tmp_path / "r", "-q", "--epochs", "3")
    assert code == 0, err
    names = set(os.listdir(tmp_path / "r"))
    assert {"checkpoint.npz", "metrics.csv", "metrics.jsonl"} <= names
    rows = [json.loads(line) for line in (tmp_path / "r/metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3] and {"loss", "val_loss", "val_accuracy", "lr"} <= set(rows[0])
    assert (tmp_path / "r/metrics.csv").read_text().splitlines()[0] == "epoch,lr,loss,val_loss,val_accuracy"
    pytest.importorskip("matplotlib")
    assert "curves.png" in names and (tmp_path / "r/curves.png").read_bytes()[:4] == b"\x89PNG"


def test_corrupt_or_foreign_checkpoints_are_errors_and_never_overwritten(cli, tmp_path):
    run, spec, data = cli
    out = tmp_path / "r"
    out.mkdir()
    (out / "checkpoint.npz").write_bytes(b"not a zip at all")
    code, _, err = run("train", spec, "--data", data, "--out", out, "-q", "--resume")
    assert code == 1 and "not a readable netc checkpoint" in err
    code, _, err = run("train", spec, "--data", data, "--out", out, "-q")
    assert code == 1 and "not a checkpoint of this spec" in err and "left untouched" in err
    other = netc.compile(MLP.replace("units: 8", "units: 9"))
    other.save(out / "checkpoint.npz")
    foreign = (out / "checkpoint.npz").read_bytes()
    code, _, err = run("train", spec, "--data", data, "--out", out, "-q", "--resume")
    assert code == 1 and "the spec has changed" in err
    code, _, err = run("train", spec, "--data", data, "--out", out, "-q")
    assert code == 1 and "left untouched" in err
    assert (out / "checkpoint.npz").read_bytes() == foreign
    code, _, err = run("train", spec, "--data", data, "--out", out, "-q", "--overwrite", "--epochs", "1")
    assert code == 0


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(cli, tmp_path):
    run, spec, data = cli
    out = tmp_path / "r"
    assert run("train", spec, "--data", data, "--out", out, "-q", "--epochs", "1")[0] == 0
    good = (out / "checkpoint.npz").read_bytes()
    code, _, err = run("train", spec, "--data", data, "--out", out, "-q", "--epochs", "3", "--resume", "--lr", "1e38")
    assert code == 1 and "the loss became" in err and "the last good checkpoint is kept" in err
    net = netc.compile(MLP)
    meta = net.load(out / "checkpoint.npz")  # the last epoch that ended with a finite loss
    assert np.all(np.isfinite(net.P)) and 1 <= meta["loop"]["epoch"] < 3
    assert all(np.isfinite(r["loss"]) for r in meta["loop"]["history"])
    assert (out / "checkpoint.npz").read_bytes() == good or meta["loop"]["epoch"] == 2


def test_an_unwritable_out_folder_is_reported_before_training(cli, tmp_path):
    run, spec, data = cli
    (tmp_path / "file").write_text("")
    code, _, err = run("train", spec, "--data", data, "--out", tmp_path / "file" / "sub", "-q")
    assert code == 1 and "cannot write to" in err and "compiling" not in err


@pytest.mark.parametrize("how", ["exception", "signal"])
def test_ctrl_c_writes_a_checkpoint_and_exits_130(cli, tmp_path, how):
    run, spec, data = cli
    calls = [0]
    original = Network.train_step

    def step(self, *a, **k):
        calls[0] += 1
        if calls[0] == 3:
            if how == "exception":
                raise KeyboardInterrupt
            os.kill(os.getpid(), signal.SIGINT)  # the loop finishes this step, then stops
        return original(self, *a, **k)

    Network.train_step = step
    try:
        code, _, err = run("train", spec, "--data", data, "--out", tmp_path / "r", "-q")
    finally:
        Network.train_step = original
    assert code == 130 and "interrupted: checkpoint written" in err
    meta = json.loads(str(np.load(tmp_path / "r/checkpoint.npz")["meta"]))
    assert meta["loop"]["batch"] == (2 if how == "exception" else 3) and meta["step"] == meta["loop"]["batch"]
    code, _, err = run("train", spec, "--data", data, "--out", tmp_path / "r", "-q", "--resume")
    assert code == 0 and "resumed from" in err
