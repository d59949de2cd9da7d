"""Where a training step's time goes: the kernel-library tier's step, run with a clock read between
ops. The kernels are the ones every step runs and each returns only when its work is done (parallel
ones included), so the time between two reads is that op's time; what is left is Python's dispatch,
a few microseconds per call, which the whole-step tier (jit=True) does not pay."""
from __future__ import annotations

import inspect
import re
import time
from dataclasses import dataclass, field

import numpy as np

_COMMENT = re.compile(r"^(\s*)# (d )?(\S+?)(?::.*)?$")
_PHASES = ("forward", "backward", "zero fills", "update")


@dataclass
class Row:
    node: str
    label: str  # the op as the compiler's table shows it, e.g. "conv 16@3x3"
    ms: dict = field(default_factory=dict)  # phase -> median milliseconds per step

    @property
    def total(self) -> float:
        return sum(self.ms.values())


@dataclass
class Profile:
    name: str
    N: int
    T: int | None
    steps: int
    rows: list  # Row, slowest first
    step_ms: float  # median of the whole timed step (the sum of its rows plus the clock reads)

    def table(self, top=None) -> str:
        total = sum(r.total for r in self.rows) or 1.0
        lines = [f"{self.name}: batch {self.N}{'' if self.T is None else f', length {self.T}'}, "
                 f"median of {self.steps} steps, kernel-library tier: {self.step_ms:.3f} ms per step",
                 f"{'node':<28} {'op':<26} {'forward':>9} {'backward':>9} {'total':>9} {'share':>6}"]
        shown = self.rows if top is None else self.rows[:top]
        for r in shown:
            f, b = r.ms.get("forward", 0.0), r.ms.get("backward", 0.0) + r.ms.get("update", 0.0)
            b += r.ms.get("zero fills", 0.0)
            lines.append(f"{r.node[:28]:<28} {r.label[:26]:<26} {f:>9.3f} {b:>9.3f} {r.total:>9.3f} "
                         f"{100 * r.total / total:>5.1f}%")
        if top is not None and len(self.rows) > top:
            rest = sum(r.total for r in self.rows[top:])
            lines.append(f"{f'... {len(self.rows) - top} more':<55} {'':>9} {'':>9} {rest:>9.3f} "
                         f"{100 * rest / total:>5.1f}%")
        return "\n".join(lines)


def _instrumented(module):
    """The module's train_step with `_tick(node, phase)` before each op's lines, each run of
    gradient-buffer zeroing and the update."""
    src = inspect.getsource(module.train_step)
    out = []
    for line in src.splitlines():
        m = _COMMENT.match(line)
        indent = line[:len(line) - len(line.lstrip())]
        if m:
            phase = "backward" if m.group(2) else "forward"
            out.append(f"{indent}_tick({m.group(3)!r}, {phase!r})")
            continue
        stripped = line.strip()
        if stripped.startswith("fill_value("):
            out.append(f"{indent}_tick('(gradient buffers)', 'zero fills')")
        elif stripped.startswith("loss = "):
            out.append(f"{indent}_tick('(optimizer)', 'update')")
        elif stripped == "return loss":
            out.append(f"{indent}_tick(None, None)")
        out.append(line)
    return "\n".join(out)


def profile(net, inputs=None, N=32, T=None, steps=20, warmup=3, seed=0) -> Profile:
    """Median time per op over `steps` training steps of `net` (a Network whose spec has a loss) on
    `inputs` (default: random ones of batch N and length T). The weights move as training would."""
    from .kernels import optimisation_level
    from .testing import random_inputs

    net._need_loss()
    if inputs is None:
        inputs = random_inputs(net, np.random.default_rng(seed), N=N, T=T or 8)
    arrays, N, T = net._check(inputs, net._needed(net.train_plan))
    _, bufs, _ = net._bufs("train", N, T)
    lr, hyper = net._step_hyper(None, None, N, T)

    samples: dict = {}
    state = {"key": None, "t": 0.0}
    clock = time.perf_counter

    def _tick(node, phase):
        now = clock()
        if state["key"] is not None:
            samples.setdefault(state["key"], [0.0])[-1] += now - state["t"]
        state["key"], state["t"] = ((node, phase) if node is not None else None), clock()

    namespace = dict(vars(net.module), _tick=_tick)
    exec(compile(_instrumented(net.module), f"<netc profile {net.graph.name}>", "exec"), namespace)
    step = namespace["train_step"]
    walls = []
    with optimisation_level():  # the first step compiles, as in Network's own entry points
        for i in range(warmup + steps):
            for v in samples.values():
                v.append(0.0)
            t0 = clock()
            step(*arrays, bufs, net.P, net.G, net.S, i, lr, *hyper)
            walls.append(clock() - t0)
            if i == warmup - 1:
                samples.clear()
    rows = {}
    for (node, phase), v in samples.items():
        label = net.graph.node(node).op.label(net.graph.node(node).attrs) if node in net.graph.g else ""
        row = rows.setdefault(node, Row(node, label))
        row.ms[phase] = row.ms.get(phase, 0.0) + 1e3 * float(np.median(v[-steps:]))
    ordered = sorted(rows.values(), key=lambda r: -r.total)
    return Profile(net.graph.name, N, T, steps, ordered,
                   1e3 * float(np.median(walls[warmup:])))
