"""Double descent: test error against model width on digits with label noise.

The course (Belkin et al., PNAS 2019; Nakkiran et al., ICLR 2020): past the interpolation
threshold, where a model first fits its training set exactly, test error can fall again as the
model grows, so the curve of test error against size descends, rises near the threshold, and
descends a second time. Measured here, with whatever shape comes out: one-hidden-layer relu MLPs
64 -> w -> 10 for a range of widths w, on a small training set of scikit-learn's 8x8 digits whose
labels are partly replaced by random classes (--noise), trained with Adam and no regularisation
or early stopping for a fixed number of epochs, scored on clean held-out digits. Averaged over
--repeats seeds (each its own training subset, label noise and initial weights), it prints train
error (on the noisy labels), test error and parameter count per width, says where the training
error first reaches ~0 (the interpolation threshold) and whether the test error has a peak
there, and plots both (double_descent.png).

    python examples/double_descent.py [--quick] [--out DIR] [--widths 1,2,4,...] [--n-train 500]
                                      [--noise 0.2] [--epochs 500] [--repeats 3]
"""
from __future__ import annotations

import numpy as np

import netc
from netc.train.data import dataset_for
from netc.train.loop import Config, evaluate, fit

from _common import Timer, parser, pyplot, quiet, save, split, take

SPEC = """netc: 1
name: mlp_w{w}
inputs:
  pixels: [64]
  label: {{shape: [], dtype: int32}}
layers:
  - dense: {{units: {w}, init: he_normal}}
  - relu
  - dense: {{units: 10, name: logits}}
loss:
  softmax_cross_entropy: {{logits: logits, labels: label}}
train:
  optimizer: {{adam: {{lr: 0.001}}}}
"""


def measure(widths, n_train, noise, epochs, seed, data):
    """One repeat: a training subset, its label noise and each width's initial weights from `seed`."""
    rng = np.random.default_rng(seed)
    train_rows, test_rows = split(len(data["label"]), 0.5, seed, data["label"])
    train_rows = np.sort(rng.permutation(train_rows)[:n_train])
    train, test = take(data, train_rows), take(data, test_rows)
    clean = train["label"].copy()
    noisy = rng.random(n_train) < noise
    train["label"][noisy] = rng.integers(0, 10, noisy.sum()).astype(np.int32)  # may draw the true class again
    rows = []
    for w in widths:
        net = netc.Network(netc.parse(SPEC.format(w=w), f"<mlp_w{w}>"), seed=seed)
        with Timer() as t:
            fit(net, train, None, Config(epochs=epochs, batch=64, lr=1e-3, seed=seed), progress=False, log=quiet)
        tr, te = evaluate(net, train), evaluate(net, test)
        rows.append({"width": w, "params": int(sum(p.size for p in net.params.values())),
                     "train_error": 1 - tr["accuracy"], "test_error": 1 - te["accuracy"], "train_loss": tr["loss"],
                     "seconds": t.s})
    return rows, float((train["label"] != clean).mean()), len(test_rows)


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--widths", default=None, help="hidden units, comma-separated "
                                                   "(default 1,2,4,...,2048; 2,16,128 with --quick)")
    ap.add_argument("--n-train", type=int, default=None, help="training examples (default 500, 300 with --quick)")
    ap.add_argument("--noise", type=float, default=0.2, help="fraction of training labels replaced by random classes")
    ap.add_argument("--epochs", type=int, default=None, help="default 500, or 60 with --quick")
    ap.add_argument("--repeats", type=int, default=None, help="seeds averaged, seed, seed+1, ... (default 3, 1 with --quick)")
    args = ap.parse_args(argv)
    widths = [int(v) for v in (args.widths or ("2,16,128" if args.quick else
                                               ",".join(str(2 ** i) for i in range(12)))).split(",")]
    n_train = args.n_train or (300 if args.quick else 500)
    epochs = args.epochs or (60 if args.quick else 500)
    repeats = args.repeats or (1 if args.quick else 3)
    data, _ = dataset_for(netc.parse(SPEC.format(w=1)), "digits")
    runs = []
    for r in range(repeats):
        rows, changed, n_test = measure(widths, n_train, args.noise, epochs, args.seed + r, data)
        runs.append(rows)
        print(f"seed {args.seed + r}: {changed:.1%} of the training labels wrong; test error by width: "
              + " ".join(f"{w}:{row['test_error']:.3f}" for w, row in zip(widths, rows)), flush=True)
    train_all = np.array([[row["train_error"] for row in rows] for rows in runs])  # repeats x widths
    test_all = np.array([[row["test_error"] for row in rows] for rows in runs])
    train_err, test_err = train_all.mean(0), test_all.mean(0)
    spread = test_all.std(0)
    rows = [{"width": w, "params": runs[0][i]["params"], "train_error": float(train_err[i]),
             "test_error": float(test_err[i]), "test_error_std": float(spread[i]),
             "train_loss": float(np.mean([run[i]["train_loss"] for run in runs])),
             "seconds": float(np.mean([run[i]["seconds"] for run in runs]))} for i, w in enumerate(widths)]
    print(f"digits: {n_train} training examples, labels replaced at random with probability {args.noise:g}; "
          f"{n_test} clean test examples; Adam lr 0.001, batch 64, {epochs} epochs, no regularisation; "
          f"mean over {repeats} seed(s)")
    print(f"  {'width':>5} {'params':>8} {'train err':>9} {'test err':>8} {'(std)':>7} {'train loss':>10} {'seconds':>7}")
    for r in rows:
        print(f"  {r['width']:>5} {r['params']:>8,} {r['train_error']:>9.3f} {r['test_error']:>8.3f} "
              f"{r['test_error_std']:>7.3f} {r['train_loss']:>10.4f} {r['seconds']:>7.1f}")
    fits = np.flatnonzero(train_err <= 0.01)
    threshold = int(fits[0]) if len(fits) else None
    best = int(test_err.argmin())
    # a second descent: the highest test error within two widths of the threshold, above the best
    # error at smaller widths (the first descent) and above the best error at larger ones
    peak = None
    if threshold is not None:
        window = range(max(threshold - 2, 1), min(threshold + 3, len(rows) - 1))
        i = max(window, key=lambda j: test_err[j], default=None)
        if i is not None and test_err[i] > test_err[:i].min() and test_err[i] > test_err[i + 1:].min():
            peak = i
    if threshold is None:
        print(f"no width fit the noisy training set (train error <= 1%) in {epochs} epochs: no interpolation "
              f"threshold reached, so no double descent can be seen here")
    else:
        print(f"interpolation threshold: width {widths[threshold]} ({rows[threshold]['params']:,} parameters for "
              f"{n_train} examples) is the first to fit the noisy training labels (train error <= 1%)")
        if peak is not None:
            before = int(test_err[:peak].argmin())
            after = peak + 1 + int(test_err[peak + 1:].argmin())
            print(f"double descent: test error falls to {test_err[before]:.3f} at width {widths[before]}, rises to "
                  f"{test_err[peak]:.3f} at width {widths[peak]} and falls again to {test_err[after]:.3f} at width "
                  f"{widths[after]} ({'below' if test_err[after] < test_err[before] else 'not below'} the first minimum)")
        else:
            print("no peak of test error near the threshold: the test error does not rise and fall again "
                  "(no double descent measured at these settings)")
    print(f"lowest test error {test_err[best]:.3f} at width {widths[best]}")
    results = {"rows": rows, "threshold_width": widths[threshold] if threshold is not None else None,
               "peak_width": widths[peak] if peak is not None else None, "label_noise": args.noise,
               "test_errors": test_all, "train_errors": train_all}

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.errorbar(widths, test_err, yerr=spread if repeats > 1 else None, fmt="o-", capsize=3,
                label="test error (clean labels)")
    ax.plot(widths, train_err, "s--", label="train error (noisy labels)")
    ax.set_xscale("log", base=2)
    if threshold is not None:
        ax.axvline(widths[threshold], color="grey", lw=0.8, ls=":", label="interpolation threshold")
    ax.set_xlabel("hidden units (width)")
    ax.set_ylabel("error")
    ax.set_title(f"one-hidden-layer MLP, {n_train} digits, label noise {args.noise:g}, {epochs} epochs, "
                 f"{repeats} seed(s)", fontsize=9)
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, args.out, "double_descent.png")
    return results


if __name__ == "__main__":
    main()
