"""Direct calls to the BLAS that np.dot uses, for GEMMs on blocks of larger buffers: `_gemm`
reads strided blocks, transposes and accumulates in place (no copies around it), and `gemm_rows`
splits one GEMM's rows over Numba's threads (BLAS itself runs on one: netc/threads.py)."""
from __future__ import annotations

from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.linalg import check_blas_return, ensure_blas, get_blas_kind

from .parallel import threads_now

__all__ = []  # helpers for kernels, not kernels for generated code

_char, _voidp, _intp = ir.IntType(8), ir.IntType(8).as_pointer(), cgutils.intp_t
PARALLEL_MACS = 1 << 20  # below this many multiply-adds (about 15 us of GEMM) one thread is faster


@intrinsic
def _gemm(typingctx, a, trans_a, lda, b, trans_b, ldb, c, ldc, m, n, k, accumulate):
    """c (+)= op(a) . op(b), row-major: c is m x n with row stride ldc, op(a) m x k, op(b) k x n;
    a is stored m x k (k x m when trans_a) with row stride lda, b likewise. Overwrites c, or adds
    to it when `accumulate`. The BLAS sgemm/dgemm that np.dot calls (numba_xxgemm), which is
    column-major: it computes c^T = op(b)^T . op(a)^T, so b goes first."""
    if not (isinstance(a, types.Array) and isinstance(b, types.Array) and isinstance(c, types.Array)):
        return None
    if not (a.dtype == b.dtype == c.dtype):
        return None
    ensure_blas()
    kind = get_blas_kind(c.dtype, "_gemm")

    def codegen(context, builder, sig, args):
        tys = sig.args

        def data(i):
            return builder.bitcast(context.make_array(tys[i])(context, builder, args[i]).data, _voidp)

        def size(i):
            return context.cast(builder, args[i], tys[i], types.intp)

        def flag(i):
            on = context.cast(builder, args[i], tys[i], types.boolean)
            return builder.select(on, ir.Constant(_char, ord("t")), ir.Constant(_char, ord("n")))

        one = context.get_constant(c.dtype, 1)
        alpha = cgutils.alloca_once_value(builder, one)
        beta = cgutils.alloca_once_value(builder, builder.select(
            context.cast(builder, args[11], tys[11], types.boolean), one, context.get_constant(c.dtype, 0)))
        fnty = ir.FunctionType(ir.IntType(32), [_char, _char, _char, _intp, _intp, _intp, _voidp, _voidp, _intp,
                                                _voidp, _intp, _voidp, _voidp, _intp])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        res = builder.call(fn, (ir.Constant(_char, ord(kind)), flag(4), flag(1), size(9), size(8), size(10),
                                builder.bitcast(alpha, _voidp), data(3), size(5), data(0), size(2),
                                builder.bitcast(beta, _voidp), data(6), size(7)))
        check_blas_return(context, builder, res)
        return context.get_dummy_value()

    return types.void(a, trans_a, lda, b, trans_b, ldb, c, ldc, m, n, k, accumulate), codegen


@njit(cache=True, nogil=True, parallel=True, no_cpython_wrapper=True)
def _gemm_row_chunks(a, trans_a, lda, b, trans_b, ldb, c, ldc, m, n, k, accumulate, parts):
    for p in prange(parts):
        lo, hi = p * m // parts, (p + 1) * m // parts
        a_lo = lo if trans_a else lo * lda  # row lo of op(a): a column of a stored k x m
        _gemm(a[a_lo:], trans_a, lda, b, trans_b, ldb, c[lo * ldc:], ldc, hi - lo, n, k, accumulate)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def gemm_rows(a, trans_a, lda, b, trans_b, ldb, c, ldc, m, n, k, accumulate):
    """_gemm on flat (1-d) buffers, its m rows of c split over Numba's threads when the GEMM is
    big enough: the chunks write disjoint rows, so the result does not depend on the split."""
    parts = min(m, threads_now())
    if parts < 2 or m * n * k < PARALLEL_MACS:
        _gemm(a, trans_a, lda, b, trans_b, ldb, c, ldc, m, n, k, accumulate)
    else:
        _gemm_row_chunks(a, trans_a, lda, b, trans_b, ldb, c, ldc, m, n, k, accumulate, parts)
