"""float32 kernels of the elementwise, shape, arith, dropout, embedding, loss and dense modules
(forward, VJP, JVP) compute in float32: the driver below runs each once through its op's emitted
lines; _ir.py searches their IR."""
from __future__ import annotations

import textwrap

from _ir import check_no_double

MODULES = ["activations", "arith", "shape", "dropout", "embedding", "losses", "dense", "blas",
           "activations_jvp", "arith_jvp", "shape_jvp", "dropout_jvp", "embedding_jvp", "losses_jvp", "dense_jvp"]

SCRIPT = textwrap.dedent('''
    import importlib, json, re, sys
    import numpy as np
    import netc
    from netc.lower.emit import run_node

    MODULES = sys.argv[1].split(",")
    rng = np.random.default_rng(0)
    INPUTS = ("{x: [4, 6], v: [4], ids: {shape: [3], dtype: int32}, p: [4, 6], t: [4, 6], "
              "lab: {shape: [4], dtype: int32}}")
    LAYERS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "threshold", "softmax", "log_softmax",
              "{maxout: {pieces: 2, axis: 2}}", "dropout", "flatten", "{reshape: {shape: [24]}}",
              "{concat: {in: [x, x], axis: 2}}", "{add: {in: [x, v]}}", "{mul: {in: [x, v]}}",
              "{dense: {units: 3}}", "{dense: {units: 3, bias: false}}",
              "{embedding: {vocab: 5, dim: 2, in: ids}}", "{one_hot: {classes: 5, in: ids}}",
              "{softmax_cross_entropy: {in: [x, lab]}}", "{softmax_cross_entropy: {in: [x, p]}}",
              "{binary_cross_entropy: {in: [x, t]}}", "{binary_cross_entropy: {in: [p, t], from_logits: false}}",
              "{mse: {in: [x, t]}}"]
    arrays = {"x": rng.normal(size=(2, 4, 6)), "v": rng.normal(size=(2, 4)), "p": rng.uniform(0.1, 0.9, (2, 4, 6)),
              "t": rng.uniform(0, 1, (2, 4, 6)), "ids": rng.integers(0, 5, (2, 3)), "lab": rng.integers(0, 6, (2, 4))}
    for i, layer in enumerate(LAYERS):
        g = netc.parse(f"netc: 1\\ninputs: {INPUTS}\\nlayers: [{layer}]\\n", dtype="float32")
        node = [n for n in g.nodes() if n.op.name != "input"][0]
        xs = [arrays[s].astype("int32" if g.node(s).type.dtype == "int32" else "float32") for s in node.inputs]
        params = {k: rng.normal(size=p.shape).astype("float32") for k, p in node.params.items()}
        gy = np.ones((2,) + node.type.shape[1:] if node.type.shape else (), "float32")
        # forward mode too: every input and parameter with a tangent, then the first input's alone
        dxs = [rng.normal(size=x.shape).astype("float32") if x.dtype.kind == "f" else None for x in xs]
        dps = {k: rng.normal(size=p.shape).astype("float32") for k, p in params.items()}
        for training in (False, True):
            run_node(g, node.name, xs, params, gy=gy, training=training, seed=i, dxs=dxs, dps=dps)
        run_node(g, node.name, xs, params, dxs=dxs[:1] + [None] * (len(xs) - 1))

''')


def test_float32_kernels_have_no_double(tmp_path):
    check_no_double(SCRIPT, MODULES, tmp_path, at_least=31)
