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
    """Output length, or None when `exact` rounding does not divide (the caller explains why)."""
    eff = dilation * (kernel - 1) + 1
    span = size + pad_left + pad_right - eff
    if span < 0:
        return 0
    if rounding == "exact":
        return span // stride + 1 if span % stride == 0 else None
    if rounding == "floor":
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad_left:  # ceil: drop a window that starts in the right padding
        out -= 1
    return out


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


def output_sizes(node, sizes, kernel, stride, pad, dilation, rounding, what="output"):
    """Output spatial sizes for one op, raising a located error that shows the arithmetic."""
    axes = AXES[len(sizes)]
    out, pads = [], []
    for i, size in enumerate(sizes):
        k, s, d = kernel[i], stride[i], dilation[i]
        eff = d * (k - 1) + 1
        if pad == "same":
            left, right = same_padding(size, k, s, d)
        else:
            left = right = pad[i]
        pads.append((left, right))
        n = window_count(size, k, s, left, right, d, rounding)
        axis = axes[i]
        general, numbers = formula(size, k, s, left if left == right else f"{left}", d, axis)
        if n == 0:
            node.fail(f"{what} {axis}: the kernel ({eff}) is larger than the padded input "
                      f"({size} + 2*{left} = {size + left + right}); {general} = {numbers} < 1",
                      _too_small_hint(size, eff, left), attr="kernel")
        if n is None:
            value = (size - eff + left + right) / s + 1
            node.fail(f"{what} {axis} {general} = {numbers} = {_fmt(value)} is not a whole number",
                      _exact_hint(size, k, s, left, d), attr="stride" if s > 1 else "kernel")
        out.append(n)
    return tuple(out), pads


def _fmt(x):
    return f"{x:.4g}" if not float(x).is_integer() else str(int(x))


def _too_small_hint(size, eff, pad):
    need = math.ceil((eff - size) / 2)
    return f"use a kernel of at most {size + 2 * pad}, or pad: {need} or more"


def _exact_hint(size, kernel, stride, pad, dilation):
    eff = dilation * (kernel - 1) + 1
    span = size - eff + 2 * pad
    options = []
    for p in range(pad + 1, pad + stride + 1):
        if (size - eff + 2 * p) % stride == 0 and (size - eff + 2 * p) >= 0:
            options.append(f"pad: {p} gives {(size - eff + 2 * p) // stride + 1}")
            break
    for s in sorted(range(1, max(span, 1) + 1), key=lambda s: (abs(s - stride), s)):
        if span >= 0 and span % s == 0 and s != stride:
            options.append(f"stride: {s} gives {span // s + 1}")
            break
    floor = span // stride + 1
    ceil_ = window_count(size, kernel, stride, pad, pad, dilation, "ceil")
    options.append(f"or say rounding: floor ({floor}) or ceil ({ceil_})")
    return "; ".join(options)
