"""Kernels of max/avg pooling, all as 3-d: x (N, C, D, H, W) -> y (N, C, Do, Ho, Wo), and global pooling.

The op reshapes 1-d and 2-d tensors to 3-d with singleton axes. `kernel`, `stride`, `pad` (left),
`pad_right` and `dilation` are (d, h, w) tuples. A window tap is real when its index lies in
[0, size); windows may hang past the padded input (rounding: ceil), those taps are skipped.
Max pooling keeps the flat index (iz*H + iy)*W + ix of each maximum in `arg` for the VJP.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import REDUCE

ZERO = np.float32(0)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _taps(o, size, kernel, stride, pad, dilation):
    """Taps a in [lo, hi) of output o whose input index o*stride - pad + a*dilation is in [0, size)."""
    start = o * stride - pad
    lo = 0 if start >= 0 else (-start + dilation - 1) // dilation
    hi = 0 if size - 1 - start < 0 else (size - 1 - start) // dilation + 1
    lo = min(lo, kernel)
    return lo, max(min(hi, kernel), lo)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _padded_taps(o, size, kernel, stride, pad, pad_right, dilation):
    """How many taps of output o lie inside the padded input [-pad, size + pad_right)."""
    lo, hi = _taps(o, size + pad + pad_right, kernel, stride, 0, dilation)
    return hi - lo


@njit(cache=True, nogil=True)
def maxpool_fwd(x, y, arg, kernel, stride, pad, dilation):
    N, C, D, H, W = x.shape
    Do, Ho, Wo = y.shape[2], y.shape[3], y.shape[4]
    for n in range(N):
        for c in range(C):
            xc = x[n, c]
            for od in range(Do):
                a0, a1 = _taps(od, D, kernel[0], stride[0], pad[0], dilation[0])
                for oh in range(Ho):
                    b0, b1 = _taps(oh, H, kernel[1], stride[1], pad[1], dilation[1])
                    for ow in range(Wo):
                        k0, k1 = _taps(ow, W, kernel[2], stride[2], pad[2], dilation[2])
                        best = ZERO
                        at = -1  # stays -1 only for a window of padding alone: y = 0, no gradient
                        for a in range(a0, a1):
                            iz = od * stride[0] - pad[0] + a * dilation[0]
                            for b in range(b0, b1):
                                iy = oh * stride[1] - pad[1] + b * dilation[1]
                                for k in range(k0, k1):
                                    ix = ow * stride[2] - pad[2] + k * dilation[2]
                                    v = xc[iz, iy, ix]
                                    # the first maximum wins; a NaN propagates
                                    if at < 0 or v > best or (v != v and best == best):
                                        best = v
                                        at = (iz * H + iy) * W + ix
                        y[n, c, od, oh, ow] = best
                        arg[n, c, od, oh, ow] = at


@njit(cache=True, nogil=True)
def maxpool_vjp_x(gy, arg, gx):
    """gx[arg] += gy, all viewed as (N, C, S): each output's gradient goes to its maximum."""
    N, C, S = gy.shape
    for n in range(N):
        for c in range(C):
            for p in range(S):
                i = arg[n, c, p]
                if i >= 0:
                    gx[n, c, i] += gy[n, c, p]


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _divisor(od, oh, ow, shape, kernel, stride, pad, pad_right, dilation, include_pad, real):
    """The count an average divides by: taps in the padded input (include_pad) or real taps only."""
    if not include_pad:
        return real
    n = 1
    o = (od, oh, ow)
    for i in range(3):
        n *= _padded_taps(o[i], shape[i], kernel[i], stride[i], pad[i], pad_right[i], dilation[i])
    return n


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _inside(shape, out, kernel, stride, pad, pad_right, dilation):
    """Every window lies inside the input (no padding, no dilation): the fast loops apply."""
    for i in range(3):
        if pad[i] != 0 or pad_right[i] != 0 or dilation[i] != 1 or (out[i] - 1) * stride[i] + kernel[i] > shape[i]:
            return False
    return True


# Windows wholly inside the input (LeNet's 2x2 /2): plain loops without the per-output tap
# ranges and divisors. LeNet N64 6x28x28 float32: fwd 1.34 -> 0.29 ms, vjp 1.26 -> 0.28 ms; then
# flat views with unsigned indices (a signed index costs a wrap-around select per element and
# keeps LLVM from vectorizing) and one output row summed tap by tap (the same order of adds):
# fwd 0.29 -> 0.15 ms, vjp 0.29 -> 0.18 ms.
@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _avgpool_inside_fwd(x, y, kernel, stride):
    N, C, D, H, W = x.shape
    Do, Ho, Wo = y.shape[2], y.shape[3], y.shape[4]
    count = x.dtype.type(kernel[0] * kernel[1] * kernel[2])
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    for nc in range(N * C):
        for od in range(Do):
            for oh in range(Ho):
                o = ((nc * Do + od) * Ho + oh) * Wo  # one output row, summed tap by tap (same order)
                for ow in range(Wo):
                    yf[np.uintp(o + ow)] = ZERO
                for a in range(kernel[0]):
                    for b in range(kernel[1]):
                        for k in range(kernel[2]):
                            i = ((nc * D + od * stride[0] + a) * H + oh * stride[1] + b) * W + k
                            for ow in range(Wo):
                                yf[np.uintp(o + ow)] += xf[np.uintp(i + ow * stride[2])]
                for ow in range(Wo):
                    yf[np.uintp(o + ow)] /= count


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _avgpool_inside_vjp_x(gy, gx, kernel, stride):
    N, C, D, H, W = gx.shape
    Do, Ho, Wo = gy.shape[2], gy.shape[3], gy.shape[4]
    count = gx.dtype.type(kernel[0] * kernel[1] * kernel[2])
    gyf = gy.reshape(-1)
    gxf = gx.reshape(-1)
    for nc in range(N * C):
        for od in range(Do):
            for oh in range(Ho):
                o = ((nc * Do + od) * Ho + oh) * Wo
                for a in range(kernel[0]):
                    for b in range(kernel[1]):
                        for k in range(kernel[2]):
                            i = ((nc * D + od * stride[0] + a) * H + oh * stride[1] + b) * W + k
                            for ow in range(Wo):
                                gxf[np.uintp(i + ow * stride[2])] += gyf[np.uintp(o + ow)] / count


@njit(cache=True, nogil=True)
def avgpool_fwd(x, y, kernel, stride, pad, pad_right, dilation, include_pad):
    N, C, D, H, W = x.shape
    Do, Ho, Wo = y.shape[2], y.shape[3], y.shape[4]
    if _inside((D, H, W), (Do, Ho, Wo), kernel, stride, pad, pad_right, dilation):
        _avgpool_inside_fwd(x, y, kernel, stride)
        return
    for n in range(N):
        for c in range(C):
            xc = x[n, c]
            for od in range(Do):
                a0, a1 = _taps(od, D, kernel[0], stride[0], pad[0], dilation[0])
                for oh in range(Ho):
                    b0, b1 = _taps(oh, H, kernel[1], stride[1], pad[1], dilation[1])
                    for ow in range(Wo):
                        k0, k1 = _taps(ow, W, kernel[2], stride[2], pad[2], dilation[2])
                        acc = ZERO
                        for a in range(a0, a1):
                            iz = od * stride[0] - pad[0] + a * dilation[0]
                            for b in range(b0, b1):
                                iy = oh * stride[1] - pad[1] + b * dilation[1]
                                for k in range(k0, k1):
                                    acc += xc[iz, iy, ow * stride[2] - pad[2] + k * dilation[2]]
                        count = _divisor(od, oh, ow, (D, H, W), kernel, stride, pad, pad_right, dilation,
                                         include_pad, (a1 - a0) * (b1 - b0) * (k1 - k0))
                        # the count in the array's own dtype: exact, so no float64 enters float32 code
                        y[n, c, od, oh, ow] = acc / x.dtype.type(count) if count > 0 else ZERO


@njit(cache=True, nogil=True)
def avgpool_vjp_x(gy, gx, kernel, stride, pad, pad_right, dilation, include_pad):
    N, C, D, H, W = gx.shape
    Do, Ho, Wo = gy.shape[2], gy.shape[3], gy.shape[4]
    if _inside((D, H, W), (Do, Ho, Wo), kernel, stride, pad, pad_right, dilation):
        _avgpool_inside_vjp_x(gy, gx, kernel, stride)
        return
    for n in range(N):
        for c in range(C):
            gxc = gx[n, c]
            for od in range(Do):
                a0, a1 = _taps(od, D, kernel[0], stride[0], pad[0], dilation[0])
                for oh in range(Ho):
                    b0, b1 = _taps(oh, H, kernel[1], stride[1], pad[1], dilation[1])
                    for ow in range(Wo):
                        k0, k1 = _taps(ow, W, kernel[2], stride[2], pad[2], dilation[2])
                        count = _divisor(od, oh, ow, (D, H, W), kernel, stride, pad, pad_right, dilation,
                                         include_pad, (a1 - a0) * (b1 - b0) * (k1 - k0))
                        if count == 0:
                            continue
                        g = gy[n, c, od, oh, ow] / gx.dtype.type(count)
                        for a in range(a0, a1):
                            iz = od * stride[0] - pad[0] + a * dilation[0]
                            for b in range(b0, b1):
                                iy = oh * stride[1] - pad[1] + b * dilation[1]
                                for k in range(k0, k1):
                                    gxc[iz, iy, ow * stride[2] - pad[2] + k * dilation[2]] += g


# global pooling: x viewed as (N, C, S)

# The maximum of a plane, then where it first occurs (the search stops at the first hit): W5's
# 64 x 64 x 193 took 0.52 ms in one pass tracking both, 0.31 ms so (NaN test 0.03, maximum 0.12).
@njit(cache=True, nogil=True)
def globalmaxpool_fwd(x, y, arg):
    """y = the maximum over each (n, c) plane, arg = its first position; a NaN propagates (the first)."""
    N, C, S = x.shape
    xf = x.reshape(-1)
    for n in range(N):
        for c in range(C):
            start = (n * C + c) * S
            at = 0
            if _has_nan(xf, start, S):
                while xf[np.uintp(start + at)] == xf[np.uintp(start + at)]:
                    at += 1
            else:
                best = _max_no_nan(xf, start, S)
                while xf[np.uintp(start + at)] != best:  # best is in the plane: this stops
                    at += 1
            y[n, c] = xf[np.uintp(start + at)]
            arg[n, c] = at


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _has_nan(xf, start, S):
    bad = False
    for s in range(S):
        v = xf[np.uintp(start + s)]
        bad |= v != v
    return bad


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _max_no_nan(xf, start, S):
    """The maximum of a plane with no NaN, in four independent running maxima: one was a chain of
    compare-and-selects, each waiting on the last (LLVM does not vectorize this reduction)."""
    b0 = b1 = b2 = b3 = xf[start]
    full = S - S % 4
    for s in range(0, full, 4):
        i = np.uintp(start + s)
        v0, v1, v2, v3 = xf[i], xf[i + 1], xf[i + 2], xf[i + 3]
        b0 = v0 if v0 > b0 else b0
        b1 = v1 if v1 > b1 else b1
        b2 = v2 if v2 > b2 else b2
        b3 = v3 if v3 > b3 else b3
    for s in range(full, S):
        v = xf[np.uintp(start + s)]
        b0 = v if v > b0 else b0
    b0 = b1 if b1 > b0 else b0
    b2 = b3 if b3 > b2 else b2
    return b2 if b2 > b0 else b0


@njit(cache=True, nogil=True)
def globalmaxpool_vjp_x(gy, arg, gx):
    N, C = gy.shape
    for n in range(N):
        for c in range(C):
            gx[n, c, arg[n, c]] += gy[n, c]


# reassoc and unsigned indices let LLVM vectorize the sum: W4's SE squeeze, N32 16x32x32: 0.23 -> 0.02 ms
@njit(cache=True, nogil=True, fastmath=REDUCE)
def globalavgpool_fwd(x, y):
    N, C, S = x.shape
    count = x.dtype.type(S)
    xf = x.reshape(-1)
    for n in range(N):
        for c in range(C):
            acc = ZERO
            start = (n * C + c) * S
            for s in range(S):
                acc += xf[np.uintp(start + s)]
            y[n, c] = acc / count


@njit(cache=True, nogil=True)
def globalavgpool_vjp_x(gy, gx, accumulate):
    """gx += gy / S over each (n, c) plane; gx = that when not `accumulate` (netc/plan.py)."""
    N, C, S = gx.shape
    count = gx.dtype.type(S)
    for n in range(N):
        for c in range(C):
            g = gy[n, c] / count
            if accumulate:
                for s in range(S):
                    gx[n, c, s] += g
            else:
                for s in range(S):
                    gx[n, c, s] = g
