"""Shared by the course-claim examples: the command line, seeded splits, plots, reporting.

Each example is `python examples/<name>.py [--quick] [--out DIR] [--seed S]`; its `main(argv)`
prints what it measured and returns the numbers as a dict (the tests read that dict).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def parser(doc):
    ap = argparse.ArgumentParser(description=doc.strip().splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small settings that run in seconds (the tests use it)")
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the plot (default {DEFAULT_OUT})")
    ap.add_argument("--seed", type=int, default=0)
    return ap


def split(n, test_fraction, seed, labels=None):
    """(train rows, test rows): a seeded split, stratified by class when labels are given."""
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(n)
        k = int(round(n * test_fraction))
        return np.sort(order[k:]), np.sort(order[:k])
    test = []
    for c in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == c))
        test.extend(rows[:int(round(len(rows) * test_fraction))])
    test = np.sort(np.array(test))
    return np.setdiff1d(np.arange(n), test), test


def take(data, rows):
    return {k: np.ascontiguousarray(v[rows]) for k, v in data.items()}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, out, name):
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
    print(f"plot: {path}")
    return path


def quiet(msg):
    """A log function for netc.train.loop.fit that prints nothing."""


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
        return False


def flush():
    sys.stdout.flush()
