"""What every op is made of: attributes, a shape rule, parameters and a multiply-add count.

An op module defines its ops in this order (see any module in netc/ops/):
  1. attributes    2. shape rule    3. parameters    4. reference    5. kernels    6. multiply-adds
Later stages (differentiation, lowering) find everything about an op on its registered object.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import Problem, did_you_mean
from ..types import TensorType

REQUIRED = object()


@dataclass
class Param:
    """A parameter tensor of one node: its shape, how it starts, and whether training updates it."""

    shape: tuple
    init: str = "glorot_uniform"  # glorot_uniform | he_normal | zeros | ones | normal | constant
    trainable: bool = True
    fan_in: int = 1
    fan_out: int = 1
    value: float = 0.0  # for init 'constant'

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


class Attr:
    """One attribute of an op: its kind, default and the checks a value must pass."""

    def __init__(self, kind, default=REQUIRED, *, choices=None, low=None, high=None, doc=""):
        self.kind = kind  # int | float | bool | str | choice | ints | pad | shape | names
        self.default = default
        self.choices = choices
        self.low = low
        self.high = high
        self.doc = doc

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def normalize(self, value, name: str, rank: int = 1):
        kind = self.kind
        if kind == "int":
            return self._int(value, name)
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Problem(f"'{name}' must be a number, found {_show(value)}", _bool_hint(value))
            try:
                value = float(value)
            except OverflowError:
                raise Problem(f"'{name}' must be a finite number, found one with {len(str(value)):,} digits") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise Problem(f"'{name}' must be a finite number, found {value}")
            self._range(value, name)
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise Problem(f"'{name}' must be true or false, found {_show(value)}",
                              "write true or false without quotes" if isinstance(value, str)
                              and value.lower() in ("true", "false", "yes", "no") else None)
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise Problem(f"'{name}' must be a word, found {_show(value)}")
            return value
        if kind == "choice":
            if value not in self.choices or isinstance(value, bool):
                raise Problem(f"'{name}' must be one of {', '.join(map(str, self.choices))}; found {_show(value)}",
                              did_you_mean(value, self.choices) if isinstance(value, str) else None)
            return value
        if kind in ("ints", "pad"):
            if kind == "pad" and value == "same":
                return "same"
            if isinstance(value, list):
                if len(value) != rank:
                    raise Problem(f"'{name}' has {len(value)} values but this op has {rank} spatial "
                                  f"dimension{'s' if rank != 1 else ''}",
                                  f"give one number for all, or exactly {rank}")
                return tuple(self._int(v, name) for v in value)
            if kind == "pad" and isinstance(value, str):
                raise Problem(f"'{name}' must be a whole number, a list, or 'same'; found {_show(value)}",
                              did_you_mean(value, ["same"]))
            return (self._int(value, name),) * rank
        if kind == "shape":
            if not isinstance(value, list) or not value:
                raise Problem(f"'{name}' must be a list of sizes, found {_show(value)}")
            out = []
            for v in value:
                if v == -1:
                    out.append(-1)
                else:
                    out.append(Attr("int", low=1, high=MAX_SIZE).normalize(v, name))
            if out.count(-1) > 1:
                raise Problem(f"'{name}' may hold -1 only once")
            return tuple(out)
        raise AssertionError(kind)

    def _int(self, value, name):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                hint = f"write {int(value)} without the decimal point (in an expression, '//' divides to a whole number)"
            else:
                hint = _bool_hint(value)
            raise Problem(f"'{name}' must be a whole number, found {_show(value)}", hint)
        self._range(value, name)
        return value

    def _range(self, value, name):
        if self.low is not None and value < self.low:
            raise Problem(f"'{name}' must be at least {self.low}, found {value}")
        if self.high is not None and value > self.high:
            if self.high >= MAX_SIZE:
                hint = "this is far beyond any network that fits in memory"
            elif self.high <= 1 and 1 < value <= 100:
                hint = f"a fraction, not a percentage: {value:g}% is {value / 100:g}"
            else:
                hint = None
            raise Problem(f"'{name}' must be at most {self.high:,}, found {value:,}", hint)


def _bool_hint(value):
    if isinstance(value, bool):
        return "YAML reads true/false/yes/no/on/off as booleans; write a number"
    if isinstance(value, str) and value.replace(".", "", 1).strip().isdigit():
        return "remove the quotes"
    return None


def _show(value) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)


MAX_SIZE = 1 << 24  # 16M: no single layer dimension is larger in any network netc targets


class Op:
    """Base class of an op definition. Subclasses fill in the class attributes and the rules."""

    name = ""
    inputs: tuple = ("x",)  # input slot names; `variadic` ops take any number >= min_inputs
    variadic = False
    min_inputs = None  # None: every slot is required; fewer makes the later slots optional
    attrs: dict = {}
    spatial = 1  # how many values an `ints`/`pad` attribute expands to
    is_loss = False
    summary_label = None  # short text for the summary table, e.g. "conv2d 5x5 pad 2"

    # 1. attributes: cross-checks between attributes, after each passed its own check
    def check_attrs(self, attrs: dict) -> None:
        pass

    # 2. shape rule
    def infer(self, node, xs: list) -> TensorType:
        raise NotImplementedError

    # 3. parameters
    def params(self, node, xs: list) -> dict:
        return {}

    # 4. reference: a plain NumPy forward, the oracle for the kernels. `xs` are arrays (N and T
    #    bound), `params` maps parameter names to arrays. Training-mode randomness (dropout) is
    #    not part of the reference; tests drive it through the kernels' saved mask.
    def reference(self, node, xs: list, params: dict):
        raise NotImplementedError(f"{self.name} has no reference")

    # 5. kernels bound. An op emits Python source lines that call its Numba kernels (netc/kernels/,
    #    named <op>_fwd, <op>_vjp_<input>, <op>_jvp). Lines read names from an `Emit` context
    #    (netc/lower/emit.py): e.x[i], e.y, e.p[name], e.ws[name], e.gy, e.gx[i] (None: not
    #    needed), e.gp[name] (None: frozen), e.lit(0.1) for a float constant in the network's
    #    dtype, and the run-time names `training` (bool) and `seed` (int).
    #    Gradients ACCUMULATE (+=) into e.gx and e.gp: the runtime zeroes them before a backward
    #    pass, and fan-out then needs no extra code. Except where an op's `writes_gradient` says
    #    it can write input i's gradient and it is that gradient's first writer (netc/plan.py):
    #    then the buffer is not zeroed and e.accumulate(i) is "False" for the op's kernel to write.
    def workspace(self, node, xs: list, y) -> dict:
        """Scratch and saved tensors: name -> (shape with 'N'/'T' symbols, dtype)."""
        return {}

    def emit_forward(self, node, e) -> list:
        raise NotImplementedError(f"{self.name} has no forward kernel")

    def emit_vjp(self, node, e) -> list:
        raise NotImplementedError(f"{self.name} has no VJP")

    def writes_gradient(self, node, slot: int) -> bool:
        """Whether emit_vjp passes e.accumulate(slot) to a kernel that then writes every element
        of gx[slot] (so the plan need not zero it first: a pass over the buffer saved)."""
        return False

    #    Forward mode: lines that WRITE (not accumulate) the output's tangent e.dy from the input
    #    tangents e.dx[i] (None: that input's tangent is zero) and the parameter tangents
    #    e.dp[name] (None: zero), reading the forward values e.x, e.y, e.p and e.ws (the forward
    #    lines have run). Kernels are named <op>_jvp and live in netc/kernels/<family>_jvp.py.
    def emit_jvp(self, node, e) -> list:
        raise NotImplementedError(f"{self.name} has no JVP")

    # 6. multiply-adds per example (T taken as 1 for sequences)
    def macs(self, node, xs: list, y: TensorType) -> int:
        return 0

    # 7. second order, for forward-over-reverse (net.hvp, netc/diff/second.py). The VJP maps a
    #    cotangent gy to (gx, gp) = VJP(x, p; gy), linear in gy. Its tangent along a move
    #    (dx, dp) of the primal point, with gy moving by dgy, is
    #        VJP(x, p; dgy) + d/de VJP(x + e dx, p + e dp; gy) at e = 0;
    #    the VJP kernels give the first term, `vjp_tangent` the second (the Hessian of <gy, f>
    #    times (dx, dp)), in NumPy. It reads xs, params, y and ws (the workspace the forward
    #    kernels filled: masks, saved statistics) at the primal point; dxs[i] / dps[name] are the
    #    tangents (None: zero) and dy = J (dx, dp) is the output's tangent. `vjp(xs, params, gy)`
    #    runs this node's VJP kernels at any point and returns (gxs, gps): a bilinear op's rule is
    #    its VJP at a substituted point (dense: the VJP at (dx, dW) without the bias term). It
    #    returns (gxs, gps): a list with an array or None (zero) per input slot and a dict of
    #    arrays for trainable parameters (absent: zero). Ops whose VJP does not move with the
    #    primal point away from kinks (linear and piecewise-linear ops) set
    #    `piecewise_linear = True` instead.
    piecewise_linear = False

    # Which linear piece each output lies on, for ops with kinks (relu's sign, max-pool's argmax):
    # an array that changes exactly when a kink is crossed, or None for smooth ops. Gradient
    # checks use it to tell a finite difference that straddles a kink from a wrong rule.
    def kink_piece(self, node, xs: list, y, ws: dict):
        return None

    def vjp_tangent(self, node, xs: list, params: dict, y, gy, dxs: list, dps: dict, dy, ws: dict,
                    training: bool, vjp):
        if self.piecewise_linear:
            return [None] * len(xs), {}
        raise NotImplementedError(f"{self.name} has no second-order rule (vjp_tangent)")

    def label(self, attrs: dict) -> str:
        return self.name

    # 6b. fusion: whether this node's kernels can apply the activation `act` (an op name) to their
    #    output themselves, with emit_forward writing act(y) to e.y when e.act is set and emit_vjp
    #    masking e.gy by e.mask, the activation's output (netc/plan.py, _fuse_activations)
    def fuses_activation(self, node, act: str) -> bool:
        return False

    def __repr__(self):
        return f"<op {self.name}>"


def bilinear_vjp_tangent(xs, params, dxs, dps, gy, vjp, factors):
    """The second-order rule of an op bilinear in its inputs and the parameters `factors`
    (dense, conv: x and the weight; mul: its two inputs): the VJP at the point (dx, dp). In a
    bilinear map the gradient for one factor is linear in the other, so its tangent is the
    gradient with the other factor replaced by that factor's tangent. Other parameters (a bias)
    enter linearly: their second-order terms are zero."""
    import numpy as np

    xs2 = [np.zeros_like(x) if d is None else d for x, d in zip(xs, dxs)]
    ps2 = {k: dps[k] if k in factors and dps.get(k) is not None else np.zeros_like(p) for k, p in params.items()}
    gxs, gps = vjp(xs2, ps2, gy)
    return gxs, {k: g for k, g in gps.items() if k in factors}


REGISTRY: dict = {}


def register(op: Op) -> Op:
    assert op.name and op.name not in REGISTRY, op.name
    REGISTRY[op.name] = op
    return op


# shared shape helpers -----------------------------------------------------------------------

def expect_float(node, x: TensorType, what="input"):
    if not x.is_float:
        node.fail(f"{what} must be a float tensor, found {x.dtype} ({x})",
                  "integer tensors (labels, token ids) feed embedding, one_hot or a loss's labels")


def expect_rank(node, x: TensorType, ranks, layout: str):
    if x.rank not in ranks:
        node.fail(f"expects input {layout}, found {x} (rank {x.rank})",
                  _rank_hint(x, ranks))


def _rank_hint(x, ranks):
    want = min(ranks)
    if x.rank > want:
        return "add a flatten (or global pooling) before this layer"
    return "add a reshape before this layer, or check the input's declared shape"


def expect_fixed(node, x: TensorType, dims, what):
    for d in dims:
        if x.shape[d] == "T":
            node.fail(f"{what} must have a fixed size, found the sequence length T in {x}",
                      "declare a fixed length for this input")
