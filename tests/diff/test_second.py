"""Second order: each op's vjp_tangent against central differences of its own VJP kernels, and
net.hvp (forward-over-reverse) against differences of reverse-mode gradients."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
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
    # a generic point: zero biases, and +-1 weights that cancel (a 1-unit relu RNN's orthogonal
    # init), put relu kinks exactly under a fresh network's point
    moved = {f"{name}.{k}" for k, p in node.params.items() if p.trainable}
    params = {k: p + rng.normal(0, 0.1, p.shape) if k in moved else p for k, p in params.items()}
    values, _, _ = forward_sweep(graph, params, inputs, None, training, seed)
    xs = [values[s] for s in node.inputs]
    ps = {k: params[f"{name}.{k}"] for k in node.params}
    need = [ok and graph.node(s).type.is_float for s, ok in zip(node.inputs, differentiable_slots(node))]
    # every float input moves, a loss's float labels too (their move changes the logits' gradient)
    dxs = [rng.standard_normal(x.shape) if graph.node(s).type.is_float else None for s, x in zip(node.inputs, xs)]
    dps = {k: rng.standard_normal(p.shape) if node.params[k].trainable else None for k, p in ps.items()}
    kw = dict(training=training, seed=seed, need_gx=need)
    out = run_node(graph, name, xs, ps, dxs=dxs, dps=dps, **kw)
    gy = rng.standard_normal(out["y"].shape)
    gxs, gps = node.op.vjp_tangent(node, xs, ps, out["y"], gy, dxs, dps, out["dy"], out["ws"], training,
                                   node_vjp(graph, name, **kw))
    assert len(gxs) == len(xs)

    def vjp(step):
        xs2 = [x + step * d if d is not None else x for x, d in zip(xs, dxs)]
        ps2 = {k: p + step * dps[k] if dps[k] is not None else p for k, p in ps.items()}
        return run_node(graph, name, xs2, ps2, gy=gy, **kw)

    def central(step):
        up, down = vjp(step), vjp(-step)
        return ([(up["gx"][i] - down["gx"][i]) / (2 * step) if need[i] else None for i in range(len(xs))],
                {k: (up["gp"][k] - down["gp"][k]) / (2 * step) for k in up["gp"]})

    # Richardson: (4 D(h/2) - D(h)) / 3 cancels the h^2 term, which near a probability of 0.005
    # (binary cross-entropy's 1/p^3) was 7e-5 of the value at h alone
    (gx1, gp1), (gx2, gp2) = central(h), central(h / 2)
    pairs = [(f"x{i}", gxs[i], (4 * gx2[i] - gx1[i]) / 3) for i in range(len(xs)) if need[i]]
    pairs += [(k, gps.get(k), (4 * gp2[k] - gp1[k]) / 3) for k in gp1]
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


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(nt.specs(max_layers=4, loss=True), st.integers(0, 2**32 - 1))
def test_hvp_matches_differences_of_gradients(text, seed):
    net = netc.compile(text, dtype="float64")
    assume(net.graph.losses and net.trainable)  # the strategy adds a loss where the last layer allows
    rng = np.random.default_rng(seed)
    nt.nudge_zeros(net.params, net.trainable, rng)  # zero biases put relu kinks right under the point
    inputs = nt.random_inputs(net.graph, rng)
    v = {k: rng.standard_normal(net.params[k].shape) for k in net.trainable}
    hv = net.hvp(inputs, v)
    assert set(hv) == set(net.trainable)
    cts = {ls: np.asarray(net.graph.node(ls).weight, np.float64) for ls in net.graph.losses}
    w = net.P.copy()

    def grads(h):
        for k in v:
            net.params[k][...] += h * v[k]
        try:
            return net.vjp(inputs, cts, wrt=net.trainable)
        finally:
            net.P[...] = w
    # differences of gradients straddle a kink within their step, the exact H v does not: the
    # check passes at the first step where they agree (a wrong rule agrees at none)
    for h in (1e-5, 1e-6, 1e-7):
        up, down = grads(h), grads(-h)
        numeric = {k: (up[k] - down[k]) / (2 * h) for k in v}
        scale = max(1.0, max(np.abs(a).max() for a in numeric.values()))
        worst = max(np.abs(hv[k] - numeric[k]).max() for k in v)
        if worst <= 1e-5 * scale:
            break
    assert worst <= 1e-5 * scale, f"H v differs from differences of gradients by {worst:.3g}\n{text}"


def test_hvp_of_a_float32_network_runs_on_its_float64_twin():
    net = netc.compile("netc: 1\ninputs: {x: [3], y: [2]}\nlayers:\n  - dense: {units: 4}\n  - tanh\n"
                       "  - dense: {units: 2, name: out}\nloss: {mse: {pred: out, target: y}}\n", seed=2)
    rng = np.random.default_rng(0)
    inputs = {"x": rng.standard_normal((5, 3)).astype(np.float32), "y": rng.standard_normal((5, 2)).astype(np.float32)}
    v = {k: rng.standard_normal(p.shape) for k, p in net.params.items()}
    hv = net.hvp(inputs, v)
    assert all(a.dtype == np.float64 for a in hv.values())
    twin = net._float64_twin()
    exact = twin.hvp({k: a.astype(np.float64) for k, a in inputs.items()}, v)
    for k in v:
        np.testing.assert_array_equal(hv[k], exact[k])
    with pytest.raises(ValueError, match="not a trainable parameter"):
        net.hvp(inputs, {"nope.weight": v["dense_1.weight"]})
