"""Run a netc graph with PyTorch, op by op, with netc's parameters: the independent reference that
tests compare values and gradients against, and the eager baseline the benchmarks time.

PyTorch is optional (`pip install torch==2.13.0`); nothing in netc's core imports this module.
"""
from __future__ import annotations

import numpy as np

from . import Unsupported

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - exercised where torch is missing
    torch = None


def available() -> bool:
    return torch is not None


class TorchGraph:
    """The graph as a function of torch tensors. `params` maps 'node.param' -> tensor."""

    def __init__(self, graph, random_ok=False):
        if torch is None:
            raise Unsupported("PyTorch is not installed")
        self.graph = graph
        self.random_ok = random_ok  # dropout draws PyTorch's own masks (benchmarks), else refuses
        self.dtype = getattr(torch, graph.dtype)

    def tensors_from(self, params: dict, requires_grad=True) -> dict:
        out = {}
        trainable = {f"{n.name}.{k}" for n in self.graph.nodes() for k, p in n.params.items() if p.trainable}
        for k, v in params.items():
            t = torch.tensor(np.array(v), dtype=self.dtype)
            t.requires_grad_(requires_grad and k in trainable)
            out[k] = t
        return out

    def run(self, inputs: dict, params: dict, training=False, only=None) -> dict:
        """Values of every node (or of those `only` needs); inputs may be numpy arrays or tensors."""
        import networkx as nx

        values = {}
        needed = None
        if only is not None:
            needed = set(only).union(*(nx.ancestors(self.graph.g, o) for o in only))
        for name in self.graph.order:
            if needed is not None and name not in needed:
                continue
            node = self.graph.node(name)
            if node.op.name == "input":
                v = inputs[name]
                values[name] = v if isinstance(v, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(v))
                continue
            xs = [values[s] for s in node.inputs]
            p = {k: params[f"{name}.{k}"] for k in node.params}
            values[name] = self.op(node, xs, p, training)
        return values

    def total_loss(self, values):
        return sum(self.graph.node(n).weight * values[n] for n in self.graph.losses)

    # one op -----------------------------------------------------------------------------------
    def op(self, node, xs, p, training):
        a, name = node.attrs, node.op.name
        x = xs[0] if xs else None
        simple = {"identity": lambda: x, "sigmoid": lambda: torch.sigmoid(x), "tanh": lambda: torch.tanh(x),
                  "relu": lambda: torch.relu(x)}
        if name in simple:
            return simple[name]()
        if name == "leaky_relu":
            return F.leaky_relu(x, a["slope"])
        if name == "elu":
            return F.elu(x, a["alpha"])
        if name == "threshold":
            return (x >= 0).to(x.dtype)
        if name == "softmax":
            return torch.softmax(x, a["axis"])
        if name == "log_softmax":
            return torch.log_softmax(x, a["axis"])
        if name == "maxout":
            axis = a["axis"] % x.dim()
            return x.unflatten(axis, (x.shape[axis] // a["pieces"], a["pieces"])).amax(axis + 1)
        if name == "dense":
            y = x @ p["weight"]
            return y + p["bias"] if "bias" in p else y
        if name.startswith("conv"):
            d = node.op.spatial
            pads = getattr(node, "resolved_pads", None) or [(q, q) for q in a["pad"]]
            conv = (F.conv1d, F.conv2d, F.conv3d)[d - 1]
            if all(left == right for left, right in pads):  # as a PyTorch user writes it: padding=
                return conv(x, p["weight"], p.get("bias"), a["stride"], [left for left, _ in pads], a["dilation"])
            flat = [v for lr in reversed(pads) for v in lr]
            return conv(F.pad(x, flat), p["weight"], p.get("bias"), a["stride"], 0, a["dilation"])
        if name.startswith(("maxpool", "avgpool")):
            return self._pool(node, x)
        if name.startswith("global"):
            dims = tuple(range(2, x.dim()))
            return x.amax(dims) if "max" in name else x.mean(dims)
        if name == "flatten":
            return x.reshape(x.shape[0], -1)
        if name == "reshape":
            return x.reshape((x.shape[0],) + tuple(a["shape"]))
        if name == "concat":
            return torch.cat(xs, a["axis"])
        if name in ("add", "mul"):
            u, v = xs
            while u.dim() < v.dim():
                u = u.unsqueeze(-1)
            while v.dim() < u.dim():
                v = v.unsqueeze(-1)
            return u + v if name == "add" else u * v
        if name == "dropout":
            if training and a["rate"] > 0 and self.random_ok:
                return F.dropout(x, a["rate"], True)
            if training and a["rate"] > 0:
                raise Unsupported("dropout masks differ between frameworks; compare in eval mode")
            return x
        if name == "batchnorm":
            return F.batch_norm(x, p["running_mean"], p["running_var"], p["gamma"], p["beta"], training,
                                a["momentum"], a["eps"])
        if name == "embedding":
            return F.embedding(x.long(), p["table"])
        if name == "one_hot":
            return F.one_hot(x.long(), a["classes"]).to(self.dtype)
        if name in ("rnn", "lstm"):
            return self._recurrent(node, xs, p)
        if name == "softmax_cross_entropy":
            logits, labels = xs
            C = logits.shape[-1]
            if labels.dtype in (torch.int32, torch.int64):
                return F.cross_entropy(logits.reshape(-1, C), labels.reshape(-1).long())
            return -(labels * torch.log_softmax(logits, -1)).sum(-1).mean()
        if name == "binary_cross_entropy":
            z, y = xs
            if a["from_logits"]:
                return F.binary_cross_entropy_with_logits(z, y)
            return F.binary_cross_entropy(z.clamp(1e-7, 1 - 1e-7), y)
        if name == "mse":
            return F.mse_loss(xs[0], xs[1])
        raise Unsupported(f"no PyTorch equivalent for {name}")

    def _pool(self, node, x):
        a = node.attrs
        d = node.op.spatial
        pads = getattr(node, "resolved_pads", None) or [(q, q) for q in a["pad"]]
        if any(left != right for left, right in pads) or any(v != 1 for v in a["dilation"]) and "avg" in node.op.name:
            raise Unsupported("asymmetric padding or dilated average pooling")
        pad = [left for left, _ in pads]
        ceil = a["rounding"] == "ceil"
        if node.op.kind == "max":
            fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[d - 1]
            return fn(x, a["kernel"], a["stride"], pad, a["dilation"], ceil_mode=ceil)
        fn = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[d - 1]
        return fn(x, a["kernel"], a["stride"], pad, ceil_mode=ceil, count_include_pad=a["count_include_pad"])

    def _recurrent(self, node, xs, p):
        a = node.attrs
        if a.get("peephole"):
            raise Unsupported("PyTorch's LSTM has no peephole connections")
        x = xs[0]
        H, L, dirs = a["units"], a["layers"], 2 if a["bidirectional"] else 1
        N = x.shape[0]
        weights = []
        for prefix, _ in node.op.cells(a, x.shape[2]):
            zero = torch.zeros_like(p[prefix + "b"])
            weights += [p[prefix + "wx"].t(), p[prefix + "wh"].t(), p[prefix + "b"], zero]
        k = 2 if node.op.name == "lstm" else 1
        if len(xs) > 1:
            s = xs[1].reshape(N, k, L * dirs, H).permute(1, 2, 0, 3)
            state = [s[i].contiguous() for i in range(k)]
        else:
            state = [torch.zeros(L * dirs, N, H, dtype=x.dtype) for _ in range(k)]
        if node.op.name == "lstm":
            out, h, c = torch.lstm(x, tuple(state), weights, True, L, 0.0, False, a["bidirectional"], True)
            finals = [h, c]
        else:
            fn = torch.rnn_tanh if a["activation"] == "tanh" else torch.rnn_relu
            out, h = fn(x, state[0], weights, True, L, 0.0, False, a["bidirectional"], True)
            finals = [h]
        if a["return"] == "sequence":
            return out
        if a["return"] == "last":
            return torch.cat([h[-dirs + i] for i in range(dirs)], -1)
        return torch.cat([f.permute(1, 0, 2).reshape(N, -1) for f in finals], -1)
