"""Vectorizable exp, tanh and sigmoid for the kernels (fexp, ftanh, fsigmoid).

Numba's np.exp / np.tanh are scalar libm calls here (no SVML): a loop that calls them cannot
be vectorized (exp 2.3 ns, tanh 16 ns per element). These are Cephes' expf and tanhf: a
range reduction and a short polynomial, no calls and no branches (selects only), so LLVM
vectorizes the loop around them. float32 only; in float64 (gradient checks) they are np.exp
and np.tanh, so float64 keeps full precision. The flags leave out nnan and ninf: NaN and inf
keep their meaning (exp(nan) = nan, exp(inf) = inf, exp(-inf) = 0, tanh(+-inf) = +-1).
Accuracy against numpy in float32 over [-87, 88]: tests/kernels/test_fastmath.py.
"""
from __future__ import annotations

import warnings

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.errors import NumbaIRAssumptionWarning
from numba.core.extending import intrinsic, overload

# Inlining _tanh32 (a select on a phi) into a caller trips a pedantic SSA check of Numba's that
# warns "variable ... is not in scope" on every compile of the caller; the code is right (the
# op tests and tests/kernels/test_fastmath.py check the values), so that one warning is silenced
warnings.filterwarnings("ignore", message=r".*_ol_ftanh__locals", category=NumbaIRAssumptionWarning)

__all__ = []  # helpers for kernels (import them by name), not kernels for generated code

# flags for the kernels that call these: no nnan/ninf, so NaN checks and inf survive, and no
# reassoc, which would undo deliberate orderings such as (x - m) - lse in log-softmax (it cost
# 5e-5 relative error there); REDUCE adds reassoc for kernels whose only job is a plain sum
FASTMATH = {"nsz", "arcp", "contract", "afn"}
REDUCE = FASTMATH | {"reassoc"}
# the exp range reduction x - n*C1 - n*C2 must not be reassociated (it would fold C1 + C2 and
# lose the Cody-Waite split), so the helpers themselves get contract (FMA) and nsz only
_FM = {"nsz", "contract"}

_f = np.float32
LOG2E = _f(1.44269504088896341)
C1 = _f(0.693359375)
C2 = _f(-2.12194440e-4)
HI = _f(88.72283905206835)   # above: inf
LO = _f(-87.33654475055310)  # below: 0 (Cephes; the float32 denormals below are flushed)
P0, P1, P2 = _f(1.9875691500e-4), _f(1.3981999507e-3), _f(8.3334519073e-3)
P3, P4, P5 = _f(4.1665795894e-2), _f(1.6666665459e-1), _f(5.0000001201e-1)
T0, T1, T2 = _f(-5.70498872745e-3), _f(2.06390887954e-2), _f(-5.37397155531e-2)
T3, T4 = _f(1.33314422036e-1), _f(-3.33332819422e-1)
ZERO, HALF, ONE, TWO = _f(0), _f(0.5), _f(1), _f(2)
INF = _f(np.inf)
SMALL = _f(0.625)


@intrinsic
def _pow2(typingctx, n):
    """2**n as float32 for an integer n in [-126, 127]: the exponent bits (n + 127) << 23."""
    if not isinstance(n, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        i32 = ir.IntType(32)
        if v.type.width > 32:
            v = builder.trunc(v, i32)
        elif v.type.width < 32:
            v = builder.sext(v, i32)
        bits = builder.shl(builder.add(v, ir.Constant(i32, 127)), ir.Constant(i32, 23))
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(n), codegen


@njit(cache=True, nogil=True, fastmath=_FM, error_model="numpy", no_cpython_wrapper=True)
def _exp32(x):
    xc = x if x < HI else HI
    xc = xc if xc > LO else LO
    n = np.floor(xc * LOG2E + HALF)
    r = xc - n * C1
    r = r - n * C2
    r2 = r * r
    p = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5
    p = p * r2 + r + ONE
    # 2**n in two halves so n = 128 (x near HI) does not overflow the exponent field
    ni = np.int32(n)
    h = ni >> 1
    y = p * _pow2(h) * _pow2(ni - h)
    y = INF if x > HI else y
    y = ZERO if x < LO else y
    return y if x == x else x  # NaN in, NaN out


# inlined in Numba's IR: LLVM's inliner declines it once exp is inside, and a call stops vectorization
@njit(cache=True, nogil=True, fastmath=_FM, error_model="numpy", inline="always", no_cpython_wrapper=True)
def _tanh32(x):
    # |x| < 0.625: Cephes' odd polynomial (no cancellation near 0); else 1 - 2/(e^2|x| + 1),
    # which is exactly +-1 for large |x| (e = inf). Both are computed, one is selected.
    a = abs(x)
    z = x * x
    small = (((((T0 * z + T1) * z + T2) * z + T3) * z + T4) * z) * x + x
    big = np.copysign(ONE - TWO / (_exp32(TWO * a) + ONE), x)
    y = small if a < SMALL else big
    return y if x == x else x


@njit(cache=True, nogil=True, fastmath=_FM, error_model="numpy", no_cpython_wrapper=True)
def _sigmoid32(x):
    # exp(-x) is inf for x < -88.7: 1 / inf = 0; exp(-x) -> 0 for large x: exactly 1
    return ONE / (ONE + _exp32(-x))


def fexp(x):
    return np.exp(x)


def ftanh(x):
    return np.tanh(x)


def fsigmoid(x):
    return 1 / (1 + np.exp(-x))


@overload(fexp, jit_options={"cache": True, "nogil": True, "error_model": "numpy"})
def _ol_fexp(x):
    if x == types.float32:
        return lambda x: _exp32(x)
    return lambda x: np.exp(x)


@overload(ftanh, jit_options={"cache": True, "nogil": True, "error_model": "numpy"}, inline="always")
def _ol_ftanh(x):
    if x == types.float32:
        return lambda x: _tanh32(x)
    return lambda x: np.tanh(x)


@overload(fsigmoid, jit_options={"cache": True, "nogil": True, "error_model": "numpy"})
def _ol_fsigmoid(x):
    if x == types.float32:
        return lambda x: _sigmoid32(x)
    return lambda x: 1.0 / (1.0 + np.exp(-x))
