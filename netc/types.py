"""Tensor types: a dtype and a shape whose leading dimension is the symbolic batch N.

A dimension is a positive int or the symbol 'T' (a sequence length fixed only at run time).
"""
from __future__ import annotations

from dataclasses import dataclass

FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("int32", "int64")
DTYPES = FLOAT_DTYPES + INT_DTYPES
SYMBOLS = ("N", "T")
ITEMSIZE = {"float32": 4, "float64": 8, "int32": 4, "int64": 8}


@dataclass(frozen=True)
class TensorType:
    dtype: str
    shape: tuple  # ('N', ...) for batched tensors, () for a scalar loss

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    @property
    def example_shape(self) -> tuple:
        return self.shape[1:] if self.shape[:1] == ("N",) else self.shape

    def size_per_example(self, T: int = 1) -> int:
        """Elements per example, with T taken as the given length."""
        n = 1
        for d in self.example_shape:
            n *= T if d == "T" else d
        return n

    def has_time(self) -> bool:
        return "T" in self.shape

    def with_shape(self, shape) -> "TensorType":
        return TensorType(self.dtype, tuple(shape))

    def __str__(self) -> str:
        return format_shape(self.shape) if self.shape else "scalar"


def format_shape(shape) -> str:
    return " x ".join(str(d) for d in shape) if shape else "scalar"
