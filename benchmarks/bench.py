"""netc side by side with the reference frameworks on the workloads W1-W6, as ratios.

    python benchmarks/bench.py            # everything; rewrites benchmarks/RESULTS.md
    python benchmarks/bench.py --quick    # fewer steps, no compile-time subprocesses

Each workload trains with SGD (lr 0.01, momentum 0.9, weight decay 5e-4) on fixed seeded data in
float32, after a warm-up; a time is the median over many steps. PyTorch eager runs the same graph
op by op (netc.interop.pytorch) and JAX runs it as one jax.jit function (netc.interop.jax), with
the same parameters, in the same process, taking turns with netc in blocks of steps. A framework that is
not installed is reported as missing.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("NUMBA_NRT_STATS", "1")  # count allocations per step; set before numba loads

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import netc  # noqa: E402
from netc.interop import jax as jref  # noqa: E402
from netc.interop import pytorch as tref  # noqa: E402

from benchmarks import startup  # noqa: E402
from benchmarks.workloads import SGD, WORKLOADS, load_graph, make_inputs  # noqa: E402,F401

THREADS = 2
ROOF_SIZES = (256, 512, 1024, 2048)


def paired_times(fns, steps, warmup=5, block=5, settle=3):
    """Medians of fns taking turns in blocks: each turn runs `settle` untimed steps, then `block`
    timed ones. Turns keep the load that drifts on a shared machine common to all sides, so the
    ratio holds where absolute times drift. Blocks rather than single steps because the first steps
    after another framework's are not that framework's own: PyTorch's OpenMP threads spin on both
    cores after each of its steps, and netc's next step ran 1.3-1.7x slower (W2-W4) than its third."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(max(1, -(-steps // block))):
        for fn, ts in zip(fns, times):
            for _ in range(settle):
                fn()
            for _ in range(block):
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


def jax_steps(net, N, T):
    """JAX on the same graph and parameters, one jitted function per call: (train step, batch-1
    forward), or None when JAX is not installed. Both are compiled here, so the timed calls
    exclude JAX's compile time; each waits for its results (block_until_ready)."""
    if not jref.available():
        return None
    import jax

    jg = jref.JaxGraph(net.graph, random_ok=True)
    train, infer = jg.train_step_fn(SGD), jg.infer_fn(net.infer_plan.outputs)
    params, state = jg.arrays_from(net.params)
    buffers = jax.tree_util.tree_map(jax.numpy.zeros_like, params)  # SGD's momentum
    x = jax.device_put(make_inputs(net.graph, N, T))
    x1 = jax.device_put(make_inputs(net.graph, 1, T))
    keys = list(jax.random.split(jax.random.PRNGKey(0), 64))  # made up front: a new dropout mask per step

    def step():
        nonlocal params, buffers, state
        params, buffers, state, loss = train(params, buffers, state, x, keys[0])
        keys.append(keys.pop(0))
        jax.block_until_ready((params, buffers, state, loss))

    def forward():
        return jax.block_until_ready(infer(params, state, x1))

    step()  # jit compiles on the first call: the timed calls exclude it
    forward()
    return step, forward


def bench_workload(spec, N, T, steps, b1=True):
    """Times in seconds (None where a framework is missing) and netc's allocations per step. netc,
    PyTorch and JAX take turns in one paired_times round, so all ratios share one load."""
    net, n_step, n_infer, py_step, allocs = netc_steps(spec, N, T)
    on_torch, on_jax = torch_steps(net, N, T), jax_steps(net, N, T)  # (train step, batch-1 forward) or None
    out = dict.fromkeys(["torch", "jax", "b1_netc", "b1_torch", "b1_jax"], None) | {"allocs": allocs}
    out |= timed({"netc": n_step, "torch": on_torch and on_torch[0], "py": py_step,
                  "jax": on_jax and on_jax[0]}, steps)
    if b1:
        infer = timed({"netc": n_infer, "torch": on_torch and on_torch[1],
                       "jax": on_jax and on_jax[1]}, steps * 3)
        out |= {"b1_" + k: t for k, t in infer.items()}
    return out


def timed(fns, steps):
    """paired_times of the functions present (a missing framework's is None), by name."""
    present = {k: fn for k, fn in fns.items() if fn is not None}
    return dict(zip(present, paired_times(list(present.values()), steps)))


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


def blas_core():
    """The OpenBLAS core netc's BLAS (scipy's, which Numba calls) runs, and whether the environment
    pinned it: OPENBLAS_CORETYPE=Haswell on an AVX-512 machine halves its float32 GEMM."""
    from threadpoolctl import threadpool_info

    cores = {i["filepath"]: i.get("architecture") for i in threadpool_info() if i["user_api"] == "blas"}
    scipy_core = next((c for f, c in cores.items() if "scipy.libs" in f), "unknown")
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    return (f"OpenBLAS core {scipy_core} for netc (scipy's), "
            + (f"pinned by OPENBLAS_CORETYPE={pinned}" if pinned else "OpenBLAS's own choice"))


def _reset_blas():
    from netc import threads

    threads._done = None
    return threads.limit_blas()


blas_threads.reset = _reset_blas


def jax_pool_threads():
    """Threads of XLA's CPU pool (named tf_XLAEigen) in this process, or 'n/a' where /proc cannot say."""
    if not jref.available():
        return "n/a"
    try:
        tasks = Path("/proc/self/task")
        return sum((t / "comm").read_text().strip() == "tf_XLAEigen" for t in tasks.iterdir())
    except OSError:
        return "n/a"


def startup_row(spec, N, T):
    """New-process columns (benchmarks/startup.py): netc's cold, warm and new-spec times to a first
    finished training step and its peak memory, each also as a ratio to PyTorch eager's import to
    first step."""
    runs = startup.netc_startup(spec, N, T)
    ref = startup.torch_startup(spec, N, T)
    sec = {k: r["seconds"] for k, r in runs.items()}
    rss = runs["warm"]["rss_mib"]  # a process that trains on cached code (a cold one also holds LLVM's)
    return {"cold_s": f"{sec['cold']:.1f}", "cold_py_s": f"{sec['cold_py']:.1f}", "warm_s": f"{sec['warm']:.2f}",
            "new_spec_s": f"{sec['new_spec']:.2f}",
            "new_spec_jit_s": f"{sec['new_spec_jit']:.1f}", "torch_start_s": fmt_s(ref and ref["seconds"]),
            "warm_ratio": ratio(sec["warm"], ref and ref["seconds"]),
            "new_spec_ratio": ratio(sec["new_spec"], ref and ref["seconds"]),
            "rss_mib": f"{rss:.0f}", "torch_rss_mib": fmt_s(ref and ref["rss_mib"], "{:.0f}"),
            "rss_ratio": ratio(rss, ref and ref["rss_mib"])}


def fmt_s(v, form="{:.2f}"):
    return "missing" if v is None else form.format(v)


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
               "ratio": ratio(r["netc"], r["torch"]), "jax_ms": fmt_ms(r["jax"]),
               "ratio_jax": ratio(r["netc"], r["jax"]), "py_tier_ms": fmt_ms(r["py"]), "allocs": f"{r['allocs']:g}"}
        if b1:
            row.update(b1_netc_ms=fmt_ms(r["b1_netc"]), b1_torch_ms=fmt_ms(r["b1_torch"]),
                       b1_ratio=ratio(r["b1_netc"], r["b1_torch"]), b1_jax_ms=fmt_ms(r["b1_jax"]),
                       b1_ratio_jax=ratio(r["b1_netc"], r["b1_jax"]))
        if not args.quick:
            row.update(startup_row(spec, N, T))
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
    jax_version = jref.jax.__version__ if jref.available() else "missing"
    lines = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/bench.py`" + (" --quick" if quick else "") + "; do not edit by hand.",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- versions: Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"torch {torch_version}, jax {jax_version}",
        f"- BLAS: {blas_core()}",
        f"- threads: PyTorch {THREADS} (OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}: unset "
        "leaves PyTorch's default, whose idle threads spin; on a busy machine they slow every turn in the round, "
        "so run this on a quiet one; frameworks take turns in blocks of 5 timed steps after 3 untimed ones, as "
        "the spinning slows the next framework's first steps); netc's BLAS "
        f"{blas_threads()} (netc/threads.py: one level of parallelism); JAX not set: XLA's CPU client has no "
        "supported thread-count setting (XLA_FLAGS offers only --xla_cpu_multi_thread_eigen, on or off), and sizes "
        f"its pool to the cores this process may use ({jax_pool_threads()} tf_XLAEigen threads counted at the end); "
        "float32; training step = forward + backward + SGD(momentum 0.9, wd 5e-4) on every side",
        "- netc_ms = the compiled tier (Network(jit=True): one @njit call per step); py_tier_ms = the Python "
        "driver tier (jit=False) for comparison",
        "- ratio = netc / PyTorch eager, ratio_jax = netc / JAX jit (below 1 means netc is faster); b1 = batch-1 "
        "forward latency; JAX's times exclude its jit compile (done in the warm-up), inputs are on its device "
        "beforehand, and each call waits for its results (block_until_ready); JAX's dropout (W5) draws its own "
        "masks",
        "- allocs = Numba runtime allocations per warm training step",
        "- startup (a new process to a first finished training step; benchmarks/startup.py): cold_s = empty "
        "caches, warm_s = cache hit, both in the compiled tier; new_spec_s = a network not seen before whose kernels "
        "are cached (the default kernel-library tier; new_spec_jit_s: the compiled tier, which compiles its step); "
        "torch_start_s = PyTorch eager from import to its first step; rss = peak resident memory (VmHWM) of the warm "
        "netc process and of the PyTorch one",
        f"- load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())} (other processes on "
        "these cores slow 2-thread runs most: PyTorch's OpenMP and the 2-thread roof)",
    ]
    lines += _table(rows, STEP_COLUMNS)
    if any("cold_s" in r for r in rows):
        lines += _table(rows, STARTUP_COLUMNS)
    roofs = ", ".join(f"{v:.1f} GFLOP/s on {k} thread{'s' if k > 1 else ''}" for k, v in roof.items())
    lines += ["", f"float32 GEMM roof (numpy @, square {', '.join(map(str, ROOF_SIZES if not quick else ROOF_SIZES[:2]))}): "
              f"{roofs}; netc's dense kernel at 1024^3 (on netc's {blas_threads()} BLAS thread(s)) reaches "
              f"{share * 100:.0f}% of the roof at that thread count", ""]
    Path(path).write_text("\n".join(lines))


STEP_COLUMNS = ["workload", "netc_ms", "torch_ms", "ratio", "jax_ms", "ratio_jax", "py_tier_ms", "b1_netc_ms",
                "b1_torch_ms", "b1_ratio", "b1_jax_ms", "b1_ratio_jax", "allocs"]
STARTUP_COLUMNS = ["workload", "cold_s", "cold_py_s", "warm_s", "new_spec_s", "new_spec_jit_s", "torch_start_s",
                   "warm_ratio", "new_spec_ratio", "rss_mib", "torch_rss_mib", "rss_ratio"]


def _table(rows, columns):
    cols = [c for c in columns if any(c in r for r in rows)]
    lines = ["", "| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    return lines + ["| " + " | ".join(r.get(c, "") for c in cols) + " |" for r in rows]


if __name__ == "__main__":
    main()
