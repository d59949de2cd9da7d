"""examples/seq2seq_reversal.py at --quick: an LSTM seq2seq model copies digit strings better
when it reads the source reversed."""


def test_reversed_source_learns_faster(run_example):
    r, out = run_example("seq2seq_reversal")
    s = r["summary"]
    # measured at seed 0 (8 digits, 5 epochs): final held-out digit accuracy 0.61 in order, 0.73 reversed
    assert s[True]["final_token_accuracy"] > s[False]["final_token_accuracy"] + 0.05
    assert s[True]["final_token_accuracy"] > 0.3  # well above chance (0.1): it is learning
    assert (out / "seq2seq_reversal.png").stat().st_size > 0
