"""examples/autoencoder_vs_pca.py at --quick: the autoencoder compresses, near PCA at the same code size."""
from pathlib import Path

import numpy as np
import pytest

import netc
from netc.train.data import dataset_for

SPEC = Path(__file__).resolve().parents[2] / "specs" / "autoencoder_digits.yaml"


def test_autoencoder_data_is_the_pixels():
    # regression: an autoencoder's input is also its mse target; it used to be taken for a labels
    # input and filled with one-hot class ids instead of the images (netc/train/data.py label_inputs)
    datasets = pytest.importorskip("sklearn.datasets")

    data, _ = dataset_for(netc.load(SPEC), "digits")
    assert np.allclose(data["pixels"], datasets.load_digits().data / 16.0)


def test_autoencoder_compresses_like_pca(run_example):
    r, out = run_example("autoencoder_vs_pca")
    ae, pca, base = r["autoencoder"], r["pca"], r["baseline"]
    # measured at seed 0, code size 8: autoencoder 0.022, PCA 0.025, mean image 0.073
    assert ae[8] < 0.5 * base
    assert ae[8] < 2 * pca[8]
    assert ae[8] < ae[2]  # a larger code reconstructs better
    assert (out / "autoencoder_vs_pca.png").stat().st_size > 0
