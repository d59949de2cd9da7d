"""Forward mode of max/avg pooling (as 3-d, see netc/kernels/pool.py) and global pooling.

Max pooling is piecewise a selection: the tangent is dx at the argmax the forward saved (0 for a
window of padding alone). Average pooling is linear: the tangent is the same average of dx, with
the same divisor (count_include_pad) and the same clipping of windows past the padded input.
Every kernel writes dy.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import pool as _pool  # the tap ranges and divisors of the forward

ZERO = np.float32(0)


@njit(cache=True, nogil=True)
def maxpool_jvp(dx, arg, dy):
    """dy = dx[arg], all viewed as (N, C, S)."""
    N, C, S = dy.shape
    for n in range(N):
        for c in range(C):
            for p in range(S):
                i = arg[n, c, p]
                dy[n, c, p] = dx[n, c, i] if i >= 0 else ZERO


@njit(cache=True, nogil=True)
def avgpool_jvp(dx, dy, kernel, stride, pad, pad_right, dilation, include_pad):
    N, C, D, H, W = dx.shape
    Do, Ho, Wo = dy.shape[2], dy.shape[3], dy.shape[4]
    for n in range(N):
        for c in range(C):
            dxc = dx[n, c]
            for od in range(Do):
                a0, a1 = _pool._taps(od, D, kernel[0], stride[0], pad[0], dilation[0])
                for oh in range(Ho):
                    b0, b1 = _pool._taps(oh, H, kernel[1], stride[1], pad[1], dilation[1])
                    for ow in range(Wo):
                        k0, k1 = _pool._taps(ow, W, kernel[2], stride[2], pad[2], dilation[2])
                        acc = ZERO
                        for a in range(a0, a1):
                            iz = od * stride[0] - pad[0] + a * dilation[0]
                            for b in range(b0, b1):
                                iy = oh * stride[1] - pad[1] + b * dilation[1]
                                for k in range(k0, k1):
                                    acc += dxc[iz, iy, ow * stride[2] - pad[2] + k * dilation[2]]
                        count = _pool._divisor(od, oh, ow, (D, H, W), kernel, stride, pad, pad_right, dilation,
                                               include_pad, (a1 - a0) * (b1 - b0) * (k1 - k0))
                        dy[n, c, od, oh, ow] = acc / dx.dtype.type(count) if count > 0 else ZERO


@njit(cache=True, nogil=True)
def globalmaxpool_jvp(dx, arg, dy):
    """dy[n, c] = dx[n, c, arg[n, c]], dx viewed as (N, C, S)."""
    N, C = dy.shape
    for n in range(N):
        for c in range(C):
            dy[n, c] = dx[n, c, arg[n, c]]


@njit(cache=True, nogil=True)
def globalavgpool_jvp(dx, dy):
    N, C, S = dx.shape
    count = dx.dtype.type(S)
    for n in range(N):
        for c in range(C):
            acc = ZERO
            for s in range(S):
                acc += dx[n, c, s]
            dy[n, c] = acc / count
