"""Run a netc graph with JAX, as a pure function of (parameters, state, inputs, training, key):
the second reference framework the benchmarks time (jax.jit), and a test oracle beside PyTorch.

The parameters are two pytrees of 'node.param' -> array: the trainable ones, which jax.grad
differentiates, and the state (batch norm's running statistics), which a training run returns
updated. Each op's rule lives in one small function in RULES; an op without one raises Unsupported.
JAX is optional (`pip install jax`); nothing in netc's core imports this module.
"""
from __future__ import annotations

import zlib

import numpy as np

from . import Unsupported

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError:  # pragma: no cover - exercised where JAX is missing
    jax = None


def available() -> bool:
    return jax is not None


class JaxGraph:
    """The graph as a pure JAX function. `run` evaluates it; `train_step_fn` and `infer_fn` jit it."""

    def __init__(self, graph, random_ok=False):
        if jax is None:
            raise Unsupported("JAX is not installed")
        for node in graph.nodes():
            if node.op.name != "input" and node.op.name not in RULES:
                raise Unsupported(f"no JAX rule for op {node.op.name} ('{node.name}')")
        self.graph = graph
        self.random_ok = random_ok  # dropout draws JAX's own masks (benchmarks), else refuses
        self.dtype = jnp.dtype(graph.dtype)
        self.trainable = [f"{n.name}.{k}" for n in graph.nodes() for k, p in n.params.items() if p.trainable]

    def arrays_from(self, params: dict):
        """netc's parameters (name -> array) as (trainable pytree, state pytree) of JAX arrays: copies,
        since jnp.asarray may alias a NumPy array, and a train step donates (overwrites) what it is given."""
        trainable, state = {}, {}
        for k, v in params.items():
            (trainable if k in self.trainable else state)[k] = jnp.array(np.asarray(v), self.dtype, copy=True)
        return trainable, state

    def run(self, params, state, inputs, training=False, key=None, only=None):
        """(values of every node, or of those `only` needs; the state after the run)."""
        import networkx as nx

        needed = None
        if only is not None:
            needed = set(only).union(*(nx.ancestors(self.graph.g, o) for o in only))
        run = _Run(training, key, self.random_ok, dict(state))
        values = {}
        for name in self.graph.order:
            if needed is not None and name not in needed:
                continue
            node = self.graph.node(name)
            if node.op.name == "input":
                values[name] = jnp.asarray(inputs[name])
                continue
            xs = [values[s] for s in node.inputs]
            p = {k: params[f"{name}.{k}"] if f"{name}.{k}" in params else run.state[f"{name}.{k}"]
                 for k in node.params}
            values[name] = RULES[node.op.name](node, xs, p, run)
        return values, run.state

    def total_loss(self, values):
        return sum(self.graph.node(n).weight * values[n] for n in self.graph.losses)

    def loss_fn(self, params, state, inputs, key=None):
        """(total loss in training mode, state after the run): what jax.value_and_grad(has_aux=True) takes."""
        values, new_state = self.run(params, state, inputs, training=True, key=key, only=self.graph.losses)
        return self.total_loss(values), new_state

    def train_step_fn(self, sgd):
        """A jitted (params, momentum buffers, state, inputs, key) -> (params, buffers, state, loss):
        forward, backward and torch.optim.SGD's update: g += wd w; buf = momentum buf + g; w -= lr buf
        (buffers start at zero, so the first step's buf is g, as in PyTorch)."""
        lr, momentum, decay = float(sgd["lr"]), float(sgd.get("momentum", 0.0)), float(sgd.get("weight_decay", 0.0))
        grad_fn = jax.value_and_grad(self.loss_fn, has_aux=True)

        def step(params, buffers, state, inputs, key):
            (loss, state), grads = grad_fn(params, state, inputs, key)
            grads = jax.tree_util.tree_map(lambda g, w: g + decay * w, grads, params)
            buffers = jax.tree_util.tree_map(lambda b, g: momentum * b + g, buffers, grads)
            params = jax.tree_util.tree_map(lambda w, b: w - lr * b, params, buffers)
            return params, buffers, state, loss

        return jax.jit(step, donate_argnums=(0, 1, 2))  # the old params, buffers and state are dead

    def infer_fn(self, outputs=None):
        """A jitted (params, state, inputs) -> {output: array} in eval mode."""
        outputs = list(outputs or self.graph.outputs)

        def infer(params, state, inputs):
            values, _ = self.run(params, state, inputs, training=False, only=outputs)
            return {o: values[o] for o in outputs}

        return jax.jit(infer)


class _Run:
    """What one evaluation shares between rules: the mode, the dropout key, the state being updated."""

    def __init__(self, training, key, random_ok, state):
        self.training, self.key, self.random_ok, self.state = training, key, random_ok, state


# -- the rules, one per op: (node, input values, the node's parameters, the run) -> value ------------
def _conv(node, xs, p, run):
    a = node.attrs
    y = lax.conv_general_dilated(xs[0], p["weight"], a["stride"], _padding(node, xs[0]), rhs_dilation=a["dilation"])
    return y + p["bias"].reshape((-1,) + (1,) * node.op.spatial) if "bias" in p else y


def _padding(node, x):
    """The resolved pads, plus what ceil rounding adds on the right so the last window fits."""
    a, pads = node.attrs, node.resolved_pads
    out = []
    for size, (left, right), k, s, d, o in zip(x.shape[2:], pads, a["kernel"], a["stride"], a["dilation"],
                                               node.type.shape[2:]):
        past = (o - 1) * s + d * (k - 1) + 1 - (size + left + right)
        out.append((left, right + max(past, 0)))
    return out


def _pool(node, xs, p, run):
    a, x = node.attrs, xs[0]
    ones = (1, 1)
    window, strides = ones + tuple(a["kernel"]), ones + tuple(a["stride"])
    dilation = ones + tuple(a["dilation"])
    pads = [(0, 0), (0, 0)] + _padding(node, x)
    if node.op.kind == "max":
        return lax.reduce_window(x, -jnp.inf, lax.max, window, strides, pads, window_dilation=dilation)
    total = lax.reduce_window(x, 0.0, lax.add, window, strides, pads, window_dilation=dilation)
    if a["count_include_pad"]:  # taps in the resolved padding count, taps past it (ceil) do not
        inside = jnp.ones((1, 1) + tuple(s + l + r for s, (l, r) in zip(x.shape[2:], node.resolved_pads)), x.dtype)
        extra = [(0, 0), (0, 0)] + [(0, r - rr) for (_, r), (_, rr) in zip(_padding(node, x), node.resolved_pads)]
    else:
        inside, extra = jnp.ones((1, 1) + x.shape[2:], x.dtype), pads
    count = lax.reduce_window(inside, 0.0, lax.add, window, strides, extra, window_dilation=dilation)
    return total / count


def _binary(combine):
    def rule(node, xs, p, run):
        u, v = xs
        rank = max(u.ndim, v.ndim)  # the lower-rank side gets trailing axes, as in netc/ops/arith.py
        u, v = (w.reshape(w.shape + (1,) * (rank - w.ndim)) for w in (u, v))
        return combine(u, v)
    return rule


def _dropout(node, xs, p, run):
    rate = node.attrs["rate"]
    if not run.training or rate == 0:
        return xs[0]
    if not run.random_ok:
        raise Unsupported("dropout masks differ between frameworks; compare in eval mode")
    # a key per layer, as netc salts its seed with the layer's name
    keep = jax.random.bernoulli(jax.random.fold_in(run.key, zlib.crc32(node.name.encode())), 1 - rate, xs[0].shape)
    return jnp.where(keep, xs[0] / (1 - rate), 0)


def _batchnorm(node, xs, p, run):
    a, x = node.attrs, xs[0]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if run.training:
        mean = x.mean(axes)
        var = ((x - mean.reshape(shape)) ** 2).mean(axes)
        count = x.size // x.shape[1]
        unbiased = var * (count / (count - 1)) if count > 1 else var  # running_var takes it, as PyTorch does
        m = a["momentum"]
        run.state[f"{node.name}.running_mean"] = lax.stop_gradient((1 - m) * p["running_mean"] + m * mean)
        run.state[f"{node.name}.running_var"] = lax.stop_gradient((1 - m) * p["running_var"] + m * unbiased)
    else:
        mean, var = p["running_mean"], p["running_var"]
    xhat = (x - mean.reshape(shape)) * lax.rsqrt(var.reshape(shape) + a["eps"])
    return xhat * p["gamma"].reshape(shape) + p["beta"].reshape(shape)


def _recurrent(node, xs, p, run):
    """Layer by layer, forward then reverse direction, each cell a lax.scan over time; the state
    layout of netc/ops/recurrent.py (h of every cell, then c of every cell)."""
    a, x = node.attrs, xs[0]
    H, D, L = a["units"], node.op.directions(a), a["layers"]
    K, S = L * D, node.op.states
    cells = node.op.cells(a, x.shape[2])
    s0 = xs[1] if len(xs) > 1 else jnp.zeros((x.shape[0], S * K * H), x.dtype)
    final = [s0[:, j * H:(j + 1) * H] for j in range(S * K)]
    cell = _lstm_cell if node.op.name == "lstm" else _rnn_cell
    seq = x
    for layer in range(L):
        outs = []
        for d in range(D):
            k = layer * D + d
            prefix = cells[k][0]
            cp = {n: p[prefix + n] for n in ("wx", "wh", "b", "peep") if prefix + n in p}
            xz = jnp.swapaxes(seq @ cp["wx"] + cp["b"], 0, 1)  # T x N x G: every step's input part at once

            def step(state, z, cp=cp):
                new = cell(a, cp, z + state[0] @ cp["wh"], state)
                return new, new[0]

            state, hs = lax.scan(step, tuple(final[k + m * K] for m in range(S)), xz, reverse=bool(d))
            for m in range(S):
                final[k + m * K] = state[m]
            outs.append(jnp.swapaxes(hs, 0, 1))
        seq = jnp.concatenate(outs, axis=2)
    if a["return"] == "sequence":
        return seq
    if a["return"] == "last":
        return jnp.concatenate(final[K - D:K], axis=1)
    return jnp.concatenate(final, axis=1)


def _rnn_cell(a, p, z, state):
    return (jax.nn.relu(z) if a["activation"] == "relu" else jnp.tanh(z),)


def _lstm_cell(a, p, z, state):
    """Gates input, forget, cell, output; peepholes from c_{t-1} to i and f, from c_t to o."""
    h, c = state
    zi, zf, zg, zo = jnp.split(z, 4, axis=1)
    if a["peephole"]:
        zi, zf = zi + p["peep"][0] * c, zf + p["peep"][1] * c
    c = jax.nn.sigmoid(zf) * c + jax.nn.sigmoid(zi) * jnp.tanh(zg)
    if a["peephole"]:
        zo = zo + p["peep"][2] * c
    return jax.nn.sigmoid(zo) * jnp.tanh(c), c


def _softmax_cross_entropy(node, xs, p, run):
    """The mean over rows (N, and T for sequences), stable through log-softmax."""
    logits, labels = xs
    logp = jax.nn.log_softmax(logits, axis=-1)
    if jnp.issubdtype(labels.dtype, jnp.integer):
        return -jnp.take_along_axis(logp, labels[..., None].astype(jnp.int32), axis=-1).mean()
    return -(lax.stop_gradient(labels) * logp).sum(-1).mean()


def _binary_cross_entropy(node, xs, p, run):
    z, t = xs[0], lax.stop_gradient(xs[1])
    if node.attrs["from_logits"]:
        return (jnp.maximum(z, 0) - z * t + jnp.log1p(jnp.exp(-jnp.abs(z)))).mean()
    q = jnp.clip(z, 1e-7, 1 - 1e-7)  # netc/ops/losses.py's EPS
    return -(t * jnp.log(q) + (1 - t) * jnp.log(1 - q)).mean()


RULES = {
    "identity": lambda node, xs, p, run: xs[0],
    "sigmoid": lambda node, xs, p, run: jax.nn.sigmoid(xs[0]),
    "tanh": lambda node, xs, p, run: jnp.tanh(xs[0]),
    "relu": lambda node, xs, p, run: jax.nn.relu(xs[0]),
    "leaky_relu": lambda node, xs, p, run: jnp.where(xs[0] > 0, xs[0], node.attrs["slope"] * xs[0]),
    "elu": lambda node, xs, p, run: jnp.where(xs[0] > 0, xs[0],
                                              node.attrs["alpha"] * jnp.expm1(jnp.minimum(xs[0], 0))),
    "softmax": lambda node, xs, p, run: jax.nn.softmax(xs[0], axis=node.attrs["axis"]),
    "log_softmax": lambda node, xs, p, run: jax.nn.log_softmax(xs[0], axis=node.attrs["axis"]),
    "dense": lambda node, xs, p, run: xs[0] @ p["weight"] + p["bias"] if "bias" in p else xs[0] @ p["weight"],
    **{f"conv{d}d": _conv for d in (1, 2, 3)},
    **{f"{kind}pool{d}d": _pool for kind in ("max", "avg") for d in (1, 2, 3)},
    **{f"globalmaxpool{d}d": lambda node, xs, p, run: xs[0].max(tuple(range(2, xs[0].ndim))) for d in (1, 2, 3)},
    **{f"globalavgpool{d}d": lambda node, xs, p, run: xs[0].mean(tuple(range(2, xs[0].ndim))) for d in (1, 2, 3)},
    "flatten": lambda node, xs, p, run: xs[0].reshape(xs[0].shape[0], -1),
    "reshape": lambda node, xs, p, run: xs[0].reshape((xs[0].shape[0],) + tuple(node.attrs["shape"])),
    "concat": lambda node, xs, p, run: jnp.concatenate(xs, axis=node.attrs["axis"]),
    "add": _binary(lambda u, v: u + v),
    "mul": _binary(lambda u, v: u * v),
    "dropout": _dropout,
    "batchnorm": _batchnorm,
    "embedding": lambda node, xs, p, run: p["table"][xs[0]],
    "one_hot": lambda node, xs, p, run: jax.nn.one_hot(xs[0], node.attrs["classes"], dtype=node.type.dtype),
    "rnn": _recurrent,
    "lstm": _recurrent,
    "softmax_cross_entropy": _softmax_cross_entropy,
    "binary_cross_entropy": _binary_cross_entropy,
    "mse": lambda node, xs, p, run: ((xs[0] - lax.stop_gradient(xs[1])) ** 2).mean(),
}
