"""Forward mode of conv1d/2d/3d, all as 3-d (see netc/kernels/conv.py for the layouts).

The tangent is linear in (dx, dW, db): dy = conv(dx, W) + conv(x, dW) + db. conv(x, dW) reuses
the columns conv_fwd kept in `col`; conv(dx, W) builds dx's columns one example at a time in a
CK x P scratch. The first term present writes dy, the later ones add (`add`), so dy is
overwritten, never accumulated across calls.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import conv as _conv  # im2col and the geometry: the same columns as the forward

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
def conv_jvp_w(dw, dy, col, tmp, add):
    """dy (+)= conv(x, dW) = dW (F x CK) . col (CK x N*P), col saved by conv_fwd; tmp: F x N x P."""
    N, F = dy.shape[0], dy.shape[1]
    tmp2 = tmp.reshape(F, -1)
    np.dot(dw.reshape(F, -1), col.reshape(col.shape[0], -1), tmp2)
    d3 = dy.reshape(N, F, -1)
    P = d3.shape[2]
    for n in range(N):
        for f in range(F):
            for p in range(P):
                if add:
                    d3[n, f, p] += tmp2[f, n * P + p]
                else:
                    d3[n, f, p] = tmp2[f, n * P + p]


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
