"""The workloads W1-W6 (docs: /work/shared/WORKLOADS.md) and their seeded inputs, without PyTorch:
the compile-time subprocesses import only this, so a warm start is not charged for importing torch."""
from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = [  # id, spec, batch, T (sequence length), batch-1 inference measured
    ("W1 mlp-digits", "specs/mlp_digits.yaml", 32, None, True),
    ("W2 lenet5", "specs/lenet5.yaml", 64, None, True),
    ("W3 char-lstm", "specs/char_lstm.yaml", 32, 64, True),
    ("W4 resnet-se", "specs/resnet_se.yaml", 32, None, False),
    ("W5 conv1d-dna", "specs/dna_cnn.yaml", 64, None, False),
    ("W6 autoencoder", "specs/autoencoder_digits.yaml", 64, None, False),
]
SGD = {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}


def load_graph(spec):
    """The workload's graph, trained with the benchmark's SGD whatever its spec says (W3, W5 say Adam)."""
    from netc.frontend import load

    graph = load(str(ROOT / spec))
    graph.train["optimizer"] = ("sgd", dict(SGD))
    return graph


def make_inputs(graph, N, T, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name in graph.inputs:
        t = graph.node(name).type
        shape = tuple(N if d == "N" else T if d == "T" else d for d in t.shape)
        if t.dtype.startswith("int"):
            limit = _id_limit(graph, name)
            out[name] = rng.integers(0, limit, shape).astype(t.dtype)
        else:
            out[name] = rng.random(shape).astype(t.dtype)
    return out


def _id_limit(graph, name):
    for c in graph.g.successors(name):
        node = graph.node(c)
        if node.op.name == "embedding":
            return node.attrs["vocab"]
        if node.op.name == "one_hot":
            return node.attrs["classes"]
        if node.op.name == "softmax_cross_entropy":
            return graph.node(node.inputs[0]).type.shape[-1]
    return 2
