"""Kernels of batchnorm; x is viewed as (N, C, S): statistics per channel over N and S.

`mean` and `invstd` (C,) are saved by the forward for the VJP: the batch's statistics in
training, the running ones in eval, so one VJP kernel serves both modes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)
ONE = np.float32(1)


@njit(cache=True, nogil=True)
def batchnorm_fwd(x, gamma, beta, running_mean, running_var, y, mean, invstd, eps, momentum, training):
    N, C, S = x.shape
    M = N * S
    count = x.dtype.type(M)  # exact below 2**24 values per channel; keeps float32 math in float32
    for c in range(C):
        if training:
            acc = ZERO
            for n in range(N):
                for s in range(S):
                    acc += x[n, c, s]
            m = acc / count
            acc = ZERO  # two passes: the variance from centred values, not E[x^2] - m^2
            for n in range(N):
                for s in range(S):
                    d = x[n, c, s] - m
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
            for s in range(S):
                y[n, c, s] = x[n, c, s] * scale + shift


@njit(cache=True, nogil=True)
def batchnorm_vjp_x(x, gy, gamma, mean, invstd, gx, training):
    """Training: gx += gamma*invstd*(gy - mean(gy) - xhat*mean(gy*xhat)); eval: gx += gamma*invstd*gy."""
    N, C, S = x.shape
    count = x.dtype.type(N * S)
    for c in range(C):
        m, inv = mean[c], invstd[c]
        scale = gamma[c] * inv
        g_mean = ZERO
        gx_mean = ZERO
        if training:  # the batch statistics depend on x too
            for n in range(N):
                for s in range(S):
                    g = gy[n, c, s]
                    g_mean += g
                    gx_mean += g * (x[n, c, s] - m) * inv
            g_mean = g_mean / count
            gx_mean = gx_mean / count
        for n in range(N):
            for s in range(S):
                xhat = (x[n, c, s] - m) * inv
                gx[n, c, s] += scale * (gy[n, c, s] - g_mean - xhat * gx_mean)


@njit(cache=True, nogil=True)
def batchnorm_vjp_gamma_beta(x, gy, mean, invstd, ggamma, gbeta):
    """ggamma += sum(gy * xhat), gbeta += sum(gy), per channel (the same in both modes)."""
    N, C, S = x.shape
    for c in range(C):
        m, inv = mean[c], invstd[c]
        sg = ZERO
        sgx = ZERO
        for n in range(N):
            for s in range(S):
                g = gy[n, c, s]
                sg += g
                sgx += g * (x[n, c, s] - m) * inv
        ggamma[c] += sgx
        gbeta[c] += sg
