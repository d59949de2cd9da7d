"""Conv/pool window arithmetic against a brute-force count of window positions, and hints that work.

The oracle counts windows by placing them: start positions 0, S, 2S, ... in the padded input of
length P_left + W + P_right, each window spanning D(F-1)+1 cells.
- floor: the windows that lie wholly inside the padded input;
- ceil: those, plus one partial window covering the tail they leave uncovered, but only if it
  starts inside the input or the left padding (never in the right padding: Caffe/ONNX);
- exact: floor when the windows tile the padded input exactly, else an error;
- a kernel larger than the padded input is an error whatever the rounding.
"""
import math
import re
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netc
from netc.errors import Loc, Problem, SpecError
from netc.graph import Node
from netc.ops import REGISTRY
from netc.ops.window import output_sizes, render_fixes, same_padding, suggest, window_count

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPECS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def brute(size, kernel, stride, left, right, dilation, rounding):
    eff = dilation * (kernel - 1) + 1
    total = left + size + right
    full = [t for t in range(0, total, stride) if t + eff <= total]
    if not full:
        return 0
    if rounding == "floor":
        return len(full)
    tiles = full[-1] + eff == total
    if rounding == "exact":
        return len(full) if tiles else None
    nxt = len(full) * stride  # the window that would cover the uncovered tail
    return len(full) + (1 if not tiles and nxt < left + size else 0)


axis = st.fixed_dictionaries({
    "size": st.integers(1, 64), "kernel": st.integers(1, 12), "stride": st.integers(1, 8),
    "pad": st.integers(0, 6), "dilation": st.integers(1, 4)})
roundings = st.sampled_from(["exact", "floor", "ceil"])


@FAST
@given(axis, st.integers(0, 6), roundings)
def test_window_count_matches_brute_force(a, right, rounding):
    args = (a["size"], a["kernel"], a["stride"], a["pad"], right, a["dilation"], rounding)
    assert window_count(*args) == brute(*args)


@FAST
@given(axis, roundings)
def test_ceil_adds_at_most_one_window_never_one_starting_in_right_padding(a, rounding):
    s, k, st_, p, d = a["size"], a["kernel"], a["stride"], a["pad"], a["dilation"]
    floor, ceil = window_count(s, k, st_, p, p, d, "floor"), window_count(s, k, st_, p, p, d, "ceil")
    assert ceil - floor in (0, 1)
    if ceil > floor:
        assert (ceil - 1) * st_ < p + s  # the extra window starts inside the input or the left padding


@FAST
@given(st.integers(1, 200), st.integers(1, 11), st.integers(1, 9), st.integers(1, 4), roundings)
def test_pad_same_gives_ceil_of_size_over_stride(size, kernel, stride, dilation, rounding):
    left, right = same_padding(size, kernel, stride, dilation)
    assert right - left in (0, 1)  # an odd total pads the right one more (TensorFlow's SAME)
    node = Node("c", REGISTRY["conv1d"], {}, Loc("s.yaml", 1, 1))
    out, pads = output_sizes(node, (size,), (kernel,), (stride,), "same", (dilation,), rounding)
    assert out == (math.ceil(size / stride),) and pads == [(left, right)]


def _fail(sizes, kernel, stride, pad, dilation, rounding, max_pad=None):
    node = Node("c", REGISTRY[f"conv{len(sizes)}d"], {}, Loc("s.yaml", 1, 1))
    try:
        return output_sizes(node, sizes, kernel, stride, pad, dilation, rounding, max_pad=max_pad), None
    except Problem as p:
        return None, p


def _check_fixes(sizes, kernel, stride, pads, dilation, rounding, i, fixes, max_pad):
    """Every fix, applied, makes axis i work with the output it claims, and breaks no axis that worked."""
    def outs(kern, strd, pd, rnd):
        return [brute(n, kern[j], strd[j], pd[j], pd[j], dilation[j], rnd) for j, n in enumerate(sizes)]

    follows = max_pad is not None and list(stride) == list(kernel)  # a pool's stride not written

    before = outs(kernel, stride, pads, rounding)
    for attr, value, gives in fixes:
        trial = {"kernel": list(kernel), "stride": list(stride), "pad": list(pads), "rounding": rounding}
        trial[attr] = value if attr == "rounding" else (list(value) if isinstance(value, list) else [value] * len(sizes))
        if attr == "kernel" and follows:
            trial["stride"] = trial["kernel"]
        after = outs(trial["kernel"], trial["stride"], trial["pad"], trial["rounding"])
        assert after[i] == gives, (attr, value, after, gives)
        assert all(after[j] for j, b in enumerate(before) if b), (attr, value, before, after)
        if max_pad is not None:  # pooling: never a pad over half the kernel
            assert all(p <= k // 2 for p, k in zip(trial["pad"], trial["kernel"])), (attr, value)


def _parse_hint(hint, naxes):
    """The hint's text back into fixes: 'pad: 1 gives 13', 'stride: [1, 2] gives 5', rounding."""
    fixes = []
    for attr, value, gives in re.findall(r"(pad|stride|kernel): (\[[\d, ]+\]|\d+) gives (\d+)", hint or ""):
        value = [int(v) for v in value.strip("[]").split(",")] if value.startswith("[") else int(value)
        fixes.append((attr, value, int(gives)))
    m = re.search(r"rounding: floor \((\d+)\) or ceil \((\d+)\)", hint or "")
    if m:
        fixes += [("rounding", "floor", int(m[1])), ("rounding", "ceil", int(m[2]))]
    m = re.search(r"rounding: floor or ceil \((\d+)\)", hint or "")
    if m:
        fixes += [("rounding", "floor", int(m[1])), ("rounding", "ceil", int(m[1]))]
    return fixes


@FAST
@given(axis)
def test_exact_error_shows_the_formula_with_numbers_and_a_working_fix(a):
    size, k, s, p, d = a["size"], a["kernel"], a["stride"], a["pad"], a["dilation"]
    result, problem = _fail((size,), (k,), (s,), (p,), (d,), "exact")
    expected = brute(size, k, s, p, p, d, "exact")
    if expected:
        assert result[0] == (expected,)
        return
    eff = d * (k - 1) + 1
    numbers = (f"({size} - {k} + 2*{p})/{s} + 1" if d == 1
               else f"({size} - ({d}*({k}-1)+1) + 2*{p})/{s} + 1")
    if expected == 0:
        assert "is larger than the padded input" in problem.message and f"= {numbers} < 1" in problem.message
    else:
        value = Fraction(size - eff + 2 * p, s) + 1
        assert problem.message.endswith(f"= {numbers} = {float(value):.4g} is not a whole number")
        assert "(L - F + 2P)/S + 1" in problem.message or "(L - (D(F-1)+1) + 2P)/S + 1" in problem.message
        assert "rounding: floor" in problem.hint  # a rounding fix is always on offer
    fixes = _parse_hint(problem.hint, 1)
    assert fixes == suggest([size], [k], [s], [p], [d], "exact", 0)
    _check_fixes([size], [k], [s], [p], [d], "exact", 0, fixes, None)


@FAST
@given(st.lists(axis, min_size=2, max_size=3), roundings, st.booleans())
def test_hints_work_on_every_axis_at_once(axes, rounding, pool):
    """A pad or stride fix for one axis must not break another: scalar suggestions are checked on all."""
    sizes = [a["size"] for a in axes]
    kernel = [a["kernel"] for a in axes]
    stride = [a["stride"] for a in axes]
    dilation = [a["dilation"] for a in axes]
    pads = [min(a["pad"], a["kernel"] // 2) if pool else a["pad"] for a in axes]
    max_pad = [kk // 2 for kk in kernel] if pool else None
    result, problem = _fail(sizes, kernel, stride, pads, dilation, rounding, max_pad)
    outs = [brute(n, kernel[j], stride[j], pads[j], pads[j], dilation[j], rounding) for j, n in enumerate(sizes)]
    if problem is None:
        assert list(result[0]) == outs
        return
    i = next(j for j, o in enumerate(outs) if not o)  # the first axis that fails is the one explained
    axis_name = {2: ("height", "width"), 3: ("depth", "height", "width")}[len(sizes)][i]
    assert f"output {axis_name}" in problem.message
    fixes = _parse_hint(problem.hint, len(sizes))
    assert fixes == suggest(sizes, kernel, stride, pads, dilation, rounding, i, max_pad,
                            stride_follows=pool and stride == kernel)
    _check_fixes(sizes, kernel, stride, pads, dilation, rounding, i, fixes, max_pad)


def test_the_courses_example():
    _, p = _fail((28, 28), (5, 5), (2, 2), (0, 0), (1, 1), "exact")
    assert p.message == "conv2d 'c': output height (H - F + 2P)/S + 1 = (28 - 5 + 2*0)/2 + 1 = 12.5 is not a whole number"
    # an even stride cannot make an odd span even by padding, so no pad is offered
    assert p.hint == "stride: 1 gives 24; or say rounding: floor (12) or ceil (13)"
    _, p = _fail((32,), (4,), (3,), (0,), (1,), "exact")
    assert p.hint == "pad: 1 gives 11; stride: 2 gives 15; or say rounding: floor (10) or ceil (11)"


def test_a_pad_fix_for_one_axis_is_a_list_when_one_number_would_break_another():
    # height (9 - 3 + 0)/3 + 1 = 3 works; width (8 - 3 + 0)/3 does not, and pad 2 everywhere breaks height
    fixes = suggest([9, 8], [3, 3], [3, 3], [0, 0], [1, 1], "exact", 1)
    assert fixes[0] == ("pad", [0, 2], 4)
    assert render_fixes(fixes).startswith("pad: [0, 2] gives 4; ")


def test_a_fix_for_one_axis_leaves_another_failing_axis_to_its_own_error():
    # depth (2 - 1)/2 is not whole; the width kernel 2 does not fit 1 and is explained after
    fixes = suggest([2, 1, 1], [1, 1, 2], [2, 1, 1], [0, 0, 0], [1, 1, 1], "exact", 0)
    assert fixes == [("stride", 1, 2), ("rounding", "floor", 1), ("rounding", "ceil", 1)]  # 1 + 2P is odd: no pad


def test_kernel_larger_than_input():
    _, p = _fail((4,), (7,), (1,), (0,), (1,), "floor")
    assert p.message == "conv1d 'c': output length: the kernel (7) is larger than the padded input (4 + 2*0 = 4); (L - F + 2P)/S + 1 = (4 - 7 + 2*0)/1 + 1 < 1"
    assert p.hint == "pad: 2 gives 2; kernel: 4 gives 1"
    _, p = _fail((4,), (3,), (1,), (0,), (3,), "exact")
    assert "the kernel (D(F-1)+1 = 3*(3-1)+1 = 7)" in p.message
    # pooling never pads over half the kernel: only a smaller kernel is offered
    _, p = _fail((2,), (6,), (6,), (1,), (1,), "exact", max_pad=[3])
    assert p.hint == "pad: 2 gives 1; kernel: 4 gives 1"
    _, p = _fail((1,), (4,), (4,), (0,), (1,), "exact", max_pad=[2])
    assert p.hint == "kernel: 1 gives 1"


def test_pool_kernel_fix_when_the_stride_follows_the_kernel():
    # maxpool 2x2 on a 3x1 input: the width kernel does not fit; its stride (not written) follows it
    head = "netc: 1\nname: t\ninputs:\n  x: [1, 3, 1]\nlayers:\n"
    with pytest.raises(SpecError) as info:
        netc.parse(head + "  - maxpool2d: {kernel: [3, 2], rounding: floor}\n", "s.yaml")
    assert info.value.first.hint == "pad: 1 gives 1; kernel: [3, 1] gives 1"
    g = netc.parse(head + "  - maxpool2d: {kernel: [3, 1], rounding: floor}\n", "s.yaml")
    assert g.node("maxpool2d_1").type.shape == ("N", 1, 1, 1)  # stride [3, 1] now
    g = netc.parse(head + "  - maxpool2d: {kernel: [3, 2], pad: 1, rounding: floor}\n", "s.yaml")
    assert g.node("maxpool2d_1").type.shape == ("N", 1, 1, 1)
    # written out, the stride stays: kernel 1 with stride 3 over 3 gives 1 as well; with stride 1, 3
    with pytest.raises(SpecError) as info:
        netc.parse(head.replace("[1, 3, 1]", "[1, 3, 3]") + "  - maxpool2d: {kernel: [1, 4], stride: 1}\n", "s.yaml")
    assert info.value.first.hint == "pad: [0, 1] gives 2; kernel: [1, 3] gives 1"


# -- through whole specs ----------------------------------------------------------------------

def conv_spec(op, sizes, attrs):
    channels = 2
    text = (f"netc: 1\nname: t\ninputs:\n  x: [{channels}, {', '.join(map(str, sizes))}]\nlayers:\n"
            f"  - {op}: {{{', '.join(f'{k}: {v}' for k, v in attrs.items())}}}\n")
    return text


def _yaml(v):
    return "[" + ", ".join(map(str, v)) + "]" if isinstance(v, (list, tuple)) else str(v)


@st.composite
def conv_case(draw):
    rank = draw(st.integers(1, 3))
    pool = draw(st.sampled_from([None, "max", "avg"]))
    op = f"conv{rank}d" if pool is None else f"{pool}pool{rank}d"
    sizes = draw(st.lists(st.integers(1, 20), min_size=rank, max_size=rank))
    kernel = draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank))
    stride = draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    dilation = draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))
    same = draw(st.booleans()) and draw(st.booleans())
    if pool:
        pad = [draw(st.integers(0, k // 2)) for k in kernel]
    else:
        pad = draw(st.lists(st.integers(0, 4), min_size=rank, max_size=rank))
    rounding = draw(roundings)
    attrs = {"kernel": _yaml(kernel), "stride": _yaml(stride), "dilation": _yaml(dilation),
             "pad": "same" if same else _yaml(pad), "rounding": rounding}
    if pool is None:
        attrs["filters"] = 3
    return op, sizes, kernel, stride, dilation, ("same" if same else pad), rounding, attrs


@SPECS
@given(conv_case())
def test_conv_and_pool_specs_valid_and_invalid(case):
    op, sizes, kernel, stride, dilation, pad, rounding, attrs = case
    text = conv_spec(op, sizes, attrs)
    if pad == "same":
        want = [math.ceil(n / s) for n, s in zip(sizes, stride)]
    else:
        want = [brute(n, k, s, p, p, d, rounding) for n, k, s, p, d in zip(sizes, kernel, stride, pad, dilation)]
    if all(want):
        g = netc.parse(text, "s.yaml")
        channels = 3 if op.startswith("conv") else 2
        assert g.node(f"{op}_1").type.shape == ("N", channels, *want)
        return
    with pytest.raises(SpecError) as info:
        netc.parse(text, "s.yaml")
    (d,) = info.value.diagnostics
    i = next(j for j, o in enumerate(want) if not o)
    axis = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}[len(sizes)][i]
    assert d.message.startswith(f"{op} '{op}_1': output {axis}")
    assert d.loc.line == 6
    # every suggested fix, written into the spec, compiles and gives what the hint says
    # every suggested fix, written into the spec, gives what the hint says on this axis; if the spec
    # still fails, it is for another axis that failed before the fix
    for attr, value, gives in _parse_hint(d.hint, len(sizes)):
        fixed = dict(attrs, **{attr: _yaml(value)})
        try:
            g = netc.parse(conv_spec(op, sizes, fixed), "s.yaml")
        except SpecError as again:
            (d2,) = again.diagnostics
            names = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}[len(sizes)]
            others = [names[j] for j, o in enumerate(want) if not o and j != i]
            assert any(d2.message.startswith(f"{op} '{op}_1': output {n}") for n in others), (attr, value, d2.message)
        else:
            assert g.node(f"{op}_1").type.shape[2 + i] == gives


def test_conv_error_points_at_the_stride_value():
    text = "netc: 1\nname: t\ninputs:\n  x: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 6, kernel: 5, stride: 2}\n"
    with pytest.raises(SpecError) as info:
        netc.parse(text, "bad.yaml")
    assert info.value.render().splitlines() == [
        "bad.yaml:6:45: error: conv2d 'conv2d_1': output height (H - F + 2P)/S + 1 = (28 - 5 + 2*0)/2 + 1 = 12.5 is not a whole number",
        "  hint: stride: 1 gives 24; or say rounding: floor (12) or ceil (13)",
        "1 error",
    ]


def test_pool_pad_over_half_the_kernel_points_at_the_pad():
    text = "netc: 1\nname: t\ninputs:\n  x: [1, 8]\nlayers:\n  - maxpool1d: {kernel: 2, pad: 2}\n"
    with pytest.raises(SpecError) as info:
        netc.parse(text, "s.yaml")
    assert info.value.render().splitlines()[:2] == [
        "s.yaml:6:33: error: maxpool1d 'maxpool1d_1': pad 2 is more than half the kernel 2: some windows would see only padding",
        "  hint: use pad: 1 or less"]


@pytest.mark.parametrize("attrs, shape", [
    ("{kernel: 2}", ("N", 1, 4, 4)),                                # stride defaults to the kernel
    ("{kernel: 3, stride: 2, rounding: ceil}", ("N", 1, 4, 4)),    # (8-3)/2 = 2.5 -> 4 windows
    ("{kernel: 3, stride: 2, rounding: floor}", ("N", 1, 3, 3)),
    ("{kernel: 3, stride: 2, pad: same}", ("N", 1, 4, 4)),
    ("{kernel: [2, 4], stride: [2, 4]}", ("N", 1, 4, 2)),
    ("{kernel: 2, dilation: 3, stride: 1, rounding: floor}", ("N", 1, 5, 5)),
])
def test_pool2d_shapes(attrs, shape):
    g = netc.parse(f"netc: 1\nname: t\ninputs:\n  x: [1, 8, 8]\nlayers:\n  - avgpool2d: {attrs}\n")
    assert g.node("avgpool2d_1").type.shape == shape
