"""Forward mode of the losses: a 0-d tangent from the prediction's tangent and, where the loss is
smooth in them, from float labels and targets (probability labels, 0/1 targets, mse targets);
integer class ids carry none. The dot-product test covers the prediction only: the VJP gives
labels no gradient."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from netc.lower.emit import run_node

from _jvpcheck import check_float32, check_jvp
from _opcheck import op_node
from test_losses import KINDS, cases, loss_case


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=10, deadline=None)
@given(case=cases)
def test_jvp(kind, case):
    g, xs, rng = loss_case(kind, case)
    out = check_jvp(g, xs, rng, vjp_slots=[0])
    assert out["dy"].shape == ()


@pytest.mark.parametrize("kind", KINDS)
def test_float32(kind):
    g64, xs, rng = loss_case(kind, (3, 2, 4, 0))
    check_float32(loss_case(kind, (3, 2, 4, 0), "float32")[0], g64, xs, rng)


def test_bce_probabilities_outside_the_clip_pass_no_tangent():
    """p = 0 or 1 is clipped: its own tangent is zero there; the target's uses the clipped p."""
    g, _, rng = loss_case("bce_probs", (1, None, 3, 0))
    p, t = np.array([[0.0, 1.0, 0.5]]), np.array([[1.0, 0.0, 1.0]])
    name = op_node(g).name
    dq = np.array([[1.0, 1.0, 0.0]])
    assert run_node(g, name, [p, t], {}, dxs=[dq, None])["dy"] == 0
    eps = 1e-7
    dt = np.array([[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(run_node(g, name, [p, t], {}, dxs=[None, dt])["dy"], -np.log(eps / (1 - eps)) / 3)
