"""rnn and lstm over N x T x F sequences: stacked (`layers`), `bidirectional`, and seq2seq via state.

`return: sequence` gives N x T x H (H doubled when bidirectional), `last` the final step N x H,
and `state` the final states of every layer and direction, concatenated: N x S with
S = layers * directions * H for rnn and twice that for lstm (h, then c). A decoder takes an
encoder's state through its optional second input `state`, which is how a sequence-to-sequence
model is written.

State layout, the same in and out (so truncated BPTT feeds one chunk's final state to the next
chunk): blocks of H columns, first h of every cell k = layer * directions + direction, then (lstm)
c of every cell in the same order; PyTorch's h_n, c_n flattened. The reverse direction reads the
sequence from t = T-1 down to 0, so its final state is the one after t = 0; `last` is the final
h of each direction of the top layer (fwd then rev), i.e. PyTorch's h_n[-directions:].
"""
from __future__ import annotations

import numpy as np

from ..errors import Problem
from ..types import TensorType
from .base import MAX_SIZE, Attr, Op, Param, expect_fixed, expect_float, register


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # the same function, and no exp to overflow (reference)


class Recurrent(Op):
    inputs = ("x", "state")
    min_inputs = 1
    gates = 1  # weight blocks per cell: 1 for rnn, 4 for lstm (input, forget, cell, output)
    states = 1  # state tensors per cell: h for rnn; h and c for lstm

    # 1. attributes
    def __init__(self, name):
        self.name = name
        self.attrs = {
            "units": Attr("int", low=1, high=MAX_SIZE, doc="hidden size H"),
            "layers": Attr("int", 1, low=1, high=64),
            "bidirectional": Attr("bool", False),
            "return": Attr("choice", "sequence", choices=("sequence", "last", "state")),
        }

    def state_size(self, a):
        return a["layers"] * self.directions(a) * self.states * a["units"]

    @staticmethod
    def directions(a):
        return 2 if a["bidirectional"] else 1

    # 2. shape rule
    def infer(self, node, xs):
        x = xs[0]
        expect_float(node, x)
        if x.rank != 3:
            node.fail(f"expects a sequence N x T x features, found {x}",
                      "one_hot or embedding turns token ids into N x T x features")
        expect_fixed(node, x, (2,), "the feature axis")
        a = node.attrs
        if len(xs) > 1:
            s = xs[1]
            need = self.state_size(a)
            if s.rank != 2 or s.shape[1] != need:
                node.fail(f"the initial state is {s}, but {a['layers']} layer(s) x {self.directions(a)} "
                          f"direction(s) x {self.states} state(s) x {a['units']} units needs N x {need}",
                          "feed the 'return: state' output of an encoder with the same units and layers")
        h = a["units"] * self.directions(a)
        if a["return"] == "sequence":
            return TensorType(x.dtype, ("N", x.shape[1], h))
        if a["return"] == "last":
            return TensorType(x.dtype, ("N", h))
        return TensorType(x.dtype, ("N", self.state_size(a)))

    # 3. parameters: per layer and direction, input weights, recurrent weights and a bias
    def params(self, node, xs):
        a = node.attrs
        H, G = a["units"], self.gates * a["units"]
        out = {}
        for prefix, fan_in in self.cells(a, xs[0].shape[2]):
            out[prefix + "wx"] = Param((fan_in, G), "glorot_uniform", fan_in=fan_in, fan_out=G)
            out[prefix + "wh"] = Param((H, G), "orthogonal", fan_in=H, fan_out=G)
            out[prefix + "b"] = self.bias_param(a)
            out.update(self.extra_params(prefix, a))
        return out

    def cells(self, a, features):
        """(parameter name prefix, input size) for every layer and direction."""
        many = a["layers"] > 1 or a["bidirectional"]
        out = []
        for layer in range(a["layers"]):
            fan_in = features if layer == 0 else a["units"] * self.directions(a)
            for d in range(self.directions(a)):
                prefix = (f"l{layer}_" if many else "") + ("rev_" if d else ("fwd_" if a["bidirectional"] else ""))
                out.append((prefix, fan_in))
        return out

    def bias_param(self, a):
        return Param((self.gates * a["units"],), "zeros")

    def extra_params(self, prefix, a):
        return {}

    # 4. reference: step by step in NumPy, layer by layer, fwd then rev
    def reference(self, node, xs, params):
        a = node.attrs
        x = xs[0]
        N, T, H, D = x.shape[0], x.shape[1], a["units"], self.directions(a)
        cells = self.cells(a, x.shape[2])
        K = len(cells)
        s0 = xs[1] if len(xs) > 1 else np.zeros((N, self.state_size(a)), x.dtype)
        final = [s0[:, j * H:(j + 1) * H] for j in range(self.states * K)]  # start, then end
        seq = x
        for layer in range(a["layers"]):
            outs = []
            for d in range(D):
                k = layer * D + d
                prefix = cells[k][0]
                p = {n: params[prefix + n] for n in ("wx", "wh", "b", "peep") if prefix + n in params}
                state = [final[k + m * K] for m in range(self.states)]
                hs = np.zeros((N, T, H), x.dtype)
                for t in (range(T - 1, -1, -1) if d else range(T)):
                    state = self.step(a, p, seq[:, t], state)
                    hs[:, t] = state[0]
                for m in range(self.states):
                    final[k + m * K] = state[m]
                outs.append(hs)
            seq = np.concatenate(outs, axis=2)
        if a["return"] == "sequence":
            return seq
        if a["return"] == "last":
            return np.concatenate(final[K - D:K], axis=1)
        return np.concatenate(final, axis=1)

    def step(self, a, p, x, state):
        raise NotImplementedError

    # 5. kernels bound: one forward kernel call per layer and direction, then BPTT top layer first
    def workspace(self, node, xs, y):
        from numba import config

        a = node.attrs
        H, G, D, L = a["units"], self.gates * a["units"], self.directions(a), a["layers"]
        K, F, dt = L * D, xs[0].shape[2], y.dtype
        S = self.states * K
        ws = {
            "gates": ((K, "N", "T", G), dt),  # saved: gate activations (rnn: h_t itself)
            "hprev": ((K, "N", "T", H), dt),  # saved: h_{t-1}, the left side of wh's gradient
            "s0": ((S, "N", H), dt),  # initial states, one N x H block per cell and state
            "sN": ((S, "N", H), dt),  # running, then final states
            "z": (("N", G), dt),  # h_{t-1} wh of one step
            "gs": ((S, "N", H), dt),  # gradient of the final, then of the initial states
            "dz": (("N", "T", G), dt),  # gradient of the pre-activations of one cell
            "dzt": (("N", G), dt),
            "gseq": ((L, "N", "T", D * H), dt),  # gradient of each layer's output sequence
            "tmp_x": (("N", "T", max(F, D * H)), dt),  # a layer input's gradient before it is added
            # wx's or wh's gradient before it is added: a partial sum per chunk of rows, one chunk per
            # Numba thread (netc/kernels/recurrent.py, recurrent_vjp_w)
            "tmp_w": ((config.NUMBA_NUM_THREADS, max(F, D * H), G), dt),
            "dtmp": (("N", "T", G), dt),  # forward mode: one term of dz before it is added
        }
        # layer outputs; a returned sequence goes straight into y
        n_seq = L - 1 if a["return"] == "sequence" else L
        if n_seq:
            ws["seq"] = ((n_seq, "N", "T", D * H), dt)
        ws.update(self.cell_workspace(a, K, dt))
        return ws

    def cell_workspace(self, a, K, dt):
        return {}

    def _cells(self, a):
        """(k, layer, direction, parameter prefix) for every cell, layer by layer."""
        D = self.directions(a)
        return [(k, k // D, k % D, prefix) for k, (prefix, _) in enumerate(self.cells(a, 0))]

    def _xin(self, a, e, layer):
        return e.x[0] if layer == 0 else f"{e.ws['seq']}[{layer - 1}]"

    def emit_forward(self, node, e):
        a = node.attrs
        D, L = self.directions(a), a["layers"]
        K = L * D
        if len(e.x) > 1:
            lines = [f"recurrent_state_in({e.x[1]}, {e.ws['s0']}, 0)"]
        else:
            lines = [f"recurrent_zero({e.ws['s0']})"]
        for k, layer, d, prefix in self._cells(a):
            top = layer == L - 1
            out = e.y if top and a["return"] == "sequence" else f"{e.ws['seq']}[{layer}]"
            lines.append(self.emit_cell_fwd(a, e, prefix, k, K, d, self._xin(a, e, layer), out))
        if a["return"] == "last":
            lines.append(f"recurrent_state_out({e.ws['sN']}, {K - D}, {e.y}, False)")
        elif a["return"] == "state":
            lines.append(f"recurrent_state_out({e.ws['sN']}, 0, {e.y}, False)")
        return lines

    def emit_vjp(self, node, e):
        a = node.attrs
        D, L = self.directions(a), a["layers"]
        K = L * D
        ws = e.ws
        lines = [f"recurrent_zero({ws['gs']})"]
        if a["return"] == "state":
            lines.append(f"recurrent_state_in({e.gy}, {ws['gs']}, 0)")
        elif a["return"] == "last":
            lines.append(f"recurrent_state_in({e.gy}, {ws['gs']}, {K - D})")
        for k, layer, d, prefix in reversed(self._cells(a)):
            top = layer == L - 1
            if top and a["return"] == "sequence":
                gout = e.gy
            else:
                gout = f"{ws['gseq']}[{layer}]"
                if top and d == D - 1:
                    lines.append(f"recurrent_zero({gout})")  # only the final state has a gradient
            if layer > 0:
                gxin = f"{ws['gseq']}[{layer - 1}]"
                if d == D - 1:
                    lines.append(f"recurrent_zero({gxin})")
            else:
                gxin = e.gx[0]
            lines += self.emit_cell_vjp(a, e, prefix, k, K, d, gout)
            # ws dz now holds this cell's pre-activation gradient: the rest are GEMMs over all steps
            gwx, gwh, gb = (e.gp.get(prefix + n) for n in ("wx", "wh", "b"))
            if gxin:
                lines.append(f"recurrent_vjp_x({ws['dz']}, {e.p[prefix + 'wx']}, {gxin}, {ws['tmp_x']})")
            if gwx:
                lines.append(f"recurrent_vjp_w({self._xin(a, e, layer)}, {ws['dz']}, {gwx}, {ws['tmp_w']})")
            if gwh:
                lines.append(f"recurrent_vjp_w({ws['hprev']}[{k}], {ws['dz']}, {gwh}, {ws['tmp_w']})")
            if gb:
                lines.append(f"recurrent_vjp_b({ws['dz']}, {gb})")
        if len(e.x) > 1 and e.gx[1]:
            lines.append(f"recurrent_state_out({ws['gs']}, 0, {e.gx[1]}, True)")
        return lines

    def emit_jvp(self, node, e):
        """Tangents cell by cell in the forward's order. Scratch of the VJP serves: gs holds the
        running state tangents (initial, then final, per cell), gseq[layer] each layer's output
        tangent, dz a cell's non-recurrent pre-activation terms (netc/kernels/recurrent_jvp.py)."""
        a = node.attrs
        D, L = self.directions(a), a["layers"]
        K = L * D
        ws = e.ws
        if len(e.x) > 1 and e.dx[1]:
            lines = [f"recurrent_state_in({e.dx[1]}, {ws['gs']}, 0)"]
        else:
            lines = [f"recurrent_zero({ws['gs']})"]
        for k, layer, d, prefix in self._cells(a):
            top = layer == L - 1
            dout = e.dy if top and a["return"] == "sequence" else f"{ws['gseq']}[{layer}]"
            dxin = e.dx[0] if layer == 0 else f"{ws['gseq']}[{layer - 1}]"
            dwx, dwh, db = (e.dp.get(prefix + n) for n in ("wx", "wh", "b"))
            terms = []  # dx wx + x dwx + h_{t-1} dwh, over all steps at once
            if dxin:
                terms.append((dxin, e.p[prefix + "wx"]))
            if dwx:
                terms.append((self._xin(a, e, layer), dwx))
            if dwh:
                terms.append((f"{ws['hprev']}[{k}]", dwh))
            for i, (lhs, w) in enumerate(terms):
                lines.append(f"recurrent_jvp_gemm({lhs}, {w}, {ws['dz']}, {ws['dtmp']}, {i > 0})")
            if db:
                lines.append(f"recurrent_jvp_b({db}, {ws['dz']}, {bool(terms)})")
            elif not terms:
                lines.append(f"recurrent_zero({ws['dz']})")
            lines.append(self.emit_cell_jvp(a, e, prefix, k, K, d, dout))
        if a["return"] == "last":
            lines.append(f"recurrent_state_out({ws['gs']}, {K - D}, {e.dy}, False)")
        elif a["return"] == "state":
            lines.append(f"recurrent_state_out({ws['gs']}, 0, {e.dy}, False)")
        return lines

    # 6. multiply-adds per time step
    def macs(self, node, xs, y):
        a = node.attrs
        return sum(self.gates * a["units"] * (fan_in + a["units"]) for _, fan_in in self.cells(a, xs[0].shape[2]))

    def label(self, a):
        text = f"{self.name} {a['units']}"
        if a["layers"] > 1:
            text += f" x{a['layers']}"
        if a["bidirectional"]:
            text += " bidir"
        if a.get("peephole"):
            text += " peephole"
        return text

    # 7. second order: BPTT in NumPy over (value, tangent) pairs, i.e. forward mode through the
    #    reverse pass: every line of the backward has a dotted twin d*. gy is held fixed, so the
    #    seeds of the reverse pass have zero tangents. The loops over layers, directions and time
    #    are shared; the cell (its step and the step's backward) comes from the subclass through
    #    cell_tangent and cell_back_tangent. Everything is recomputed from xs and params (the
    #    workspace layout belongs to the kernels).
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        a = node.attrs
        x = np.asarray(xs[0], np.float64)
        N, T, H, D, L = x.shape[0], x.shape[1], a["units"], self.directions(a), a["layers"]
        cells = self.cells(a, x.shape[2])
        K, S = len(cells), self.states
        p_all = {k: np.asarray(v, np.float64) for k, v in params.items()}
        dp_all = {k: _tangent(dps.get(k), v) for k, v in p_all.items()}
        if len(xs) > 1:
            s0 = np.asarray(xs[1], np.float64)
            ds0 = _tangent(dxs[1], s0)
        else:
            s0 = ds0 = np.zeros((N, self.state_size(a)))
        # running states per block j = m * K + k (state m of cell k), as in the state layout
        final = [s0[:, j * H:(j + 1) * H] for j in range(S * K)]
        dfinal = [ds0[:, j * H:(j + 1) * H] for j in range(S * K)]

        # forward, with tangents: every layer's input sequence and every cell's per-step tape
        seqs = [(x, _tangent(dxs[0], x))]
        tapes = []
        for layer in range(L):
            seq, dseq = seqs[layer]
            outs, douts = [], []
            for d in range(D):
                k = layer * D + d
                p, dp = self._cell_params(cells[k][0], p_all, dp_all)
                zx = seq @ p["wx"] + p["b"]
                dzx = dseq @ p["wx"] + seq @ dp["wx"] + dp["b"]
                state = [final[k + m * K] for m in range(S)]
                dstate = [dfinal[k + m * K] for m in range(S)]
                hs, dhs = np.zeros((N, T, H)), np.zeros((N, T, H))
                tape = []  # (t, state before the step, its tangent, the cell's cache)
                for t in (range(T - 1, -1, -1) if d else range(T)):
                    z = zx[:, t] + state[0] @ p["wh"]
                    dz = dzx[:, t] + dstate[0] @ p["wh"] + state[0] @ dp["wh"]
                    new, dnew, cache = self.cell_tangent(a, p, dp, z, dz, state, dstate)
                    tape.append((t, state, dstate, cache))
                    state, dstate = new, dnew
                    hs[:, t], dhs[:, t] = state[0], dstate[0]
                for m in range(S):
                    final[k + m * K], dfinal[k + m * K] = state[m], dstate[m]
                tapes.append(tape)
                outs.append(hs)
                douts.append(dhs)
            seqs.append((np.concatenate(outs, axis=2), np.concatenate(douts, axis=2)))

        # seeds: gy reaches the top layer's sequence or some final states
        gy = np.asarray(gy, np.float64)
        gfinal = [np.zeros((N, H)) for _ in range(S * K)]
        gseq = np.zeros((N, T, D * H))
        if a["return"] == "sequence":
            gseq = gy
        else:
            first = K - D if a["return"] == "last" else 0
            for j in range(gy.shape[1] // H):
                gfinal[first + j] = gy[:, j * H:(j + 1) * H]
        dgfinal = [np.zeros((N, H)) for _ in range(S * K)]
        dgseq = np.zeros((N, T, D * H))

        # reverse, with tangents: top layer first, each cell back through its tape
        dgp = {}
        for layer in range(L - 1, -1, -1):
            seq, dseq = seqs[layer]
            gin, dgin = np.zeros_like(seq), np.zeros_like(seq)
            for d in range(D):
                k = layer * D + d
                prefix = cells[k][0]
                p, dp = self._cell_params(prefix, p_all, dp_all)
                gout, dgout = gseq[:, :, d * H:(d + 1) * H], dgseq[:, :, d * H:(d + 1) * H]
                g = [gfinal[k + m * K] for m in range(S)]
                dg = [dgfinal[k + m * K] for m in range(S)]
                gz_all, dgz_all = np.zeros((N, T, self.gates * H)), np.zeros((N, T, self.gates * H))
                hprev, dhprev = np.zeros((N, T, H)), np.zeros((N, T, H))
                for t, prev, dprev, cache in reversed(tapes[k]):
                    g[0], dg[0] = g[0] + gout[:, t], dg[0] + dgout[:, t]
                    gz, dgz, g, dg, dextra = self.cell_back_tangent(a, p, dp, cache, prev, dprev, g, dg)
                    for n, v in dextra.items():
                        dgp[prefix + n] = dgp.get(prefix + n, 0) + v
                    # h_{t-1} reaches the step only through z = x wx + h_{t-1} wh + b
                    g[0] = gz @ p["wh"].T
                    dg[0] = dgz @ p["wh"].T + gz @ dp["wh"].T
                    gz_all[:, t], dgz_all[:, t] = gz, dgz
                    hprev[:, t], dhprev[:, t] = prev[0], dprev[0]
                for m in range(S):  # now the gradient of the cell's initial states
                    gfinal[k + m * K], dgfinal[k + m * K] = g[m], dg[m]
                # the linear part over all steps at once: only the tangents are returned
                dgp[prefix + "wx"] = _outer_steps(dseq, gz_all) + _outer_steps(seq, dgz_all)
                dgp[prefix + "wh"] = _outer_steps(dhprev, gz_all) + _outer_steps(hprev, dgz_all)
                dgp[prefix + "b"] = dgz_all.sum(axis=(0, 1))
                gin += gz_all @ p["wx"].T
                dgin += dgz_all @ p["wx"].T + gz_all @ dp["wx"].T
            gseq, dgseq = gin, dgin

        gxs = [dgseq]
        if len(xs) > 1:
            gxs.append(np.concatenate(dgfinal, axis=1))
        gps = {k: v for k, v in dgp.items() if node.params[k].trainable}
        return gxs, gps

    @staticmethod
    def _cell_params(prefix, p_all, dp_all):
        """One cell's parameters and their tangents, without the prefix."""
        names = [n for n in ("wx", "wh", "b", "peep") if prefix + n in p_all]
        return {n: p_all[prefix + n] for n in names}, {n: dp_all[prefix + n] for n in names}

    def cell_tangent(self, a, p, dp, z, dz, state, dstate):
        """One step from the pre-activation z = x wx + h wh + b and the state before it, with
        tangents: (new state, its tangent, a cache for cell_back_tangent)."""
        raise NotImplementedError

    def cell_back_tangent(self, a, p, dp, cache, prev, dprev, g, dg):
        """One step back: from the gradient g (tangent dg) of the state after the step, the
        gradient of z, the gradient of the state before it except h's path through z (filled in
        by the caller), their tangents, and the tangents of the cell's own parameters' gradients."""
        raise NotImplementedError


class RNN(Recurrent):
    gates = 1
    states = 1

    def __init__(self):
        super().__init__("rnn")
        self.attrs["activation"] = Attr("choice", "tanh", choices=("tanh", "relu"))

    def step(self, a, p, x, state):
        z = x @ p["wx"] + state[0] @ p["wh"] + p["b"]
        return [np.maximum(z, 0) if a["activation"] == "relu" else np.tanh(z)]

    def emit_cell_fwd(self, a, e, prefix, k, K, d, xin, out):
        ws = e.ws
        wx, wh, b = (e.p[prefix + n] for n in ("wx", "wh", "b"))
        relu = a["activation"] == "relu"
        return (f"rnn_fwd({xin}, {wx}, {wh}, {b}, {relu}, {ws['s0']}[{k}], {bool(d)}, "
                f"{d * a['units']}, {out}, {ws['sN']}[{k}], {ws['gates']}[{k}], {ws['hprev']}[{k}], {ws['z']})")

    def emit_cell_vjp(self, a, e, prefix, k, K, d, gout):
        ws = e.ws
        relu = a["activation"] == "relu"
        return [f"rnn_vjp_cell({gout}, {d * a['units']}, {bool(d)}, {e.p[prefix + 'wh']}, {relu}, "
                f"{ws['gates']}[{k}], {ws['gs']}[{k}], {ws['dz']}, {ws['dzt']})"]

    def emit_cell_jvp(self, a, e, prefix, k, K, d, dout):
        ws = e.ws
        relu = a["activation"] == "relu"
        return (f"rnn_jvp_cell({ws['dz']}, {e.p[prefix + 'wh']}, {relu}, {ws['gates']}[{k}], {bool(d)}, "
                f"{d * a['units']}, {ws['gs']}[{k}], {dout}, {ws['z']})")

    # 7. second order: the cell for Recurrent.vjp_tangent
    def cell_tangent(self, a, p, dp, z, dz, state, dstate):
        if a["activation"] == "relu":
            slope = (z > 0).astype(np.float64)  # relu'' is zero: the slope does not move
            h = z * slope
            return [h], [slope * dz], (slope, np.zeros_like(z))
        h = np.tanh(z)
        slope = 1 - h * h
        dh = slope * dz
        return [h], [dh], (slope, -2 * h * dh)  # tanh'' dz = -2 h dh

    def cell_back_tangent(self, a, p, dp, cache, prev, dprev, g, dg):
        slope, dslope = cache
        gz = g[0] * slope
        dgz = dg[0] * slope + g[0] * dslope
        return gz, dgz, [None], [None], {}


class LSTM(Recurrent):
    """Gates in the order input, forget, cell, output; peepholes connect c to i, f (c_{t-1}) and o (c_t)."""

    gates = 4
    states = 2

    def __init__(self):
        super().__init__("lstm")
        self.attrs["peephole"] = Attr("bool", False)
        self.attrs["forget_bias"] = Attr("float", 1.0, doc="initial forget-gate bias: remember by default")

    def bias_param(self, a):
        return Param((4 * a["units"],), "forget_bias", value=a["forget_bias"])

    def extra_params(self, prefix, a):
        if not a["peephole"]:
            return {}
        return {prefix + "peep": Param((3, a["units"]), "zeros")}

    def check_attrs(self, a):
        if a["forget_bias"] < -100 or a["forget_bias"] > 100:
            raise Problem("forget_bias must lie between -100 and 100")

    def step(self, a, p, x, state):
        h, c = state
        H = h.shape[1]
        z = x @ p["wx"] + h @ p["wh"] + p["b"]
        zi, zf, zg, zo = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
        if a["peephole"]:
            zi = zi + p["peep"][0] * c
            zf = zf + p["peep"][1] * c
        c = _sigmoid(zf) * c + _sigmoid(zi) * np.tanh(zg)
        if a["peephole"]:
            zo = zo + p["peep"][2] * c
        return [_sigmoid(zo) * np.tanh(c), c]

    def cell_workspace(self, a, K, dt):
        H = a["units"]
        return {"cs": ((K, "N", "T", H), dt),  # saved: c_t
                "wt": ((4 * H, H), dt)}  # wh^T: the per-step GEMM's operand (forward, or BPTT in tiles)

    def emit_cell_fwd(self, a, e, prefix, k, K, d, xin, out):
        ws = e.ws
        wx, wh, b = (e.p[prefix + n] for n in ("wx", "wh", "b"))
        peep = e.p[prefix + "peep"] if a["peephole"] else wh  # a stand-in of the same type, never read
        return (f"lstm_fwd({xin}, {wx}, {wh}, {b}, {peep}, {a['peephole']}, "
                f"{ws['s0']}[{k}], {ws['s0']}[{K + k}], {bool(d)}, {d * a['units']}, {out}, "
                f"{ws['sN']}[{k}], {ws['sN']}[{K + k}], {ws['gates']}[{k}], {ws['hprev']}[{k}], "
                f"{ws['cs']}[{k}], {ws['z']}, {ws['wt']})")

    def emit_cell_vjp(self, a, e, prefix, k, K, d, gout):
        ws = e.ws
        wh = e.p[prefix + "wh"]
        peep = e.p[prefix + "peep"] if a["peephole"] else wh
        lines = [f"lstm_vjp_cell({gout}, {d * a['units']}, {bool(d)}, {wh}, {peep}, {a['peephole']}, "
                 f"{ws['gates']}[{k}], {ws['cs']}[{k}], {ws['s0']}[{K + k}], {ws['gs']}[{k}], "
                 f"{ws['gs']}[{K + k}], {ws['dz']}, {ws['dzt']}, {ws['wt']})"]
        if a["peephole"] and e.gp.get(prefix + "peep"):
            lines.append(f"lstm_vjp_peep({ws['dz']}, {ws['cs']}[{k}], {ws['s0']}[{K + k}], {bool(d)}, "
                         f"{e.gp[prefix + 'peep']})")
        return lines

    def emit_cell_jvp(self, a, e, prefix, k, K, d, dout):
        ws = e.ws
        wh = e.p[prefix + "wh"]
        peep = e.p[prefix + "peep"] if a["peephole"] else wh  # stand-ins of the same type, never read
        dpeep = e.dp.get(prefix + "peep") if a["peephole"] else None
        return (f"lstm_jvp_cell({ws['dz']}, {wh}, {peep}, {dpeep or wh}, {a['peephole']}, {bool(dpeep)}, "
                f"{ws['gates']}[{k}], {ws['cs']}[{k}], {ws['s0']}[{K + k}], {bool(d)}, {d * a['units']}, "
                f"{ws['gs']}[{k}], {ws['gs']}[{K + k}], {dout}, {ws['z']})")


    # 7. second order: the cell for Recurrent.vjp_tangent, the step above with tangents
    def cell_tangent(self, a, p, dp, z, dz, state, dstate):
        (h, c), (dh, dc) = state, dstate
        H = h.shape[1]
        zi, zf, zg, zo = (z[:, j * H:(j + 1) * H] for j in range(4))
        dzi, dzf, dzg, dzo = (dz[:, j * H:(j + 1) * H] for j in range(4))
        if a["peephole"]:
            P, dP = p["peep"], dp["peep"]
            zi, dzi = zi + P[0] * c, dzi + dP[0] * c + P[0] * dc
            zf, dzf = zf + P[1] * c, dzf + dP[1] * c + P[1] * dc
        i, f, g = _sigmoid(zi), _sigmoid(zf), np.tanh(zg)
        di, df, dg = i * (1 - i) * dzi, f * (1 - f) * dzf, (1 - g * g) * dzg
        c_new = f * c + i * g
        dc_new = df * c + f * dc + di * g + i * dg
        if a["peephole"]:
            zo, dzo = zo + P[2] * c_new, dzo + dP[2] * c_new + P[2] * dc_new
        o = _sigmoid(zo)
        do = o * (1 - o) * dzo
        tc = np.tanh(c_new)
        dtc = (1 - tc * tc) * dc_new
        cache = (i, di, f, df, g, dg, o, do, c_new, dc_new, tc, dtc)
        return [o * tc, c_new], [do * tc + o * dtc, dc_new], cache

    def cell_back_tangent(self, a, p, dp, cache, prev, dprev, g, dg):
        i, di, f, df, gg, dgg, o, do, c, dc, tc, dtc = cache  # gg: the cell gate's value g
        c_prev, dc_prev = prev[1], dprev[1]
        (gh, gc), (dgh, dgc) = g, dg
        go, dgo = gh * tc, dgh * tc + gh * dtc
        gtc, dgtc = gh * o, dgh * o + gh * do
        gc, dgc = gc + gtc * (1 - tc * tc), dgc + dgtc * (1 - tc * tc) - 2 * gtc * tc * dtc
        gzo, dgzo = _sigmoid_back(go, dgo, o, do)
        dextra = {}
        if a["peephole"]:
            P, dP = p["peep"], dp["peep"]
            dgpeep = np.zeros_like(P)
            gc, dgc = gc + gzo * P[2], dgc + dgzo * P[2] + gzo * dP[2]
            dgpeep[2] = (dgzo * c + gzo * dc).sum(axis=0)
        gi, dgi = gc * gg, dgc * gg + gc * dgg
        gf, dgf = gc * c_prev, dgc * c_prev + gc * dc_prev
        ggate, dggate = gc * i, dgc * i + gc * di
        gc_prev, dgc_prev = gc * f, dgc * f + gc * df
        gzi, dgzi = _sigmoid_back(gi, dgi, i, di)
        gzf, dgzf = _sigmoid_back(gf, dgf, f, df)
        gzg, dgzg = ggate * (1 - gg * gg), dggate * (1 - gg * gg) - 2 * ggate * gg * dgg
        if a["peephole"]:
            gc_prev = gc_prev + gzi * P[0] + gzf * P[1]
            dgc_prev = dgc_prev + dgzi * P[0] + gzi * dP[0] + dgzf * P[1] + gzf * dP[1]
            dgpeep[0] = (dgzi * c_prev + gzi * dc_prev).sum(axis=0)
            dgpeep[1] = (dgzf * c_prev + gzf * dc_prev).sum(axis=0)
            dextra["peep"] = dgpeep
        gz = np.concatenate([gzi, gzf, gzg, gzo], axis=1)
        dgz = np.concatenate([dgzi, dgzf, dgzg, dgzo], axis=1)
        return gz, dgz, [None, gc_prev], [None, dgc_prev], dextra


register(RNN())
register(LSTM())


# second-order helpers ----------------------------------------------------------------------------

def _tangent(d, like):
    """A tangent as float64, zero where it is None."""
    return np.zeros(np.shape(like)) if d is None else np.asarray(d, np.float64)


def _outer_steps(u, v):
    """sum over examples and steps of u_t^T v_t: a weight's gradient from N x T x a and N x T x b."""
    return u.reshape(-1, u.shape[-1]).T @ v.reshape(-1, v.shape[-1])


def _sigmoid_back(g, dg, s, ds):
    """The gradient through s = sigmoid(z), and its tangent: sigmoid'' dz = (1 - 2 s) ds."""
    return g * s * (1 - s), dg * s * (1 - s) + g * (1 - 2 * s) * ds
