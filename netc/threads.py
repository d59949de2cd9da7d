"""One level of parallelism: the BLAS that Numba's np.dot calls (scipy's) runs on one thread, and
the conv and recurrent kernels split the batch over Numba's threads (prange) instead.

Measured on the 2-core benchmark machine (benchmarks/RESULTS.md has the current figures): with
OpenBLAS on 2 threads between netc's serial kernels a ResNet-SE step took 370-520 ms instead of 77
ms and a LeNet step 35-45 ms instead of 11 ms, from run to run (BLAS worker threads spinning
against the caller between the many small GEMMs). One thread is steady. `NETC_BLAS_THREADS`
overrides. numpy's own BLAS (the user's `a @ b`) is left as it is.
"""
from __future__ import annotations

import os

_done = None


def use_sleeping_threads():
    """Numba's threading layer for netc's prange kernels: the workqueue, not OpenMP (Numba's
    default here; TBB is not installed). OpenMP's threads spin while they wait, so with another
    process on one of the 2 cores every parallel region waited for a time slice: a ResNet-SE
    training step took 220 ms instead of 47-57 ms with the workqueue (66 ms on one thread). The
    workqueue's threads sleep. It may not launch from two threads at once: the runtime serializes
    its entry points (runtime.py, `_one_at_a_time`). NUMBA_THREADING_LAYER, when set, wins."""
    if "NUMBA_THREADING_LAYER" not in os.environ:
        from numba.core import config

        config.THREADING_LAYER = "workqueue"


def launch_threads():
    """Start Numba's thread pool now, before any kernel is compiled or loaded from the cache. A
    function that is not itself parallel but calls cached prange kernels (a whole-step train_step_c,
    a conv kernel around its chunked helper) links code that refers to the pool's scheduling
    symbols, which exist only once the pool is launched; Numba launches it when a parallel function
    is compiled or called, not when one is linked. Without this a fresh process that compiled such a
    function aborted ("LLVM ERROR: Symbol not found: allocate_sched") or, loading it from the cache,
    crashed in its first call."""
    import numba

    numba.get_num_threads()


def limit_blas(threads: int | None = None) -> int | None:
    """Set the thread count of the BLAS libraries Numba uses (not numpy's); returns it, or None
    when threadpoolctl is missing (then set OPENBLAS_NUM_THREADS=1 before starting Python)."""
    global _done
    if threads is None:
        threads = int(os.environ.get("NETC_BLAS_THREADS", "1"))
    if _done == threads:
        return threads
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    import scipy.linalg.cython_blas  # noqa: F401  the BLAS Numba calls: load it so the limit reaches it

    for lib in ThreadpoolController().lib_controllers:
        if lib.user_api == "blas" and "numpy" not in lib.filepath:
            lib.set_num_threads(threads)
    _done = threads
    return threads
