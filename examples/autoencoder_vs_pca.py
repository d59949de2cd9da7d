"""An autoencoder compresses digits: its reconstruction error against PCA's at the same code size.

The course: an autoencoder is trained to reproduce its input through a narrow code,
loss = ||x - d(e(x))||^2; PCA is the best *linear* code of a given size. On scikit-learn's 8x8
digits (pixels scaled to [0, 1]; a seeded 80/20 split), for each code size k: an autoencoder
64 -> 128 (relu) -> k (linear code) -> 128 (relu) -> 64 (sigmoid), trained with Adam on the mean
squared error, and PCA with k components (numpy SVD of the centred training images). Both are
scored by the mean squared error per pixel on the held-out test images. The full run also trains
the course's own spec, specs/autoencoder_digits.yaml (64-32-16-32-64, sigmoid throughout), at its
settings. Prints a table and plots the errors against k with a few reconstructions
(autoencoder_vs_pca.png).

    python examples/autoencoder_vs_pca.py [--quick] [--out DIR] [--codes 2,4,8] [--epochs E]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import netc
from netc.train.data import dataset_for
from netc.train.loop import Config, fit

from _common import Timer, parser, pyplot, quiet, save, split, take

COURSE_SPEC = Path(__file__).resolve().parent.parent / "specs" / "autoencoder_digits.yaml"

SPEC = """netc: 1
name: autoencoder_{k}
inputs:
  pixels: [64]
layers:
  - dense: {{units: 128}}
  - relu
  - dense: {{units: {k}, name: code}}       # the code: linear, k numbers
  - dense: {{units: 128}}
  - relu
  - dense: {{units: 64}}
  - sigmoid: {{name: reconstruction}}
loss:
  mse: {{pred: reconstruction, target: pixels}}
train:
  optimizer: {{adam: {{lr: 0.001}}}}
"""


def pca_mse(train, test, k):
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    v = vt[:k].T
    recon = (test - mean) @ v @ v.T + mean
    return float(((recon - test) ** 2).mean()), recon


def train_autoencoder(graph, train, test, epochs, batch, lr, seed):
    net = netc.Network(graph, seed=seed)
    with Timer() as t:
        fit(net, train, None, Config(epochs=epochs, batch=batch, lr=lr, seed=seed), progress=False, log=quiet)
    loss, outs = net.evaluate(**test)
    return float(loss), outs["reconstruction"], t.s


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--codes", default=None, help="code sizes (default 2,4,8,16,32; 2,8 with --quick)")
    ap.add_argument("--epochs", type=int, default=None, help="default 300, or 15 with --quick")
    args = ap.parse_args(argv)
    codes = [int(v) for v in (args.codes or ("2,8" if args.quick else "2,4,8,16,32")).split(",")]
    epochs = args.epochs or (15 if args.quick else 300)
    results = {"codes": codes, "autoencoder": {}, "pca": {}}
    recons = {}
    x_test = None
    for k in codes:
        graph = netc.parse(SPEC.format(k=k), f"<autoencoder_{k}>")
        data, _ = dataset_for(graph, "digits")
        from sklearn.datasets import load_digits

        train_rows, test_rows = split(len(data["pixels"]), 0.2, args.seed, load_digits().target)
        train, test = take(data, train_rows), take(data, test_rows)
        x_test = test["pixels"]
        ae, ae_recon, s = train_autoencoder(graph, train, test, epochs, 64, 1e-3, args.seed)
        pca, pca_recon = pca_mse(train["pixels"].astype(np.float64), x_test.astype(np.float64), k)
        results["autoencoder"][k], results["pca"][k] = ae, pca
        recons[k] = (ae_recon, pca_recon)
        print(f"code size {k:>2}: test MSE per pixel: autoencoder {ae:.5f} ({epochs} epochs, {s:.0f} s), "
              f"PCA {pca:.5f}; autoencoder / PCA = {ae / pca:.2f}")
    results["baseline"] = float(((x_test - x_test.mean(0)) ** 2).mean())  # predict the mean image
    print(f"for scale: predicting every test image as the mean image gives {results['baseline']:.5f}")
    if not args.quick:
        graph = netc.load(COURSE_SPEC)
        data, _ = dataset_for(graph, "digits")
        train, test = take(data, train_rows), take(data, test_rows)
        t = graph.train
        ae, _, s = train_autoencoder(graph, train, test, t["epochs"], t["batch"], t["optimizer"][1]["lr"], args.seed)
        pca, _ = pca_mse(train["pixels"].astype(np.float64), test["pixels"].astype(np.float64), 16)
        results["course_spec"] = {"autoencoder": ae, "pca": pca}
        print(f"specs/autoencoder_digits.yaml (64-32-16-32-64 sigmoid, {t['epochs']} epochs, {s:.0f} s): "
              f"test MSE {ae:.5f}; PCA with 16 components {pca:.5f}")

    plt = pyplot()
    fig = plt.figure(figsize=(13, 4.5))
    ax = fig.add_subplot(1, 2, 1)
    ax.semilogy(codes, [results["autoencoder"][k] for k in codes], "o-", label="autoencoder")
    ax.semilogy(codes, [results["pca"][k] for k in codes], "s--", label="PCA")
    ax.axhline(results["baseline"], color="grey", lw=0.8, label="mean image")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("code size k")
    ax.set_ylabel("test MSE per pixel")
    ax.legend()
    ax.grid(alpha=0.3)
    show = [codes[0], codes[-1]]
    n = 6
    for row, (label, img) in enumerate([("original", x_test)] + [(f"{w} k={k}", recons[k][j])
                                                                  for k in show for j, w in ((0, "AE"), (1, "PCA"))]):
        for c in range(n):
            a = fig.add_subplot(1 + 2 * len(show), 2 * n, row * 2 * n + n + c + 1)
            a.imshow(np.clip(img[c].reshape(8, 8), 0, 1), cmap="gray_r", vmin=0, vmax=1)
            a.set_xticks([])
            a.set_yticks([])
            if c == 0:
                a.set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    save(fig, args.out, "autoencoder_vs_pca.png")
    return results


if __name__ == "__main__":
    main()
