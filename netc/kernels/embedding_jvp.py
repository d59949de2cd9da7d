"""Forward-mode (JVP) kernel of embedding: the lookup is linear in the table, so the tangent is the
table's tangent gathered at the same ids (integer ids have no tangent)."""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def embedding_jvp(ids, dtable, dy):
    idf = ids.reshape(-1)
    d2 = dy.reshape(-1, dtable.shape[1])
    for r in range(idf.size):
        row = idf[r]
        for j in range(dtable.shape[1]):
            d2[r, j] = dtable[row, j]
