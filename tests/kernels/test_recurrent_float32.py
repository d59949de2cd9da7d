"""float32 rnn and lstm kernels (forward, VJP, JVP) compute in float32: the driver below runs
them once; _ir.py searches their IR."""
from __future__ import annotations

import textwrap

from _ir import check_no_double

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

''')


def test_float32_kernels_have_no_double(tmp_path):
    check_no_double(SCRIPT, ["recurrent", "recurrent_jvp"], tmp_path, at_least=5)
