"""The op registry: importing this package registers every op module."""
from . import (activations, arith, batchnorm, conv, dense, dropout, embedding, io,  # noqa: F401
               losses, pool, recurrent, shape)
from .base import REGISTRY, Attr, Op, Param

__all__ = ["REGISTRY", "Attr", "Op", "Param"]
