"""The register tiles (netc/kernels/tiles.py) against NumPy: every tile shape, both k loops' strides,
writing and adding."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from netc.kernels import tiles


@njit(cache=True)
def _run(m, n, a, a_off, a_row, a1, a2, b, b_off, b1, b2, c, c_off, c_row, k1, k2, accumulate):
    tiles.tiles(m, n, a, a_off, a_row, a1, a2, b, b_off, b1, b2, c, c_off, c_row, k1, k2, accumulate)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 19), st.sampled_from([16, 32, 48, 80]), st.integers(1, 3), st.integers(1, 7),
       st.integers(0, 3), st.booleans(), st.integers(0, 2**32 - 1))
def test_tiles_match_numpy(m, n, k1, k2, gap, accumulate, seed):
    """A (m x k1 x k2) and B (k1 x k2 x n) are read through strided views of larger buffers (gaps
    between rows and runs), C (m x n) is a block of a wider buffer that the tiles must not touch
    outside; rows run 8, 4 and 1 at a time, columns 32 and 16."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, k1, k2 + gap)).astype(np.float32)  # row i, run k1, k2 within it
    B = rng.standard_normal((k1, k2, n + 16 * gap)).astype(np.float32)
    C = rng.standard_normal((m + 1, n + 16)).astype(np.float32)
    before = C.copy()
    a_row, a1 = k1 * (k2 + gap), k2 + gap
    b2 = n + 16 * gap
    _run(m, n, A.reshape(-1), 0, a_row, a1, 1, B.reshape(-1), 0, k2 * b2, b2, C.reshape(-1), n + 16 + 3, n + 16,
         k1, k2, accumulate)
    want = np.einsum("ijk,jkn->in", A[:, :, :k2].astype(np.float64), B[:, :, :n].astype(np.float64))
    block = C[1:, 3:3 + n]
    np.testing.assert_allclose(block, want + (before[1:, 3:3 + n] if accumulate else 0), rtol=1e-5, atol=1e-4)
    outside = np.ones(C.shape, bool)
    outside[1:, 3:3 + n] = False
    np.testing.assert_array_equal(C[outside], before[outside])


def test_tiles_follow_the_target_cpu(monkeypatch):
    """NUMBA_CPU_NAME names the CPU Numba compiles for; the tiles go with its AVX-512."""
    monkeypatch.setattr(tiles.config, "CPU_NAME", "generic")
    monkeypatch.setattr(tiles.config, "CPU_FEATURES", "")
    assert not tiles._target_has_avx512()
    monkeypatch.setattr(tiles.config, "CPU_FEATURES", "+avx2,+avx512f")
    assert tiles._target_has_avx512()


@njit(cache=True)
def _matmuls(a, b, c, at, bt, ct):
    return tiles.matmul(a, b, c), tiles.matmul_at(at, bt, ct)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 21), st.integers(1, 300), st.sampled_from([16, 48, 64, 20]), st.integers(0, 2**32 - 1))
def test_matmul_and_matmul_at_match_numpy(m, k, n, seed):
    """c = a . b and c = a^T . b on row blocks of wider arrays (row strides beyond the width; the
    transposed sum runs in blocks of 256): done where the tiles fit (4 rows or more, columns in whole
    vectors, on AVX-512), else reported undone with c untouched."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k + 3)).astype(np.float32)[:, :k]
    b = rng.standard_normal((k, n + 5)).astype(np.float32)[:, :n]
    at = np.ascontiguousarray(a.T)
    c, ct = np.full((m, n + 2), 7, np.float32), np.full((m, n + 2), 7, np.float32)
    done, done_t = _matmuls(a, b, c[:, :n], at, b, ct[:, :n])
    fits = tiles.ENABLED and m >= 4 and n % 16 == 0
    assert done == done_t == fits
    want = a.astype(np.float64) @ b.astype(np.float64) if fits else np.full((m, n), 7)
    np.testing.assert_allclose(c[:, :n], want, rtol=1e-5, atol=1e-4 * np.sqrt(k))
    np.testing.assert_allclose(ct[:, :n], want, rtol=1e-5, atol=1e-4 * np.sqrt(k))
    assert (c[:, n:] == 7).all() and (ct[:, n:] == 7).all()
