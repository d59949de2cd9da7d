"""Fuzzing the front end: whatever the input, it ends in a graph or in netc.SpecError, never another
exception; and the limits (huge file, alias bomb, deep nesting, huge repeat) are refused quickly."""
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netc
from netc.ops import REGISTRY
from netc.spec.expand import LAYER_KEYS, SECTIONS

OPS = sorted(REGISTRY)
ATTRS = sorted({a for op in REGISTRY.values() for a in op.attrs} | {s for op in REGISTRY.values() for s in op.inputs})
KEYS = sorted(set(SECTIONS) | set(OPS) | set(ATTRS) | set(LAYER_KEYS)
              | {"shape", "dtype", "params", "output", "weight", "x", "y", "b", "sgd", "adam", "lr"})
WORDS = st.sampled_from(KEYS + ["same", "floor", "ceil", "exact", "T", "N", "int", "float", "int32", "float64",
                                "$input", "$last", "$nope", "n * 2", "x // 0", "2 ** 99", "__import__('os')",
                                "a.b", "glorot-uniform", "", " ", "x/y", "1e400", "max()", "abs(1, 2)"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.integers(-(2 ** 70), 2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), WORDS, st.text(max_size=8))
TREES = st.recursive(SCALARS, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(WORDS, kids, max_size=4)), max_leaves=25)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def ends_well(text):
    try:
        netc.parse(text, "fuzz.yaml")
    except netc.SpecError as err:
        assert err.diagnostics and all(d.message for d in err.diagnostics)
        assert err.render().splitlines()[-1].endswith(("error", "errors"))


def dump(tree):
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)


@FUZZ
@given(TREES)
def test_random_trees(tree):
    ends_well(dump(tree))


def value_for(attr):
    """A value of the attribute's own kind, small enough that shapes often work out."""
    return {
        "int": st.integers(1, 6), "float": st.floats(0.0, 0.9), "bool": st.booleans(),
        "str": st.sampled_from(["a", "b"]), "choice": st.sampled_from(list(attr.choices or ["x"])),
        "ints": st.one_of(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=1, max_size=3)),
        "pad": st.one_of(st.integers(0, 1), st.just("same")),
        "shape": st.sampled_from([[-1], [2, -1], [4], [-1, 2], [1, 1, -1]]),
    }.get(attr.kind, st.none())


@st.composite
def attrs_for(draw, op):
    """Mostly right attributes (every required one, of its kind), sometimes corrupted."""
    attrs = {}
    for name, attr in REGISTRY[op].attrs.items():
        if attr.required or draw(st.integers(0, 3)) == 0:
            attrs[name] = draw(value_for(attr))
    if draw(st.integers(0, 4)) == 0:  # a corruption: a wrong key, a wrong value, a name, a reference
        key = draw(st.sampled_from(sorted(REGISTRY[op].attrs) + ["name", "in", "repeat", "kernal"]
                                   + list(REGISTRY[op].inputs)))
        attrs[key] = draw(st.one_of(st.integers(-1, 9), st.sampled_from(
            [[1, 2], [2, 2, 2], "same", "floor", True, None, 0.5, "n + 1", "$last", "x", "y", "T", "r1"])))
    return attrs


@st.composite
def plausible(draw):
    """Nearly right specs, so that the later stages (build, infer) are reached too."""
    shape = draw(st.lists(st.one_of(st.integers(1, 9), st.just("T")), max_size=5))
    inputs = {"x": shape, "y": {"shape": draw(st.lists(st.integers(1, 4), max_size=2)),
                                "dtype": draw(st.sampled_from(["int32", "float32", "int64"]))}}
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(OPS + ["blk"]))
        attrs = draw(attrs_for(op)) if op in REGISTRY else draw(st.dictionaries(st.sampled_from(["n", "repeat"]),
                                                                               st.integers(-1, 4), max_size=2))
        if op in REGISTRY and REGISTRY[op].variadic or op in ("add", "mul"):
            attrs["in"] = draw(st.lists(st.sampled_from(["x", "$last", "r1"]), min_size=1, max_size=3))
        if draw(st.integers(0, 3)) == 0:
            attrs["name"] = "r1"
        layers.append({op: attrs} if attrs or draw(st.booleans()) else op)
    doc = {"netc": 1, "name": "fuzz", "inputs": inputs,
           "blocks": {"blk": {"params": {"n": "int"}, "layers": [{"dense": {"units": "n + 1"}}, "relu"]}},
           "layers": layers}
    if draw(st.booleans()):
        doc["loss"] = {draw(st.sampled_from(["mse", "softmax_cross_entropy", "binary_cross_entropy"])):
                       draw(st.dictionaries(st.sampled_from(["labels", "target", "weight", "in"]),
                                            st.sampled_from(["x", "y", 0.5, "$last"]), max_size=2))}
    if draw(st.integers(0, 3)) == 0:
        op = draw(st.sampled_from(OPS))
        doc["defaults"] = {op: draw(attrs_for(op))}
    return doc


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(plausible())
def test_nearly_right_specs(doc):
    ends_well(dump(doc))


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(data):
    ends_well(data)


@FUZZ
@given(st.lists(st.sampled_from(list("netc:1 -[]{}&*!|>'\"#\n\t,?%@`") + ["name", "layers", "dense", "  "]),
                max_size=60).map("".join))
def test_yaml_punctuation(text):
    ends_well(text)


def _refused(text, words, limit=30.0):
    # not a speed test: without its limit each case runs for hours or exhausts memory (the alias
    # bomb is 9^9 values), so a bound this loose still catches a lost limit on a loaded machine
    t0 = time.perf_counter()
    with pytest.raises(netc.SpecError) as info:
        netc.parse(text, "limit.yaml")
    assert time.perf_counter() - t0 < limit
    assert words in info.value.first.message
    return info.value.first


LIMITS = [
    ("netc: 1\n" + "# padding\n" * 250_000, "a spec may be at most 262,144"),
    ("netc: 1\nname: x\nlayers:\n" + "  - relu\n" * 25_000, "needs 'inputs'"),
    ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)),
     "more than 200,000 YAML values"),
    ("netc: 1\nx: " + "[" * 100_000 + "]" * 100_000 + "\n", "nests too deeply"),
    ("netc: 1\nx: " + "{a: " * 70 + "1" + "}" * 70 + "\n", "nests deeper than 64 levels"),
    ("netc: 1\nname: t\ninputs: {x: [4]}\nlayers:\n  - relu: {repeat: 1000000}\n", "'repeat' must be a whole number from 1 to 10,000"),
    ("netc: 1\nname: t\ninputs: {x: [4]}\nblocks:\n  b: {layers: [{relu: {repeat: 1000}}]}\nlayers:\n  - b: {repeat: 1000}\n",
     "the network expands to more than 20,000 layers"),
    ("netc: 1\nname: t\ninputs: {x: [4]}\nlayers:\n  - dense: {units: '9 ** 9 ** 9'}\n", "power too large"),
]


@pytest.mark.parametrize("text, words", LIMITS, ids=["huge file", "largest file", "alias bomb", "deep lists",
                                                     "deep mappings", "huge repeat", "repeat of repeats", "huge power"])
def test_limits_are_refused_quickly_with_a_clear_message(text, words):
    d = _refused(text, words)
    assert d.loc is not None
