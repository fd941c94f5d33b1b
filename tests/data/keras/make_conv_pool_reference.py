"""Reference outputs and gradients of Keras 3's convolution and pooling layers (torch backend, float64), stored as JSON.

Layers: Conv1D, Conv2D (dilation, "same", "causal", narrow and wide inputs), MaxPooling1D/2D,
AveragePooling1D/2D, GlobalAveragePooling1D (with and without a mask), GlobalMaxPooling1D,
GlobalAveragePooling2D, GlobalMaxPooling2D. For each case: the inputs X (small integers in the
"ties" cases, so that maxima tie), the weights set on the layer, a random projection R of the
output, the output Y, and by torch autograd the gradients of sum(R * Y) with respect to X and
to each weight. Also each layer's constructor signature (names, order, defaults).

Average pooling with "same" padding: Keras specifies that padded cells are not counted (the
mean over the window's cells inside the input; its TensorFlow, JAX and NumPy backends compute
so). Its torch backend pads an uneven padding with copies of the edge cells instead and counts
them, which differs where the padding is uneven and a window is longer than 2. For average
pooling Y and the gradients are therefore the specified mean, computed here with torch (zero
padding, sums divided by the count of real cells), and "Y_keras_torch" keeps what Keras on
torch returned; the two agree on every other case (checked here).

Run with a Python that has Keras 3 and torch:
    KERAS_BACKEND=torch python tests/data/keras/make_conv_pool_reference.py
"""

import inspect
import json
import math
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from keras.src.backend.common import dtypes  # noqa: E402

keras.config.set_floatx("float64")
# Keras 3 maps float64 to float32 in type promotion on every backend but TensorFlow, so float64
# convolutions would run in float32 (errors near 1e-7); the references are meant in float64.
dtypes.BIT64_TO_BIT32_DTYPE.pop("float64", None)

# (Keras class name, constructor arguments, one sample's shape, {"mask": ...} or {"ties": True} or {})
CASES = [
    ("Conv2D", {"filters": 3, "kernel_size": 3}, (5, 6, 2), {}),
    ("Conv2D", {"filters": 2, "kernel_size": (2, 3), "strides": 2, "padding": "same"}, (5, 7, 3), {}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (7, 6, 2), {}),
    ("Conv2D", {"filters": 2, "kernel_size": 2, "dilation_rate": (3, 1), "padding": "same", "activation": "tanh"}, (6, 5, 3), {}),
    ("Conv2D", {"filters": 3, "kernel_size": (3, 2), "dilation_rate": (1, 2), "activation": "relu"}, (6, 7, 2), {}),
    ("Conv2D", {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False}, (5, 6, 9), {}),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": (2, 1), "padding": "same", "activation": "sigmoid"}, (6, 6, 8), {}),
    ("Conv1D", {"filters": 3, "kernel_size": 3}, (7, 2), {}),
    ("Conv1D", {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, (7, 3), {}),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"}, (8, 2), {}),
    ("Conv1D", {"filters": 2, "kernel_size": 4, "dilation_rate": 2, "padding": "same", "activation": "relu"}, (9, 3), {}),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "causal"}, (7, 9), {}),
    ("Conv1D", {"filters": 2, "kernel_size": 2, "use_bias": False, "dilation_rate": 3}, (8, 8), {}),
    ("MaxPooling2D", {}, (4, 6, 2), {}),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (5, 6, 2), {}),
    ("MaxPooling2D", {"pool_size": (2, 3), "strides": 1, "padding": "same"}, (4, 5, 3), {}),
    ("MaxPooling2D", {"pool_size": 2, "strides": 1}, (5, 5, 2), {"ties": True}),
    ("MaxPooling1D", {}, (6, 2), {}),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (6, 3), {}),
    ("MaxPooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, (5, 2), {"ties": True}),
    ("AveragePooling2D", {"pool_size": 2}, (4, 6, 2), {}),
    ("AveragePooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, (5, 6, 2), {}),
    ("AveragePooling2D", {"pool_size": 2, "strides": 1, "padding": "same"}, (3, 4, 1), {}),
    ("AveragePooling2D", {"pool_size": (3, 4), "strides": (2, 1), "padding": "same"}, (6, 5, 3), {}),
    ("AveragePooling2D", {"pool_size": 2, "strides": 1}, (4, 4, 2), {}),
    ("AveragePooling1D", {"pool_size": 2}, (6, 2), {}),
    ("AveragePooling1D", {"pool_size": 4, "strides": 1, "padding": "same"}, (5, 3), {}),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (7, 2), {}),
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (8, 2), {}),
    ("GlobalAveragePooling1D", {}, (5, 3), {}),
    ("GlobalAveragePooling1D", {"keepdims": True}, (5, 3), {}),
    ("GlobalAveragePooling1D", {}, (5, 3), {"mask": [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1], [0, 0, 0, 0, 1]]}),
    ("GlobalAveragePooling1D", {"keepdims": True}, (5, 3), {"mask": [[1, 1, 0, 0, 0], [0, 1, 1, 1, 1], [1, 1, 1, 1, 0]]}),
    ("GlobalMaxPooling1D", {}, (5, 3), {}),
    ("GlobalMaxPooling1D", {"keepdims": True}, (5, 3), {"ties": True}),
    ("GlobalAveragePooling2D", {}, (4, 5, 3), {}),
    ("GlobalAveragePooling2D", {"keepdims": True}, (3, 4, 2), {}),
    ("GlobalMaxPooling2D", {}, (4, 5, 3), {}),
    ("GlobalMaxPooling2D", {"keepdims": True}, (3, 3, 2), {"ties": True}),
]


def tuple_of(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def same_padding(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def specified_average(x, kwargs, rank):
    """Keras's specified average pooling, channels last: zero padding, window sums over the count of real cells."""
    k = tuple_of(kwargs["pool_size"], rank)
    s = tuple_of(kwargs.get("strides") or kwargs["pool_size"], rank)
    first = x.movedim(-1, 1)  # channels first for torch
    ones = torch.ones_like(first[:1, :1])
    if kwargs.get("padding", "valid") == "same":
        pads = [same_padding(size, kk, ss) for size, kk, ss in zip(first.shape[2:], k, s)]
        flat = [p for pair in reversed(pads) for p in pair]  # torch: last axis first
        first, ones = F.pad(first, flat), F.pad(ones, flat)
    pool = F.avg_pool1d if rank == 1 else F.avg_pool2d
    sums = pool(first, k, s) * math.prod(k)
    counts = pool(ones, k, s) * math.prod(k)
    return (sums / counts).movedim(1, -1)


rng = np.random.default_rng(2025)
reference = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": [], "signatures": {}}
# each constructor's parameters in order, with their defaults ("<required>" for none; tuples as lists)
for name in sorted({case[0] for case in CASES}):
    parameters = list(inspect.signature(getattr(keras.layers, name).__init__).parameters.values())[1:]
    reference["signatures"][name] = [
        [p.name, "<required>" if p.default is p.empty else list(p.default) if isinstance(p.default, tuple) else p.default]
        for p in parameters if p.kind is not p.VAR_KEYWORD
    ]
for name, kwargs, shape, extra in CASES:
    n = len(extra["mask"]) if "mask" in extra else 2
    # inputs, weights and projections with 3 decimals: short in JSON, the outputs exact all the same
    X = rng.integers(-2, 3, (n,) + shape).astype(float) if extra.get("ties") else rng.standard_normal((n,) + shape).round(3)
    layer = getattr(keras.layers, name)(**kwargs, dtype="float64")
    layer.build((None,) + shape)
    weights = [(0.5 * rng.standard_normal(w.shape)).round(3) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = torch.tensor(X, requires_grad=True)
    mask = torch.tensor(extra["mask"], dtype=torch.bool) if "mask" in extra else None
    y = layer(x) if mask is None else layer(x, mask=mask)
    case = {"layer": name, "kwargs": kwargs, "mask": extra.get("mask"), "X": X.tolist(), "weights": [w.tolist() for w in weights]}
    if name.startswith("AveragePooling"):
        case["Y_keras_torch"] = y.detach().numpy().tolist()
        y = specified_average(x, kwargs, len(shape) - 1)
        agrees = np.allclose(case["Y_keras_torch"], y.detach().numpy(), rtol=0, atol=1e-12)
        k = tuple_of(kwargs["pool_size"], len(shape) - 1)
        s = tuple_of(kwargs.get("strides") or kwargs["pool_size"], len(shape) - 1)
        # copies of an edge cell change a mean only where the padding is uneven (torch's own padding is even)
        # and a window holds more than one real cell besides them
        uneven = kwargs.get("padding") == "same" and any(
            sum(pads) % 2 and kk > 2 for pads, kk in ((same_padding(size, kk, ss), kk) for size, kk, ss in zip(shape, k, s)))
        assert agrees or uneven, (name, kwargs, shape)
        case["keras_torch_agrees"] = bool(agrees)
    R = rng.standard_normal(tuple(y.shape)).round(3)
    (y * torch.tensor(R)).sum().backward()
    case.update({
        "R": R.tolist(),
        "Y": y.detach().numpy().tolist(),
        "dX": x.grad.numpy().tolist(),
        "dweights": [w.value.grad.numpy().tolist() for w in layer.trainable_weights],
        "weight_names": [w.path for w in layer.trainable_weights],
    })
    reference["cases"].append(case)
Path(__file__).with_name("conv_pool_reference.json").write_text(json.dumps(reference))
print(len(reference["cases"]), "cases;", sum(not c.get("keras_torch_agrees", True) for c in reference["cases"]),
      "where Keras on torch averages padded copies")
