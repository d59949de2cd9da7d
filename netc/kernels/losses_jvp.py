"""Forward-mode (JVP) kernels of the losses: each WRITES the 0-d tangent of the loss (the mean over
rows or elements). Float labels and targets may carry a tangent (None: zero); Numba compiles one
specialisation per pattern of None arguments and prunes the rest. Integer class ids have none.
Logits are viewed as (rows, classes) as in the forward kernels."""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)
ONE = np.float32(1)
TWO = np.float32(2)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _row_lse(z, r):
    """log-sum-exp of row r, stable: the max is subtracted, so exp sees only numbers <= 0."""
    m = z[r, 0]
    for c in range(1, z.shape[1]):
        m = max(m, z[r, c])
    s = ZERO
    for c in range(z.shape[1]):
        s += np.exp(z[r, c] - m)
    return m + np.log(s)


@njit(cache=True, nogil=True)
def softmax_cross_entropy_jvp(logits, labels, dz, dy):
    """Integer class ids: dy = mean over rows of <softmax(z), dz> - dz[label]."""
    z = logits.reshape(-1, logits.shape[logits.ndim - 1])
    d = dz.reshape(-1, z.shape[1])
    lab = labels.reshape(-1)
    acc = ZERO
    for r in range(z.shape[0]):
        lse = _row_lse(z, r)
        for c in range(z.shape[1]):
            acc += np.exp(z[r, c] - lse) * d[r, c]
        acc -= d[r, lab[r]]
    dy[()] = acc / dy.dtype.type(z.shape[0])


@njit(cache=True, nogil=True)
def softmax_cross_entropy_probs_jvp(logits, probs, dz, dp, dy):
    """Probability labels p: per row, sum(p) <softmax(z), dz> - <p, dz> (the VJP's rule, exact when p
    does not sum to 1) plus <dp, lse(z) - z>; dy is the mean over rows."""
    z = logits.reshape(-1, logits.shape[logits.ndim - 1])
    p = probs.reshape(-1, z.shape[1])
    if dz is not None:
        d = dz.reshape(-1, z.shape[1])
    if dp is not None:
        e = dp.reshape(-1, z.shape[1])
    acc = ZERO
    for r in range(z.shape[0]):
        lse = _row_lse(z, r)
        if dz is not None:
            total = ZERO
            sd = ZERO
            pd = ZERO
            for c in range(z.shape[1]):
                total += p[r, c]
                sd += np.exp(z[r, c] - lse) * d[r, c]
                pd += p[r, c] * d[r, c]
            acc += total * sd - pd
        if dp is not None:
            for c in range(z.shape[1]):
                acc += e[r, c] * (lse - z[r, c])
    dy[()] = acc / dy.dtype.type(z.shape[0])


@njit(cache=True, nogil=True)
def binary_cross_entropy_jvp(logits, labels, dz, dt, dy):
    """From logits: dy = mean of (sigmoid(z) - t) dz - z dt, the sigmoid branching on the sign of z."""
    z, t = logits.reshape(-1), labels.reshape(-1)
    if dz is not None:
        dzf = dz.reshape(-1)
    if dt is not None:
        dtf = dt.reshape(-1)
    acc = ZERO
    for i in range(z.size):
        if dz is not None:
            v = z[i]
            if v >= ZERO:
                s = ONE / (ONE + np.exp(-v))
            else:
                e = np.exp(v)
                s = e / (ONE + e)
            acc += (s - t[i]) * dzf[i]
        if dt is not None:
            acc -= z[i] * dtf[i]
    dy[()] = acc / dy.dtype.type(z.size)


@njit(cache=True, nogil=True)
def binary_cross_entropy_probs_jvp(probs, labels, dq, dt, dy, eps):
    """From probabilities p clipped to [eps, 1-eps]: dy = mean of (p - t) / (p (1 - p)) dq inside the
    clip range (the clip is flat outside it, as in the VJP) minus (log p - log(1 - p)) dt."""
    q, t = probs.reshape(-1), labels.reshape(-1)
    if dq is not None:
        dqf = dq.reshape(-1)
    if dt is not None:
        dtf = dt.reshape(-1)
    acc = ZERO
    for i in range(q.size):
        if dq is not None:
            p = q[i]
            if eps <= p <= ONE - eps:
                acc += (p - t[i]) / (p * (ONE - p)) * dqf[i]
        if dt is not None:
            p = min(max(q[i], eps), ONE - eps)
            acc -= (np.log(p) - np.log(ONE - p)) * dtf[i]
    dy[()] = acc / dy.dtype.type(q.size)


@njit(cache=True, nogil=True)
def mse_jvp(pred, target, dp, dt, dy):
    """dy = 2/size * sum (p - t)(dp - dt)."""
    p, t = pred.reshape(-1), target.reshape(-1)
    if dp is not None:
        dpf = dp.reshape(-1)
    if dt is not None:
        dtf = dt.reshape(-1)
    acc = ZERO
    for i in range(p.size):
        d = ZERO
        if dp is not None:
            d += dpf[i]
        if dt is not None:
            d -= dtf[i]
        acc += (p[i] - t[i]) * d
    dy[()] = TWO * acc / dy.dtype.type(p.size)
