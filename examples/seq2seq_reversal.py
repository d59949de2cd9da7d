"""Reversing the source helps an LSTM encoder-decoder learn to copy digit strings.

The course (Sutskever, Vinyals and Le 2014): "the LSTM reads the input sentence in reverse,
because doing so introduces many short term dependencies in the data that make the optimization
problem much easier." The task here is copying: the target is the source string of L random
digits. Read in order, the first target digit was seen L steps before the decoder starts; read
reversed (netc's --reverse-source, i.e. `pairs_data(..., reverse_source=True)`), it was the last
thing the encoder saw, and the average distance is the same but the first outputs, on which the
later ones are conditioned, become easy.

Both runs use the same seq2seq network (specs/seq2seq_lstm.yaml's shape, small: embedding 16,
one LSTM layer of 64 units for the encoder and for the decoder, teacher forcing), the same
initial weights, data (a .tsv of `source<TAB>target` pairs read by netc's loader) and batches,
Adam with clip_norm 5; they differ only in the order the encoder reads the source. After each
epoch: the per-digit accuracy under teacher forcing on held-out strings (positions of the target
and <eos>; padding excluded), and at the end the exact-match rate of greedy decoding (the
decoder feeds back its own predictions). Prints both and plots the learning curves
(seq2seq_reversal.png).

    python examples/seq2seq_reversal.py [--quick] [--out DIR] [--length L] [--epochs E] [--seeds K]
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

import netc
from netc.train.data import pairs_data
from netc.train.loop import Config, fit

from _common import parser, pyplot, quiet, save

SPEC = """netc: 1
name: copy_seq2seq
inputs:
  source: {{shape: [T], dtype: int32}}
  target_in: {{shape: [T], dtype: int32}}
  target_out: {{shape: [T], dtype: int32}}
layers:
  - embedding: {{vocab: {V}, dim: 16, in: source}}
  - lstm: {{units: {H}, return: state, name: encoder}}
  - embedding: {{vocab: {V}, dim: 16, in: target_in}}
  - lstm: {{units: {H}, state: encoder, return: sequence, name: decoder}}
  - dense: {{units: {V}, name: logits}}
loss:
  softmax_cross_entropy: {{logits: logits, labels: target_out}}
train:
  optimizer: {{adam: {{lr: 0.01}}}}
  clip_norm: 5.0
"""
VOCAB = 14  # <pad> <bos> <eos> <unk> and the ten digits


def write_pairs(path, n, length, rng):
    with open(path, "w") as fh:
        for _ in range(n):
            s = " ".join(str(d) for d in rng.integers(0, 10, length))
            fh.write(f"{s}\t{s}\n")


def token_accuracy(net, data):
    """Teacher-forced accuracy over the target's positions and <eos> (labels that are not <pad>)."""
    _, out = net.evaluate(**data)
    pred = out["logits"].argmax(-1)
    mask = data["target_out"] != 0
    return float((pred == data["target_out"])[mask].mean())


def greedy_exact(net, data, length):
    """Exact-match rate of greedy decoding, all test strings at once (the decoder is causal)."""
    src, want = data["source"], data["target_out"][:, :length]
    rows = np.zeros_like(data["target_in"])
    rows[:, 0] = 1  # <bos>
    for k in range(length):
        z = net.forward(source=src, target_in=rows)["logits"]
        if k + 1 < rows.shape[1]:
            rows[:, k + 1] = z[:, k].argmax(-1)
    got = rows[:, 1:length + 1]
    return float((got == want).all(1).mean())


def run(reverse, length, epochs, seed, folder):
    graph = netc.parse(SPEC.format(V=VOCAB, H=64), "<copy_seq2seq>")
    train_path, test_path = os.path.join(folder, "train.tsv"), os.path.join(folder, "test.tsv")
    train_d = pairs_data(graph, train_path, reverse_source=reverse)
    # one vocabulary for both files (the test strings use the same digits)
    test_d = pairs_data(graph, test_path, seq_len=train_d.arrays["source"].shape[1], vocab=train_d.vocab)
    train, test = train_d.arrays, test_d.arrays
    net = netc.Network(graph, seed=seed)
    curve = []
    for e in range(epochs):
        fit(net, train, None, Config.from_spec(graph.train, epochs=1, batch=64, seed=seed * 1000 + e),
            progress=False, log=quiet)
        curve.append(token_accuracy(net, test))
    return {"token_accuracy": np.array(curve), "exact_match": greedy_exact(net, test, length)}


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--length", type=int, default=None, help="digits per string (default 10, 8 with --quick)")
    ap.add_argument("--epochs", type=int, default=None, help="default 12, 5 with --quick")
    ap.add_argument("--seeds", type=int, default=None, help="default 3, 1 with --quick")
    args = ap.parse_args(argv)
    length = args.length or (8 if args.quick else 10)
    epochs = args.epochs or (5 if args.quick else 12)
    seeds = range(args.seed, args.seed + (args.seeds or (1 if args.quick else 3)))
    n_train = 2000 if args.quick else 4000
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            rng = np.random.default_rng(seed)
            write_pairs(os.path.join(folder, "train.tsv"), n_train, length, rng)
            write_pairs(os.path.join(folder, "test.tsv"), 500, length, rng)
            for reverse in (False, True):
                r = results[(reverse, seed)] = run(reverse, length, epochs, seed, folder)
                print(f"copy {length} digits, source {'reversed' if reverse else 'in order'}, seed {seed}: "
                      f"test digit accuracy per epoch " + " ".join(f"{a:.3f}" for a in r["token_accuracy"])
                      + f"; greedy exact match {r['exact_match']:.3f}")
    summary = {}
    for reverse in (False, True):
        rs = [results[(reverse, s)] for s in seeds]
        summary[reverse] = {"final_token_accuracy": float(np.mean([r["token_accuracy"][-1] for r in rs])),
                            "mean_token_accuracy": float(np.mean([r["token_accuracy"].mean() for r in rs])),
                            "exact_match": float(np.mean([r["exact_match"] for r in rs]))}
        s = summary[reverse]
        print(f"source {'reversed' if reverse else 'in order'}: final digit accuracy {s['final_token_accuracy']:.3f}, "
              f"mean over epochs {s['mean_token_accuracy']:.3f}, greedy exact match {s['exact_match']:.3f} "
              f"(mean of {len(seeds)} seed(s); chance per digit 0.1)")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for reverse, color in ((False, "C0"), (True, "C3")):
        for i, s in enumerate(seeds):
            ax.plot(np.arange(1, epochs + 1), results[(reverse, s)]["token_accuracy"], "o-", color=color, ms=3,
                    label=("source reversed" if reverse else "source in order") if i == 0 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("held-out digit accuracy (teacher forcing)")
    ax.set_title(f"LSTM seq2seq copying {length} digits", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, args.out, "seq2seq_reversal.png")
    return {"results": results, "summary": summary}


if __name__ == "__main__":
    main()
