"""netc: a declarative neural-network compiler. Write a network in YAML, check it, compile it."""
from .errors import SpecError
from .frontend import load, parse

__version__ = "0.1.0"
__all__ = ["SpecError", "load", "parse", "__version__"]
