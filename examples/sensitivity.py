"""Which of the 30 breast-cancer features does a trained classifier's prediction depend on?

Trains specs/breast_cancer_mlp.yaml on scikit-learn's Wisconsin breast-cancer data, then takes
the forward-mode Jacobian of the predicted probability of "benign" with respect to the 30 input
features, for every held-out patient at once (one JVP pass per feature: 30 passes, whatever the
number of patients). Features are standardised, so d p / d x_j is the change in probability per
standard deviation of feature j. Prints the features ranked by mean |d p / d x_j| and checks one
column against central differences.

    python examples/sensitivity.py [--quick]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import netc
from netc.train.data import dataset_for

SPEC = Path(__file__).resolve().parent.parent / "specs" / "breast_cancer_mlp.yaml"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="train briefly (a smoke test)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from sklearn.datasets import load_breast_cancer

    names = list(load_breast_cancer().feature_names)
    graph = netc.load(SPEC)
    data, _ = dataset_for(graph, "breast_cancer")
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(data["label"]))
    test, train = order[:114], order[114:]
    net = netc.Network(graph, seed=args.seed)
    epochs = 3 if args.quick else graph.train.get("epochs", 40)
    batch = graph.train.get("batch", 32)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for i in range(0, len(train) - batch + 1, batch):
            idx = train[i:i + batch]
            net.train_step(features=data["features"][idx], label=data["label"][idx])
        train = rng.permutation(train)
    x_test = np.ascontiguousarray(data["features"][test])
    prob = net.forward(features=x_test)["prob"]
    accuracy = float((prob.argmax(1) == data["label"][test]).mean())
    print(f"trained {epochs} epochs in {time.perf_counter() - t0:.1f} s; held-out accuracy {accuracy:.3f} "
          f"on {len(test)} patients")

    # forward mode: J[n, c, j] = d prob[n, c] / d features[n, j], one JVP per feature for all patients
    t0 = time.perf_counter()
    J = net.jacobian({"features": x_test}, wrt="features", of="prob", mode="fwd", per_example=True)
    print(f"forward-mode Jacobian {J.shape} in {time.perf_counter() - t0:.2f} s ({J.shape[2]} JVP passes)")
    benign = J[:, 1, :]  # d P(benign) / d feature
    h = 1e-2  # float32: a larger step; compare loosely
    e = np.zeros_like(x_test)
    top = int(np.abs(benign).mean(0).argmax())
    e[:, top] = h
    fd = (net.forward(features=x_test + e)["prob"][:, 1] - net.forward(features=x_test - e)["prob"][:, 1]) / (2 * h)
    print(f"check: feature '{names[top]}': forward mode vs central differences, largest difference "
          f"{np.abs(fd - benign[:, top]).max():.1e} (derivatives up to {np.abs(benign[:, top]).max():.2f})")

    mean_abs = np.abs(benign).mean(0)
    mean_signed = benign.mean(0)
    print("\nfeatures by mean |d P(benign) / d feature| over held-out patients (per standard deviation):")
    print(f"  {'rank':>4}  {'feature':<26} {'mean |dP/dx|':>12} {'mean dP/dx':>11}")
    for rank, j in enumerate(np.argsort(-mean_abs)[: (10 if args.quick else 30)], 1):
        print(f"  {rank:>4}  {names[j]:<26} {mean_abs[j]:>12.4f} {mean_signed[j]:>+11.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
