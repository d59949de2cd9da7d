"""Data for training: sources matched to a network's inputs.

A data set is a dict of arrays keyed by the network's input names, aligned on the first axis.
Sources, by file suffix:

  digits, breast_cancer, xor   built-in (scikit-learn's small data sets; xor's truth table)
  .npz    arrays named after the spec's inputs (any number), or X (features) and y (labels)
  .csv    one example a row, the label last; an optional header row
  .txt    characters for a character model: a vocabulary of the file's characters (saved as
          vocab.json beside the checkpoint), windows of T ids as the input and the same window
          shifted one character ahead as the labels; T from the input's shape, --seq-len or
          train.bptt. An input of shape [T, V] (float) gets one-hot characters.
  .fa .fasta .fna .faa   DNA (A C G T; other letters are all-zero columns) or protein (20 amino
          acids) one-hot, to the input's [4, L] / [L, 4] (or 20); shorter records are padded with
          zeros to L (or to the longest, when the length is T), and a float input of shape [L]
          receives the length mask (1 on real positions). Labels come from the header: a field
          `label=<int>`, e.g. `>seq17 label=1`.
  .tsv    source<TAB>target sentence pairs for a sequence-to-sequence model (tokens split on
          spaces); the inputs are, in the spec's order, the source, the decoder input (<bos> and
          the target: teacher forcing) and the labels (the target then <eos>); one vocabulary,
          ids 0 <pad>, 1 <bos>, 2 <eos>, 3 <unk>; the source is reversed when asked (the course:
          it shortens the dependencies the optimiser must bridge).

Features go to the first input; labels (or targets) to the input a loss reads as labels. Arrays
are converted here, once and explicitly, to the dtypes the spec declares; anything that cannot
be converted exactly (NaNs, a wrong number of features, mismatched lengths, text in a number
column) is a DataError that names the input with the expected and found shapes.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

BUILTIN = ("digits", "breast_cancer", "xor")
VOCAB = "vocab.json"
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
DNA, PROTEIN = "ACGT", "ACDEFGHIKLMNPQRSTVWY"
FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".faa")


class DataError(ValueError):
    pass


@dataclass
class Data:
    arrays: dict  # input name -> array, aligned on the first axis
    notes: list = field(default_factory=list)  # what was adapted, for the user
    vocab: dict | None = None  # text and pairs: {"kind", "symbols", ...}, saved as vocab.json
    ordered: bool = False  # text windows in reading order (truncated BPTT with a carried state)

    def __len__(self):
        return len(next(iter(self.arrays.values())))


# -- which input is what ------------------------------------------------------------------------

def label_inputs(graph) -> list:
    """Inputs that a loss reads in its second slot (labels, targets) and no layer reads: an
    autoencoder's image is its own target, but it feeds the first layer, so it is a feature."""
    out = []
    for name in graph.inputs:
        readers = [graph.node(c) for c in graph.g.successors(name)]
        if all(n.is_loss for n in readers) and any(len(n.inputs) > 1 and n.inputs[1] == name for n in readers):
            out.append(name)
    return out


def carried_inputs(graph) -> dict:
    """Inputs that feed a recurrent layer's initial state: {input: recurrent node}. Under truncated
    BPTT the training loop fills them with that layer's final state of the previous chunk."""
    out = {}
    for name in graph.inputs:
        for c in graph.g.successors(name):
            node = graph.node(c)
            if node.op.name in ("rnn", "lstm") and len(node.inputs) > 1 and node.inputs[1] == name:
                out[name] = c
    return out


def data_inputs(graph) -> list:
    carried = carried_inputs(graph)
    return [n for n in graph.inputs if n not in carried]


def id_limit(graph, name):
    """(how many ids input `name` may hold, what sets it) from the ops that read it."""
    limits = []
    for c in graph.g.successors(name):
        node = graph.node(c)
        if node.op.name == "embedding":
            limits.append((node.attrs["vocab"], f"embedding '{c}' vocab"))
        elif node.op.name == "one_hot":
            limits.append((node.attrs["classes"], f"one_hot '{c}' classes"))
        elif node.op.name == "softmax_cross_entropy":
            limits.append((graph.node(node.inputs[0]).type.shape[-1], f"the logits of '{c}'"))
    return min(limits) if limits else (None, None)


# -- reading -----------------------------------------------------------------------------------

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
    """(X, y or None, named arrays or None) from a source name or a .npz / .csv file."""
    if source in ("digits", "breast_cancer"):
        return (*_sklearn(source), None)
    if source == "xor":
        return np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float), np.array([0, 1, 1, 0]), None
    if source.endswith(".npz"):
        try:
            with np.load(source, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except Exception as exc:  # a damaged archive raises several kinds of errors
            raise DataError(f"{source}: cannot read ({exc})") from None
        return arrays.get("X"), arrays.get("y"), arrays
    if source.endswith(".csv"):
        try:
            table = np.genfromtxt(source, delimiter=",", dtype=float, skip_header=_has_header(source),
                                  invalid_raise=True)
        except ValueError as exc:
            raise DataError(f"{source}: {exc}") from None
        table = np.atleast_2d(table)
        if table.size == 0:
            raise DataError(f"{source}: no rows")
        if np.isnan(table).any():
            row, col = np.argwhere(np.isnan(table))[0]
            raise DataError(f"{source}: row {row + 1}, column {col + 1} is empty or not a number")
        return table[:, :-1], table[:, -1], None  # the last column is the label
    raise DataError(f"{source}: unknown kind of data file (.npz, .csv, .txt, .fasta or .tsv; "
                    f"or a built-in data set: {', '.join(BUILTIN)})")


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
    if "T" in shape:
        if X.ndim == 1 + len(shape):
            return X
        raise DataError(f"input '{name}' expects N x {' x '.join(map(str, shape))}, found an array of shape {X.shape}")
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


def _fit_labels(y, t, name):
    shape = tuple(t.example_shape)
    y = np.asarray(y)
    if y.dtype.kind not in "fiub":
        raise DataError(f"input '{name}': labels must be numbers, found {y.dtype}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        row = int(np.argwhere(~np.isfinite(y.reshape(len(y), -1)))[0][0])
        raise DataError(f"input '{name}': the labels hold NaN or infinity (first at example {row})")
    if t.dtype.startswith("int"):
        if y.ndim == 2 + len(shape) and y.shape[1:-1] == shape and y.shape[-1] > 1:
            # one-hot rows -> class ids
            if not (np.all((y == 0) | (y == 1)) and np.all(y.sum(-1) == 1)):
                raise DataError(f"input '{name}' holds class ids; the labels have shape {y.shape}, but their rows "
                                f"are not one-hot (one 1, the rest 0)")
            y = y.argmax(-1)
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            raise DataError(f"input '{name}' holds class ids, but the labels are not whole numbers")
        if y[0].size != math.prod(shape):
            raise DataError(f"input '{name}' expects labels of shape {list(shape)} per example, "
                            f"found {list(y.shape[1:])}")
        return y.reshape((len(y),) + shape).astype(t.dtype)
    y = y.astype(float)
    if len(shape) == 1 and y.ndim == 1 and shape[0] > 1:  # class ids -> one-hot targets
        if y.max() >= shape[0] or y.min() < 0 or not np.all(y == np.round(y)):
            raise DataError(f"labels run from {y.min():g} to {y.max():g}, but input '{name}' takes "
                            f"one-hot targets over {shape[0]} classes")
        y = np.eye(shape[0])[y.astype(int)]
    if y[0].size != math.prod(shape):
        raise DataError(f"input '{name}' expects targets of shape {list(shape)} per example, found {list(y.shape[1:])}")
    return y.reshape((len(y),) + shape).astype(t.dtype)


def _check_features(source, X):
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise DataError(f"{source}: features must be numbers, found {X.dtype}")
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        row = int(np.argwhere(~np.isfinite(X.reshape(len(X), -1)))[0][0])
        raise DataError(f"{source}: the features hold NaN or infinity (first at example {row})")
    return X


def _named_arrays(graph, source, arrays):
    """An .npz whose arrays carry the spec's input names: check each against its declaration."""
    out, n = {}, None
    for name in data_inputs(graph):
        if name not in arrays:
            raise DataError(f"{source}: no array '{name}' (the spec's inputs are {', '.join(data_inputs(graph))}; "
                            f"found {', '.join(arrays)})")
        a, t = np.asarray(arrays[name]), graph.node(name).type
        if a.dtype.kind not in "fiub":
            raise DataError(f"{source}: input '{name}' must hold numbers, found {a.dtype}")
        want = tuple(t.example_shape)
        if a.ndim != 1 + len(want) or any(d not in ("T", s) for d, s in zip(want, a.shape[1:])):
            raise DataError(f"{source}: input '{name}' expects N x {' x '.join(map(str, want)) or '(one value)'}, "
                            f"found shape {a.shape}")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise DataError(f"{source}: input '{name}' holds NaN or infinity")
        if t.dtype.startswith("int"):
            if a.dtype.kind == "f" and not np.all(a == np.round(a)):
                raise DataError(f"{source}: input '{name}' holds ids ({t.dtype}), found fractions in {a.dtype}")
        elif a.dtype.kind not in "fb" and a.dtype.kind != "i" and a.dtype.kind != "u":
            raise DataError(f"{source}: input '{name}' is {t.dtype}, found {a.dtype}")
        if n is not None and len(a) != n:
            raise DataError(f"{source}: input '{name}' has {len(a)} examples, but the others have {n}")
        n = len(a)
        out[name] = a.astype(t.dtype)
    return out


def load_data(graph, source, seq_len=None, vocab=None, reverse_source=False) -> Data:
    """The data from `source` matched to the graph's inputs (see the module's docstring)."""
    source = os.fspath(source)
    if source not in BUILTIN and not os.path.exists(source):
        raise DataError(f"{source}: no such file, and not a built-in data set ({', '.join(BUILTIN)})")
    if source.endswith(".txt"):
        return text_data(graph, _read_text(source), seq_len, vocab, source)
    if source.lower().endswith(FASTA_SUFFIXES):
        return fasta_data(graph, source)
    if source.endswith(".tsv"):
        return pairs_data(graph, source, seq_len, vocab, reverse_source)
    X, y, named = read_source(source)
    if named is not None and all(n in named for n in data_inputs(graph)):
        return Data(_named_arrays(graph, source, named))
    if X is None:
        raise DataError(f"{source}: expected arrays named after the inputs ({', '.join(data_inputs(graph))}) "
                        f"or 'X' (and 'y'), found {', '.join(named or []) or 'none'}")
    X = _check_features(source, X)
    if y is not None and len(y) != len(X):
        raise DataError(f"{source}: {len(X)} examples but {len(y)} labels")
    note = []
    names = data_inputs(graph)
    labels = [n for n in label_inputs(graph) if n in names]
    features = [n for n in names if n not in labels]
    if len(features) > 1 or len(labels) > 1:
        raise DataError(f"the spec has inputs {', '.join(names)}; give an .npz with one array per input name")
    out = {}
    first = graph.node(features[0] if features else names[0])
    out[first.name] = _fit_features(X, first.type, first.name, note).astype(first.type.dtype)
    if labels:
        if y is None:
            raise DataError(f"the spec has a labels input '{labels[0]}' but {source} has no labels")
        out[labels[0]] = _fit_labels(y, graph.node(labels[0]).type, labels[0])
    return Data(out, note)


def dataset_for(graph, source, **kwargs):
    """(arrays, notes): load_data without the extras."""
    d = load_data(graph, source, **kwargs)
    return d.arrays, d.notes


# -- characters -----------------------------------------------------------------------------

def _read_text(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def char_inputs(graph):
    """(the characters input, the next-characters input or None) of a character model."""
    names = data_inputs(graph)
    labels = [n for n in label_inputs(graph) if n in names]
    chars = [n for n in names if n not in labels]
    if len(chars) != 1 or len(labels) > 1:
        raise DataError(f"a text file feeds a character model with one input (and one labels input); "
                        f"{graph.name} has {', '.join(names)}")
    return chars[0], (labels[0] if labels else None)


def vocab_size(graph, chars):
    t = graph.node(chars).type
    if t.is_float:  # one-hot characters, N x T x V
        return t.shape[-1], f"input '{chars}' ({t})"
    limit, what = id_limit(graph, chars)
    return limit, what


def encode_chars(text, vocab, where="the text"):
    index = {c: i for i, c in enumerate(vocab["symbols"])}
    unknown = sorted(set(text) - set(index))
    if unknown:
        raise DataError(f"{where} holds characters the vocabulary lacks: {''.join(unknown)[:20]!r}")
    return np.fromiter((index[c] for c in text), np.int64, len(text))


def chars_as_input(graph, chars, ids):
    """Int ids -> the input's representation (ids, or one-hot for a float [T, V] input)."""
    t = graph.node(chars).type
    if t.is_float:
        return np.eye(t.shape[-1], dtype=t.dtype)[ids]
    return ids.astype(t.dtype)


def sequence_length(graph, name, seq_len):
    t = graph.node(name).type
    fixed = t.example_shape[0]
    if fixed != "T":
        if seq_len and seq_len != fixed:
            raise DataError(f"input '{name}' has a fixed length {fixed}; --seq-len {seq_len} does not fit")
        return fixed
    T = seq_len or graph.train.get("bptt") or 0
    if not T:
        raise DataError(f"input '{name}' has the sequence length T: give --seq-len, or train: {{bptt: 64}} in the spec")
    return T


def text_data(graph, text, seq_len=None, vocab=None, source="the text") -> Data:
    chars, nexts = char_inputs(graph)
    if vocab is None:
        vocab = {"kind": "chars", "symbols": sorted(set(text))}
    limit, what = vocab_size(graph, chars)
    if limit is not None and len(vocab["symbols"]) > limit:
        raise DataError(f"{source} has {len(vocab['symbols'])} distinct characters, but {what} takes "
                        f"{limit}; raise it to at least {len(vocab['symbols'])}")
    ids = encode_chars(text, vocab, source)
    T = sequence_length(graph, chars, seq_len)
    n = (len(ids) - 1) // T
    if n < 1:
        raise DataError(f"{source} has {len(ids)} characters: too short for one window of {T} and its next character")
    x = ids[:n * T].reshape(n, T)
    arrays = {chars: chars_as_input(graph, chars, x)}
    if nexts:
        arrays[nexts] = ids[1:n * T + 1].reshape(n, T).astype(graph.node(nexts).type.dtype)
    notes = [f"{len(ids):,} characters, {len(vocab['symbols'])} distinct, in {n:,} windows of {T}"]
    return Data(arrays, notes, vocab, ordered=bool(carried_inputs(graph)))


# -- FASTA ------------------------------------------------------------------------------------

def read_fasta(path):
    """[(header, sequence)] of a FASTA file."""
    records, header, parts = [], None, []
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            if line.startswith(">"):
                if header is not None:
                    records.append((header, "".join(parts)))
                header, parts = line[1:].strip(), []
            elif header is None:
                raise DataError(f"{path}:{lineno}: sequence before the first '>' header")
            else:
                parts.append(line.upper())
    if header is not None:
        records.append((header, "".join(parts)))
    if not records:
        raise DataError(f"{path}: no FASTA records ('>' header lines)")
    return records


def fasta_data(graph, path) -> Data:
    records = read_fasta(path)
    names = data_inputs(graph)
    labels = [n for n in label_inputs(graph) if n in names]
    seq_name = None
    for n in names:
        t = graph.node(n).type
        if n not in labels and t.is_float and t.rank == 3 and (4 in t.shape[1:] or 20 in t.shape[1:]):
            seq_name = n
            break
    if seq_name is None:
        raise DataError(f"a FASTA file feeds a one-hot input of shape [4, L] or [L, 4] (DNA) or 20 channels "
                        f"(protein); {graph.name} has {', '.join(f'{n} {graph.node(n).type}' for n in names)}")
    t = graph.node(seq_name).type
    ch_axis = 1 if t.shape[1] in (4, 20) else 2
    alphabet = DNA if t.shape[ch_axis] == 4 else PROTEIN
    len_axis = 3 - ch_axis
    L = t.shape[len_axis]
    longest = max(len(s) for _, s in records)
    if L == "T":
        L = longest
    for h, s in records:
        if len(s) > L:
            raise DataError(f"{path}: record '{h.split()[0]}' has {len(s)} letters, but input '{seq_name}' "
                            f"holds {L} positions ({t}); trim the sequences or widen the input")
    lut = np.full(256, -1, np.int64)
    for i, c in enumerate(alphabet):
        lut[ord(c)] = i
    if alphabet == DNA:
        lut[ord("U")] = 3  # RNA
    onehot = np.zeros((len(records), len(alphabet), L), t.dtype)
    mask = np.zeros((len(records), L), t.dtype)
    for r, (_, s) in enumerate(records):
        codes = lut[np.frombuffer(s.encode("ascii", "replace"), np.uint8)]
        pos = np.nonzero(codes >= 0)[0]  # N and other ambiguity letters stay all-zero
        onehot[r, codes[pos], pos] = 1
        mask[r, :len(s)] = 1
    if ch_axis == 2:
        onehot = onehot.transpose(0, 2, 1)
    arrays = {seq_name: np.ascontiguousarray(onehot)}
    notes = [f"{len(records)} {'DNA' if alphabet == DNA else 'protein'} records, one-hot to {L} positions"]
    if any(len(s) < L for _, s in records):
        notes.append(f"records shorter than {L} padded with zeros at the end")
    for n in names:
        nt = graph.node(n).type
        if n not in labels and n != seq_name and nt.is_float and nt.example_shape in ((L,), ("T",)):
            arrays[n] = mask
            notes.append(f"input '{n}' gets the length mask")
    if labels:
        ys = []
        for h, _ in records:
            m = re.search(r"(?:^|[\s|;,])label=(\S+)", h)
            if not m:
                raise DataError(f"{path}: record '{h.split()[0]}' has no 'label=' field in its header, "
                                f"and input '{labels[0]}' needs one (e.g. '>seq1 label=1')")
            try:
                ys.append(float(m.group(1)))
            except ValueError:
                raise DataError(f"{path}: record '{h.split()[0]}': label={m.group(1)} is not a number") from None
        arrays[labels[0]] = _fit_labels(np.array(ys), graph.node(labels[0]).type, labels[0])
    missing = [n for n in names if n not in arrays]
    if missing:
        raise DataError(f"a FASTA file gives a one-hot sequence, a length mask and labels; nothing feeds "
                        f"input '{missing[0]}' {graph.node(missing[0]).type}")
    return Data(arrays, notes)


# -- sentence pairs (sequence to sequence) ------------------------------------------------------

def pairs_inputs(graph):
    names = data_inputs(graph)
    labels = [n for n in label_inputs(graph) if n in names]
    rest = [n for n in names if n not in labels]
    if len(labels) != 1 or len(rest) != 2:
        raise DataError(f"a .tsv of sentence pairs feeds three inputs (source, decoder input, labels); "
                        f"{graph.name} has {', '.join(names)}")
    return rest[0], rest[1], labels[0]


def encode_tokens(words, vocab):
    index = {w: i for i, w in enumerate(vocab["symbols"])}
    return [index.get(w, 3) for w in words]


def source_row(ids, T, reverse):
    ids = list(reversed(ids)) if reverse else list(ids)
    return ids + [0] * (T - len(ids))


def pairs_data(graph, path, seq_len=None, vocab=None, reverse_source=False) -> Data:
    pairs = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2:
                raise DataError(f"{path}:{lineno}: expected 'source<TAB>target', found {len(parts)} field(s)")
            pairs.append((parts[0].split(), parts[1].split()))
    if not pairs:
        raise DataError(f"{path}: no sentence pairs")
    src, tin, tout = pairs_inputs(graph)
    if vocab is None:
        words = sorted({w for s, t in pairs for w in s + t})
        vocab = {"kind": "tokens", "symbols": list(SPECIALS) + words, "reverse_source": bool(reverse_source)}
    reverse = vocab.get("reverse_source", False)
    for name in (src, tin, tout):
        limit, what = id_limit(graph, name)
        if limit is not None and len(vocab["symbols"]) > limit:
            raise DataError(f"{path}: the vocabulary has {len(vocab['symbols'])} tokens, but {what} "
                            f"takes {limit} (input '{name}')")
    need = max(max(len(s), len(t) + 1) for s, t in pairs)
    T = seq_len or need
    if T < need:
        raise DataError(f"{path}: the longest pair needs {need} steps, but --seq-len is {T}")
    S, I, O = (np.zeros((len(pairs), T), np.int64) for _ in range(3))
    for r, (s, t) in enumerate(pairs):
        S[r] = source_row(encode_tokens(s, vocab), T, reverse)
        ids = encode_tokens(t, vocab)
        I[r, :len(ids) + 1] = [1] + ids  # teacher forcing: the decoder reads <bos> and the target
        O[r, :len(ids) + 1] = ids + [2]  # and predicts the target, then <eos>
    arrays = {src: S, tin: I, tout: O}
    arrays = {k: v.astype(graph.node(k).type.dtype) for k, v in arrays.items()}
    notes = [f"{len(pairs)} sentence pairs, {len(vocab['symbols'])} tokens, padded to {T}"
             + ("; sources reversed" if reverse else "")]
    return Data(arrays, notes, vocab)


# -- vocabulary files and splits -----------------------------------------------------------------

def save_vocab(folder, vocab):
    tmp = os.path.join(folder, "." + VOCAB + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(vocab, fh, ensure_ascii=False)
    os.replace(tmp, os.path.join(folder, VOCAB))


def load_vocab(weights):
    """The vocabulary saved beside a checkpoint, or None."""
    path = os.path.join(os.path.dirname(os.path.abspath(weights)), VOCAB)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            vocab = json.load(fh)
        if not isinstance(vocab.get("symbols"), list):
            raise ValueError("no symbols")
        return vocab
    except ValueError as exc:
        raise DataError(f"{path}: damaged vocabulary ({exc})") from None


def split(data: dict, fraction: float, rng, contiguous=False):
    """A seeded train/validation split; `contiguous` holds out the tail (text: no overlap with training)."""
    n = len(next(iter(data.values())))
    k = int(round(n * fraction))
    if contiguous:
        train, val = np.arange(n - k), np.arange(n - k, n)
    else:
        order = rng.permutation(n)
        val, train = order[:k], order[k:]
    return {k_: v[train] for k_, v in data.items()}, {k_: v[val] for k_, v in data.items()}
