"""Augmentations (shape, dtype, seeded, what each one does) and mixup through the training loop."""
import numpy as np
import pytest

import netc
from netc.train.augment import TRANSFORMS, image_input, mixup
from netc.train.loop import Config, fit

from _trainspecs import IMAGES, MLP

DEFAULTS = {"random_erasing": {"p": 1.0, "scale": 0.2}, "hflip": {"p": 1.0}, "rotation": {"degrees": 30.0},
            "scale_crop": {"min": 0.8, "max": 1.25}, "random_crop": {"pad": 2}, "contrast": {"amount": 0.5},
            "color_jitter": {"amount": 0.2}}


def images(n=4, seed=0):
    return np.random.default_rng(seed).uniform(0.1, 1, (n, 3, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_each_transform_keeps_shape_and_dtype_and_is_seeded(name):
    x = images()
    a = TRANSFORMS[name](x, np.random.default_rng(1), **DEFAULTS[name])
    b = TRANSFORMS[name](x, np.random.default_rng(1), **DEFAULTS[name])
    c = TRANSFORMS[name](x, np.random.default_rng(2), **DEFAULTS[name])
    assert a.shape == x.shape and a.dtype == x.dtype and a is not x
    assert np.array_equal(a, b) and not np.array_equal(a, x)
    if name != "hflip":
        assert not np.array_equal(a, c)
    assert np.all(x == images())  # the input is never changed in place


def test_what_each_transform_does():
    x = images()
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(TRANSFORMS["hflip"](x, rng, p=1.0), x[..., ::-1])
    np.testing.assert_array_equal(TRANSFORMS["hflip"](x, rng, p=0.0), x)
    np.testing.assert_array_equal(TRANSFORMS["random_crop"](x, rng, pad=0), x)
    np.testing.assert_allclose(TRANSFORMS["rotation"](x, rng, degrees=0.0), x, atol=1e-6)
    np.testing.assert_allclose(TRANSFORMS["scale_crop"](x, rng, min=1.0, max=1.0), x, atol=1e-6)
    erased = TRANSFORMS["random_erasing"](x, rng, p=1.0, scale=0.3)
    assert all((erased[i] == 0).any() for i in range(len(x))) and (x > 0).all()
    con = TRANSFORMS["contrast"](x, rng, amount=0.5)
    np.testing.assert_allclose(con.mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3)), rtol=1e-5)
    crop = TRANSFORMS["random_crop"](x, np.random.default_rng(3), pad=2)
    assert (crop == 0).any()  # some shift brought in the zero border
    rot = TRANSFORMS["rotation"](np.ones((1, 1, 9, 9), np.float32), rng, degrees=45)
    assert rot[0, 0, 4, 4] == pytest.approx(1) and rot.sum() < 81


def test_mixup_mixes_inputs_and_labels_alike():
    x = np.eye(4, dtype=np.float32)
    y = np.array([0, 1, 2, 0])
    xm, ym, lam = mixup(x, y, 0.4, np.random.default_rng(0), classes=3)
    assert ym.shape == (4, 3) and ym.dtype == np.float32 and 0 <= lam <= 1
    np.testing.assert_allclose(ym.sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(xm.sum(1), 1, rtol=1e-6)  # one-hot rows stay on the simplex
    # every mixed row is lam * (its own) + (1 - lam) * (one partner), inputs and labels together
    own = np.array([xm[i, i] for i in range(4)])
    np.testing.assert_allclose(own, [lam if (xm[i] == 1).sum() == 0 else 1 for i in range(4)], rtol=1e-5)


def test_augment_needs_an_image_input():
    with pytest.raises(ValueError, match="has no input of shape C x H x W"):
        image_input(netc.compile(MLP).graph, ["x", "label"])


def test_training_with_augmentation_and_mixup_is_seeded():
    rng = np.random.default_rng(0)
    y = (np.arange(24) % 3).astype(np.int32)
    X = (rng.uniform(0, 1, (24, 1, 6, 6)) + y[:, None, None, None]).astype(np.float32)

    def run():
        net = netc.compile(IMAGES)
        cfg = Config.from_spec(net.graph.train)
        assert cfg.mixup == 0.4 and len(cfg.augment) == 7
        start = net.P.copy()
        fit(net, {"image": X, "label": y}, None, cfg, progress=False, log=lambda m: None)
        assert not np.array_equal(net.P, start) and net.step_count == 6
        return net.P.copy()

    np.testing.assert_array_equal(run(), run())
    plain = netc.compile(IMAGES.replace("  mixup: {alpha: 0.4}\n", "").replace("  augment: [", "  # ["))
    fit(plain, {"image": X, "label": y}, None, Config.from_spec(plain.graph.train), progress=False, log=lambda m: None)
    assert not np.array_equal(plain.P, run())
