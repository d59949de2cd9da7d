"""The training loop: seeded mini-batches, validation, schedules, early stopping, checkpoints.

A checkpoint holds the weights, the optimizer state, the step count (which seeds dropout), the
epoch, the position inside the epoch and the shuffling generator's state at the epoch's start,
so `resume` continues on exactly the trajectory an uninterrupted run takes. Checkpoints are
written atomically and never after a NaN: the last good one survives. Ctrl-C finishes the step
in flight, writes a checkpoint and raises KeyboardInterrupt.

Per batch, in this order: the rows (a seeded permutation per epoch; ordered streams under
truncated BPTT with a carried state, see sequence.py), the spec's augmentations and mixup (from a
generator seeded by (seed, epoch, batch), so resuming mid-epoch repeats them), the carried
states, one train_step. After each epoch: validation, metrics.csv and metrics.jsonl, the
checkpoint, early stopping.
"""
from __future__ import annotations

import csv
import json
import math
import os
import signal
import sys
import threading
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
    augment: list = field(default_factory=list)  # [(name, settings)] from train.augment
    mixup: float = 0.0  # alpha; 0: off

    @classmethod
    def from_spec(cls, train: dict, **overrides):
        opt = train.get("optimizer") or ("sgd", {"lr": 0.01})
        cfg = cls(epochs=train.get("epochs", 10), batch=train.get("batch", 32), lr=opt[1].get("lr", 0.01),
                  seed=train.get("seed", 0), validation=train.get("validation", 0.1),
                  schedule=train.get("schedule") or ("constant", {}), early_stopping=train.get("early_stopping"),
                  clip=train.get("clip_norm", 0.0), augment=list(train.get("augment") or []),
                  mixup=(train.get("mixup") or {}).get("alpha", 0.0))
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
    carry: dict = field(default_factory=dict)  # carried recurrent states mid-epoch, as lists


def classifier_logits(graph):
    """(logits node, labels input) when the network is trained with softmax cross-entropy."""
    for loss in graph.losses:
        node = graph.node(loss)
        if node.op.name == "softmax_cross_entropy":
            return node.inputs[0], node.inputs[1]
    return None, None


def evaluate(net, data, batch=256):
    """Mean loss and, for classifiers, accuracy over a data set, in eval mode (carried states at zero)."""
    from .sequence import with_zero_state

    logits, labels = classifier_logits(net.graph)
    n = len(next(iter(data.values())))
    total = correct = count = 0.0
    for i in range(0, n, batch):
        part = with_zero_state(net, {k: v[i:i + batch] for k, v in data.items()})
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


class _Feeder:
    """Turns the rows of one batch into the arrays of one step, and picks the network that takes them."""

    def __init__(self, net, cfg, names, ordered):
        from .augment import image_input
        from .sequence import Carry

        self.net, self.cfg = net, cfg
        self.image = image_input(net.graph, names) if cfg.augment else None
        self.mix_net, self.mix = net, None
        if cfg.mixup > 0:
            self._setup_mixup(names)
        self.carry = Carry(net)
        self.ordered = bool(self.carry) and ordered

    def _setup_mixup(self, names):
        from ..runtime import Network
        from .data import label_inputs
        from .graphs import variant

        g = self.net.graph
        labels = [n for n in label_inputs(g) if n in names]
        features = [n for n in names if n not in labels and g.node(n).type.is_float]
        if len(labels) != 1 or not features:
            raise ValueError(f"train.mixup mixes float inputs and their labels: {g.name} needs one labels input "
                             f"and a float feature input")
        lab, feat = labels[0], features[0]
        t = g.node(lab).type
        classes = None
        if not t.is_float:
            loss = next(g.node(c) for c in g.g.successors(lab) if g.node(c).is_loss)
            if loss.op.name != "softmax_cross_entropy":
                raise ValueError(f"train.mixup with class-id labels needs softmax_cross_entropy, found {loss.op.name}")
            shape = g.node(loss.inputs[0]).type.example_shape
            classes = shape[-1]
            # the sibling: labels declared as float probabilities of the logits' shape
            sib = variant(g, inputs={lab: (shape, g.dtype)})
            self.mix_net = Network(sib, share=self.net, jit=self.net.jit)
        self.mix = (feat, lab, classes)

    def batch(self, train, idx, epoch, b, state):
        batch = {k: np.ascontiguousarray(v[idx]) for k, v in train.items()}
        if self.cfg.augment or self.mix:
            from .augment import augment, mixup

            rng = np.random.default_rng([self.cfg.seed, epoch, b])
            if self.image:
                batch[self.image] = np.ascontiguousarray(augment(batch[self.image], self.cfg.augment, rng))
            if self.mix:
                feat, lab, classes = self.mix
                batch[feat], batch[lab], _ = mixup(batch[feat], batch[lab], self.cfg.mixup, rng, classes)
        if self.carry:
            if not state.carry:
                state.carry = {k: v.tolist() for k, v in self.carry.zeros(len(idx)).items()}
            batch.update({k: np.asarray(v, self.net.dtype) for k, v in state.carry.items()})
        return batch

    def step(self, batch, lr, state):
        if self.carry:  # the final states of this window, with the weights the step reads
            nxt = self.carry.next_state(batch)
        net = self.mix_net
        net.step_count = self.net.step_count  # the step seeds dropout: one count for both
        loss = net.train_step(lr=lr, clip=self.cfg.clip, **batch)
        self.net.step_count = net.step_count
        if self.carry:
            state.carry = {k: v.tolist() for k, v in nxt.items()}
        return loss


class _Interrupt:
    """Ctrl-C sets a flag; the loop stops between steps, so the checkpoint matches the weights."""

    def __init__(self):
        self.hit = False
        self.old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.hit:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.hit = True

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        return False


def fit(net, train, val=None, cfg: Config = None, resume=False, progress=True, log=None, ordered=False):
    """Train `net` on the dict of arrays `train`; returns the history (one dict per epoch).

    `ordered`: the rows are windows of one text in reading order (data.Data.ordered); with a carried
    recurrent state they are read as parallel streams instead of shuffled."""
    cfg = cfg or Config()
    log = log or (lambda msg: print(msg, file=sys.stderr))
    rng = np.random.default_rng(cfg.seed)
    state = State(rng_state=rng.bit_generator.state)
    path = os.path.join(cfg.out, CHECKPOINT) if cfg.out else None
    feeder = _Feeder(net, cfg, list(train), ordered)
    if resume:
        if not path or not os.path.exists(path):
            raise FileNotFoundError(f"nothing to resume: {path} does not exist")
        meta = net.load(path)
        if "loop" not in meta:
            raise ValueError(f"{path}: holds weights but no training position; it cannot be resumed")
        state = State(**meta["loop"])
        log(f"resumed from {path}: epoch {state.epoch + 1}, batch {state.batch}")
    n = len(next(iter(train.values())))
    streams = stream_rows_for(feeder, n, cfg.batch)
    steps_per_epoch = len(streams) if streams is not None else max(1, -(-n // cfg.batch))
    with _Interrupt() as interrupt:
        try:
            while state.epoch < cfg.epochs:
                rng.bit_generator.state = state.rng_state
                order = rng.permutation(n)
                lr = cfg.lr_at(state.epoch)
                start, seen, running = time.perf_counter(), 0, 0.0
                for b in range(state.batch, steps_per_epoch):
                    idx = streams[b] if streams is not None else np.sort(order[b * cfg.batch:(b + 1) * cfg.batch])
                    batch = feeder.batch(train, idx, state.epoch, b, state)
                    loss = feeder.step(batch, lr, state)
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
                    if interrupt.hit:
                        raise KeyboardInterrupt
                row = {"epoch": state.epoch + 1, "lr": lr, "loss": running / max(seen, 1)}
                if val is not None and len(next(iter(val.values()))):
                    row.update({f"val_{k}": v for k, v in evaluate(net, val).items()})
                state.epoch += 1
                state.batch = 0
                state.carry = {}
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


def stream_rows_for(feeder, n, batch):
    if not feeder.ordered:
        return None
    from .sequence import stream_rows

    return stream_rows(n, batch)


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
            "history": state.history, "best": state.best, "bad_epochs": state.bad_epochs,
            "carry": state.carry}
    net.save(path, extra={"loop": loop})


def _write_metrics(out, history):
    keys = list(dict.fromkeys(k for row in history for k in row))
    tmp = os.path.join(out, ".metrics.csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, os.path.join(out, "metrics.csv"))
    tmp = os.path.join(out, ".metrics.jsonl.tmp")
    with open(tmp, "w") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in history)
    os.replace(tmp, os.path.join(out, "metrics.jsonl"))


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
