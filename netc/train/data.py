"""Data for training: sources (built-in data sets, npz, csv) matched to a network's inputs.

A data set is a dict of arrays keyed by the network's input names, aligned on the first axis.
Features go to the first input; labels (or targets) to the second, when the spec has one. Arrays
are converted here, once and explicitly, to the dtypes the spec declares; anything that cannot
be converted exactly (NaNs, a wrong number of features, mismatched lengths) is a DataError that
names the input with the expected and found shapes.
"""
from __future__ import annotations

import math
import os

import numpy as np

BUILTIN = ("digits", "breast_cancer", "xor")


class DataError(ValueError):
    pass


def _sklearn(name):
    try:
        from sklearn import datasets
    except ImportError:
        raise DataError(f"the '{name}' data set comes with scikit-learn: pip install 'netc[datasets]'") from None
    bunch = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer}[name]()
    X = bunch.data
    if name == "digits":
        X = X / 16.0  # pixel intensities 0..16 -> 0..1
    else:
        X = (X - X.mean(0)) / X.std(0)  # 30 features on very different scales
    return X, bunch.target


def read_source(source):
    """(X, y or None) from a source name or file."""
    if source in ("digits", "breast_cancer"):
        return _sklearn(source)
    if source == "xor":
        return np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float), np.array([0, 1, 1, 0])
    if not os.path.exists(source):
        raise DataError(f"{source}: no such file, and not a built-in data set ({', '.join(BUILTIN)})")
    if source.endswith(".npz"):
        try:
            with np.load(source, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except Exception as exc:  # a damaged archive raises several kinds of errors
            raise DataError(f"{source}: cannot read ({exc})") from None
        if "X" not in arrays:
            raise DataError(f"{source}: expected arrays 'X' (and 'y'), found {', '.join(arrays) or 'none'}")
        return arrays["X"], arrays.get("y")
    if source.endswith(".csv"):
        try:
            table = np.genfromtxt(source, delimiter=",", dtype=float, skip_header=_has_header(source))
        except ValueError as exc:
            raise DataError(f"{source}: {exc}") from None
        table = np.atleast_2d(table)
        return table[:, :-1], table[:, -1]  # the last column is the label
    raise DataError(f"{source}: unknown kind of data file (use .npz with X and y, or .csv with the label last)")


def _has_header(path):
    with open(path) as fh:
        first = fh.readline()
    try:
        [float(v) for v in first.split(",") if v.strip()]
        return 0
    except ValueError:
        return 1


def _fit_features(X, t, name, note):
    """Reshape (or, for 8x8 digits into 28x28, upsample and pad) X to the input's example shape."""
    shape = t.example_shape
    want = math.prod(shape)
    X = X.reshape(len(X), -1)
    if X.shape[1] == want:
        return X.reshape((len(X),) + tuple(shape))
    if X.shape[1] == 64 and tuple(shape) == (1, 28, 28):
        # LeNet-5 on sklearn's digits: 8x8 -> 24x24 by repeating pixels, plus a 2-pixel border
        img = X.reshape(-1, 8, 8).repeat(3, 1).repeat(3, 2)
        note.append("digits upsampled 8x8 -> 24x24 (x3, nearest) and padded to 28x28")
        return np.pad(img, ((0, 0), (2, 2), (2, 2)))[:, None]
    raise DataError(f"input '{name}' expects {' x '.join(map(str, shape))} = {want} values per example, "
                    f"but the data has {X.shape[1]}")


def _fit_labels(y, t, name, n_classes_hint):
    shape = t.example_shape
    if np.issubdtype(np.asarray(y).dtype, np.floating) and t.dtype.startswith("int"):
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError(f"input '{name}' holds class ids, but the labels are not whole numbers")
    if t.dtype.startswith("int"):
        y = np.asarray(y).reshape((len(y),) + tuple(shape))
        return y.astype(t.dtype)
    y = np.asarray(y, dtype=float)
    if len(shape) == 1 and y.ndim == 1 and shape[0] > 1:  # class ids -> one-hot targets
        if y.max() >= shape[0] or y.min() < 0:
            raise DataError(f"labels run from {y.min():g} to {y.max():g}, but input '{name}' has {shape[0]} classes")
        y = np.eye(shape[0])[y.astype(int)]
    return y.reshape((len(y),) + tuple(shape))


def dataset_for(graph, source):
    """The data from `source` as a dict keyed by the graph's inputs, and notes on what was adapted."""
    X, y = read_source(source)
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise DataError(f"{source}: features must be numbers, found {X.dtype}")
    if y is not None and len(y) != len(X):
        raise DataError(f"{source}: {len(X)} examples but {len(y)} labels")
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        row = int(np.argwhere(~np.isfinite(X.reshape(len(X), -1)))[0][0])
        raise DataError(f"{source}: the features hold NaN or infinity (first at example {row})")
    note = []
    inputs = [graph.node(n) for n in graph.inputs]
    out = {}
    first = inputs[0]
    out[first.name] = _fit_features(X, first.type, first.name, note).astype(first.type.dtype)
    if len(inputs) > 1:
        if y is None:
            raise DataError(f"the spec has a second input '{inputs[1].name}' but {source} has no labels")
        out[inputs[1].name] = _fit_labels(y, inputs[1].type, inputs[1].name, None)
    if len(inputs) > 2:
        raise DataError(f"the spec has {len(inputs)} inputs; give an .npz with one array per input name")
    return out, note


def split(data: dict, fraction: float, rng):
    """A seeded train/validation split."""
    n = len(next(iter(data.values())))
    order = rng.permutation(n)
    k = int(round(n * fraction))
    val, train = order[:k], order[k:]
    return {k_: v[train] for k_, v in data.items()}, {k_: v[val] for k_, v in data.items()}
