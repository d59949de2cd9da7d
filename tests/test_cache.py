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
