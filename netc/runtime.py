"""Stage: run. `netc.compile(spec)` -> a Network you can call, differentiate, train, save and load.

Arrays are checked here, at the Python boundary, before compiled code sees them: the input's
name, dtype, shape (with N and T bound), contiguity, and integer ids against the sizes that
index with them. Compiled kernels never get an array they could read out of bounds.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import threading
import zipfile

import numpy as np

from . import cache, kernels
from .diff.reverse import reverse
from .frontend import load, parse
from .lower.codegen import generate
from .lower.emit import bind
from .plan import make_plan, param_layout, var
from .threads import limit_blas
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


# Numba's workqueue threading layer (netc/threads.py's fallback where Numba has no OpenMP) aborts
# when two threads launch parallel kernels at once: entry points that run kernels take this lock,
# so a network used from several Python threads runs one call at a time instead of crashing.
_kernels_lock = threading.RLock()


def _one_at_a_time(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _kernels_lock, kernels.optimisation_level():
            return method(*args, **kwargs)
    return locked


class Network:
    def __init__(self, graph, seed=0, wrt_inputs=(), jit=False, share=None):
        # the perceptron and delta rules are SGD on the neuron's mse, with the lr scaled to the rule;
        # the perceptron compiles a sibling graph whose threshold VJP is straight-through (train/rules.py)
        self.rule, self._lr_factor = None, None
        opt = graph.train.get("optimizer") if graph.losses else None
        if opt and opt[0] in ("perceptron", "delta"):
            from .train.rules import prepare

            self.rule = opt[0]
            graph, self._lr_factor = prepare(graph, self.rule)
        self.graph = graph
        self.dtype = np.dtype(graph.dtype)
        # what the boundary checks, looked up once (the lookups were a fifth of a batch-1 forward)
        self._input_specs = [(name, graph.node(name).type, np.dtype(graph.node(name).type.dtype), var("x", name))
                             for name in graph.inputs]
        self.back = reverse(graph, wrt_inputs) if graph.losses else None
        self.infer_plan = make_plan(graph, "infer")
        # a loss's inputs (the logits) are outputs too in training, for accuracy and other metrics
        watched = list(dict.fromkeys(graph.outputs + [s for n in graph.losses for s in graph.node(n).inputs]))
        self.train_plan = make_plan(graph, "train", self.back, watched) if self.back else None
        opt = (graph.train.get("optimizer") or ("sgd", {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.0}))
        self.optimizer, self.hyper = opt[0], dict(opt[1])
        if self.optimizer not in ("sgd", "adam"):
            self.optimizer = "sgd"  # the perceptron and delta rules are SGD on their neuron's loss
        # the fusions and first writes are in the key too: the same graph planned without them
        # (tests) is another module
        fused = [(sorted(p.fused.items()), sorted(p.fresh.items())) for p in (self.infer_plan, self.train_plan) if p]
        self.key = cache.key_for(graph, f"{self.optimizer}|{sorted(wrt_inputs)}|{fused}")
        self.module, self.cache_hit = cache.load_module(
            self.key, lambda: generate(graph, self.infer_plan, self.train_plan, self.back, self.key,
                                       self.optimizer, param_layout(graph)[0]))
        self.jit = jit
        limit_blas()  # one level of parallelism (netc/threads.py)
        self._layout_params(seed, share)
        self._bound = {}
        self.step_count = 0

    # -- parameters ------------------------------------------------------------------------
    def _layout_params(self, seed, share=None):
        slots, n_total, n_train = param_layout(self.graph)
        n_state = 2 if self.optimizer == "adam" else 1
        # byte buffers underneath, so the compiled tier can take them all in one typed list
        if share is not None:  # a sibling graph (train/graphs.py): the same parameters, the same memory
            if [b.size for b in share._bytes] != [n * self.dtype.itemsize for n in
                                                   [n_total, n_train] + [n_train] * n_state + [1]]:
                raise ValueError(f"cannot share parameters with {share.graph.name}: the layouts differ")
            self._bytes = share._bytes
        else:
            self._bytes = [np.zeros(n * self.dtype.itemsize, np.uint8)
                           for n in [n_total, n_train] + [n_train] * n_state + [1]]
        self.P, self.G, *S = (b.view(self.dtype) for b in self._bytes)
        self.S = tuple(S)
        # optimizer state, named as saved: SGD's velocity, or Adam's two moments; then the step count
        self.state_names = (("m", "v") if self.optimizer == "adam" else ("velocity",)) + ("steps",)
        self.params, self.grads, self._pviews, self._gviews = {}, {}, {}, {}
        rng = np.random.default_rng(seed)
        for s in slots:
            p = s.spec
            view = self.P[s.offset:s.offset + p.size].reshape(p.shape)
            if share is None:
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
        from .kernels.buffers import byte_list

        plan = self.infer_plan if mode == "infer" else self.train_plan
        offsets, total = plan.layout(N, T, include_inputs=True)
        arena = np.zeros(total, np.uint8)
        names = self.module.ARENA_C_FORWARD if mode == "infer" else self.module.ARENA_C_TRAIN
        views = {}
        for name in names:
            b = plan.buffers[name]
            views[name] = arena[offsets[name]:offsets[name] + b.nbytes(N, T)].view(b.dtype).reshape(
                bind(b.shape, N, T))
        L = byte_list(tuple([arena] + self._bytes))  # built in cached code: typed.List() compiles per process
        bound = (L, tuple(offsets[n] for n in names), views)
        self._bound[key] = bound
        return bound

    def _stage(self, views, arrays):
        for spec, a in zip(self._input_specs, arrays):
            if a is not None:
                views[spec[3]][...] = a

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
            views[var("w", node, k)] = v
        for (node, k), v in self._gviews.items():
            views[var("g", node, k)] = v
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
        for name, t, dtype, _ in self._input_specs:
            if name not in inputs:
                if name in needed:
                    raise InputError(f"input '{name}' is missing: expected {t.dtype} {t}")
                arrays.append(None)
                continue
            a = inputs[name]
            if not isinstance(a, np.ndarray):
                raise InputError(f"input '{name}' must be a numpy array, found {type(a).__name__}")
            if a.dtype != dtype:
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

        memo = self.__dict__.setdefault("_needed_memo", {})  # the graph walk was 75% of a batch-1 forward
        if id(plan) in memo:
            return memo[id(plan)]
        need = memo[id(plan)] = set()
        for step in plan.steps:
            need |= set(nx.ancestors(self.graph.g, step.node)) & set(self.graph.inputs)
        return need

    # -- entry points -----------------------------------------------------------------------
    @_one_at_a_time
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

    @_one_at_a_time
    def evaluate(self, seed=None, **inputs):
        """Eval mode (no dropout, batch norm on running stats): (total loss, dict of output arrays)."""
        self._need_loss()
        arrays, N, T = self._check(inputs, self._needed(self.train_plan))
        _, bufs, views = self._bufs("train", N, T)
        loss = self.module.eval_loss(*arrays, bufs, self._seed(seed))
        outputs = {o: views[n].copy() for o, n in zip(self.train_plan.outputs, self.module.OUTPUTS_TRAIN)
                   if n in views}
        return float(loss), outputs

    @_one_at_a_time
    def loss_and_grad(self, seed=None, **inputs):
        """The total loss and a dict of parameter gradients (views into the flat gradient buffer)."""
        self._need_loss()
        arrays, N, T = self._check(inputs, self._needed(self.train_plan))
        _, bufs, _ = self._bufs("train", N, T)
        loss = self.module.loss_and_grad(*arrays, bufs, self.G, self._seed(seed))
        return float(loss), self.grads

    @_one_at_a_time
    def train_step(self, lr=None, seed=None, clip=None, **inputs) -> float:
        """One step of forward, backward and the spec's optimizer update; returns the loss."""
        self._need_loss()
        arrays, N, T = self._check(inputs, self._needed(self.train_plan))
        lr, hyper = self._step_hyper(lr, clip, N, T)
        if self.jit:
            L, off, views = self._compiled("train", N, T)
            self._stage(views, arrays)
            loss = self.module.train_step_c(L, off, N, T or 0, self._seed(seed), lr, *hyper)
        else:
            _, bufs, _ = self._bufs("train", N, T)
            loss = self.module.train_step(*arrays, bufs, self.P, self.G, self.S, self._seed(seed), lr, *hyper)
        self.step_count += 1
        return float(loss)

    def _step_hyper(self, lr, clip, N, T):
        """The learning rate and the rest of the update's arguments (momentum or beta1, weight
        decay, beta2, eps, clip) of a training step at batch N and length T."""
        h = self.hyper
        lr = float(h.get("lr", 0.01) if lr is None else lr)
        if self._lr_factor is not None:
            lr *= self._lr_factor(N, T)
        clip = float((self.graph.train.get("clip_norm") or 0.0) if clip is None else clip)
        return lr, (float(h.get("momentum", h.get("beta1", 0.0))), float(h.get("weight_decay", 0.0)),
                    float(h.get("beta2", 0.999)), float(h.get("eps", 1e-8)), clip)

    def warm(self, N=1, T=2):
        """Compile what the first calls would (forward, and the training step when the spec has a
        loss) on a batch of zeros; weights, optimizer state and step count are left as they were."""
        inputs = {name: np.zeros(bind(self.graph.node(name).type.shape, N, T), self.graph.node(name).type.dtype)
                  for name in self.graph.inputs}
        self.forward(**inputs)
        if self.train_plan is not None:
            saved, count = [b.copy() for b in self._bytes], self.step_count
            try:
                self.train_step(**inputs)
            finally:
                for b, s in zip(self._bytes, saved):
                    b[...] = s
                self.step_count = count

    def _need_loss(self):
        if self.train_plan is None:
            raise ValueError(f"{self.graph.name} has no loss: add a 'loss:' section to train it")

    def _seed(self, seed):
        return int(self.step_count if seed is None else seed)

    # -- forward mode, output-seeded reverse mode, Jacobians, Hessian-vector products ----------
    # Each set of seeds (which inputs and parameters carry a tangent; which outputs get a
    # cotangent) is its own small generated module, made on first use and cached like the main
    # one: the main module does not depend on every op having a JVP.
    def _entry(self, kind, spec, make):
        entries = self.__dict__.setdefault("_entries", {})
        if (kind, spec) not in entries:
            key = cache.key_for(self.graph, f"{kind}|{spec!r}")
            plan, source = make()
            module, _ = cache.load_module(key, lambda: source(key))
            entries[(kind, spec)] = {"plan": plan, "module": module, "bound": {}}
        return entries[(kind, spec)]

    def _flat_views(self, flat, prefix, trainable_only):
        """Views of a flat buffer laid out like P (or like G: trainable parameters first)."""
        from .plan import var

        views, by_name = {}, {}
        for s in param_layout(self.graph)[0]:
            if trainable_only and not s.spec.trainable:
                continue
            view = flat[s.offset:s.offset + s.spec.size].reshape(s.spec.shape)
            views[var(prefix, s.node, s.key)] = view
            by_name[s.full] = view
        return views, by_name

    def _bind_entry(self, entry, names, N, T, extra):
        if (N, T) not in entry["bound"]:
            plan = entry["plan"]
            offsets, total = plan.layout(N, T)
            arena = np.zeros(total, np.uint8)
            views = {b.name: arena[offsets[b.name]:offsets[b.name] + b.nbytes(N, T)].view(b.dtype).reshape(
                bind(b.shape, N, T)) for b in plan.arena_buffers()}
            for (node, k), v in self._pviews.items():
                views[var("w", node, k)] = v
            views.update(extra)
            entry["bound"][(N, T)] = (arena, tuple(views[n] for n in names), views)
        return entry["bound"][(N, T)]

    def _outputs_arg(self, outputs):
        of = [outputs] if isinstance(outputs, str) else list(outputs or self.graph.outputs)
        for o in of:
            if o not in self.graph.g:
                raise ValueError(f"'{o}' is not a node of {self.graph.name}; outputs are {', '.join(self.graph.outputs)}")
        return of

    @_one_at_a_time
    def jvp(self, inputs, tangents, outputs=None, training=False, seed=None):
        """Forward mode in one compiled pass: (outputs, output tangents), two dicts keyed by output
        name. `tangents` maps float input names and/or 'node.param' names to directions (the
        input's or parameter's shape); the rest have a zero tangent. `outputs` defaults to the
        spec's outputs; any node may be named (a loss too, given its labels)."""
        from .diff.forward import forward_mode, split_wrt
        from .lower.codegen import generate_jvp
        from .plan import make_jvp_plan

        of = self._outputs_arg(outputs)
        t_in, t_par = split_wrt(self.graph, tangents)
        spec = (tuple(of), tuple(sorted(t_in)), tuple(sorted(t_par)))

        def make():
            tan = forward_mode(self.graph, spec[1], spec[2])
            plan = make_jvp_plan(self.graph, tan, of)
            return plan, lambda key: generate_jvp(self.graph, plan, tan, key)
        entry = self._entry("jvp", spec, make)
        plan, module = entry["plan"], entry["module"]
        arrays, N, T = self._check(inputs, self._needed(plan) | set(t_in))
        tarrays = []
        for name in spec[1]:
            a = arrays[self.graph.inputs.index(name)]
            tarrays.append(self._direction(f"tangent of '{name}'", tangents[name], a.shape))
        if "_V" not in self.__dict__:
            self._V = np.zeros_like(self.P)
            self._vviews, self._vby = self._flat_views(self._V, "v", False)
        for name in spec[2]:
            self._vby[name][...] = self._direction(f"tangent of {name}", tangents[name], self._vby[name].shape)
        _, bufs, views = self._bind_entry(entry, module.BUFS_JVP, N, T, self._vviews)
        module.jvp(*arrays, *tarrays, bufs, bool(training), self._seed(seed))
        outs, touts = {}, {}
        for o, y, t in zip(of, module.OUTPUTS_JVP, module.TANGENTS_JVP):
            if o in self.graph.inputs:
                outs[o] = arrays[self.graph.inputs.index(o)].copy()
                touts[o] = (tarrays[spec[1].index(o)].copy() if o in spec[1] else np.zeros_like(outs[o]))
                continue
            outs[o] = views[y].copy()
            touts[o] = views[t].copy() if t else np.zeros_like(outs[o])
        return outs, touts

    def _direction(self, what, a, shape):
        a = np.asarray(a)
        if a.shape != tuple(shape):
            raise InputError(f"{what} has shape {a.shape}, expected {tuple(shape)}")
        if a.dtype.kind != "f":
            raise InputError(f"{what} is {a.dtype}; tangents and cotangents are float arrays")
        return np.ascontiguousarray(a, dtype=self.dtype)

    @_one_at_a_time
    def vjp(self, inputs, cotangents, wrt=None, training=False, seed=None) -> dict:
        """Reverse mode seeded at outputs: the gradients of sum_o <cotangents[o], o> with respect to
        the float inputs and trainable parameters ('node.param') they depend on, as a dict of
        copies (keys not reached are absent, i.e. zero). `wrt` narrows the result to some names.
        Runs in eval mode unless `training`; net.grads (training's gradient) is left untouched."""
        from .diff.reverse import reverse
        from .lower.codegen import generate_vjp
        from .plan import make_vjp_plan

        seeds = self._outputs_arg(sorted(cotangents))
        for o in seeds:
            if o in self.graph.inputs or not self.graph.node(o).type.is_float:
                raise ValueError(f"'{o}' takes no cotangent: name a float layer or loss")
        ancestors = set()
        for o in seeds:
            ancestors |= nx_ancestors(self.graph, o)
        wrt_inputs = tuple(n for n in self.graph.inputs if n in ancestors and self.graph.node(n).type.is_float)
        spec = (tuple(seeds), wrt_inputs)

        def make():
            back = reverse(self.graph, wrt_inputs, seeds={o: 1.0 for o in seeds})
            plan = make_vjp_plan(self.graph, back)
            return plan, lambda key: generate_vjp(self.graph, plan, back, key)
        entry = self._entry("vjp", spec, make)
        plan, module = entry["plan"], entry["module"]
        arrays, N, T = self._check(inputs, self._needed(plan))
        if "_G2" not in self.__dict__:
            self._G2 = np.zeros_like(self.G)
            self._g2views, self._g2by = self._flat_views(self._G2, "g", True)
        cts = [self._direction(f"cotangent of '{o}'", cotangents[o], bind(self.graph.node(o).type.shape, N, T))
               for o in module.SEEDS]
        if not module.SEEDS:  # no seeded output depends on anything differentiable
            grads = {}
        else:
            _, bufs, views = self._bind_entry(entry, module.BUFS_VJP, N, T, self._g2views)
            module.vjp(*arrays, *cts, bufs, self._G2, bool(training), self._seed(seed))
            grads = {n: views[b].copy() for n, b in module.GRADS_VJP.items()}
            reached = {s.node for s in plan.steps if s.kind == "vjp"}
            grads.update({k: v.copy() for k, v in self._g2by.items() if k.rsplit(".", 1)[0] in reached})
        if wrt is not None:
            names = [wrt] if isinstance(wrt, str) else list(wrt)
            grads = {n: grads[n] if n in grads else np.zeros_like(self._like(n, arrays)) for n in names}
        return grads

    def _like(self, name, arrays):
        if name in self.graph.inputs:
            return arrays[self.graph.inputs.index(name)]
        if name in self.params:
            return self.params[name]
        raise ValueError(f"'{name}' is neither an input nor a parameter of {self.graph.name}")

    def jacobian(self, inputs, wrt=None, of=None, mode="auto", per_example=False, training=False, seed=None):
        """The Jacobian of outputs `of` (default: the spec's outputs) with respect to `wrt` (input
        names and/or 'node.param'; default: the float inputs the outputs depend on).

        mode "fwd" builds it a column at a time (one jvp per element of wrt), "rev" a row at a time
        (one vjp per element of the outputs), "auto" picks forward when wrt is smaller than the
        outputs. Each block has shape output.shape + wrt.shape; with `per_example` (inputs only,
        examples independent: eval mode, no batch statistics) one pass serves every example at once
        and a block is N x output example shape x input example shape. One `of` and one `wrt`
        (strings) give the array itself; otherwise a dict keyed by (of, wrt)."""
        single = isinstance(of, str) and isinstance(wrt, str)
        outs_named = self._outputs_arg(of)
        arrays, N, T = self._check(inputs, set())
        if wrt is None:
            anc = set()
            for o in outs_named:
                anc |= nx_ancestors(self.graph, o)
            wrt = [n for n in self.graph.inputs if n in anc and self.graph.node(n).type.is_float]
        wrts = [wrt] if isinstance(wrt, str) else list(wrt)
        for w in wrts:
            self._like(w, arrays)
            if per_example and w not in self.graph.inputs:
                raise ValueError(f"per_example Jacobians are with respect to inputs, not the parameter {w}")
        y0 = self._primal(inputs, outs_named, training, seed)

        def ex(shape):
            return shape[1:] if per_example else shape
        in_shapes = {w: self._like(w, arrays).shape for w in wrts}
        n_in = sum(int(np.prod(ex(s))) for s in in_shapes.values())
        n_out = sum(int(np.prod(ex(y0[o].shape))) for o in outs_named)
        if mode == "auto":
            mode = "fwd" if n_in < n_out else "rev"
        if mode not in ("fwd", "rev"):
            raise ValueError(f"mode must be 'fwd', 'rev' or 'auto', not {mode!r}")
        J = {}
        for o in outs_named:
            for w in wrts:
                ys, xs = y0[o].shape, in_shapes[w]
                J[(o, w)] = np.zeros((N,) + ys[1:] + xs[1:] if per_example else ys + xs, self.dtype)
        if mode == "fwd":
            for w in wrts:
                for j in np.ndindex(*ex(in_shapes[w])):
                    t = {v: np.zeros(in_shapes[v], self.dtype) for v in wrts}
                    if per_example:
                        t[w][(slice(None),) + j] = 1
                    else:
                        t[w][j] = 1
                    _, dy = self.jvp(inputs, t, outs_named, training, seed)
                    for o in outs_named:
                        J[(o, w)][(Ellipsis,) + j] = dy[o]
        else:
            for o in outs_named:
                for i in np.ndindex(*ex(y0[o].shape)):
                    cts = {q: np.zeros(y0[q].shape, self.dtype) for q in outs_named}
                    if per_example:
                        cts[o][(slice(None),) + i] = 1
                    else:
                        cts[o][i] = 1
                    grads = self.vjp(inputs, {q: c for q, c in cts.items() if self._takes_cotangent(q)},
                                     wrts, training, seed)
                    for w in wrts:
                        row = grads[w]
                        if per_example:
                            J[(o, w)][(slice(None),) + i] = row
                        else:
                            J[(o, w)][i] = row
        return J[(outs_named[0], wrts[0])] if single else J

    def _takes_cotangent(self, name):
        return name not in self.graph.inputs and self.graph.node(name).type.is_float

    def _primal(self, inputs, names, training, seed):
        outs, _ = self.jvp(inputs, {}, names, training, seed)
        return outs

    @_one_at_a_time
    def hvp(self, inputs, v, training=False, seed=None) -> dict:
        """The Hessian of the total loss with respect to the trainable parameters, times the
        direction `v` ('node.param' -> array; absent parameters are zero), as a dict of float64
        arrays for every trainable parameter.

        Forward-over-reverse (netc/diff/second.py): the tangent of the reverse pass along v, from
        each op's VJP kernels and second-order rule, in float64 (a float32 network is re-typed as
        a float64 twin with the same weights). No difference quotients: exact up to rounding, and
        at a kink (relu at 0, a max-pool tie) the Hessian of the piece the point lies on. Runs in
        eval mode unless `training`."""
        from .diff.second import hvp

        self._need_loss()
        net = self._float64_twin()
        inputs64 = {k: a.astype(np.float64) if a.dtype.kind == "f" else a for k, a in inputs.items()}
        arrays, _, _ = net._check(inputs64, set(self.graph.inputs))
        unknown = set(v) - set(self.trainable)
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]!r} is not a trainable parameter; they are {', '.join(self.trainable)}")
        v64 = {k: net._direction(f"direction {k}", a, net.params[k].shape) for k, a in v.items()}
        given = dict(zip(self.graph.inputs, arrays))
        return hvp(net.graph, net.params, self.trainable, given, v64, training, self._seed(seed))

    def _float64_twin(self):
        """This network in float64 with the same weights (self when it is float64 already)."""
        if self.dtype == np.float64:
            return self
        if "_twin" not in self.__dict__:
            self._twin = Network(retype(self.graph, "float64"), seed=0)
        self._twin.P[...] = self.P
        return self._twin

    # -- save and load --------------------------------------------------------------------------
    @property
    def spec_hash(self) -> str:
        return hashlib.sha256(cache.canonical(self.graph).encode()).hexdigest()[:20]

    def save(self, path, extra=None):
        """Write weights and optimizer state to an .npz file atomically (temporary file, then rename)."""
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        arrays = {f"param/{k}": v for k, v in self.params.items()}
        arrays.update({f"optim/{k}": s for k, s in zip(self.state_names, self.S)})
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
            saved = contents.get(f"optim/{self.state_names[i]}")
            if saved is not None and saved.shape == s.shape:
                s[...] = saved
        self.step_count = int(meta.get("step", 0))
        return meta


def nx_ancestors(graph, name):
    import networkx as nx

    return nx.ancestors(graph.g, name)


def retype(graph, dtype):
    """A copy of a checked graph, typed again in another float dtype (its nodes copied, ops shared)."""
    import copy

    from .infer import infer

    twin = copy.copy(graph)
    twin.g = graph.g.copy()
    for n in twin.g.nodes:
        node = copy.copy(graph.node(n))
        node.attrs = dict(node.attrs)
        twin.g.nodes[n]["node"] = node
    return infer(twin, dtype)
