"""conv1d, conv2d, conv3d: channels-first convolution (N, C, *spatial) -> (N, filters, *spatial')."""
from __future__ import annotations

import math

import numpy as np

from ..kernels import tiles
from ..types import TensorType
from .base import MAX_SIZE, Attr, Op, Param, bilinear_vjp_tangent, expect_fixed, expect_float, expect_rank, register
from .window import output_sizes

INITS = ("glorot_uniform", "he_normal", "normal", "zeros")
LAYOUT = {1: "N x C x L", 2: "N x C x H x W", 3: "N x C x D x H x W"}


class Conv(Op):
    inputs = ("x",)

    # 1. attributes
    def __init__(self, spatial):
        self.spatial = spatial
        self.name = f"conv{spatial}d"
        self.attrs = {
            "filters": Attr("int", low=1, high=MAX_SIZE, doc="number of output channels"),
            "kernel": Attr("ints", low=1, high=MAX_SIZE, doc="window size F"),
            "stride": Attr("ints", 1, low=1, high=MAX_SIZE),
            "pad": Attr("pad", 0, low=0, high=MAX_SIZE),
            "dilation": Attr("ints", 1, low=1, high=MAX_SIZE),
            "bias": Attr("bool", True),
            "rounding": Attr("choice", "exact", choices=("exact", "floor", "ceil")),
            "init": Attr("choice", "he_normal", choices=INITS),
        }

    # 2. shape rule
    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        expect_rank(node, x, (self.spatial + 2,), LAYOUT[self.spatial])
        expect_fixed(node, x, range(1, x.rank), f"{self.name} input")
        a = node.attrs
        sizes, pads = output_sizes(node, x.shape[2:], a["kernel"], a["stride"], a["pad"], a["dilation"],
                                   a["rounding"])
        node.resolved_pads = pads
        return TensorType(x.dtype, ("N", a["filters"]) + sizes)

    # 3. parameters
    def params(self, node, xs):
        a = node.attrs
        channels = xs[0].shape[1]
        window = math.prod(a["kernel"])
        out = {"weight": Param((a["filters"], channels) + a["kernel"], a["init"],
                               fan_in=channels * window, fan_out=a["filters"] * window)}
        if a["bias"]:
            out["bias"] = Param((a["filters"],), "zeros")
        return out

    # 4. reference: a sum over kernel offsets of strided slices, independent of the kernels' im2col
    def reference(self, node, xs, params):
        a = node.attrs
        w = params["weight"]
        windows = window_slices(xs[0], node.resolved_pads, w.shape[2:], a["stride"], a["dilation"],
                                node.type.shape[2:], 0)
        y = sum(np.einsum("nc...,fc->nf...", patch, w[(slice(None), slice(None)) + offset])
                for offset, patch in windows)
        if a["bias"]:
            y = y + params["bias"].reshape((-1,) + (1,) * self.spatial)
        return y.astype(xs[0].dtype)

    # 5. kernels bound: 1-d and 2-d run as 3-d with singleton axes (netc/kernels/conv.py, conv_jvp.py)
    def workspace(self, node, xs, y):
        ck = math.prod(node.params["weight"].shape[1:])
        filters, out = y.shape[1], math.prod(y.shape[2:])
        # the kernels split the batch into this many chunks run on Numba's threads, a column scratch
        # each (the forward's, then the VJPs'). A constant, not the thread count: the cache key does
        # not cover the thread count, and the gradients do not depend on it (the chunks' partial
        # sums add in a fixed order)
        chunks = 4
        ws = {"cols": ((chunks, ck, out), y.dtype)}
        a, channels = node.attrs, xs[0].shape[1]
        padded = math.prod((o - 1) * s + (k - 1) * d + 1 for o, k, s, d in
                           zip(y.shape[2:], a["kernel"], a["stride"], a["dilation"])) * channels
        forward, backward = tiled_forward(node, y.dtype), tiled_backward(node, channels, y.dtype)
        wide = -(-filters // tiles.WIDTH) * tiles.WIDTH  # the tiles' columns: whole vectors
        # the weight gradient's partial sums, one per chunk: F x CK (CK channels-last) tiled by
        # channels, CK x wide tiled by filters, else CK x F
        ws["gw_parts"] = ((chunks, filters * ck) if backward else (chunks, ck * wide)
                          if weight_grad_by_filters(node, channels, y.dtype) else (chunks, ck, filters), y.dtype)
        if weight_grad_by_filters(node, channels, y.dtype):  # gy[n] transposed
            ws["tile_gy"] = ((chunks, out * wide), y.dtype)
        if forward or backward:  # the padded channels-last input (or input gradient), the reordered weights
            ws |= {"tile_in": ((chunks, padded), y.dtype), "tile_weight": ((wide * ck,), y.dtype)}
        if forward:
            ws["tile_out"] = ((chunks, out * wide), y.dtype)
        elif by_rows(node, channels):
            ws |= {"rows_in": ((chunks, padded), y.dtype),  # channels-last, padded
                   "rows_out": ((chunks, out * filters), y.dtype),
                   "rows_weight": ((filters, ck), y.dtype)}
        if backward and flipped_backward(node):  # gy padded channels-last, then gx channels-last
            grown = math.prod(size + k - 1 for size, k in zip(xs[0].shape[2:], a["kernel"]))
            ws |= {"grad_in": ((chunks, grown * filters), y.dtype),
                   "grad_out": ((chunks, math.prod(xs[0].shape[2:]) * channels), y.dtype)}
        return ws

    def emit_forward(self, node, e):
        b = e.p["bias"] if node.attrs["bias"] else "None"
        args = f"{as3d(e.x[0], self.spatial)}, {as3d(e.p['weight'], self.spatial)}, {b}, {as3d(e.y, self.spatial)}"
        if "tile_out" in e.ws:
            return [f"conv_fwd_tiled({args}, {e.ws['tile_in']}, {e.ws['tile_out']}, {e.ws['tile_weight']}, "
                    f"{geometry(node, dilation=False)})"]
        if "rows_in" in e.ws:
            return [f"conv_fwd_rows({args}, {e.ws['cols']}, {e.ws['rows_in']}, {e.ws['rows_out']}, "
                    f"{e.ws['rows_weight']}, {geometry(node)})"]
        return [f"conv_fwd({args}, {e.ws['cols']}, {geometry(node)})"]

    def emit_vjp(self, node, e):
        gy, w, lines = as3d(e.gy, self.spatial), as3d(e.p["weight"], self.spatial), []
        channels, geo = node.params["weight"].shape[1], geometry(node, dilation=False)
        if tiled_backward(node, channels, node.type.dtype):
            if e.gx[0] and flipped_backward(node):
                lines.append(f"conv_vjp_x_flipped({gy}, {w}, {as3d(e.gx[0], self.spatial)}, {e.ws['grad_in']}, "
                             f"{e.ws['grad_out']}, {e.ws['tile_weight']}, {e.accumulate(0)}, "
                             f"{three([p[0] for p in node.resolved_pads], 0)})")
            elif e.gx[0]:
                lines.append(f"conv_vjp_x_tiled({gy}, {w}, {as3d(e.gx[0], self.spatial)}, {e.ws['tile_in']}, "
                             f"{e.ws['tile_weight']}, {e.accumulate(0)}, {geo})")
            if e.gp.get("weight"):
                lines.append(f"conv_vjp_w_tiled({as3d(e.x[0], self.spatial)}, {gy}, "
                             f"{as3d(e.gp['weight'], self.spatial)}, {e.ws['tile_in']}, {e.ws['gw_parts']}, {geo})")
        else:
            if e.gx[0]:
                lines.append(f"conv_vjp_x({gy}, {w}, {as3d(e.gx[0], self.spatial)}, {e.ws['cols']}, "
                             f"{e.accumulate(0)}, {geometry(node)})")
            if e.gp.get("weight") and weight_grad_by_filters(node, channels, node.type.dtype):
                lines.append(f"conv_vjp_w_tiled_t({as3d(e.x[0], self.spatial)}, {gy}, "
                             f"{as3d(e.gp['weight'], self.spatial)}, {e.ws['tile_in']}, {e.ws['tile_gy']}, "
                             f"{e.ws['gw_parts']}, {geo})")
            elif e.gp.get("weight"):
                lines.append(f"conv_vjp_w({as3d(e.x[0], self.spatial)}, {gy}, {as3d(e.gp['weight'], self.spatial)}, "
                             f"{e.ws['cols']}, {e.ws['gw_parts']}, {geometry(node)})")
        if e.gp.get("bias"):
            lines.append(f"conv_vjp_b({gy}, {e.gp['bias']})")
        return lines

    def writes_gradient(self, node, slot):
        return True

    def emit_jvp(self, node, e):
        # dy = conv(dx, W) + conv(x, dW) + db: the first term present writes, the rest add.
        # both build their columns in the first of the forward's column scratches.
        dy, lines = as3d(e.dy, self.spatial), []
        if e.dx[0]:
            lines.append(f"conv_jvp_x({as3d(e.dx[0], self.spatial)}, {as3d(e.p['weight'], self.spatial)}, {dy}, "
                         f"{e.ws['cols']}[0], {geometry(node)})")
        if e.dp.get("weight"):
            lines.append(f"conv_jvp_w({as3d(e.x[0], self.spatial)}, {as3d(e.dp['weight'], self.spatial)}, {dy}, "
                         f"{e.ws['cols']}[0], {bool(lines)}, {geometry(node)})")
        if node.attrs["bias"] and e.dp.get("bias"):
            lines.append(f"conv_jvp_b({e.dp['bias']}, {dy}, {bool(lines)})")
        return lines or [f"fill_value({e.dy}, F(0))"]

    # 7. second order: the convolution is bilinear in (x, W)
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        return bilinear_vjp_tangent(xs, params, dxs, dps, gy, vjp, ("weight",))

    # 6. multiply-adds
    def macs(self, node, xs, y):
        return y.size_per_example() * xs[0].shape[1] * math.prod(node.attrs["kernel"])

    def label(self, a):
        text = f"{self.name} {'x'.join(map(str, a['kernel']))}"
        if any(s != 1 for s in a["stride"]):
            text += f" /{'x'.join(map(str, a['stride']))}"
        if a["pad"] == "same":
            text += " pad same"
        elif any(a["pad"]):
            text += f" pad {'x'.join(map(str, a['pad'])) if len(set(a['pad'])) > 1 else a['pad'][0]}"
        if any(d != 1 for d in a["dilation"]):
            text += f" dil {'x'.join(map(str, a['dilation']))}"
        return text


def _tileable(node, dtype):
    return tiles.ENABLED and np.dtype(dtype) == np.float32 and all(d == 1 for d in node.attrs["dilation"])


def tiled_forward(node, dtype):
    """Whether the forward runs in register tiles (kernels/conv.py, conv_fwd_tiled): on AVX-512, in
    float32, with no dilation. The tiles round the filters up to whole 16-wide vectors, and still won:
    N32-64 forward against columns: W4's stem 3->16 0.22 / 0.29 ms, LeNet's 1->6 5x5 0.37 / 0.44 and
    6->16 0.16 / 0.45, 2->2 at 16x16 0.03 / 0.08, 8->8 0.07 / 0.18."""
    return _tileable(node, dtype)


def tiled_backward(node, channels, dtype):
    """Whether the VJPs run in register tiles (conv_vjp_x_flipped or conv_vjp_x_tiled, and
    conv_vjp_w_tiled): as the forward, with input channels in whole 16-wide vectors."""
    return _tileable(node, dtype) and channels % tiles.WIDTH == 0


def weight_grad_by_filters(node, channels, dtype):
    """Whether the weight gradient runs in tiles over window runs and filters (conv_vjp_w_tiled_t):
    where the channels do not fill whole vectors, and a window row's run (kw * C) fills half of
    one tile's 8 rows or more. N32-64 against columns: W4's stem 3->16 0.24 / 0.32 ms, LeNet's
    6->16 5x5 0.25 / 0.59, W5's 4->64 k8 0.27 / 0.38, 8->8 at 16x16 0.09 / 0.13; LeNet's 1->6 5x5
    (runs of 5) 0.51 / 0.45 stays on columns."""
    return (_tileable(node, dtype) and channels % tiles.WIDTH != 0
            and node.attrs["kernel"][-1] * channels >= 8)


def flipped_backward(node):
    """Whether the tiled input gradient runs as a forward conv of gy with the flipped kernel
    (conv_vjp_x_flipped): stride 1, and left pads of at most kernel - 1."""
    a = node.attrs
    return all(s == 1 for s in a["stride"]) and all(p[0] <= k - 1 for p, k in zip(node.resolved_pads, a["kernel"]))


def by_rows(node, channels):
    """Whether the forward builds rows (kernels/conv.py, conv_fwd_rows) rather than columns: where
    a window's taps along W and C make runs of 16 values or more, with few filters (the GEMM's
    orientation gains) or many channels (the rows' cheaper build gains). Measured, N32 2-d 3x3 on
    2 threads, rows / columns: 16->16 at 32x32 0.86-0.9, 32->32 at 16x16 0.76, 64->64 at 8x8 0.88,
    LeNet's 6->16 5x5 0.67; against 1.44 for 3->16 3x3, 2.0 for LeNet's 1->6 5x5, 1.25 for a
    4->64 conv1d k8 over 200 and 2.3 for a 1x1 stride-2 projection (rows copy the unused input)."""
    a = node.attrs
    run = channels * (a["kernel"][-1] if a["dilation"][-1] == 1 else 1)
    return math.prod(a["kernel"]) > 1 and run >= 16 and (a["filters"] <= 32 or channels >= 16)


def window_slices(x, pads, kernel, stride, dilation, out, fill):
    """(offset, x[:, :, window offset]) for each kernel offset: the N x C x *out values each tap sees.

    x is padded with `fill` by the resolved pads, and further on the right where a window
    hangs past the padded input (rounding: ceil), so every slice has the output's size.
    """
    widths = [(0, 0), (0, 0)]
    for size, (left, right), k, s, d, o in zip(x.shape[2:], pads, kernel, stride, dilation, out):
        need = (o - 1) * s + d * (k - 1) + 1 - (size + left)
        widths.append((left, max(right, need, 0)))
    xp = np.pad(x, widths, constant_values=fill)
    for offset in np.ndindex(*kernel):
        index = tuple(slice(i * d, i * d + (o - 1) * s + 1, s) for i, d, s, o in zip(offset, dilation, stride, out))
        yield offset, xp[(slice(None), slice(None)) + index]


def as3d(name, spatial):
    """Source text viewing an N x C x *spatial array as N x C x D x H x W (singleton axes in front)."""
    if spatial == 3:
        return name
    dims = [f"{name}.shape[{i}]" for i in range(spatial + 2)]
    return f"{name}.reshape({', '.join(dims[:2] + ['1'] * (3 - spatial) + dims[2:])})"


def flat(name):
    """Source text viewing an N x C x ... array as N x C x S."""
    return f"{name}.reshape({name}.shape[0], {name}.shape[1], -1)"


def three(values, fill):
    """Source text of a (d, h, w) tuple: `values` for the last axes, `fill` for singleton ones."""
    return repr((fill,) * (3 - len(values)) + tuple(values))


def geometry(node, dilation=True):
    """Source text of the stride, left pad and dilation tuples the kernels take (the tiled ones
    take no dilation)."""
    a = node.attrs
    text = f"{three(a['stride'], 1)}, {three([p[0] for p in node.resolved_pads], 0)}"
    return f"{text}, {three(a['dilation'], 1)}" if dilation else text


for _spatial in (1, 2, 3):
    register(Conv(_spatial))
