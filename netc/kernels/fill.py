"""Filling buffers: zeroing accumulated gradients and seeding the loss gradient, any rank (0-d too)."""
from __future__ import annotations

from numba import njit

__all__ = ["fill_value"]


@njit(cache=True, nogil=True)
def fill_value(a, value):
    flat = a.reshape(a.size)
    for i in range(flat.size):
        flat[i] = value
