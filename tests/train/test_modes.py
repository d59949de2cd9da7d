"""Gradient-norm clipping, and the train/eval modes of dropout and batch normalisation."""
import numpy as np

import netc

from _trainspecs import MLP, blobs

BN = """netc: 1
name: tiny_bn
inputs:
  x: [4]
  y: [2]
layers:
  - dense: {units: 6}
  - batchnorm
  - dense: {units: 2, name: out}
loss:
  mse: {pred: out, target: y}
"""


def test_clip_scales_the_gradient_to_the_norm():
    net = netc.compile(MLP.replace("momentum: 0.9", "momentum: 0.0"), dtype="float64")
    X, y = blobs(8)
    X = X.astype(np.float64) * 10
    _, grads = net.loss_and_grad(seed=0, x=X, label=y)
    g = net.G.copy()
    norm = np.sqrt((g ** 2).sum())
    clip = norm / 4
    before = net.P.copy()
    net.train_step(lr=0.1, clip=clip, seed=0, x=X, label=y)
    np.testing.assert_allclose(net.P, before - 0.1 * g * (clip / norm), rtol=1e-10, atol=1e-12)
    before = net.P.copy()  # a clip above the norm changes nothing
    _, _ = net.loss_and_grad(seed=1, x=X, label=y)
    g = net.G.copy()
    net.train_step(lr=0.1, clip=1e9, seed=1, x=X, label=y)
    np.testing.assert_allclose(net.P, before - 0.1 * g, rtol=1e-10, atol=1e-12)


def test_dropout_is_random_in_training_and_off_in_eval():
    net = netc.compile(MLP)
    X, y = blobs(16)
    a = net.forward(training=True, seed=1, x=X)["logits"]
    b = net.forward(training=True, seed=2, x=X)["logits"]
    c = net.forward(training=True, seed=1, x=X)["logits"]
    assert not np.array_equal(a, b) and np.array_equal(a, c)  # random, but seeded
    e1 = net.forward(training=False, seed=1, x=X)["logits"]
    e2 = net.forward(training=False, seed=2, x=X)["logits"]
    np.testing.assert_array_equal(e1, e2)
    l1, o1 = net.evaluate(seed=1, x=X, label=y)
    l2, o2 = net.evaluate(seed=9, x=X, label=y)
    assert l1 == l2 and np.array_equal(o1["logits"], e1)


def test_batchnorm_uses_batch_statistics_in_training_and_running_ones_in_eval():
    net = netc.compile(BN)
    rng = np.random.default_rng(0)
    X = rng.normal(3, 2, (16, 4)).astype(np.float32)
    Y = rng.normal(0, 1, (16, 2)).astype(np.float32)
    train_a = net.forward(training=True, x=X)["out"]
    train_b = net.forward(training=True, x=X[:8])["out"]
    assert not np.allclose(train_a[:8], train_b)  # depends on the rest of the batch
    eval_a = net.forward(training=False, x=X)["out"]
    eval_b = net.forward(training=False, x=X[:8])["out"]
    np.testing.assert_allclose(eval_a[:8], eval_b, rtol=1e-6)  # each example on its own
    assert not np.allclose(train_a, eval_a)
    for _ in range(30):  # training moves the running statistics, which eval then uses
        net.train_step(lr=0.01, x=X, y=Y)
    assert not np.allclose(net.forward(training=False, x=X)["out"], eval_a)
    np.testing.assert_array_equal(net.forward(training=False, x=X)["out"], net.forward(training=False, x=X)["out"])
