"""Kernels of embedding and one_hot: integer ids (any shape) -> vectors along a new last axis.

Ids are NOT range-checked here: the runtime (netc/runtime.py) checks integer inputs against
[0, vocab) at the Python boundary, before they enter compiled code. An id outside would read or
write out of bounds (Numba does not bounds-check), yet the kernels neither clamp nor skip: a
clamp would turn a data bug into a silently wrong answer.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)
ONE = np.float32(1)


@njit(cache=True, nogil=True)
def embedding_fwd(ids, table, y):
    idf = ids.reshape(-1)
    y2 = y.reshape(-1, table.shape[1])
    for r in range(idf.size):
        row = idf[r]
        for j in range(table.shape[1]):
            y2[r, j] = table[row, j]


@njit(cache=True, nogil=True)
def embedding_vjp_table(ids, gy, gtable):
    """Scatter-add: an id that occurs twice gets both rows of gy."""
    idf = ids.reshape(-1)
    g2 = gy.reshape(-1, gtable.shape[1])
    for r in range(idf.size):
        row = idf[r]
        for j in range(gtable.shape[1]):
            gtable[row, j] += g2[r, j]


@njit(cache=True, nogil=True)
def one_hot_fwd(ids, y):
    idf = ids.reshape(-1)
    classes = y.shape[y.ndim - 1]
    y2 = y.reshape(-1, classes)
    for r in range(idf.size):
        for j in range(classes):
            y2[r, j] = ZERO
        y2[r, idf[r]] = ONE
