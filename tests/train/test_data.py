"""Data sources matched to a spec's inputs: text, FASTA, sentence pairs, csv and npz, and the
errors that name the input with what was expected and found."""
import numpy as np
import pytest

from netc.frontend import parse
from netc.train.data import DataError, load_data, load_vocab, save_vocab, split

from _trainspecs import CHAR, MLP, SEQ2SEQ, blobs, reversal_pairs

DNA_SPEC = """netc: 1
name: tiny_dna
inputs:
  dna: [4, 12]
  mask: [12]
  label: {shape: [], dtype: int32}
layers:
  - conv1d: {filters: 2, kernel: 3, in: dna}
  - globalmaxpool1d
  - dense: {units: 2, name: logits}
loss:
  softmax_cross_entropy: {logits: logits, labels: label}
"""

FASTA = """>s1 label=1
ACGT
ACG
>s2 label=0 some note
acgtn
>s3 label=1
U
"""


def test_text_becomes_windows_with_next_character_labels(tmp_path):
    g = parse(CHAR)
    text = "hello hell\n" * 3  # 33 characters, 6 distinct
    d = load_data(g, _file(tmp_path, "t.txt", text), seq_len=5)
    assert d.vocab == {"kind": "chars", "symbols": sorted(set(text))} and d.ordered
    x, y = d.arrays["chars"], d.arrays["next_chars"]
    assert x.shape == (6, 5) and x.dtype == np.int32 and "h0" not in d.arrays
    decode = lambda ids: "".join(d.vocab["symbols"][i] for i in ids.ravel())
    assert decode(x) == text[:30] and decode(y) == text[1:31]
    assert load_data(g, _file(tmp_path, "t.txt", text)).arrays["chars"].shape == (4, 8)  # train.bptt: 8


def test_text_errors(tmp_path):
    g = parse(CHAR)
    with pytest.raises(DataError, match="7 distinct characters, but one_hot 'one_hot_1' classes takes 6"):
        load_data(g, _file(tmp_path, "a.txt", "abcdefg" * 5))
    with pytest.raises(DataError, match="too short"):
        load_data(g, _file(tmp_path, "b.txt", "abc"))
    with pytest.raises(DataError, match="give --seq-len"):
        load_data(parse(CHAR.replace("  bptt: 8\n", "")), _file(tmp_path, "c.txt", "abc" * 10))
    with pytest.raises(DataError, match=r"d.txt holds characters the vocabulary lacks: 'z'"):
        load_data(g, _file(tmp_path, "d.txt", "abz" * 10), vocab={"kind": "chars", "symbols": ["a", "b"]})


def test_one_hot_character_input(tmp_path):
    spec = CHAR.replace("chars: {shape: [T], dtype: int32}", "chars: [T, 6]").replace(
        "  - one_hot: {classes: 6, in: chars}\n  - rnn: {units: 16, state: h0, name: rnn}",
        "  - rnn: {units: 16, in: chars, state: h0, name: rnn}")
    d = load_data(parse(spec), _file(tmp_path, "t.txt", "abcab" * 4), seq_len=4)
    x = d.arrays["chars"]
    assert x.shape == (4, 4, 6) and x.dtype == np.float32 and np.all(x.sum(-1) == 1)
    np.testing.assert_array_equal(x.argmax(-1), d.arrays["next_chars"] * 0 + np.array([[0, 1, 2, 0], [1, 0, 1, 2],
                                                                                        [0, 1, 0, 1], [2, 0, 1, 0]]))


def test_vocabulary_round_trip(tmp_path):
    vocab = {"kind": "chars", "symbols": ["\n", "a", "é"]}
    save_vocab(tmp_path, vocab)
    assert load_vocab(tmp_path / "checkpoint.npz") == vocab
    (tmp_path / "vocab.json").write_text("{broken")
    with pytest.raises(DataError, match="damaged vocabulary"):
        load_vocab(tmp_path / "checkpoint.npz")


@pytest.mark.parametrize("channels_last", [False, True])
def test_fasta_one_hot_padding_mask_and_header_labels(tmp_path, channels_last):
    spec = DNA_SPEC.replace("[4, 12]", "[12, 4]") if channels_last else DNA_SPEC
    d = load_data(parse(spec), _file(tmp_path, "s.fa", FASTA))
    x = d.arrays["dna"]
    if channels_last:
        assert x.shape == (3, 12, 4)
        x = x.transpose(0, 2, 1)
    assert x.shape == (3, 4, 12) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0].argmax(0)[:7], [0, 1, 2, 3, 0, 1, 2])
    assert x[0, :, 7:].sum() == 0 and x[1, :, 4].sum() == 0  # padding; N is all-zero
    assert x[2, 3, 0] == 1  # U reads as T
    np.testing.assert_array_equal(d.arrays["mask"].sum(1), [7, 5, 1])
    np.testing.assert_array_equal(d.arrays["label"], [1, 0, 1])


def test_fasta_errors(tmp_path):
    g = parse(DNA_SPEC)
    with pytest.raises(DataError, match="record 's2' has no 'label=' field"):
        load_data(g, _file(tmp_path, "a.fa", ">s1 label=1\nACGT\n>s2\nAC\n"))
    with pytest.raises(DataError, match="record 'long' has 13 letters, but input 'dna' holds 12 positions"):
        load_data(g, _file(tmp_path, "b.fa", ">long label=0\n" + "A" * 13 + "\n"))
    with pytest.raises(DataError, match="sequence before the first '>'"):
        load_data(g, _file(tmp_path, "c.fa", "ACGT\n"))


def test_sentence_pairs_teacher_forcing_and_reversal(tmp_path):
    g = parse(SEQ2SEQ)
    path = _file(tmp_path, "p.tsv", "a b\tb a c\nc\tc\n")
    d = load_data(g, path)
    sym = d.vocab["symbols"]
    assert sym[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"] and sym[4:] == ["a", "b", "c"]
    words = lambda row: [sym[i] for i in row]
    assert words(d.arrays["source"][0]) == ["a", "b", "<pad>", "<pad>"]
    assert words(d.arrays["target_in"][0]) == ["<bos>", "b", "a", "c"]  # the shifted target
    assert words(d.arrays["target_out"][0]) == ["b", "a", "c", "<eos>"]
    r = load_data(g, path, reverse_source=True)
    assert words(r.arrays["source"][0]) == ["b", "a", "<pad>", "<pad>"] and r.vocab["reverse_source"]
    with pytest.raises(DataError, match="p2.tsv:1: expected 'source<TAB>target', found 1 field"):
        load_data(g, _file(tmp_path, "p2.tsv", "no tab here\n"))
    big = "".join(f"w{i}\tw{i}\n" for i in range(10))
    with pytest.raises(DataError, match="the vocabulary has 14 tokens, but embedding 'embedding_1' vocab takes 12"):
        load_data(g, _file(tmp_path, "p3.tsv", big))
    assert len(load_data(g, _file(tmp_path, "p4.tsv", reversal_pairs()))) == 64


def test_csv_and_npz_with_class_ids_or_one_hot_labels(tmp_path):
    g = parse(MLP)
    X, y = blobs(12)
    csv = tmp_path / "d.csv"
    np.savetxt(csv, np.column_stack([X, y]), delimiter=",", header="a,b,c,d,label", comments="")
    d = load_data(g, csv)
    np.testing.assert_allclose(d.arrays["x"], X, rtol=1e-6)
    assert d.arrays["label"].dtype == np.int32 and list(d.arrays["label"]) == list(y)
    np.savez(tmp_path / "oh.npz", X=X, y=np.eye(3)[y])
    np.testing.assert_array_equal(load_data(g, tmp_path / "oh.npz").arrays["label"], y)
    np.savez(tmp_path / "named.npz", x=X.astype(np.float64), label=y.astype(np.int64))
    d = load_data(g, tmp_path / "named.npz")
    assert d.arrays["x"].dtype == np.float32 and d.arrays["label"].dtype == np.int32


@pytest.mark.parametrize("arrays, message", [
    ({"X": np.zeros((4, 4)), "y": np.zeros(3)}, "4 examples but 3 labels"),
    ({"X": np.full((4, 4), np.nan), "y": np.zeros(4)}, "features hold NaN or infinity"),
    ({"X": np.zeros((4, 4)), "y": np.array([0, 1, np.nan, 2])}, "input 'label': the labels hold NaN"),
    ({"X": np.zeros((4, 5)), "y": np.zeros(4)}, "input 'x' expects 4 = 4 values per example, but the data has 5"),
    ({"X": np.zeros((4, 4)), "y": np.array([0, 1, 0.5, 2])}, "input 'label' holds class ids, but the labels are not"),
    ({"X": np.zeros((4, 4)), "y": np.ones((4, 3))}, "rows are not one-hot"),
    ({"X": np.array([["a"] * 4] * 4), "y": np.zeros(4)}, "features must be numbers, found <U1"),
    ({"x": np.zeros((4, 5)), "label": np.zeros(4)}, r"input 'x' expects N x 4, found shape \(4, 5\)"),
    ({"x": np.zeros((4, 4)), "label": np.zeros(3)}, "input 'label' has 3 examples, but the others have 4"),
    ({"x": np.zeros((4, 4)), "label": np.array([0, 0.5, 1, 2])}, "input 'label' holds ids .int32., found fractions"),
    ({"x": np.zeros((4, 4), "U3"), "label": np.zeros(4)}, "input 'x' must hold numbers, found <U3"),
])
def test_data_errors_name_the_input(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_data(parse(MLP), tmp_path / "d.npz")


def test_csv_errors(tmp_path):
    g = parse(MLP)
    with pytest.raises(DataError, match="row 2, column 3 is empty or not a number"):
        load_data(g, _file(tmp_path, "a.csv", "1,2,3,4,0\n1,2,,4,1\n"))
    with pytest.raises(DataError, match="no such file"):
        load_data(g, tmp_path / "missing.csv")
    with pytest.raises(DataError, match="unknown kind of data file"):
        load_data(g, _file(tmp_path, "a.xlsx", ""))


def test_splits():
    data = {"x": np.arange(10)}
    train, val = split(data, 0.3, np.random.default_rng(0))
    assert sorted(np.concatenate([train["x"], val["x"]])) == list(range(10)) and len(val["x"]) == 3
    train, val = split(data, 0.3, None, contiguous=True)
    assert list(val["x"]) == [7, 8, 9]


def _file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path
