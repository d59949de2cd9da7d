"""netc compiles its kernels at LLVM -O2 inside its entry points, and leaves Numba's level as it was."""
import numpy as np
from numba.core import config

import netc
from netc import kernels


def test_the_level_holds_inside_and_is_restored(monkeypatch):
    monkeypatch.delenv("NUMBA_OPT", raising=False)
    before = config.OPT
    with kernels.optimisation_level():
        assert config.OPT == kernels.OPT
        with kernels.optimisation_level():  # re-entered by nested entry points
            assert config.OPT == kernels.OPT
        assert config.OPT == kernels.OPT
    assert config.OPT == before


def test_numba_opt_wins(monkeypatch):
    monkeypatch.setenv("NUMBA_OPT", "3")
    before = config.OPT
    with kernels.optimisation_level():
        assert config.OPT == before


def test_entry_points_compile_at_the_level(monkeypatch):
    monkeypatch.delenv("NUMBA_OPT", raising=False)
    seen, before = [], config.OPT
    net = netc.compile("netc: 1\nname: optlevel\ninputs: {x: [3]}\nlayers: [{dense: {units: 2}}]\n")
    real = net.module.forward

    def spy(*args):
        seen.append(int(config.OPT))
        return real(*args)

    monkeypatch.setattr(net.module, "forward", spy)
    net.forward(x=np.ones((2, 3), np.float32))
    assert seen == [kernels.OPT] and config.OPT == before
