"""Squared error trains a softmax classifier more slowly than cross-entropy.

The course: "MSE is a very bad cost function for softmax output units. Why?" With cross-entropy,
dC/dz = y - t; with squared error on softmax outputs, the gradient is multiplied by the softmax
Jacobian y_i (delta_ij - y_j), which is nearly zero when an output is confidently wrong, so
learning stalls exactly where it is needed. Two networks that differ only in the loss, on
scikit-learn's 8x8 digits (a seeded, stratified 80/20 split): the same MLP 64-64-10 (tanh) and
the same initial weights; one trains with softmax cross-entropy on the logits, the other applies
softmax and then squared error against one-hot targets (netc's mse is the mean over all N x 10
elements; the loss is weighted by 10 so that it is the course's per-example sum of squares over
classes, averaged over the batch). Plain SGD (no momentum), batch 32, each loss at every learning
rate of a grid, so neither is judged at a learning rate that suits only the other. Prints the
training loss and test accuracy per epoch, the epochs each needs to reach 90% test accuracy, and
the mean test accuracy over the epochs (the area under the learning curve: higher is
faster), and plots the curves (mse_vs_crossentropy.png).

    python examples/mse_vs_crossentropy.py [--quick] [--out DIR] [--epochs E] [--lrs 0.01,0.1,...]
"""
from __future__ import annotations

import numpy as np

import netc
from netc.train.data import dataset_for
from netc.train.loop import Config, evaluate, fit

from _common import parser, pyplot, quiet, save, split, take

BODY = """netc: 1
name: {name}
inputs:
  pixels: [64]
  {label}
layers:
  - dense: {{units: 64}}
  - tanh
  - dense: {{units: 10, name: logits}}
{extra}loss:
  {loss}
train:
  optimizer: {{sgd: {{lr: 0.1}}}}
"""

SPECS = {
    "cross-entropy": BODY.format(name="softmax_xent", label="label: {shape: [], dtype: int32}", extra="",
                                 loss="softmax_cross_entropy: {logits: logits, labels: label}"),
    # softmax, then squared error against one-hot float targets (netc's loader one-hots class ids)
    "mse": BODY.format(name="softmax_mse", label="target: [10]", extra="  - softmax: {name: prob}\n",
                       loss="mse: {pred: prob, target: target, weight: 10}"),
}
TARGET = 0.90


def accuracy(net, kind, data):
    if kind == "cross-entropy":
        return evaluate(net, data)["accuracy"]
    prob = net.forward(pixels=data["pixels"])["prob"]
    return float((prob.argmax(1) == data["target"].argmax(1)).mean())


def run(kind, lr, epochs, seed):
    graph = netc.parse(SPECS[kind], f"<{kind}>")
    data, _ = dataset_for(graph, "digits")
    labels = data.get("label", data.get("target", np.zeros((1, 1))).argmax(-1))
    train_rows, test_rows = split(len(labels), 0.2, seed, labels)
    train, test = take(data, train_rows), take(data, test_rows)
    net = netc.Network(graph, seed=seed)  # the same seed: the same initial weights for both losses
    losses, accs = [], []
    for e in range(epochs):
        h = fit(net, train, None, Config(epochs=1, batch=32, lr=lr, seed=seed * 1000 + e), progress=False, log=quiet)
        losses.append(h[-1]["loss"])
        accs.append(accuracy(net, kind, test))
    reach = next((e + 1 for e, a in enumerate(accs) if a >= TARGET), None)
    # the mean test accuracy over the epochs (the area under the learning curve): higher is faster
    return {"loss": losses, "accuracy": accs, "epochs_to_target": reach, "mean_accuracy": float(np.mean(accs))}


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--epochs", type=int, default=None, help="default 40, or 4 with --quick")
    ap.add_argument("--lrs", default=None, help="learning rates, comma-separated (default 0.01,0.03,0.1,0.3,1,3; "
                                                  "0.1,0.3 with --quick)")
    args = ap.parse_args(argv)
    epochs = args.epochs or (4 if args.quick else 40)
    lrs = [float(v) for v in (args.lrs or ("0.1,0.3" if args.quick else "0.01,0.03,0.1,0.3,1,3")).split(",")]
    results = {}
    for kind in SPECS:
        for lr in lrs:
            r = results[(kind, lr)] = run(kind, lr, epochs, args.seed)
            reach = r["epochs_to_target"]
            print(f"{kind:>13}  lr {lr:<5g} test accuracy by epoch: "
                  + " ".join(f"{a:.2f}" for a in r["accuracy"][:10]) + (" ..." if epochs > 10 else "")
                  + f"  final {r['accuracy'][-1]:.3f}, mean over epochs {r['mean_accuracy']:.3f}; "
                  + f"{TARGET:.0%} reached at epoch "
                  + (str(reach) if reach else f"- (not in {epochs})"))
    best = {}
    for kind in SPECS:
        # the best learning rate: fewest epochs to the target, then the highest final accuracy
        lr = min(lrs, key=lambda lr: (results[(kind, lr)]["epochs_to_target"] or epochs + 1,
                                      -results[(kind, lr)]["accuracy"][-1]))
        best[kind] = lr
        r = results[(kind, lr)]
        print(f"best for {kind}: lr {lr:g}: {TARGET:.0%} test accuracy at epoch {r['epochs_to_target'] or '-'}, "
              f"after 1 epoch {r['accuracy'][0]:.3f}, mean over {epochs} epochs {r['mean_accuracy']:.3f}, "
              f"final {r['accuracy'][-1]:.3f}")
    summary = {"best_lr": best, "results": results, "epochs": epochs, "lrs": lrs}

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for kind, style in zip(SPECS, ("-", "--")):
        for i, lr in enumerate(lrs):
            r = results[(kind, lr)]
            x = np.arange(1, epochs + 1)
            lw = 2.2 if lr == best[kind] else 1.0
            axes[0].plot(x, r["accuracy"], style, color=f"C{i}", lw=lw, label=f"{kind} lr {lr:g}")
    axes[0].axhline(TARGET, color="grey", lw=0.8)
    axes[0].set_ylabel("test accuracy")
    axes[0].set_title("solid: cross-entropy, dashed: softmax + MSE (thick: best lr)")
    for kind, style in zip(SPECS, ("-", "--")):
        r = results[(kind, best[kind])]
        axes[1].plot(np.arange(1, epochs + 1), r["accuracy"], style, lw=2, label=f"{kind}, lr {best[kind]:g}")
    axes[1].set_title("each loss at its best learning rate")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    save(fig, args.out, "mse_vs_crossentropy.png")
    return summary


if __name__ == "__main__":
    main()
