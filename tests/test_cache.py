"""The compile cache: hits across processes, and a changed kernel library changes the key."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import netc
from netc import cache, kernels

ROOT = Path(__file__).resolve().parent.parent
SPEC = """netc: 1
name: cached
inputs: {x: [4]}
layers: [{dense: {units: 2}}]
"""


def _compile_in_new_process(env):
    code = ("import netc; net = netc.compile(%r); import numpy as np; "
            "net.forward(x=np.ones((2, 4), np.float32)); print(net.cache_hit)") % SPEC
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_second_compile_in_a_new_process_is_a_hit(tmp_path):
    env = dict(os.environ, NETC_CACHE_DIR=str(tmp_path / "cache"))
    assert _compile_in_new_process(env) == "False"
    assert _compile_in_new_process(env) == "True"


def test_an_edited_kernel_changes_the_key(tmp_path):
    copy = tmp_path / "kernels"
    shutil.copytree(Path(kernels.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = kernels.source_hash(copy)
    dense = copy / "dense.py"
    dense.write_text(dense.read_text() + "\n# an edit\n")
    assert kernels.source_hash(copy) != before


def test_key_covers_kernel_source(monkeypatch):
    graph = netc.parse(SPEC)
    key = cache.key_for(graph)
    monkeypatch.setattr(kernels, "source_hash", lambda *a: "edited")
    assert cache.key_for(graph) != key


def test_an_edited_op_changes_the_key(tmp_path, monkeypatch):
    # the ops emit the generated lines: an edit there must not reuse a module generated before it
    copy = tmp_path / "netc"
    shutil.copytree(Path(netc.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache.compiler_hash(copy)
    (copy / "ops" / "dense.py").write_text((copy / "ops" / "dense.py").read_text() + "\n# an edit\n")
    edited = cache.compiler_hash(copy)
    assert edited != before
    (copy / "kernels" / "dense.py").write_text("# the kernel library has its own hash\n")
    assert cache.compiler_hash(copy) == edited
    graph = netc.parse(SPEC)
    key = cache.key_for(graph)
    monkeypatch.setattr(cache, "compiler_hash", lambda *a: "edited")
    assert cache.key_for(graph) != key


def test_generated_module_lives_at_a_stable_path(tmp_path, monkeypatch):
    monkeypatch.setenv("NETC_CACHE_DIR", str(tmp_path))
    net = netc.compile(SPEC)
    path = Path(net.module.__file__)
    assert path.parent.parent == tmp_path and path.name == f"netc_gen_{net.key}.py"
    assert "def forward(" in path.read_text() and "def train_step(" not in path.read_text()
    assert "cached" in cache.info()
    assert cache.clear() >= 1 and not tmp_path.exists()


def test_numba_cache_folder_follows_the_kernel_source(tmp_path):
    copy = tmp_path / "kernels"
    shutil.copytree(Path(kernels.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = kernels.numba_cache_dir(copy)
    (copy / "conv.py").write_text((copy / "conv.py").read_text() + "\n# an edit\n")
    assert kernels.numba_cache_dir(copy) != before


CONV = """netc: 1
name: {name}
inputs: {{image: [1, 6, 6], label: {{shape: [], dtype: int32}}}}
layers: [{{conv2d: {{filters: 2, kernel: 3}}}}, relu, flatten, {{dense: {{units: 3, name: logits}}}}]
loss: {{softmax_cross_entropy: {{logits: logits, labels: label}}}}
"""


def test_whole_step_tier_links_cached_parallel_kernels_in_new_processes(tmp_path):
    # The conv kernels call prange helpers. A new process whose kernels all come from the cache
    # compiles (then loads) a train_step_c that links them; Numba's thread pool must be running
    # by then, or the compile aborts and the cached step crashes (netc/threads.py, launch_threads).
    code = ("import sys, numpy as np, netc; net = netc.compile(%r, jit=sys.argv[1] == 'jit'); "
            "x = np.linspace(-1, 1, 4 * 36, dtype=np.float32).reshape(4, 1, 6, 6); "
            "print(net.train_step(image=x, label=np.arange(4, dtype=np.int32) %% 3), net.cache_hit)"
            ) % CONV.format(name=f"conv_{tmp_path.name[-8:]}")
    # kernels in the suite's Numba cache (compiled here if no test did yet), the networks in tmp_path
    env = dict(os.environ, NUMBA_CACHE_DIR=kernels.numba_cache_dir(), NETC_CACHE_DIR=str(tmp_path))
    runs = []
    for tier in ("py", "jit", "jit"):
        out = subprocess.run([sys.executable, "-c", code, tier], env=env, capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, (tier, out.returncode, out.stderr[-2000:])
        runs.append(out.stdout.split())
    assert [r[1] for r in runs] == ["False", "True", "True"]
    assert runs[0][0] == runs[1][0] == runs[2][0]  # the same loss from both tiers
