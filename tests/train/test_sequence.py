"""Truncated BPTT with a carried state, sampling with a temperature, seq2seq decoding."""
import itertools

import numpy as np
import pytest

import netc
from netc.frontend import parse
from netc.train.data import load_data
from netc.train.loop import Config, fit
from netc.train.sequence import Carry, decode, sample, stream_rows

from _trainspecs import CHAR, SEQ2SEQ, reversal_pairs


def test_carried_state_continues_the_sequence_exactly():
    net = netc.compile(CHAR, dtype="float64")
    carry = Carry(net)
    assert carry.inputs == {"h0": "rnn"}
    ids = np.random.default_rng(0).integers(0, 6, (3, 10)).astype(np.int32)
    whole = net.forward(chars=ids, h0=np.zeros((3, 16)))["logits"]
    first = {"chars": np.ascontiguousarray(ids[:, :4]), "h0": np.zeros((3, 16))}
    state = carry.next_state(first, training=False)["h0"]
    second = net.forward(chars=np.ascontiguousarray(ids[:, 4:]), h0=state)["logits"]
    np.testing.assert_allclose(second, whole[:, 4:], rtol=1e-12)


def test_streams_continue_row_by_row():
    rows = stream_rows(10, 3)  # 3 streams of 3 windows; the tenth window is dropped
    assert [list(r) for r in rows] == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


def test_truncated_bptt_learns_a_pattern_and_sampling_continues_it(tmp_path):
    graph = parse(CHAR)
    text = "abcde\n" * 40
    (tmp_path / "t.txt").write_text(text)
    data = load_data(graph, tmp_path / "t.txt")
    net = netc.compile(graph)
    hist = fit(net, data.arrays, None, Config.from_spec(graph.train), progress=False, log=lambda m: None,
               ordered=data.ordered)
    assert hist[-1]["loss"] < 0.05 < hist[0]["loss"]
    out = sample(net, data.vocab, 12, temperature=0, prime="ab")
    assert out == "cde\nabcde\nab"
    hot = {sample(net, data.vocab, 40, temperature=50.0, prime="a", seed=s) for s in range(3)}
    assert len(hot) == 3  # a high temperature flattens the distribution: anything goes
    assert sample(net, data.vocab, 20, 1.0, "a", seed=7) == sample(net, data.vocab, 20, 1.0, "a", seed=7)


def test_sampling_without_a_carried_state_uses_a_window(tmp_path):
    spec = CHAR.replace("  h0: [16]\n", "").replace(", state: h0", "").replace("epochs: 12", "epochs: 25")
    graph = parse(spec)
    (tmp_path / "t.txt").write_text("abcde\n" * 40)
    data = load_data(graph, tmp_path / "t.txt")
    assert not data.ordered
    net = netc.compile(graph)
    fit(net, data.arrays, None, Config.from_spec(graph.train), progress=False, log=lambda m: None)
    assert sample(net, data.vocab, 8, temperature=0, prime="abc") == "de\nabcde"


def test_beam_search_is_exact_when_the_beam_holds_every_hypothesis():
    net = netc.compile(SEQ2SEQ.replace("vocab: 12", "vocab: 6").replace("units: 12", "units: 6"), seed=4)
    vocab = {"symbols": ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b"], "seq_len": 4}
    words = ["a", "b"]
    _, greedy = decode(net, vocab, words, beam=1, max_len=2)
    toks, best = decode(net, vocab, words, beam=36, max_len=2)

    def logp(prefix):  # log-probabilities of the next token after <bos> + prefix
        row = np.zeros((1, 4), np.int32)
        row[0, :len(prefix) + 1] = [1] + prefix
        z = net.forward(source=np.array([[4, 5, 0, 0]], np.int32), target_in=row)["logits"][0, len(prefix)]
        z = z.astype(np.float64) - z.max()
        return z - np.log(np.exp(z).sum())

    scores = []
    for n in range(3):
        for seq in itertools.product([0, 1, 3, 4, 5], repeat=n):
            s = sum(logp(list(seq[:k]))[seq[k]] for k in range(n)) + logp(list(seq))[2]
            scores.append((s, seq))
    exact, seq = max(scores)
    assert best == pytest.approx(exact, abs=1e-5) and toks == [vocab["symbols"][t] for t in seq]
    assert greedy <= best + 1e-9


def test_seq2seq_with_teacher_forcing_learns_to_reverse(tmp_path):
    graph = parse(SEQ2SEQ)
    (tmp_path / "p.tsv").write_text(reversal_pairs())
    data = load_data(graph, tmp_path / "p.tsv", reverse_source=True)
    data.vocab["seq_len"] = 4
    net = netc.compile(graph)
    hist = fit(net, data.arrays, None, Config.from_spec(graph.train), progress=False, log=lambda m: None)
    assert hist[-1]["loss"] < 0.1
    assert decode(net, data.vocab, "a b c".split())[0] == ["c", "b", "a"]
    assert decode(net, data.vocab, "d a b".split(), beam=3)[0] == ["b", "a", "d"]
