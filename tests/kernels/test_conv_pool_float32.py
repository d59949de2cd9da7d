"""float32 conv, pool and batchnorm kernels (forward, VJP, JVP) compute in float32: no `double` math
in their own LLVM IR.

Numba will not show the IR of code loaded from its cache, so the kernels are run once in float32
through their ops' emitted lines in a subprocess with an empty NUMBA_CACHE_DIR, then their IR is
searched. Only the functions of netc.kernels.{conv,pool,batchnorm}[_jvp] are checked (helpers such as
im2col included), not Numba's np.dot wrapper around BLAS. Numba's inlined `reshape` checks sizes
by converting the integer sizes to double and comparing them; those hold no float values and are
allowed. Anything else with `double` (fpext, double arithmetic or constants) fails.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent('''
    import importlib, json, re
    import numpy as np
    import netc
    from netc.lower.emit import run_node

    rng = np.random.default_rng(0)
    LAYERS = [("[2, 7]", "{conv1d: {filters: 2, kernel: 3, pad: 1}}"),
              ("[2, 6, 6]", "{conv2d: {filters: 2, kernel: 3, stride: 2, rounding: ceil, bias: false}}"),
              ("[2, 4, 4, 4]", "{conv3d: {filters: 2, kernel: 2}}"),
              ("[2, 6, 6]", "{maxpool2d: {kernel: 3, stride: 2, pad: 1, rounding: ceil}}"),
              ("[2, 6, 6]", "{avgpool2d: {kernel: 3, stride: 2, pad: 1, rounding: ceil, count_include_pad: true}}"),
              ("[2, 6, 6]", "globalmaxpool2d"), ("[2, 6, 6]", "globalavgpool2d"), ("[2, 6, 6]", "batchnorm")]
    for shape, layer in LAYERS:
        g = netc.parse(f"netc: 1\\ninputs: {{x: {shape}}}\\nlayers: [{layer}]\\n", dtype="float32")
        node = [n for n in g.nodes() if n.op.name != "input"][0]
        x = rng.normal(size=(2,) + tuple(json.loads(shape))).astype("float32")
        params = {k: rng.uniform(0.5, 1.5, p.shape).astype("float32") for k, p in node.params.items()}
        gy = np.ones((2,) + node.type.shape[1:], "float32")
        dps = {k: rng.normal(size=p.shape).astype("float32") for k, p in params.items() if node.params[k].trainable}
        for training in (False, True):  # forward, JVP and VJP
            run_node(g, node.name, [x], params, gy=gy, training=training, dxs=[x.copy()], dps=dps)

    report = {}
    for mod in ("conv", "pool", "batchnorm", "conv_jvp", "pool_jvp", "batchnorm_jvp"):
        m = importlib.import_module("netc.kernels." + mod)
        prefix = "_ZN4netc7kernels%d%s" % (len(mod), mod)
        for name, kernel in vars(m).items():
            if not hasattr(kernel, "signatures") or name.startswith("_"):
                continue
            sigs = [s for s in kernel.signatures if "float32" in str(s)]
            if not sigs:
                report[mod + "." + name] = ["not compiled for float32 (add a layer to the script)"]
                continue
            bad = []
            for sig in sigs:
                ir = kernel.inspect_llvm(sig)
                bodies = re.findall(r'^define [^\\n]*@"?' + prefix + r'[^\\n]*\\n(.*?)^}', ir, re.M | re.S)
                if not bodies:
                    bad.append("no function body found in the IR")
                for body in bodies:
                    ints = set()  # names of integers converted to double
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


def test_conv_pool_batchnorm_float32_kernels_have_no_double(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report) >= 25, f"too few kernels checked: {sorted(report)}"
    bad = {name: lines[:5] for name, lines in report.items() if lines}
    assert not bad, f"float64 in float32 kernels: {bad}"
