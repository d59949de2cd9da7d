"""Optimizer updates over the flat parameter and gradient buffers: one loop for the whole network.

P holds the trainable parameters first, so the first G.size elements of P are what G updates.
Hyperparameters arrive typed in the network's dtype (F(lr) in generated code).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["sgd_update", "adam_update", "clip_grad_norm", "grad_norm"]


@njit(cache=True, nogil=True)
def sgd_update(P, G, V, lr, momentum, weight_decay):
    """The course's rule: v <- momentum v - weight_decay lr w - lr g;  w <- w + v."""
    for i in range(G.size):
        v = momentum * V[i] - weight_decay * lr * P[i] - lr * G[i]
        V[i] = v
        P[i] += v


@njit(cache=True, nogil=True)
def adam_update(P, G, M, V, t, lr, beta1, beta2, eps, weight_decay):
    """Adam (Kingma and Ba), with decoupled weight decay when weight_decay > 0 (AdamW)."""
    one = np.float32(1)
    t[0] += one
    c1 = one - beta1 ** t[0]
    c2 = one - beta2 ** t[0]
    for i in range(G.size):
        g = G[i]
        M[i] = beta1 * M[i] + (one - beta1) * g
        V[i] = beta2 * V[i] + (one - beta2) * g * g
        P[i] -= lr * ((M[i] / c1) / (math.sqrt(V[i] / c2) + eps) + weight_decay * P[i])


@njit(cache=True, nogil=True)
def grad_norm(G):
    acc = np.float32(0)
    for i in range(G.size):
        acc += G[i] * G[i]
    return math.sqrt(acc)


@njit(cache=True, nogil=True)
def clip_grad_norm(G, max_norm):
    """Scale G so that its 2-norm is at most max_norm."""
    norm = grad_norm(G)
    if norm > max_norm:
        scale = max_norm / norm
        for i in range(G.size):
            G[i] *= scale
