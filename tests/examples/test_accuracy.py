"""examples/accuracy.py at --quick: LeNet-5, the digits MLP and the breast-cancer MLP clear the quick bars."""


def test_accuracy_quick_bars(run_example):
    r, out = run_example("accuracy")
    # measured at seed 0 (3, 5, 5 epochs): 0.936, 0.925, 0.991 against bars of 0.90
    for name in ("lenet5", "mlp_digits", "breast_cancer_mlp"):
        assert r[name]["passed"], (name, r[name]["test_accuracy"], r[name]["target"])
        assert r[name]["n_test"] > 100
    assert any("upsampled" in n for n in r["lenet5"]["notes"])
    assert (out / "accuracy.png").stat().st_size > 0
