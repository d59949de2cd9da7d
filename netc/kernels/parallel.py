"""Kernel-side view of Numba's threads: how many a parallel region would get now.

numba.get_num_threads() in compiled code goes through a ctypes pointer, which keeps every kernel
that calls it out of the cache; this calls the same function of Numba's threading layer by its
symbol, which the layer registers when its threads launch (netc/threads.py launches them when
netc.kernels is imported, before any kernel is compiled or loaded)."""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = []  # helpers for kernels, not kernels for generated code


@intrinsic
def threads_now(typingctx):
    """The calling thread's Numba thread count (numba.set_num_threads), as an intp."""

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "get_num_threads")
        return builder.sext(builder.call(fn, ()), cgutils.intp_t)

    return types.intp(), codegen
