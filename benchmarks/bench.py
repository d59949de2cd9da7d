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

from benchmarks.workloads import SGD, WORKLOADS, load_graph, make_inputs  # noqa: E402,F401

THREADS = 2
ROOF_SIZES = (256, 512, 1024, 2048)


def paired_times(fns, steps, warmup=5):
    """Medians of fns run in turn, one step each per round: on a shared machine the load that
    slows one side slows the other too, so the ratio holds where absolute times drift."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(steps):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]


def median_time(fn, steps, warmup=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def netc_steps(spec, N, T):
    """The compiled tier (Network(jit=True), one @njit call per step) and the Python driver tier:
    (network, train step, batch-1 forward, Python-tier train step, allocations per warm step)."""
    from numba.core.runtime import rtsys

    from netc.runtime import Network

    graph = load_graph(spec)
    net = Network(graph, jit=True)
    slow = Network(graph, jit=False)
    x = make_inputs(net.graph, N, T)
    x1 = {k: v for k, v in make_inputs(net.graph, 1, T).items() if k in net._needed(net.infer_plan)}
    for _ in range(3):
        net.train_step(**x)
    before = rtsys.get_allocation_stats().alloc
    for _ in range(10):
        net.train_step(**x)
    allocs = (rtsys.get_allocation_stats().alloc - before) / 10
    return (net, lambda: net.train_step(**x), lambda: net.forward(**x1), lambda: slow.train_step(**x), allocs)


def torch_steps(net, N, T):
    """PyTorch eager on the same graph and parameters: (train step, batch-1 forward), or None
    when PyTorch is not installed (reported as missing)."""
    if not tref.available():
        return None
    import torch

    torch.set_num_threads(THREADS)
    tg = tref.TorchGraph(net.graph, random_ok=True)
    params = tg.tensors_from({k: v for k, v in net.params.items()})
    trainable = [params[k] for k in net.trainable]
    opt = torch.optim.SGD(trainable, **SGD)
    xt = {k: torch.from_numpy(v) for k, v in make_inputs(net.graph, N, T).items()}
    x1 = {k: torch.from_numpy(v) for k, v in make_inputs(net.graph, 1, T).items()}
    outs = net.infer_plan.outputs

    def step():
        opt.zero_grad(set_to_none=True)
        loss = tg.total_loss(tg.run(xt, params, training=True))
        loss.backward()
        opt.step()

    def infer():
        with torch.no_grad():
            values = tg.run(x1, params, training=False, only=outs)
            return [values[o] for o in outs]

    return step, infer


def bench_workload(spec, N, T, steps, b1=True):
    """Times in seconds (None where a framework is missing) and netc's allocations per step."""
    net, n_step, n_infer, py_step, allocs = netc_steps(spec, N, T)
    ref = torch_steps(net, N, T)
    if ref is None:
        n_train, n_py = paired_times([n_step, py_step], steps)
        t_train = t_infer = None
        n_b1 = paired_times([n_infer], steps * 3)[0] if b1 else None
    else:
        n_train, t_train, n_py = paired_times([n_step, ref[0], py_step], steps)
        n_b1, t_infer = paired_times([n_infer, ref[1]], steps * 3) if b1 else (None, None)
    return {"netc": n_train, "torch": t_train, "py": n_py, "b1_netc": n_b1, "b1_torch": t_infer, "allocs": allocs}


def compile_times(spec, N, T):
    """Cold (empty caches) and warm (cache hit) compile, each in a new process, to a first step done."""
    script = (
        "import time, resource, sys, json; t0 = time.perf_counter()\n"
        "sys.path.insert(0, %r)\n"
        "from netc.runtime import Network\n"
        "from benchmarks.workloads import make_inputs, load_graph\n"
        "net = Network(load_graph(%r), jit=True); x = make_inputs(net.graph, %d, %r); net.train_step(**x)\n"
        "print(json.dumps({'seconds': time.perf_counter() - t0, 'hit': net.cache_hit,"
        " 'rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    ) % (str(ROOT), spec, N, T)
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(d, "numba"), NETC_CACHE_DIR=os.path.join(d, "netc"))
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-2000:])
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return runs[0], runs[1]


def gemm_roof(sizes=(256, 512, 1024, 2048), threads=THREADS):
    """Best float32 GEMM GFLOP/s of numpy's BLAS on square matrices, at `threads` threads."""
    from threadpoolctl import threadpool_limits

    best = 0.0
    with threadpool_limits(threads, user_api="blas"):
        for n in sizes:
            a = np.random.default_rng(0).random((n, n), dtype=np.float32)
            t = median_time(lambda: a @ a, 5, 1)
            best = max(best, 2 * n ** 3 / t / 1e9)
    blas_threads.reset()  # the limit above covered netc's BLAS too: put netc's back
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


def blas_threads():
    from netc.threads import limit_blas

    return limit_blas()


def _reset_blas():
    from netc import threads

    threads._done = None
    return threads.limit_blas()


blas_threads.reset = _reset_blas


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
    steps = 10 if args.quick else 50
    rows = []
    for wid, spec, N, T, b1 in WORKLOADS:
        if args.only and wid.split()[0] not in args.only.split(","):
            continue
        print(f"{wid} ...", file=sys.stderr, flush=True)
        r = bench_workload(spec, N, T, steps, b1)
        row = {"workload": wid, "netc_ms": fmt_ms(r["netc"]), "torch_ms": fmt_ms(r["torch"]),
               "ratio": ratio(r["netc"], r["torch"]), "py_tier_ms": fmt_ms(r["py"]), "allocs": f"{r['allocs']:g}",
               "b1_netc_ms": fmt_ms(r["b1_netc"]) if b1 else "", "b1_torch_ms": fmt_ms(r["b1_torch"]) if b1 else "",
               "b1_ratio": ratio(r["b1_netc"], r["b1_torch"]) if b1 else ""}
        if not args.quick:
            cold, warm = compile_times(spec, N, T)
            row.update(cold_s=f"{cold['seconds']:.1f}", warm_s=f"{warm['seconds']:.2f}",
                       rss_mib=f"{warm['rss_mib']:.0f}")
        rows.append(row)
        print("   " + "  ".join(f"{k}={v}" for k, v in row.items() if k != "workload"), file=sys.stderr)
    sizes = (256, 512) if args.quick else (256, 512, 1024, 2048)
    roof = {n: gemm_roof(sizes, n) for n in (1, THREADS)}
    share = dense_share(roof[blas_threads() or 1])
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
    cols = ["workload", "netc_ms", "torch_ms", "ratio", "py_tier_ms", "b1_netc_ms", "b1_torch_ms", "b1_ratio", "allocs",
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
        f"- threads: PyTorch {THREADS}; netc's BLAS {blas_threads()} (netc/threads.py: one level of parallelism); "
        "float32; training step = forward + backward + SGD(momentum 0.9, wd 5e-4) on both sides",
        "- netc_ms = the compiled tier (Network(jit=True): one @njit call per step); py_tier_ms = the Python "
        "driver tier (jit=False) for comparison",
        "- ratio = netc / PyTorch eager (below 1 means netc is faster); b1 = batch-1 forward latency",
        "- allocs = Numba runtime allocations per warm training step",
        "- cold_s / warm_s = new process to first finished training step, empty caches / cache hit",
        f"- load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())} (other processes on "
        "these cores slow 2-thread runs most: PyTorch's OpenMP and the 2-thread roof)",
        "",
        "| " + " | ".join(cols) + " |",
        "| " + " | ".join("---" for _ in cols) + " |",
    ]
    for r in rows:
        lines.append("| " + " | ".join(r.get(c, "") for c in cols) + " |")
    roofs = ", ".join(f"{v:.1f} GFLOP/s on {k} thread{'s' if k > 1 else ''}" for k, v in roof.items())
    lines += ["", f"float32 GEMM roof (numpy @, square {', '.join(map(str, ROOF_SIZES if not quick else ROOF_SIZES[:2]))}): "
              f"{roofs}; netc's dense kernel at 1024^3 (on netc's {blas_threads()} BLAS thread(s)) reaches "
              f"{share * 100:.0f}% of the roof at that thread count", ""]
    Path(path).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
