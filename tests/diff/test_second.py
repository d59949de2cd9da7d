"""Second order: each op's vjp_tangent against central differences of its own VJP kernels, and
net.hvp (forward-over-reverse) against differences of reverse-mode gradients."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netc
import netc.testing as nt
from netc.diff.forward import differentiable_slots
from netc.diff.second import forward_sweep, node_vjp
from netc.lower.emit import run_node
from netc.ops.base import REGISTRY, Op


def check_vjp_tangent(graph, params, inputs, name, rng, training=False, seed=0, h=1e-5, rtol=1e-6):
    """At node `name` of a float64 graph: vjp_tangent along a random (dx, dp) against
    (VJP(x + h dx, p + h dp; gy) - VJP(x - h dx, p - h dp; gy)) / 2h for a random gy."""
    node = graph.node(name)
    values, _, _ = forward_sweep(graph, params, inputs, {}, training, seed)
    xs = [values[s] for s in node.inputs]
    ps = {k: params[f"{name}.{k}"] for k in node.params}
    need = [ok and graph.node(s).type.is_float for s, ok in zip(node.inputs, differentiable_slots(node))]
    dxs = [rng.standard_normal(x.shape) if ok else None for x, ok in zip(xs, need)]
    dps = {k: rng.standard_normal(p.shape) if node.params[k].trainable else None for k, p in ps.items()}
    kw = dict(training=training, seed=seed, need_gx=need)
    out = run_node(graph, name, xs, ps, dxs=dxs, dps=dps, **kw)
    gy = rng.standard_normal(out["y"].shape)
    gxs, gps = node.op.vjp_tangent(node, xs, ps, out["y"], gy, dxs, dps, out["dy"], out["ws"], training,
                                   node_vjp(graph, name, **kw))
    assert len(gxs) == len(xs)

    def vjp(sign):
        xs2 = [x + sign * h * d if d is not None else x for x, d in zip(xs, dxs)]
        ps2 = {k: p + sign * h * dps[k] if dps[k] is not None else p for k, p in ps.items()}
        return run_node(graph, name, xs2, ps2, gy=gy, **kw)

    up, down = vjp(1), vjp(-1)
    pairs = [(f"x{i}", gxs[i], (up["gx"][i] - down["gx"][i]) / (2 * h)) for i in range(len(xs)) if need[i]]
    pairs += [(k, gps.get(k), (up["gp"][k] - down["gp"][k]) / (2 * h)) for k in up["gp"]]
    for what, autodiff, numeric in pairs:
        autodiff = np.zeros_like(numeric) if autodiff is None else autodiff
        assert autodiff.shape == numeric.shape, (what, autodiff.shape, numeric.shape)
        scale = max(1.0, np.abs(numeric).max(initial=0))
        np.testing.assert_allclose(autodiff, numeric, rtol=0, atol=rtol * scale * 10,
                                   err_msg=f"{node.op.name} ({name}): vjp_tangent for {what}")


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
@pytest.mark.parametrize("op", nt.STRATEGY_OPS)
def test_every_op_vjp_tangent_matches_differences_of_its_vjp(op, data):
    case = data.draw(nt.op_cases(op))
    net = netc.compile(case.spec, dtype="float64")
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    inputs = nt.random_inputs(net.graph, rng)
    for training in ([False, True] if op in ("batchnorm", "dropout") else [False]):
        check_vjp_tangent(net.graph, net.params, inputs, case.node, rng, training=training)


def test_every_op_has_a_second_order_rule():
    missing = [n for n, op in REGISTRY.items() if not op.piecewise_linear
               and type(op).vjp_tangent is Op.vjp_tangent]
    assert not missing, f"no vjp_tangent and not piecewise_linear: {missing}"
