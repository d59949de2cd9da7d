"""netc side by side with the reference frameworks on the workloads W1-W6, as ratios.

    python benchmarks/bench.py            # everything; rewrites benchmarks/RESULTS.md
    python benchmarks/bench.py --quick    # fewer steps, no compile-time subprocesses

Each workload trains with SGD (lr 0.01, momentum 0.9, weight decay 5e-4) on fixed seeded data in
float32, after a warm-up; a time is the median over many steps. PyTorch eager runs the same graph
op by op (netc.interop.pytorch) with the same parameters, in the same process and thread count.
A framework that is not installed is reported as missing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("NUMBA_NRT_STATS", "1")  # count allocations per step; set before numba loads

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import netc  # noqa: E402
from netc.interop import pytorch as tref  # noqa: E402

WORKLOADS = [  # id, spec, batch, T (sequence length), batch-1 inference measured
    ("W1 mlp-digits", "specs/mlp_digits.yaml", 32, None, True),
    ("W2 lenet5", "specs/lenet5.yaml", 64, None, True),
    ("W3 char-lstm", "specs/char_lstm.yaml", 32, 64, True),
    ("W4 resnet-se", "specs/resnet_se.yaml", 32, None, False),
    ("W5 conv1d-dna", "specs/dna_cnn.yaml", 64, None, False),
    ("W6 autoencoder", "specs/autoencoder_digits.yaml", 64, None, False),
]
SGD = {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}
THREADS = 2


def make_inputs(graph, N, T, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name in graph.inputs:
        t = graph.node(name).type
        shape = tuple(N if d == "N" else T if d == "T" else d for d in t.shape)
        if t.dtype.startswith("int"):
            limit = _id_limit(graph, name)
            out[name] = rng.integers(0, limit, shape).astype(t.dtype)
        else:
            out[name] = rng.random(shape).astype(t.dtype)
    return out


def _id_limit(graph, name):
    for c in graph.g.successors(name):
        node = graph.node(c)
        if node.op.name == "embedding":
            return node.attrs["vocab"]
        if node.op.name == "one_hot":
            return node.attrs["classes"]
        if node.op.name == "softmax_cross_entropy":
            return graph.node(node.inputs[0]).type.shape[-1]
    return 2


def median_time(fn, steps, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_netc(spec, N, T, steps):
    net = netc.compile(str(ROOT / spec))
    net.hyper.update(SGD)
    x = make_inputs(net.graph, N, T)
    train = median_time(lambda: net.train_step(**x), steps)
    from numba.core.runtime import rtsys

    before = rtsys.get_allocation_stats().alloc
    for _ in range(10):
        net.train_step(**x)
    allocs = (rtsys.get_allocation_stats().alloc - before) / 10
    infer = None
    x1 = make_inputs(net.graph, 1, T)
    fwd_inputs = {k: v for k, v in x1.items() if k in net._needed(net.infer_plan)}
    infer = median_time(lambda: net.forward(**fwd_inputs), steps * 3)
    return net, train, infer, allocs


def bench_torch(net, N, T, steps):
    if not tref.available():
        return None, None
    import torch

    torch.set_num_threads(THREADS)
    tg = tref.TorchGraph(net.graph, random_ok=True)
    params = tg.tensors_from({k: v for k, v in net.params.items()})
    trainable = [params[k] for k in net.trainable]
    opt = torch.optim.SGD(trainable, **SGD)
    x = make_inputs(net.graph, N, T)
    xt = {k: torch.from_numpy(v) for k, v in x.items()}

    def step():
        opt.zero_grad(set_to_none=True)
        loss = tg.total_loss(tg.run(xt, params, training=True))
        loss.backward()
        opt.step()

    train = median_time(step, steps)
    x1 = {k: torch.from_numpy(v) for k, v in make_inputs(net.graph, 1, T).items()}
    outs = net.infer_plan.outputs

    def infer():
        with torch.no_grad():
            values = tg.run(x1, params, training=False, only=outs)
            return [values[o] for o in outs]

    return train, median_time(infer, steps * 3)


def compile_times(spec, N, T):
    """Cold (empty caches) and warm (cache hit) compile, each in a new process, to a first step done."""
    script = (
        "import time, resource, sys, json; t0 = time.perf_counter()\n"
        "sys.path.insert(0, %r)\n"
        "import netc\n"
        "from benchmarks.bench import make_inputs\n"
        "net = netc.compile(%r); x = make_inputs(net.graph, %d, %r); net.train_step(**x)\n"
        "print(json.dumps({'seconds': time.perf_counter() - t0, 'hit': net.cache_hit,"
        " 'rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    ) % (str(ROOT), str(ROOT / spec), N, T)
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(d, "numba"), NETC_CACHE_DIR=os.path.join(d, "netc"))
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-2000:])
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return runs[0], runs[1]


def gemm_roof(sizes=(256, 512, 1024, 2048)):
    best = 0.0
    for n in sizes:
        a = np.random.default_rng(0).random((n, n), dtype=np.float32)
        t = median_time(lambda: a @ a, 5, 1)
        best = max(best, 2 * n ** 3 / t / 1e9)
    return best


def dense_share(roof):
    """GFLOP/s of netc's dense kernel on a large matrix product, as a share of the machine's roof."""
    from netc.kernels.dense import dense_fwd

    rng = np.random.default_rng(0)
    x = rng.random((1024, 1024), dtype=np.float32)
    w = rng.random((1024, 1024), dtype=np.float32)
    b = np.zeros(1024, np.float32)
    y = np.empty((1024, 1024), np.float32)
    t = median_time(lambda: dense_fwd(x, w, b, y), 5, 2)
    return 2 * 1024 ** 3 / t / 1e9 / roof


def fmt_ms(t):
    return "missing" if t is None else f"{t * 1e3:.3f}"


def ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.2f}x"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few steps, skip compile-time subprocesses")
    ap.add_argument("--only", help="comma-separated workload ids, e.g. W1,W2")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = ap.parse_args(argv)
    steps = 5 if args.quick else 50
    rows = []
    for wid, spec, N, T, b1 in WORKLOADS:
        if args.only and wid.split()[0] not in args.only.split(","):
            continue
        print(f"{wid} ...", file=sys.stderr, flush=True)
        net, n_train, n_infer, allocs = bench_netc(spec, N, T, steps)
        t_train, t_infer = bench_torch(net, N, T, steps)
        row = {"workload": wid, "netc_ms": fmt_ms(n_train), "torch_ms": fmt_ms(t_train),
               "ratio": ratio(n_train, t_train), "allocs": f"{allocs:g}",
               "b1_netc_ms": fmt_ms(n_infer) if b1 else "", "b1_torch_ms": fmt_ms(t_infer) if b1 else "",
               "b1_ratio": ratio(n_infer, t_infer) if b1 else ""}
        if not args.quick:
            cold, warm = compile_times(spec, N, T)
            row.update(cold_s=f"{cold['seconds']:.1f}", warm_s=f"{warm['seconds']:.2f}",
                       rss_mib=f"{warm['rss_mib']:.0f}")
        rows.append(row)
        print("   " + "  ".join(f"{k}={v}" for k, v in row.items() if k != "workload"), file=sys.stderr)
    roof = gemm_roof((256, 512) if args.quick else (256, 512, 1024, 2048))
    share = dense_share(roof)
    write_results(args.out, rows, roof, share, args.quick)
    print(Path(args.out).read_text())


def write_results(path, rows, roof, share, quick):
    import numba

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "missing"
    try:
        import jax  # noqa: F401

        jax_note = "installed but not yet benchmarked"
    except ImportError:
        jax_note = "missing"
    cols = ["workload", "netc_ms", "torch_ms", "ratio", "b1_netc_ms", "b1_torch_ms", "b1_ratio", "allocs",
            "cold_s", "warm_s", "rss_mib"]
    cols = [c for c in cols if any(c in r for r in rows)]
    lines = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/bench.py`" + (" --quick" if quick else "") + "; do not edit by hand.",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- versions: Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"torch {torch_version}, jax {jax_note}",
        f"- threads: {THREADS}; float32; training step = forward + backward + SGD(momentum 0.9, wd 5e-4)",
        "- ratio = netc / PyTorch eager (below 1 means netc is faster); b1 = batch-1 forward latency",
        "- allocs = Numba runtime allocations per warm training step",
        "- cold_s / warm_s = new process to first finished training step, empty caches / cache hit",
        "",
        "| " + " | ".join(cols) + " |",
        "| " + " | ".join("---" for _ in cols) + " |",
    ]
    for r in rows:
        lines.append("| " + " | ".join(r.get(c, "") for c in cols) + " |")
    lines += ["", f"float32 GEMM roof (numpy @, square 256-2048): {roof:.1f} GFLOP/s; "
              f"netc dense kernel at 1024^3 reaches {share * 100:.0f}% of it", ""]
    Path(path).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
