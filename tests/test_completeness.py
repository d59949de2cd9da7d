"""Every registered op is whole: a shape rule, a forward kernel, a NumPy reference, a VJP, a JVP, a
hypothesis strategy in netc.testing and a multiply-add count. Adding an op without one of them
fails here, with the op and the missing part named."""
import pytest

import netc  # noqa: F401  (registers the ops)
import netc.testing as nt
from netc.ops.base import REGISTRY, Op

# `input` is fed by the user: it has no kernel and nothing to differentiate
NOT_COMPUTED = {"input"}

# ops that multiply nothing worth counting: they select, move, compare, or apply a scalar function
# per element (the course's tables count the multiply-adds of dense and conv layers); a new op goes
# here only if its count really is zero
ZERO_MACS = {
    "identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "threshold", "softmax", "log_softmax",
    "maxout", "dropout", "flatten", "reshape", "concat", "embedding", "one_hot",
    "softmax_cross_entropy", "binary_cross_entropy", "mse",
}

PARTS = {
    "shape rule": "infer",
    "forward kernel": "emit_forward",
    "reference": "reference",
    "VJP": "emit_vjp",
    "JVP": "emit_jvp",
}

OPS = sorted(n for n in REGISTRY if n not in NOT_COMPUTED)


def overrides(op, method):
    return getattr(type(op), method) is not getattr(Op, method)


@pytest.mark.parametrize("name", OPS)
def test_op_is_whole(name):
    op = REGISTRY[name]
    missing = [part for part, method in PARTS.items() if not overrides(op, method)]
    if not nt.has_strategy(name):
        missing.append("strategy (netc.testing.op_cases)")
    if not overrides(op, "macs") and name not in ZERO_MACS:
        missing.append("multiply-add count (define macs, or add the op to ZERO_MACS if it multiplies nothing)")
    assert not missing, f"op '{name}' lacks: {', '.join(missing)}"


def test_allow_lists_name_real_ops():
    assert NOT_COMPUTED <= set(REGISTRY) and ZERO_MACS <= set(REGISTRY)
    assert not any(overrides(REGISTRY[n], "macs") for n in ZERO_MACS), \
        "an op in ZERO_MACS now counts its multiply-adds: take it off the list"


def test_the_input_op_has_its_own_shape_rule():
    assert hasattr(REGISTRY["input"], "infer_input")
