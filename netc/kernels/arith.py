"""Kernels of add and mul with broadcasting. All arrays are C-contiguous 4-D views made by the
emitted line (axes grouped so that each group is either shared or broadcast, missing groups as
leading size-1 axes); an operand axis of size 1 is broadcast along y's axis, so its index there
is always 0.

The kernels loop over the first three axes and run the last one as a flat inner loop over
unsigned offsets, each operand either contiguous or one broadcast value there, so LLVM vectorizes
it. W4's residual add (N32 x 16 x 32 x 32) took 2.6 ms with 4-D indexing over (N*16384, 1, 1, 1)
views; SE's per-channel mul 1.6 ms.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import REDUCE

FAST = dict(cache=True, nogil=True, no_cpython_wrapper=True, error_model="numpy")


@njit(**FAST)
def _offset(a, i, j, k):
    """Flat offset of a[i, j, k, 0] with broadcast axes held at 0 (signed: indexes add it to a
    signed m and cast the sum to uintp, since uintp + int64 is float64 in Numba)."""
    s0, s1, s2, s3 = a.shape
    return ((min(i, s0 - 1) * s1 + min(j, s1 - 1)) * s2 + min(k, s2 - 1)) * s3


@njit(**FAST)
def _binary(a, b, y, mul):
    af, bf, yf = a.reshape(-1), b.reshape(-1), y.reshape(-1)
    M = y.shape[3]
    fa, fb = a.shape[3] != 1, b.shape[3] != 1
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            for k in range(y.shape[2]):
                oa, ob = _offset(a, i, j, k), _offset(b, i, j, k)
                oy = ((i * y.shape[1] + j) * y.shape[2] + k) * M
                if fa and fb:
                    if mul:
                        for m in range(M):
                            yf[np.uintp(oy + m)] = af[np.uintp(oa + m)] * bf[np.uintp(ob + m)]
                    else:
                        for m in range(M):
                            yf[np.uintp(oy + m)] = af[np.uintp(oa + m)] + bf[np.uintp(ob + m)]
                elif fa:
                    v = bf[np.uintp(ob)]
                    if mul:
                        for m in range(M):
                            yf[np.uintp(oy + m)] = af[np.uintp(oa + m)] * v
                    else:
                        for m in range(M):
                            yf[np.uintp(oy + m)] = af[np.uintp(oa + m)] + v
                elif fb:
                    v = af[np.uintp(oa)]
                    if mul:
                        for m in range(M):
                            yf[np.uintp(oy + m)] = v * bf[np.uintp(ob + m)]
                    else:
                        for m in range(M):
                            yf[np.uintp(oy + m)] = v + bf[np.uintp(ob + m)]
                else:
                    v = af[np.uintp(oa)] * bf[np.uintp(ob)] if mul else af[np.uintp(oa)] + bf[np.uintp(ob)]
                    for m in range(M):
                        yf[np.uintp(oy + m)] = v


@njit(cache=True, nogil=True)
def add_fwd(a, b, y):
    _binary(a, b, y, False)


@njit(cache=True, nogil=True)
def mul_fwd(a, b, y):
    _binary(a, b, y, True)


# reassoc: the broadcast gradient's inner sums vectorize
@njit(cache=True, nogil=True, no_cpython_wrapper=True, error_model="numpy", fastmath=REDUCE)
def _accumulate(gy, other, gx, accumulate):
    """gx += gy (other None) or gy * other, summed over the axes where gx is broadcast; gx = ...
    when not `accumulate` (gx then holds anything: a broadcast gx is zeroed first, a full one written)."""
    gyf, gxf = gy.reshape(-1), gx.reshape(-1)
    M = gy.shape[3]
    full = gx.shape[3] != 1
    fo = other is not None and other.shape[3] != 1
    write = not accumulate and gx.size == gy.size  # every gx element is one gy element: write it
    if not accumulate and not write:
        for i in range(gxf.size):
            gxf[i] = gyf.dtype.type(0)
    for i in range(gy.shape[0]):
        for j in range(gy.shape[1]):
            for k in range(gy.shape[2]):
                og = ((i * gy.shape[1] + j) * gy.shape[2] + k) * M
                ox = _offset(gx, i, j, k)
                if other is None:
                    if full and write:
                        for m in range(M):
                            gxf[np.uintp(ox + m)] = gyf[np.uintp(og + m)]
                    elif full:
                        for m in range(M):
                            gxf[np.uintp(ox + m)] += gyf[np.uintp(og + m)]
                    else:
                        acc = gyf.dtype.type(0)
                        for m in range(M):
                            acc += gyf[np.uintp(og + m)]
                        gxf[np.uintp(ox)] = acc if write else gxf[np.uintp(ox)] + acc
                else:
                    of = other.reshape(-1)
                    oo = _offset(other, i, j, k)
                    if full and fo and write:
                        for m in range(M):
                            gxf[np.uintp(ox + m)] = gyf[np.uintp(og + m)] * of[np.uintp(oo + m)]
                    elif full and fo:
                        for m in range(M):
                            gxf[np.uintp(ox + m)] += gyf[np.uintp(og + m)] * of[np.uintp(oo + m)]
                    elif full and write:
                        v = of[np.uintp(oo)]
                        for m in range(M):
                            gxf[np.uintp(ox + m)] = gyf[np.uintp(og + m)] * v
                    elif full:
                        v = of[np.uintp(oo)]
                        for m in range(M):
                            gxf[np.uintp(ox + m)] += gyf[np.uintp(og + m)] * v
                    elif fo:
                        acc = gyf.dtype.type(0)
                        for m in range(M):
                            acc += gyf[np.uintp(og + m)] * of[np.uintp(oo + m)]
                        gxf[np.uintp(ox)] = acc if write else gxf[np.uintp(ox)] + acc
                    else:
                        acc = gyf.dtype.type(0)
                        for m in range(M):
                            acc += gyf[np.uintp(og + m)]
                        v = acc * of[np.uintp(oo)]
                        gxf[np.uintp(ox)] = v if write else gxf[np.uintp(ox)] + v


@njit(cache=True, nogil=True)
def add_vjp_x(gy, gx, accumulate):
    """gx += gy summed over the axes where gx is broadcast (either input: add is symmetric); gx = ...
    when not `accumulate` (netc/plan.py: the gradient's first writer)."""
    _accumulate(gy, None, gx, accumulate)


@njit(cache=True, nogil=True)
def mul_vjp_x(gy, other, gx, accumulate):
    """gx += gy * other, summed over the axes where gx is broadcast (either input); gx = ... when
    not `accumulate`."""
    _accumulate(gy, other, gx, accumulate)
