"""batchnorm: normalise each channel (axis 1) over the batch and spatial axes; running stats for eval."""
from __future__ import annotations

import numpy as np

from .base import Attr, Op, Param, expect_fixed, expect_float, register
from .conv import flat


class BatchNorm(Op):
    name = "batchnorm"
    inputs = ("x",)
    # 1. attributes
    attrs = {
        "momentum": Attr("float", 0.1, low=0.0, high=1.0, doc="weight of the new batch in the running stats"),
        "eps": Attr("float", 1e-5, low=0.0),
    }

    # 2. shape rule
    def infer(self, node, xs):
        (x,) = xs
        expect_float(node, x)
        if x.rank < 2:
            node.fail(f"expects N x C (x spatial...), found {x}")
        expect_fixed(node, x, (1,), "the channel axis")
        return x

    # 3. parameters
    def params(self, node, xs):
        c = xs[0].shape[1]
        return {
            "gamma": Param((c,), "ones"),
            "beta": Param((c,), "zeros"),
            "running_mean": Param((c,), "zeros", trainable=False),
            "running_var": Param((c,), "ones", trainable=False),
        }

    # 4. reference: eval mode (running statistics) by default; training=True uses the batch's
    #    statistics. It does not update the running statistics (the kernel does).
    def reference(self, node, xs, params, training=False):
        x = xs[0]
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
        else:
            mean, var = params["running_mean"], params["running_var"]
        xhat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + node.attrs["eps"])
        return (xhat * params["gamma"].reshape(shape) + params["beta"].reshape(shape)).astype(x.dtype)

    # 5. kernels bound: x viewed as N x C x S; `training` is the run-time mode
    def workspace(self, node, xs, y):
        c = (xs[0].shape[1],)
        # mean and 1/std the forward used, for the VJP; `unused` takes a frozen gamma's or beta's gradient
        return {"mean": (c, y.dtype), "invstd": (c, y.dtype), "unused": (c, y.dtype)}

    def fuses_activation(self, node, act):
        return act == "relu"

    def emit_forward(self, node, e):
        p, a = e.p, node.attrs
        return [f"batchnorm_fwd({flat(e.x[0])}, {p['gamma']}, {p['beta']}, {p['running_mean']}, "
                f"{p['running_var']}, {flat(e.y)}, {e.ws['mean']}, {e.ws['invstd']}, {e.lit(a['eps'])}, "
                f"{e.lit(a['momentum'])}, training, {e.act == 'relu'})"]

    def emit_vjp(self, node, e):
        gx, gg, gb = e.gx[0], e.gp.get("gamma"), e.gp.get("beta")
        if not (gx or gg or gb):
            return []
        # one kernel: the sums the input's and the parameters' gradients share read x and gy once;
        # a frozen gamma's or beta's gradient goes to `unused`, a missing gx is None
        mask = flat(e.mask) if e.mask else None  # a fused relu's output (netc/plan.py)
        return [f"batchnorm_vjp({flat(e.x[0])}, {flat(e.gy)}, {mask}, {e.p['gamma']}, {e.ws['mean']}, "
                f"{e.ws['invstd']}, {flat(gx) if gx else None}, {gg or e.ws['unused']}, {gb or e.ws['unused']}, "
                f"training, {e.accumulate(0)})"]

    def writes_gradient(self, node, slot):
        return True

    def emit_jvp(self, node, e):
        # the running statistics carry no tangent; a zero tangent passes a flag and a stand-in array
        p, dx = e.p, e.dx[0]
        dg, db = e.dp.get("gamma"), e.dp.get("beta")
        if not (dx or dg or db):
            return [f"fill_value({e.dy}, F(0))"]
        x = flat(e.x[0])
        return [f"batchnorm_jvp({x}, {flat(dx) if dx else x}, {bool(dx)}, {p['gamma']}, {dg or p['gamma']}, "
                f"{bool(dg)}, {db or p['gamma']}, {bool(db)}, {e.ws['mean']}, {e.ws['invstd']}, {flat(e.dy)}, "
                f"training)"]

    # 6. multiply-adds
    def macs(self, node, xs, y):
        return y.size_per_example()

    # 7. second order. Per channel, over the N x S values (S: the spatial axes flattened), with
    #    xhat = (x - mean) * invstd and r = gy - mean(gy) - xhat * mean(gy * xhat), the VJP is
    #        gx = gamma * invstd * r (training),  gamma * invstd * gy (eval)
    #        ggamma = sum(gy * xhat),  gbeta = sum(gy)  (gbeta does not move: no second-order term).
    #    Training: mean and var are the batch's, var = mean((x - mean)^2), invstd = (var + eps)^-1/2, so
    #        d mean = mean(dx),  d var = 2 mean((x - mean) dx)  (the d mean term sums to zero),
    #        d invstd = -1/2 (var + eps)^-3/2 d var = -invstd^2 mean(xhat dx),
    #        d xhat = invstd * (dx - mean(dx) - xhat * mean(xhat dx))  (as the JVP kernel),
    #        d gx = (dgamma invstd + gamma d invstd) r - gamma invstd (d xhat mean(gy xhat) + xhat mean(gy d xhat)).
    #    Eval: the running statistics are constants, so gx does not depend on x and ggamma is affine in x:
    #        d gx = dgamma * invstd * gy,  d xhat = invstd * dx.
    #    Both modes: d ggamma = sum(gy * d xhat). mean and invstd come from the workspace the forward
    #    filled, so eps enters exactly as the kernels used it.
    def vjp_tangent(self, node, xs, params, y, gy, dxs, dps, dy, ws, training, vjp):
        x = xs[0]
        n, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n, c, -1)
        gy3 = np.asarray(gy).reshape(n, c, -1)
        dx3 = np.zeros_like(x3) if dxs[0] is None else dxs[0].reshape(n, c, -1)
        per_channel = (1, c, 1)
        mean = ws["mean"].reshape(per_channel)
        invstd = ws["invstd"].reshape(per_channel)
        gamma = params["gamma"].reshape(per_channel)
        dgamma = dps.get("gamma")
        dgamma = np.zeros(per_channel) if dgamma is None else dgamma.reshape(per_channel)

        def channel_mean(a):
            return a.mean(axis=(0, 2), keepdims=True)

        xhat = (x3 - mean) * invstd
        if training:
            xhat_dx = channel_mean(xhat * dx3)
            dinvstd = -invstd * invstd * xhat_dx
            dxhat = invstd * (dx3 - channel_mean(dx3) - xhat * xhat_dx)
            gy_xhat = channel_mean(gy3 * xhat)
            r = gy3 - channel_mean(gy3) - xhat * gy_xhat
            dgx = ((dgamma * invstd + gamma * dinvstd) * r
                   - gamma * invstd * (dxhat * gy_xhat + xhat * channel_mean(gy3 * dxhat)))
        else:
            dxhat = invstd * dx3
            dgx = dgamma * invstd * gy3
        gps = {}
        if node.params["gamma"].trainable:
            gps["gamma"] = (gy3 * dxhat).sum(axis=(0, 2))
        return [dgx.reshape(x.shape)], gps


register(BatchNorm())
