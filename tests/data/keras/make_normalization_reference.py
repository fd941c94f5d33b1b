"""Reference values of keras.layers.BatchNormalization and LayerNormalization (Keras 3, torch backend, float64), as JSON.

BatchNormalization, for each case: weights [gamma, beta, moving_mean, moving_variance] (those the
layer has) set on a fresh layer, inputs X (and a mask where given), a random projection R, the
inference output Y_infer (moving statistics), then one training call: its output Y_train, by torch
autograd the gradients of sum(R * Y_train) with respect to X and to the trainable weights, and the
moving statistics after it; then two more training calls on X2 and X3 and the moving statistics
after those three steps. LayerNormalization, for each case: weights, X, R, Y and the gradients of
sum(R * Y). Run with a Python that has Keras 3 and torch:
    KERAS_BACKEND=torch python tests/data/keras/make_normalization_reference.py
"""

import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras.src.backend.common import dtypes  # noqa: E402
from keras.src.ops import nn as keras_nn  # noqa: E402

keras.config.set_floatx("float64")
# Keras 3's type promotion maps float64 to float32 on every backend but TensorFlow, so both layers'
# result_type(x.dtype, "float32") would compute float64 inputs in float32. Keep float64 float64
# (each output's dtype is checked below).
dtypes.BIT64_TO_BIT32_DTYPE.pop("float64", None)
warnings.filterwarnings("ignore", message=".*rms_scaling=True.*deprecated")  # Keras warns on each use of rms_scaling
# LayerNormalization on torch hands any contiguous axes to F.layer_norm, which only normalizes
# trailing axes (axis=-2 of a 3-D input raises). For axes that do not end with the last one, take
# the path every other backend takes (moments over the axes), as Keras's other backends compute it.
_continuous = keras_nn.is_continuous_axis

BATCH_CASES = [
    ({"input_shape": (6, 4)}, {}),
    ({"input_shape": (5, 3)}, {"momentum": 0.9, "epsilon": 0.01}),
    ({"input_shape": (5, 3)}, {"center": False}),
    ({"input_shape": (5, 3)}, {"scale": False}),
    ({"input_shape": (5, 3)}, {"center": False, "scale": False, "momentum": 0.5}),
    ({"input_shape": (3, 4, 5, 3)}, {}),  # after a Conv2D: channels last
    ({"input_shape": (3, 4, 5, 3)}, {"axis": 1, "momentum": 0.8}),
    ({"input_shape": (3, 4, 5, 3)}, {"axis": -2}),
    ({"input_shape": (4, 3, 2)}, {"axis": 1, "scale": False}),
    ({"input_shape": (4, 5, 3), "mask": [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0], [0, 0, 0, 0, 1]]}, {}),
    ({"input_shape": (3, 4, 2), "mask": [[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 0, 1]]}, {"momentum": 0.7, "center": False}),
]
LAYER_CASES = [
    ({"input_shape": (4, 5)}, {}),
    ({"input_shape": (3, 4, 5)}, {"axis": -2, "epsilon": 0.01}),
    ({"input_shape": (3, 4, 5)}, {"axis": [1, 2]}),
    ({"input_shape": (2, 3, 4, 2)}, {"axis": [1, 3]}),
    ({"input_shape": (2, 3, 4, 2)}, {"axis": [-1, -2, -3], "center": False}),
    ({"input_shape": (3, 4, 5)}, {"axis": -1, "scale": False}),
    ({"input_shape": (3, 4, 5)}, {"center": False, "scale": False}),
    ({"input_shape": (3, 4, 5)}, {"axis": 1, "rms_scaling": True}),
    ({"input_shape": (2, 3, 4, 2)}, {"axis": [2, 3], "rms_scaling": True}),
]

rng = np.random.default_rng(2025)


def weights_for(layer):
    """Random weights of the layer's shapes; a moving variance stays positive."""
    values = []
    for w in layer.weights:
        value = 0.5 + 0.5 * rng.random(w.shape) if "variance" in w.path else rng.standard_normal(w.shape)
        values.append(value)
    return values


def as_list(tensor):
    assert tensor.dtype == torch.float64, tensor.dtype
    return tensor.detach().numpy().tolist()


def batch_case(shape, kwargs, mask):
    layer = keras.layers.BatchNormalization(**kwargs, dtype="float64")
    layer.build((None,) + shape[1:])
    weights = weights_for(layer)
    layer.set_weights(weights)
    X, X2, X3 = (2.0 + 1.5 * rng.standard_normal(shape) for _ in range(3))
    m = None if mask is None else torch.tensor(mask, dtype=torch.bool)
    R = rng.standard_normal(shape)
    y_infer = layer(torch.tensor(X), training=False, mask=m)
    x = torch.tensor(X, requires_grad=True)
    y = layer(x, training=True, mask=m)
    (y * torch.tensor(R)).sum().backward()
    moving_after_one = [as_list(layer.moving_mean.value), as_list(layer.moving_variance.value)]
    for more in (X2, X3):
        layer(torch.tensor(more), training=True, mask=m)
    return {
        "kwargs": kwargs, "mask": mask, "weights": [w.tolist() for w in weights], "weight_names": [w.path for w in layer.weights],
        "X": X.tolist(), "X2": X2.tolist(), "X3": X3.tolist(), "R": R.tolist(),
        "Y_infer": as_list(y_infer), "Y_train": as_list(y), "dX": as_list(x.grad),
        "dweights": [as_list(w.value.grad) for w in layer.trainable_weights],
        "moving_after_one": moving_after_one,
        "moving_after_three": [as_list(layer.moving_mean.value), as_list(layer.moving_variance.value)],
    }


def layer_case(shape, kwargs):
    layer = keras.layers.LayerNormalization(**kwargs, dtype="float64")
    layer.build((None,) + shape[1:])
    weights = weights_for(layer)
    layer.set_weights(weights)
    X, R = rng.standard_normal(shape) * 2 + 0.5, rng.standard_normal(shape)
    x = torch.tensor(X, requires_grad=True)
    axes = sorted(a % len(shape) for a in np.atleast_1d(kwargs.get("axis", -1)))
    trailing = axes[-1] == len(shape) - 1
    keras_nn.is_continuous_axis = _continuous if trailing else (lambda axis: False)
    y = layer(x, training=True)
    keras_nn.is_continuous_axis = _continuous
    (y * torch.tensor(R)).sum().backward()
    return {
        "kwargs": kwargs, "weights": [w.tolist() for w in weights], "weight_names": [w.path for w in layer.weights],
        "X": X.tolist(), "R": R.tolist(), "Y": as_list(y), "dX": as_list(x.grad),
        "dweights": [as_list(w.value.grad) for w in layer.trainable_weights],
    }


reference = {
    "keras_version": keras.__version__, "backend": keras.backend.backend(),
    "batch_normalization": [batch_case(case["input_shape"], kwargs, case.get("mask")) for case, kwargs in BATCH_CASES],
    "layer_normalization": [layer_case(case["input_shape"], kwargs) for case, kwargs in LAYER_CASES],
}
Path(__file__).with_name("normalization_reference.json").write_text(json.dumps(reference))
