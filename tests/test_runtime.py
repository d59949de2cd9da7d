"""The Network runtime: boundary checks, gradients, training, save/load, zero allocations."""
import os
from pathlib import Path

import numpy as np
import pytest

import netc
from netc.runtime import InputError

SPECS = Path(__file__).resolve().parent.parent / "specs"
MLP = """netc: 1
name: tiny_mlp
inputs: {x: [6], label: {shape: [], dtype: int32}}
layers:
  - dense: {units: 8}
  - tanh
  - dense: {units: 8}
  - relu
  - dense: {units: 3, name: logits}
loss: {softmax_cross_entropy: {logits: logits, labels: label}}
train: {optimizer: {sgd: {lr: 0.1, momentum: 0.9}}}
"""


@pytest.fixture(scope="module")
def mlp64():
    return netc.compile(MLP, dtype="float64", seed=3)


@pytest.fixture(scope="module")
def data64():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 6))
    label = rng.integers(0, 3, 10).astype(np.int32)
    return {"x": x, "label": label}


def test_forward_matches_numpy_reference(mlp64, data64):
    p = mlp64.params
    h = np.tanh(data64["x"] @ p["dense_1.weight"] + p["dense_1.bias"])
    h = np.maximum(h @ p["dense_2.weight"] + p["dense_2.bias"], 0)
    logits = h @ p["logits.weight"] + p["logits.bias"]
    out = mlp64.forward(x=data64["x"])
    np.testing.assert_allclose(out["logits"], logits, rtol=1e-10)


def test_gradients_match_central_differences(mlp64, data64):
    loss, grads = mlp64.loss_and_grad(**data64)
    grads = {k: g.copy() for k, g in grads.items()}
    rng = np.random.default_rng(1)
    for name, g in grads.items():
        p = mlp64.params[name]
        v = rng.standard_normal(p.shape)
        h = 1e-6
        p += h * v
        up, _ = mlp64.loss_and_grad(**data64)
        p -= 2 * h * v
        down, _ = mlp64.loss_and_grad(**data64)
        p += h * v
        numeric = (up - down) / (2 * h)
        assert abs(numeric - np.sum(g * v)) < 1e-6 * max(1.0, abs(numeric)), name


def test_training_lowers_the_loss():
    net = netc.compile(MLP, seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    label = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0).astype(np.int32)
    first = net.train_step(x=x, label=label)
    for _ in range(300):
        last = net.train_step(x=x, label=label)
    assert last < 0.3 * first


def test_xor_mlp_learns_xor():
    net = netc.compile(SPECS / "xor_mlp.yaml", seed=1)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    t = np.array([[0], [1], [1], [0]], np.float32)
    for _ in range(2000):
        loss = net.train_step(x=x, target=t)
    assert loss < 0.05
    prob = net.forward(x=x)["prob"]
    assert np.array_equal(prob > 0.5, t > 0.5)


@pytest.mark.parametrize("inputs, message", [
    ({"x": np.zeros((4, 6), np.float64), "label": np.zeros(4, np.int32)}, "input 'x' is float64, but the network expects float32"),
    ({"x": np.zeros((4, 5), np.float32), "label": np.zeros(4, np.int32)}, "input 'x' has shape (4, 5)"),
    ({"x": np.zeros((4, 6), np.float32)}, "input 'label' is missing"),
    ({"x": np.zeros((4, 6), np.float32), "label": np.zeros(5, np.int32)}, "batch size 5"),
    ({"x": np.zeros((6, 4), np.float32).T, "label": np.zeros(4, np.int32)}, "not C-contiguous"),
    ({"x": np.zeros((4, 6), np.float32), "label": np.array([0, 1, 3, 0], np.int32)}, "id 3, outside 0..2"),
    ({"x": np.zeros((4, 6), np.float32), "label": np.zeros(4, np.int32), "y": np.zeros(1)}, "unknown input 'y'"),
    ({"x": [[0.0] * 6], "label": np.zeros(1, np.int32)}, "must be a numpy array"),
])
def test_boundary_checks_name_the_input(inputs, message):
    net = netc.compile(MLP)
    with pytest.raises(InputError) as err:
        net.loss_and_grad(**inputs)
    assert message in str(err.value)


def test_save_and_load_round_trip(tmp_path, mlp64, data64):
    path = tmp_path / "w.npz"
    mlp64.save(path)
    assert os.listdir(tmp_path) == ["w.npz"]  # no temporary file left behind
    other = netc.compile(MLP, dtype="float64", seed=99)
    assert not np.allclose(other.params["logits.weight"], mlp64.params["logits.weight"])
    other.load(path)
    np.testing.assert_array_equal(other.forward(x=data64["x"])["logits"], mlp64.forward(x=data64["x"])["logits"])


def test_load_refuses_another_spec_and_damaged_files(tmp_path, mlp64):
    path = tmp_path / "w.npz"
    mlp64.save(path)
    different = netc.compile(MLP.replace("units: 8}\n  - relu", "units: 9}\n  - relu"), dtype="float64")
    with pytest.raises(ValueError, match="the spec has changed"):
        different.load(path)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable netc checkpoint"):
        mlp64.load(bad)


def test_warm_compiled_training_step_allocates_nothing():
    from numba.core.runtime import rtsys

    net = netc.compile(MLP, jit=True)
    x = np.ones((16, 6), np.float32)
    label = np.zeros(16, np.int32)
    for _ in range(3):
        net.train_step(x=x, label=label)
    before = rtsys.get_allocation_stats()
    for _ in range(5):
        net.train_step(x=x, label=label)
    after = rtsys.get_allocation_stats()
    assert after.alloc - before.alloc == 0
    assert after.free - before.free == 0


def test_compiled_tier_matches_the_python_tier():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((12, 6)).astype(np.float32)
    label = rng.integers(0, 3, 12).astype(np.int32)
    a, b = netc.compile(MLP, seed=2), netc.compile(MLP, seed=2, jit=True)
    for _ in range(3):
        la, lb = a.train_step(x=x, label=label), b.train_step(x=x, label=label)
        assert la == pytest.approx(lb, rel=1e-6)
    np.testing.assert_allclose(a.forward(x=x)["logits"], b.forward(x=x)["logits"], rtol=1e-5)


def test_arena_reuses_memory_in_inference():
    deep = MLP.replace("  - dense: {units: 3, name: logits}",
                       "\n".join(["  - dense: {units: 64}\n  - relu"] * 6) + "\n  - dense: {units: 3, name: logits}")
    net = netc.compile(deep)
    offsets, total = net.infer_plan.layout(32)
    naive = sum(b.nbytes(32, None) for b in net.infer_plan.arena_buffers())
    assert total < naive / 2


def test_no_gradient_for_data_inputs(mlp64):
    assert "x" not in mlp64.back.needs_grad
    names = [b.name for b in mlp64.train_plan.buffers.values() if b.kind == "grad"]
    assert "d_x" not in names


def test_inference_computes_activations_in_place():
    net = netc.compile(MLP, seed=4)
    plan = net.infer_plan
    aliased = {b.name: b.alias_of for b in plan.buffers.values() if b.alias_of}
    assert aliased == {"y_tanh_1": "y_dense_1", "y_relu_1": "y_dense_2"}
    offsets, _ = plan.layout(8)
    assert offsets["y_tanh_1"] == offsets["y_dense_1"]
    x = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32)
    p = {k: v.astype(np.float64) for k, v in net.params.items()}
    h = np.maximum(np.tanh(x @ p["dense_1.weight"] + p["dense_1.bias"]) @ p["dense_2.weight"] + p["dense_2.bias"], 0)
    expected = h @ p["logits.weight"] + p["logits.bias"]
    np.testing.assert_allclose(net.forward(x=x)["logits"], expected, rtol=1e-4, atol=1e-5)
    jit = netc.compile(MLP, seed=4, jit=True)
    np.testing.assert_allclose(jit.forward(x=x)["logits"], expected, rtol=1e-4, atol=1e-5)


def test_a_network_used_from_two_threads_runs_one_call_at_a_time():
    """The conv kernels run in parallel (prange) on Numba's workqueue, which aborts the process when
    two threads launch at once: the runtime's entry points serialize."""
    import threading

    net = netc.compile((Path(__file__).parent.parent / "specs" / "lenet5.yaml").read_text())
    x = np.random.default_rng(0).standard_normal((64, 1, 28, 28)).astype(np.float32)  # big enough for prange
    expected = net.forward(image=x)["logits"]
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(net.forward(image=x)["logits"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 6
    for r in results:
        np.testing.assert_array_equal(r, expected)
