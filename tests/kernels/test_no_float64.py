"""float32 kernels compute in float32: no `double` math in their own LLVM IR.

Every kernel of the modules below is run once in float32 through its op's emitted lines (so the
signatures are the ones generated code uses), then its IR is searched for `double`. Numba will
not show the IR of code loaded from its cache, so this runs in a subprocess with an empty
NUMBA_CACHE_DIR. Only functions of the kernel modules themselves are checked (helpers included),
not Numba's np.dot wrapper around BLAS. Numba's inlined `reshape` checks sizes by converting the
integer sizes to double and comparing them; those conversions and comparisons hold no float
values and are allowed. Anything else with `double` (fpext, double arithmetic or constants,
exp.f64) fails.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

MODULES = ["activations", "arith", "shape", "dropout", "embedding", "losses", "dense",
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

    report = {}
    for mod in MODULES:
        m = importlib.import_module("netc.kernels." + mod)
        prefix = "_ZN4netc7kernels%d%s" % (len(mod), mod)
        for name, kernel in vars(m).items():
            if not hasattr(kernel, "signatures") or name.startswith("_"):
                continue
            sigs = [s for s in kernel.signatures if "float32" in str(s)]
            if not sigs:
                report[name] = ["not compiled for float32 (add it to the script)"]
                continue
            bad = []
            for sig in sigs:
                ir = kernel.inspect_llvm(sig)
                bodies = re.findall(r'^define [^\\n]*@"?' + prefix + r'[^\\n]*\\n(.*?)^}', ir, re.M | re.S)
                if not bodies:
                    bad.append("no function body found in the IR")
                for body in bodies:
                    ints = set()  # values that are integers converted to double
                    for line in body.splitlines():
                        if "double" not in line:
                            continue
                        r = re.match(r"\\s*(%\\S+) = (?:sitofp|uitofp)(?: nneg)? i\\d+ \\S+ to double$", line)
                        if r:
                            ints.add(r.group(1))
                            continue
                        r = re.match(r"\\s*%\\S+ = fcmp (?:\\w+ )+double (%\\S+), (%\\S+)$", line)  # fast-math flags too
                        if r and r.group(1) in ints and r.group(2) in ints:
                            continue
                        bad.append(line.strip())
            report[mod + "." + name] = bad
    print(json.dumps(report))
''')


def test_float32_kernels_have_no_double(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", SCRIPT, ",".join(MODULES)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report) > 30, f"too few kernels checked: {sorted(report)}"
    bad = {name: lines[:5] for name, lines in report.items() if lines}
    assert not bad, f"float64 in float32 kernels: {bad}"
