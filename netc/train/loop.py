"""The training loop: seeded mini-batches, validation, schedules, early stopping, checkpoints.

A checkpoint holds the weights, the optimizer state, the step count (which seeds dropout), the
epoch, the position inside the epoch and the shuffling generator's state at the epoch's start,
so `resume` continues on exactly the trajectory an uninterrupted run takes. Checkpoints are
written atomically and never after a NaN: the last good one survives.
"""
from __future__ import annotations

import csv
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

CHECKPOINT = "checkpoint.npz"


class Diverged(RuntimeError):
    pass


@dataclass
class Config:
    epochs: int = 10
    batch: int = 32
    lr: float = 0.01
    seed: int = 0
    validation: float = 0.1
    schedule: tuple = ("constant", {})
    early_stopping: dict | None = None
    clip: float = 0.0
    out: str | None = None

    @classmethod
    def from_spec(cls, train: dict, **overrides):
        opt = train.get("optimizer") or ("sgd", {"lr": 0.01})
        cfg = cls(epochs=train.get("epochs", 10), batch=train.get("batch", 32), lr=opt[1].get("lr", 0.01),
                  seed=train.get("seed", 0), validation=train.get("validation", 0.1),
                  schedule=train.get("schedule") or ("constant", {}), early_stopping=train.get("early_stopping"),
                  clip=train.get("clip_norm", 0.0))
        for k, v in overrides.items():
            if v is not None:
                setattr(cfg, k, v)
        return cfg

    def lr_at(self, epoch):
        kind, a = self.schedule
        if kind == "step":
            return self.lr * a["gamma"] ** (epoch // a["every"])
        if kind == "cosine":
            return a["min_lr"] + (self.lr - a["min_lr"]) * (1 + math.cos(math.pi * epoch / self.epochs)) / 2
        return self.lr


@dataclass
class State:
    epoch: int = 0  # completed epochs
    batch: int = 0  # batches done in the current epoch
    rng_state: dict = field(default_factory=dict)  # the shuffler at the start of the current epoch
    history: list = field(default_factory=list)
    best: float = math.inf
    bad_epochs: int = 0


def classifier_logits(graph):
    """(logits node, labels input) when the network is trained with softmax cross-entropy."""
    for loss in graph.losses:
        node = graph.node(loss)
        if node.op.name == "softmax_cross_entropy":
            return node.inputs[0], node.inputs[1]
    return None, None


def evaluate(net, data, batch=256):
    """Mean loss and, for classifiers, accuracy over a data set, in eval mode."""
    logits, labels = classifier_logits(net.graph)
    n = len(next(iter(data.values())))
    total = correct = count = 0.0
    for i in range(0, n, batch):
        part = {k: v[i:i + batch] for k, v in data.items()}
        loss, outs = net.evaluate(**part)
        m = len(next(iter(part.values())))
        total += loss * m
        if logits is not None and logits in outs and data[labels].dtype.kind == "i":
            pred = outs[logits].argmax(-1)
            correct += float((pred == part[labels]).sum())
            count += pred.size
    metrics = {"loss": total / max(n, 1)}
    if count:
        metrics["accuracy"] = correct / count
    return metrics


def fit(net, train, val=None, cfg: Config = None, resume=False, progress=True, log=None):
    """Train `net` on the dict of arrays `train`; returns the history (one dict per epoch)."""
    cfg = cfg or Config()
    log = log or (lambda msg: print(msg, file=sys.stderr))
    rng = np.random.default_rng(cfg.seed)
    state = State(rng_state=rng.bit_generator.state)
    path = os.path.join(cfg.out, CHECKPOINT) if cfg.out else None
    if resume:
        if not path or not os.path.exists(path):
            raise FileNotFoundError(f"nothing to resume: {path} does not exist")
        meta = net.load(path)
        state = State(**meta["loop"])
        log(f"resumed from {path}: epoch {state.epoch + 1}, batch {state.batch}")
    n = len(next(iter(train.values())))
    steps_per_epoch = max(1, -(-n // cfg.batch))
    try:
        while state.epoch < cfg.epochs:
            rng.bit_generator.state = state.rng_state
            order = rng.permutation(n)
            lr = cfg.lr_at(state.epoch)
            start, seen, running = time.perf_counter(), 0, 0.0
            for b in range(state.batch, steps_per_epoch):
                idx = np.sort(order[b * cfg.batch:(b + 1) * cfg.batch])
                batch = {k: np.ascontiguousarray(v[idx]) for k, v in train.items()}
                loss = net.train_step(lr=lr, clip=cfg.clip, **batch)
                if not math.isfinite(loss):
                    raise Diverged(f"the loss became {loss} at epoch {state.epoch + 1}, batch {b + 1} "
                                   f"(learning rate {lr:g}); the last good checkpoint is kept"
                                   + (f" in {path}" if path else ""))
                state.batch = b + 1
                seen += len(idx)
                running += loss * len(idx)
                if progress:
                    _bar(state.epoch, cfg.epochs, b + 1, steps_per_epoch, running / seen,
                         seen / max(time.perf_counter() - start, 1e-9))
            row = {"epoch": state.epoch + 1, "lr": lr, "loss": running / max(seen, 1)}
            if val is not None and len(next(iter(val.values()))):
                row.update({f"val_{k}": v for k, v in evaluate(net, val).items()})
            state.epoch += 1
            state.batch = 0
            state.rng_state = rng.bit_generator.state
            state.history.append(row)
            if progress:
                sys.stderr.write("\n" if sys.stderr.isatty() else "")
            log("  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
            stop = _early_stop(cfg, state, row)
            if path:
                _checkpoint(net, path, state)
                _write_metrics(cfg.out, state.history)
            if stop:
                log(f"early stopping: no improvement in {cfg.early_stopping['metric']} "
                    f"for {cfg.early_stopping['patience']} epochs")
                break
    except KeyboardInterrupt:
        if path:
            _checkpoint(net, path, state)
            log(f"\ninterrupted: checkpoint written to {path}; continue with --resume")
        raise
    return state.history


def _early_stop(cfg, state, row):
    es = cfg.early_stopping
    if not es or es["metric"] not in row:
        return False
    value = row[es["metric"]] * (-1 if es["metric"].endswith("accuracy") else 1)
    if value < state.best:
        state.best, state.bad_epochs = value, 0
        return False
    state.bad_epochs += 1
    return state.bad_epochs >= es["patience"]


def _checkpoint(net, path, state):
    loop = {"epoch": state.epoch, "batch": state.batch, "rng_state": state.rng_state,
            "history": state.history, "best": state.best, "bad_epochs": state.bad_epochs}
    net.save(path, extra={"loop": loop})


def _write_metrics(out, history):
    keys = list(dict.fromkeys(k for row in history for k in row))
    tmp = os.path.join(out, ".metrics.csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, os.path.join(out, "metrics.csv"))


def _bar(epoch, epochs, b, steps, loss, rate):
    if not sys.stderr.isatty():
        return
    width = 24
    done = int(width * b / steps)
    sys.stderr.write(f"\repoch {epoch + 1}/{epochs} [{'#' * done}{'.' * (width - done)}] {b}/{steps} "
                     f"loss {loss:.4f}  {rate:,.0f} ex/s ")
    sys.stderr.flush()


def plot(out, history):
    """Save the loss (and accuracy) curves as a PNG when matplotlib is installed; returns the path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    keys = [k for k in history[0] if k not in ("epoch", "lr")]
    fig, axes = plt.subplots(1, 2 if any("accuracy" in k for k in keys) else 1, figsize=(9, 3.5), squeeze=False)
    epochs = [r["epoch"] for r in history]
    for k in keys:
        ax = axes[0][1] if "accuracy" in k else axes[0][0]
        ax.plot(epochs, [r.get(k, float("nan")) for r in history], label=k, marker="o", ms=3)
    for ax in axes[0]:
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    path = os.path.join(out, "curves.png")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
