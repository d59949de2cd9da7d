"""Forward mode of batchnorm; x viewed as (N, C, S), with the mean and 1/std the forward saved.

Training: the batch statistics move with x, so with xhat = (x - mean) * invstd,
  d xhat = invstd * (dx - mean(dx) - xhat * mean(xhat * dx)),
and dy = gamma * d xhat + dgamma * xhat + dbeta. Eval: the running statistics are constants (they
carry no tangent), d xhat = invstd * dx. Tangents that are zero are not passed: a flag says so
and a stand-in array of the same type takes their place (never read).
"""
from __future__ import annotations

import numpy as np
from numba import njit

ZERO = np.float32(0)


@njit(cache=True, nogil=True)
def batchnorm_jvp(x, dx, has_dx, gamma, dgamma, has_dgamma, dbeta, has_dbeta, mean, invstd, dy, training):
    """dy = gamma * d xhat + dgamma * xhat + dbeta (written)."""
    N, C, S = x.shape
    count = x.dtype.type(N * S)
    for c in range(C):
        m, inv = mean[c], invstd[c]
        scale = gamma[c] * inv
        dmean = ZERO  # mean(dx) and mean(xhat * dx): the tangents of the batch statistics
        dxhat_mean = ZERO
        if has_dx and training:
            for n in range(N):
                for s in range(S):
                    d = dx[n, c, s]
                    dmean += d
                    dxhat_mean += d * (x[n, c, s] - m) * inv
            dmean = dmean / count
            dxhat_mean = dxhat_mean / count
        dg = dgamma[c] if has_dgamma else ZERO
        db = dbeta[c] if has_dbeta else ZERO
        for n in range(N):
            for s in range(S):
                xhat = (x[n, c, s] - m) * inv
                t = dg * xhat + db
                if has_dx:
                    t += scale * (dx[n, c, s] - dmean - xhat * dxhat_mean)
                dy[n, c, s] = t
