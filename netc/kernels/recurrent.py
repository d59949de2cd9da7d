"""Kernels of rnn and lstm: one call runs one direction of one layer over the whole sequence.

Layouts (all C-contiguous): x and the layer output are N x T x F, batch-major, so the input
projection of every step is one GEMM (or a gather, below). Saved tensors are indexed by time t
(not by step), so the weight gradients are one GEMM each over all N*T rows. The running state
h, c (N x H) is contiguous because it is the left operand of the per-step recurrent GEMM. The
reverse direction walks t = T-1 .. 0; `col` is where its units sit in the output's feature axis.

Threads: the examples of a batch never meet in the recurrence, so the forward and the
backpropagation through time split the batch into contiguous chunks, one per Numba thread
(prange), each chunk running the whole sequence with its own per-step GEMMs: one parallel region
per call, no synchronization per step. BLAS itself stays on one thread (netc/threads.py). The
weight gradients split the N*T rows likewise, a partial sum per chunk. Batch 1 runs serially.

Gate math: loops over the hidden units of one example (contiguous, a few arrays each, so LLVM
vectorizes them) with the vectorizable float32 exp/tanh of fastmath.py. Measured on W3 (N32 T64
H128), CPU time on one thread: forward 9.2 -> 4.9 ms (of which 3.2 ms are the 64 recurrent GEMMs
and 1.1 ms the input projection), BPTT 5.0 -> 3.9 ms; the W3 training step on 2 cores went from
20.3 to 10.9 ms. float32 stays float32: constants are np.float32 values exact in float32.

In float32 on AVX-512 (kernels/tiles.py), with 4H (forward) or H (BPTT) in whole 16-wide vectors
and chunks of 4 rows or more, the lstm's per-step GEMMs run in netc's vector register tiles: W3's
16 x 128 times 128 x 512 at 256 GFLOP/s against _gemm_nt's 113; the lstm's forward 1.9 -> 0.86 ms
and BPTT 3.0 -> 2.3 ms of W3's step (netc profile). Elsewhere:
the lstm's per-step GEMMs are _gemm_nt (register tiles, no packing) rather than BLAS calls
(the rnn keeps BLAS: its rounding, and so examples/rnn_gradients.py's chaotic training runs,
stay as they were), and an input that is mostly zeros (one_hot ids) is projected by gathering
rows of wx, its gradient by scattering rows of dz: on W3, CPU time on one thread, interleaved
with the BLAS versions, forward 5.4 -> 3.0-3.6 ms, BPTT 4.7 -> 2.7-3.3 ms, wx's gradient 1.7 ->
0.32 ms; the training step's CPU time 20.3 -> 12.5 ms.
"""
from __future__ import annotations

import numpy as np
from numba import config, njit, prange

from .fastmath import FASTMATH, REDUCE, fsigmoid, ftanh
from .parallel import threads_now
from .tiles import fits as _tiles_fit
from .tiles import matmul as _tiles_matmul
from .tiles import matmul_at as _tiles_matmul_at

__all__ = [
    "rnn_fwd", "rnn_vjp_cell", "lstm_fwd", "lstm_vjp_cell", "lstm_vjp_peep",
    "recurrent_vjp_x", "recurrent_vjp_w", "recurrent_vjp_b",
    "recurrent_zero", "recurrent_state_in", "recurrent_state_out",
]

ZERO = np.float32(0)
ONE = np.float32(1)
# error_model="numpy" drops Python's division-by-zero check, which stops vectorization
FAST = dict(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
# chunks of the batch: one per Numba thread (a constant of the compiled code; a cached kernel run
# with fewer threads still gives the same results, its chunks just share threads)
THREADS = max(1, config.NUMBA_NUM_THREADS)
BLAS, DOTS, TILES = 0, 1, 2  # the lstm's per-step GEMM: np.dot, _gemm_nt, or tiles (kernels/tiles.py)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _in_turn(parts):
    """Run the chunks one after another: a single chunk, or one thread to run them on (set_num_threads(1),
    or a process forked after OpenMP ran, where a parallel region would be killed: netc/threads.py)."""
    return parts == 1 or threads_now() < 2


@njit(**FAST, no_cpython_wrapper=True)
def _tanh(v):
    # the forward's tanh of c_t, for recurrent_jvp.py (the same function gives the same values)
    return ftanh(v)


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _chunk(p, parts, n):
    """Rows [lo, hi) of chunk p when n rows are split into `parts` contiguous chunks."""
    return p * n // parts, (p + 1) * n // parts


# the per-step recurrent GEMM ------------------------------------------------------------------

@njit(cache=True, nogil=True, no_cpython_wrapper=True, fastmath=REDUCE, error_model="numpy")
def _gemm_nt(a, bt, c):
    """c (M x G) = a (M x K) bt^T, bt G x K: every entry a dot product of two contiguous rows.
    Tiles of 4 rows x 2 columns (8 vector accumulators; 6 loads per 8 FMAs). On W3's per-thread
    step (16 x 128 times 128 x 512) 2x faster than the BLAS call, which packs the whole weight
    matrix on every call."""
    M, K = a.shape
    G = bt.shape[0]
    G2 = G - G % 2
    r = 0
    while r + 4 <= M:
        a0, a1, a2, a3 = a[r], a[r + 1], a[r + 2], a[r + 3]
        for j in range(0, G2, 2):
            b0, b1 = bt[j], bt[j + 1]
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = ZERO
            for k in range(K):
                s00 += a0[k] * b0[k]
                s01 += a0[k] * b1[k]
                s10 += a1[k] * b0[k]
                s11 += a1[k] * b1[k]
                s20 += a2[k] * b0[k]
                s21 += a2[k] * b1[k]
                s30 += a3[k] * b0[k]
                s31 += a3[k] * b1[k]
            c[r, j], c[r, j + 1] = s00, s01
            c[r + 1, j], c[r + 1, j + 1] = s10, s11
            c[r + 2, j], c[r + 2, j + 1] = s20, s21
            c[r + 3, j], c[r + 3, j + 1] = s30, s31
        r += 4
    for i in range(r, M):
        ai = a[i]
        for j in range(0, G2, 2):
            b0, b1 = bt[j], bt[j + 1]
            s0 = s1 = ZERO
            for k in range(K):
                s0 += ai[k] * b0[k]
                s1 += ai[k] * b1[k]
            c[i, j], c[i, j + 1] = s0, s1
    if G2 < G:
        for i in range(M):
            s0 = ZERO
            for k in range(K):
                s0 += a[i, k] * bt[G2, k]
            c[i, G2] = s0


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _transpose(w, wt):
    """wt = w^T (the forward's wh as _gemm_nt's G x H operand), in 16 x 16 blocks."""
    K, G = w.shape
    for k0 in range(0, K, 16):
        for j0 in range(0, G, 16):
            for j in range(j0, min(j0 + 16, G)):
                for k in range(k0, min(k0 + 16, K)):
                    wt[j, k] = w[k, j]


# input projection: a GEMM, or rows of wx when x is mostly zeros (one_hot ids) ---------------

@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _sparse(x2):
    """True when at most 1/8 of x2's entries are nonzero (one-hot rows: 1/F): then a row gather
    or scatter of wx beats a GEMM that multiplies the zeros. Stops counting once past the bound,
    so a dense x pays a scan of about 1/8 of itself."""
    limit = x2.size // 8
    count = 0
    R, F = x2.shape
    for r in range(R):
        for f in range(F):
            if x2[r, f] != ZERO:
                count += 1
        if count > limit:
            return False
    return True


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _nonzeros(xrow):
    """(how many entries of xrow are nonzero, the sum of their indices): the index of the one
    nonzero of a one-hot row, found by a vectorized pass rather than a branch per entry."""
    count = 0
    where = 0
    for f in range(xrow.shape[0]):
        nz = xrow[f] != ZERO
        count += nz
        where += f if nz else 0
    return count, where


@njit(cache=True, nogil=True, no_cpython_wrapper=True, fastmath=FASTMATH, error_model="numpy")
def _project_row(xrow, wx, orow):
    """orow = xrow wx as a sum of the rows of wx at xrow's nonzeros (one per step for one_hot).
    Done step by step in the forward: the all-steps projection's N x T x 4H output is written
    once more than the gates need (4 MB on W3, memory-bound)."""
    G = orow.shape[0]
    count, f = _nonzeros(xrow)
    if count == 1:
        v = xrow[f]
        wrow = wx[f]
        for j in range(G):
            orow[j] = v * wrow[j]
        return
    for j in range(G):
        orow[j] = ZERO
    if count > 1:
        for f in range(xrow.shape[0]):
            v = xrow[f]
            if v != ZERO:
                wrow = wx[f]
                for j in range(G):
                    orow[j] += v * wrow[j]


@njit(cache=True, nogil=True, no_cpython_wrapper=True, fastmath=FASTMATH, error_model="numpy")
def _project_back(a2, d2, out):
    """out = a2^T d2 (F x G from R x F and R x G); a scatter-add of d2's rows when a2 is sparse."""
    if not _sparse(a2):
        if not _tiles_matmul_at(a2, d2, out):  # W3: wh gradient (2 chunks, 1024 x 128 x 512) 1.31 -> 0.66 ms
            np.dot(a2.T, d2, out)
        return
    R, F = a2.shape
    G = d2.shape[1]
    for f in range(F):
        for j in range(G):
            out[f, j] = ZERO
    for r in range(R):
        arow = a2[r]
        drow = d2[r]
        count, f = _nonzeros(arow)
        if count == 1:
            v = arow[f]
            orow = out[f]
            for j in range(G):
                orow[j] += v * drow[j]
        elif count > 1:
            for f in range(F):
                v = arow[f]
                if v != ZERO:
                    orow = out[f]
                    for j in range(G):
                        orow[j] += v * drow[j]


# forward ------------------------------------------------------------------------------------

@njit(**FAST, no_cpython_wrapper=True)
def _rnn_fwd_rows(x, wx, wh, b, relu, h0, reverse, col, out, h, hs, hprev, z):
    N, T, F = x.shape
    H = h.shape[1]
    sparse = _sparse(x.reshape(N * T, F))
    if not sparse:
        np.dot(x.reshape(N * T, F), wx, hs.reshape(N * T, H))  # every step's input term at once
    for n in range(N):
        for j in range(H):
            h[n, j] = h0[n, j]
    for s in range(T):
        t = T - 1 - s if reverse else s
        np.dot(h, wh, z)
        for n in range(N):
            for j in range(H):
                hprev[n, t, j] = h[n, j]
            if sparse:
                _project_row(x[n, t], wx, hs[n, t])
            orow = out[n, t, col:col + H]  # a view: out[n, t, col + j] would not vectorize (col may be < 0)
            for j in range(H):
                a = hs[n, t, j] + z[n, j] + b[j]
                if relu:
                    v = a if a > ZERO else ZERO
                else:
                    v = ftanh(a)
                hs[n, t, j] = v
                h[n, j] = v
                orow[j] = v


@njit(cache=True, nogil=True, parallel=True)
def rnn_fwd(x, wx, wh, b, relu, h0, reverse, col, out, h, hs, hprev, z):
    """h_t = act(x_t wx + h_{t-1} wh + b). h runs from h0 to the final state; hs[:, t] = h_t
    and hprev[:, t] = h_{t-1} are saved for the VJP; z is N x H scratch."""
    N = x.shape[0]
    parts = min(N, THREADS)
    if _in_turn(parts):  # the same chunks as in parallel, so the same results
        for p in range(parts):
            lo, hi = _chunk(p, parts, N)
            _rnn_fwd_rows(x[lo:hi], wx, wh, b, relu, h0[lo:hi], reverse, col, out[lo:hi], h[lo:hi], hs[lo:hi],
                          hprev[lo:hi], z[lo:hi])
    else:
        for p in prange(parts):
            lo, hi = _chunk(p, parts, N)
            _rnn_fwd_rows(x[lo:hi], wx, wh, b, relu, h0[lo:hi], reverse, col, out[lo:hi], h[lo:hi], hs[lo:hi],
                          hprev[lo:hi], z[lo:hi])


@njit(**FAST, no_cpython_wrapper=True)
def _lstm_fwd_rows(x, wx, w, gemm, b, peep, use_peep, h0, c0, reverse, col, out, h, c, gates, hprev, cs, z):
    N, T, F = x.shape
    H = h.shape[1]
    sparse = _sparse(x.reshape(N * T, F))
    if not sparse:
        np.dot(x.reshape(N * T, F), wx, gates.reshape(N * T, 4 * H))
    for n in range(N):
        for j in range(H):
            h[n, j] = h0[n, j]
            c[n, j] = c0[n, j]
    for s in range(T):
        t = T - 1 - s if reverse else s
        if gemm == TILES:  # w is wh (lstm_fwd checked the tiles fit; BLAS should they not)
            if not _tiles_matmul(h, w, z):
                np.dot(h, w, z)
        elif gemm == DOTS:  # w is wh^T
            _gemm_nt(h, w, z)
        else:
            np.dot(h, w, z)
        for n in range(N):
            if sparse:
                _project_row(x[n, t], wx, gates[n, t])
            # one pass per gate group, each over a few arrays, so every loop vectorizes
            if use_peep:
                for j in range(H):
                    z[n, j] += peep[0, j] * c[n, j]
                    z[n, H + j] += peep[1, j] * c[n, j]
            for j in range(2 * H):  # i, f
                gates[n, t, j] = fsigmoid(gates[n, t, j] + z[n, j] + b[j])
            # (loops start at 0: one over range(2H, 3H) measured 10x slower, not vectorized)
            for j in range(H):  # g
                gates[n, t, 2 * H + j] = ftanh(gates[n, t, 2 * H + j] + z[n, 2 * H + j] + b[2 * H + j])
            for j in range(H):
                cn = gates[n, t, H + j] * c[n, j] + gates[n, t, j] * gates[n, t, 2 * H + j]
                c[n, j] = cn
                cs[n, t, j] = cn
            if use_peep:
                for j in range(H):
                    z[n, 3 * H + j] += peep[2, j] * c[n, j]
            for j in range(H):  # o
                gates[n, t, 3 * H + j] = fsigmoid(gates[n, t, 3 * H + j] + z[n, 3 * H + j] + b[3 * H + j])
            for j in range(H):
                hprev[n, t, j] = h[n, j]
            orow = out[n, t, col:col + H]  # a view: out[n, t, col + j] would not vectorize (col may be < 0)
            for j in range(H):
                hn = gates[n, t, 3 * H + j] * ftanh(c[n, j])
                h[n, j] = hn
                orow[j] = hn


@njit(cache=True, nogil=True, parallel=True)
def lstm_fwd(x, wx, wh, b, peep, use_peep, h0, c0, reverse, col, out, h, c, gates, hprev, cs, z, wt):
    """One LSTM direction; gates i, f, g, o in blocks of H. Peepholes: i, f see c_{t-1}, o sees
    c_t. h, c run from h0, c0 to the final state. Saved: gates (N x T x 4H, after activation),
    hprev (h_{t-1}), cs (c_t). z is N x 4H scratch, wt 4H x H scratch (for wh^T). `peep` is
    read only when use_peep."""
    N = x.shape[0]
    if N == 1:  # one row a step: BLAS's GEMV, as fast as _gemm_nt without the transpose
        _lstm_fwd_rows(x, wx, wh, BLAS, b, peep, use_peep, h0, c0, reverse, col, out, h, c, gates, hprev, cs, z)
        return
    parts = min(N, THREADS)
    gemm = TILES if _tiles_fit(h[:N // parts], wh.shape[1]) else DOTS
    w = wh
    if gemm == DOTS:
        _transpose(wh, wt)
        w = wt
    if _in_turn(parts):  # the same chunks as in parallel, so the same results
        for p in range(parts):
            lo, hi = _chunk(p, parts, N)
            _lstm_fwd_rows(x[lo:hi], wx, w, gemm, b, peep, use_peep, h0[lo:hi], c0[lo:hi], reverse, col, out[lo:hi],
                           h[lo:hi], c[lo:hi], gates[lo:hi], hprev[lo:hi], cs[lo:hi], z[lo:hi])
    else:
        for p in prange(parts):
            lo, hi = _chunk(p, parts, N)
            _lstm_fwd_rows(x[lo:hi], wx, w, gemm, b, peep, use_peep, h0[lo:hi], c0[lo:hi], reverse, col, out[lo:hi],
                           h[lo:hi], c[lo:hi], gates[lo:hi], hprev[lo:hi], cs[lo:hi], z[lo:hi])


# backpropagation through time -----------------------------------------------------------------

@njit(**FAST, no_cpython_wrapper=True)
def _rnn_vjp_rows(gout, col, reverse, wh, relu, hs, dh, dz, dzt):
    N, T, H = dz.shape
    for s in range(T):
        t = s if reverse else T - 1 - s  # the forward's steps, last first
        for n in range(N):
            grow = gout[n, t, col:col + H]  # a view: gout[n, t, col + j] would not vectorize
            for j in range(H):
                d = dh[n, j] + grow[j]
                v = hs[n, t, j]
                if relu:
                    d = d if v > ZERO else ZERO
                else:
                    d = d * (ONE - v * v)
                dzt[n, j] = d
                dz[n, t, j] = d
        np.dot(dzt, wh.T, dh)


@njit(cache=True, nogil=True, parallel=True)
def rnn_vjp_cell(gout, col, reverse, wh, relu, hs, dh, dz, dzt):
    """dz (N x T x H) = gradient of the pre-activations. dh enters holding the gradient of the
    final h and leaves holding that of h0. gout: gradient of the output sequence. dzt: scratch."""
    N = dz.shape[0]
    parts = min(N, THREADS)
    if _in_turn(parts):  # the same chunks as in parallel, so the same results
        for p in range(parts):
            lo, hi = _chunk(p, parts, N)
            _rnn_vjp_rows(gout[lo:hi], col, reverse, wh, relu, hs[lo:hi], dh[lo:hi], dz[lo:hi], dzt[lo:hi])
    else:
        for p in prange(parts):
            lo, hi = _chunk(p, parts, N)
            _rnn_vjp_rows(gout[lo:hi], col, reverse, wh, relu, hs[lo:hi], dh[lo:hi], dz[lo:hi], dzt[lo:hi])


@njit(**FAST, no_cpython_wrapper=True)
def _lstm_vjp_rows(gout, col, reverse, w, tiled, peep, use_peep, gates, cs, c0, dh, dc, dz, dzt):
    N, T, G = dz.shape
    H = G // 4
    for s in range(T):
        t = s if reverse else T - 1 - s
        tp = t + 1 if reverse else t - 1  # the step before t in the forward's order
        for n in range(N):
            # dzt[n] holds dz_i, dz_f, dz_g, dz_o; dc[n] runs from dc_t to dc_{t-1}
            grow = gout[n, t, col:col + H]  # a view: gout[n, t, col + j] would not vectorize
            for j in range(H):
                dhv = dh[n, j] + grow[j]
                o = gates[n, t, 3 * H + j]
                tc = ftanh(cs[n, t, j])
                dzt[n, 3 * H + j] = dhv * tc * o * (ONE - o)
                dc[n, j] += dhv * o * (ONE - tc * tc)
            if use_peep:
                for j in range(H):
                    dc[n, j] += dzt[n, 3 * H + j] * peep[2, j]
            # c_{t-1} goes where dz_f will be written: the f gradient is its one reader
            if s == T - 1:
                for j in range(H):
                    dzt[n, H + j] = c0[n, j]
            else:
                for j in range(H):
                    dzt[n, H + j] = cs[n, tp, j]
            for j in range(H):
                dct = dc[n, j]
                i = gates[n, t, j]
                f = gates[n, t, H + j]
                g = gates[n, t, 2 * H + j]
                dzt[n, j] = dct * g * i * (ONE - i)
                dzt[n, H + j] = dct * dzt[n, H + j] * f * (ONE - f)
                dzt[n, 2 * H + j] = dct * i * (ONE - g * g)
                dc[n, j] = dct * f
            if use_peep:
                for j in range(H):
                    dc[n, j] += dzt[n, j] * peep[0, j] + dzt[n, H + j] * peep[1, j]
            for j in range(G):
                dz[n, t, j] = dzt[n, j]
        if tiled:  # w is wh^T (lstm_vjp_cell checked the tiles fit; BLAS should they not)
            if not _tiles_matmul(dzt, w, dh):
                np.dot(dzt, w, dh)
        else:
            _gemm_nt(dzt, w, dh)


@njit(cache=True, nogil=True, parallel=True)
def lstm_vjp_cell(gout, col, reverse, wh, peep, use_peep, gates, cs, c0, dh, dc, dz, dzt, wt):
    """dz (N x T x 4H) = gradient of the gate pre-activations. dh, dc enter holding the gradient
    of the final h, c and leave holding that of h0, c0. dzt: N x 4H scratch; wt: 4H x H scratch
    (for wh^T, where the step's GEMM runs in tiles)."""
    N = dz.shape[0]
    parts = min(N, THREADS)
    tiled = _tiles_fit(dzt[:N // parts], wh.shape[0])
    w = wh
    if tiled:
        _transpose(wh, wt)
        w = wt
    if _in_turn(parts):  # the same chunks as in parallel, so the same results
        for p in range(parts):
            lo, hi = _chunk(p, parts, N)
            _lstm_vjp_rows(gout[lo:hi], col, reverse, w, tiled, peep, use_peep, gates[lo:hi], cs[lo:hi], c0[lo:hi],
                           dh[lo:hi], dc[lo:hi], dz[lo:hi], dzt[lo:hi])
    else:
        for p in prange(parts):
            lo, hi = _chunk(p, parts, N)
            _lstm_vjp_rows(gout[lo:hi], col, reverse, w, tiled, peep, use_peep, gates[lo:hi], cs[lo:hi], c0[lo:hi],
                           dh[lo:hi], dc[lo:hi], dz[lo:hi], dzt[lo:hi])


@njit(cache=True, nogil=True)
def lstm_vjp_peep(dz, cs, c0, reverse, gp):
    """gp += the peephole gradient: i and f rows from c_{t-1}, the o row from c_t."""
    N, T, G = dz.shape
    H = G // 4
    first = T - 1 if reverse else 0
    for n in range(N):
        for t in range(T):
            tp = t + 1 if reverse else t - 1
            for j in range(H):
                cp = c0[n, j] if t == first else cs[n, tp, j]
                gp[0, j] += dz[n, t, j] * cp
                gp[1, j] += dz[n, t, H + j] * cp
                gp[2, j] += dz[n, t, 3 * H + j] * cs[n, t, j]


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _vjp_x_rows(dz, wx, gx, tmp):
    N, T, F = gx.shape
    tf = tmp.reshape(tmp.size)[:N * T * F]
    np.dot(dz.reshape(N * T, wx.shape[1]), wx.T, tf.reshape(N * T, F))
    gxf = gx.reshape(gx.size)
    for i in range(gxf.size):
        gxf[i] += tf[i]


@njit(cache=True, nogil=True, parallel=True)
def recurrent_vjp_x(dz, wx, gx, tmp):
    """gx += dz wx^T over all N*T rows, a chunk of examples per thread (tmp: N x T x >= F scratch)."""
    N = gx.shape[0]
    parts = min(N, THREADS)
    if _in_turn(parts):  # the same chunks as in parallel, so the same results
        for p in range(parts):
            lo, hi = _chunk(p, parts, N)
            _vjp_x_rows(dz[lo:hi], wx, gx[lo:hi], tmp[lo:hi])
    else:
        for p in prange(parts):
            lo, hi = _chunk(p, parts, N)
            _vjp_x_rows(dz[lo:hi], wx, gx[lo:hi], tmp[lo:hi])


@njit(cache=True, nogil=True, parallel=True)
def recurrent_vjp_w(a, dz, gw, parts):
    """gw += a^T dz over all N*T rows: wx's gradient (a = the input) or wh's (a = hprev). The rows
    are split into chunks, one per slab of parts (chunks x >= F x G); the partial sums are added
    in chunk order, so the result does not depend on the scheduling."""
    F, G = gw.shape
    R = a.size // F
    a2 = a.reshape(R, F)  # sizes spelled out: reshape(-1, F) leaves a double compare in the IR
    d2 = dz.reshape(R, G)
    chunks = min(parts.shape[0], R)
    if _in_turn(chunks):  # the same chunks and sum as in parallel
        for p in range(chunks):
            lo, hi = _chunk(p, chunks, R)
            _project_back(a2[lo:hi], d2[lo:hi], parts[p, :F])
    else:
        for p in prange(chunks):
            lo, hi = _chunk(p, chunks, R)
            _project_back(a2[lo:hi], d2[lo:hi], parts[p, :F])
    for p in range(chunks):
        for i in range(F):
            for j in range(G):
                gw[i, j] += parts[p, i, j]


@njit(cache=True, nogil=True)
def recurrent_vjp_b(dz, gb):
    d2 = dz.reshape(-1, gb.shape[0])
    for i in range(d2.shape[0]):
        for j in range(d2.shape[1]):
            gb[j] += d2[i, j]


# state glue -----------------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def recurrent_zero(a):
    af = a.reshape(-1)
    for i in range(af.size):
        af[i] = ZERO


@njit(cache=True, nogil=True)
def recurrent_state_in(s, dst, j0):
    """dst[j0 + j] = s[:, j*H:(j+1)*H] for every block j of s (N x S) into dst (J x N x H)."""
    N, H = dst.shape[1], dst.shape[2]
    for j in range(s.shape[1] // H):
        for n in range(N):
            for u in range(H):
                dst[j0 + j, n, u] = s[n, j * H + u]


@njit(cache=True, nogil=True)
def recurrent_state_out(src, j0, s, add):
    """s[:, j*H:(j+1)*H] = src[j0 + j] (+= when add) for every block j of s (N x S)."""
    N, H = src.shape[1], src.shape[2]
    for j in range(s.shape[1] // H):
        for n in range(N):
            for u in range(H):
                if add:
                    s[n, j * H + u] += src[j0 + j, n, u]
                else:
                    s[n, j * H + u] = src[j0 + j, n, u]
