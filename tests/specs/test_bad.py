"""A corpus of broken specs: each file's first line says the exact first line of its error output.

    # expect: {file}:8:26: error: unknown attribute 'kernal' for conv2d

Files that cannot hold a comment (binary junk) are in BINARY below.
"""
import pathlib

import pytest

import netc

BAD = pathlib.Path(__file__).parent / "bad"
FILES = sorted(BAD.glob("*.yaml"))

BINARY = {  # name: (bytes, expected first line)
    "png_header": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "{file}:1:1: error: the file is not UTF-8 text"),
    "latin1_name": (b"netc: 1\nname: caf\xe9\ninputs: {x: [4]}\nlayers: [relu]\n", "{file}:2:1: error: the file is not UTF-8 text"),
    "nul_bytes": (b"netc: 1\nname: t\x00\x00\n", "{file}:2:8: error: invalid YAML: the character U+0000 is not allowed in a YAML file"),
    "control_chars": (b"\x01\x02\x03\x04", "{file}:1:1: error: invalid YAML: the character U+0001 is not allowed in a YAML file"),
    "utf16": ("netc: 1\n".encode("utf-16"), "{file}:1:1: error: the file is not UTF-8 text"),
}


def test_the_corpus_is_there():
    assert len(FILES) >= 30


def first_line(path):
    with pytest.raises(netc.SpecError) as info:
        netc.load(path)
    rendered = info.value.render()
    assert rendered.splitlines()[-1].endswith(("error", "errors"))
    return rendered.splitlines()[0]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_spec(path):
    head = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert head.startswith("# expect: "), f"{path.name}: the first line must be '# expect: ...'"
    expected = head[len("# expect: "):].replace("{file}", str(path))
    assert first_line(path) == expected


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_junk(name, tmp_path):
    data, expected = BINARY[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(data)
    assert first_line(path) == expected.replace("{file}", str(path))
