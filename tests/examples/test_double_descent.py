"""examples/double_descent.py at --quick: it measures and reports; wider nets fit the noisy labels better.

Whether a second descent shows is what the example reports, not something to assert."""


def test_double_descent_measures_the_curve(run_example):
    r, out = run_example("double_descent")
    rows = r["rows"]
    assert [row["width"] for row in rows] == [2, 16, 128]
    assert r["label_noise"] == 0.2
    # measured at seed 0: train error 0.69, 0.28, 0.17 for widths 2, 16, 128
    assert rows[-1]["train_error"] < rows[0]["train_error"]
    assert all(0 <= row["test_error"] <= 1 for row in rows)
    assert (out / "double_descent.png").stat().st_size > 0
