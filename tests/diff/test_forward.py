"""Forward mode: the tangent graph, its plan and its generated entry point, and the Network API
built on it (jvp, vjp seeded at outputs, jacobian both ways, hvp)."""
import numpy as np
import pytest

import netc
from netc.diff.forward import forward_mode, tangent_text
from netc.plan import make_jvp_plan

MLP = """netc: 1
name: fwd_mlp
inputs: {x: [5], label: {shape: [], dtype: int32}}
layers:
  - dense: {units: 6}
  - tanh
  - dense: {units: 4}
  - sigmoid: {name: hidden}
  - dense: {units: 3, name: logits}
loss: {softmax_cross_entropy: {logits: logits, labels: label}}
"""

DAG = """netc: 1
name: fwd_dag
inputs: {a: [4], b: [4]}
outputs: [out]
layers:
  - dense: {units: 4, in: a, name: da}
  - tanh: {name: ta}
  - mul: {in: [ta, b], name: m}
  - add: {in: [m, da], name: out}
"""


@pytest.fixture(scope="module")
def mlp():
    return netc.compile(MLP, dtype="float64", seed=1)


@pytest.fixture(scope="module")
def x():
    rng = np.random.default_rng(0)
    return {"x": rng.standard_normal((3, 5)), "label": np.array([0, 2, 1], np.int32)}


def fd_forward(net, inputs, tangents, names, h=1e-6):
    """Central differences of the named outputs along tangents (inputs and parameters)."""
    def at(sign):
        saved = {k: net.params[k].copy() for k in tangents if k in net.params}
        for k in saved:
            net.params[k][...] += sign * h * tangents[k]
        moved = {k: a + sign * h * tangents[k] if k in tangents else a for k, a in inputs.items()}
        out = net.jvp(moved, {}, names)[0]
        for k, a in saved.items():
            net.params[k][...] = a
        return out
    up, down = at(1), at(-1)
    return {n: (up[n] - down[n]) / (2 * h) for n in names}


def test_tangent_graph_follows_seeds():
    g = netc.parse(DAG, dtype="float64")
    only_b = forward_mode(g, ["b"])
    assert [s.node for s in only_b.order] == ["m", "out"]  # da and ta do not depend on b
    both = forward_mode(g, ["a"], ["da.weight"])
    assert [s.node for s in both.order] == ["da", "ta", "m", "out"]
    assert both.order[0].tangent_params == ["weight"] and both.order[2].tangent_inputs == [True, False]
    text = tangent_text(g, both)
    assert "t[da] = dense_jvp(t[a], t[da.weight], a)" in text
    with pytest.raises(ValueError, match="neither a float input nor a parameter"):
        forward_mode(g, ["nope"])


def test_jvp_plan_tangents_have_liveness_like_activations():
    g = netc.parse(MLP, dtype="float64")
    tan = forward_mode(g, ["x"])
    plan = make_jvp_plan(g, tan, ["logits"])
    kinds = [(s.kind, s.node) for s in plan.steps]
    assert kinds[:2] == [("fwd", "dense_1"), ("jvp", "dense_1")]  # a JVP right after its forward
    t = plan.buffers["t_dense_1"]
    assert t.kind == "tangent" and t.end == kinds.index(("jvp", "tanh_1"))
    # a chain's tangents do not all live at once: the arena reuses their memory
    offsets, total = plan.layout(8)
    assert total < sum(b.nbytes(8, None) for b in plan.arena_buffers())


def test_jvp_matches_central_differences_inputs_params_and_both(mlp, x):
    rng = np.random.default_rng(2)
    v = {"x": rng.standard_normal((3, 5)), "dense_2.weight": rng.standard_normal((6, 4)),
         "logits.bias": rng.standard_normal(3)}
    for keys in (["x"], ["dense_2.weight", "logits.bias"], list(v)):
        t = {k: v[k] for k in keys}
        outs, tans = mlp.jvp({"x": x["x"]}, t, ["hidden", "logits"])
        np.testing.assert_allclose(outs["logits"], mlp.forward(x=x["x"])["logits"], rtol=1e-12)
        fd = fd_forward(mlp, {"x": x["x"]}, t, ["hidden", "logits"])
        for n in fd:
            np.testing.assert_allclose(tans[n], fd[n], rtol=1e-6, atol=1e-9, err_msg=f"{keys} {n}")


def test_jvp_of_the_loss_and_of_a_dag():
    net = netc.compile(DAG, dtype="float64")
    rng = np.random.default_rng(3)
    inp = {"a": rng.standard_normal((2, 4)), "b": rng.standard_normal((2, 4))}
    v = {"a": rng.standard_normal((2, 4)), "b": rng.standard_normal((2, 4))}
    _, tans = net.jvp(inp, v)
    np.testing.assert_allclose(tans["out"], fd_forward(net, inp, v, ["out"])["out"], rtol=1e-6, atol=1e-9)


def test_vjp_is_the_transpose_of_jvp(mlp, x):
    rng = np.random.default_rng(4)
    v = {"x": rng.standard_normal((3, 5)), "dense_1.weight": rng.standard_normal((5, 6))}
    outs, tans = mlp.jvp({"x": x["x"]}, v, ["hidden", "logits"])
    u = {"hidden": rng.standard_normal(outs["hidden"].shape), "logits": rng.standard_normal(outs["logits"].shape)}
    g = mlp.vjp({"x": x["x"]}, u)
    assert {"x", "dense_1.weight", "logits.bias"} <= set(g)
    lhs = sum(np.vdot(u[n], tans[n]) for n in u)
    rhs = sum(np.vdot(g[k], v[k]) for k in v)
    assert abs(lhs - rhs) < 1e-12 * max(1, abs(lhs))


def test_vjp_at_the_loss_is_the_training_gradient(mlp, x):
    loss, grads = mlp.loss_and_grad(**x)
    grads = {k: a.copy() for k, a in grads.items()}
    g = mlp.vjp(x, {"loss": np.array(1.0)})
    for k in grads:
        np.testing.assert_allclose(g[k], grads[k], rtol=1e-12, atol=1e-15)
    assert mlp.grads is not None and np.allclose(mlp.grads["logits.bias"], grads["logits.bias"])  # untouched


def test_vjp_rejects_wrong_cotangents(mlp, x):
    with pytest.raises(netc.runtime.InputError, match="cotangent of 'logits' has shape"):
        mlp.vjp({"x": x["x"]}, {"logits": np.zeros((3, 4))})
    with pytest.raises(netc.runtime.InputError, match="tangent of 'x' has shape"):
        mlp.jvp({"x": x["x"]}, {"x": np.zeros((2, 5))})


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_jacobian_both_modes_agree_with_differences(mlp, x, mode):
    J = mlp.jacobian({"x": x["x"]}, wrt="x", of="logits", mode=mode)
    assert J.shape == (3, 3, 3, 5)
    h = 1e-6
    for i in range(3):
        for j in range(5):
            e = np.zeros((3, 5))
            e[i, j] = h
            col = (mlp.forward(x=x["x"] + e)["logits"] - mlp.forward(x=x["x"] - e)["logits"]) / (2 * h)
            np.testing.assert_allclose(J[:, :, i, j], col, rtol=1e-6, atol=1e-9)
    # examples do not interact: the per-example Jacobian is the diagonal of the full one
    P = mlp.jacobian({"x": x["x"]}, wrt="x", of="logits", mode=mode, per_example=True)
    assert P.shape == (3, 3, 5)
    for n in range(3):
        np.testing.assert_allclose(P[n], J[n, :, n, :], rtol=1e-12, atol=1e-15)


def test_jacobian_auto_picks_the_cheaper_mode(mlp, x, monkeypatch):
    calls = []
    for name in ("jvp", "vjp"):
        real = getattr(type(mlp), name)
        monkeypatch.setattr(mlp, name, lambda *a, _r=real, _n=name, **k: (calls.append(_n), _r(mlp, *a, **k))[1])
    mlp.jacobian({"x": x["x"]}, wrt="logits.bias", of="hidden", mode="auto")  # 3 in, 12 out: forward
    assert calls.count("jvp") == 1 + 3 and "vjp" not in calls
    calls.clear()
    mlp.jacobian({"x": x["x"]}, wrt="x", of="logits", mode="auto", per_example=True)  # 5 in, 3 out: reverse
    assert calls.count("vjp") == 3


def test_hvp_matches_differences_of_the_loss(x):
    net = netc.compile(MLP, seed=1)  # float32: hvp runs on a float64 twin with the same weights
    rng = np.random.default_rng(5)
    xs = {"x": x["x"].astype(np.float32), "label": x["label"]}
    v = {k: rng.standard_normal(p.shape) for k, p in net.params.items()}
    u = {k: rng.standard_normal(p.shape) for k, p in net.params.items()}
    hv = net.hvp(xs, v)
    assert all(a.dtype == np.float64 for a in hv.values())
    twin = net._float64_twin()
    w = twin.P.copy()
    h = 1e-4

    def loss(a, b):
        for k in v:
            twin.params[k][...] += a * h * v[k] + b * h * u[k]
        out = twin.jvp({"x": x["x"], "label": x["label"]}, {}, ["loss"])[0]["loss"]
        twin.P[...] = w
        return float(out)
    numeric = (loss(1, 1) - loss(1, -1) - loss(-1, 1) + loss(-1, -1)) / (4 * h * h)
    autodiff = sum(np.vdot(u[k], hv[k]) for k in v)
    assert abs(autodiff - numeric) <= 1e-5 * max(1.0, abs(numeric))
    np.testing.assert_array_equal(twin.P, net.P.astype(np.float64))  # weights restored


def test_emit_tangent_on_the_command_line(capsys):
    from pathlib import Path

    from netc.cli import main

    spec = Path(__file__).resolve().parents[2] / "specs" / "xor_mlp.yaml"
    assert main(["compile", str(spec), "--emit", "tangent"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# tangent of xor_mlp: seeded at t[x]")
    assert "t[prob] = sigmoid_jvp(t[logit], logit)" in out
