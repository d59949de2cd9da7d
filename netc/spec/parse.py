"""Stage 1, parse: YAML text -> plain Python values that remember where they came from.

Mappings become `LDict` and sequences `LList`; both keep the file:line:col of themselves, of each
key and of each value, so every later stage can point at the exact spot in the user's file.
Scalars stay plain Python values; their location is asked of the container that holds them.
"""
from __future__ import annotations

import yaml

from ..errors import Diagnostics, Loc

MAX_BYTES = 256 * 1024  # a network spec is a screen or two; PyYAML reads about 1 MB/s, so refuse more
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
    def __init__(self, file, loader, diags):
        self.file = file
        self.loader = loader
        self.diags = diags  # problems that do not stop the reading (duplicate keys)
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
            self._check_tag(node, "map", loc)
            out = LDict(loc)
            self.loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
            for key_node, value_node in node.value:
                key_loc = _mark_loc(self.file, key_node.start_mark)
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _Stop(key_loc, "a mapping key must be a plain word, found a "
                                + ("list" if isinstance(key_node, yaml.SequenceNode) else "mapping"),
                                "a key is a word before ':', e.g. 'filters: 6'")
                key = self.scalar(key_node)
                if isinstance(key, (int, float, bool)) or key is None:
                    key = str(key_node.value)  # 'yes:' or '1:' as a key means the word itself
                if key in out:
                    first = out.key_loc(key)
                    # reported, and the first value kept, so that every duplicate shows in one pass
                    self.diags.error(key_loc, f"duplicate key '{key}' (first given at line {first.line}, "
                                     f"column {first.col})",
                                     "YAML keeps only the last value of a repeated key; "
                                     "remove one, or give the layers different names")
                    self.convert(value_node, depth + 1)
                    continue
                out[key] = self.convert(value_node, depth + 1)
                out.key_locs[key] = key_loc
                out.value_locs[key] = _mark_loc(self.file, value_node.start_mark)
            return out
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, "seq", loc)
            out = LList(loc)
            for item in node.value:
                out.append(self.convert(item, depth + 1))
                out.item_locs.append(_mark_loc(self.file, item.start_mark))
            return out
        return self.scalar(node)

    @staticmethod
    def _check_tag(node, kind, loc):
        if node.tag != f"tag:yaml.org,2002:{kind}":
            raise _Stop(loc, f"unsupported YAML tag '{node.tag}'",
                        "netc specs use plain YAML: mappings, lists, numbers, words")

    def scalar(self, node):
        loc = _mark_loc(self.file, node.start_mark)
        tag = node.tag
        kind = tag.rsplit(":", 1)[1] if tag.startswith("tag:yaml.org,2002:") else None
        if kind in ("str", "int", "float", "bool", "null"):
            try:
                return self.loader.construct_object(node, deep=True)
            except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError) as exc:
                if kind == "int" and str(node.value).lstrip("+-").isdigit():
                    raise _Stop(loc, f"the number {str(node.value)[:20]}... has {len(node.value):,} digits",
                                "no size in a network needs more than a few digits") from exc
                raise _Stop(loc, f"'{str(node.value)[:40]}' is not a valid {kind}",
                            f"remove the '!!{kind}' tag, or write a {kind}") from exc
        if kind == "timestamp":
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
    loader = None
    try:
        try:
            loader = yaml.SafeLoader(text)
            node = loader.get_single_node()
            if node is None:
                diags.error(Loc(file, 1, 1), "the spec is empty",
                            "start with 'netc: 1', a 'name:', 'inputs:' and 'layers:'")
                diags.raise_if_any()
            doc = _Converter(file, loader, diags).convert(node)
            diags.raise_if_any()  # duplicate keys
            return doc
        finally:
            if loader is not None:
                loader.dispose()
    except _Stop as stop:
        diags.error(stop.loc, stop.message, stop.hint)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _mark_loc(file, mark) if mark else Loc(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        diags.error(loc, f"invalid YAML: {problem}", _yaml_hint(problem))
    except yaml.reader.ReaderError as exc:  # a character YAML refuses, e.g. a NUL byte
        before = text[: exc.position]
        loc = Loc(file, before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
        diags.error(loc, f"invalid YAML: the character {_char(exc.character)} is not allowed in a YAML file",
                    "the file holds binary data or control characters; a spec is a YAML text file")
    except yaml.YAMLError as exc:
        diags.error(Loc(file, 1, 1), f"invalid YAML: {exc}", "a spec is a YAML text file")
    except RecursionError:
        diags.error(Loc(file, 1, 1), "the spec nests too deeply to read",
                    "a network spec needs only a few levels of nesting")
    diags.raise_if_any()
    raise AssertionError("unreachable: raise_if_any raised")


def _char(c) -> str:
    code = c if isinstance(c, int) else (ord(c) if isinstance(c, str) and len(c) == 1 else None)
    return f"U+{code:04X}" if code is not None else repr(c)


def _yaml_hint(problem: str) -> str | None:
    if "tab" in problem or "'\\t'" in problem or "\t" in problem:
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
