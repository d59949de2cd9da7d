"""Kernels of conv1d/2d/3d, all as 3-d: x (N, C, D, H, W), w (F, C, kd, kh, kw), y (N, F, Do, Ho, Wo).

The op reshapes 1-d and 2-d tensors to 3-d with singleton axes, so one compiled kernel serves all
three ranks. `stride`, `pad` (left pads; the right ones follow from the sizes) and `dilation` are
(d, h, w) tuples. Columns: col[(c, a, b, k), (od, oh, ow)] = x[c, od*sd - pd + a*dd, ...], zero
in the padding; y[n] = W (F x CK) . col (CK x P) by BLAS.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)


@njit(cache=True, nogil=True)
def _span(out, size, stride, pad, offset):
    """The outputs o in [lo, hi) whose input index o*stride - pad + offset lies inside [0, size)."""
    start = offset - pad
    lo = 0 if start >= 0 else (-start + stride - 1) // stride
    hi = 0 if size - 1 - start < 0 else (size - 1 - start) // stride + 1
    lo = min(lo, out)
    hi = max(min(hi, out), lo)
    return lo, hi


@njit(cache=True, nogil=True)
def im2col(xn, col, off, kernel, stride, pad, dilation, out):
    """col[r, off + p] for one example xn (C, D, H, W); out = (Do, Ho, Wo)."""
    C, D, H, W = xn.shape
    kd, kh, kw = kernel
    Do, Ho, Wo = out
    r = 0
    for c in range(C):
        for a in range(kd):
            d_lo, d_hi = _span(Do, D, stride[0], pad[0], a * dilation[0])
            for b in range(kh):
                h_lo, h_hi = _span(Ho, H, stride[1], pad[1], b * dilation[1])
                for k in range(kw):
                    w_lo, w_hi = _span(Wo, W, stride[2], pad[2], k * dilation[2])
                    row = col[r]
                    p = off
                    for od in range(Do):
                        iz = od * stride[0] - pad[0] + a * dilation[0]
                        for oh in range(Ho):
                            iy = oh * stride[1] - pad[1] + b * dilation[1]
                            if d_lo <= od < d_hi and h_lo <= oh < h_hi:
                                for ow in range(w_lo):
                                    row[p + ow] = ZERO
                                ix = w_lo * stride[2] - pad[2] + k * dilation[2]
                                for ow in range(w_lo, w_hi):
                                    row[p + ow] = xn[c, iz, iy, ix]
                                    ix += stride[2]
                                for ow in range(w_hi, Wo):
                                    row[p + ow] = ZERO
                            else:
                                for ow in range(Wo):
                                    row[p + ow] = ZERO
                            p += Wo
                    r += 1


@njit(cache=True, nogil=True)
def col2im(col, off, gxn, kernel, stride, pad, dilation, out):
    """gxn (C, D, H, W) += columns off.. folded back: the transpose of im2col."""
    C, D, H, W = gxn.shape
    kd, kh, kw = kernel
    Do, Ho, Wo = out
    r = 0
    for c in range(C):
        for a in range(kd):
            d_lo, d_hi = _span(Do, D, stride[0], pad[0], a * dilation[0])
            for b in range(kh):
                h_lo, h_hi = _span(Ho, H, stride[1], pad[1], b * dilation[1])
                for k in range(kw):
                    w_lo, w_hi = _span(Wo, W, stride[2], pad[2], k * dilation[2])
                    row = col[r]
                    for od in range(d_lo, d_hi):
                        iz = od * stride[0] - pad[0] + a * dilation[0]
                        for oh in range(h_lo, h_hi):
                            iy = oh * stride[1] - pad[1] + b * dilation[1]
                            p = off + (od * Ho + oh) * Wo
                            ix = w_lo * stride[2] - pad[2] + k * dilation[2]
                            for ow in range(w_lo, w_hi):
                                gxn[c, iz, iy, ix] += row[p + ow]
                                ix += stride[2]
                    r += 1


@njit(cache=True, nogil=True)
def _geometry(w, y):
    kernel = (w.shape[2], w.shape[3], w.shape[4])
    out = (y.shape[2], y.shape[3], y.shape[4])
    return kernel, out, out[0] * out[1] * out[2]


# Batched: all examples' columns side by side (CK x N*P), one GEMM, and the columns stay in `col`
# for conv_vjp_w. Float32, 2 threads, fwd / vjp_w, against one example at a time (vjp_w rebuilding
# the columns): LeNet (N64 1->6 28x28 k5) 1.07 / 0.74 ms vs 1.24 / 1.41 ms; ResNet (N32 16->32
# 32x32 k3) 4.8 / 2.1 ms vs 4.7 / 4.7 ms.
@njit(cache=True, nogil=True)
def conv_fwd(x, w, b, y, col, tmp, stride, pad, dilation):
    """y = conv(x, w) + b (b may be None). col: CK x N x P (kept); tmp: F x N x P scratch."""
    kernel, out, P = _geometry(w, y)
    N, F = y.shape[0], y.shape[1]
    col2 = col.reshape(col.shape[0], -1)
    tmp2 = tmp.reshape(F, -1)
    for n in range(N):
        im2col(x[n], col2, n * P, kernel, stride, pad, dilation, out)
    np.dot(w.reshape(F, -1), col2, tmp2)
    y3 = y.reshape(N, F, P)
    for n in range(N):
        for f in range(F):
            bf = b[f] if b is not None else ZERO
            for p in range(P):
                y3[n, f, p] = tmp2[f, n * P + p] + bf


# One example at a time: as fast as batched (LeNet 0.92 vs 0.89 ms, ResNet 5.8 vs 5.8 ms, gy
# transposed included) with a CK x P scratch instead of CK x N*P.
@njit(cache=True, nogil=True)
def conv_vjp_x(gy, w, gx, gcol, stride, pad, dilation):
    """gx += col2im(W^T . gy[n]) per example; gcol: CK x P scratch."""
    kernel, out, P = _geometry(w, gy)
    N, F = gy.shape[0], gy.shape[1]
    w2 = w.reshape(F, -1)
    g3 = gy.reshape(N, F, P)
    for n in range(N):
        np.dot(w2.T, g3[n], gcol)
        col2im(gcol, 0, gx[n], kernel, stride, pad, dilation, out)


@njit(cache=True, nogil=True)
def conv_vjp_w(gy, gw, col, tmp, gw_tmp):
    """gW += gy (F x N*P) . col^T, with col saved by conv_fwd; tmp: F x N x P, gw_tmp: F x CK."""
    N, F = gy.shape[0], gy.shape[1]
    g3 = gy.reshape(N, F, -1)
    P = g3.shape[2]
    tmp2 = tmp.reshape(F, -1)
    for n in range(N):
        for f in range(F):
            for p in range(P):
                tmp2[f, n * P + p] = g3[n, f, p]
    np.dot(tmp2, col.reshape(col.shape[0], -1).T, gw_tmp)
    gw2 = gw.reshape(F, -1)
    for f in range(F):
        for r in range(gw2.shape[1]):
            gw2[f, r] += gw_tmp[f, r]


@njit(cache=True, nogil=True)
def conv_vjp_b(gy, gb):
    N, F = gy.shape[0], gy.shape[1]
    g3 = gy.reshape(N, F, -1)
    for n in range(N):
        for f in range(F):
            acc = ZERO
            for p in range(g3.shape[2]):
                acc += g3[n, f, p]
            gb[f] += acc
