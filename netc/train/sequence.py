"""Sequences: truncated BPTT with a carried state, character sampling, seq2seq decoding.

Truncated BPTT. `train: {bptt: 64}` cuts a text into windows of 64 characters; backpropagation
stops at each window's edge. To carry the recurrent state across windows, the spec declares an
input for the initial state and feeds it to the layer's `state:` slot:

    inputs:
      chars: {shape: [T], dtype: int32}
      next_chars: {shape: [T], dtype: int32}
      h0: [512]                                 # 2 x 256: h and c of a 256-unit lstm
    layers:
      - one_hot: {in: chars, classes: 65}
      - lstm: {units: 256, state: h0, name: lstm}

An input that feeds a recurrent layer's `state` is *carried*: the data never supplies it; the
loop starts it at zero, and after each window sets it to that layer's final state (the same
layout as `return: state`). The windows are then read in order, as `batch` parallel streams
through the text, so row s of every batch continues row s of the one before. The final state
comes from a sibling graph that ends at that layer with `return: state` (graphs.variant); it
shares the layer's weights and costs one more forward pass of the layers up to it.

Sampling (`netc sample`): feed a prime, draw the next character from softmax(logits / temperature)
(temperature 0: the most likely), append it, repeat; with a carried state one character at a
time, otherwise over a window of the last T characters.

Decoding a seq2seq model (`netc decode`): the decoder input starts as <bos>; at step k the logits
at position k score the next token (the LSTM is causal: positions after k do not matter). Beam
search keeps the `beam` best prefixes by summed log-probability; beam 1 is greedy decoding.
"""
from __future__ import annotations

import numpy as np

from .data import carried_inputs, char_inputs, chars_as_input, encode_chars, encode_tokens, pairs_inputs, source_row
from .graphs import variant


class Carry:
    """The carried state inputs of a network and the probes that compute their next values."""

    def __init__(self, net):
        from ..runtime import Network

        self.net = net
        self.inputs = carried_inputs(net.graph)  # input -> recurrent node
        self.probes = {}
        for name, node in self.inputs.items():
            g = variant(net.graph, attrs={node: {"return": "state"}}, upto=[node], losses=[], outputs=[node])
            self.probes[name] = Network(g)

    def __bool__(self):
        return bool(self.inputs)

    def zeros(self, B):
        return {n: np.zeros((B,) + tuple(self.net.graph.node(n).type.example_shape), self.net.dtype)
                for n in self.inputs}

    def next_state(self, batch, training=True, seed=None):
        """The final states of the carried layers on `batch` (which includes the current states)."""
        out = {}
        for name, probe in self.probes.items():
            for k, v in probe.params.items():
                v[...] = self.net.params[k]
            need = {k: v for k, v in batch.items() if k in probe.graph.inputs}
            out[name] = probe.forward(training=training, seed=self.net.step_count if seed is None else seed,
                                      **need)[self.inputs[name]]
        return out


def with_zero_state(net, arrays):
    """`arrays` plus zero initial states for the carried inputs (evaluation, prediction)."""
    missing = {n: None for n in carried_inputs(net.graph) if n not in arrays}
    if not missing:
        return arrays
    B = len(next(iter(arrays.values())))
    return {**arrays, **{n: np.zeros((B,) + tuple(net.graph.node(n).type.example_shape), net.dtype)
                         for n in missing}}


def stream_rows(n, batch):
    """Row indices of each batch when n ordered windows are read as `batch` parallel streams."""
    B = max(1, min(batch, n))
    m = n // B
    return [np.arange(B) * m + j for j in range(m)]


def _pick(logits, temperature, rng):
    z = logits.astype(np.float64)
    if temperature <= 0:
        return int(z.argmax())
    z = z / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(rng.choice(len(p), p=p))


def _logits_name(net):
    from .loop import classifier_logits

    name = classifier_logits(net.graph)[0]
    return name if name in net.graph.outputs else net.graph.outputs[0]


def sample(net, vocab, length, temperature=1.0, prime=None, seed=0, window=None):
    """A string of `length` new characters from a trained character model."""
    graph = net.graph
    chars, _ = char_inputs(graph)
    symbols = vocab["symbols"]
    prime = prime or ("\n" if "\n" in symbols else symbols[0])
    ids = list(encode_chars(prime, vocab, "the prime"))
    rng = np.random.default_rng(seed)
    logits_name = _logits_name(net)
    fixed = graph.node(chars).type.example_shape[0]
    carry = Carry(net)
    out = []
    if carry and fixed == "T":  # one character at a time, the state carried
        state = carry.zeros(1)
        for c in ids[:-1]:
            state = carry.next_state({chars: chars_as_input(graph, chars, np.array([[c]])), **state}, False)
        last = ids[-1]
        for _ in range(length):
            x = {chars: chars_as_input(graph, chars, np.array([[last]])), **state}
            logits = net.forward(**x)[logits_name][0, -1]
            state = carry.next_state(x, False)
            last = _pick(logits, temperature, rng)
            out.append(last)
        return "".join(symbols[i] for i in out)
    T = fixed if fixed != "T" else (window or graph.train.get("bptt") or 64)
    for _ in range(length):
        ctx = ids[-T:]
        row = np.zeros((1, T if fixed != "T" else len(ctx)), np.int64)
        row[0, :len(ctx)] = ctx  # causal: positions after the context do not change its logits
        x = with_zero_state(net, {chars: chars_as_input(graph, chars, row)})
        logits = net.forward(**x)[logits_name][0, len(ctx) - 1]
        nxt = _pick(logits, temperature, rng)
        ids.append(nxt)
        out.append(nxt)
    return "".join(symbols[i] for i in out)


def decode(net, vocab, words, beam=1, max_len=None):
    """(best target tokens, score) for one source sentence by beam search (beam 1: greedy).

    A hypothesis ends at <eos> (not part of the result) or after `max_len` tokens (at most T - 1);
    its score is the summed log-probability of its tokens, <eos> included."""
    graph = net.graph
    src, tin, _ = pairs_inputs(graph)
    T = vocab.get("seq_len") or max(len(words) + 1, (max_len or 0) + 1)
    max_len = min(max_len or T - 1, T - 1)
    source = np.array([source_row(encode_tokens(words, vocab), T, vocab.get("reverse_source", False))])
    logits_name = _logits_name(net)
    beams, done = [([], 0.0)], []  # (tokens, summed log-probability)
    for k in range(max_len + 1):
        rows = np.zeros((len(beams), T), np.int64)
        for r, (toks, _) in enumerate(beams):
            rows[r, :k + 1] = [1] + toks
        x = {src: np.repeat(source, len(beams), 0).astype(graph.node(src).type.dtype),
             tin: rows.astype(graph.node(tin).type.dtype)}
        z = net.forward(**x)[logits_name][:, k].astype(np.float64)
        logp = z - z.max(1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(1, keepdims=True))
        if k == max_len:  # out of room: only <eos> may follow
            done += [(toks, score + float(logp[r, 2])) for r, (toks, score) in enumerate(beams)]
            break
        cands = sorted(((toks + [int(t)], score + float(logp[r, t]))
                        for r, (toks, score) in enumerate(beams) for t in np.argsort(-logp[r])[:beam]),
                       key=lambda c: -c[1])
        beams = []
        for toks, score in cands[:beam]:
            (done if toks[-1] == 2 else beams).append((toks[:-1] if toks[-1] == 2 else toks, score))
        if not beams or (done and max(s for _, s in done) >= beams[0][1]):
            break  # the best finished hypothesis beats every open one: scores only fall
    toks, score = max(done, key=lambda d: d[1])
    return [vocab["symbols"][t] for t in toks], score
