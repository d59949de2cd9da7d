"""XOR: a single perceptron cannot learn it; with the feature x1*x2 it can; so can a 2-2-1 MLP.

The course: "Perceptron can't even solve XOR!" A binary threshold neuron draws one straight line
through the plane of (x1, x2), and no line puts (0,1) and (1,0) on one side and (0,0) and (1,1) on
the other. Three networks trained with netc on the four rows of the truth table:

  1. specs/perceptron.yaml: y = [b + w.x >= 0], Rosenblatt's rule (netc's `perceptron`
     optimizer), weights from zero, one example per step. It never gets more than 3 of 4 right,
     and its weights cycle instead of settling.
  2. The same neuron given a handcrafted third feature x1*x2 (input [x1, x2, x1*x2]): now the
     classes are linearly separable (e.g. x1 + x2 - 2 x1 x2 - 0.5 >= 0), and the perceptron
     convergence theorem says the rule finds a separating plane in finitely many mistakes.
  3. specs/xor_mlp.yaml: a 2-2-1 MLP (tanh hidden units, sigmoid output, cross-entropy, SGD with
     momentum) trained by backpropagation: its hidden units make the features itself. A 2-2-1 net
     can stall in a poor local minimum from some starts, so besides the spec's own seed the
     example counts how many of 10 seeds solve it.

Prints the accuracy per network (and the epoch of the last mistake), and plots each network's
decision regions over the plane with the four points (xor.png).

    python examples/xor.py [--quick] [--out DIR] [--epochs E]
"""
from __future__ import annotations

import os

import numpy as np

import netc
from netc.train.loop import Config, fit

from _common import parser, pyplot, quiet, save

SPECS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "specs")
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
T = np.array([[0], [1], [1], [0]], np.float32)


def with_product(x):
    return np.ascontiguousarray(np.column_stack([x, x[:, 0] * x[:, 1]]).astype(np.float32))


def perceptron_graph(features):
    """specs/perceptron.yaml, with `features` inputs instead of 2."""
    with open(os.path.join(SPECS, "perceptron.yaml")) as fh:
        text = fh.read()
    if features != 2:
        text = text.replace("x: [2]", f"x: [{features}]").replace("name: perceptron", "name: perceptron_x1x2")
    return netc.parse(text, "specs/perceptron.yaml")


def train_perceptron(features, epochs, seed):
    graph = perceptron_graph(features)
    net = netc.Network(graph, seed=seed)
    x = X if features == 2 else with_product(X)
    acc, weights = [], []
    cfg = Config.from_spec(graph.train, epochs=1, validation=0.0)
    for e in range(epochs):  # one epoch at a time, to watch the accuracy and the weights
        cfg.seed = seed * 1000 + e  # a new order of the four rows every epoch
        fit(net, {"x": x, "target": T}, None, cfg, progress=False, log=quiet)
        y = net.forward(x=x)["y"]
        acc.append(float((y == T).mean()))
        weights.append(np.concatenate([net.params["z.weight"].ravel(), net.params["z.bias"]]))
    return net, np.array(acc), np.array(weights)


def train_mlp(epochs, seed):
    graph = netc.load(os.path.join(SPECS, "xor_mlp.yaml"))
    net = netc.Network(graph, seed=seed)
    cfg = Config.from_spec(graph.train, epochs=epochs, validation=0.0, seed=seed)
    hist = fit(net, {"x": X, "target": T}, None, cfg, progress=False, log=quiet)
    p = net.forward(x=X)["prob"]
    return net, float(((p >= 0.5) == T).mean()), hist[-1]["loss"]


def grid_predict(fn, lo=-0.5, hi=1.5, n=121):
    a = np.linspace(lo, hi, n, dtype=np.float32)
    gx, gy = np.meshgrid(a, a)
    pts = np.ascontiguousarray(np.column_stack([gx.ravel(), gy.ravel()]))
    return gx, gy, fn(pts).reshape(gx.shape)


def last_mistake(acc):
    wrong = np.flatnonzero(acc < 1)
    return int(wrong[-1]) + 2 if len(wrong) else 1  # the first epoch after which all were right


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--epochs", type=int, default=None, help="perceptron epochs (default 100, 30 with --quick)")
    args = ap.parse_args(argv)
    p_epochs = args.epochs or (30 if args.quick else 100)
    mlp_spec = netc.load(os.path.join(SPECS, "xor_mlp.yaml"))
    mlp_epochs = mlp_spec.train["epochs"] if not args.quick else 600
    mlp_seed = mlp_spec.train["seed"]

    raw, raw_acc, raw_w = train_perceptron(2, p_epochs, args.seed)
    feat, feat_acc, feat_w = train_perceptron(3, p_epochs, args.seed)
    mlp, mlp_acc, mlp_loss = train_mlp(mlp_epochs, mlp_seed)
    seeds = range(10)
    solved = [train_mlp(mlp_epochs, s)[1] == 1.0 for s in seeds]

    distinct = len({tuple(w) for w in raw_w[p_epochs // 2:]})
    print(f"perceptron on (x1, x2), {p_epochs} epochs of the perceptron rule: best accuracy {raw_acc.max():.2f}, "
          f"final {raw_acc[-1]:.2f}; {distinct} different weight vectors at the ends of the last "
          f"{p_epochs - p_epochs // 2} epochs (it cycles, never converges)")
    print(f"perceptron on (x1, x2, x1*x2): accuracy {feat_acc[-1]:.2f}, all four right from epoch "
          f"{last_mistake(feat_acc)} on; w = {np.round(feat_w[-1][:3], 2).tolist()}, b = {feat_w[-1][3]:.2f}")
    print(f"2-2-1 MLP (specs/xor_mlp.yaml, seed {mlp_seed}, {mlp_epochs} full-batch steps): accuracy "
          f"{mlp_acc:.2f}, loss {mlp_loss:.4f}; solved from {sum(solved)} of {len(solved)} seeds (0-9)")

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    panels = [
        (f"perceptron on x1, x2: {raw_acc[-1]:.0%} right", lambda p: raw.forward(x=p)["y"]),
        (f"perceptron on x1, x2, x1*x2: {feat_acc[-1]:.0%}", lambda p: feat.forward(x=with_product(p))["y"]),
        (f"2-2-1 MLP (tanh): {mlp_acc:.0%}", lambda p: mlp.forward(x=p)["prob"]),
    ]
    for ax, (title, fn) in zip(axes, panels):
        gx, gy, z = grid_predict(fn)
        ax.contourf(gx, gy, z, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.contour(gx, gy, z, levels=[0.5], colors="k", linewidths=1)
        for x, t in zip(X, T[:, 0]):
            ax.scatter(*x, c="C3" if t else "C0", marker="o" if t else "s", s=120, edgecolors="k", zorder=3)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_aspect("equal")
    save(fig, args.out, "xor.png")
    return {"raw_accuracy": raw_acc, "feature_accuracy": feat_acc, "mlp_accuracy": mlp_acc,
            "mlp_loss": mlp_loss, "mlp_seeds_solved": sum(solved), "raw_distinct_weights": distinct}


if __name__ == "__main__":
    main()
