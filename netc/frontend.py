"""The front end in one call: text or file -> checked, typed graph (parse, expand, build, infer)."""
from __future__ import annotations

from .build import check
from .graph import Graph
from .infer import infer
from .spec.expand import expand
from .spec.parse import parse_yaml, read_spec_file


def load(path, dtype: str = "float32") -> Graph:
    """Read, check and type a spec file. Raises netc.SpecError listing every problem found."""
    return _front(read_spec_file(path), str(path), dtype)


def parse(text, file: str = "<string>", dtype: str = "float32") -> Graph:
    """The same as load, from YAML text."""
    return _front(parse_yaml(text, file), file, dtype)


def _front(doc, file, dtype) -> Graph:
    # every stage adds to one list of problems, so a file's independent mistakes show together
    graph, diags = check(expand(doc, file))
    if graph is not None:
        infer(graph, dtype, diags)
    diags.raise_if_any()
    graph.warnings = diags.warnings
    return graph
