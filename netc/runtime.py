"""Stage: run. `netc.compile(spec)` -> a Network you can call, differentiate, train, save and load.

Arrays are checked here, at the Python boundary, before compiled code sees them: the input's
name, dtype, shape (with N and T bound), contiguity, and integer ids against the sizes that
index with them. Compiled kernels never get an array they could read out of bounds.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile

import numpy as np

from . import cache
from .diff.reverse import reverse
from .frontend import load, parse
from .lower.codegen import generate
from .lower.emit import bind
from .plan import make_plan, param_layout
from .types import INT_DTYPES

CHECKPOINT_FORMAT = 1


class InputError(ValueError):
    """An array handed to a Network does not match the spec."""


def compile(spec, dtype="float32", seed=0, **kwargs) -> "Network":
    """Compile a spec (a path, YAML text, or a checked Graph) into a Network."""
    from .graph import Graph

    if isinstance(spec, Graph):
        graph = spec
    elif isinstance(spec, str) and "\n" in spec:
        graph = parse(spec, dtype=dtype)
    else:
        graph = load(spec, dtype)
    return Network(graph, seed=seed, **kwargs)


def _init_param(p, rng, dtype):
    shape = p.shape
    if p.init == "zeros":
        return np.zeros(shape, dtype)
    if p.init == "ones":
        return np.ones(shape, dtype)
    if p.init == "glorot_uniform":
        a = np.sqrt(6.0 / (p.fan_in + p.fan_out))
        return rng.uniform(-a, a, shape).astype(dtype)
    if p.init == "he_normal":
        return (rng.standard_normal(shape) * np.sqrt(2.0 / p.fan_in)).astype(dtype)
    if p.init == "normal":
        return (rng.standard_normal(shape) * 0.1).astype(dtype)
    if p.init == "orthogonal":
        rows, cols = shape[0], int(np.prod(shape[1:]))
        q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
        q = q * np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return q[:rows, :cols].reshape(shape).astype(dtype)
    if p.init == "forget_bias":  # LSTM gates i, f, g, o: start the forget gate open
        b = np.zeros(shape, dtype)
        h = shape[0] // 4
        b[h:2 * h] = p.value
        return b
    if p.init == "constant":
        return np.full(shape, p.value, dtype)
    raise ValueError(f"unknown initialiser {p.init!r}")


class Network:
    def __init__(self, graph, seed=0, wrt_inputs=(), jit=False):
        self.graph = graph
        self.dtype = np.dtype(graph.dtype)
        self.back = reverse(graph, wrt_inputs) if graph.losses else None
        self.infer_plan = make_plan(graph, "infer")
        # a loss's inputs (the logits) are outputs too in training, for accuracy and other metrics
        watched = list(dict.fromkeys(graph.outputs + [s for n in graph.losses for s in graph.node(n).inputs]))
        self.train_plan = make_plan(graph, "train", self.back, watched) if self.back else None
        opt = (graph.train.get("optimizer") or ("sgd", {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.0}))
        self.optimizer, self.hyper = opt[0], dict(opt[1])
        if self.optimizer not in ("sgd", "adam"):
            self.optimizer = "sgd"  # the perceptron and delta rules are SGD on their neuron's loss
        self.key = cache.key_for(graph, f"{self.optimizer}|{sorted(wrt_inputs)}")
        self.module, self.cache_hit = cache.load_module(
            self.key, lambda: generate(graph, self.infer_plan, self.train_plan, self.back, self.key,
                                       self.optimizer, param_layout(graph)[0]))
        self.jit = jit
        self._layout_params(seed)
        self._bound = {}
        self.step_count = 0

    # -- parameters ------------------------------------------------------------------------
    def _layout_params(self, seed):
        slots, n_total, n_train = param_layout(self.graph)
        n_state = 2 if self.optimizer == "adam" else 1
        # byte buffers underneath, so the compiled tier can take them all in one typed list
        self._bytes = [np.zeros(n * self.dtype.itemsize, np.uint8)
                       for n in [n_total, n_train] + [n_train] * n_state + [1]]
        self.P, self.G, *S = (b.view(self.dtype) for b in self._bytes)
        self.S = tuple(S)
        self.params, self.grads, self._pviews, self._gviews = {}, {}, {}, {}
        rng = np.random.default_rng(seed)
        for s in slots:
            p = s.spec
            view = self.P[s.offset:s.offset + p.size].reshape(p.shape)
            view[...] = _init_param(p, rng, self.dtype)
            self.params[s.full] = view
            self._pviews[(s.node, s.key)] = view
            if p.trainable:
                g = self.G[s.offset:s.offset + p.size].reshape(p.shape)
                self.grads[s.full] = g
                self._gviews[(s.node, s.key)] = g
        self.trainable = [s.full for s in slots if s.spec.trainable]

    # -- binding buffers for a batch size ---------------------------------------------------
    def _compiled(self, mode, N, T):
        """Arena, typed list and offsets for the whole-step compiled entry points."""
        key = ("c", mode, N, T)
        if key in self._bound:
            return self._bound[key]
        from numba import typed

        plan = self.infer_plan if mode == "infer" else self.train_plan
        offsets, total = plan.layout(N, T, include_inputs=True)
        arena = np.zeros(total, np.uint8)
        names = self.module.ARENA_C_FORWARD if mode == "infer" else self.module.ARENA_C_TRAIN
        views = {}
        for name in names:
            b = plan.buffers[name]
            views[name] = arena[offsets[name]:offsets[name] + b.nbytes(N, T)].view(b.dtype).reshape(
                bind(b.shape, N, T))
        L = typed.List([arena] + self._bytes)
        bound = (L, tuple(offsets[n] for n in names), views)
        self._bound[key] = bound
        return bound

    def _stage(self, views, arrays):
        for name, a in zip(self.graph.inputs, arrays):
            if a is not None:
                np.copyto(views[_var_x(name)], a)

    def _bufs(self, mode, N, T):
        key = (mode, N, T)
        if key in self._bound:
            return self._bound[key]
        plan = self.infer_plan if mode == "infer" else self.train_plan
        offsets, total = plan.layout(N, T)
        arena = np.zeros(total, np.uint8)
        views = {}
        for b in plan.arena_buffers():
            nbytes = b.nbytes(N, T)
            views[b.name] = arena[offsets[b.name]:offsets[b.name] + nbytes].view(b.dtype).reshape(
                bind(b.shape, N, T))
        for (node, k), v in self._pviews.items():
            views[_var("w", node, k)] = v
        for (node, k), v in self._gviews.items():
            views[_var("g", node, k)] = v
        names = self.module.BUFS_FORWARD if mode == "infer" else self.module.BUFS_TRAIN
        bufs = tuple(views[n] for n in names)
        self._bound[key] = (arena, bufs, views)
        return self._bound[key]

    # -- the Python boundary ----------------------------------------------------------------
    def _check(self, inputs, needed):
        unknown = set(inputs) - set(self.graph.inputs)
        if unknown:
            raise InputError(f"unknown input {sorted(unknown)[0]!r}; {self.graph.name} takes "
                             f"{', '.join(self.graph.inputs)}")
        N = T = None
        arrays = []
        for name in self.graph.inputs:
            t = self.graph.node(name).type
            if name not in inputs:
                if name in needed:
                    raise InputError(f"input '{name}' is missing: expected {t.dtype} {t}")
                arrays.append(None)
                continue
            a = inputs[name]
            if not isinstance(a, np.ndarray):
                raise InputError(f"input '{name}' must be a numpy array, found {type(a).__name__}")
            if a.dtype != np.dtype(t.dtype):
                hint = f"; convert with x.astype(np.{t.dtype})" if a.dtype.kind in "fiu" else ""
                raise InputError(f"input '{name}' is {a.dtype}, but the network expects {t.dtype}{hint}")
            if a.ndim != t.rank:
                raise InputError(f"input '{name}' has shape {a.shape}, but the spec says {t} "
                                 f"({t.rank} axes, batch first)")
            for d, size in zip(t.shape, a.shape):
                if d == "N":
                    if N is None:
                        N = size
                    elif size != N:
                        raise InputError(f"input '{name}' has batch size {size}, but another input has {N}")
                elif d == "T":
                    if T is None:
                        T = size
                    elif size != T:
                        raise InputError(f"input '{name}' has sequence length {size}, but another input has {T}")
                elif size != d:
                    raise InputError(f"input '{name}' has shape {a.shape}, but the spec says {t}")
            if N == 0 or T == 0:
                raise InputError(f"input '{name}' is empty: shape {a.shape}")
            if not a.flags.c_contiguous:
                raise InputError(f"input '{name}' is not C-contiguous; pass np.ascontiguousarray(x)")
            if t.dtype in INT_DTYPES:
                self._check_ids(name, a)
            arrays.append(a)
        if N is None:
            raise InputError("no inputs given")
        return arrays, N, T

    def _check_ids(self, name, a):
        """Integer inputs index tables and classes: check the range before any kernel reads with them."""
        g = self.graph
        for consumer in g.g.successors(name):
            node = g.node(consumer)
            if node.op.name == "embedding":
                limit, what = node.attrs["vocab"], f"embedding '{consumer}' vocab"
            elif node.op.name == "one_hot":
                limit, what = node.attrs["classes"], f"one_hot '{consumer}' classes"
            elif node.op.name == "softmax_cross_entropy":
                limit, what = g.node(node.inputs[0]).type.shape[-1], f"the {consumer} logits' classes"
            else:
                continue
            if a.size and (a.min() < 0 or a.max() >= limit):
                bad = a.min() if a.min() < 0 else a.max()
                raise InputError(f"input '{name}' holds id {bad}, outside 0..{limit - 1} ({what})")

    def _needed(self, plan):
        import networkx as nx

        need = set()
        for step in plan.steps:
            need |= set(nx.ancestors(self.graph.g, step.node)) & set(self.graph.inputs)
        return need

    # -- entry points -----------------------------------------------------------------------
    def forward(self, training=False, seed=None, **inputs) -> dict:
        """Run the network; returns a dict of output name -> array (copies)."""
        arrays, N, T = self._check(inputs, self._needed(self.infer_plan))
        if self.jit:
            L, off, views = self._compiled("infer", N, T)
            self._stage(views, arrays)
            self.module.forward_c(L, off, N, T or 0, bool(training), self._seed(seed))
        else:
            _, bufs, views = self._bufs("infer", N, T)
            self.module.forward(*arrays, bufs, bool(training), self._seed(seed))
        return {o: views[n].copy() if n in views else arrays[self.graph.inputs.index(o)]
                for o, n in zip(self.infer_plan.outputs, self.module.OUTPUTS_FORWARD)}

    def evaluate(self, seed=None, **inputs):
        """Eval mode (no dropout, batch norm on running stats): (total loss, dict of output arrays)."""
        self._need_loss()
        arrays, N, T = self._check(inputs, self._needed(self.train_plan))
        _, bufs, views = self._bufs("train", N, T)
        loss = self.module.eval_loss(*arrays, bufs, self._seed(seed))
        outputs = {o: views[n].copy() for o, n in zip(self.train_plan.outputs, self.module.OUTPUTS_TRAIN)
                   if n in views}
        return float(loss), outputs

    def loss_and_grad(self, seed=None, **inputs):
        """The total loss and a dict of parameter gradients (views into the flat gradient buffer)."""
        self._need_loss()
        arrays, N, T = self._check(inputs, self._needed(self.train_plan))
        _, bufs, _ = self._bufs("train", N, T)
        loss = self.module.loss_and_grad(*arrays, bufs, self.G, self._seed(seed))
        return float(loss), self.grads

    def train_step(self, lr=None, seed=None, clip=None, **inputs) -> float:
        """One step of forward, backward and the spec's optimizer update; returns the loss."""
        self._need_loss()
        arrays, N, T = self._check(inputs, self._needed(self.train_plan))
        h = self.hyper
        lr = float(h.get("lr", 0.01) if lr is None else lr)
        clip = float((self.graph.train.get("clip_norm") or 0.0) if clip is None else clip)
        hyper = (float(h.get("momentum", h.get("beta1", 0.0))), float(h.get("weight_decay", 0.0)),
                 float(h.get("beta2", 0.999)), float(h.get("eps", 1e-8)), clip)
        if self.jit:
            L, off, views = self._compiled("train", N, T)
            self._stage(views, arrays)
            loss = self.module.train_step_c(L, off, N, T or 0, self._seed(seed), lr, *hyper)
        else:
            _, bufs, _ = self._bufs("train", N, T)
            loss = self.module.train_step(*arrays, bufs, self.P, self.G, self.S, self._seed(seed), lr, *hyper)
        self.step_count += 1
        return float(loss)

    def _need_loss(self):
        if self.train_plan is None:
            raise ValueError(f"{self.graph.name} has no loss: add a 'loss:' section to train it")

    def _seed(self, seed):
        return int(self.step_count if seed is None else seed)

    # -- save and load --------------------------------------------------------------------------
    @property
    def spec_hash(self) -> str:
        return hashlib.sha256(cache.canonical(self.graph).encode()).hexdigest()[:20]

    def save(self, path, extra=None):
        """Write weights and optimizer state to an .npz file atomically (temporary file, then rename)."""
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        arrays = {f"param/{k}": v for k, v in self.params.items()}
        arrays.update({f"optim/{i}": s for i, s in enumerate(self.S)})
        meta = {"format": CHECKPOINT_FORMAT, "spec_hash": self.spec_hash, "name": self.graph.name,
                "dtype": str(self.dtype), "step": self.step_count, "optimizer": self.optimizer}
        meta.update(extra or {})
        arrays["meta"] = np.array(json.dumps(meta))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".netc-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def load(self, path) -> dict:
        """Read weights saved by `save`; a file from another spec or a damaged file is a clear error."""
        path = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                contents = {k: data[k] for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise ValueError(f"{path}: not a readable netc checkpoint ({exc.__class__.__name__}: {exc})") from None
        if "meta" not in contents:
            raise ValueError(f"{path}: not a netc checkpoint (no metadata)")
        try:
            meta = json.loads(str(contents["meta"]))
        except ValueError:
            raise ValueError(f"{path}: damaged checkpoint metadata") from None
        if meta.get("spec_hash") != self.spec_hash:
            raise ValueError(f"{path}: written for network '{meta.get('name')}' (spec hash {meta.get('spec_hash')}), "
                             f"not for this '{self.graph.name}' ({self.spec_hash}); the spec has changed")
        for k, v in self.params.items():
            saved = contents.get(f"param/{k}")
            if saved is None or saved.shape != v.shape:
                raise ValueError(f"{path}: parameter {k} is missing or has the wrong shape")
            v[...] = saved
        for i, s in enumerate(self.S):
            saved = contents.get(f"optim/{i}")
            if saved is not None and saved.shape == s.shape:
                s[...] = saved
        self.step_count = int(meta.get("step", 0))
        return meta


def _var_x(name):
    from .plan import var

    return var("x", name)


def _var(prefix, node, k):
    from .plan import var

    return var(prefix, node, k)
