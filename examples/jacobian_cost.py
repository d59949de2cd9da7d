"""Forward or reverse mode for a Jacobian? A measured table of the crossover.

A Jacobian of f: R^n -> R^m costs n JVP passes in forward mode (one column each) and m VJP passes
in reverse mode (one row each). This script times net.jacobian(mode="fwd") and mode="rev" for an
MLP n -> 64 -> 64 -> m (tanh) on one example, as n and m vary, prints the table and writes it to
docs/jacobian_cost.md. `mode="auto"` picks forward when n < m.

    python examples/jacobian_cost.py [--quick]
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

import netc

DOC = Path(__file__).resolve().parent.parent / "docs" / "jacobian_cost.md"
SPEC = """netc: 1
name: jac_{n}_{m}
inputs: {{x: [{n}]}}
outputs: [y]
layers:
  - dense: {{units: 64}}
  - tanh
  - dense: {{units: 64}}
  - tanh
  - dense: {{units: {m}, name: y}}
"""


def best_of(f, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repeats (a smoke test)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/jacobian_cost.md alone")
    args = ap.parse_args(argv)
    sizes = [2, 16, 64] if args.quick else [1, 4, 16, 64, 256]
    repeats = 2 if args.quick else 5
    rows = []
    for n in sizes:
        for m in sizes:
            net = netc.compile(SPEC.format(n=n, m=m), seed=0)
            x = {"x": np.random.default_rng(0).standard_normal((1, n)).astype(np.float32)}
            fwd = net.jacobian(x, "x", "y", mode="fwd")  # compiles both entry points before timing
            rev = net.jacobian(x, "x", "y", mode="rev")
            agree = float(np.abs(fwd - rev).max())
            tf = best_of(lambda: net.jacobian(x, "x", "y", mode="fwd"), repeats)
            tr = best_of(lambda: net.jacobian(x, "x", "y", mode="rev"), repeats)
            rows.append((n, m, tf, tr, agree))
            print(f"n={n:>4} m={m:>4}  fwd {tf * 1e3:8.2f} ms  rev {tr * 1e3:8.2f} ms  "
                  f"faster: {'fwd' if tf < tr else 'rev'}  (|fwd - rev| {agree:.1e})", flush=True)
    table = render(rows, sizes, repeats)
    print()
    print(table)
    if not args.no_write:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(table + "\n")
        print(f"\nwrote {DOC}")
    return 0


def render(rows, sizes, repeats):
    lines = ["# Forward vs reverse mode: the cost of a Jacobian", "",
             "Measured by `python examples/jacobian_cost.py`: the full Jacobian of an MLP "
             "n -> 64 -> 64 -> m (tanh, float32, one example) with `net.jacobian(mode=\"fwd\")` (n JVP "
             "passes) and `mode=\"rev\"` (m VJP passes), best of "
             f"{repeats}, on {platform.machine()} with {platform.python_implementation()} "
             f"{platform.python_version()}. Times in milliseconds; the faster mode is in bold.", "",
             "| n (inputs) | m (outputs) | forward (ms) | reverse (ms) | reverse / forward |",
             "|---:|---:|---:|---:|---:|"]
    for n, m, tf, tr, _ in rows:
        f, r = f"{tf * 1e3:.2f}", f"{tr * 1e3:.2f}"
        f, r = (f"**{f}**", r) if tf < tr else (f, f"**{r}**")
        lines.append(f"| {n} | {m} | {f} | {r} | {tr / tf:.2f} |")
    lines += ["", "Forward mode wins when the inputs are fewer than the outputs and reverse mode when "
              "they are more: each pass costs about the same (a VJP pass runs the forward pass too), so "
              "the crossover sits near n = m. `mode=\"auto\"` picks forward when n < m.",
              "", "A sensitivity study (a prediction's dependence on a few input features, as in "
              "`examples/sensitivity.py`) is the forward-mode case; a gradient of a scalar loss with "
              "respect to many parameters is the reverse-mode case."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
