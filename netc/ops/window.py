"""Sliding-window arithmetic shared by convolution and pooling: (W - F + 2P)/S + 1, and its errors.

Conventions, because frameworks disagree on exactly these points:
- `rounding: exact` (the default, the course's rule): (W - F_eff + 2P) must divide by S.
- `rounding: floor` drops the incomplete last window (PyTorch, TensorFlow 'VALID').
- `rounding: ceil` keeps a partial last window, but drops one that would start inside the right
  padding (the Caffe and ONNX rule; PyTorch's ceil_mode does the same).
- `pad: same` picks the padding so that the output is ceil(W/S); an odd total pads the right
  side one more (TensorFlow's 'SAME').
- Dilation D enters as the effective kernel F_eff = D(F - 1) + 1.
"""
from __future__ import annotations

import math

AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
AXIS_SYMBOL = {"length": "L", "height": "H", "width": "W", "depth": "D"}


def same_padding(size, kernel, stride, dilation=1):
    """(left, right) padding that gives an output of ceil(size / stride)."""
    eff = dilation * (kernel - 1) + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def window_count(size, kernel, stride, pad_left, pad_right, dilation, rounding):
    """Output length; 0 when the kernel is larger than the padded input; None when `exact` rounding
    does not divide (the caller explains why)."""
    eff = dilation * (kernel - 1) + 1
    span = size + pad_left + pad_right - eff
    if span < 0:
        return 0
    full = span // stride + 1  # windows that lie wholly inside the padded input
    if rounding == "floor" or span % stride == 0:
        return full
    if rounding == "exact":
        return None
    # ceil: one more, partial, window, but never one that starts in the right padding (Caffe/ONNX)
    return full + 1 if full * stride < size + pad_left else full


def formula(size, kernel, stride, pad, dilation, axis):
    """The course's formula and the same with this layer's numbers, as two strings."""
    sym = AXIS_SYMBOL[axis]
    if dilation == 1:
        general = f"({sym} - F + 2P)/S + 1"
        numbers = f"({size} - {kernel} + 2*{pad})/{stride} + 1"
    else:
        general = f"({sym} - (D(F-1)+1) + 2P)/S + 1"
        numbers = f"({size} - ({dilation}*({kernel}-1)+1) + 2*{pad})/{stride} + 1"
    return general, numbers


def output_sizes(node, sizes, kernel, stride, pad, dilation, rounding, what="output", max_pad=None):
    """Output spatial sizes for one op, raising a located error that shows the arithmetic.

    `max_pad` (pooling) bounds the padding per axis, so that a hint never suggests a pad the op refuses.
    """
    axes = AXES[len(sizes)]
    if pad == "same":
        pads = [same_padding(size, kernel[i], stride[i], dilation[i]) for i, size in enumerate(sizes)]
        # the padding was chosen so that the output is ceil(W/S): that is whole by construction
        rounding = "floor" if rounding == "exact" else rounding
    else:
        pads = [(p, p) for p in pad]
    out = []
    for i, size in enumerate(sizes):
        k, s, d = kernel[i], stride[i], dilation[i]
        left, right = pads[i]
        n = window_count(size, k, s, left, right, d, rounding)
        if n is not None and n > 0:
            out.append(n)
            continue
        eff = d * (k - 1) + 1
        axis = axes[i]
        general, numbers = formula(size, k, s, left, d, axis)
        # pooling's stride, when not written, is its kernel: a kernel fix moves it too
        follows = max_pad is not None and "stride" not in getattr(node, "attr_locs", {}) and stride == kernel
        fixes = suggest(sizes, kernel, stride, [p for p, _ in pads], dilation, rounding, i, max_pad, follows)
        hint = render_fixes(fixes)
        if n == 0:
            shown = f"{k}" if d == 1 else f"D(F-1)+1 = {d}*({k}-1)+1 = {eff}"
            node.fail(f"{what} {axis}: the kernel ({shown}) is larger than the padded input "
                      f"({size} + 2*{left} = {size + left + right}); {general} = {numbers} < 1",
                      hint, attr="kernel")
        value = (size - eff + left + right) / s + 1
        node.fail(f"{what} {axis} {general} = {numbers} = {_fmt(value)} is not a whole number",
                  hint, attr="stride" if s > 1 else "kernel")
    return tuple(out), pads


def _fmt(x):
    return f"{x:.4g}" if not float(x).is_integer() else str(int(x))


def _outputs(sizes, kernel, stride, pads, dilation, rounding, max_pad):
    """Output size per axis, 0 or None where an axis fails (a pad over `max_pad` fails too)."""
    out = []
    for i, size in enumerate(sizes):
        if max_pad is not None and pads[i] > max_pad[i]:
            out.append(None)
        else:
            out.append(window_count(size, kernel[i], stride[i], pads[i], pads[i], dilation[i], rounding))
    return out


def _change(values, i, new):
    """The attribute with axis i changed: first as one number for every axis, when the user's value
    is one number for every axis; a list written per axis keeps its other axes."""
    changed = list(values)
    changed[i] = new
    return ([[new] * len(values)] if len(set(values)) == 1 else []) + [changed]


def suggest(sizes, kernel, stride, pads, dilation, rounding, i, max_pad=None, stride_follows=False):
    """Fixes for axis i: [(attribute, value, output on axis i)], each checked by recomputing every
    axis: axis i works afterwards and no axis that worked before breaks.

    `value` is an int (the same for every axis) or a list (one per axis); a rounding fix is
    ('rounding', 'floor'|'ceil', output). `max_pad` marks pooling, whose pad is at most half its kernel;
    `stride_follows` says the stride was not written and is the kernel.
    """
    sizes, kernel, stride, pads, dilation = map(list, (sizes, kernel, stride, pads, dilation))
    size, k, s, p, d = sizes[i], kernel[i], stride[i], pads[i], dilation[i]
    before = _outputs(sizes, kernel, stride, pads, dilation, rounding, max_pad)
    fixes = []

    def works(kern, strd, pd, rnd):
        if max_pad is not None and any(q > kk // 2 for q, kk in zip(pd, kern)):
            return None  # pooling refuses a pad over half its kernel, on any axis
        after = _outputs(sizes, kern, strd, pd, dilation, rnd, None)
        return after if after[i] and all(after[j] for j, b in enumerate(before) if b) else None

    def offer(attr, candidates):
        """Add the first candidate that works, as one number for every axis if it can be one."""
        for cand in candidates:
            for values in _change({"pad": pads, "stride": stride, "kernel": kernel}[attr], i, cand):
                trial = {"pad": pads, "stride": stride, "kernel": kernel, attr: values}
                if attr == "kernel" and stride_follows:
                    trial["stride"] = values
                result = works(trial["kernel"], trial["stride"], trial["pad"], rounding)
                if result:
                    uniform = len(set(values)) == 1
                    fixes.append((attr, values[0] if uniform else values, result[i]))
                    return

    eff = d * (k - 1) + 1
    top = size + 2 * p
    need = max(0, -(-(eff - size) // 2))  # the least pad that fits the kernel
    # pad: the nearest value that works (smallest change; a larger pad first on a tie); within one
    # stride of the start every remainder has been tried
    if need > p:
        pad_candidates = range(need, need + s + 1)
    else:
        pad_candidates = sorted((q for q in range(max(0, p - s), p + s + 1) if q != p), key=lambda q: (abs(q - p), -q))
    offer("pad", pad_candidates)
    if top - eff >= 0:
        # stride: the divisor of the span nearest to the stride given
        span = top - eff
        divisors = {t for j in range(1, math.isqrt(span) + 1) if span % j == 0 for t in (j, span // j)} if span else {1}
        offer("stride", sorted((t for t in divisors if t != s), key=lambda t: (abs(t - s), t)))
        if rounding == "exact":
            floor = works(kernel, stride, pads, "floor")
            ceil = works(kernel, stride, pads, "ceil")
            if floor and ceil:
                fixes.append(("rounding", "floor", floor[i]))
                fixes.append(("rounding", "ceil", ceil[i]))
    else:
        # kernel: the largest that fits (and divides)
        fits = min(k - 1, (top - 1) // d + 1)
        offer("kernel", range(fits, max(fits - s - 1, 0), -1))
    return fixes


def render_fixes(fixes) -> str | None:
    parts = []
    for attr, value, gives in fixes:
        if attr == "rounding":
            continue
        shown = value if isinstance(value, int) else "[" + ", ".join(map(str, value)) + "]"
        parts.append(f"{attr}: {shown} gives {gives}")
    rounds = {value: gives for attr, value, gives in fixes if attr == "rounding"}
    if rounds:
        if rounds["floor"] == rounds["ceil"]:
            parts.append(f"or say rounding: floor or ceil ({rounds['floor']})")
        else:
            parts.append(f"or say rounding: floor ({rounds['floor']}) or ceil ({rounds['ceil']})")
    return "; ".join(parts) or None
