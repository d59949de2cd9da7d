"""A 1-D CNN finds a motif planted in synthetic DNA, and its first-layer filter matches the motif.

The course's 1-D CNN over one-hot DNA (DeepBind / Basset in miniature): specs/dna_cnn.yaml, 64
filters of width 8 over a [4, 200] sequence (channels A, C, G, T), relu, global max pooling,
dropout, a dense classifier. Synthetic data, seeded: uniformly random bases; in half of the
sequences (the positives, label 1) the motif is written at a random position, each of its bases
replaced by a random one with probability --mutation. Trained at the spec's settings (Adam, early
stopping on the validation loss, 10% of the training set) and scored on a held-out test set.

Then each learned filter W (4 x 8) is compared with the motif's one-hot matrix M (4 x 8): both
are centred per position (a filter's mean over the four bases adds the same to every sequence, so
it says nothing about which base it prefers), and the Pearson correlation is taken over the
positions they share, at offsets -2..2. Prints the test accuracy, the best filter, its offset,
correlation and consensus, and plots it as a heatmap beside the motif (dna_motif.png).

    python examples/dna_motif.py [--quick] [--out DIR] [--motif TGACGTCA] [--n 4000] [--mutation 0.0]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import netc
from netc.train.loop import Config, evaluate, fit

from _common import Timer, parser, pyplot, quiet, save, split, take

SPEC = Path(__file__).resolve().parent.parent / "specs" / "dna_cnn.yaml"
BASES = "ACGT"


def one_hot(seq_ids):
    """N x L base ids -> N x 4 x L one-hot, channels first (float32)."""
    return np.ascontiguousarray(np.eye(4, dtype=np.float32)[seq_ids].transpose(0, 2, 1))


def make_data(n, length, motif, mutation, rng):
    ids = rng.integers(0, 4, (n, length))
    label = (np.arange(n) % 2).astype(np.int32)
    m = np.array([BASES.index(b) for b in motif])
    starts = rng.integers(0, length - len(m) + 1, n)
    for i in np.flatnonzero(label):
        site = m.copy()
        hit = rng.random(len(m)) < mutation
        site[hit] = rng.integers(0, 4, hit.sum())
        ids[i, starts[i]:starts[i] + len(m)] = site
    perm = rng.permutation(n)
    return {"dna": one_hot(ids[perm]), "label": label[perm]}


def centred(a):
    return a - a.mean(0, keepdims=True)


def match(filters, motif_matrix, max_offset=2):
    """(filter, offset, correlation) of the best filter: the Pearson correlation of the
    per-position-centred filter and motif over the positions they share when the motif starts
    `offset` positions into the filter."""
    M = centred(motif_matrix)
    k, best = filters.shape[2], (None, 0, -2.0)
    for f, W in enumerate(filters):
        W = centred(W)
        for off in range(-max_offset, max_offset + 1):
            lo, hi = max(0, off), min(k, off + M.shape[1])
            a, b = W[:, lo:hi].ravel(), M[:, lo - off:hi - off].ravel()
            if a.std() == 0 or b.std() == 0:  # a flat window prefers no base: no correlation
                continue
            c = float(np.corrcoef(a, b)[0, 1])
            if c > best[2]:
                best = (f, off, c)
    return best


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--motif", default="TGACGTCA", help="the planted motif (A C G T), default the CRE site")
    ap.add_argument("--n", type=int, default=None, help="sequences (default 4000, or 2000 with --quick)")
    ap.add_argument("--mutation", type=float, default=0.0, help="chance that a planted base is replaced by a random one")
    ap.add_argument("--epochs", type=int, default=None, help="default the spec's 20 (with its early stopping)")
    args = ap.parse_args(argv)
    graph = netc.load(SPEC)
    length = graph.node("dna").type.example_shape[-1]
    n = args.n or (2000 if args.quick else 4000)
    rng = np.random.default_rng(args.seed)
    data = make_data(n, length, args.motif, args.mutation, rng)
    train_rows, test_rows = split(n, 0.2, args.seed, data["label"])
    rest, test = take(data, train_rows), take(data, test_rows)
    fit_rows, val_rows = split(len(rest["label"]), 0.1, args.seed + 1, rest["label"])
    train, val = take(rest, fit_rows), take(rest, val_rows)
    cfg = Config.from_spec(graph.train, epochs=args.epochs, seed=args.seed)
    net = netc.Network(graph, seed=args.seed)
    with Timer() as t:
        history = fit(net, train, val, cfg, progress=False, log=quiet)
    acc = evaluate(net, test)["accuracy"]
    motif_matrix = np.eye(4)[[BASES.index(b) for b in args.motif]].T  # 4 x len(motif)
    filters = net.params["conv1d_1.weight"][:, :, :]  # filters x 4 x 8
    f, off, corr = match(filters, motif_matrix)
    W = filters[f]
    consensus = "".join(BASES[i] for i in W.argmax(0))
    # a random filter's best correlation, for scale: the same search over freshly initialised filters
    fresh = netc.Network(graph, seed=args.seed + 99).params["conv1d_1.weight"]
    _, _, chance = match(fresh, motif_matrix)
    print(f"synthetic DNA: {n} sequences of {length} bases, motif {args.motif} planted in half "
          f"(mutation {args.mutation:g}); {len(train['label'])} train, {len(val['label'])} validation, "
          f"{len(test['label'])} test")
    print(f"dna_cnn: {len(history)} epochs in {t.s:.1f} s; test accuracy {acc:.4f}")
    print(f"best-matching filter: #{f}, motif offset {off:+d}, correlation {corr:.3f} with the motif's one-hot "
          f"matrix (per-position centred); its consensus {consensus}; the best of 64 untrained filters: {chance:.3f}")
    results = {"test_accuracy": float(acc), "filter": int(f), "offset": int(off), "correlation": corr,
               "consensus": consensus, "chance_correlation": chance, "epochs": len(history)}

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3), gridspec_kw={"width_ratios": [W.shape[1], len(args.motif)]})
    Wc = centred(W)
    lim = np.abs(Wc).max()
    axes[0].imshow(Wc, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    for j in range(W.shape[1]):
        i = int(Wc[:, j].argmax())
        axes[0].text(j, i, BASES[i], ha="center", va="center", fontsize=14, fontweight="bold")
    axes[0].set_title(f"learned filter #{f} (centred per position), corr {corr:.2f} at offset {off:+d}", fontsize=9)
    axes[1].imshow(motif_matrix, cmap="Greys", aspect="auto")
    for j, b in enumerate(args.motif):
        axes[1].text(j, BASES.index(b), b, ha="center", va="center", color="C1", fontsize=14, fontweight="bold")
    axes[1].set_title(f"planted motif {args.motif}", fontsize=9)
    for ax in axes:
        ax.set_yticks(range(4))
        ax.set_yticklabels(list(BASES))
        ax.set_xlabel("position")
    save(fig, args.out, "dna_motif.png")
    return results


if __name__ == "__main__":
    main()
