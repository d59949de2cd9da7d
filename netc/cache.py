"""The compile cache: one generated module per network, at a stable path named by a hash.

The key covers the canonical graph, the dtype, netc's version, Numba's version, the source of the
kernel library (Numba does not invalidate a cached function when a callee in another file
changes, so the kernels' source is part of the name) and the source of the rest of netc (the ops
emit the generated lines and the plan and codegen arrange them: an edit there, without a new
version, must not reuse a module generated before it). `NETC_CACHE_DIR` moves the cache.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numba

from . import kernels
from .kernels import tiles


def cache_dir() -> Path:
    root = os.environ.get("NETC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "netc")
    return Path(root)


def canonical(graph) -> str:
    """The graph without source locations: two specs that mean the same network share a key."""
    nodes = []
    for node in graph.nodes():
        nodes.append([node.name, node.op.name, node.inputs, sorted((k, repr(v)) for k, v in node.attrs.items()),
                      list(node.type.shape), node.type.dtype, node.weight if node.is_loss else None])
    return json.dumps([graph.name, graph.dtype, graph.inputs, graph.outputs, graph.losses, nodes])


def compiler_hash(root=None) -> str:
    """A hash of netc's own source outside the kernel library (which kernels.source_hash covers)."""
    return _source_hash(Path(root)) if root else _installed_hash()


@functools.lru_cache(maxsize=None)
def _installed_hash() -> str:
    return _source_hash(Path(__file__).parent)


def _source_hash(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] != "kernels":
            h.update(str(rel).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def key_for(graph, extra="") -> str:
    from . import __version__

    h = hashlib.sha256()
    # the ops pick kernels by the target CPU too (register tiles on AVX-512: kernels/tiles.py)
    for part in (canonical(graph), __version__, numba.__version__, kernels.source_hash(), compiler_hash(),
                 f"tiles={tiles.ENABLED}", extra):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def _stats_path():
    return cache_dir() / "stats.json"


def _record(what):
    path = _stats_path()
    try:
        stats = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        stats = {}
    stats[what] = stats.get(what, 0) + 1
    try:
        atomic_write_text(path, json.dumps(stats))
    except OSError:
        pass  # statistics are a convenience; an unwritable cache still compiles


def atomic_write_text(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_module(key: str, make_source):
    """Import the module for `key`, generating it with make_source() on a miss. Returns (module, hit)."""
    name = f"netc_gen_{key}"
    if name in sys.modules:
        _record("hits")
        return sys.modules[name], True
    path = cache_dir() / key / f"{name}.py"
    hit = path.exists()
    if not hit:
        atomic_write_text(path, make_source())
    _record("hits" if hit else "misses")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module, hit


def info() -> str:
    root = cache_dir()
    entries = sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    size = sum(f.stat().st_size for p in entries for f in p.rglob("*") if f.is_file())
    try:
        stats = json.loads(_stats_path().read_text())
    except (OSError, ValueError):
        stats = {}
    lines = [f"cache: {root}", f"networks: {len(entries)} ({size / 1024:,.1f} KiB)",
             f"hits: {stats.get('hits', 0)}, misses: {stats.get('misses', 0)}"]
    for p in entries:
        mods = list(p.glob("netc_gen_*.py"))
        if mods:
            first = mods[0].read_text().splitlines()[0]
            lines.append(f"  {p.name}  {first.split(':', 1)[-1].split(', key')[0].strip()}")
    return "\n".join(lines)


def clear() -> int:
    root = cache_dir()
    if not root.exists():
        return 0
    n = sum(1 for p in root.iterdir() if p.is_dir())
    shutil.rmtree(root)
    return n
