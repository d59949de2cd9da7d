"""The perceptron and delta rules: exactly the course's updates, and the threshold's true
derivative left alone under every other optimizer."""
import numpy as np
import pytest

import netc
from netc.train.rules import reference_step

ROOT = __import__("pathlib").Path(__file__).parents[2]
AND = (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32), np.array([[0], [0], [0], [1]], np.float32))


@pytest.mark.parametrize("batch", [1, 3])
def test_perceptron_rule_is_rosenblatts_update(batch):
    net = netc.compile(ROOT / "specs/perceptron.yaml", dtype="float64")
    rng = np.random.default_rng(0)
    X = rng.integers(-2, 3, (12, 2)).astype(np.float64)
    t = (X @ [1.0, -2.0] + 0.5 >= 0).astype(np.float64)[:, None]
    w, b = np.zeros((2, 1)), np.zeros(1)
    for i in range(0, 12, batch):
        w, b = reference_step(w, b, X[i:i + batch], t[i:i + batch], 1.0, threshold=True)
        net.train_step(x=X[i:i + batch], target=t[i:i + batch])
        np.testing.assert_array_equal(net.params["z.weight"], w)
        np.testing.assert_array_equal(net.params["z.bias"], b)
    assert np.any(w != 0)


def test_perceptron_learns_and_but_never_xor():
    X, t = AND
    net = netc.compile(ROOT / "specs/perceptron.yaml")
    for _ in range(10):
        for i in range(4):
            net.train_step(x=X[i:i + 1], target=t[i:i + 1])
    np.testing.assert_array_equal(net.forward(x=X)["y"], t)
    xor = np.array([[0], [1], [1], [0]], np.float32)
    net = netc.compile(ROOT / "specs/perceptron.yaml")
    for _ in range(25):
        for i in range(4):
            net.train_step(x=X[i:i + 1], target=xor[i:i + 1])
    assert np.any(net.forward(x=X)["y"] != xor)


def test_threshold_keeps_its_true_zero_derivative_under_sgd():
    text = (ROOT / "specs/perceptron.yaml").read_text().replace("{perceptron: {lr: 1.0}}", "{sgd: {lr: 1.0}}")
    net = netc.compile(text)
    assert net.graph.node("y").op.name == "threshold" and net.rule is None
    net.params["z.bias"][...] = -0.5
    _, grads = net.loss_and_grad(x=AND[0], target=AND[1])
    assert all(np.all(g == 0) for g in grads.values())
    before = net.P.copy()
    net.train_step(x=AND[0], target=AND[1])
    np.testing.assert_array_equal(net.P, before)


def test_delta_rule_is_gradient_descent_on_half_squared_error():
    net = netc.compile(ROOT / "specs/linear_neuron.yaml", dtype="float64")
    rng = np.random.default_rng(1)
    X = rng.integers(0, 5, (8, 3)).astype(np.float64)
    price = (X @ [150.0, 50.0, 100.0])[:, None] / 100
    w, b = net.params["y.weight"].copy(), net.params["y.bias"].copy()
    for i in range(0, 8, 2):
        w, b = reference_step(w, b, X[i:i + 2], price[i:i + 2], 0.05, threshold=False)
        net.train_step(x=X[i:i + 2], price=price[i:i + 2])
        np.testing.assert_allclose(net.params["y.weight"], w, rtol=1e-12)
        np.testing.assert_allclose(net.params["y.bias"], b, rtol=1e-12)
    for _ in range(300):  # online delta rule: it finds the prices of fish, chips and ketchup
        for i in range(8):
            net.train_step(lr=0.02, x=X[i:i + 1], price=price[i:i + 1])
    np.testing.assert_allclose(net.params["y.weight"].ravel(), [1.5, 0.5, 1.0], atol=0.05)


def test_the_rules_refuse_networks_they_do_not_fit():
    text = (ROOT / "specs/linear_neuron.yaml").read_text().replace("{delta: {lr: 0.05}}", "{perceptron: {lr: 1.0}}")
    with pytest.raises(ValueError, match="no 'threshold' layer"):
        netc.compile(text)
    text = (ROOT / "specs/xor_mlp.yaml").read_text().replace("{sgd: {lr: 0.5, momentum: 0.9}}", "{delta: {lr: 0.1}}")
    with pytest.raises(ValueError, match="needs one 'mse' loss, found binary_cross_entropy"):
        netc.compile(text)
