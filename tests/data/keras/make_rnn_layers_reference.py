"""Reference outputs and gradients of Keras 3's LSTM, GRU, Bidirectional and Embedding (torch backend, float64), stored as JSON.

For each case: the layer (class and arguments), the inputs X (ids for an Embedding), the weights set
on the layer (Keras's order), an optional mask of steps passed to the call, a random projection R of
the output, Keras's output Y and, by torch autograd, the gradients of sum(R * Y) with respect to X
(not for ids) and to each trainable weight, with the weights' paths. "model" cases run a Sequential
of Embedding(mask_zero=True) and a recurrent layer, so that the mask goes from one to the other as
Keras passes it. Run with a Python that has Keras 3 and torch:
    KERAS_BACKEND=torch python tests/data/keras/make_rnn_layers_reference.py
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
# Keras 3's type promotion maps float64 to float32 on every backend but TensorFlow, so ops.matmul of two
# float64 tensors would compute in float32 (errors near 1e-7). The references are meant in float64.
dtypes.BIT64_TO_BIT32_DTYPE.pop("float64", None)

MASK = [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [1, 0, 1, 0, 1], [0, 0, 0, 0, 0]]
RECURRENT = [
    ("LSTM", {"units": 3}, None),
    ("LSTM", {"units": 3, "return_sequences": True}, None),
    ("LSTM", {"units": 4, "return_sequences": True, "go_backwards": True}, None),
    ("LSTM", {"units": 2, "go_backwards": True}, None),
    ("LSTM", {"units": 3, "use_bias": False, "return_sequences": True}, None),
    ("LSTM", {"units": 3, "activation": "relu", "recurrent_activation": "tanh"}, None),
    ("LSTM", {"units": 3}, MASK),
    ("LSTM", {"units": 3, "return_sequences": True}, MASK),
    ("LSTM", {"units": 2, "return_sequences": True, "go_backwards": True}, MASK),
    ("GRU", {"units": 3}, None),
    ("GRU", {"units": 3, "reset_after": False}, None),
    ("GRU", {"units": 3, "return_sequences": True}, None),
    ("GRU", {"units": 4, "return_sequences": True, "go_backwards": True, "reset_after": False}, None),
    ("GRU", {"units": 2, "go_backwards": True}, None),
    ("GRU", {"units": 3, "use_bias": False, "return_sequences": True}, None),
    ("GRU", {"units": 3, "use_bias": False, "reset_after": False}, None),
    ("GRU", {"units": 3, "activation": "relu", "recurrent_activation": "tanh", "reset_after": False}, None),
    ("GRU", {"units": 3}, MASK),
    ("GRU", {"units": 3, "return_sequences": True, "reset_after": False}, MASK),
    ("GRU", {"units": 2, "return_sequences": True, "go_backwards": True}, MASK),
]
WRAPPED = [
    ({"class_name": "LSTM", "config": {"units": 3}}, {"merge_mode": "concat"}, None),
    ({"class_name": "LSTM", "config": {"units": 3, "return_sequences": True}}, {"merge_mode": "concat"}, None),
    ({"class_name": "LSTM", "config": {"units": 2, "return_sequences": True}}, {"merge_mode": "sum"}, None),
    ({"class_name": "GRU", "config": {"units": 3}}, {"merge_mode": "mul"}, None),
    ({"class_name": "GRU", "config": {"units": 2, "return_sequences": True, "reset_after": False}}, {"merge_mode": "ave"}, None),
    ({"class_name": "SimpleRNN", "config": {"units": 3, "return_sequences": True}}, {"merge_mode": "mul"}, None),
    ({"class_name": "LSTM", "config": {"units": 3, "return_sequences": True}}, {"merge_mode": "concat"}, MASK),
    ({"class_name": "GRU", "config": {"units": 2}}, {"merge_mode": "sum"}, MASK),
]
IDS = [[0, 0, 3, 5, 3], [1, 2, 3, 4, 6], [2, 0, 6, 0, 2], [0, 0, 0, 0, 0]]
MODELS = [
    ("LSTM", {"units": 3}),
    ("LSTM", {"units": 2, "return_sequences": True, "go_backwards": True}),
    ("GRU", {"units": 3, "return_sequences": True}),
    ("GRU", {"units": 2, "reset_after": False, "go_backwards": True}),
]

rng = np.random.default_rng(2025)


def record(kind, kwargs, layer, X, mask, ids=False):
    """Set small random weights, run the layer (autograd on), and return the case as JSON-ready data."""
    weights = [0.5 * rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = torch.tensor(X) if ids else torch.tensor(X, requires_grad=True)
    y = layer(x) if mask is None else layer(x, mask=torch.tensor(mask, dtype=torch.bool))
    R = rng.standard_normal(tuple(y.shape))
    (y * torch.tensor(R)).sum().backward()
    return {
        "layer": kind, "kwargs": kwargs, "mask": mask, "X": X.tolist(), "weights": [w.tolist() for w in weights],
        "R": R.tolist(), "Y": y.detach().numpy().tolist(), "dX": None if ids else x.grad.numpy().tolist(),
        "dweights": [w.value.grad.numpy().tolist() for w in layer.trainable_weights],
        "weight_paths": [w.path for w in layer.trainable_weights],
    }


reference = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": []}
for kind, kwargs, mask in RECURRENT:
    layer = getattr(keras.layers, kind)(**kwargs, dtype="float64")
    layer.build((None, 5, 4))
    reference["cases"].append(record(kind, kwargs, layer, rng.standard_normal((4 if mask else 3, 5, 4)), mask))
for inner, kwargs, mask in WRAPPED:
    wrapped = getattr(keras.layers, inner["class_name"])(**inner["config"], dtype="float64")
    layer = keras.layers.Bidirectional(wrapped, **kwargs, dtype="float64")
    layer.build((None, 5, 4))
    reference["cases"].append(record("Bidirectional", {"layer": inner, **kwargs}, layer, rng.standard_normal((4 if mask else 3, 5, 4)), mask))
for kwargs in ({"input_dim": 7, "output_dim": 3}, {"input_dim": 7, "output_dim": 2, "mask_zero": True}):
    layer = keras.layers.Embedding(**kwargs, dtype="float64")
    layer.build((None, 5))
    case = record("Embedding", kwargs, layer, np.array(IDS), None, ids=True)
    mask = layer.compute_mask(torch.tensor(IDS), None)
    case["output_mask"] = None if mask is None else mask.numpy().tolist()
    reference["cases"].append(case)
for kind, kwargs in MODELS:
    model = keras.Sequential([keras.Input((5,), dtype="int64"), keras.layers.Embedding(7, 4, mask_zero=True, dtype="float64"),
                              getattr(keras.layers, kind)(**kwargs, dtype="float64")])
    case = record("model", {"recurrent": kind, **kwargs}, model, np.array(IDS), None, ids=True)
    reference["cases"].append(case)
Path(__file__).with_name("rnn_layers_reference.json").write_text(json.dumps(reference))
print(len(reference["cases"]), "cases")
