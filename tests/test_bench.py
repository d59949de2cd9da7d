"""benchmarks/bench.py runs: its functions at tiny settings, with PyTorch and JAX present and absent.

Nothing here asserts a time: shared machines drift; the numbers live in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("netc_bench", ROOT / "benchmarks" / "bench.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["netc_bench"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_workload_with_reference(bench):
    if not bench.tref.available():
        pytest.skip("PyTorch is not installed")
    r = bench.bench_workload("specs/mlp_digits.yaml", 4, None, steps=2, b1=True)
    assert r["netc"] > 0 and r["torch"] > 0 and r["py"] > 0 and r["b1_netc"] > 0 and r["b1_torch"] > 0
    assert r["allocs"] == 0  # the compiled tier allocates nothing once warm


def test_workload_with_jax(bench):
    if not bench.jref.available():
        pytest.skip("JAX is not installed")
    r = bench.bench_workload("specs/mlp_digits.yaml", 4, None, steps=2, b1=True)
    assert r["netc"] > 0 and r["jax"] > 0 and r["b1_jax"] > 0
    assert bench.ratio(r["netc"], r["jax"]).endswith("x")


@pytest.mark.parametrize("framework, key, ratio_col, header", [
    ("jref", "jax", "ratio_jax", "jax missing"),
    ("tref", "torch", "ratio", "jax"),
])
def test_missing_framework_is_reported(bench, monkeypatch, tmp_path, framework, key, ratio_col, header):
    monkeypatch.setattr(getattr(bench, framework), "available", lambda: False)
    r = bench.bench_workload("specs/autoencoder_digits.yaml", 4, None, steps=2, b1=False)
    assert r[key] is None and r["netc"] > 0
    assert key != "jax" or r["b1_jax"] is None
    row = {"workload": "W6", "netc_ms": bench.fmt_ms(r["netc"]), f"{key}_ms": bench.fmt_ms(r[key]),
           ratio_col: bench.ratio(r["netc"], r[key])}
    assert row[f"{key}_ms"] == "missing" and row[ratio_col] == "n/a"
    out = tmp_path / "RESULTS.md"
    bench.write_results(out, [row], {1: 100.0, 2: 190.0}, 0.9, quick=True)
    text = out.read_text()
    assert header in text and "| W6 | " in text and "| missing | n/a |" in text


def test_sequence_workload_and_roof(bench):
    graph = bench.load_graph("specs/char_lstm.yaml")
    assert graph.train["optimizer"][0] == "sgd"  # both sides train with the same SGD
    x = bench.make_inputs(graph, 2, 3)
    assert all(v.shape[:2] == (2, 3) for v in x.values())
    assert bench.gemm_roof((64,), threads=1) > 0
    assert bench.blas_threads() in (1, None) or bench.blas_threads() >= 1


def test_main_quick_writes_results(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "WORKLOADS", [("W1 mlp-digits", "specs/mlp_digits.yaml", 4, None, True)])
    monkeypatch.setattr(bench, "ROOF_SIZES", (64, 128))
    monkeypatch.setattr(bench, "gemm_roof", lambda sizes, threads=2: 100.0 * threads)
    monkeypatch.setattr(bench, "dense_share", lambda roof: 0.5)
    out = tmp_path / "R.md"
    bench.main(["--quick", "--out", str(out)])
    text = out.read_text()
    assert "W1 mlp-digits" in text and "py_tier_ms" in text
    assert "ratio_jax" in text and "b1_ratio_jax" in text


def test_startup_columns_in_new_processes(bench, monkeypatch, tmp_path):
    # the real subprocesses (cold, warm, new spec in both tiers) on a small network; PyTorch's
    # startup reported missing where it is not installed (as here, patched)
    monkeypatch.setattr(bench.tref, "available", lambda: False)
    row = bench.startup_row("specs/autoencoder_digits.yaml", 4, None)
    assert float(row["cold_s"]) > 0 and float(row["warm_s"]) > 0 and float(row["new_spec_s"]) > 0
    assert float(row["new_spec_jit_s"]) > 0 and float(row["rss_mib"]) > 0
    assert row["torch_start_s"] == "missing" and row["warm_ratio"] == "n/a" and row["rss_ratio"] == "n/a"
    out = tmp_path / "R.md"
    bench.write_results(out, [{"workload": "W6", "netc_ms": "0.1", **row}], {1: 100.0, 2: 190.0}, 0.9, quick=False)
    text = out.read_text()
    assert "new_spec_s" in text and "torch_rss_mib" in text and text.count("| W6 |") == 2
