"""netc: a declarative neural-network compiler. Write a network in YAML, check it, compile it."""
from .errors import SpecError
from .frontend import load, parse
from .runtime import Network, compile

__version__ = "0.1.0"
__all__ = ["Network", "SpecError", "compile", "load", "parse", "__version__"]
