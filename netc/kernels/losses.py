"""Kernels of the losses. The loss y is a 0-d array (the mean over rows or elements); its
gradient gy is 0-d too (the loss weight times upstream). Labels and targets get no gradient.
Logits are viewed as (rows, classes); rows are all leading axes (N, and T for sequences)."""
from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import FASTMATH, REDUCE, fexp, fsigmoid

# vectorized exp (fastmath.py); flags without nnan/ninf, no Python division-by-zero check
FAST = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")

ZERO = np.float32(0)
ONE = np.float32(1)
TWO = np.float32(2)


@njit(cache=True, nogil=True, fastmath=REDUCE, error_model="numpy", no_cpython_wrapper=True)
def _row_lse(z, r):
    """log-sum-exp of row r, stable: the max is subtracted, so exp sees only numbers <= 0."""
    m = z[r, 0]
    for c in range(1, z.shape[1]):
        m = max(m, z[r, c])
    s = ZERO
    for c in range(z.shape[1]):
        s += fexp(z[r, c] - m)
    return m + np.log(s)


@njit(**FAST)
def softmax_cross_entropy_fwd(logits, labels, y):
    """Integer class ids: y = mean over rows of lse(z) - z[label]."""
    z = logits.reshape(-1, logits.shape[logits.ndim - 1])
    lab = labels.reshape(-1)
    acc = ZERO
    for r in range(z.shape[0]):
        lse = _row_lse(z, r)
        acc += lse - z[r, lab[r]]
    y[()] = acc / y.dtype.type(z.shape[0])


@njit(**FAST)
def softmax_cross_entropy_vjp_logits(logits, labels, gy, gx):
    """gx += gy/rows * (softmax(z) - onehot(label))."""
    z = logits.reshape(-1, logits.shape[logits.ndim - 1])
    g = gx.reshape(-1, z.shape[1])
    lab = labels.reshape(-1)
    scale = gy[()] / gy.dtype.type(z.shape[0])
    for r in range(z.shape[0]):
        lse = _row_lse(z, r)
        for c in range(z.shape[1]):
            g[r, c] += scale * fexp(z[r, c] - lse)
        g[r, lab[r]] -= scale


@njit(**FAST)
def softmax_cross_entropy_probs_fwd(logits, probs, y):
    """Probability labels p: y = mean over rows of sum_c p_c (lse(z) - z_c)."""
    z = logits.reshape(-1, logits.shape[logits.ndim - 1])
    p = probs.reshape(-1, z.shape[1])
    acc = ZERO
    for r in range(z.shape[0]):
        lse = _row_lse(z, r)
        for c in range(z.shape[1]):
            acc += p[r, c] * (lse - z[r, c])
    y[()] = acc / y.dtype.type(z.shape[0])


@njit(**FAST)
def softmax_cross_entropy_probs_vjp_logits(logits, probs, gy, gx):
    """gx += gy/rows * (softmax(z) * sum(p) - p): exact also when a row of p does not sum to 1."""
    z = logits.reshape(-1, logits.shape[logits.ndim - 1])
    p = probs.reshape(-1, z.shape[1])
    g = gx.reshape(-1, z.shape[1])
    scale = gy[()] / gy.dtype.type(z.shape[0])
    for r in range(z.shape[0]):
        lse = _row_lse(z, r)
        total = ZERO
        for c in range(z.shape[1]):
            total += p[r, c]
        for c in range(z.shape[1]):
            g[r, c] += scale * (fexp(z[r, c] - lse) * total - p[r, c])


@njit(**FAST)
def binary_cross_entropy_fwd(logits, labels, y):
    """From logits: mean of max(z, 0) - z*t + log1p(exp(-|z|)), stable for any z."""
    z, t = logits.reshape(-1), labels.reshape(-1)
    acc = ZERO
    for i in range(z.size):
        acc += max(z[i], ZERO) - z[i] * t[i] + np.log1p(fexp(-abs(z[i])))
    y[()] = acc / y.dtype.type(z.size)


@njit(**FAST)
def binary_cross_entropy_vjp_logits(logits, labels, gy, gx):
    """gx += gy/size * (sigmoid(z) - t), the sigmoid branching on the sign of z."""
    z, t, g = logits.reshape(-1), labels.reshape(-1), gx.reshape(-1)
    scale = gy[()] / gy.dtype.type(z.size)
    for i in range(z.size):
        g[i] += scale * (fsigmoid(z[i]) - t[i])


@njit(**FAST)
def binary_cross_entropy_probs_fwd(probs, labels, y, eps):
    """From probabilities, clipped to [eps, 1-eps] so the logs stay finite."""
    q, t = probs.reshape(-1), labels.reshape(-1)
    acc = ZERO
    for i in range(q.size):
        p = min(max(q[i], eps), ONE - eps)
        acc -= t[i] * np.log(p) + (ONE - t[i]) * np.log(ONE - p)
    y[()] = acc / y.dtype.type(q.size)


@njit(**FAST)
def binary_cross_entropy_probs_vjp_logits(probs, labels, gy, gx, eps):
    """gx += gy/size * (p - t) / (p (1 - p)) inside the clip range; the clip is flat outside it."""
    q, t, g = probs.reshape(-1), labels.reshape(-1), gx.reshape(-1)
    scale = gy[()] / gy.dtype.type(q.size)
    for i in range(q.size):
        p = q[i]
        if eps <= p <= ONE - eps:
            g[i] += scale * (p - t[i]) / (p * (ONE - p))


@njit(**FAST)
def mse_fwd(pred, target, y):
    p, t = pred.reshape(-1), target.reshape(-1)
    acc = ZERO
    for i in range(p.size):
        d = p[i] - t[i]
        acc += d * d
    y[()] = acc / y.dtype.type(p.size)


@njit(**FAST)
def mse_vjp_pred(pred, target, gy, gx):
    """gx += gy * 2 (p - t) / size."""
    p, t, g = pred.reshape(-1), target.reshape(-1), gx.reshape(-1)
    scale = TWO * gy[()] / gy.dtype.type(p.size)
    for i in range(p.size):
        g[i] += scale * (p[i] - t[i])
