"""Inner kernels (private helpers that only other kernels call) are compiled without a CPython
wrapper; the kernels generated code calls from Python keep theirs. Nothing runs in object mode."""
from numba.core.registry import CPUDispatcher

import netc.kernels as K


def _dispatchers():
    for mod in K.modules():
        for name, f in vars(mod).items():
            if isinstance(f, CPUDispatcher) and f.__module__ == mod.__name__:
                yield mod.__name__.rsplit(".", 1)[1], name, f


def test_inner_kernels_have_no_cpython_wrapper():
    inner = [(m, n) for m, n, f in _dispatchers() if n.startswith("_")]
    assert len(inner) >= 20
    wrapped = [(m, n) for m, n, f in _dispatchers() if n.startswith("_") and not f.targetoptions.get("no_cpython_wrapper")]
    assert not wrapped, f"inner kernels compiled with a CPython wrapper: {wrapped}"


def test_kernels_for_generated_code_keep_their_wrapper_and_nopython_mode():
    exported = K.namespace()
    for m, n, f in _dispatchers():
        assert not f.targetoptions.get("forceobj") and f.targetoptions.get("nopython", True), (m, n)
        if n in exported:
            assert not n.startswith("_") and not f.targetoptions.get("no_cpython_wrapper"), (m, n)
