"""The `netc` subcommands past the front end: train, eval, predict, cache, and the compiler views
(`--emit backward|python`). Each returns an exit status: 0 success, 1 a problem with the spec,
the data or the files, 2 wrong usage."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from .errors import SpecError


def add_parsers(sub):
    t = sub.add_parser("train", help="train a network on data")
    t.add_argument("spec")
    t.add_argument("--data", required=True, help="digits, breast_cancer, xor, or a .npz (X, y) / .csv file")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--validation", type=float, help="fraction held out for validation")
    t.add_argument("--out", help="folder for the checkpoint, metrics and plot (default runs/<name>)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    t.add_argument("--jit", action="store_true", help="compile the whole training step (slower start, faster steps)")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    for name, helptext in (("eval", "loss and accuracy of saved weights on data"),
                           ("predict", "outputs of saved weights on data")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("spec")
        p.add_argument("--weights", required=True, help="a checkpoint written by netc train")
        p.add_argument("--data", required=True)
        if name == "predict":
            p.add_argument("--out", help="write the predictions to this .csv (default: print)")
    c = sub.add_parser("cache", help="inspect or clear the compile cache")
    c.add_argument("action", choices=("info", "clear"))


def _fail(message) -> int:
    print(f"netc: error: {message}", file=sys.stderr)
    return 1


def emit_compiler_view(graph, what) -> str:
    """--emit backward | python: the backward graph, or the generated module's source."""
    from .diff.reverse import backward_text, reverse
    from .runtime import Network

    if what == "backward":
        if not graph.losses:
            raise SpecError_no_loss(graph)
        return backward_text(graph, reverse(graph))
    net = Network(graph)
    with open(net.module.__file__) as fh:
        return fh.read()


def SpecError_no_loss(graph):
    return ValueError(f"{graph.name} has no loss, so it has no backward graph: add a 'loss:' section")


def _load_graph(path):
    from .frontend import load

    try:
        return load(path), None
    except SpecError as err:
        return None, err.render()


def _writable(folder):
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, ".netc-write-test")
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 65536)  # a checkpoint needs room: a full disk fails here, before training
        os.unlink(probe)
        return None
    except OSError as exc:
        return f"cannot write to {folder}: {exc.strerror}"


def cmd_train(args) -> int:
    from .runtime import Network
    from .train.data import DataError, dataset_for, split
    from .train.loop import Config, Diverged, fit, plot

    graph, err = _load_graph(args.spec)
    if err:
        print(err, file=sys.stderr)
        return 1
    if not graph.losses:
        return _fail(f"{args.spec}: the spec has no 'loss:', so there is nothing to train")
    cfg = Config.from_spec(graph.train, epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed,
                           validation=args.validation)
    cfg.out = args.out or os.path.join("runs", graph.name)
    problem = _writable(cfg.out)
    if problem:
        return _fail(problem)
    try:
        data, notes = dataset_for(graph, args.data)
    except DataError as exc:
        return _fail(str(exc))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    train, val = split(data, cfg.validation, np.random.default_rng(cfg.seed + 1))
    n_train = len(next(iter(train.values())))
    print(f"{graph.name}: {n_train} training and {len(next(iter(val.values())))} validation examples "
          f"from {args.data}", file=sys.stderr)
    t0 = time.perf_counter()
    net = Network(graph, seed=cfg.seed, jit=args.jit)
    print(f"compiling {graph.name} ({'whole-step' if args.jit else 'kernel library'}; the first run on a "
          f"machine compiles the kernels and caches them) ...", file=sys.stderr, flush=True)
    _warm_up(net, train, cfg.batch)
    print(f"ready in {time.perf_counter() - t0:.1f} s ({'cache hit' if net.cache_hit else 'new network'})",
          file=sys.stderr)
    try:
        history = fit(net, train, val, cfg, resume=args.resume, progress=not args.quiet)
    except Diverged as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(str(exc))
    except ValueError as exc:  # a damaged or mismatched checkpoint on --resume
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    if history:
        png = plot(cfg.out, history)
        print(f"wrote {os.path.join(cfg.out, 'checkpoint.npz')}, metrics.csv" + (", curves.png" if png else ""),
              file=sys.stderr)
    return 0


def _warm_up(net, train, batch):
    """Compile everything a training step runs, leaving weights and optimizer state untouched."""
    part = {k: np.ascontiguousarray(v[:batch]) for k, v in train.items()}
    saved = [a.copy() for a in (net.P, *net.S)]
    step = net.step_count
    net.train_step(**part)
    for a, s in zip((net.P, *net.S), saved):
        a[...] = s
    net.step_count = step


def _net_with_weights(args):
    from .runtime import Network
    from .train.data import DataError, dataset_for

    graph, err = _load_graph(args.spec)
    if err:
        print(err, file=sys.stderr)
        return None, None, 1
    net = Network(graph)
    try:
        net.load(args.weights)
        data, _ = dataset_for(graph, args.data)
    except (ValueError, DataError) as exc:
        return None, None, _fail(str(exc))
    except FileNotFoundError:
        return None, None, _fail(f"{args.weights}: no such file")
    return net, data, 0


def cmd_eval(args) -> int:
    from .train.loop import evaluate

    net, data, status = _net_with_weights(args)
    if net is None:
        return status
    metrics = evaluate(net, data)
    print("  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return 0


def cmd_predict(args) -> int:
    net, data, status = _net_with_weights(args)
    if net is None:
        return status
    inputs = {k: v for k, v in data.items() if k in net._needed(net.infer_plan)}
    outs = net.forward(**inputs)
    name, values = next(iter(outs.items()))
    rows = values.reshape(len(values), -1)
    header = [f"{name}[{i}]" for i in range(rows.shape[1])]
    if rows.shape[1] > 1:
        header.append("argmax")
        rows = np.column_stack([rows, rows.argmax(1)])
    if args.out:
        np.savetxt(args.out, rows, delimiter=",", header=",".join(header), comments="", fmt="%.6g")
        print(f"wrote {len(rows)} predictions to {args.out}", file=sys.stderr)
    else:
        print(",".join(header))
        for r in rows:
            print(",".join(f"{v:.6g}" for v in r))
    return 0


def cmd_cache(args) -> int:
    from . import cache

    if args.action == "info":
        print(cache.info())
    else:
        n = cache.clear()
        print(f"removed {n} compiled network{'s' if n != 1 else ''} from {cache.cache_dir()}")
    return 0


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict, "cache": cmd_cache}
