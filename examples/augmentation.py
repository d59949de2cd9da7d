"""Data augmentation (and mixup) raise test accuracy when the training set is small.

The course: data augmentation ("random erasing, horizontal flipping, rotation, scaling (with
cropping), cropping, contrast, color") fills the input distribution with plausible new examples,
and mixup (Zhang et al. 2018) trains on convex combinations of pairs of examples and of their
one-hot labels. Setting: scikit-learn's handwritten digits, 200 training images (20 per class,
a seeded stratified draw) and the other 1,597 as the test set. The images go in as netc's
28x28 upsampling of the 8x8 originals (each pixel repeated 3x3, a 2-pixel border), so a shift
of one or two pixels or a 10 degree turn is a sub-pixel change of the original scan, the kind of
variation real handwriting has. The same MLP (784-256-10, relu, Adam lr 0.003, batch 32) is
trained for the same number of epochs in four ways, from the same initial weights:

  none                  the 200 images as they are
  augment               the spec's train.augment: random_crop (pad 2), rotation (10 degrees),
                        scale_crop (0.9 to 1.1), drawn anew for every batch
  mixup                 train.mixup with alpha 0.4
  augment + mixup       both

Prints the test accuracy of each, per seed and on average, and plots them (augmentation.png).
--quick trains only "none" and "augment + mixup", for two seeds.

    python examples/augmentation.py [--quick] [--out DIR] [--train N] [--epochs E] [--seeds K]
"""
from __future__ import annotations

import numpy as np

import netc
from netc.train.data import dataset_for
from netc.train.loop import Config, evaluate, fit

from _common import parser, pyplot, quiet, save, split, take

AUGMENT = "[{random_crop: {pad: 2}}, {rotation: {degrees: 10}}, {scale_crop: {min: 0.9, max: 1.1}}]"
SETTINGS = {"none": (False, False), "augment": (True, False), "mixup": (False, True),
            "augment + mixup": (True, True)}


def spec(augment, mixup):
    extra = (f"  augment: {AUGMENT}\n" if augment else "") + ("  mixup: {alpha: 0.4}\n" if mixup else "")
    return f"""netc: 1
name: digits_mlp28
inputs:
  image: [1, 28, 28]
  label: {{shape: [], dtype: int32}}
layers:
  - flatten
  - dense: {{units: 256}}
  - relu
  - dense: {{units: 10, name: logits}}
loss:
  softmax_cross_entropy: {{logits: logits, labels: label}}
train:
  optimizer: {{adam: {{lr: 0.003}}}}
  batch: 32
{extra}"""


def run(setting, n_train, epochs, seed):
    graph = netc.parse(spec(*SETTINGS[setting]), f"<digits {setting}>")
    data, _ = dataset_for(graph, "digits")
    n = len(data["label"])
    test_rows, train_rows = split(n, n_train / n, seed, data["label"])  # the small part is for training
    train, test = take(data, train_rows), take(data, test_rows)
    net = netc.Network(graph, seed=seed)
    cfg = Config.from_spec(graph.train, epochs=epochs, validation=0.0, seed=seed)
    fit(net, train, None, cfg, progress=False, log=quiet)
    return {"test_accuracy": evaluate(net, test)["accuracy"], "n_train": len(train_rows), "n_test": len(test_rows)}


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--train", type=int, default=200, help="training images (default 200)")
    ap.add_argument("--epochs", type=int, default=None, help="default 150")
    ap.add_argument("--seeds", type=int, default=None, help="default 5, 2 with --quick")
    args = ap.parse_args(argv)
    epochs = args.epochs or 150
    seeds = list(range(args.seed, args.seed + (args.seeds or (2 if args.quick else 5))))
    settings = ["none", "augment + mixup"] if args.quick else list(SETTINGS)
    acc = {s: [] for s in settings}
    for seed in seeds:
        for s in settings:
            r = run(s, args.train, epochs, seed)
            acc[s].append(r["test_accuracy"])
            print(f"seed {seed}, {s:<16} ({r['n_train']} training, {r['n_test']} test images, {epochs} epochs): "
                  f"test accuracy {r['test_accuracy']:.4f}")
    mean = {s: float(np.mean(v)) for s, v in acc.items()}
    for s in settings:
        wins = sum(a > b for a, b in zip(acc[s], acc["none"]))
        print(f"{s:<16} mean test accuracy {mean[s]:.4f} ({mean[s] - mean['none']:+.4f} against none; "
              f"better than none in {wins} of {len(seeds)} seeds)")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, s in enumerate(settings):
        ax.scatter([i] * len(acc[s]), acc[s], color="C0", alpha=0.6)
        ax.bar(i, mean[s], color="C0", alpha=0.3)
    ax.set_xticks(range(len(settings)), settings)
    lo = min(min(v) for v in acc.values())
    ax.set_ylim(lo - 0.02, 1.0)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"digits, {args.train} training images, MLP 784-256-10 ({len(seeds)} seed(s))", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    save(fig, args.out, "augmentation.png")
    return {"accuracy": acc, "mean": mean, "seeds": seeds}


if __name__ == "__main__":
    main()
