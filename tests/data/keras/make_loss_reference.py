"""Record Keras 3's losses and metrics as reference values for tests/test_losses_keras.py and tests/test_metrics_keras.py.

Run with the scratch Keras venv (Keras and PyTorch are never needed by Mini-Keras or its tests):

    KERAS_BACKEND=torch /work/scratch/keras-venv/bin/python tests/data/keras/make_loss_reference.py

For every loss case (a Keras loss class with its arguments, fixed predictions and targets) it
records, in float64, the loss of each sample (Keras with ``reduction=None``), their mean (the
default ``"sum_over_batch_size"`` reduction, checked against Keras's own reduced value) and the
gradient of that mean with respect to ``y_pred`` by torch autograd through Keras's ops. For the
softmax and sigmoid pairs it records the gradient with respect to the activation's input ``z``
(Keras on the logits ``z``, which is the exact gradient even where the activation saturates).
For every metric case it records the value of the Keras metric class. Writes
``loss_reference.json`` and ``metric_reference.json`` beside this script (JSON floats round-trip
float64 exactly).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras.src.backend.torch import numpy as torch_numpy  # noqa: E402

keras.config.set_floatx("float64")
HERE = Path(__file__).parent


def _float64_mean(x, axis=None, keepdims=False):
    """Keras's torch ``mean`` with float64 kept float64.

    Keras 3.15's torch backend computes ``mean`` in ``result_type(x.dtype, "float32")``, which is
    float32 when ``x.dtype`` is ``torch.float64``, so every per-sample mean (and its gradient)
    would carry float32 rounding (about 6e-8 relative). The formula is unchanged; only the
    rounding goes. ``main`` checks that the two agree to 1e-6.
    """
    x = torch_numpy.convert_to_tensor(x)
    if x.dtype != torch.float64 or axis in ((), []):
        return _keras_mean(x, axis=axis, keepdims=keepdims)
    dims = tuple(range(x.dim())) if axis is None else tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    return torch.mean(x, dim=dims, keepdim=keepdims)


_keras_mean = torch_numpy.mean

# -- inputs -----------------------------------------------------------------------------------
# Rows of probabilities: an exact 0 and 1 (clipped), a row not summing to one (renormalized), a tiny entry.
PROBS = [[0.7, 0.2, 0.1], [0.0, 1.0, 0.0], [0.2, 0.3, 0.1], [1e-9, 0.5, 0.5 - 1e-9]]
IDS = [0, 2, 1, 1]
ONE_HOT = np.eye(3)[IDS].tolist()
SOFT = [[0.6, 0.3, 0.1], [0.0, 0.5, 0.5], [0.2, 0.2, 0.6], [1 / 3, 1 / 3, 1 / 3]]  # rows of weights summing to one
LOGITS = [[2.0, -1.0, 0.5], [1000.0, -1000.0, 0.0], [-3.0, 0.2, 0.1], [0.0, 0.0, 0.0]]  # +-1e3 saturates
# Binary: probabilities with exact 0 and 1, and binary or soft targets.
BIN_PROBS = [[0.9, 0.2, 0.6], [0.0, 1.0, 0.5], [0.3, 0.7, 0.999], [0.01, 0.5, 0.4]]
BIN_TRUE = [[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
BIN_SOFT = [[0.8, 0.1, 1.0], [0.5, 0.3, 0.0], [0.0, 0.9, 0.25], [1.0, 0.6, 0.4]]
BIN_LOGITS = [[2.0, -1.0, 0.5], [1000.0, -1000.0, 0.0], [-3.0, 0.2, 30.0], [-1000.0, 1000.0, -0.7]]
# Sequences (2 samples, 3 steps, 4 classes).
rng = np.random.default_rng(0)
SEQ_LOGITS = rng.normal(0, 2, (2, 3, 4)).round(3)
SEQ_PROBS = (np.exp(SEQ_LOGITS) / np.exp(SEQ_LOGITS).sum(-1, keepdims=True)).tolist()
SEQ_IDS = [[0, 3, 1], [2, 2, 0]]
SEQ_ONE_HOT = np.eye(4)[SEQ_IDS].tolist()
SEQ_BIN = (np.arange(24).reshape(2, 3, 4) % 3 == 0).astype(float).tolist()
SEQ_LOGITS = SEQ_LOGITS.tolist()
# Regression: errors below, at and above 1 and 0.5 (Huber's deltas), exact zeros (MAE's kink).
REG_PRED = [[1.5, -0.2, 3.0], [0.0, 2.0, -1.25], [0.7, 0.7, -4.0], [10.0, 0.25, 0.5]]
REG_TRUE = [[0.5, -0.2, 0.0], [0.0, 1.0, 1.0], [0.2, 0.1, -3.6], [9.3, 0.0, 0.5]]
ONE_UNIT_PRED = [[0.3], [-1.2], [2.5], [0.9]]
ONE_UNIT_TRUE = [0.0, -1.0, 1.0, 0.9]  # (n,) targets for one output unit

# (Mini-Keras name, Keras class, keyword arguments of both, y_pred, y_true)
LOSS_CASES = [
    ("binary_crossentropy", "BinaryCrossentropy", {}, BIN_PROBS, BIN_TRUE),
    ("binary_crossentropy", "BinaryCrossentropy", {}, BIN_PROBS, BIN_SOFT),
    ("binary_crossentropy", "BinaryCrossentropy", {"label_smoothing": 0.2}, BIN_PROBS, BIN_TRUE),
    ("binary_crossentropy", "BinaryCrossentropy", {"from_logits": True}, BIN_LOGITS, BIN_TRUE),
    ("binary_crossentropy", "BinaryCrossentropy", {"from_logits": True}, BIN_LOGITS, BIN_SOFT),
    ("binary_crossentropy", "BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.3}, BIN_LOGITS, BIN_TRUE),
    ("binary_crossentropy", "BinaryCrossentropy", {}, SEQ_PROBS, SEQ_BIN),
    ("binary_crossentropy", "BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, SEQ_LOGITS, SEQ_BIN),
    ("categorical_crossentropy", "CategoricalCrossentropy", {}, PROBS, ONE_HOT),
    ("categorical_crossentropy", "CategoricalCrossentropy", {}, PROBS, SOFT),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"label_smoothing": 0.1}, PROBS, ONE_HOT),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"label_smoothing": 0.3}, PROBS, SOFT),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"from_logits": True}, LOGITS, ONE_HOT),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"from_logits": True}, LOGITS, SOFT),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, LOGITS, ONE_HOT),
    ("categorical_crossentropy", "CategoricalCrossentropy", {}, SEQ_PROBS, SEQ_ONE_HOT),
    ("categorical_crossentropy", "CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, SEQ_LOGITS, SEQ_ONE_HOT),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {}, PROBS, IDS),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {}, PROBS, [[i] for i in IDS]),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {"from_logits": True}, LOGITS, IDS),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {"from_logits": True}, LOGITS, [[i] for i in IDS]),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {}, SEQ_PROBS, SEQ_IDS),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {"from_logits": True}, SEQ_LOGITS, SEQ_IDS),
    ("mean_squared_error", "MeanSquaredError", {}, REG_PRED, REG_TRUE),
    ("mean_squared_error", "MeanSquaredError", {}, ONE_UNIT_PRED, ONE_UNIT_TRUE),
    ("mean_squared_error", "MeanSquaredError", {}, SEQ_LOGITS, SEQ_BIN),
    ("mean_absolute_error", "MeanAbsoluteError", {}, REG_PRED, REG_TRUE),
    ("mean_absolute_error", "MeanAbsoluteError", {}, ONE_UNIT_PRED, ONE_UNIT_TRUE),
    ("huber", "Huber", {}, REG_PRED, REG_TRUE),
    ("huber", "Huber", {"delta": 0.5}, REG_PRED, REG_TRUE),
    ("huber", "Huber", {"delta": 2.0}, ONE_UNIT_PRED, ONE_UNIT_TRUE),
    ("huber", "Huber", {"delta": 0.3}, SEQ_LOGITS, SEQ_BIN),
]

# Pre-activation inputs for the fused softmax/sigmoid gradients, some far into saturation.
Z_SOFTMAX = [[2.0, -1.0, 0.5], [60.0, -60.0, 0.0], [-3.0, 0.2, 0.1], [800.0, 0.0, -800.0]]
Z_SIGMOID = [[2.0, -1.0, 0.5], [60.0, -60.0, 0.0], [-3.0, 0.2, 40.0], [-800.0, 800.0, -0.7]]
# (activation, Mini-Keras loss name, Keras class, keyword arguments, z, y_true)
FUSED_CASES = [
    ("softmax", "categorical_crossentropy", "CategoricalCrossentropy", {}, Z_SOFTMAX, ONE_HOT),
    ("softmax", "categorical_crossentropy", "CategoricalCrossentropy", {"label_smoothing": 0.1}, Z_SOFTMAX, ONE_HOT),
    ("softmax", "categorical_crossentropy", "CategoricalCrossentropy", {"label_smoothing": 0.2}, Z_SOFTMAX, SOFT),
    ("softmax", "sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {}, Z_SOFTMAX, IDS),
    ("sigmoid", "binary_crossentropy", "BinaryCrossentropy", {}, Z_SIGMOID, BIN_TRUE),
    ("sigmoid", "binary_crossentropy", "BinaryCrossentropy", {"label_smoothing": 0.2}, Z_SIGMOID, BIN_TRUE),
    ("sigmoid", "binary_crossentropy", "BinaryCrossentropy", {"label_smoothing": 0.1}, Z_SIGMOID, BIN_SOFT),
]

# Metrics: ties in rows 2 and 3 (argmax takes the first; top-k counts every tied score).
METRIC_PRED = [[0.1, 0.6, 0.3, 0.0], [0.25, 0.25, 0.25, 0.25], [0.4, 0.2, 0.4, 0.0], [0.1, 0.3, 0.3, 0.3],
               [0.05, 0.05, 0.1, 0.8], [0.5, 0.1, 0.2, 0.2]]
METRIC_IDS = [1, 3, 2, 2, 0, 3]
METRIC_ONE_HOT = np.eye(4)[METRIC_IDS].tolist()
SEQ_METRIC_PRED = np.round(rng.uniform(size=(2, 3, 4)), 1).tolist()  # rounded so that some scores tie
# Seven classes for the default k = 5 (PyTorch's top_k refuses k above the number of classes): the
# true class is 5th, 6th, tied for 5th and 6th, and 1st.
SEVEN_PRED = [[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3],
              [0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.6], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]]
SEVEN_ONE_HOT = np.eye(7)[[4, 5, 4, 6]].tolist()
# (Mini-Keras name, Keras class, keyword arguments, y_pred, y_true)
METRIC_CASES = [
    ("sparse_categorical_accuracy", "SparseCategoricalAccuracy", {}, METRIC_PRED, METRIC_IDS),
    ("sparse_categorical_accuracy", "SparseCategoricalAccuracy", {}, METRIC_PRED, [[i] for i in METRIC_IDS]),
    ("sparse_categorical_accuracy", "SparseCategoricalAccuracy", {}, SEQ_METRIC_PRED, SEQ_IDS),
    ("top_k_categorical_accuracy", "TopKCategoricalAccuracy", {}, SEVEN_PRED, SEVEN_ONE_HOT),
    ("top_k_categorical_accuracy", "TopKCategoricalAccuracy", {"k": 1}, METRIC_PRED, METRIC_ONE_HOT),
    ("top_k_categorical_accuracy", "TopKCategoricalAccuracy", {"k": 2}, METRIC_PRED, METRIC_ONE_HOT),
    ("top_k_categorical_accuracy", "TopKCategoricalAccuracy", {"k": 3}, METRIC_PRED, METRIC_ONE_HOT),
    ("top_k_categorical_accuracy", "TopKCategoricalAccuracy", {"k": 2}, SEQ_METRIC_PRED, SEQ_ONE_HOT),
]


def tensor(values, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(values, dtype=np.float64), requires_grad=grad)


def keras_loss(class_name: str, kwargs: dict, y_pred, y_true) -> dict:
    cls = getattr(keras.losses, class_name)
    pred = tensor(y_pred, grad=True)
    per_sample = cls(**kwargs, reduction=None, dtype="float64")(tensor(y_true), pred)
    mean = per_sample.mean()
    mean.backward()
    reduced = float(cls(**kwargs, dtype="float64")(tensor(y_true), tensor(y_pred)))
    assert np.isclose(reduced, mean.item(), rtol=1e-6), (class_name, kwargs, reduced, mean.item())  # Keras reduces in float32
    return {"per_sample": per_sample.detach().numpy().tolist(), "value": mean.item(), "grad": pred.grad.numpy().tolist()}


def fused_gradient(class_name: str, kwargs: dict, z, y_true) -> list:
    """d mean loss / d z with the loss on the logits z: the exact gradient through softmax or sigmoid."""
    logits = tensor(z, grad=True)
    getattr(keras.losses, class_name)(**kwargs, from_logits=True, dtype="float64")(tensor(y_true), logits).backward()
    return logits.grad.numpy().tolist()


def keras_metric(class_name: str, kwargs: dict, y_pred, y_true) -> float:
    metric = getattr(keras.metrics, class_name)(**kwargs, dtype="float64")
    metric.update_state(tensor(y_true), tensor(y_pred))
    return float(metric.result())


def record() -> dict:
    losses = [{"name": n, "keras_class": c, "kwargs": k, "y_pred": p, "y_true": t, **keras_loss(c, k, p, t)}
              for n, c, k, p, t in LOSS_CASES]
    fused = [{"activation": a, "name": n, "keras_class": c, "kwargs": k, "z": z, "y_true": t, "grad_z": fused_gradient(c, k, z, t)}
             for a, n, c, k, z, t in FUSED_CASES]
    metrics = [{"name": n, "keras_class": c, "kwargs": k, "y_pred": p, "y_true": t, "value": keras_metric(c, k, p, t)}
               for n, c, k, p, t in METRIC_CASES]
    return {"losses": losses, "fused": fused, "metrics": metrics}


def main() -> None:
    header = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "floatx": keras.config.floatx(),
              "torch_version": torch.__version__, "python": platform.python_version(),
              "note": "Keras's torch mean patched to keep float64 (see _float64_mean); checked against the unpatched values to 1e-6"}
    as_shipped = record()
    torch_numpy.mean = _float64_mean
    cases = record()
    for group, key in (("losses", "value"), ("losses", "grad"), ("fused", "grad_z"), ("metrics", "value")):
        for a, b in zip(as_shipped[group], cases[group]):
            assert np.allclose(a[key], b[key], rtol=1e-6, atol=1e-12), (group, key, a["keras_class"], a["kwargs"])
    groups = {"loss_reference.json": ("losses", "fused"), "metric_reference.json": ("metrics",)}
    for path, keys in groups.items():
        text = json.dumps({"made_by": "tests/data/keras/make_loss_reference.py", **header, **dict.fromkeys(keys, [])})
        for key in keys:  # one case a line, for readable diffs
            text = text.replace(f'"{key}": []', f'"{key}": [\n' + ",\n".join(json.dumps(case) for case in cases[key]) + "\n]")
        (HERE / path).write_text(text + "\n")
        print(f"wrote {path}: {sum(len(cases[key]) for key in keys)} cases")


if __name__ == "__main__":
    main()
