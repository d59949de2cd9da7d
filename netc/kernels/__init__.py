"""The kernel library: @njit(cache=True) functions that write into the buffers they are given.

Every module in this package is a kernel module; `namespace()` collects their kernels (functions
named *_fwd, *_vjp*, *_jvp*, plus helpers they export in __all__) for generated code, and
`source_hash()` hashes their source for the compile cache key: Numba does not notice when a
kernel in another file changes, so netc does.

Numba keys a cached function on its own file alone, so a kernel that calls a helper in another
kernel file would keep a stale copy of the helper after an edit. netc therefore gives Numba a
cache folder named by the hash of the whole library (unless NUMBA_CACHE_DIR says otherwise):
any edit to any kernel starts from a clean cache.

Inner kernels, the private helpers (leading underscore) that only other kernels call, are compiled
with no_cpython_wrapper=True: no wrapper code to generate and cache for functions Python never
calls (and must not: without a wrapper a call from Python crashes). The exported kernels keep
their wrappers because the Python-driver tier calls them from Python.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import pkgutil
from pathlib import Path

from numba.core import config as numba_config

from ..threads import launch_threads, use_threads

_HERE = Path(__file__).parent


def modules():
    return [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules([str(_HERE)])]


def namespace() -> dict:
    ns = {}
    for mod in modules():
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")
                                                 and ("_fwd" in n or "_vjp" in n or "_jvp" in n)]
        for name in names:
            assert name not in ns, f"kernel {name} is defined twice"
            ns[name] = getattr(mod, name)
    return ns


def source_hash(folder=None) -> str:
    h = hashlib.sha256()
    for path in sorted(Path(folder or _HERE).glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


OPT = 2  # LLVM optimisation level of netc's compiles


class _OptimisationLevel:
    """Compile what runs inside at LLVM -O2, not Numba's default -O3, unless NUMBA_OPT is set: LLVM
    takes most of a cold compile, and -O2 halved it (LeNet-5's kernels: 29.1 -> 14.8 s, 23 -> 9 s
    of it in LLVM) with training steps as fast (W1-W6, within run-to-run noise). Numba reads the
    level at each compile, so code compiled outside netc's entry points keeps the default. Every
    entry-point call passes through here: a class, not a generator context manager (0.9 us a call
    against 2.3 us, 4% of W1's step)."""

    def __init__(self):
        self._saved = []

    def __enter__(self):
        self._saved.append(numba_config.OPT)
        if "NUMBA_OPT" not in os.environ:
            numba_config.OPT = _LEVEL

    def __exit__(self, *exc):
        numba_config.OPT = self._saved.pop()


_LEVEL = numba_config._OptLevel(OPT)
_OPTIMISATION = _OptimisationLevel()


def optimisation_level():
    """The context in which netc's entry points compile (reentrant): see _OptimisationLevel."""
    return _OPTIMISATION


def numba_cache_dir(folder=None) -> str:
    root = os.environ.get("NETC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "netc")
    return os.path.join(root, "numba", source_hash(folder))


def _use_private_numba_cache():
    if os.environ.get("NUMBA_CACHE_DIR"):
        return  # the user chose a folder; respect it
    from numba.core import config

    config.CACHE_DIR = numba_cache_dir()  # read when each @njit(cache=True) kernel is decorated


_use_private_numba_cache()
use_threads()
launch_threads()
