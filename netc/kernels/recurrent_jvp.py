"""Forward mode of rnn and lstm: tangents pushed forward through time, one call per cell.

A cell's pre-activation tangent at step t is
  dz_t = dx_t wx + x_t dwx + h_{t-1} dwh + db  +  dh_{t-1} wh.
The first four terms need no recurrence (h_{t-1} is saved in `hprev`), so they are GEMMs over all
N*T rows (recurrent_jvp_gemm, recurrent_jvp_b); the cell kernels then add dh_{t-1} wh step by step
and push the tangent through the saved gate activations and cell states. The running state
tangents dh, dc (N x H, contiguous: the left operand of the per-step GEMM) enter holding the
initial state's tangent and leave holding the final state's. Layouts as in netc/kernels/recurrent.py.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import recurrent as _rec  # the forward's tanh, so that tanh(c_t) is the value it used

__all__ = ["recurrent_jvp_gemm", "recurrent_jvp_b", "rnn_jvp_cell", "lstm_jvp_cell"]

ZERO = np.float32(0)
ONE = np.float32(1)


@njit(cache=True, nogil=True)
def recurrent_jvp_gemm(a, w, dz, tmp, add):
    """dz (N x T x G) = a w over all N*T rows, or += when add (then via tmp, N x T x G scratch)."""
    G = w.shape[1]
    a2 = a.reshape(-1, w.shape[0])
    d2 = dz.reshape(-1, G)
    if not add:
        np.dot(a2, w, d2)
        return
    t2 = tmp.reshape(-1)[:d2.shape[0] * G].reshape(-1, G)
    np.dot(a2, w, t2)
    for i in range(d2.shape[0]):
        for j in range(G):
            d2[i, j] += t2[i, j]


@njit(cache=True, nogil=True)
def recurrent_jvp_b(db, dz, add):
    """dz (+)= db on every row."""
    d2 = dz.reshape(-1, db.shape[0])
    for i in range(d2.shape[0]):
        for j in range(d2.shape[1]):
            if add:
                d2[i, j] += db[j]
            else:
                d2[i, j] = db[j]


@njit(cache=True, nogil=True)
def rnn_jvp_cell(dz, wh, relu, hs, reverse, col, dh, dout, z):
    """dh_t = act'(a_t) (dz_t + dh_{t-1} wh), from the saved h_t (hs); dout[:, t, col:] = dh_t.
    dz holds the non-recurrent terms; z: N x H scratch."""
    N, T, H = hs.shape
    for s in range(T):
        t = T - 1 - s if reverse else s
        np.dot(dh, wh, z)
        for n in range(N):
            for j in range(H):
                d = dz[n, t, j] + z[n, j]
                v = hs[n, t, j]
                if relu:
                    d = d if v > ZERO else ZERO
                else:
                    d = d * (ONE - v * v)
                dh[n, j] = d
                dout[n, t, col + j] = d


@njit(cache=True, nogil=True)
def lstm_jvp_cell(dz, wh, peep, dpeep, use_peep, use_dpeep, gates, cs, c0, reverse, col, dh, dc, dout, z):
    """One LSTM direction's tangents, in the forward's order, from the saved gates (i, f, g, o after
    activation), c_t (cs) and c0. dz holds the non-recurrent terms of the pre-activation tangents;
    z: N x 4H scratch. `peep` is read only when use_peep, `dpeep` (its tangent) only when use_dpeep."""
    N, T, G = gates.shape
    H = G // 4
    for s in range(T):
        t = T - 1 - s if reverse else s
        tp = t + 1 if reverse else t - 1  # the step before t in the forward's order
        np.dot(dh, wh, z)
        for n in range(N):
            for j in range(H):
                i = gates[n, t, j]
                f = gates[n, t, H + j]
                g = gates[n, t, 2 * H + j]
                o = gates[n, t, 3 * H + j]
                cn = cs[n, t, j]
                cp = c0[n, j] if s == 0 else cs[n, tp, j]
                dcp = dc[n, j]
                dai = dz[n, t, j] + z[n, j]
                daf = dz[n, t, H + j] + z[n, H + j]
                dag = dz[n, t, 2 * H + j] + z[n, 2 * H + j]
                dao = dz[n, t, 3 * H + j] + z[n, 3 * H + j]
                if use_peep:
                    dai += peep[0, j] * dcp
                    daf += peep[1, j] * dcp
                if use_dpeep:
                    dai += dpeep[0, j] * cp
                    daf += dpeep[1, j] * cp
                dcn = f * (ONE - f) * daf * cp + f * dcp + i * (ONE - i) * dai * g + i * (ONE - g * g) * dag
                if use_peep:
                    dao += peep[2, j] * dcn
                if use_dpeep:
                    dao += dpeep[2, j] * cn
                tc = _rec._tanh(cn)
                dhn = o * (ONE - o) * dao * tc + o * (ONE - tc * tc) * dcn
                dc[n, j] = dcn
                dh[n, j] = dhn
                dout[n, t, col + j] = dhn
