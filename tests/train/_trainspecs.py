"""Tiny specs and data for the training tests: few parameters, few ops, so a cold Numba cache
compiles little (dense, rnn, lstm, one_hot, embedding, dropout, batchnorm, the losses)."""
import itertools

import numpy as np

MLP = """netc: 1
name: tiny_mlp
inputs:
  x: [4]
  label: {shape: [], dtype: int32}
layers:
  - dense: {units: 8}
  - tanh
  - dropout: {rate: 0.25}
  - dense: {units: 3, name: logits}
loss:
  softmax_cross_entropy: {logits: logits, labels: label}
train:
  optimizer: {sgd: {lr: 0.1, momentum: 0.9}}
  batch: 8
  epochs: 2
  validation: 0.25
  seed: 3
"""

IMAGES = """netc: 1
name: tiny_images
inputs:
  image: [1, 6, 6]
  label: {shape: [], dtype: int32}
layers:
  - flatten
  - dense: {units: 3, name: logits}
loss:
  softmax_cross_entropy: {logits: logits, labels: label}
train:
  optimizer: {sgd: {lr: 0.1}}
  batch: 8
  epochs: 2
  validation: 0.0
  augment: [hflip, {rotation: {degrees: 15}}, random_crop, random_erasing, contrast, color_jitter, scale_crop]
  mixup: {alpha: 0.4}
"""

CHAR = """netc: 1
name: tiny_char
inputs:
  chars: {shape: [T], dtype: int32}
  next_chars: {shape: [T], dtype: int32}
  h0: [16]
layers:
  - one_hot: {classes: 6, in: chars}
  - rnn: {units: 16, state: h0, name: rnn}
  - dense: {units: 6, name: logits}
loss:
  softmax_cross_entropy: {logits: logits, labels: next_chars}
train:
  optimizer: {adam: {lr: 0.05}}
  batch: 4
  epochs: 12
  bptt: 8
  clip_norm: 5.0
  validation: 0.0
"""

SEQ2SEQ = """netc: 1
name: tiny_s2s
inputs:
  source: {shape: [T], dtype: int32}
  target_in: {shape: [T], dtype: int32}
  target_out: {shape: [T], dtype: int32}
layers:
  - embedding: {vocab: 12, dim: 8, in: source}
  - lstm: {units: 16, return: state, name: encoder}
  - embedding: {vocab: 12, dim: 8, in: target_in}
  - lstm: {units: 16, state: encoder, return: sequence, name: decoder}
  - dense: {units: 12, name: logits}
loss:
  softmax_cross_entropy: {logits: logits, labels: target_out}
train:
  optimizer: {adam: {lr: 0.05}}
  batch: 8
  epochs: 30
  validation: 0.0
"""


def blobs(n=48, seed=0):
    """Three separable classes in 4 features."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(0, 0.3, (n, 4)) + np.eye(3, 4)[y] * 2
    return X.astype(np.float32), y.astype(np.int32)


def reversal_pairs():
    words = "a b c d".split()
    return "".join(" ".join(p) + "\t" + " ".join(reversed(p)) + "\n" for p in itertools.product(words, repeat=3))
