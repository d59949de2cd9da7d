"""Register-blocked float32 matrix tiles: C[MR x 16*NV] (+)= A . B, built as LLVM vector code, for
the convolutions (kernels/conv.py) and the LSTM's GEMMs (kernels/recurrent.py), where BLAS loses.

A tile keeps its MR x 16*NV block of C in vector registers for the whole sum over k, broadcasts one
A value per row and loads one 16-wide row of B per vector each step: MR * NV fused multiply-adds
per MR + NV loads. Neither loop nor registers are left to LLVM's vectorizers, which would not
block Numba code this way (Numba gives LLVM no `noalias`, so a sum kept in an array goes back to
memory every step: 8-68 GFLOP/s per thread measured for plain loops). On this machine's Zen 5 core
a tile ran at 200-270 GFLOP/s a thread on the conv shapes, against 100-120 for OpenBLAS's sgemm
with its Haswell kernels (what OPENBLAS_CORETYPE here pins); LLVM splits the 16-wide vectors into
halves or quarters on a core without AVX-512, where the code stays correct, but the ops then keep
to BLAS (ENABLED below).

The k sum runs over two nested loops, k1 < K1 and k2 < K2, each with its own stride in A and in B:
that is how a convolution walks its windows (kernel rows, then a run along W and C) without
copying them into columns. A tile does no bounds checks: the convolutions derive every offset and
count from shapes the op checked at the Python boundary, and matmul/matmul_at check their operands'
shapes and strides before they use the tiles.
"""
from __future__ import annotations

import llvmlite.binding as llvm
from llvmlite import ir
from numba import njit, types
from numba.core import config
from numba.extending import intrinsic, overload

__all__ = []  # helpers for kernels, not kernels for generated code

WIDTH = 16  # floats per vector (one AVX-512 register)


def _target_has_avx512() -> bool:
    """Whether Numba compiles for a CPU with AVX-512: the host, unless NUMBA_CPU_NAME names another."""
    features = (config.CPU_FEATURES or "") if config.CPU_NAME else llvm.get_host_cpu_features().flatten()
    return "+avx512f" in features.split(",")


# The ops use tiles only where they were measured: on AVX-512 (32 vector registers). With 16 AVX2
# registers an 8 x 32 tile's sums would not fit; there the kernels keep BLAS (not measured).
ENABLED = _target_has_avx512()
_F32, _I64, _I32 = ir.FloatType(), ir.IntType(64), ir.IntType(32)
_VEC = ir.VectorType(_F32, WIDTH)


def _tile(rows, vectors):
    """The intrinsic for one MR x 16*NV tile: rows = MR, vectors = NV."""

    @intrinsic
    def tile(typingctx, a, a_off, a_row, a1, a2, b, b_off, b1, b2, c, c_off, c_row, k1_count, k2_count,
             accumulate):
        """c[c_off + i*c_row + j] (+)= sum over k1 < K1, k2 < K2 of a[a_off + i*a_row + k1*a1 + k2*a2]
        * b[b_off + k1*b1 + k2*b2 + j], i < MR, j < 16*NV; a, b, c float32 arrays, the rest ints."""
        if not all(isinstance(t, types.Array) and t.dtype == types.float32 for t in (a, b, c)):
            return None
        sig = types.void(a, a_off, a_row, a1, a2, b, b_off, b1, b2, c, c_off, c_row, k1_count, k2_count, accumulate)

        def codegen(context, builder, signature, args):
            tys = signature.args

            def ptr(i, offset):
                data = context.make_array(tys[i])(context, builder, args[i]).data
                return builder.gep(data, [context.cast(builder, args[offset], tys[offset], types.int64)])

            def int64(i):
                return context.cast(builder, args[i], tys[i], types.int64)

            pa, pb, pc = ptr(0, 1), ptr(5, 6), ptr(9, 10)
            a_row_, a1_, a2_, b1_, b2_, c_row_, k1_n, k2_n = (int64(i) for i in (2, 3, 4, 7, 8, 11, 12, 13))
            add = context.cast(builder, args[14], tys[14], types.boolean)
            module = builder.module
            fma = module.globals.get("llvm.fma.v16f32") or ir.Function(
                module, ir.FunctionType(_VEC, [_VEC, _VEC, _VEC]), "llvm.fma.v16f32")
            zero, one = ir.Constant(_I64, 0), ir.Constant(_I64, 1)
            splat = ir.Constant(ir.VectorType(_I32, WIDTH), [0] * WIDTH)

            entry = builder.block
            outer = builder.append_basic_block("tile.outer")
            inner_start = builder.append_basic_block("tile.inner_start")
            inner = builder.append_basic_block("tile.inner")
            body = builder.append_basic_block("tile.body")
            outer_next = builder.append_basic_block("tile.outer_next")
            done = builder.append_basic_block("tile.done")
            builder.branch(outer)

            builder.position_at_end(outer)
            k1 = builder.phi(_I64)
            sums_outer = [[builder.phi(_VEC) for _ in range(vectors)] for _ in range(rows)]
            k1.add_incoming(zero, entry)
            for row in sums_outer:
                for s in row:
                    s.add_incoming(ir.Constant(_VEC, [0.0] * WIDTH), entry)
            builder.cbranch(builder.icmp_signed("<", k1, k1_n), inner_start, done)

            builder.position_at_end(inner_start)
            a_base = builder.gep(pa, [builder.mul(k1, a1_)])
            b_base = builder.gep(pb, [builder.mul(k1, b1_)])
            builder.branch(inner)

            builder.position_at_end(inner)
            k2 = builder.phi(_I64)
            sums = [[builder.phi(_VEC) for _ in range(vectors)] for _ in range(rows)]
            k2.add_incoming(zero, inner_start)
            for r in range(rows):
                for v in range(vectors):
                    sums[r][v].add_incoming(sums_outer[r][v], inner_start)
            builder.cbranch(builder.icmp_signed("<", k2, k2_n), body, outer_next)

            builder.position_at_end(body)
            b_k = builder.gep(b_base, [builder.mul(k2, b2_)])
            b_vecs = [builder.load(builder.bitcast(builder.gep(b_k, [ir.Constant(_I64, WIDTH * v)]),
                                                   _VEC.as_pointer()), align=4) for v in range(vectors)]
            a_k = builder.gep(a_base, [builder.mul(k2, a2_)])
            new = []
            for r in range(rows):
                value = builder.load(builder.gep(a_k, [builder.mul(ir.Constant(_I64, r), a_row_)]), align=4)
                broadcast = builder.shuffle_vector(
                    builder.insert_element(ir.Constant(_VEC, ir.Undefined), value, ir.Constant(_I32, 0)),
                    ir.Constant(_VEC, ir.Undefined), splat)
                new.append([builder.call(fma, [broadcast, b_vecs[v], sums[r][v]]) for v in range(vectors)])
            k2.add_incoming(builder.add(k2, one), body)
            for r in range(rows):
                for v in range(vectors):
                    sums[r][v].add_incoming(new[r][v], body)
            builder.branch(inner)

            builder.position_at_end(outer_next)
            k1.add_incoming(builder.add(k1, one), outer_next)
            for r in range(rows):
                for v in range(vectors):
                    sums_outer[r][v].add_incoming(sums[r][v], outer_next)
            builder.branch(outer)

            builder.position_at_end(done)
            targets = [[builder.bitcast(builder.gep(pc, [builder.add(builder.mul(ir.Constant(_I64, r), c_row_),
                                                                     ir.Constant(_I64, WIDTH * v))]),
                                        _VEC.as_pointer()) for v in range(vectors)] for r in range(rows)]
            with builder.if_else(add) as (then, otherwise):
                with then:
                    for r in range(rows):
                        for v in range(vectors):
                            old = builder.load(targets[r][v], align=4)
                            builder.store(builder.fadd(old, sums_outer[r][v]), targets[r][v], align=4)
                with otherwise:
                    for r in range(rows):
                        for v in range(vectors):
                            builder.store(sums_outer[r][v], targets[r][v], align=4)
            return context.get_dummy_value()

        return sig, codegen

    return tile


_T8x2, _T4x2, _T1x2 = _tile(8, 2), _tile(4, 2), _tile(1, 2)
_T8x1, _T4x1, _T1x1 = _tile(8, 1), _tile(4, 1), _tile(1, 1)
MR = 8  # rows of the widest tile


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def tiles(m, n, a, a_off, a_row, a1, a2, b, b_off, b1, b2, c, c_off, c_row, k1_count, k2_count, accumulate):
    """C (m x n) (+)= A . B in tiles: row i of C at c_off + i*c_row reads A from a_off + i*a_row;
    n a multiple of 16, its columns contiguous in B and C (see tile above for the k strides).
    Rows go 8 at a time, then 4 and 1; columns 32 at a time, then 16."""
    i = 0
    while i < m:
        rows = 8 if m - i >= 8 else (4 if m - i >= 4 else 1)
        ai, ci = a_off + i * a_row, c_off + i * c_row
        j = 0
        while j < n:
            if n - j >= 32:
                if rows == 8:
                    _T8x2(a, ai, a_row, a1, a2, b, b_off + j, b1, b2, c, ci + j, c_row, k1_count, k2_count, accumulate)
                elif rows == 4:
                    _T4x2(a, ai, a_row, a1, a2, b, b_off + j, b1, b2, c, ci + j, c_row, k1_count, k2_count, accumulate)
                else:
                    _T1x2(a, ai, a_row, a1, a2, b, b_off + j, b1, b2, c, ci + j, c_row, k1_count, k2_count, accumulate)
                j += 32
            else:
                if rows == 8:
                    _T8x1(a, ai, a_row, a1, a2, b, b_off + j, b1, b2, c, ci + j, c_row, k1_count, k2_count, accumulate)
                elif rows == 4:
                    _T4x1(a, ai, a_row, a1, a2, b, b_off + j, b1, b2, c, ci + j, c_row, k1_count, k2_count, accumulate)
                else:
                    _T1x1(a, ai, a_row, a1, a2, b, b_off + j, b1, b2, c, ci + j, c_row, k1_count, k2_count, accumulate)
                j += 16
        i += rows


def matmul(a, b, c):
    """c = a . b in tiles, for 2-d arrays with unit inner strides: True where they apply
    (float32 on AVX-512, at least 4 rows, and c's columns in whole 16-wide vectors), else False
    with c untouched. Only compiled code calls it (the overload below)."""
    raise NotImplementedError("netc.kernels.tiles.matmul runs in compiled code only")


def matmul_at(a, b, c):
    """c = a^T . b in tiles, as matmul (a is K x M here). Only compiled code calls it."""
    raise NotImplementedError("netc.kernels.tiles.matmul_at runs in compiled code only")


def fits(a, columns):
    """Whether matmul takes a's rows times a matrix of `columns` columns (compiled code only)."""
    raise NotImplementedError("netc.kernels.tiles.fits runs in compiled code only")


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _takes(M, K, N, a, b, c):
    """Whether the tiles take c (M x N) from a, b (float32, K the sum's length): 4 rows or more, N
    in whole vectors, the shapes agreeing, and unit strides along every row (row strides in floats
    are then strides[0] // 4)."""
    return (M >= 4 and N % WIDTH == 0 and b.shape[0] == K and c.shape[0] == M and c.shape[1] == N
            and a.strides[1] == 4 and b.strides[1] == 4 and c.strides[1] == 4)


@overload(fits, jit_options={"cache": True})
def _fits(a, columns):
    if ENABLED and a.dtype == types.float32:
        return lambda a, columns: a.shape[0] >= 4 and columns % WIDTH == 0
    return lambda a, columns: False


@overload(matmul, jit_options={"cache": True})
def _matmul(a, b, c):
    if not (ENABLED and a.dtype == b.dtype == c.dtype == types.float32):
        return lambda a, b, c: False

    def impl(a, b, c):
        M, K = a.shape
        N = b.shape[1]
        if not _takes(M, K, N, a, b, c):
            return False
        lda, ldb, ldc = a.strides[0] // 4, b.strides[0] // 4, c.strides[0] // 4
        for j0 in range(0, N, 32):  # 32 columns at a time: b's panel stays in L1 while c's rows pass
            tiles(M, min(32, N - j0), a, 0, lda, 0, 1, b, j0, 0, ldb, c, j0, ldc, 1, K, False)
        return True

    return impl


@overload(matmul_at, jit_options={"cache": True})
def _matmul_at(a, b, c):
    if not (ENABLED and a.dtype == b.dtype == c.dtype == types.float32):
        return lambda a, b, c: False

    def impl(a, b, c):
        K, M = a.shape
        N = b.shape[1]
        if not _takes(M, K, N, a, b, c):
            return False
        lda, ldb, ldc = a.strides[0] // 4, b.strides[0] // 4, c.strides[0] // 4
        # the sum in blocks of 256 rows and c in 32 columns at a time, so that b's block (32 KB)
        # stays in L1 while every row of c passes over it
        for k0 in range(0, K, 256):
            k1 = min(k0 + 256, K)
            for j0 in range(0, N, 32):
                tiles(M, min(32, N - j0), a, k0 * lda, 1, 0, lda, b, k0 * ldb + j0, 0, ldb, c, j0, ldc, 1, k1 - k0,
                      k0 > 0)
        return True

    return impl
