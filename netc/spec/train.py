"""The spec's `train:` section: checked when the spec is read, used by `netc train`.

Each key has a kind and a range; optimisers, schedules and augmentations are one-key mappings
whose own keys are checked the same way. The result is a plain dict with every default filled in.
"""
from __future__ import annotations

from ..errors import Problem, did_you_mean
from ..ops.base import Attr
from .parse import LDict, LList

OPTIMIZERS = {
    "sgd": {"lr": Attr("float", 0.01, low=0.0), "momentum": Attr("float", 0.0, low=0.0, high=1.0),
            "weight_decay": Attr("float", 0.0, low=0.0)},
    "adam": {"lr": Attr("float", 0.001, low=0.0), "beta1": Attr("float", 0.9, low=0.0, high=1.0),
             "beta2": Attr("float", 0.999, low=0.0, high=1.0), "eps": Attr("float", 1e-8, low=0.0),
             "weight_decay": Attr("float", 0.0, low=0.0)},
    "perceptron": {"lr": Attr("float", 1.0, low=0.0)},
    "delta": {"lr": Attr("float", 0.1, low=0.0)},
}
SCHEDULES = {
    "constant": {},
    "step": {"every": Attr("int", 10, low=1), "gamma": Attr("float", 0.1, low=0.0)},
    "cosine": {"min_lr": Attr("float", 0.0, low=0.0)},
}
AUGMENTATIONS = {
    "random_erasing": {"p": Attr("float", 0.5, low=0.0, high=1.0), "scale": Attr("float", 0.2, low=0.0, high=1.0)},
    "hflip": {"p": Attr("float", 0.5, low=0.0, high=1.0)},
    "rotation": {"degrees": Attr("float", 10.0, low=0.0, high=180.0)},
    "scale_crop": {"min": Attr("float", 0.9, low=0.1), "max": Attr("float", 1.1, low=0.1)},
    "random_crop": {"pad": Attr("int", 2, low=0)},
    "contrast": {"amount": Attr("float", 0.2, low=0.0, high=1.0)},
    "color_jitter": {"amount": Attr("float", 0.1, low=0.0, high=1.0)},
}
KEYS = {
    "optimizer": None,
    "batch": Attr("int", 32, low=1, high=1 << 20),
    "epochs": Attr("int", 10, low=1, high=1 << 20),
    "seed": Attr("int", 0, low=0),
    "clip_norm": Attr("float", 0.0, low=0.0),
    "validation": Attr("float", 0.1, low=0.0, high=0.9),
    "schedule": None,
    "early_stopping": {"patience": Attr("int", 5, low=1), "metric": Attr("choice", "val_loss",
                                                                          choices=("val_loss", "val_accuracy"))},
    "augment": None,
    "mixup": {"alpha": Attr("float", 0.2, low=0.0)},
    "bptt": Attr("int", 0, low=0),
}


def check_train(value, loc, diags) -> dict:
    if not isinstance(value, LDict):
        diags.error(loc, "'train' must be a mapping", "for example: train: {optimizer: {sgd: {lr: 0.01}}, batch: 64, epochs: 10}")
        return {}
    out = {"optimizer": ("sgd", _fill(OPTIMIZERS["sgd"], None, diags, "sgd")), "schedule": ("constant", {}),
           "augment": [], "early_stopping": None, "mixup": None}
    for key, v in value.items():
        vloc = value.value_loc(key)
        if key not in KEYS:
            diags.error(value.key_loc(key), f"unknown key '{key}' in train", did_you_mean(key, KEYS))
            continue
        if key == "optimizer":
            out[key] = _one_of(v, vloc, OPTIMIZERS, "optimizer", diags)
        elif key == "schedule":
            out[key] = _one_of(v, vloc, SCHEDULES, "schedule", diags)
        elif key == "augment":
            items = v if isinstance(v, LList) else None
            if items is None:
                diags.error(vloc, "'augment' must be a list", "for example: augment: [hflip, {rotation: {degrees: 10}}]")
                continue
            out[key] = [_one_of(item, items.item_loc(i), AUGMENTATIONS, "augmentation", diags)
                        for i, item in enumerate(items)]
        elif isinstance(KEYS[key], dict):
            out[key] = _fill(KEYS[key], v, diags, key, vloc)
        else:
            try:
                out[key] = KEYS[key].normalize(v, key)
            except Problem as p:
                diags.error(vloc, f"train: {p.message}", p.hint)
    for key, attr in KEYS.items():
        if isinstance(attr, Attr) and key not in out:
            out[key] = attr.default
    return out


def _one_of(v, loc, table, what, diags):
    if isinstance(v, str):
        name, args = v, None
    elif isinstance(v, LDict) and len(v) == 1:
        (name, args), = v.items()
        loc = v.key_loc(name)
    else:
        diags.error(loc, f"the {what} must be one name or a one-key mapping",
                    f"for example: {next(iter(table))}")
        return None
    if name not in table:
        diags.error(loc, f"unknown {what} '{name}'", did_you_mean(name, table))
        return None
    return name, _fill(table[name], args, diags, name, loc)


def _fill(attrs, given, diags, owner, loc=None):
    out = {}
    if given is not None and not isinstance(given, LDict):
        diags.error(loc, f"the settings of '{owner}' must be a mapping")
        given = None
    given = given or {}
    for key in given:
        if key not in attrs:
            diags.error(given.key_loc(key), f"unknown key '{key}' for {owner}", did_you_mean(key, attrs))
    for key, attr in attrs.items():
        if key in given:
            try:
                out[key] = attr.normalize(given[key], key)
            except Problem as p:
                diags.error(given.value_loc(key), f"{owner}: {p.message}", p.hint)
        else:
            out[key] = attr.default
    return out
