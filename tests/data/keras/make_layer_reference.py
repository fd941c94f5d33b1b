"""Reference values of Keras 3's Dropout, ReLU, Softmax and Reshape layers (torch backend, float64), stored as JSON.

- dropout: the distinct output values and the kept fraction of Dropout(rate) on ones in training,
  and with noise_shape=(None, 1, features) whether the mask is shared along the steps.
- relu: ReLU(max_value, negative_slope, threshold) on points including every kink, and by torch
  autograd the gradient of sum(R * Y) at points away from the kinks.
- softmax: Softmax(axis) over a non-last axis, several axes and the last, with gradients.
- reshape: Reshape(target_shape) with and without -1: output shapes and values.

Run with a Python that has Keras 3 and torch:
    KERAS_BACKEND=torch python tests/data/keras/make_layer_reference.py
"""

import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras.src.backend.common import dtypes  # noqa: E402

keras.config.set_floatx("float64")
# Keras 3's type promotion maps float64 to float32 on every backend but TensorFlow (to follow JAX's
# default), so ops.matmul of two float64 tensors computes in float32 (errors near 1e-7). The
# references are meant in float64: keep float64 float64.
dtypes.BIT64_TO_BIT32_DTYPE.pop("float64", None)
rng = np.random.default_rng(7)


def value_and_grad(layer, X):
    """Keras's output of ``layer`` on ``X`` and, by autograd, the gradient of ``sum(R * Y)`` with ``R`` random."""
    x = torch.tensor(X, requires_grad=True)
    y = layer(x)
    R = rng.standard_normal(tuple(y.shape))
    (y * torch.tensor(R)).sum().backward()
    return {"X": X.tolist(), "Y": y.detach().numpy().tolist(), "R": R.tolist(), "dX": x.grad.numpy().tolist()}


dropout = []
for rate in (0.1, 0.3, 0.75):
    Y = keras.ops.convert_to_numpy(keras.layers.Dropout(rate, seed=3)(np.ones((4000, 5)), training=True))
    dropout.append({"rate": rate, "values": sorted(set(np.round(Y.ravel(), 12).tolist())), "kept": float((Y != 0).mean())})
shared = keras.ops.convert_to_numpy(keras.layers.Dropout(0.5, noise_shape=(None, 1, 6), seed=1)(np.ones((50, 4, 6)), training=True))
dropout_shared = {"rate": 0.5, "noise_shape": [None, 1, 6], "input_shape": [50, 4, 6],
                  "same_along_steps": bool((shared == shared[:, :1]).all()), "kept": float((shared != 0).mean())}
inference = keras.ops.convert_to_numpy(keras.layers.Dropout(0.5)(np.arange(6.0).reshape(2, 3), training=False))

kinks = np.array([-3.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 6.0, 7.0])
smooth = rng.uniform(-4, 8, size=(2, 16))
smooth = smooth[:, np.all(np.abs(smooth[..., None] - np.array([0.0, 0.5, 1.5, 2.0, 6.0])) > 1e-3, axis=(0, 2))]
relu = []
for max_value in (None, 1.5, 6.0):
    for negative_slope in (0.0, 0.3):
        for threshold in (0.0, 0.5, 2.0):
            kwargs = {"max_value": max_value, "negative_slope": negative_slope, "threshold": threshold}
            layer = keras.layers.ReLU(**kwargs)
            at_kinks = keras.ops.convert_to_numpy(layer(kinks[None]))[0]
            relu.append({"kwargs": kwargs, "kinks": kinks.tolist(), "Y_kinks": at_kinks.tolist(), **value_and_grad(layer, smooth)})

softmax = []
for axis, shape in ((1, (2, 3, 4)), (2, (2, 3, 4)), ((1, 2), (2, 3, 4)), (-1, (3, 5)), (-2, (2, 4, 3))):
    X = 3 * rng.standard_normal(shape)
    softmax.append({"axis": axis, **value_and_grad(keras.layers.Softmax(axis=axis), X)})
X = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0]])  # large logits: stable only after subtracting the max
softmax_large = {"X": X.tolist(), "Y": keras.ops.convert_to_numpy(keras.layers.Softmax()(X)).tolist()}

reshape = []
for target_shape, shape in (((-1, 2, 2), (2, 12)), ((3, 4), (2, 12)), ((4, -1), (2, 2, 3, 2)), ((-1,), (2, 3, 2)), ((2, 3, -1), (2, 6, 2))):
    X = np.arange(np.prod(shape), dtype=float).reshape(shape)
    layer = keras.layers.Reshape(target_shape)
    Y = keras.ops.convert_to_numpy(layer(X))
    reshape.append({"target_shape": list(target_shape), "X": X.tolist(), "Y": Y.tolist(),
                    "output_shape": list(layer.compute_output_shape((None,) + shape[1:]))})

reference = {
    "keras_version": keras.__version__, "backend": keras.backend.backend(),
    "dropout": dropout, "dropout_shared": dropout_shared, "dropout_inference": inference.tolist(),
    "relu": relu, "softmax": softmax, "softmax_large": softmax_large, "reshape": reshape,
}
Path(__file__).with_name("layer_reference.json").write_text(json.dumps(reference))
