"""Kernels of batchnorm; x is viewed as (N, C, S): statistics per channel over N and S.

`mean` and `invstd` (C,) are saved by the forward for the VJP: the batch's statistics in
training, the running ones in eval, so one VJP kernel serves both modes.

The loops run per channel over flat unsigned offsets (the views are C-contiguous), one example's
S values at a time, and the sums may reassociate so that LLVM vectorizes them: W4's 3 batch norms
at 16 x 32 x 32, N32, took 0.69 ms each forward with scalar sums. One channel's values (N*S) stay
in L2 between its passes. Big tensors split their channels over Numba's threads (_serial): W4's
step 23.6 -> 23.0 ms (median of 80, three alternating runs of each); with the sleeping workqueue
threads the split had been slower.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .parallel import threads_now

ZERO = np.float32(0)
ONE = np.float32(1)
# reassoc vectorizes the sums; no arcp/afn, so 1/sqrt stays exact (float64 checks at 1e-12)
SUMS = {"reassoc", "nsz", "contract"}


@njit(cache=True, nogil=True)
def batchnorm_fwd(x, gamma, beta, running_mean, running_var, y, mean, invstd, eps, momentum, training, relu):
    """y = gamma * (x - mean) * invstd + beta per channel; relu(that) when `relu` (a fused relu:
    netc/plan.py)."""
    if _serial(x):
        for c in range(x.shape[1]):
            _fwd_channel(x, gamma, beta, running_mean, running_var, y, mean, invstd, eps, momentum, training, relu, c)
    else:
        _fwd_channels(x, gamma, beta, running_mean, running_var, y, mean, invstd, eps, momentum, training, relu)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _serial(x):
    """Channels in turn below 256K values (W4's smallest batch norm, 64 x 8 x 8 at N32, has 128K),
    or with one thread to run on (netc/threads.py). The channels are independent: their sums are
    the same in any schedule."""
    return x.size < 1 << 18 or x.shape[1] < 2 or threads_now() < 2


@njit(cache=True, nogil=True, parallel=True, no_cpython_wrapper=True)
def _fwd_channels(x, gamma, beta, running_mean, running_var, y, mean, invstd, eps, momentum, training, relu):
    for c in prange(x.shape[1]):
        _fwd_channel(x, gamma, beta, running_mean, running_var, y, mean, invstd, eps, momentum, training, relu, c)


@njit(cache=True, nogil=True, no_cpython_wrapper=True, fastmath=SUMS)
def _fwd_channel(x, gamma, beta, running_mean, running_var, y, mean, invstd, eps, momentum, training, relu, c):
    N, C, S = x.shape
    M = N * S
    count = x.dtype.type(M)  # exact below 2**24 values per channel; keeps float32 math in float32
    xf, yf = x.reshape(-1), y.reshape(-1)
    if training:
        acc = ZERO
        for n in range(N):
            o = (n * C + c) * S
            for s in range(S):
                acc += xf[np.uintp(o + s)]
        m = acc / count
        acc = ZERO  # two passes: the variance from centred values, not E[x^2] - m^2
        for n in range(N):
            o = (n * C + c) * S
            for s in range(S):
                d = xf[np.uintp(o + s)] - m
                acc += d * d
        var = acc / count
        # running_var takes the unbiased variance, as PyTorch does
        unbiased = acc / x.dtype.type(M - 1) if M > 1 else var
        running_mean[c] = (ONE - momentum) * running_mean[c] + momentum * m
        running_var[c] = (ONE - momentum) * running_var[c] + momentum * unbiased
    else:
        m = running_mean[c]
        var = running_var[c]
    inv = ONE / np.sqrt(var + eps)
    mean[c] = m
    invstd[c] = inv
    scale = gamma[c] * inv
    shift = beta[c] - m * scale
    for n in range(N):
        o = (n * C + c) * S
        if relu:
            for s in range(S):
                v = xf[np.uintp(o + s)] * scale + shift
                yf[np.uintp(o + s)] = v if v > ZERO else ZERO
        else:
            for s in range(S):
                yf[np.uintp(o + s)] = xf[np.uintp(o + s)] * scale + shift


@njit(cache=True, nogil=True, no_cpython_wrapper=True, fastmath=SUMS)
def _sums(xf, gf, mf, N, C, S, c, m):
    """sum(gy) and sum(gy * (x - m)) over channel c; gy is zero where a fused relu's output mf is
    not positive (mf None: no relu)."""
    sg = ZERO
    sgx = ZERO
    for n in range(N):
        o = (n * C + c) * S
        for s in range(S):
            g = gf[np.uintp(o + s)]
            if mf is not None:
                g = g if mf[np.uintp(o + s)] > ZERO else ZERO
            sg += g
            sgx += g * (xf[np.uintp(o + s)] - m)
    return sg, sgx


@njit(cache=True, nogil=True, no_cpython_wrapper=True, fastmath=SUMS)
def _input_grad(xf, gf, mf, gxf, N, C, S, c, m, inv, scale, g_mean, gx_mean, accumulate):
    """gx += scale * (gy - g_mean - xhat * gx_mean) over channel c, xhat = (x - m) * inv; gy masked
    by a fused relu's output mf as in _sums. gx = ... when not `accumulate`."""
    for n in range(N):
        o = (n * C + c) * S
        for s in range(S):
            i = np.uintp(o + s)
            xhat = (xf[i] - m) * inv
            g = gf[i]
            if mf is not None:
                g = g if mf[i] > ZERO else ZERO
            v = scale * (g - g_mean - xhat * gx_mean)
            gxf[i] = gxf[i] + v if accumulate else v


@njit(cache=True, nogil=True)
def batchnorm_vjp(x, gy, mask, gamma, mean, invstd, gx, ggamma, gbeta, training, accumulate):
    """ggamma += sum(gy * xhat), gbeta += sum(gy) per channel (both modes), and unless gx is None
    gx += gamma*invstd*(gy - mean(gy) - xhat*mean(gy*xhat)) in training, gamma*invstd*gy in eval.
    One kernel: the sums read x and gy once for both (Numba prunes the gx branch when it is None).
    With a fused relu, gy is the relu's gradient and mask its output: gy counts where mask > 0.
    gx = ... rather than += when not `accumulate` (netc/plan.py: the gradient's first writer)."""
    if _serial(x):
        for c in range(x.shape[1]):
            _vjp_channel(x, gy, mask, gamma, mean, invstd, gx, ggamma, gbeta, training, accumulate, c)
    else:
        _vjp_channels(x, gy, mask, gamma, mean, invstd, gx, ggamma, gbeta, training, accumulate)


@njit(cache=True, nogil=True, parallel=True, no_cpython_wrapper=True)
def _vjp_channels(x, gy, mask, gamma, mean, invstd, gx, ggamma, gbeta, training, accumulate):
    for c in prange(x.shape[1]):
        _vjp_channel(x, gy, mask, gamma, mean, invstd, gx, ggamma, gbeta, training, accumulate, c)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _vjp_channel(x, gy, mask, gamma, mean, invstd, gx, ggamma, gbeta, training, accumulate, c):
    N, C, S = x.shape
    count = x.dtype.type(N * S)
    xf, gf = x.reshape(-1), gy.reshape(-1)
    mf = None if mask is None else mask.reshape(-1)
    m, inv = mean[c], invstd[c]
    sg, sgx = _sums(xf, gf, mf, N, C, S, c, m)
    ggamma[c] += sgx * inv
    gbeta[c] += sg
    if gx is not None:  # in training the batch statistics depend on x too
        g_mean = sg / count if training else ZERO
        gx_mean = sgx * inv / count if training else ZERO
        _input_grad(xf, gf, mf, gx.reshape(-1), N, C, S, c, m, inv, gamma[c] * inv, g_mean, gx_mean, accumulate)
