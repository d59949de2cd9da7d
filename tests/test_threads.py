"""netc/threads.py: Numba's OpenMP threads with a short spin, and kernels that still run in a
process forked after they ran in parallel."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netc import kernels

ROOT = Path(__file__).resolve().parent.parent

# a conv big enough to run in parallel (batch x multiply-adds over netc/kernels/conv.py's _serial
# limit) and an LSTM (parallel from batch 2), each trained in the parent, then in a forked child
SCRIPT = r'''
import multiprocessing, os, numba, numpy as np, netc
CONV = """netc: 1
name: fork_conv
inputs: {image: [1, 16, 16], label: {shape: [], dtype: int32}}
layers: [{conv2d: {filters: 8, kernel: 3}}, relu, flatten, {dense: {units: 3, name: logits}}]
loss: {softmax_cross_entropy: {logits: logits, labels: label}}
"""
LSTM = """netc: 1
name: fork_lstm
inputs: {x: [T, 3], y: [T, 2]}
layers: [{lstm: {units: 4}}, {dense: {units: 2, name: out}}]
loss: {mse: {pred: out, target: y}}
"""
rng = np.random.default_rng(0)
cases = [(netc.compile(CONV), {"image": rng.standard_normal((128, 1, 16, 16), dtype=np.float32),
                               "label": np.arange(128, dtype=np.int32) % 3}),
         (netc.compile(LSTM), {"x": rng.standard_normal((4, 5, 3), dtype=np.float32),
                               "y": rng.standard_normal((4, 5, 2), dtype=np.float32)})]

def step(i):
    net, x = cases[i]
    loss = net.train_step(**x)
    return loss, float(net.P.astype(np.float64).sum())

for i in range(len(cases)):
    step(i)  # parallel regions run here, in the parent
with multiprocessing.get_context("fork").Pool(1) as pool:
    child = pool.map(step, range(len(cases)))
parent = [step(i) for i in range(len(cases))]
print(numba.threading_layer(), os.environ.get("GOMP_SPINCOUNT"), child == parent)
'''


def _run(env):
    env = dict(env, NUMBA_CACHE_DIR=kernels.numba_cache_dir())  # the suite's compiled kernels
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def _has_openmp():
    try:
        from numba.np.ufunc import omppool  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_openmp_layer_and_a_forked_child_trains_like_its_parent(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_THREADING_LAYER", "GOMP_SPINCOUNT")}
    out = _run(dict(env, NETC_CACHE_DIR=str(tmp_path)))
    assert out.returncode == 0, out.stderr[-3000:]
    layer, spin, same = out.stdout.split()[-3:]
    assert layer == ("omp" if _has_openmp() else "workqueue")
    assert spin == "None"  # set only while Numba's OpenMP loads: a later PyTorch keeps its own
    assert same == "True"  # the child ran the same chunks in turn: the same loss and weights


def test_a_chosen_threading_layer_wins(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    out = _run(dict(env, NUMBA_THREADING_LAYER="workqueue", NETC_CACHE_DIR=str(tmp_path)))
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-3:] == ["workqueue", "None", "True"]
