"""float32 conv, pool and batchnorm kernels (forward, VJP, JVP) compute in float32: the driver
below runs each once through its op's emitted lines; _ir.py searches their IR."""
from __future__ import annotations

import textwrap

from _ir import check_no_double

SCRIPT = textwrap.dedent('''
    import importlib, json, re
    import numpy as np
    import netc
    from netc.lower.emit import run_node

    rng = np.random.default_rng(0)
    LAYERS = [("[2, 7]", "{conv1d: {filters: 2, kernel: 3, pad: 2, dilation: 2}}"),  # columns (dilated)
              ("[3, 6, 6]", "{conv2d: {filters: 2, kernel: 3, stride: 2, rounding: ceil, bias: false}}"),  # by filters
              ("[2, 4, 4, 4]", "{conv3d: {filters: 2, kernel: 2}}"),
              ("[16, 5, 5]", "{conv2d: {filters: 2, kernel: 3, pad: 2, dilation: 2}}"),  # by rows (conv_fwd_rows)
              ("[16, 5, 5]", "{conv2d: {filters: 16, kernel: 3, pad: 1}}"),  # tiles (conv_vjp_x_flipped)
              ("[16, 7, 7]", "{conv2d: {filters: 16, kernel: 3, stride: 2}}"),  # tiles (conv_vjp_x_tiled)
              ("[2, 6, 6]", "{maxpool2d: {kernel: 3, stride: 2, pad: 1, rounding: ceil}}"),
              ("[2, 6, 6]", "{avgpool2d: {kernel: 3, stride: 2, pad: 1, rounding: ceil, count_include_pad: true}}"),
              ("[2, 6, 6]", "globalmaxpool2d"), ("[2, 6, 6]", "globalavgpool2d"), ("[2, 6, 6]", "batchnorm")]
    for shape, layer in LAYERS:
        g = netc.parse(f"netc: 1\\ninputs: {{x: {shape}}}\\nlayers: [{layer}]\\n", dtype="float32")
        node = [n for n in g.nodes() if n.op.name != "input"][0]
        x = rng.normal(size=(2,) + tuple(json.loads(shape))).astype("float32")
        params = {k: rng.uniform(0.5, 1.5, p.shape).astype("float32") for k, p in node.params.items()}
        gy = np.ones((2,) + node.type.shape[1:], "float32")
        dps = {k: rng.normal(size=p.shape).astype("float32") for k, p in params.items() if node.params[k].trainable}
        for training in (False, True):  # forward, JVP and VJP
            run_node(g, node.name, [x], params, gy=gy, training=training, dxs=[x.copy()], dps=dps)

''')


def test_conv_pool_batchnorm_float32_kernels_have_no_double(tmp_path):
    check_no_double(SCRIPT, ["conv", "tiles", "pool", "batchnorm", "conv_jvp", "pool_jvp", "batchnorm_jvp"], tmp_path,
                    at_least=25)
