"""New-process measurements for the benchmark: time from process start to a first finished training
step, and the peak resident memory of that process.

netc is measured in a temporary cache: cold (empty Numba and netc caches), warm (the same network
again: a cache hit) and a new spec whose kernels are cached (the network renamed, so its generated
module is new while every kernel it calls is already compiled), in the default kernel-library tier
and in the whole-step tier (jit=True). PyTorch eager is measured the same way, from its import to
its first step, as the reference for both time and memory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PRELUDE = (
    "import time, sys, json; t0 = time.perf_counter()\n"
    "sys.path.insert(0, {root!r})\n"
    "from benchmarks.workloads import make_inputs, load_graph\n"
    "graph = load_graph({spec!r}); graph.name += {suffix!r}\n"
)
# peak memory from VmHWM: getrusage's ru_maxrss survives fork and exec, so a child of the (large)
# benchmark process would report its parent's peak
_REPORT = ("hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')]\n"
           "print(json.dumps({{'seconds': time.perf_counter() - t0, 'hit': {hit},"
           " 'rss_mib': int(hwm[0].split()[1]) / 1024 if hwm else None}}))\n")

NETC = _PRELUDE + (
    "from netc.runtime import Network\n"
    "net = Network(graph, jit={jit}); net.train_step(**make_inputs(net.graph, {N}, {T}))\n"
) + _REPORT

TORCH = _PRELUDE + (
    "import numpy as np, torch\n"
    "from netc.interop import pytorch as tref\n"
    "from netc.plan import param_layout\n"
    "from benchmarks.workloads import SGD\n"
    "torch.set_num_threads(2)\n"
    "tg = tref.TorchGraph(graph, random_ok=True)\n"
    "rng = np.random.default_rng(0)\n"
    "params = tg.tensors_from({{s.full: (rng.standard_normal(s.spec.shape) * 0.05).astype(graph.dtype)"
    " for s in param_layout(graph)[0]}})\n"
    "trainable = [t for t in params.values() if t.requires_grad]\n"
    "opt = torch.optim.SGD(trainable, **SGD)\n"
    "x = {{k: torch.from_numpy(v) for k, v in make_inputs(graph, {N}, {T}).items()}}\n"
    "tg.total_loss(tg.run(x, params, training=True)).backward(); opt.step()\n"
) + _REPORT


def _run(script: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def netc_startup(spec: str, N: int, T) -> dict:
    """Runs {'seconds', 'hit', 'rss_mib'} in one temporary cache, in this order: 'cold' and 'warm'
    (the whole-step tier, as the step times are), then a new spec on the cached kernels in the
    default kernel-library tier ('new_spec') and in the whole-step tier ('new_spec_jit'); and
    'cold_py', the default tier from empty caches of its own (what `netc train` does first)."""
    # 'py' warms the kernel-library tier's own kernel signatures (it passes some arguments with other
    # types than compiled code does), so that 'new_spec' measures a spec whose kernels are cached
    plan = (("cold", "", True), ("warm", "", True), ("py", "", False), ("new_spec", "_renamed", False),
            ("new_spec_jit", "_renamed2", True))
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(d, "numba"), NETC_CACHE_DIR=os.path.join(d, "netc"))
        runs = {what: _run(NETC.format(root=str(ROOT), spec=spec, suffix=suffix, jit=jit, N=N, T=T,
                                       hit="net.cache_hit"), env)
                for what, suffix, jit in plan}
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(d, "numba"), NETC_CACHE_DIR=os.path.join(d, "netc"))
        runs["cold_py"] = _run(NETC.format(root=str(ROOT), spec=spec, suffix="", jit=False, N=N, T=T,
                                           hit="net.cache_hit"), env)
    assert runs["warm"]["hit"] and not runs["new_spec"]["hit"] and not runs["new_spec_jit"]["hit"], runs
    return runs


def torch_startup(spec: str, N: int, T) -> dict | None:
    """PyTorch eager from its import to a first finished step ({'seconds', 'rss_mib'}), or None
    when PyTorch is not installed. The process reads the spec with netc (importing netc, and Numba
with it, counts against PyTorch here: about 0.5 s and 100 MiB on the benchmark machine)."""
    from netc.interop import pytorch as tref

    if not tref.available():
        return None
    return _run(TORCH.format(root=str(ROOT), spec=spec, suffix="", N=N, T=T, hit=None), dict(os.environ))
