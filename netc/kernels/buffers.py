"""The typed list of byte buffers that the compiled tier's entry points take, built in cached code.

`numba.typed.List([...])` from Python compiles the list's methods afresh in every process (1.5 to
3.6 s here, measured with cProfile on a warm start), which made a cache-hit start slow; built by
this cached function, the same list costs a cache load.
"""
from __future__ import annotations

from numba import njit
from numba.typed import List

__all__ = []  # used by netc.runtime, not by generated code


@njit(cache=True)
def byte_list(bufs):
    """bufs: a tuple of 1-d uint8 arrays -> a typed list holding the same arrays (no copies)."""
    out = List()
    for b in bufs:
        out.append(b)
    return out
