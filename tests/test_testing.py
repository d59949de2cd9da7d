"""netc.testing: its strategies draw valid networks, and check_grads passes correct derivatives and
names the op, node, mode, order and dtype of a wrong one."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netc
import netc.testing as nt
from netc.ops.base import REGISTRY

FEW = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))


@FEW
@given(nt.specs(max_layers=4))
def test_random_specs_pass_check_grads(text):
    net = netc.compile(text, dtype="float64")
    nt.check_grads(net, order=2 if net.graph.losses else 1)


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
@pytest.mark.parametrize("op", nt.STRATEGY_OPS)
def test_every_op_passes_check_grads(op, data):
    case = data.draw(nt.op_cases(op))
    net = netc.compile(case.spec, dtype="float64")
    report = nt.check_grads(net)
    assert any(r.what == case.node for r in report.rows)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=3), st.integers(0, 1000))
def test_inputs_stay_away_from_kinks_and_ties(shape, seed):
    x = nt._distinct(np.random.default_rng(seed), tuple(shape))
    flat = np.sort(x.ravel())
    step = 4.0 / (flat.size + flat.size % 2)
    assert np.abs(flat).min() >= 0.4 * step  # relu, threshold: 0 is never near
    assert flat.size == 1 or np.diff(flat).min() >= 0.8 * step  # max-pool, maxout: no ties


def test_inputs_for_a_network_respect_ids_and_probabilities():
    net = netc.compile("""netc: 1
inputs: {ids: {shape: [T], dtype: int32}, p: [3], t: [3]}
outputs: [e]
layers:
  - embedding: {vocab: 5, dim: 2, in: ids, name: e}
loss: {binary_cross_entropy: {logits: p, labels: t, from_logits: false}}
""", dtype="float64")

    @settings(max_examples=10, deadline=None)
    @given(nt.inputs_for(net))
    def check(inputs):
        assert inputs["ids"].dtype == np.int32 and 0 <= inputs["ids"].min() and inputs["ids"].max() < 5
        assert 0 < inputs["p"].min() and inputs["p"].max() < 1  # a probability, clear of the clip
        assert inputs["ids"].shape[0] == inputs["p"].shape[0]
    check()


def test_a_wrong_jvp_is_named(monkeypatch):
    op = REGISTRY["tanh"]
    right = type(op).emit_jvp

    def wrong(self, node, e):
        lines = right(self, node, e)
        return lines + [f"{e.dy}[...] *= 1.01"] if self.name == "tanh" else lines
    monkeypatch.setattr(type(op), "emit_jvp", wrong)
    net = netc.compile(nt.render("broken", {"x": ([3], "float")},
                                 [("dense", {"units": 2}), ("tanh", {"name": "squash"}), ("dense", {"units": 2})]),
                       dtype="float64")
    with pytest.raises(AssertionError) as err:
        nt.check_grads(net)
    text = str(err.value)
    for part in ("op tanh", "node 'squash'", "mode dot", "order 1", "dtype float64",
                 "autodiff: <u, J v> from the JVP", "<J^T u, v> from the VJP"):
        assert part in text, (part, text)


def test_a_wrong_vjp_fails_against_finite_differences(monkeypatch):
    op = REGISTRY["dense"]
    right = type(op).emit_vjp

    def wrong(self, node, e):
        lines = right(self, node, e)
        return lines + ([f"{e.gp['bias']}[0] += 0.1"] if e.gp.get("bias") else [])
    monkeypatch.setattr(type(op), "emit_vjp", wrong)
    net = netc.compile(nt.render("broken_vjp", {"x": ([3], "float")}, [("dense", {"units": 2, "name": "d"})]),
                       dtype="float64")
    report = nt.check_grads(net, raise_on_failure=False)
    failing = {(r.mode, r.what) for r in report.failures()}
    assert ("rev", "d.bias") in failing and ("dot", "d") in failing
    assert ("fwd", "d") not in failing
    message = nt.failure_message(report)
    assert "op dense" in message and "mode dot" in message


def test_check_grads_in_float32_uses_looser_tolerances():
    net = netc.compile(nt.render("f32", {"x": ([4], "float")}, [("dense", {"units": 3}), ("sigmoid", {})]))
    report = nt.check_grads(net, dtype="float32", modes=("fwd", "rev"))
    assert report.dtype == "float32" and report.ok


def test_check_grads_order_2_checks_hvp_against_the_loss():
    net = netc.compile(nt.render("h", {"x": ([3], "float"), "t": ([2], "float")},
                                 [("dense", {"units": 4}), ("tanh", {}), ("dense", {"units": 2, "name": "y"})],
                                 {"mse": {"pred": "y", "target": "t"}}))
    report = nt.check_grads(net, order=2)
    modes = {r.mode for r in report.rows}
    assert {"fwd", "rev", "dot", "hvp", "sym"} <= modes
    hvp = next(r for r in report.rows if r.mode == "hvp")
    assert hvp.order == 2 and hvp.rel_err < 1e-5


KINKED = """netc: 1
inputs: {x: [1], y: [1]}
outputs: [act]
layers:
  - dense: {units: 1, name: pre}
  - relu: {name: act}
loss: {mse: {pred: act, target: y}}
"""


def _on_a_kink():
    net = netc.compile(KINKED, dtype="float64")
    net.params["pre.weight"][...] = 1.0
    net.params["pre.bias"][...] = -1.0 + 1e-12  # the relu's input is 1e-12: inside every step tried
    return net, {"x": np.ones((1, 1)), "y": np.zeros((1, 1))}


def test_a_kink_inside_every_step_is_marked_not_failed():
    net, inputs = _on_a_kink()
    report = nt.check_grads(net, inputs=inputs, raise_on_failure=False)
    assert report.ok
    kinked = {(r.mode, r.what) for r in report.rows if r.kink}
    assert ("fwd", "act") in kinked and ("rev", "pre.bias") in kinked
    assert "k: the differences cross a kink" in nt.grad_table([report])


def test_a_wrong_rule_on_a_kink_still_fails_the_dot_test(monkeypatch):
    from netc.ops.activations import JVP

    net, inputs = _on_a_kink()
    monkeypatch.setitem(JVP, "relu", "sigmoid_jvp({y}, {dx}, {dy})")  # wrong: y (1 - y) dx, about 0
    report = nt.check_grads(net, inputs=inputs, raise_on_failure=False)
    assert not report.ok and ("dot", "act") in {(r.mode, r.what) for r in report.failures()}


SMOOTH = [("dense", {"units": 5}), ("tanh", {}), ("dense", {"units": 5}), ("tanh", {}), ("dense", {"units": 3})]


@pytest.mark.parametrize("seed", range(4))
def test_rounding_at_the_smallest_step_is_measured_and_allowed(seed):
    # rtol 1e-13 is below what any step's differences reach (truncation at the large steps,
    # rounding of f, 1e-9 relative, at the smallest): rows pass on the measured rounding alone
    net = netc.compile(nt.render("smooth", {"x": ([4], "float")}, SMOOTH), dtype="float64")
    report = nt.check_grads(net, rtol=1e-13, atol=0, seed=seed, raise_on_failure=False)
    assert report.ok, nt.grad_table([report])
    rounded = [r for r in report.rows if r.rounding > 0]
    assert rounded and all(r.rounding < 1e-6 for r in rounded)
    assert "r: agrees within the differences' measured rounding error" in nt.grad_table([report])


def test_a_wrong_vjp_still_fails_with_the_rounding_allowed(monkeypatch):
    op = REGISTRY["dense"]
    right = type(op).emit_vjp

    def wrong(self, node, e):
        lines = right(self, node, e)
        return lines + ([f"{e.gp['bias']}[0] += 1e-5"] if e.gp.get("bias") and node.name == "d" else [])
    monkeypatch.setattr(type(op), "emit_vjp", wrong)
    net = netc.compile(nt.render("shifted", {"x": ([4], "float")}, SMOOTH[:-1] + [("dense", {"units": 3, "name": "d"})]),
                       dtype="float64")
    report = nt.check_grads(net, rtol=1e-13, atol=0, raise_on_failure=False)
    bad = {r.what: r for r in report.failures() if r.mode == "rev"}
    assert set(bad) == {"d.bias"} and 0 < bad["d.bias"].rounding < 1e-7
