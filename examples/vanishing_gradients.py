"""Vanishing gradients: a 10-layer MLP with sigmoid or tanh units, against the same with relu.

The course: "DNN with sigmoid and tanh activation functions has serious vanishing gradient and
saturation issue"; relu "avoids vanishing gradient". Three MLPs on scikit-learn's 8x8 digits,
alike but for the hidden activation: 64 -> 9 hidden dense layers of 64 units -> 10 logits (10
weight layers), the same initialisation (netc's dense default, Glorot uniform; and He normal), SGD
with momentum. For each, the norm of the loss gradient with respect to each layer's weight matrix,
on a fixed batch of 256 training images, at initialisation and after every epoch. Prints the
per-layer norms and the ratio first layer / last layer (how much of the gradient reaches the
input end), and plots them (vanishing_gradients.png).

    python examples/vanishing_gradients.py [--quick] [--out DIR] [--epochs E] [--inits I,J]
"""
from __future__ import annotations

import numpy as np

import netc
from netc.train.data import dataset_for
from netc.train.loop import Config, evaluate, fit

from _common import parser, pyplot, quiet, save, split, take

ACTIVATIONS = ("sigmoid", "tanh", "relu")
LAYERS, WIDTH = 10, 64


def spec(activation, init):
    hidden = "".join(f"  - dense: {{units: {WIDTH}, init: {init}, name: fc{k}}}\n  - {activation}\n"
                     for k in range(1, LAYERS))
    return f"""netc: 1
name: deep_{activation}
inputs:
  pixels: [64]
  label: {{shape: [], dtype: int32}}
layers:
{hidden}  - dense: {{units: 10, init: {init}, name: fc{LAYERS}}}
loss:
  softmax_cross_entropy: {{logits: fc{LAYERS}, labels: label}}
train:
  optimizer: {{sgd: {{lr: 0.01, momentum: 0.9}}}}
"""


def layer_norms(net, probe):
    """(|dL/dW| per layer, |dL/db| per layer): the weight gradient, and the bias gradient, which is
    the back-propagated error dL/dz at that layer's pre-activations summed over the batch."""
    _, g = net.loss_and_grad(**probe)
    return np.array([[np.linalg.norm(g[f"fc{k}.{p}"]) for k in range(1, LAYERS + 1)] for p in ("weight", "bias")])


def run(act, init, epochs, seed):
    graph = netc.parse(spec(act, init), f"<deep_{act}>")
    data, _ = dataset_for(graph, "digits")
    train_rows, test_rows = split(len(data["label"]), 0.2, seed, data["label"])
    train, test = take(data, train_rows), take(data, test_rows)
    probe = take(train, np.arange(256))
    net = netc.Network(graph, seed=seed)
    norms, losses = [layer_norms(net, probe)], []
    for e in range(epochs):
        h = fit(net, train, None, Config(epochs=1, batch=32, lr=0.01, seed=seed * 1000 + e),
                progress=False, log=quiet)
        losses.append(h[-1]["loss"])
        norms.append(layer_norms(net, probe))
    norms = np.array(norms)  # (epochs + 1) x (weight, bias) x layers
    w = norms[:, 0]
    return {"weight_norms": w, "delta_norms": norms[:, 1], "ratio_init": float(w[0, 0] / w[0, -1]),
            "ratio_training": float(np.median(w[1:, 0] / w[1:, -1])),
            "delta_ratio_init": float(norms[0, 1, 0] / norms[0, 1, -1]), "loss": losses,
            "test_accuracy": float(evaluate(net, test)["accuracy"])}


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--epochs", type=int, default=None, help="default 30, or 3 with --quick")
    ap.add_argument("--inits", default=None,
                    help=f"comma-separated initialisations of the dense weights, the same for all three "
                         f"networks: glorot_uniform, he_normal, normal (std 0.1); "
                         f"default glorot_uniform,he_normal, or glorot_uniform with --quick")
    args = ap.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 30)
    inits = (args.inits or ("glorot_uniform" if args.quick else "glorot_uniform,he_normal")).split(",")
    results = {}
    for init in inits:
        print(f"initialisation {init}; {LAYERS} dense layers, {WIDTH} units; layer 1 is at the input end")
        for act in ACTIVATIONS:
            r = results[(init, act)] = run(act, init, epochs, args.seed)
            print(f"  {act:>7} |dL/dW| at init: " + " ".join(f"{v:.1e}" for v in r["weight_norms"][0]))
            print(f"  {'':>7} |dL/dz| at init: " + " ".join(f"{v:.1e}" for v in r["delta_norms"][0]))
            print(f"  {'':>7} first/last layer |dL/dW|: {r['ratio_init']:.1e} at init, {r['ratio_training']:.1e} "
                  f"during training (median over {epochs} epochs); |dL/dz| {r['delta_ratio_init']:.1e} at init; "
                  f"train loss {r['loss'][0]:.3f} -> {r['loss'][-1]:.3f}; test accuracy {r['test_accuracy']:.3f}")

    plt = pyplot()
    fig, axes = plt.subplots(len(inits), 4, figsize=(17, 3.8 * len(inits)), squeeze=False)
    layers = np.arange(1, LAYERS + 1)
    colors = {"sigmoid": "C0", "tanh": "C1", "relu": "C2"}
    for row, init in zip(axes, inits):
        for act in ACTIVATIONS:
            r = results[(init, act)]
            row[0].semilogy(layers, r["weight_norms"][0], "o-", color=colors[act], label=act)
            row[1].semilogy(layers, r["delta_norms"][0], "o-", color=colors[act], label=act)
            for e, alpha in ((1, 0.35), (epochs, 1.0)):
                row[2].semilogy(layers, r["weight_norms"][e], "o-", color=colors[act], alpha=alpha,
                                label=f"{act}, epoch {e}")
            row[3].plot(np.arange(1, epochs + 1), r["loss"], "o-", color=colors[act], label=act)
        row[0].set_title(f"{init}: ||dL/dW|| at initialisation", fontsize=9)
        row[1].set_title(f"{init}: ||dL/db|| (error at pre-activations) at init", fontsize=9)
        row[2].set_title(f"{init}: ||dL/dW|| during training", fontsize=9)
        row[3].set_title(f"{init}: training loss", fontsize=9)
        for ax in row[:3]:
            ax.set_xlabel("layer (1 = input end)")
        row[3].set_xlabel("epoch")
        for ax in row:
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
    save(fig, args.out, "vanishing_gradients.png")
    return results


if __name__ == "__main__":
    main()
