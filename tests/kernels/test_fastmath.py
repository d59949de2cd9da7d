"""fastmath.py's exp, tanh and sigmoid against numpy in float32: a few ulp over a wide range,
and NaN, inf and large |x| handled the way numpy does (exp underflows to 0 below -87.3)."""
from __future__ import annotations

import numpy as np
from numba import njit

from netc.kernels.fastmath import FASTMATH, fexp, fsigmoid, ftanh


@njit(fastmath=FASTMATH, error_model="numpy")
def _apply(which, x, y):
    for i in range(x.size):
        if which == 0:
            y[i] = fexp(x[i])
        elif which == 1:
            y[i] = ftanh(x[i])
        else:
            y[i] = fsigmoid(x[i])


def _run(which, x):
    y = np.empty_like(x)
    _apply(which, x, y)
    return y


def _ulp(a, ref):
    ia = a.astype(np.float32).view(np.int32).astype(np.int64)
    ib = ref.astype(np.float32).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(ia & 0x7FFFFFFF), ia)
    ib = np.where(ib < 0, -(ib & 0x7FFFFFFF), ib)
    return np.abs(ia - ib)


def test_accuracy_in_ulp():
    x = np.linspace(-87, 88, 400_001).astype(np.float32)
    assert _ulp(_run(0, x), np.exp(x.astype(np.float64))).max() <= 2
    t = np.concatenate([np.linspace(-20, 20, 400_001), np.geomspace(1e-30, 1, 20_000),
                        -np.geomspace(1e-30, 1, 20_000)]).astype(np.float32)
    t64 = t.astype(np.float64)
    assert _ulp(_run(1, t), np.tanh(t64)).max() <= 2
    assert _ulp(_run(2, t), 1 / (1 + np.exp(-t64))).max() <= 3


def test_special_values():
    s = np.array([np.nan, np.inf, -np.inf, 100, -100, 1e30, -1e30, 0], np.float32)
    e, t, g = _run(0, s), _run(1, s), _run(2, s)
    assert np.isnan(e[0]) and np.isnan(t[0]) and np.isnan(g[0])
    np.testing.assert_array_equal(e[1:], [np.inf, 0, np.inf, 0, np.inf, 0, 1])
    np.testing.assert_array_equal(t[1:], [1, -1, 1, -1, 1, -1, 0])
    np.testing.assert_array_equal(g[1:], [1, 0, 1, 0, 1, 0, 0.5])


def test_float64_is_numpy():
    x = np.linspace(-30, 30, 1001)
    np.testing.assert_allclose(_run(0, x), np.exp(x), rtol=1e-15)
    np.testing.assert_allclose(_run(1, x), np.tanh(x), rtol=1e-15)
