"""Vanilla RNN gradients vanish or explode over time; the LSTM's cell carries them; clipping tames explosion.

The course (Bengio et al. 1994, Pascanu et al. 2013): dh_T/dh_k = prod_{T >= i > k} W_hh^T
diag(tanh'(a_i)), so the gradient that reaches step k shrinks or grows geometrically with T - k:
vanishing when the largest singular value of W_hh (times tanh') is below 1, exploding above.
The LSTM's cell state has an additive path, c_t = f_t * c_{t-1} + ..., whose factor per step is
the forget gate rather than a weight matrix and a squashing derivative. Gradient-norm clipping
(g <- threshold g / |g| when |g| >= threshold) keeps one exploding gradient from throwing the
weights off a cliff.

What is measured, and how:

  A. The exact Jacobian of the final state with respect to the state at step k, ds_T/ds_k, for
     k = 0 .. T-1, by netc's reverse mode: a probe network runs the recurrent layer over
     x_{k+1..T} from an initial-state input s0 = s_k (`state: s0`, `return: state`), and one
     `net.vjp` seeded at the final state with the S x S identity (one row per example of a batch
     of S copies) gives the whole Jacobian at once. For the rnn the state is h (so this is
     exactly dh_T/dh_k); for the lstm it is (h, c), and the c -> c block dc_T/dc_k is reported
     too. The spectral norm |ds_T/ds_k|_2 is printed and plotted against T - k. Networks at
     initialisation (netc's: Glorot input weights, orthogonal W_hh, zero bias; lstm forget bias 1)
     on one random input sequence (8 Gaussian features per step, 32 units, T = 60), the rnn's W_hh
     scaled by a gain 0.5, 1, 2, 3; the lstm with forget bias 1 (netc's default) and 3.
  B. Clipping: a vanilla tanh RNN (W_hh gain 1.5, past the edge of chaos: the gradient is
     mostly a few units but now and then 10 to 100 times that) learns to recall the first of 30
     random symbols (4 symbols, chance 25%), plain SGD at lr 0.5, batch 32, with clip_norm 1
     and without, over several seeds, the same batches for both. Unclipped, the rare huge
     gradients take steps of lr |g| = 20 to 50 that throw the weights where the loss sits above
     chance (confidently wrong), and most runs never come back; clipped, the same gradients move
     the weights by at most lr. Prints the largest raw gradient norm seen, the training loss, and
     the test loss and accuracy; plots the raw gradient norm and the loss per step
     (rnn_gradients.png).

    python examples/rnn_gradients.py [--quick] [--out DIR] [--seeds K] [--steps S]
"""
from __future__ import annotations

import numpy as np

import netc

from _common import parser, pyplot, save

H, D, T_PROBE = 32, 8, 60
V, T_TASK = 4, 30
PROBES = [("rnn", {"gain": 0.5}), ("rnn", {"gain": 1.0}), ("rnn", {"gain": 2.0}), ("rnn", {"gain": 3.0}),
          ("lstm", {"forget_bias": 1.0}), ("lstm", {"forget_bias": 3.0})]


def probe_graph(cell, forget_bias=None):
    S = H * (2 if cell == "lstm" else 1)
    fb = f", forget_bias: {forget_bias}" if cell == "lstm" else ""
    return netc.parse(f"""netc: 1
name: probe_{cell}
inputs:
  x: [T, {D}]
  s0: [{S}]
layers:
  - {cell}: {{units: {H}, state: s0, return: state, name: rec{fb}}}
""", f"<probe_{cell}>")


def label(cell, o):
    return f"rnn, W_hh gain {o['gain']:g}" if cell == "rnn" else f"lstm, forget bias {o['forget_bias']:g}"


def jacobian_norms(cell, opts, x, seed):
    """|ds_T/ds_k|_2 for k = 0..T-1 (index k), and for the lstm |dc_T/dc_k|_2."""
    net = netc.Network(probe_graph(cell, opts.get("forget_bias")), seed=seed)
    net.params["rec.wh"][...] *= opts.get("gain", 1.0)
    S = net.graph.node("s0").type.shape[-1]
    T = x.shape[1]
    states = [np.zeros((1, S), np.float32)]  # s_0 = 0, then s_k after reading x_1..x_k
    for k in range(T):
        states.append(net.forward(x=np.ascontiguousarray(x[:, k:k + 1]), s0=states[-1])["rec"])
    full, cc = [], []
    eye = np.eye(S, dtype=np.float32)
    for k in range(T):
        suffix = np.ascontiguousarray(np.repeat(x[:, k:], S, 0))
        s0 = np.ascontiguousarray(np.repeat(states[k], S, 0))
        J = net.vjp({"x": suffix, "s0": s0}, {"rec": eye}, wrt="s0")["s0"]  # row i: d s_T[i] / d s_k
        full.append(np.linalg.norm(J.astype(np.float64), 2))
        if cell == "lstm":
            cc.append(np.linalg.norm(J[H:, H:].astype(np.float64), 2))
    return np.array(full), (np.array(cc) if cc else None)


def task_graph():
    return netc.parse(f"""netc: 1
name: recall_rnn
inputs:
  x: [T, {V}]
  label: {{shape: [], dtype: int32}}
layers:
  - rnn: {{units: {H}, return: last, name: rec}}
  - dense: {{units: {V}, name: logits}}
loss:
  softmax_cross_entropy: {{logits: logits, labels: label}}
train:
  optimizer: {{sgd: {{lr: 0.5}}}}
""", "<recall_rnn>")


def recall_data(n, seed):
    """Sequences of T one-hot random symbols; the label is the first symbol."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, V, (n, T_TASK))
    return {"x": np.eye(V, dtype=np.float32)[s], "label": s[:, 0].astype(np.int32)}


def train_recall(clip, steps, seed, gain=1.5, lr=0.5):
    graph = task_graph()
    train, test = recall_data(2000, 2 * seed), recall_data(500, 2 * seed + 1)
    net = netc.Network(graph, seed=seed)
    net.params["rec.wh"][...] *= gain
    rng = np.random.default_rng(seed)
    norms, losses = [], []
    for _ in range(steps):
        idx = np.sort(rng.choice(len(train["label"]), 32, replace=False))
        batch = {k: np.ascontiguousarray(v[idx]) for k, v in train.items()}
        net.loss_and_grad(**batch)  # the raw gradient, before any clipping, for the record
        norms.append(float(np.linalg.norm(net.G)))
        losses.append(net.train_step(lr=lr, clip=clip, **batch))
        if not np.isfinite(losses[-1]):
            break
    loss, out = net.evaluate(**test)
    acc = float((out["logits"].argmax(-1) == test["label"]).mean())
    return {"grad_norms": np.array(norms), "losses": np.array(losses), "test_loss": loss, "test_accuracy": acc}


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--seeds", type=int, default=None, help="seeds of part B (default 5, 3 with --quick)")
    ap.add_argument("--steps", type=int, default=None, help="SGD steps in part B (default 600, 300 with --quick)")
    args = ap.parse_args(argv)
    seeds = range(args.seed, args.seed + (args.seeds or (3 if args.quick else 5)))
    steps = args.steps or (300 if args.quick else 600)

    x = np.random.default_rng(args.seed).standard_normal((1, T_PROBE, D)).astype(np.float32)
    print(f"A. |ds_T/ds_k|_2 (exact Jacobian, netc reverse mode), T = {T_PROBE}, at initialisation; "
          f"columns: T - k = 1, 10, 20, 40, 60; and the mean factor per step")
    profiles = {}
    for cell, opts in PROBES:
        full, cc = jacobian_norms(cell, opts, x, args.seed)
        lag = full[::-1]  # index j: T - k = j + 1
        per_step = float(np.exp(np.mean(np.diff(np.log(lag)))))
        profiles[label(cell, opts)] = {"lag_norms": lag, "per_step": per_step,
                                       "cc_lag_norms": cc[::-1] if cc is not None else None}
        cols = " ".join(f"{lag[j]:9.2e}" for j in (0, 9, 19, 39, 59))
        extra = f"   |dc_T/dc_k| at T-k=60: {cc[0]:.2e}" if cc is not None else ""
        print(f"  {label(cell, opts):<24} {cols}   x{per_step:.3f}/step{extra}")

    print(f"B. recall the first of {T_TASK} symbols, vanilla rnn (W_hh gain 1.5), SGD lr 0.5, {steps} steps")
    runs = {}
    for clip in (0.0, 1.0):
        runs[clip] = [train_recall(clip, steps, s) for s in seeds]
        for s, r in zip(seeds, runs[clip]):
            print(f"  clip {'1.0' if clip else 'off'} seed {s}: largest |g| {r['grad_norms'].max():.1e}, "
                  f"train loss last 50 steps {r['losses'][-50:].mean():.3f}, test loss {r['test_loss']:.3f}, "
                  f"test accuracy {r['test_accuracy']:.2f}")
    summary = {c: {"median_test_accuracy": float(np.median([r["test_accuracy"] for r in rs])),
                   "median_test_loss": float(np.median([r["test_loss"] for r in rs]))} for c, rs in runs.items()}
    for c, s in summary.items():
        print(f"  clip {'1.0' if c else 'off'}: median test accuracy {s['median_test_accuracy']:.2f}, "
              f"median test loss {s['median_test_loss']:.3f} (chance: 0.25, loss {np.log(V):.3f})")

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for name, p in profiles.items():
        axes[0].semilogy(np.arange(1, T_PROBE + 1), p["lag_norms"], label=name,
                         ls="-" if name.startswith("rnn") else "--")
    axes[0].set_xlabel("T - k (steps back)")
    axes[0].set_title("|ds_T/ds_k|_2 at initialisation (exact, by net.vjp)", fontsize=10)
    r0 = runs[0.0][0]
    r1 = runs[1.0][0]
    axes[1].semilogy(r0["grad_norms"], lw=0.8, label="no clipping")
    axes[1].semilogy(r1["grad_norms"], lw=0.8, label="clip_norm 1 (raw norm shown)")
    axes[1].set_title(f"rnn gradient norm per step (seed {seeds[0]})", fontsize=10)
    axes[1].set_xlabel("step")
    smooth = np.ones(20) / 20
    for clip, color, name in ((0.0, "C0", "no clipping"), (1.0, "C1", "clip_norm 1")):
        for i, r in enumerate(runs[clip]):
            axes[2].plot(np.convolve(r["losses"], smooth, "valid"), color=color, lw=0.8, alpha=0.8,
                         label=(f"{name}: median test acc {summary[clip]['median_test_accuracy']:.2f}"
                                if i == 0 else None))
    axes[2].axhline(np.log(V), color="k", ls=":", lw=0.8, label="chance")
    axes[2].set_title(f"training loss (mean of 20 steps), {len(seeds)} seeds", fontsize=10)
    axes[2].set_xlabel("step")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    save(fig, args.out, "rnn_gradients.png")
    return {"profiles": profiles, "runs": runs, "summary": summary}


if __name__ == "__main__":
    main()
