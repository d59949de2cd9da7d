"""Kernels of add and mul with broadcasting. All arrays are 4-D views made by the emitted line
(axes grouped so that each group is either shared or broadcast); an operand axis of size 1 is
broadcast along y's axis, so its index there is always 0."""
from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True, no_cpython_wrapper=True)
def _steps(a):
    """Per axis, 1 where `a` has the full size and 0 where it has size 1 (broadcast)."""
    return (int(a.shape[0] != 1), int(a.shape[1] != 1), int(a.shape[2] != 1), int(a.shape[3] != 1))


@njit(cache=True, nogil=True)
def add_fwd(a, b, y):
    a0, a1, a2, a3 = _steps(a)
    b0, b1, b2, b3 = _steps(b)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            for k in range(y.shape[2]):
                for m in range(y.shape[3]):
                    y[i, j, k, m] = a[i * a0, j * a1, k * a2, m * a3] + b[i * b0, j * b1, k * b2, m * b3]


@njit(cache=True, nogil=True)
def mul_fwd(a, b, y):
    a0, a1, a2, a3 = _steps(a)
    b0, b1, b2, b3 = _steps(b)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            for k in range(y.shape[2]):
                for m in range(y.shape[3]):
                    y[i, j, k, m] = a[i * a0, j * a1, k * a2, m * a3] * b[i * b0, j * b1, k * b2, m * b3]


@njit(cache=True, nogil=True)
def add_vjp_x(gy, gx):
    """gx += gy summed over the axes where gx is broadcast (either input: add is symmetric)."""
    g0, g1, g2, g3 = _steps(gx)
    for i in range(gy.shape[0]):
        for j in range(gy.shape[1]):
            for k in range(gy.shape[2]):
                for m in range(gy.shape[3]):
                    gx[i * g0, j * g1, k * g2, m * g3] += gy[i, j, k, m]


@njit(cache=True, nogil=True)
def mul_vjp_x(gy, other, gx):
    """gx += gy * other, summed over the axes where gx is broadcast (either input)."""
    g0, g1, g2, g3 = _steps(gx)
    o0, o1, o2, o3 = _steps(other)
    for i in range(gy.shape[0]):
        for j in range(gy.shape[1]):
            for k in range(gy.shape[2]):
                for m in range(gy.shape[3]):
                    gx[i * g0, j * g1, k * g2, m * g3] += gy[i, j, k, m] * other[i * o0, j * o1, k * o2, m * o3]
