"""Kernels of dense: y = x W + b over the last axis (x viewed as rows)."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def dense_fwd(x, w, b, y):
    x2 = x.reshape(-1, w.shape[0])
    y2 = y.reshape(-1, w.shape[1])
    np.dot(x2, w, y2)
    for i in range(y2.shape[0]):
        for j in range(y2.shape[1]):
            y2[i, j] += b[j]


@njit(cache=True, nogil=True)
def dense_fwd_nobias(x, w, y):
    np.dot(x.reshape(-1, w.shape[0]), w, y.reshape(-1, w.shape[1]))


@njit(cache=True, nogil=True)
def dense_vjp_x(gy, w, gx, tmp):
    """gx += gy W^T (tmp: a scratch buffer of gx's shape, since BLAS here cannot accumulate)."""
    g2 = gy.reshape(-1, w.shape[1])
    t2 = tmp.reshape(-1, w.shape[0])
    np.dot(g2, w.T, t2)
    gxf = gx.reshape(-1)
    tf = tmp.reshape(-1)
    for i in range(gxf.size):
        gxf[i] += tf[i]


@njit(cache=True, nogil=True)
def dense_vjp_w(x, gy, gw, tmp):
    """gW += x^T gy (tmp: scratch of gW's shape)."""
    np.dot(x.reshape(-1, gw.shape[0]).T, gy.reshape(-1, gw.shape[1]), tmp)
    for i in range(gw.shape[0]):
        for j in range(gw.shape[1]):
            gw[i, j] += tmp[i, j]


@njit(cache=True, nogil=True)
def dense_vjp_b(gy, gb):
    g2 = gy.reshape(-1, gb.shape[0])
    for i in range(g2.shape[0]):
        for j in range(g2.shape[1]):
            gb[j] += g2[i, j]
