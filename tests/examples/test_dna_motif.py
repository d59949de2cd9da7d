"""examples/dna_motif.py at --quick: the 1-D CNN finds the planted motif, and a filter matches it."""


def test_cnn_finds_the_motif(run_example):
    r, out = run_example("dna_motif")
    # measured at seed 0 (2,000 sequences, 20 epochs): accuracy 0.970, best filter correlation 0.95,
    # against 0.70 for the best of 64 untrained filters
    assert r["test_accuracy"] >= 0.9
    assert r["correlation"] > 0.8
    assert r["correlation"] > r["chance_correlation"] + 0.1
    assert (out / "dna_motif.png").stat().st_size > 0


def test_match_finds_a_shifted_copy(example):
    import numpy as np

    dna_motif = example("dna_motif")

    M = np.eye(4)[[0, 1, 2, 3, 3, 2]].T  # ACGTTG
    W = np.zeros((2, 4, 8))
    W[1, :, 2:8] = M  # the motif two positions into filter 1
    f, off, c = dna_motif.match(W, M)
    assert (f, off) == (1, 2) and c > 0.999
