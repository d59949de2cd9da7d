"""Property tests for gradients: hypothesis strategies and `check_grads`, for netc's own tests and yours.

    from hypothesis import given, settings
    import netc, netc.testing as nt

    @settings(max_examples=8, deadline=None)
    @given(nt.specs())
    def test_my_ops_differentiate(text):
        nt.check_grads(netc.compile(text, dtype="float64"))

Strategies:
  op_cases(name=None)  a one-op network for a registered op (valid attributes and shapes), as a Case
  specs()              YAML text of a random valid network: a chain or a small DAG of registered ops
  inputs_for(net)      a dict of input arrays for a compiled network (away from kinks, valid ids)
nudge_zeros(arrays, names, rng) moves exactly-zero parameter entries (fresh biases) off 0, as
check_grads does for its check: a zero bias after an all-cut relu puts a kink under the point.

`check_grads(net)` runs, for one random direction v over the float inputs and trainable parameters
and one random cotangent u over the outputs:
  fwd  every node's JVP tangent (one compiled jvp pass) against central differences of the
       forward pass along v;
  rev  each parameter's (and input's) <J^T u, v_k> (one compiled vjp pass) against central
       differences of <u, f> along v_k;
  dot  the dot-product test <u, J v> = <J^T u, v>: for the whole network, and for each node alone
       on the activations the network computed (which names the op that is wrong);
  hvp  (order=2) <u, H v> from net.hvp against second differences of the loss, and H's symmetry.
A failure raises AssertionError naming the op, the node, the mode, the order and the dtype, and
which side is autodiff and which is numeric.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace

import numpy as np

from .diff.forward import differentiable_slots
from .ops.base import REGISTRY

try:  # hypothesis is a test dependency; check_grads works without it
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    st = None

TAU = 1e-3  # check_grads measures rounding by moving its points by TAU times the step
TOLERANCES = {"float64": dict(rtol=1e-6, atol=1e-8), "float32": dict(rtol=2e-2, atol=2e-3)}
HVP_TOLERANCES = {"float64": dict(rtol=1e-3, atol=1e-6)}  # second differences: h^2 in the denominator
HVP_SYMMETRY = dict(rtol=1e-9, atol=1e-12)  # both sides exact (forward-over-reverse): rounding only


# -- inputs ---------------------------------------------------------------------------------------

def _distinct(rng, shape, low=-2.0, high=2.0):
    """Values on a shuffled grid: no two equal (no max-pool or maxout ties) and, for a range around
    0, none within half a grid step of it (relu, leaky relu, elu, threshold kinks); a jitter of at
    most 5% of a step keeps the values from looking like a grid."""
    n = max(1, math.prod(shape))
    m = n + n % 2  # an even count puts 0 of a symmetric range midway between two points
    step = (high - low) / m
    grid = low + step * (np.arange(m) + 0.5)
    vals = rng.permutation(grid)[:n] + rng.uniform(-0.05, 0.05, n) * step
    return vals.reshape(shape)


def _role(graph, name):
    """How an input is read: 'ids' (with its limit), 'prob', 'labels01', 'probs' or 'float'."""
    g = graph.g
    limit, role = None, "float"
    for consumer in g.successors(name):
        node = graph.node(consumer)
        slots = [i for i, s in enumerate(node.inputs) if s == name]
        op = node.op.name
        if op == "embedding":
            limit = min(limit or 1 << 30, node.attrs["vocab"])
        elif op == "one_hot":
            limit = min(limit or 1 << 30, node.attrs["classes"])
        elif op == "softmax_cross_entropy":
            if 1 in slots and graph.node(name).type.is_float:
                role = "probs"
            elif 1 in slots:
                limit = min(limit or 1 << 30, graph.node(node.inputs[0]).type.shape[-1])
        elif op == "binary_cross_entropy":
            if 0 in slots and not node.attrs["from_logits"]:
                role = "prob"
            elif 1 in slots and role == "float":
                role = "labels01"
    if not graph.node(name).type.is_float:
        return "ids", limit or 2
    return role, None


def random_inputs(graph, rng, N=2, T=3) -> dict:
    """Inputs for `graph` (a Graph or a Network) with batch N and sequence length T: float values
    away from kinks and ties, probabilities where a loss expects them, ids inside their tables."""
    graph = getattr(graph, "graph", graph)
    out = {}
    for name in graph.inputs:
        t = graph.node(name).type
        shape = tuple(N if d == "N" else T if d == "T" else d for d in t.shape)
        role, limit = _role(graph, name)
        if role == "ids":
            out[name] = rng.integers(0, limit, shape).astype(t.dtype)
        elif role == "prob":
            out[name] = _distinct(rng, shape, 0.1, 0.9).astype(t.dtype)
        elif role == "labels01":
            out[name] = rng.uniform(0, 1, shape).astype(t.dtype)
        elif role == "probs":
            z = rng.standard_normal(shape)
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            out[name] = (e / e.sum(axis=-1, keepdims=True)).astype(t.dtype)
        else:
            out[name] = _distinct(rng, shape).astype(t.dtype)
    return out


def inputs_for(net, N=None, T=None):
    """Strategy: input dicts for a compiled network (batch N in 2..4 and T in 2..4 unless given)."""
    return st.tuples(st.integers(0, 2**32 - 1), st.just(N) if N else st.integers(2, 4),
                     st.just(T) if T else st.integers(2, 4)).map(
        lambda a: random_inputs(net, np.random.default_rng(a[0]), a[1], a[2]))


# -- per-op cases ---------------------------------------------------------------------------------

@dataclass
class Case:
    """A one-op network: `spec` is its YAML text; the op's node is named 'op' (a loss: 'loss')."""

    op: str
    attrs: dict
    inputs: dict  # input name -> (example shape, dtype)
    layers: list = field(default_factory=list)
    loss: dict | None = None

    @property
    def node(self) -> str:
        return "loss" if self.loss else "op"

    @property
    def spec(self) -> str:
        return render(f"case_{self.op}", self.inputs, self.layers, self.loss,
                      outputs=None if self.loss else ["op"])

    def __repr__(self):
        return f"Case({self.op}, {self.attrs}, inputs={self.inputs})"


def render(name, inputs, layers, loss=None, outputs=None) -> str:
    """A spec as YAML text (flow mappings in JSON syntax, which YAML reads as is)."""
    lines = ["netc: 1", f"name: {name}", "inputs:"]
    for k, (shape, dtype) in inputs.items():
        lines.append(f"  {k}: " + (json.dumps(list(shape)) if dtype == "float" else
                                   json.dumps({"shape": list(shape), "dtype": dtype})))
    if outputs:
        lines.append(f"outputs: {json.dumps(outputs)}")
    lines.append("layers:")
    for op, attrs in layers:
        lines.append(f"  - {op}: {json.dumps(attrs)}")
    if loss:
        lines.append(f"loss: {json.dumps(loss)}")
    return "\n".join(lines) + "\n"


def _sizes(draw, rank, low=1, high=4):
    return [draw(st.integers(low, high)) for _ in range(rank)]


def _window(draw, sizes, pool=False):
    """Kernel, stride, pad, dilation per axis, with an output of at least 1 under rounding floor."""
    kernel, stride, pad, dilation = [], [], [], []
    for s in sizes:
        k = draw(st.integers(1, min(3, s)))
        d = draw(st.integers(1, 2)) if not pool and (k - 1) * 2 + 1 <= s else 1
        p = draw(st.integers(0, k // 2 if pool else 1))
        kernel.append(k), stride.append(draw(st.integers(1, 2))), pad.append(p), dilation.append(d)
    return kernel, stride, pad, dilation


def _case(draw, name):
    op = REGISTRY[name]
    F = "float"
    if name in ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "threshold", "dropout", "softmax",
                "log_softmax", "batchnorm"):
        shape = _sizes(draw, draw(st.integers(1, 3)))
        attrs = {}
        if name == "leaky_relu":
            attrs["slope"] = draw(st.sampled_from([0.0, 0.1, 0.3]))
        elif name == "elu":
            attrs["alpha"] = draw(st.sampled_from([0.5, 1.0, 1.5]))
        elif name == "dropout":
            attrs["rate"] = draw(st.sampled_from([0.0, 0.25, 0.5]))
        elif name in ("softmax", "log_softmax"):
            attrs["axis"] = draw(st.sampled_from([-1] + list(range(1, len(shape) + 1))))
        elif name == "batchnorm":
            attrs["eps"] = draw(st.sampled_from([1e-5, 1e-3]))
        return Case(name, attrs, {"x": (shape, F)}, [(name, dict(attrs, name="op"))])
    if name == "maxout":
        pieces = draw(st.integers(1, 3))
        shape = [pieces * draw(st.integers(1, 3))] + _sizes(draw, draw(st.integers(0, 2)))
        attrs = {"pieces": pieces, "axis": 1}
        return Case(name, attrs, {"x": (shape, F)}, [(name, dict(attrs, name="op"))])
    if name == "dense":
        shape = draw(st.sampled_from([[draw(st.integers(1, 5))], ["T", draw(st.integers(1, 4))]]))
        attrs = {"units": draw(st.integers(1, 4)), "bias": draw(st.booleans())}
        return Case(name, attrs, {"x": (shape, F)}, [(name, dict(attrs, name="op"))])
    if name in ("add", "mul"):
        a = _sizes(draw, draw(st.integers(1, 3)))
        b = [d if draw(st.booleans()) else 1 for d in a][:draw(st.integers(1, len(a)))]
        if draw(st.booleans()):
            a, b = b, a
        return Case(name, {}, {"a": (a, F), "b": (b, F)}, [(name, {"in": ["a", "b"], "name": "op"})])
    if name == "concat":
        rank, k = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        rest = _sizes(draw, rank - 1)
        ins = {f"x{i}": ([draw(st.integers(1, 3))] + rest, F) for i in range(k)}
        return Case(name, {"axis": 1}, ins, [(name, {"in": list(ins), "axis": 1, "name": "op"})])
    if name in ("flatten", "reshape"):
        shape = _sizes(draw, draw(st.integers(1, 3)))
        size = math.prod(shape)
        attrs = {}
        if name == "reshape":
            k = draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0]))
            attrs["shape"] = draw(st.sampled_from([[size], [k, -1], [-1, k]]))
        return Case(name, attrs, {"x": (shape, F)}, [(name, dict(attrs, name="op"))])
    if name.startswith(("conv", "maxpool", "avgpool")):
        d = op.spatial
        sizes = _sizes(draw, d, 2, 5 if d < 3 else 4)
        channels = draw(st.integers(1, 2))
        kernel, stride, pad, dilation = _window(draw, sizes, pool=not name.startswith("conv"))
        attrs = {"kernel": kernel, "stride": stride, "pad": pad, "dilation": dilation, "rounding": "floor"}
        if name.startswith("conv"):
            attrs.update(filters=draw(st.integers(1, 3)), bias=draw(st.booleans()))
        elif name.startswith("avg"):
            attrs["count_include_pad"] = draw(st.booleans())
        return Case(name, attrs, {"x": ([channels] + sizes, F)}, [(name, dict(attrs, name="op"))])
    if name.startswith("global"):
        shape = [draw(st.integers(1, 3))] + _sizes(draw, op.spatial, 1, 4)
        return Case(name, {}, {"x": (shape, F)}, [(name, {"name": "op"})])
    if name in ("embedding", "one_hot"):
        shape = draw(st.sampled_from([[], ["T"], [2]]))
        attrs = ({"vocab": draw(st.integers(2, 6)), "dim": draw(st.integers(1, 3))} if name == "embedding"
                 else {"classes": draw(st.integers(2, 5))})
        return Case(name, attrs, {"ids": (shape, "int32")}, [(name, dict(attrs, name="op"))])
    if name in ("rnn", "lstm"):
        units = draw(st.integers(1, 3))
        attrs = {"units": units, "layers": draw(st.integers(1, 2)), "bidirectional": draw(st.booleans()),
                 "return": draw(st.sampled_from(["sequence", "last", "state"]))}
        if name == "rnn":
            attrs["activation"] = draw(st.sampled_from(["tanh", "relu"]))
        else:
            attrs["peephole"] = draw(st.booleans())
        ins = {"x": (["T", draw(st.integers(1, 3))], F)}
        layer = dict(attrs, name="op", **{"in": "x"})
        if draw(st.booleans()):
            ins["s"] = ([op.state_size(attrs)], F)
            layer["state"] = "s"
        return Case(name, attrs, ins, [(name, layer)])
    if op.is_loss:
        seq = draw(st.booleans())
        classes = draw(st.integers(2, 4))
        shape = (["T"] if seq else []) + [classes]
        pre = [("identity", {"name": "pre", "in": "x"})]
        if name == "softmax_cross_entropy":
            ids = draw(st.booleans())
            lab = ((["T"] if seq else []), "int32") if ids else (shape, F)
            return Case(name, {}, {"x": (shape, F), "label": lab}, pre,
                        {name: {"logits": "pre", "labels": "label"}})
        if name == "binary_cross_entropy":
            attrs = {"from_logits": draw(st.booleans())}
            return Case(name, attrs, {"x": (shape, F), "label": (shape, F)}, pre,
                        {name: dict(attrs, logits="pre", labels="label")})
        return Case(name, {}, {"x": (shape, F), "label": (shape, F)}, pre,
                    {name: {"pred": "pre", "target": "label"}})
    raise NotImplementedError(f"netc.testing has no strategy for op '{name}'")


# ops with a per-op strategy: every registered op but `input` (completeness test checks this)
STRATEGY_OPS = tuple(sorted(n for n in REGISTRY if n != "input"))


def op_cases(name=None):
    """Strategy: a Case (one-op network) for op `name`, or for any registered op."""
    names = [name] if name else list(STRATEGY_OPS)
    for n in names:
        if n not in STRATEGY_OPS:
            raise ValueError(f"no strategy for op '{n}'")
    return st.sampled_from(names).flatmap(lambda n: st.composite(lambda draw: _case(draw, n))())


def has_strategy(name) -> bool:
    return name in STRATEGY_OPS


# -- random specs ---------------------------------------------------------------------------------

ELEMENTWISE = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu")


def _spec(draw, max_layers, loss):
    F = "float"
    start = draw(st.sampled_from(["vector", "sequence", "ids", "image1d", "image2d", "image3d"]))
    inputs, layers = {}, []
    names = iter(f"l{i}" for i in range(1000))

    def emit(op, attrs, src):
        name = next(names)
        layers.append((op, dict(attrs, name=name, **{"in": src})))
        return name

    if start == "vector":
        inputs["x"] = ([draw(st.integers(1, 5))], F)
        cur, shape = "x", [inputs["x"][0][0]]
    elif start == "sequence":
        inputs["x"] = (["T", draw(st.integers(1, 4))], F)
        cur, shape = "x", list(inputs["x"][0])
    elif start == "ids":
        inputs["x"] = (["T"], "int32")
        if draw(st.booleans()):
            dim = draw(st.integers(1, 3))
            cur = emit("embedding", {"vocab": draw(st.integers(2, 6)), "dim": dim}, "x")
        else:
            dim = draw(st.integers(2, 4))
            cur = emit("one_hot", {"classes": dim}, "x")
        shape = ["T", dim]
    else:
        d = int(start[5])
        sizes = _sizes(draw, d, 2, 5 if d < 3 else 3)
        shape = [draw(st.integers(1, 2))] + sizes
        inputs["x"] = (shape, F)
        cur = "x"
    for _ in range(draw(st.integers(1, max_layers))):
        fixed = all(isinstance(s, int) for s in shape)
        options = ["elementwise", "softmax", "dropout", "branch"]
        if isinstance(shape[0], int):
            options += ["batchnorm", "maxout", "concat"]
        if len(shape) in (1, 2) and isinstance(shape[-1], int):
            options.append("dense")
        if len(shape) == 2 and shape[0] == "T":
            options += ["rnn", "lstm"]
        if fixed and len(shape) in (2, 3, 4):
            options += ["conv", "pool", "globalpool"]
        if fixed and len(shape) >= 2:
            options += ["flatten", "reshape"]
        kind = draw(st.sampled_from(options))
        if kind == "elementwise":
            cur = emit(draw(st.sampled_from(ELEMENTWISE)), {}, cur)
        elif kind == "softmax":
            cur = emit(draw(st.sampled_from(["softmax", "log_softmax"])), {"axis": -1}, cur)
        elif kind == "dropout":
            cur = emit("dropout", {"rate": 0.5}, cur)
        elif kind == "batchnorm":
            cur = emit("batchnorm", {}, cur)
        elif kind == "maxout":
            pieces = draw(st.sampled_from([k for k in (1, 2, 3) if shape[0] % k == 0]))
            cur = emit("maxout", {"pieces": pieces, "axis": 1}, cur)
            shape = [shape[0] // pieces] + shape[1:]
        elif kind == "dense":
            units = draw(st.integers(1, 5))
            cur = emit("dense", {"units": units}, cur)
            shape = shape[:-1] + [units]
        elif kind in ("rnn", "lstm"):
            units = draw(st.integers(1, 3))
            ret = draw(st.sampled_from(["sequence", "last"]))
            cur = emit(kind, {"units": units, "return": ret, "bidirectional": draw(st.booleans())}, cur)
            h = units * (2 if layers[-1][1]["bidirectional"] else 1)
            shape = ["T", h] if ret == "sequence" else [h]
        elif kind == "conv":
            d = len(shape) - 1
            kernel, stride, pad, dilation = _window(draw, shape[1:])
            filters = draw(st.integers(1, 3))
            cur = emit(f"conv{d}d", {"filters": filters, "kernel": kernel, "stride": stride, "pad": pad,
                                     "dilation": dilation, "rounding": "floor"}, cur)
            shape = [filters] + [(s + 2 * p - dl * (k - 1) - 1) // st_ + 1
                                 for s, k, st_, p, dl in zip(shape[1:], kernel, stride, pad, dilation)]
        elif kind == "pool":
            d = len(shape) - 1
            kernel, stride, pad, _ = _window(draw, shape[1:], pool=True)
            cur = emit(f"{draw(st.sampled_from(['max', 'avg']))}pool{d}d",
                       {"kernel": kernel, "stride": stride, "pad": pad, "rounding": "floor"}, cur)
            shape = [shape[0]] + [(s + 2 * p - k) // st_ + 1 for s, k, st_, p in zip(shape[1:], kernel, stride, pad)]
        elif kind == "globalpool":
            cur = emit(f"global{draw(st.sampled_from(['max', 'avg']))}pool{len(shape) - 1}d", {}, cur)
            shape = shape[:1]
        elif kind == "flatten":
            cur = emit("flatten", {}, cur)
            shape = [math.prod(shape)]
        elif kind == "reshape":
            size = math.prod(shape)
            k = draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0]))
            cur = emit("reshape", {"shape": [k, -1]}, cur)
            shape = [k, size // k]
        elif kind == "branch":  # a residual: f(x) + x or f(x) * x
            side = emit(draw(st.sampled_from(ELEMENTWISE)), {}, cur)
            cur = emit(draw(st.sampled_from(["add", "mul"])), {}, [side, cur])
        elif kind == "concat":
            side = emit(draw(st.sampled_from(ELEMENTWISE)), {}, cur)
            cur = emit("concat", {"axis": 1}, [cur, side])
            shape = [2 * shape[0]] + shape[1:]
    lossdef = None
    if loss and draw(st.booleans()):
        kind = draw(st.sampled_from(["mse", "softmax_cross_entropy", "binary_cross_entropy"]))
        if kind == "softmax_cross_entropy" and len(shape) in (1, 2) and isinstance(shape[-1], int):
            inputs["label"] = (shape[:-1], "int32")
            lossdef = {kind: {"logits": cur, "labels": "label"}}
        elif kind == "binary_cross_entropy":
            inputs["label"] = (shape, F)
            lossdef = {kind: {"logits": cur, "labels": "label"}}
        else:
            inputs["label"] = (shape, F)
            lossdef = {"mse": {"pred": cur, "target": "label"}}
    return render("random_spec", inputs, layers, lossdef, outputs=[cur])


def specs(max_layers=4, loss=True):
    """Strategy: YAML text of a random valid spec, a chain or a small DAG (residual add/mul, concat)
    of registered ops with consistent shapes, optionally ending in a loss."""
    return st.composite(lambda draw: _spec(draw, max_layers, loss))()


# -- check_grads ----------------------------------------------------------------------------------

@dataclass
class Row:
    mode: str  # fwd | rev | dot | hvp
    what: str  # a node, 'node.param', an input, or 'network'
    op: str
    autodiff: float  # the autodiff side (for vectors: the entry with the largest error)
    numeric: float  # the other side
    abs_err: float
    rel_err: float
    ok: bool
    order: int = 1
    sides: tuple = ("autodiff", "numeric")
    kink: bool = False  # the differences straddle a kink at every step: not judged (see check_grads)
    rounding: float = 0.0  # the measured rounding error of the differences allowed on top of rtol/atol


@dataclass
class Report:
    name: str
    dtype: str
    rows: list
    nudged: list = field(default_factory=list)  # parameters whose zero entries were moved off 0

    @property
    def ok(self):
        return all(r.ok for r in self.rows)

    def failures(self):
        return [r for r in self.rows if not r.ok]


SIDES = {
    "fwd": ("autodiff: the JVP tangent (forward mode)", "numeric: central differences of the forward pass"),
    "rev": ("autodiff: <J^T u, v> from the VJP (reverse mode)", "numeric: central differences of <u, f>"),
    "dot": ("autodiff: <u, J v> from the JVP", "autodiff: <J^T u, v> from the VJP (no numeric side)"),
    "hvp": ("autodiff: <u, H v> from net.hvp (forward-over-reverse)",
            "numeric: second differences of the loss"),
    "sym": ("autodiff: <u, H v> from net.hvp", "autodiff: <v, H u> from net.hvp (H is symmetric)"),
}


def _compare(mode, what, op, ad, num, rtol, atol, order=1, rounding=0.0):
    """rounding: the numeric side's measured rounding error (a scalar or one per entry), allowed on
    top of atol + rtol * scale."""
    ad, num = np.asarray(ad, np.float64), np.asarray(num, np.float64)
    diff = np.abs(ad - num)
    i = np.unravel_index(np.argmax(diff), diff.shape) if diff.size else ()
    err = float(diff[i]) if diff.size else 0.0
    scale = float(max(np.abs(num).max(initial=0), np.abs(ad).max(initial=0)))
    rel = err / scale if scale > 0 else 0.0
    ok = bool(np.isfinite(err) and np.all(diff <= atol + rtol * scale + rounding))
    return Row(mode, what, op, float(ad[i]) if ad.size else 0.0, float(num[i]) if num.size else 0.0,
               err, rel, ok, order, SIDES[mode], rounding=float(np.max(rounding)))


def _op_of(graph, what):
    node = what.rsplit(".", 1)[0] if what not in graph.g else what
    if node in graph.g:
        return graph.node(node).op.name
    return "network"


def nudge_zeros(arrays, names, rng) -> dict:
    """Give the exactly-zero entries of arrays[name] (for each of `names`) small random values,
    +-0.05 to 0.15, in place; returns copies of the arrays that changed, to put back."""
    saved = {k: arrays[k].copy() for k in names if not arrays[k].all()}
    for k in saved:
        zero = arrays[k] == 0
        nudge = rng.uniform(0.05, 0.15, zero.sum()) * rng.choice([-1.0, 1.0], zero.sum())
        arrays[k][zero] = nudge.astype(arrays[k].dtype)
    return saved


def check_grads(net, inputs=None, modes=("fwd", "rev"), order=1, dtype="float64", rtol=None, atol=None,
                seed=0, N=2, T=3, training=False, raise_on_failure=True) -> Report:
    """Check `net`'s derivatives along one random direction (see the module's docstring).

    dtype: the precision the checks run in; a float32 network is checked through a float64 twin
    with the same weights when dtype is float64 (the default: finite differences need it).
    rtol/atol default per dtype (TOLERANCES). Returns a Report; raises AssertionError on the first
    failure unless raise_on_failure is False.

    Trainable parameter entries that are exactly zero (fresh biases, batch-norm shifts) hold small
    random values during the check and get their zeros back after it: with a zero bias, a relu
    whose inputs are all cut to zero feeds the next relu exactly 0, a kink where no difference
    quotient agrees with any derivative. Report.nudged names them."""
    saved = nudge_zeros(net.params, net.trainable, np.random.default_rng([seed, 1]))
    try:
        return _check_grads(net, inputs, modes, order, dtype, rtol, atol, seed, N, T, training,
                            raise_on_failure, sorted(saved))
    finally:
        for k, a in saved.items():
            net.params[k][...] = a


def _check_grads(net, inputs, modes, order, dtype, rtol, atol, seed, N, T, training, raise_on_failure,
                 nudged):
    from .diff.forward import split_wrt
    from .lower.emit import run_node

    tol = dict(TOLERANCES[dtype])
    tol.update({k: v for k, v in (("rtol", rtol), ("atol", atol)) if v is not None})
    rng = np.random.default_rng(seed)
    if dtype == "float64":
        work = net._float64_twin()
    elif np.dtype(net.dtype) == np.dtype(dtype):
        work = net
    else:
        raise ValueError(f"check_grads runs a {net.dtype} network in {net.dtype} or float64, not {dtype}")
    graph = work.graph
    ftype = np.dtype(dtype)
    if inputs is None:
        inputs = random_inputs(graph, rng, N, T)
    inputs = {k: (a.astype(ftype) if a.dtype.kind == "f" else a) for k, a in inputs.items()}
    given = set(inputs)
    # the nodes we can evaluate: everything whose inputs are given
    nodes = [n for n in graph.order if graph.node(n).op.name != "input"
             and all(i in given for i in _input_ancestors(graph, n))]
    floats = [n for n in nodes if graph.node(n).type.is_float]
    finals = [n for n in list(graph.outputs) + list(graph.losses) if n in floats]
    # one direction over the differentiable float inputs and the trainable parameters
    wrt_inputs = [n for n in graph.inputs if n in given and graph.node(n).type.is_float and _reaches(graph, n)
                  and not _read_as_labels(graph, n)]
    params = [p for p in work.trainable if p.rsplit(".", 1)[0] in nodes]
    split_wrt(graph, wrt_inputs + params)
    v = {}
    for k in wrt_inputs + params:
        shape = inputs[k].shape if k in inputs else work.params[k].shape
        d = rng.standard_normal(shape)
        v[k] = (d / max(np.abs(d).max(), 1e-300)).astype(ftype)
    eps = np.finfo(ftype).eps
    primal = dict(inputs)
    primal.update({k: work.params[k] for k in params})
    scale = max([1.0] + [float(np.abs(primal[k]).max()) for k in v])
    h = float(np.cbrt(eps) * scale)
    rows = []
    outs, tans = work.jvp(inputs, v, floats, training, seed)

    def shifted(direction, sign, step, run):
        saved = {k: work.params[k].copy() for k in direction if k in work.params}
        try:
            for k in saved:
                work.params[k][...] += sign * step * direction[k]
            return run({k: (a + sign * step * direction[k]).astype(ftype) if k in direction else a
                        for k, a in inputs.items()})
        finally:
            for k, a in saved.items():
                work.params[k][...] = a

    def central(direction, names, step, realized=False):
        """Central differences along `direction`. realized: corrected for the rounding of w +- step d
        when they are stored (eps |w| / step of the step, 1e-9 at the smallest): the difference is
        taken along the direction really travelled, so it is moved by J (really - meant), a term
        that small and linear in the autodiff under test that it cannot hide an error in it."""
        up, down = (shifted(direction, sign, step, lambda moved: work.jvp(moved, {}, names, training, seed)[0])
                    for sign in (1, -1))
        fd = {n: (up[n].astype(np.float64) - down[n]) / (2 * step) for n in names}
        if realized:
            base = {**primal, **{k: work.params[k] for k in direction if k in work.params}}
            off = {k: ((base[k] + step * d).astype(ftype).astype(np.float64) - (base[k] - step * d).astype(ftype))
                   / (2 * step) - d for k, d in direction.items()}
            moved = work.jvp(inputs, off, names, training, seed)[1]
            fd = {n: fd[n] - moved[n] for n in names}
        return fd

    def crosses_kink(direction, step):
        """Whether some op's linear piece (relu's sign, a max-pool's winner) differs between
        w - step d and w + step d: then a central difference there is not a derivative."""
        up, down = (shifted(direction, sign, step, lambda moved: _kink_pieces(work, moved, training, seed))
                    for sign in (1, -1))
        return any(not np.array_equal(up[n], down[n]) for n in up)

    def rounding(direction, names, step, project, size):
        """The rounding error of central(direction, names, step), measured, not guessed. Near
        a = w +- step d, moving e = step * TAU * d further changes f by rounding alone: the second
        difference f(a + e) + f(a - e) - 2 f(a) is |e|^2 d'Hd (~1e-20 here) plus rounding of
        variance 6 s^2 (s: one evaluation's rounding). A central difference holds 2 s^2 / (2 step)^2;
        the allowance is four of its standard deviations, from four samples, the largest over a
        node's entries (each entry's own samples are too few to trust alone). Rounding that is
        linear between nearby points cancels in those samples, so s is at least one rounding of
        the result (eps * size(f))."""
        total, count, floor = None, 0, None
        for sign in (1, -1):
            outs = [shifted(direction, sign, step * c, lambda moved: work.jvp(moved, {}, names, training, seed)[0])
                    for c in (1.0, 1 + TAU, 1 - TAU, 1 + 2 * TAU, 1 - 2 * TAU)]
            at = [project(o) for o in outs]
            floor = {n: max(floor[n] if floor else 0.0, eps * m) for n, m in size(outs[0]).items()}
            for j in (1, 3):
                sq = {n: (at[j][n] + at[j + 1][n] - 2 * at[0][n]) ** 2 / 6 for n in at[0]}
                total = sq if total is None else {n: total[n] + sq[n] for n in sq}
                count += 1
        return {n: 4 * np.sqrt(2) * max(float(np.sqrt(np.max(t) / count)), floor[n]) / (2 * step)
                for n, t in total.items()}

    def as_float64(outs):
        return {n: outs[n].astype(np.float64) for n in outs}

    def largest(outs):
        return {n: float(np.abs(outs[n]).max(initial=0)) for n in outs}

    # A difference that straddles a kink (a relu input, a max-pool's runner-up within step * |tangent|
    # of its winner) is wrong, not the autodiff: where one disagrees, smaller steps are tried, and an
    # entry passes when a difference at some step agrees. A wrong rule disagrees at every step. A
    # larger step comes second: in a deep network rounding in f, over 2h, can outweigh the rtol.
    # A row that disagrees at every step is then looked at once more at the smallest step: if the
    # ops' pieces show a kink crossed there, it is marked `kink` and not judged (the dot-product
    # tests, which take no differences, still judge every rule); if not, f is smooth over the step,
    # so only rounding separates the difference from the derivative, and it is judged again with the
    # measured rounding error allowed (`Row.rounding`).
    ladder = [h, 16 * h, h / 16, h / 256]
    small = ladder[-1]
    if order >= 1 and "fwd" in modes and floats:
        fds = central(v, floats, h)
        for step in ladder[1:]:
            bad = [n for n in floats if not _compare("fwd", n, "", tans[n], fds[n], **tol).ok]
            if not bad:
                break
            again = central(v, bad, step)
            for n in bad:
                ad = np.asarray(tans[n], np.float64)
                fds[n] = np.where(np.abs(again[n] - ad) < np.abs(fds[n] - ad), again[n], fds[n])
        fwd_rows = [_compare("fwd", n, graph.node(n).op.name, tans[n], fds[n], **tol) for n in floats]
        bad = [r.what for r in fwd_rows if not r.ok]
        if bad and crosses_kink(v, small):
            fwd_rows = [r if r.ok else _unjudged(r) for r in fwd_rows]
        elif bad:
            fd_small, noise = central(v, bad, small, realized=True), rounding(v, bad, small, as_float64, largest)
            fwd_rows = [r if r.ok else _compare("fwd", r.what, r.op, tans[r.what], fd_small[r.what], **tol,
                                                rounding=noise[r.what]) for r in fwd_rows]
        rows += fwd_rows
    if "rev" in modes and finals:
        u = {n: rng.standard_normal(outs[n].shape).astype(ftype) for n in finals}
        grads = work.vjp(inputs, u, training=training, seed=seed)
        # the dot-product test over the whole network: <u, J v> against <J^T u, v>
        jv = sum(np.vdot(u[n].astype(np.float64), tans[n]) for n in finals)
        jtu = sum(np.vdot(grads[k].astype(np.float64), v[k]) for k in v if k in grads)
        rows.append(_compare("dot", "network", "network", jv, jtu, **tol))

        def against_u(outs):
            return {"u": sum(np.vdot(u[n].astype(np.float64), outs[n]) for n in finals)}

        def size_against_u(outs):
            return {"u": sum(np.vdot(np.abs(u[n]).astype(np.float64), np.abs(outs[n])) for n in finals)}

        for k in v:
            ad = np.vdot(grads[k].astype(np.float64), v[k]) if k in grads else 0.0
            for step in ladder:
                num = against_u(central({k: v[k]}, finals, step))["u"]
                row = _compare("rev", k, _op_of(graph, k), ad, num, **tol)
                if row.ok:
                    break
            if not row.ok and crosses_kink({k: v[k]}, small):
                row = _unjudged(row)
            elif not row.ok:
                num = against_u(central({k: v[k]}, finals, small, realized=True))["u"]
                noise = rounding({k: v[k]}, finals, small, against_u, size_against_u)["u"]
                row = _compare("rev", k, row.op, ad, num, **tol, rounding=noise)
            rows.append(row)
    if "rev" in modes and "fwd" in modes:
        # each node alone, on the activations the network computed: names the op that is wrong
        for n in floats:
            rows.append(_local_dot(work, graph, n, outs, inputs, rng, ftype, training, seed, tol, run_node))
    if order >= 2 and params and graph.losses and all(ls in nodes for ls in graph.losses):
        rows += _check_hvp(net, work, inputs, params, rng, training, seed)
    report = Report(graph.name, dtype, rows, nudged)
    if raise_on_failure and not report.ok:
        raise AssertionError(failure_message(report))
    return report


def _unjudged(row):
    return replace(row, ok=True, kink=True)


def _kink_pieces(work, inputs, training, seed):
    """Each kinked node's piece (Op.kink_piece) at these inputs, from one forward sweep."""
    from .diff.second import forward_sweep

    values, _, spaces = forward_sweep(work.graph, work.params, inputs, None, training, seed)
    pieces = {}
    for n in spaces:
        node = work.graph.node(n)
        piece = node.op.kink_piece(node, [values[s] for s in node.inputs], values[n], spaces[n])
        if piece is not None:
            pieces[n] = np.array(piece)
    return pieces


def _input_ancestors(graph, n):
    import networkx as nx

    return [a for a in nx.ancestors(graph.g, n) if a in graph.inputs]


def _reaches(graph, name):
    from .diff.forward import forward_mode

    return bool(forward_mode(graph, [name]).order)


def _read_as_labels(graph, name):
    """An input that a loss reads as labels/target: its derivative is not taken (as in training)."""
    for c in graph.g.successors(name):
        node = graph.node(c)
        slots = differentiable_slots(node)
        if any(s == name and not ok for s, ok in zip(node.inputs, slots)):
            return True
    return False


def _local_dot(work, graph, n, outs, inputs, rng, ftype, training, seed, tol, run_node):
    node = graph.node(n)
    xs = [outs[s] if s in outs else inputs[s] for s in node.inputs]
    slots = differentiable_slots(node)
    need = [ok and graph.node(s).type.is_float for s, ok in zip(node.inputs, slots)]
    dxs = [rng.standard_normal(x.shape).astype(ftype) if nd else None for x, nd in zip(xs, need)]
    params = {k: work.params[f"{n}.{k}"].copy() for k in node.params}
    dps = {k: rng.standard_normal(p.shape).astype(ftype) for k, p in params.items() if node.params[k].trainable}
    gy = rng.standard_normal(np.shape(outs[n])).astype(ftype)
    out = run_node(graph, n, [np.ascontiguousarray(x) for x in xs], params, gy=gy, training=training, seed=seed,
                   need_gx=need, dxs=dxs, dps=dps)
    jv = np.vdot(gy.astype(np.float64), out["dy"])
    jtu = sum(np.vdot(g.astype(np.float64), d) for g, d in zip(out["gx"], dxs) if g is not None and d is not None)
    jtu += sum(np.vdot(out["gp"][k].astype(np.float64), dps[k]) for k in out["gp"])
    return _compare("dot", n, node.op.name, jv, jtu, **tol)


def _check_hvp(net, work, inputs, params, rng, training, seed):
    """<u, H v> from net.hvp (forward-over-reverse) against second differences of the loss, and
    <u, H v> = <v, H u>."""
    tol = HVP_TOLERANCES["float64"]
    twin = net._float64_twin()
    inputs64 = {k: a.astype(np.float64) if a.dtype.kind == "f" else a for k, a in inputs.items()}
    v = {k: rng.standard_normal(twin.params[k].shape) for k in params}
    u = {k: rng.standard_normal(twin.params[k].shape) for k in params}
    w = twin.P.copy()
    scale = 1 + np.abs(w).max()
    losses = twin.graph.losses
    weights = {ls: twin.graph.node(ls).weight for ls in losses}

    def loss_at(a, b, h):
        for k in params:
            twin.params[k][...] += a * h * v[k] + b * h * u[k]
        try:
            outs = twin.jvp(inputs64, {}, losses, training, seed)[0]
        finally:
            twin.P[...] = w
        return sum(weights[ls] * float(outs[ls]) for ls in losses)

    hv = net.hvp(inputs, v, training=training, seed=seed)
    hu = net.hvp(inputs, u, training=training, seed=seed)
    uhv = sum(np.vdot(u[k], hv[k]) for k in params)
    vhu = sum(np.vdot(v[k], hu[k]) for k in params)
    # second differences straddle any kink (relu, max-pool switch) within their step, where the
    # exact H v (the Hessian of the piece w lies on) is right and they are not: several steps
    rows = []
    for h in (1e-4 * scale, 1e-3 * scale, 1e-5 * scale):
        num = (loss_at(1, 1, h) - loss_at(1, -1, h) - loss_at(-1, 1, h) + loss_at(-1, -1, h)) / (4 * h * h)
        rows.append(_compare("hvp", "total loss", "network", uhv, num, order=2, **tol))
        if rows[-1].ok:
            break
    row = next((r for r in rows if r.ok), rows[0])
    return [row, _compare("sym", "total loss", "network", uhv, vhu, order=2, **HVP_SYMMETRY)]


def failure_message(report) -> str:
    """The first failure worth reading: a node alone (its op is wrong), else the first node in
    forward order whose tangent is off, else a parameter's gradient, else the network."""
    fails = report.failures()
    rank = {"dot": 0, "fwd": 1, "rev": 2, "hvp": 3, "sym": 4}
    first = min(fails, key=lambda r: (r.what == "network", rank[r.mode]))
    ad_side, num_side = first.sides
    where = "the whole network" if first.what in ("network", "total loss") else \
        (f"parameter '{first.what}'" if "." in first.what and first.op != "network" and first.mode == "rev"
         else f"node '{first.what}'")
    lines = [f"gradient check failed: op {first.op}, {where}, mode {first.mode}, order {first.order}, "
             f"dtype {report.dtype} (network {report.name})",
             f"  {ad_side}: {first.autodiff:.10g}",
             f"  {num_side}: {first.numeric:.10g}",
             f"  largest absolute error {first.abs_err:.3g}, relative {first.rel_err:.3g}"]
    others = [f"{r.mode} {r.what}" for r in fails if r is not first]
    if others:
        lines.append(f"  also failing: {', '.join(others[:8])}" + (" ..." if len(others) > 8 else ""))
    return "\n".join(lines)


def grad_table(reports) -> str:
    """Per node and parameter, the largest absolute and relative error in each mode over reports."""
    worst = {}
    order = []
    for rep in reports:
        for r in rep.rows:
            key = (r.what, r.op)
            if key not in worst:
                worst[key] = {}
                order.append(key)
            a, rel, ok, kink, rounded = worst[key].get(r.mode, (0.0, 0.0, True, False, False))
            worst[key][r.mode] = (max(a, r.abs_err), max(rel, r.rel_err), ok and r.ok, kink or r.kink,
                                  rounded or r.rounding > 0)
    modes = [m for m in ("fwd", "rev", "dot", "hvp", "sym") if any(m in w for w in worst.values())]
    width = max([len("node / parameter")] + [len(k[0]) for k in order])
    head = f"  {'node / parameter':<{width}}  {'op':<22}" + "".join(f"  {m + ' abs':>9} {m + ' rel':>9}" for m in modes)
    lines = [head]
    for key in order:
        cells = []
        for m in modes:
            if m in worst[key]:
                a, rel, ok, kink, rounded = worst[key][m]
                mark = "!" if not ok else "k" if kink else "r" if rounded else ""
                cells.append(f"  {a:>9.1e} {rel:>8.1e}{mark or ' '}")
            else:
                cells.append(f"  {'':>9} {'':>9}")
        lines.append(f"  {key[0]:<{width}}  {key[1]:<22}" + "".join(cells))
    marks = {w[3:] for cells in worst.values() for w in cells.values() if w[2]}
    if any(kink for kink, _ in marks):
        lines.append("  k: the differences cross a kink (a relu's sign or a max-pool's winner changes) at every "
                     "step tried, so they do not judge that row; the dot-product tests do")
    if any(rounded and not kink for kink, rounded in marks):
        lines.append("  r: agrees within the differences' measured rounding error (a deep network at the "
                     "smallest step; see docs/testing.md)")
    return "\n".join(lines)
