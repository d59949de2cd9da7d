"""Forward mode of conv1d/2d/3d, all as 3-d (see netc/kernels/conv.py for the layouts).

The tangent is linear in (dx, dW, db): dy = conv(dx, W) + conv(x, dW) + db. Both convolutions
build their columns (of dx, of x) one example at a time in a CK x P scratch. The first term
present writes dy, the later ones add (`add`), so dy is overwritten, never accumulated across calls.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import conv as _conv  # im2col and the geometry: the same columns as the forward
from .blas import _gemm

ZERO = np.float32(0)


@njit(cache=True, nogil=True)
def conv_jvp_x(dx, w, dy, dcol, stride, pad, dilation):
    """dy = conv(dx, W), written; dcol: CK x P scratch for one example's columns."""
    kernel, out, P = _conv._geometry(w, dy)
    N, F = dy.shape[0], dy.shape[1]
    w2 = w.reshape(F, -1)
    d3 = dy.reshape(N, F, P)
    for n in range(N):
        _conv.im2col(dx[n], dcol, 0, kernel, stride, pad, dilation, out)
        np.dot(w2, dcol, d3[n])


@njit(cache=True, nogil=True)
def conv_jvp_w(x, dw, dy, dcol, add, stride, pad, dilation):
    """dy (+)= conv(x, dW); dcol: CK x P scratch for one example's columns."""
    kernel, out, P = _conv._geometry(dw, dy)
    N, F = dy.shape[0], dy.shape[1]
    w2 = dw.reshape(F, -1)
    CK = w2.shape[1]
    d3 = dy.reshape(N, F, P)
    for n in range(N):
        _conv.im2col(x[n], dcol, 0, kernel, stride, pad, dilation, out)
        _gemm(w2, False, CK, dcol, False, P, d3[n], P, F, P, CK, add)


@njit(cache=True, nogil=True)
def conv_jvp_b(db, dy, add):
    """dy (+)= db, broadcast over examples and positions."""
    N, F = dy.shape[0], dy.shape[1]
    d3 = dy.reshape(N, F, -1)
    for n in range(N):
        for f in range(F):
            v = db[f]
            for p in range(d3.shape[2]):
                if add:
                    d3[n, f, p] += v
                else:
                    d3[n, f, p] = v
