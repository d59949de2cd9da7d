"""Stage 1, parse: located YAML, duplicate keys, odd YAML and the size/alias/depth limits."""
import time

import pytest

import netc
from netc.errors import Loc, SpecError
from netc.spec.parse import MAX_BYTES, LDict, LList, parse_yaml, read_spec_file


def first(text, file="s.yaml"):
    with pytest.raises(SpecError) as info:
        parse_yaml(text, file)
    return info.value.first


def test_values_remember_line_and_column():
    doc = parse_yaml("netc: 1\nlayers:\n  - conv2d: {filters: 6, kernel: 5}\n  - relu\n", "a.yaml")
    assert isinstance(doc, LDict) and isinstance(doc["layers"], LList)
    assert doc.key_loc("layers") == Loc("a.yaml", 2, 1)
    assert doc.value_loc("netc") == Loc("a.yaml", 1, 7)
    layers = doc["layers"]
    assert layers.item_loc(0) == Loc("a.yaml", 3, 5) and layers.item_loc(1) == Loc("a.yaml", 4, 5)
    attrs = layers[0]["conv2d"]
    assert attrs == {"filters": 6, "kernel": 5}
    assert attrs.key_loc("kernel") == Loc("a.yaml", 3, 26)
    assert attrs.value_loc("kernel") == Loc("a.yaml", 3, 34)


def test_scalars_stay_plain_python():
    doc = parse_yaml("a: 1\nb: 2.5\nc: true\nd: null\ne: word\nf: 2001-01-01\n1: one\nyes: two\n")
    assert doc == {"a": 1, "b": 2.5, "c": True, "d": None, "e": "word", "f": "2001-01-01", "1": "one",
                   "yes": "two"}


def test_duplicate_keys_are_errors_all_in_one_pass():
    err = pytest.raises(SpecError, parse_yaml, "a: 1\nb: 2\na: 3\nc:\n  x: 1\n  x: 2\n", "d.yaml").value
    assert [d.render().splitlines()[0] for d in err.diagnostics] == [
        "d.yaml:3:1: error: duplicate key 'a' (first given at line 1, column 1)",
        "d.yaml:6:3: error: duplicate key 'x' (first given at line 5, column 3)",
    ]
    assert "YAML keeps only the last value" in err.diagnostics[0].hint


def test_duplicate_key_inside_flow_mapping_points_at_the_second():
    d = first("layers:\n  - conv2d: {filters: 6, kernel: 5, filters: 8}\n")
    assert (d.loc.line, d.loc.col) == (2, 37) and "duplicate key 'filters'" in d.message


@pytest.mark.parametrize("text, line, col, words", [
    ("a: 1\n\tb: 2\n", 2, 1, "'\\t'"),
    ("a: [1, 2\nb: 3\n", 2, 2, "invalid YAML"),
    ("a: b: c\n", 1, 5, "mapping values are not allowed"),
    ("netc: 1\n---\nnetc: 1\n", 2, 1, "another document"),
    ("x: {<<: 5}\n", 1, 9, "merging"),
    ("x: *nowhere\n", 1, 4, "undefined alias"),
])
def test_yaml_syntax_errors_are_located(text, line, col, words):
    d = first(text)
    assert (d.loc.line, d.loc.col) == (line, col)
    assert words in d.message


def test_tab_indentation_gets_a_hint():
    d = first("netc: 1\ninputs:\n\tx: [4]\n")
    assert d.hint == "YAML indents with spaces, not tabs"


@pytest.mark.parametrize("text, words", [
    ("", "the spec is empty"), ("   \n\n", "the spec is empty"), ("# only a comment\n", "the spec is empty"),
    ("a: !!python/object/apply:os.system ['echo no']\n", "unsupported YAML tag"),
    ("a: !!python/name:os.system\n", "unsupported YAML tag"),
    ("a: !!binary aGVsbG8=\n", "unsupported YAML tag"),
    ("a: !custom {b: 1}\n", "unsupported YAML tag"),
    ("a: !!int abc\n", "'abc' is not a valid int"),
    ("a: !!bool maybe\n", "'maybe' is not a valid bool"),
    ("a: !!float x\n", "'x' is not a valid float"),
    ("a: " + "7" * 5000 + "\n", "has 5,000 digits"),
    ("? [a, b]\n: 1\n", "a mapping key must be a plain word"),
    ("a: b\x00\n", "U+0000 is not allowed"),
])
def test_odd_yaml_is_refused_with_a_message(text, words):
    d = first(text)
    assert words in d.message


def test_python_tags_are_never_constructed(tmp_path, monkeypatch):
    import os
    called = []
    monkeypatch.setattr(os, "system", lambda *a: called.append(a))
    with pytest.raises(SpecError):
        parse_yaml("a: !!python/object/apply:os.system ['echo no']\n")
    assert not called


@pytest.mark.parametrize("data, line, words", [
    (b"\xff\xfe\x00garbage", 1, "not UTF-8"),
    (b"netc: 1\nname: \x80\x81\n", 2, "not UTF-8"),
    (b"\x00\x01\x02\x03", 1, "is not allowed"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "not UTF-8"),
])
def test_binary_junk(data, line, words):
    d = first(data)
    assert d.loc.line == line and words in d.message


def test_byte_order_mark_is_fine():
    assert parse_yaml("\ufeffa: 1\n") == {"a": 1}


def _quick(fn, *args, limit=3.0):
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as info:
        fn(*args)
    assert time.perf_counter() - t0 < limit
    return info.value.first


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# pad\n" * (MAX_BYTES // 6 + 10))
    d = _quick(read_spec_file, path, limit=0.5)
    assert d.message.startswith("the file is ") and f"at most {MAX_BYTES:,}" in d.message
    d = _quick(parse_yaml, "a: 1\n" * (MAX_BYTES // 5 + 1), limit=0.5)
    assert f"at most {MAX_BYTES:,}" in d.message


def test_alias_bomb_is_refused_quickly():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    d = _quick(parse_yaml, "\n".join(lines) + "\n")
    assert "more than 200,000 YAML values" in d.message and "aliases" in d.hint


def test_recursive_alias_is_refused():
    d = _quick(parse_yaml, "netc: 1\nx: &a [*a]\n")
    assert "nests deeper than 64 levels" in d.message


@pytest.mark.parametrize("text", [
    "x: " + "[" * 100 + "]" * 100 + "\n",
    "".join(" " * i + "a:\n" for i in range(100)),
    "x: " + "[" * 20000 + "]" * 20000 + "\n",
])
def test_deep_nesting_is_refused(text):
    d = _quick(parse_yaml, text)
    assert "nest" in d.message and "levels of nesting" in d.hint


def test_missing_file_suggests_a_near_name(tmp_path):
    (tmp_path / "lenet5.yaml").write_text("netc: 1\n")
    d = _quick(read_spec_file, tmp_path / "lenet.yaml")
    assert d.message == "no such file" and d.hint == "did you mean 'lenet5.yaml'?"
    d = _quick(read_spec_file, tmp_path)
    assert "folder" in d.message


def test_load_reports_the_path_it_was_given(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("netc: 1\nname: t\ninputs: {x: [4]}\nlayers: [relu]\nlayers: [tanh]\n")
    err = pytest.raises(SpecError, netc.load, path).value
    assert err.render().splitlines()[0] == f"{path}:5:1: error: duplicate key 'layers' (first given at line 4, column 1)"
