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


SPIN = "1000"  # GOMP_SPINCOUNT for Numba's OpenMP threads: spin this many turns, then sleep


def use_threads():
    """Numba's threading layer for netc's prange kernels: OpenMP whose idle threads spin briefly,
    then sleep; the workqueue where Numba has no OpenMP. NUMBA_THREADING_LAYER, when set, wins.

    Measured on the 2-core benchmark machine, training steps, median [10th-90th percentile] ms:

      layer (GOMP_SPINCOUNT)   quiet: W2, W3, W4                  a busy loop on one core: W2, W3, W4
      workqueue                7.0 [4.9-7.5], 11.6, 44.6 [36-53]   6.0 [5.1-8.7], 12.5, 52.6 [51-62]
      OpenMP, 1000             3.2 [3.0-3.4], 7.3, 27.8 [27-29]    5.9 [5.5-6.3], 12.4, 52.2 [51-55]
      OpenMP, default          3.2 [3.1-3.3], 7.3, 27.5 [27-28]    8.1 [7.9-15], 15.9, 62.2 [58-141]

    The workqueue's threads sleep between parallel regions and each region waited on their waking,
    by up to the kernel's whole time (a W2 conv: 0.45 or 0.90 ms from call to call). OpenMP's
    default spin (300000 turns) holds a core that another process wants. The spin count is set
    only while Numba's OpenMP library loads (it reads it then), so a PyTorch loaded later in the
    same process keeps its own default.

    GNU OpenMP does not survive fork(): Numba kills a forked child's first parallel region once the
    parent has run one. So a forked child (multiprocessing's default start on Linux) gets one
    Numba thread, and netc's kernels run their chunks in turn there (kernels/parallel.py,
    `threads_now() < 2`)."""
    if "NUMBA_THREADING_LAYER" in os.environ:
        return
    from numba.core import config

    saved = os.environ.get("GOMP_SPINCOUNT")
    os.environ.setdefault("GOMP_SPINCOUNT", SPIN)
    try:
        from numba.np.ufunc import omppool  # noqa: F401  loads libgomp, which reads GOMP_SPINCOUNT now
        config.THREADING_LAYER = "omp"
        os.register_at_fork(after_in_child=_one_thread)
    except ImportError:
        config.THREADING_LAYER = "workqueue"
    finally:
        if saved is None:
            del os.environ["GOMP_SPINCOUNT"]


def _one_thread():
    import numba

    numba.set_num_threads(1)


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
