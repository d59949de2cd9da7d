"""Shared by the float32 IR tests: run a driver that calls kernels in float32 (through their ops'
emitted lines) in a subprocess with an empty NUMBA_CACHE_DIR (Numba will not show the IR of code
loaded from its cache), then search the float32 LLVM IR of every kernel of the given modules for
`double`.

Only functions of the kernel modules themselves are checked (helpers included), not Numba's
np.dot wrapper around BLAS. Numba's inlined `reshape` checks sizes by converting integer sizes to
double and comparing them; those conversions and comparisons hold no float values and are
allowed. Anything else with `double` (fpext, double arithmetic or constants, exp.f64) fails.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ANALYSIS = '''
import importlib as _importlib, json as _json, re as _re, sys as _sys

def _report(modules):
    report = {}
    for mod in modules:
        m = _importlib.import_module("netc.kernels." + mod)
        prefix = "_ZN4netc7kernels%d%s" % (len(mod), mod)
        names = getattr(m, "__all__", None) or [n for n in vars(m) if not n.startswith("_")]
        for name in names:
            kernel = getattr(m, name)
            if not hasattr(kernel, "signatures"):
                continue
            sigs = [s for s in kernel.signatures if "float32" in str(s)]
            if not sigs:
                report[mod + "." + name] = ["not compiled for float32 (add it to the driver)"]
                continue
            bad = []
            for sig in sigs:
                ir = kernel.inspect_llvm(sig)
                bodies = _re.findall(r'^define [^\\n]*@"?' + prefix + r'[^\\n]*\\n(.*?)^}', ir, _re.M | _re.S)
                if not bodies:
                    bad.append("no function body found in the IR")
                for body in bodies:
                    ints = set()  # values that are integers converted to double
                    for line in body.splitlines():
                        if "double" not in line:
                            continue
                        r = _re.match(r"\\s*(%\\S+) = (?:sitofp|uitofp)(?: nneg)? i\\d+ \\S+ to double$", line)
                        if r:
                            ints.add(r.group(1))
                            continue
                        r = _re.match(r"\\s*%\\S+ = fcmp (?:\\w+ )+double (%\\S+), (%\\S+)$", line)
                        if r and r.group(1) in ints and r.group(2) in ints:
                            continue
                        bad.append(line.strip())
            report[mod + "." + name] = bad
    return report

print(_json.dumps(_report(_sys.argv[1].split(","))))
'''


def check_no_double(driver: str, modules, tmp_path, at_least: int):
    """Run `driver` (source that exercises the kernels in float32), then assert that no kernel of
    `modules` has double math in its float32 IR."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    script = textwrap.dedent(driver) + ANALYSIS
    done = subprocess.run([sys.executable, "-c", script, ",".join(modules)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report) >= at_least, f"too few kernels checked: {sorted(report)}"
    bad = {name: lines[:5] for name, lines in report.items() if lines}
    assert not bad, f"float64 in float32 kernels: {bad}"
