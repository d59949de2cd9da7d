"""A deep plain CNN trains worse than the same depth with residual connections.

The course (He et al., CVPR 2015): "Learning residual is easier"; a plain deep network's training
error is higher than a residual network's of the same depth. Two CNNs on scikit-learn's 8x8
digits as [1, 8, 8] images, alike in every layer and initial weight but for the shortcuts: a
stem convolution, then `--depths` 3x3 convolutions (each followed by batch normalisation and relu;
no bias, as batch norm follows), global average pooling and a dense classifier. The residual
version groups the convolutions in pairs, conv-bn-relu-conv-bn, adds the pair's input and then
applies relu (He et al.'s basic block, identity shortcut). SGD with momentum on a seeded,
stratified 80/20 split. Prints the training loss per epoch and the test accuracy, and plots the
curves (residual_vs_plain.png).

    python examples/residual_vs_plain.py [--quick] [--out DIR] [--depths D1,D2] [--channels C] [--epochs E]
"""
from __future__ import annotations

import numpy as np

import netc
from netc.train.data import dataset_for
from netc.train.loop import Config, evaluate, fit

from _common import Timer, parser, pyplot, quiet, save, split, take

HEAD = """netc: 1
name: {name}
inputs:
  image: [1, 8, 8]
  label: {{shape: [], dtype: int32}}
defaults:
  conv2d: {{bias: false}}
blocks:
  pair:                       # two conv-bn layers, then relu: the plain network's unit
    params: {{channels: int}}
    layers:
      - conv2d: {{filters: channels, kernel: 3, pad: 1}}
      - batchnorm
      - relu
      - conv2d: {{filters: channels, kernel: 3, pad: 1}}
      - batchnorm
      - relu
  residual:                   # the same two layers with an identity shortcut around them
    params: {{channels: int}}
    layers:
      - conv2d: {{filters: channels, kernel: 3, pad: 1}}
      - batchnorm
      - relu
      - conv2d: {{filters: channels, kernel: 3, pad: 1}}
      - batchnorm
      - add: {{in: [$last, $input]}}
      - relu
layers:
  - conv2d: {{filters: {channels}, kernel: 3, pad: 1, name: stem}}
  - batchnorm
  - relu
  - {block}: {{channels: {channels}, repeat: {pairs}}}
  - globalavgpool2d
  - dense: {{units: 10, name: logits}}
loss:
  softmax_cross_entropy: {{logits: logits, labels: label}}
train:
  optimizer: {{sgd: {{lr: 0.05, momentum: 0.9}}}}
"""


def spec(kind, depth, channels):
    block = {"plain": "pair", "residual": "residual"}[kind]
    return HEAD.format(name=f"{kind}_{depth}", channels=channels, block=block, pairs=depth // 2)


def run(kind, depth, args, epochs, n_train):
    graph = netc.parse(spec(kind, depth, args.channels), f"<{kind}_{depth}>")
    data, _ = dataset_for(graph, "digits")
    train_rows, test_rows = split(len(data["label"]), 0.2, args.seed, data["label"])
    train_rows = train_rows[np.random.default_rng(args.seed).permutation(len(train_rows))[:n_train]]
    train, test = take(data, np.sort(train_rows)), take(data, test_rows)
    net = netc.Network(graph, seed=args.seed)
    losses, train_acc, test_acc = [], [], []
    with Timer() as t:
        for e in range(epochs):
            h = fit(net, train, None, Config(epochs=1, batch=32, lr=args.lr, seed=args.seed * 1000 + e),
                    progress=False, log=quiet)
            losses.append(h[-1]["loss"])
            train_acc.append(evaluate(net, train)["accuracy"])
            test_acc.append(evaluate(net, test)["accuracy"])
    final = evaluate(net, train)
    return {"loss": losses, "train_accuracy": train_acc, "test_accuracy": test_acc, "seconds": t.s,
            "final_train_loss": final["loss"], "params": int(sum(p.size for p in net.params.values()))}


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--depths", default=None, help="3x3 conv layers after the stem, even, comma-separated "
                                                   "(default 12,24, or 10 with --quick)")
    ap.add_argument("--channels", type=int, default=None, help="default 16, or 8 with --quick")
    ap.add_argument("--epochs", type=int, default=None, help="default 20, or 3 with --quick")
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args(argv)
    depths = [int(v) for v in (args.depths or ("10" if args.quick else "12,24")).split(",")]
    args.channels = args.channels or (8 if args.quick else 16)
    epochs = args.epochs or (3 if args.quick else 20)
    n_train = 480 if args.quick else 10 ** 9
    results = {}
    for depth in depths:
        for kind in ("plain", "residual"):
            r = results[(kind, depth)] = run(kind, depth, args, epochs, n_train)
            shown = range(epochs) if epochs <= 10 else [0, 1, 4, 9, epochs - 1]
            print(f"{kind:>8}, {depth + 1} conv layers (stem + {depth}), {args.channels} channels, {r['params']:,} "
                  f"parameters: training loss " + ", ".join(f"epoch {e + 1} {r['loss'][e]:.3f}" for e in shown))
            print(f"{'':>8}  after {epochs} epochs ({r['seconds']:.0f} s): training loss (eval mode) "
                  f"{r['final_train_loss']:.4f}, train accuracy {r['train_accuracy'][-1]:.3f}, "
                  f"test accuracy {r['test_accuracy'][-1]:.3f}; mean training loss over the epochs "
                  f"{np.mean(r['loss']):.3f}")

    plt = pyplot()
    fig, axes = plt.subplots(len(depths), 2, figsize=(11, 4 * len(depths)), squeeze=False)
    x = np.arange(1, epochs + 1)
    for row, depth in zip(axes, depths):
        for kind, c in (("plain", "C3"), ("residual", "C0")):
            r = results[(kind, depth)]
            row[0].semilogy(x, r["loss"], "o-", color=c, label=kind)
            row[1].plot(x, r["train_accuracy"], "o-", color=c, label=f"{kind}, train")
            row[1].plot(x, r["test_accuracy"], "s--", color=c, label=f"{kind}, test")
        row[0].set_title(f"training loss, {depth + 1} conv layers + dense")
        row[1].set_title(f"accuracy (eval mode), {depth + 1} conv layers")
        for ax in row:
            ax.set_xlabel("epoch")
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
    save(fig, args.out, "residual_vs_plain.png")
    return results


if __name__ == "__main__":
    main()
