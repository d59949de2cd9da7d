"""float32 rnn/lstm kernels compute in float32: no `double` math in their own LLVM IR.

Numba will not show the IR of code loaded from its cache, so the kernels are compiled afresh in a
subprocess with an empty NUMBA_CACHE_DIR. Only the kernels' own functions (netc.kernels.recurrent
and recurrent_jvp, helpers included) are checked, not Numba's np.dot wrapper around BLAS. Numba's
inlined `reshape` checks sizes by converting the integer sizes to double and comparing them; those
conversions and comparisons are allowed, since they hold no float values. Anything else with
`double` (fpext, fadd/fmul/.. on double, a double constant, exp.f64) fails.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent('''
    import json, re
    import numpy as np
    import netc
    from netc.lower.emit import run_node
    from netc.kernels import recurrent as R, recurrent_jvp as RJ

    rng = np.random.default_rng(0)
    for op, extra in [("lstm", ", peephole: true"), ("rnn", "")]:
        S = 2 * 2 * (2 if op == "lstm" else 1) * 3
        spec = (f"netc: 1\\ninputs: {{x: [T, 4], s: [{S}]}}\\nlayers: [{{{op}: {{units: 3, layers: 2, "
                f"bidirectional: true, return: last, in: [x, s]{extra}}}}}]\\n")
        g = netc.parse(spec, dtype="float32")
        node = g.node(f"{op}_1")
        params = {k: rng.normal(size=p.shape).astype("float32") for k, p in node.params.items()}
        xs = [rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, S)).astype("float32")]
        dps = {k: rng.normal(size=p.shape).astype("float32") for k, p in params.items()}
        run_node(g, f"{op}_1", xs, params, gy=np.ones((2, 6), "float32"), dxs=[a.copy() for a in xs], dps=dps)

    report = {}
    for mod, name in [(R, n) for n in R.__all__] + [(RJ, n) for n in RJ.__all__]:
        kernel = getattr(mod, name)
        short = mod.__name__.rsplit(".", 1)[1]
        prefix = "_ZN4netc7kernels%d%s" % (len(short), short)
        sigs = [s for s in kernel.signatures if "float32" in str(s[0])]
        assert sigs, name + " was not compiled for float32"
        bad = []
        for sig in sigs:
            ir = kernel.inspect_llvm(sig)
            bodies = re.findall(r'^define [^\\n]*@"?' + prefix + r'[^\\n]*\\n(.*?)^}', ir, re.M | re.S)
            assert bodies, name + ": no function body found in the IR"
            for body in bodies:
                ints = set()  # values that are integers converted to double
                for line in body.splitlines():
                    if "double" not in line:
                        continue
                    m = re.match(r"\\s*(%\\S+) = (?:sitofp|uitofp)(?: nneg)? i\\d+ \\S+ to double$", line)
                    if m:
                        ints.add(m.group(1))
                        continue
                    m = re.match(r"\\s*%\\S+ = fcmp (?:\\w+ )+double (%\\S+), (%\\S+)$", line)  # fast-math flags too
                    if m and m.group(1) in ints and m.group(2) in ints:
                        continue
                    bad.append(line.strip())
        report[short + "." + name] = bad
    print(json.dumps(report))
''')


def test_float32_kernels_have_no_double(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report, "no kernels checked"
    bad = {name: lines[:5] for name, lines in report.items() if lines}
    assert not bad, f"float64 in float32 kernels: {bad}"
