"""Stage 1, parse: YAML text -> plain Python values that remember where they came from.

Mappings become `LDict` and sequences `LList`; both keep the file:line:col of themselves, of each
key and of each value, so every later stage can point at the exact spot in the user's file.
Scalars stay plain Python values; their location is asked of the container that holds them.
"""
from __future__ import annotations

import yaml

from ..errors import Diagnostics, Loc, SpecError

MAX_BYTES = 2_000_000  # a network spec is a screen or two; refuse megabytes of YAML quickly
MAX_VALUES = 200_000  # counts every value after aliases are followed: stops alias bombs
MAX_DEPTH = 64


class LDict(dict):
    """A mapping that knows its location and the location of each key and value."""

    def __init__(self, loc: Loc):
        super().__init__()
        self.loc = loc
        self.key_locs: dict = {}
        self.value_locs: dict = {}

    def key_loc(self, key) -> Loc:
        return self.key_locs.get(key, self.loc)

    def value_loc(self, key) -> Loc:
        return self.value_locs.get(key, self.loc)


class LList(list):
    """A sequence that knows its location and the location of each item."""

    def __init__(self, loc: Loc):
        super().__init__()
        self.loc = loc
        self.item_locs: list = []

    def item_loc(self, i) -> Loc:
        return self.item_locs[i] if 0 <= i < len(self.item_locs) else self.loc


def loc_of(value, default: Loc | None = None) -> Loc | None:
    return getattr(value, "loc", default)


def _mark_loc(file, mark) -> Loc:
    return Loc(file, mark.line + 1, mark.column + 1)


class _Converter:
    def __init__(self, file, loader):
        self.file = file
        self.loader = loader
        self.count = 0

    def convert(self, node, depth=0):
        self.count += 1
        loc = _mark_loc(self.file, node.start_mark)
        if self.count > MAX_VALUES:
            raise _Stop(loc, f"the spec expands to more than {MAX_VALUES:,} YAML values",
                        "YAML aliases (*name) that refer to each other multiply; write the spec out plainly")
        if depth > MAX_DEPTH:
            raise _Stop(loc, f"the spec nests deeper than {MAX_DEPTH} levels",
                        "a network spec needs only a few levels of nesting")
        if isinstance(node, yaml.MappingNode):
            out = LDict(loc)
            self.loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
            for key_node, value_node in node.value:
                key_loc = _mark_loc(self.file, key_node.start_mark)
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _Stop(key_loc, "a mapping key must be a plain word", None)
                key = self.scalar(key_node)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise _Stop(key_loc, f"a mapping key must be a plain word, found {type(key).__name__}", None)
                if isinstance(key, (int, float, bool)) or key is None:
                    key = str(key_node.value)
                if key in out:
                    first = out.key_loc(key)
                    raise _Stop(key_loc, f"duplicate key '{key}' (first given at line {first.line}, "
                                f"column {first.col})",
                                "YAML keeps only the last value of a repeated key; "
                                "remove one, or give the layers different names")
                out[key] = self.convert(value_node, depth + 1)
                out.key_locs[key] = key_loc
                out.value_locs[key] = _mark_loc(self.file, value_node.start_mark)
            return out
        if isinstance(node, yaml.SequenceNode):
            out = LList(loc)
            for item in node.value:
                out.append(self.convert(item, depth + 1))
                out.item_locs.append(_mark_loc(self.file, item.start_mark))
            return out
        return self.scalar(node)

    def scalar(self, node):
        loc = _mark_loc(self.file, node.start_mark)
        tag = node.tag
        if tag.startswith("tag:yaml.org,2002:") and tag.rsplit(":", 1)[1] in (
                "str", "int", "float", "bool", "null"):
            value = self.loader.construct_object(node, deep=True)
            if isinstance(value, float) and value != value:
                return value
            return value
        if tag.startswith("tag:yaml.org,2002:timestamp"):
            return str(node.value)
        raise _Stop(loc, f"unsupported YAML tag '{tag}'",
                    "netc specs use plain YAML: mappings, lists, numbers, words")


class _Stop(Exception):
    def __init__(self, loc, message, hint):
        super().__init__(message)
        self.loc, self.message, self.hint = loc, message, hint


def parse_yaml(text, file="<string>"):
    """Parse YAML text into located values, or raise SpecError with the location of the problem."""
    diags = Diagnostics()
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            diags.error(Loc(file, 1, 1), f"the file is {len(text):,} bytes; a spec may be at most {MAX_BYTES:,}")
            diags.raise_if_any()
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            diags.error(Loc(file, line, 1), "the file is not UTF-8 text",
                        "a spec is a YAML text file; is this the right file?")
            diags.raise_if_any()
    if len(text) > MAX_BYTES:
        diags.error(Loc(file, 1, 1), f"the file is {len(text):,} characters; a spec may be at most {MAX_BYTES:,}")
        diags.raise_if_any()
    if not text.strip():
        diags.error(Loc(file, 1, 1), "the spec is empty",
                    "start with 'netc: 1', a 'name:', 'inputs:' and 'layers:' (see specs/ for examples)")
        diags.raise_if_any()
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                diags.error(Loc(file, 1, 1), "the spec is empty",
                            "start with 'netc: 1', a 'name:', 'inputs:' and 'layers:'")
                diags.raise_if_any()
            return _Converter(file, loader).convert(node)
        finally:
            loader.dispose()
    except _Stop as stop:
        diags.error(stop.loc, stop.message, stop.hint)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _mark_loc(file, mark) if mark else Loc(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        diags.error(loc, f"invalid YAML: {problem}", _yaml_hint(problem))
    except yaml.YAMLError as exc:
        diags.error(Loc(file, 1, 1), f"invalid YAML: {exc}", "a spec is a YAML text file")
    except RecursionError:
        diags.error(Loc(file, 1, 1), "the spec nests too deeply to read",
                    "a network spec needs only a few levels of nesting")
    diags.raise_if_any()
    raise SpecError([])  # unreachable: raise_if_any raised


def _yaml_hint(problem: str) -> str | None:
    if "tab" in problem:
        return "YAML indents with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "a value that contains ': ' needs quotes, or a nested mapping needs its own indented line"
    if "special characters" in problem or "non-printable" in problem:
        return "the file holds binary data; a spec is a YAML text file"
    if "could not find expected ':'" in problem:
        return "each entry of a mapping is 'key: value'"
    return None


def read_spec_file(path):
    """Read a spec file as located YAML; a missing or unreadable file is a located SpecError too."""
    import os

    name = str(path)
    diags = Diagnostics()
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            diags.error(Loc(name, 1, 1), f"the file is {size:,} bytes; a spec may be at most {MAX_BYTES:,}")
            diags.raise_if_any()
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        diags.error(Loc(name, 1, 1), "no such file", _near_files(name))
        diags.raise_if_any()
    except IsADirectoryError:
        diags.error(Loc(name, 1, 1), "this is a folder, not a spec file", "name a .yaml file inside it")
        diags.raise_if_any()
    except OSError as exc:
        diags.error(Loc(name, 1, 1), f"cannot read the file: {exc.strerror}")
        diags.raise_if_any()
    return parse_yaml(data, name)


def _near_files(name):
    import os

    from ..errors import did_you_mean

    folder = os.path.dirname(name) or "."
    try:
        files = [f for f in os.listdir(folder) if f.endswith((".yaml", ".yml"))]
    except OSError:
        return "check the path"
    hint = did_you_mean(os.path.basename(name), files)
    return hint or "check the path"
