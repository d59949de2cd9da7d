"""Data augmentation (the spec's train.augment list) and mixup (train.mixup), applied per batch.

Each transform takes a batch of images N x C x H x W and a numpy Generator and returns a new batch
of the same shape and dtype; the loop draws the generator from (seed, epoch, batch), so a resumed
run augments exactly as an uninterrupted one. Rotation and zoom use scipy.ndimage (bilinear,
zeros outside the image).

Mixup (Zhang et al. 2018): lam ~ Beta(alpha, alpha) per batch, x <- lam x + (1 - lam) x[perm],
and the labels become the same mixture of one-hot rows. Softmax cross-entropy takes such
probability labels when they are float and of the logits' shape, so a network with class-id
labels trains on a sibling graph whose labels input is declared that way (graphs.variant); the
two share one parameter buffer.
"""
from __future__ import annotations

import numpy as np


def _erase(x, rng, p, scale):
    out = x.copy()
    N, C, H, W = x.shape
    for i in range(N):
        if rng.random() >= p:
            continue
        area = rng.uniform(0.02, max(scale, 0.02)) * H * W
        ratio = np.exp(rng.uniform(np.log(0.3), np.log(1 / 0.3)))
        h = int(min(H, max(1, round(np.sqrt(area * ratio)))))
        w = int(min(W, max(1, round(np.sqrt(area / ratio)))))
        top, left = rng.integers(0, H - h + 1), rng.integers(0, W - w + 1)
        out[i, :, top:top + h, left:left + w] = 0
    return out


def _hflip(x, rng, p):
    flip = rng.random(len(x)) < p
    out = x.copy()
    out[flip] = x[flip][..., ::-1]
    return out


def _rotation(x, rng, degrees):
    from scipy import ndimage

    out = np.empty_like(x)
    for i in range(len(x)):
        angle = rng.uniform(-degrees, degrees)
        out[i] = ndimage.rotate(x[i], angle, axes=(1, 2), reshape=False, order=1, mode="constant")
    return out


def _fit(img, H, W, rng):
    """Crop (at a random place) or zero-pad (centred) a C x h x w image to C x H x W."""
    C, h, w = img.shape
    out = np.zeros((C, H, W), img.dtype)
    top = rng.integers(0, h - H + 1) if h >= H else 0
    left = rng.integers(0, w - W + 1) if w >= W else 0
    src = img[:, top:top + min(h, H), left:left + min(w, W)]
    oy, ox = max(0, (H - h) // 2), max(0, (W - w) // 2)
    out[:, oy:oy + src.shape[1], ox:ox + src.shape[2]] = src
    return out


def _scale_crop(x, rng, min, max):  # noqa: A002 (the spec's names)
    from scipy import ndimage

    N, C, H, W = x.shape
    out = np.empty_like(x)
    for i in range(N):
        s = rng.uniform(min, max)
        img = ndimage.zoom(x[i], (1, s, s), order=1, mode="grid-constant", grid_mode=True)
        out[i] = _fit(img, H, W, rng)
    return out


def _random_crop(x, rng, pad):
    N, C, H, W = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty_like(x)
    for i in range(N):
        top, left = rng.integers(0, 2 * pad + 1, size=2)
        out[i] = padded[i, :, top:top + H, left:left + W]
    return out


def _contrast(x, rng, amount):
    c = rng.uniform(1 - amount, 1 + amount, size=(len(x), 1, 1, 1)).astype(x.dtype)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return ((x - mean) * c + mean).astype(x.dtype)


def _color_jitter(x, rng, amount):
    """Per-channel gain and a brightness shift, each within +-amount."""
    N, C = x.shape[:2]
    gain = rng.uniform(1 - amount, 1 + amount, size=(N, C, 1, 1))
    shift = rng.uniform(-amount, amount, size=(N, 1, 1, 1))
    return (x * gain + shift).astype(x.dtype)


TRANSFORMS = {
    "random_erasing": _erase,
    "hflip": _hflip,
    "rotation": _rotation,
    "scale_crop": _scale_crop,
    "random_crop": _random_crop,
    "contrast": _contrast,
    "color_jitter": _color_jitter,
}


def image_input(graph, names):
    """The input the augmentations act on: the first float input of shape C x H x W."""
    for n in names:
        t = graph.node(n).type
        if t.is_float and t.rank == 4:
            return n
    raise ValueError(f"train.augment transforms images: {graph.name} has no input of shape C x H x W "
                     f"(inputs: {', '.join(f'{n} {graph.node(n).type}' for n in names)})")


def augment(x, steps, rng):
    """Apply the spec's augment list [(name, settings)] in order."""
    for name, settings in steps:
        x = TRANSFORMS[name](x, rng, **settings)
    return x


def mixup(x, y, alpha, rng, classes=None):
    """(mixed inputs, mixed probability labels). `y` is class ids (then `classes` is given) or float targets."""
    lam = rng.beta(alpha, alpha) if alpha > 0 else 1.0
    perm = rng.permutation(len(x))
    if classes is not None:
        y = np.eye(classes, dtype=x.dtype)[y]
    lam_x = np.asarray(lam, x.dtype)
    xm = lam_x * x + (1 - lam_x) * x[perm]
    ym = (lam * y + (1 - lam) * y[perm]).astype(x.dtype)
    return xm, ym, lam
