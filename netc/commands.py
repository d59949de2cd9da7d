"""The `netc` subcommands past the front end: train, eval, predict, sample, decode, cache, and the compiler views
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
    t.add_argument("--data", required=True, help="digits, breast_cancer, xor, or a file: .npz, .csv, "
                   ".txt (characters), .fasta (DNA/protein), .tsv (sentence pairs)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--validation", type=float, help="fraction held out for validation")
    t.add_argument("--seq-len", type=int, help="window length T for text (default: the spec's train.bptt)")
    t.add_argument("--reverse-source", action="store_true", help="sentence pairs: feed the source reversed")
    t.add_argument("--out", help="folder for the checkpoint, metrics and plot (default runs/<name>)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    t.add_argument("--overwrite", action="store_true", help="start over even when --out holds a checkpoint")
    t.add_argument("--jit", action="store_true", help="compile the whole training step (slower start, faster steps)")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    for name, helptext in (("eval", "loss and accuracy of saved weights on data"),
                           ("predict", "outputs of saved weights on data")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("spec")
        p.add_argument("--weights", required=True, help="a checkpoint written by netc train")
        p.add_argument("--data", required=True)
        p.add_argument("--seq-len", type=int, help="window length T for text")
        if name == "predict":
            p.add_argument("--out", help="write the predictions to this .csv (default: print)")
    s = sub.add_parser("sample", help="generate text from a trained character model")
    s.add_argument("spec")
    s.add_argument("--weights", required=True)
    s.add_argument("--length", type=int, default=200)
    s.add_argument("--temperature", type=float, default=1.0, help="0: always the most likely character")
    s.add_argument("--prime", help="text to start from")
    s.add_argument("--seed", type=int, default=0)
    d = sub.add_parser("decode", help="translate with a trained sequence-to-sequence model")
    d.add_argument("spec")
    d.add_argument("--source", action="append", dest="sentences", default=[],
                   help="a source sentence (repeat for several; default: one per line on stdin)")
    d.add_argument("--weights", required=True)
    d.add_argument("--beam", type=int, default=1, help="beam width (1: greedy)")
    d.add_argument("--max-len", type=int)
    c = sub.add_parser("cache", help="inspect or clear the compile cache")
    c.add_argument("action", choices=("info", "clear"))
    pr = sub.add_parser("profile", help="where a training step's time goes, op by op")
    pr.add_argument("spec")
    pr.add_argument("--batch", type=int, help="batch size N (default: the spec's train.batch, else 32)")
    pr.add_argument("--length", type=int, help="sequence length T, for specs with one (default: train.bptt, else 32)")
    pr.add_argument("--steps", type=int, default=20, help="timed steps, after 3 untimed ones (default 20)")
    pr.add_argument("--top", type=int, help="show only the slowest TOP nodes")
    g = sub.add_parser("gradcheck", help="check a spec's forward and reverse derivatives against finite differences")
    g.add_argument("spec")
    g.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                   help="precision of the check (default float64; float32 checks loosely)")
    g.add_argument("--examples", type=int, default=1, help="random inputs and directions to try (default 1)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--batch", type=int, default=2, help="batch size N (default 2)")
    g.add_argument("--length", type=int, default=3, help="sequence length T, for specs with one (default 3)")
    g.add_argument("--order", type=int, choices=(1, 2), default=1,
                   help="2 also checks Hessian-vector products (forward-over-reverse) against second "
                        "differences of the loss, and the Hessian's symmetry")


def _fail(message) -> int:
    print(f"netc: error: {message}", file=sys.stderr)
    return 1


def emit_compiler_view(graph, what) -> str:
    """--emit backward | tangent | python: the backward graph, the tangent graph, or the generated
    module's source."""
    from .diff.reverse import backward_text, reverse
    from .runtime import Network

    if what == "backward":
        if not graph.losses:
            raise ValueError(f"{graph.name} has no loss, so it has no backward graph: add a 'loss:' section")
        return backward_text(graph, reverse(graph))
    if what == "tangent":
        from .diff.forward import forward_mode, param_names, tangent_text

        # seeded at the float inputs (directional derivatives of the outputs along an input
        # change; labels take no derivative); with integer inputs only (token ids), at the parameters
        seeds = [n for n in graph.inputs if graph.node(n).type.is_float and forward_mode(graph, [n]).order]
        tan = forward_mode(graph, seeds) if seeds else forward_mode(graph, (), param_names(graph, True))
        return tangent_text(graph, tan)
    t0 = time.perf_counter()
    net = Network(graph)
    print(f"netc: {graph.name}: module {'loaded from the cache' if net.cache_hit else 'generated'} in "
          f"{time.perf_counter() - t0:.2f} s ({net.module.__file__}); kernels compile on first use",
          file=sys.stderr)
    with open(net.module.__file__) as fh:
        return fh.read()


def _load_graph(path):
    """The spec's graph, or None once its errors are printed."""
    from .frontend import load

    try:
        return load(path)
    except SpecError as err:
        print(err.render(), file=sys.stderr)
        return None


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


def _fresh_run_folder(name, resume):
    """runs/<name>, or runs/<name>-2, -3, ... when earlier runs hold checkpoints: never overwrite one.
    --resume continues the newest."""
    from .train.loop import CHECKPOINT

    base = os.path.join("runs", name)
    folders = [base] + [f"{base}-{i}" for i in range(2, 1000)]
    used = [f for f in folders if os.path.exists(os.path.join(f, CHECKPOINT))]
    if resume:
        return used[-1] if used else base
    for f in folders:
        if f not in used:
            return f
    return base


def cmd_train(args) -> int:
    from .runtime import Network
    from .train.data import DataError, load_data, load_vocab, save_vocab, split
    from .train.loop import CHECKPOINT, Config, Diverged, fit, plot

    graph = _load_graph(args.spec)
    if graph is None:
        return 1
    if not graph.losses:
        return _fail(f"{args.spec}: the spec has no 'loss:', so there is nothing to train")
    cfg = Config.from_spec(graph.train, epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed,
                           validation=args.validation)
    cfg.out = args.out or _fresh_run_folder(graph.name, args.resume)
    problem = _writable(cfg.out)
    if problem:
        return _fail(problem)
    ckpt = os.path.join(cfg.out, CHECKPOINT)
    try:
        vocab = load_vocab(ckpt) if args.resume else None
        data = load_data(graph, args.data, seq_len=args.seq_len or (vocab or {}).get("seq_len"), vocab=vocab,
                         reverse_source=args.reverse_source)
    except DataError as exc:
        return _fail(str(exc))
    for note in data.notes:
        print(f"note: {note}", file=sys.stderr)
    text = data.vocab is not None and data.vocab["kind"] == "chars"  # hold out the tail: windows overlap no training
    train, val = split(data.arrays, cfg.validation, np.random.default_rng(cfg.seed + 1), contiguous=text)
    n_train = len(next(iter(train.values())))
    print(f"{graph.name}: {n_train} training and {len(next(iter(val.values())))} validation examples "
          f"from {args.data}", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        net = Network(graph, seed=cfg.seed, jit=args.jit)
    except ValueError as exc:  # e.g. the perceptron rule on a network without a threshold
        return _fail(f"{args.spec}: {exc}")
    if os.path.exists(ckpt) and not args.resume and not args.overwrite:
        try:
            Network.load(net, ckpt)
            why = "holds a checkpoint of this spec"
        except ValueError as exc:
            why = f"holds a file that is not a checkpoint of this spec ({exc})"
        return _fail(f"{cfg.out} {why}; it is left untouched: --resume continues it, --overwrite starts "
                     f"over, or choose another --out")
    if data.vocab is not None:
        if data.vocab["kind"] == "tokens":
            data.vocab["seq_len"] = int(next(iter(data.arrays.values())).shape[1])
        save_vocab(cfg.out, data.vocab)
    print(f"compiling {graph.name} ({'whole-step' if args.jit else 'kernel library'}; the first run on a "
          f"machine compiles the kernels and caches them) ...", file=sys.stderr, flush=True)
    try:
        history = fit(net, train, val, cfg, resume=args.resume, progress=not args.quiet, ordered=data.ordered)
    except Diverged as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(str(exc))
    except ValueError as exc:  # a damaged or mismatched checkpoint on --resume; augment/mixup on the wrong spec
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    print(f"trained in {time.perf_counter() - t0:.1f} s ({'cache hit' if net.cache_hit else 'new network'})",
          file=sys.stderr)
    if history:
        png = plot(cfg.out, history)
        print(f"wrote {ckpt}, metrics.csv, metrics.jsonl" + (", curves.png" if png else ""), file=sys.stderr)
    return 0


def _net_with_weights(args, need_data=True):
    from .runtime import Network
    from .train.data import DataError, load_data, load_vocab

    graph = _load_graph(args.spec)
    if graph is None:
        return None, None, 1
    if not os.path.exists(args.weights):
        return None, None, _fail(f"{args.weights}: no such file")
    try:
        net = Network(graph)
        net.load(args.weights)
        vocab = load_vocab(args.weights)
        if not need_data:
            return net, vocab, 0
        seq_len = args.seq_len or (vocab or {}).get("seq_len")
        data = load_data(graph, args.data, seq_len=seq_len, vocab=vocab)
    except (ValueError, DataError) as exc:
        return None, None, _fail(str(exc))
    return net, data, 0


def cmd_eval(args) -> int:
    from .train.loop import evaluate

    net, data, status = _net_with_weights(args)
    if net is None:
        return status
    metrics = evaluate(net, data.arrays)
    print("  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return 0


def cmd_predict(args) -> int:
    from .train.sequence import with_zero_state

    net, data, status = _net_with_weights(args)
    if net is None:
        return status
    need = net._needed(net.infer_plan)
    inputs = with_zero_state(net, {k: v for k, v in data.arrays.items() if k in need})
    outs = net.forward(**inputs)
    name, values = next(iter(outs.items()))
    if values.ndim > 2:  # a sequence of scores: the most likely class at every step
        ids = values.argmax(-1)
        symbols = data.vocab["symbols"] if data.vocab else None
        lines = ["".join(symbols[i] for i in row).encode("unicode_escape").decode("ascii")
                 if symbols and data.vocab["kind"] == "chars"
                 else " ".join(symbols[i] if symbols else str(i) for i in row) for row in ids]
        text = "\n".join(lines) + "\n"
        if args.out:
            with open(args.out, "w") as fh:
                fh.write(text)
            print(f"wrote {len(lines)} predictions to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
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


def cmd_sample(args) -> int:
    from .train.data import DataError
    from .train.sequence import sample

    net, vocab, status = _net_with_weights(args, need_data=False)
    if net is None:
        return status
    if not vocab or vocab.get("kind") != "chars":
        return _fail(f"no character vocabulary (vocab.json) beside {args.weights}: train on a .txt file first")
    try:
        text = sample(net, vocab, args.length, args.temperature, args.prime, args.seed)
    except (ValueError, DataError) as exc:
        return _fail(str(exc))
    print((args.prime or "") + text)
    return 0


def cmd_decode(args) -> int:
    from .train.data import DataError
    from .train.sequence import decode

    net, vocab, status = _net_with_weights(args, need_data=False)
    if net is None:
        return status
    if not vocab or vocab.get("kind") != "tokens":
        return _fail(f"no token vocabulary (vocab.json) beside {args.weights}: train on a .tsv of pairs first")
    sentences = args.sentences or [line.strip() for line in sys.stdin if line.strip()]
    try:
        for sentence in sentences:
            words, _ = decode(net, vocab, sentence.split(), beam=args.beam, max_len=args.max_len)
            print(" ".join(words))
    except (ValueError, DataError) as exc:
        return _fail(str(exc))
    return 0


def build(graph, jit=False) -> int:
    """`netc compile`'s last stage: lower the checked graph, compile its kernels (or find them
    cached), and say what it is doing and how long it took: a cold compile takes seconds."""
    from . import cache
    from .runtime import Network

    tier = "whole-step tier" if jit else "kernel library"
    print(f"compiling {graph.name} ({graph.dtype}, {tier}) ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        net = Network(graph, jit=jit)
        net.warm()
    except (ValueError, MemoryError) as exc:
        return _fail(f"{graph.name}: {exc}")
    where = cache.cache_dir() / net.key
    print(f"{graph.name}: ready in {time.perf_counter() - t0:.1f} s "
          f"({'cached network' if net.cache_hit else 'new network'}; generated code in {where})", file=sys.stderr)
    return 0


def cmd_cache(args) -> int:
    from . import cache

    if args.action == "info":
        print(cache.info())
    else:
        n = cache.clear()
        print(f"removed {n} compiled network{'s' if n != 1 else ''} from {cache.cache_dir()}")
    return 0


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict, "sample": cmd_sample,
            "decode": cmd_decode, "cache": cmd_cache}


def cmd_gradcheck(args) -> int:
    """Per node and parameter, the largest errors of the JVP, the VJP and the dot-product test
    against central differences (netc.testing.check_grads) over --examples random draws."""
    import copy

    from .runtime import Network
    from .testing import check_grads, failure_message, grad_table

    graph = _load_graph(args.spec)
    if graph is None:
        return 1
    graph = copy.copy(graph)
    graph.train = {}  # the derivatives of the spec itself, not of a training rule's surrogate
    if args.dtype == "float64":
        from .runtime import retype

        graph = retype(graph, "float64")
    t0 = time.perf_counter()
    net = Network(graph, seed=args.seed)  # check_grads moves zero-initialised entries off their kinks
    order = args.order if graph.losses else 1
    reports = [check_grads(net, seed=args.seed + i, dtype=args.dtype, order=order, N=args.batch, T=args.length,
                           raise_on_failure=False) for i in range(max(1, args.examples))]
    print(f"gradcheck {graph.name}: {args.dtype}, {len(reports)} example{'s' if len(reports) != 1 else ''}, "
          f"batch {args.batch}, seed {args.seed} ({time.perf_counter() - t0:.1f} s)")
    print(grad_table(reports))
    bad = [r for r in reports if not r.ok]
    if bad:
        print(failure_message(bad[0]), file=sys.stderr)
        return 1
    print("all derivatives agree")
    return 0


COMMANDS["gradcheck"] = cmd_gradcheck


def cmd_profile(args) -> int:
    """The median time of each node's forward and backward kernels over --steps training steps on
    random inputs (netc.profile), slowest first."""
    from .profile import profile
    from .runtime import Network

    graph = _load_graph(args.spec)
    if graph is None:
        return 1
    if not graph.losses:
        return _fail(f"{graph.name} has no loss: a profile times training steps")
    if args.steps < 1 or (args.batch is not None and args.batch < 1) or (args.length is not None and args.length < 1):
        print("netc: error: --steps, --batch and --length must be at least 1", file=sys.stderr)
        return 2
    N = args.batch or int(graph.train.get("batch", 32))
    T = args.length or int(graph.train.get("bptt", 32))
    print(f"compiling {graph.name} ...", file=sys.stderr, flush=True)
    try:
        result = profile(Network(graph), N=N, T=T, steps=args.steps)
    except (ValueError, MemoryError) as exc:
        return _fail(f"{graph.name}: {exc}")
    print(result.table(args.top))
    return 0


COMMANDS["profile"] = cmd_profile
