"""A character-level LSTM learns Python: bits per character on held-out source, against a unigram model.

The course's char-RNN (Karpathy 2015), trained with teacher forcing and truncated BPTT, sampled
one character at a time. The text is one that every machine running netc has: the Python
standard library's own source, the .py files in the directory of the `os` module. Files are
taken in sorted order; the held-out text is whole files that training never sees (every 10th
file). Tabs become four spaces and any character outside printable ASCII becomes '?', so the
vocabulary is fixed (96 symbols) and held-out text has no unknown characters.

The network: one-hot characters -> LSTM (128 units) -> dense over the vocabulary, the LSTM's
state carried from one 64-character window to the next (truncated BPTT over `batch` parallel
streams through the text, netc.train.sequence); Adam, clip_norm 5. Held-out bits per character:
the mean cross-entropy (nats) / ln 2 over the held-out text read the same way (state carried
across windows). The baseline is a unigram model of the training text (add-one smoothing),
whose cross-entropy on the held-out text is its bits per character. Prints both after every
epoch, then two samples, at temperature 0.5 and 1.0, and plots the curve (char_lstm.png).

netc has two tiers for a training step: a Python driver over the kernel library, and with
`jit=True` one whole-step @njit function (compiled once per spec and cached). The example times
both on the same batches (after a warm-up step, so not counting compilation) and trains with the
faster unless --jit says which.

    python examples/char_lstm.py [--quick] [--out DIR] [--chars N] [--epochs E] [--jit auto|on|off]
"""
from __future__ import annotations

import glob
import math
import os
import string

import numpy as np

import netc
from netc.train.data import text_data
from netc.train.loop import Config, fit
from netc.train.sequence import Carry, sample, stream_rows

from _common import Timer, parser, pyplot, quiet, save

SYMBOLS = sorted(set(string.printable) - set("\t\r\x0b\x0c"))  # 95 printable ASCII and newline
UNITS, BPTT, BATCH = 128, 64, 32

SPEC = f"""netc: 1
name: char_lstm_python
inputs:
  chars: {{shape: [T], dtype: int32}}
  next_chars: {{shape: [T], dtype: int32}}
  h0: [{2 * UNITS}]                       # h and c of the lstm, carried across windows
layers:
  - one_hot: {{classes: {len(SYMBOLS)}, in: chars}}
  - lstm: {{units: {UNITS}, state: h0, name: lstm}}
  - dense: {{units: {len(SYMBOLS)}, name: logits}}
loss:
  softmax_cross_entropy: {{logits: logits, labels: next_chars}}
train:
  optimizer: {{adam: {{lr: 0.003}}}}
  batch: {BATCH}
  bptt: {BPTT}
  clip_norm: 5.0
"""


def clean(text):
    allowed = set(SYMBOLS)
    text = text.replace("\r\n", "\n").replace("\t", "    ")
    return "".join(c if c in allowed else "?" for c in text)


def stdlib_text(train_chars, heldout_chars):
    """(training text, held-out text) from the stdlib's .py files: every 10th file is held out."""
    folder = os.path.dirname(os.__file__)
    files = sorted(glob.glob(os.path.join(folder, "*.py")))
    train, held, n_train, n_held = [], [], 0, 0
    for i, path in enumerate(files):
        if n_train >= train_chars and n_held >= heldout_chars:
            break
        try:
            with open(path, encoding="utf-8") as fh:
                text = clean(fh.read())
        except (UnicodeDecodeError, OSError):
            continue
        if i % 10 == 9:
            if n_held < heldout_chars:
                held.append(text)
                n_held += len(text)
        elif n_train < train_chars:
            train.append(text)
            n_train += len(text)
    return "".join(train)[:train_chars], "".join(held)[:heldout_chars], folder


def unigram_bpc(train, held):
    counts = np.ones(len(SYMBOLS))  # add-one smoothing
    index = {c: i for i, c in enumerate(SYMBOLS)}
    for c in train:
        counts[index[c]] += 1
    p = counts / counts.sum()
    ids = np.array([index[c] for c in held])
    return float(-np.log2(p[ids]).mean())


def heldout_bpc(net, data, carry):
    """Bits per character over the held-out windows read as parallel streams, the state carried."""
    n = len(data["chars"])
    rows = stream_rows(n, BATCH)
    state = carry.zeros(len(rows[0]))
    total = 0.0
    for idx in rows:
        batch = {k: np.ascontiguousarray(v[idx]) for k, v in data.items()}
        batch.update(state)
        loss, _ = net.evaluate(**batch)
        total += loss
        state = carry.next_state(batch, training=False)
    return total / len(rows) / math.log(2)


def time_tier(graph, train, jit, steps=10):
    """Seconds per training step of one tier on the same batches, after one warm-up step (compile)."""
    net = netc.Network(graph, seed=0, jit=jit)
    zeros = Carry(net).zeros(BATCH)
    batch = {k: np.ascontiguousarray(v[:BATCH]) for k, v in train.items()} | zeros
    with Timer() as warm:
        net.train_step(**batch)
    with Timer() as t:
        for _ in range(steps):
            net.train_step(**batch)
    return t.s / steps, warm.s


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--chars", type=int, default=None,
                    help="training characters (default 1,000,000; 100,000 with --quick)")
    ap.add_argument("--epochs", type=int, default=None, help="default 4, 3 with --quick")
    ap.add_argument("--lr", type=float, default=None,
                    help="Adam's learning rate (default the spec's 0.003; 0.01 with --quick)")
    ap.add_argument("--jit", choices=("auto", "on", "off"), default=None,
                    help="training tier: auto times both and takes the faster (default; off with --quick)")
    args = ap.parse_args(argv)
    n_chars = args.chars or (100_000 if args.quick else 1_000_000)
    epochs = args.epochs or (3 if args.quick else 4)
    lr = args.lr or (0.01 if args.quick else None)
    jit_choice = args.jit or ("off" if args.quick else "auto")

    train_text, held_text, folder = stdlib_text(n_chars, max(20_000, n_chars // 10))
    graph = netc.parse(SPEC, "<char_lstm_python>")
    vocab = {"kind": "chars", "symbols": SYMBOLS}
    train = text_data(graph, train_text, vocab=vocab).arrays
    held = text_data(graph, held_text, vocab=vocab).arrays
    base = unigram_bpc(train_text, held_text)
    print(f"text: {folder}/*.py, {len(train_text):,} training and {len(held_text):,} held-out characters "
          f"(other files), {len(SYMBOLS)} symbols; unigram baseline {base:.3f} bits/char")

    timing = {}
    if jit_choice == "auto":
        for jit in (False, True):
            timing[jit] = time_tier(graph, train, jit)
            print(f"  tier {'jit=True (whole step)' if jit else 'jit=False (driver)'}: "
                  f"{timing[jit][0] * 1e3:.1f} ms per step of {BATCH}x{BPTT} characters "
                  f"(first step, with any compilation: {timing[jit][1]:.1f} s)")
        use_jit = timing[True][0] < timing[False][0]
    else:
        use_jit = jit_choice == "on"
    net = netc.Network(graph, seed=args.seed, jit=use_jit)
    carry = Carry(net)
    curve = [heldout_bpc(net, held, carry)]
    print(f"  epoch 0: held-out {curve[0]:.3f} bits/char")
    seconds = 0.0
    for e in range(epochs):
        cfg = Config.from_spec(graph.train, epochs=1, validation=0.0, seed=args.seed * 1000 + e, lr=lr)
        with Timer() as t:
            h = fit(net, train, None, cfg, progress=False, log=quiet, ordered=True)
        seconds += t.s
        curve.append(heldout_bpc(net, held, carry))
        print(f"  epoch {e + 1}: train {h[-1]['loss'] / math.log(2):.3f}, held-out {curve[-1]:.3f} bits/char "
              f"({len(train['chars']) * BPTT / t.s:,.0f} chars/s, jit={use_jit})")
    samples = {}
    for temp in (0.5, 1.0):
        samples[temp] = sample(net, vocab, 300 if not args.quick else 120, temperature=temp,
                               prime="def ", seed=args.seed)
        print(f"--- sample, temperature {temp} (prime 'def '):\ndef {samples[temp]}\n---")
    print(f"held-out bits/char: LSTM {curve[-1]:.3f} vs unigram {base:.3f} "
          f"({100 * (1 - curve[-1] / base):.0f}% fewer bits), after {epochs} epochs, {seconds:.0f} s of training")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(epochs + 1), curve, "o-", label="char-LSTM, held-out")
    ax.axhline(base, color="k", ls="--", label="unigram baseline")
    ax.set_xlabel("epoch")
    ax.set_ylabel("bits per character")
    ax.set_title("char-LSTM on the Python standard library's source", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, args.out, "char_lstm.png")
    return {"heldout_bpc": curve, "unigram_bpc": base, "samples": samples, "jit": use_jit,
            "timing": timing, "train_seconds": seconds}


if __name__ == "__main__":
    main()
