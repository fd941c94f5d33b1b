"""Reference outputs and gradients of keras.layers.SimpleRNN (Keras 3, torch backend, float64), stored as JSON.

For each case: the inputs X, the weights [kernel, recurrent_kernel, bias] set on the layer, a
random projection R of the output, Keras's output Y, and by torch autograd the gradients of
sum(R * Y) with respect to X and to each weight. Cases with a "mask" pass it to the layer's call
(steps left out: leading padding, holes, a whole sequence). Run with a Python that has Keras 3 and torch:
    KERAS_BACKEND=torch python tests/data/keras/make_simple_rnn_reference.py
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
CASES = [
    {"units": 3},
    {"units": 3, "return_sequences": True},
    {"units": 4, "activation": "relu", "return_sequences": True, "go_backwards": True},
    {"units": 4, "activation": "relu", "go_backwards": True},
    {"units": 2, "activation": "tanh", "go_backwards": True, "return_sequences": True},
    {"units": 3, "activation": None, "use_bias": False, "return_sequences": True},
    {"units": 3, "activation": "sigmoid"},
]
MASK = [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [1, 0, 1, 0, 1], [0, 0, 0, 0, 0]]
MASKED_CASES = [
    {"units": 3},
    {"units": 3, "return_sequences": True},
    {"units": 2, "activation": "relu", "return_sequences": True, "go_backwards": True},
    {"units": 3, "go_backwards": True},
]

rng = np.random.default_rng(2024)
reference = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": []}
for kwargs, mask in [(kwargs, None) for kwargs in CASES] + [(kwargs, MASK) for kwargs in MASKED_CASES]:
    n, steps, features, units = 3 if mask is None else len(mask), 5, 4, kwargs["units"]
    X = rng.standard_normal((n, steps, features))
    layer = keras.layers.SimpleRNN(**kwargs, dtype="float64")
    layer.build((None, steps, features))
    weights = [0.5 * rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = torch.tensor(X, requires_grad=True)
    y = layer(x) if mask is None else layer(x, mask=torch.tensor(mask, dtype=torch.bool))
    R = rng.standard_normal(tuple(y.shape))
    (y * torch.tensor(R)).sum().backward()
    reference["cases"].append({
        "kwargs": kwargs,
        "mask": mask,
        "X": X.tolist(),
        "weights": [w.tolist() for w in weights],
        "R": R.tolist(),
        "Y": y.detach().numpy().tolist(),
        "dX": x.grad.numpy().tolist(),
        "dweights": [w.value.grad.numpy().tolist() for w in layer.trainable_weights],
        "weight_names": [w.path for w in layer.trainable_weights],
    })
Path(__file__).with_name("simple_rnn_reference.json").write_text(json.dumps(reference))
