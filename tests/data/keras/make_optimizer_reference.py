"""Record Keras 3's optimizer steps as reference values for tests/test_optimizers_keras.py.

Run with the scratch Keras venv (Keras and PyTorch are never needed by Mini-Keras or its tests):

    KERAS_BACKEND=torch /work/scratch/keras-venv/bin/python tests/data/keras/make_optimizer_reference.py

For every case (an optimizer with its default or other arguments, and the clipping, weight decay
and gradient accumulation variants of every optimizer) it builds the Keras optimizer in float64,
applies the fixed gradients below to two weight arrays of different shapes, and records the
weights after each step. Writes ``optimizer_reference.json`` beside this script (JSON floats
round-trip float64 exactly).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

keras.config.set_floatx("float64")

WEIGHTS = [[[0.5, -1.25, 2.0], [0.0, 0.75, -0.3]], [1.5, -0.2, 0.9, -2.0]]
# One gradient per step and weight. Some exceed clipvalue 0.5, some arrays' norms exceed clipnorm 1.0
# and some do not, the global norm exceeds 1.5 at some steps only, and zeros appear.
GRADIENTS = [
    [[[0.3, -0.2, 0.1], [0.05, -0.4, 0.25]], [0.9, -1.3, 0.0, 0.4]],
    [[[-1.2, 0.8, 0.6], [0.0, 1.5, -0.7]], [0.1, 0.2, -0.05, 0.15]],
    [[[0.2, 0.1, -0.3], [0.4, -0.1, 0.2]], [-0.6, 0.9, 0.3, -1.1]],
    [[[0.5, -0.5, 0.25], [-0.25, 0.1, 0.0]], [0.3, 0.0, -0.2, 0.7]],
]
STEPS = 3
ACCUMULATION_STEPS = 4  # two updates with gradient_accumulation_steps=2

# (Mini-Keras registered name, Keras class name, keyword arguments of both)
OWN_ARGUMENTS = [
    ("sgd", "SGD", {}),
    ("sgd", "SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", "SGD", {"learning_rate": 0.1, "momentum": 0.5, "nesterov": True}),
    ("sgd", "SGD", {"momentum": 0.9, "nesterov": True}),  # what Mini-Keras's "nesterov" means by default
    ("adam", "Adam", {}),
    ("adam", "Adam", {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.1}),
    ("adam", "Adam", {"learning_rate": 0.1, "beta_2": 0.5, "amsgrad": True}),
    ("adagrad", "Adagrad", {}),
    ("adagrad", "Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 0.01}),
    ("rmsprop", "RMSprop", {}),
    ("rmsprop", "RMSprop", {"learning_rate": 0.1, "rho": 0.5, "momentum": 0.8, "epsilon": 0.01}),
    ("rmsprop", "RMSprop", {"learning_rate": 0.1, "rho": 0.8, "centered": True}),
    ("rmsprop", "RMSprop", {"learning_rate": 0.1, "rho": 0.8, "momentum": 0.5, "centered": True}),
    ("adadelta", "Adadelta", {}),
    ("adadelta", "Adadelta", {"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-3}),
    ("adamax", "Adamax", {}),
    ("adamax", "Adamax", {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.1}),
    ("nadam", "Nadam", {}),
    ("nadam", "Nadam", {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.1}),
    ("adamw", "AdamW", {}),
    ("adamw", "AdamW", {"learning_rate": 0.1, "weight_decay": 0.2, "beta_1": 0.5, "amsgrad": True}),
]
BASE_VARIANTS = [
    {"clipnorm": 1.0},
    {"clipvalue": 0.5},
    {"global_clipnorm": 1.5},
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "clipnorm": 1.0},
]
OPTIMIZERS = [
    ("sgd", "SGD", {"momentum": 0.9}),
    ("adam", "Adam", {}),
    ("adagrad", "Adagrad", {}),
    ("rmsprop", "RMSprop", {}),
    ("adadelta", "Adadelta", {}),
    ("adamax", "Adamax", {}),
    ("nadam", "Nadam", {}),
    ("adamw", "AdamW", {}),
]
ACCUMULATING = [
    ("sgd", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "gradient_accumulation_steps": 2}),
    ("adam", "Adam", {"learning_rate": 0.1, "gradient_accumulation_steps": 2, "clipnorm": 1.0}),
    ("adamw", "AdamW", {"learning_rate": 0.1, "gradient_accumulation_steps": 2}),
]


def cases() -> list[tuple[str, str, dict, int]]:
    listed = [(name, cls, kwargs, STEPS) for name, cls, kwargs in OWN_ARGUMENTS]
    for name, cls, kwargs in OPTIMIZERS:
        for variant in BASE_VARIANTS:
            listed.append((name, cls, {"learning_rate": 0.1, **kwargs, **variant}, STEPS))
    listed += [(name, cls, kwargs, ACCUMULATION_STEPS) for name, cls, kwargs in ACCUMULATING]
    return listed


def run(cls: str, kwargs: dict, steps: int) -> list[list[list]]:
    optimizer = getattr(keras.optimizers, cls)(**kwargs)
    variables = [keras.Variable(np.array(w, dtype="float64")) for w in WEIGHTS]
    after = []
    for k in range(steps):
        grads = [keras.ops.convert_to_tensor(np.array(g, dtype="float64")) for g in GRADIENTS[k]]
        optimizer.apply(grads, variables)
        after.append([keras.ops.convert_to_numpy(v.value).tolist() for v in variables])
    return after


def main() -> None:
    records = [
        {"name": name, "keras_class": cls, "kwargs": kwargs, "weights_after_step": run(cls, kwargs, steps)}
        for name, cls, kwargs, steps in cases()
    ]
    data = {
        "made_by": f"tests/data/keras/{Path(__file__).name}",
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "floatx": keras.config.floatx(),
        "python": platform.python_version(),
        "weights": WEIGHTS,
        "gradients": GRADIENTS,
        "cases": records,
    }
    out = Path(__file__).with_name("optimizer_reference.json")
    # One case a line: small, and diffs show which cases changed.
    head = json.dumps({key: value for key, value in data.items() if key != "cases"})[:-1]
    lines = ",\n".join(json.dumps(record) for record in records)
    out.write_text(f'{head}, "cases": [\n{lines}\n]}}\n')
    print(f"wrote {len(records)} cases to {out}")


if __name__ == "__main__":
    main()
