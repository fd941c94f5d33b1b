"""Reference facts about Keras 3's initializers, stored as JSON for tests/test_initializers_keras.py.

Run with a Python that has Keras 3 and PyTorch (the scratch venv):
    KERAS_BACKEND=torch python tests/data/keras/make_initializer_reference.py

Stored: each class's signature (names, order, defaults) and default config keys; every name
``keras.initializers.get`` resolves and the class it gives; ``compute_fans`` on several shapes;
the exact distribution parameters each random initializer hands Keras's random functions
(``uniform``'s bounds, ``normal``'s and ``truncated_normal``'s mean and stddev), recorded by
replacing those functions while the initializer is called; Orthogonal's output for a given
normal matrix (the matrix is stored too); and the deterministic initializers' values.
"""

import inspect
import json
from pathlib import Path

import keras
import numpy as np
from keras import ops
from keras.src import initializers as initializers_module
from keras.src.initializers import random_initializers

CLASSES = ["Zeros", "Ones", "Constant", "Identity", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
           "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal"]
SHAPES = [[], [5], [4, 6], [6, 4], [1, 1], [3, 3, 2, 5], [2, 3, 4], [5, 5, 16, 32], [1, 7, 3]]
RANDOM_CASES = [
    ("RandomNormal", {}), ("RandomNormal", {"mean": 1.0, "stddev": 0.3}),
    ("RandomUniform", {}), ("RandomUniform", {"minval": -0.2, "maxval": 0.7}),
    ("TruncatedNormal", {}), ("TruncatedNormal", {"mean": 0.5, "stddev": 2.0}),
    ("GlorotUniform", {}), ("GlorotNormal", {}), ("HeUniform", {}), ("HeNormal", {}), ("LecunUniform", {}), ("LecunNormal", {}),
    ("VarianceScaling", {}),
    ("VarianceScaling", {"scale": 0.3, "mode": "fan_out", "distribution": "uniform"}),
    ("VarianceScaling", {"scale": 2.5, "mode": "fan_avg", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"scale": 0.7, "mode": "fan_in", "distribution": "normal"}),
    ("VarianceScaling", {"mode": "fan_avg", "distribution": "truncated_normal", "input_axes": [0, 1], "output_axes": [-1]}),
    ("GlorotUniform", {"input_axes": [0], "output_axes": [1, 2]}),
]


def jsonable(value):
    return value if isinstance(value, (int, float, str, bool, type(None), list)) else repr(value)


def signature(cls):
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [[p.name, None if p.default is inspect.Parameter.empty else jsonable(p.default)] for p in parameters]


class Recorder:
    """Stands in for keras.src.backend.random while an initializer is called: records the call, returns zeros."""

    def __init__(self):
        self.calls = []

    def _record(self, name, shape, **kwargs):
        kwargs.pop("seed", None)
        kwargs.pop("dtype", None)
        self.calls.append({"name": name, **{k: float(v) for k, v in kwargs.items()}})
        return ops.zeros(tuple(shape), dtype="float64")

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        return self._record("normal", shape, mean=mean, stddev=stddev)

    def uniform(self, shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
        return self._record("uniform", shape, minval=minval, maxval=maxval)

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        return self._record("truncated_normal", shape, mean=mean, stddev=stddev)


def parameters():
    out = []
    real = random_initializers.random
    for name, kwargs in RANDOM_CASES:
        init = getattr(keras.initializers, name)(**kwargs)
        for shape in SHAPES:
            if "input_axes" in kwargs and len(shape) < 3:
                continue
            recorder = Recorder()
            random_initializers.random = recorder
            try:
                init(tuple(shape), dtype="float64")
            finally:
                random_initializers.random = real
            (call,) = recorder.calls
            out.append({"class": name, "kwargs": kwargs, "shape": shape, "parameters": call})
    return out


class GivenNormal:
    """Stands in for keras.src.backend.random in Orthogonal: its normal matrix is the one given."""

    def __init__(self, matrix):
        self.matrix = matrix

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        assert tuple(shape) == self.matrix.shape, (shape, self.matrix.shape)
        return ops.convert_to_tensor(self.matrix, dtype="float64")


def orthogonal():
    out = []
    real = random_initializers.random
    rng = np.random.default_rng(0)
    for shape, gain in [((4, 6), 1.0), ((6, 4), 1.0), ((5, 5), 0.5), ((3, 3, 2, 5), 1.0), ((2, 3, 8), 2.0), ((3, 2), 1.0)]:
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        matrix = rng.standard_normal((max(rows, cols), min(rows, cols)))
        init = keras.initializers.Orthogonal(gain=gain)
        random_initializers.random = GivenNormal(matrix)
        try:
            values = init(shape, dtype="float64")
        finally:
            random_initializers.random = real
        out.append({"shape": list(shape), "gain": gain, "normal": matrix.tolist(),
                    "expected": ops.convert_to_numpy(values).tolist()})
    return out


def deterministic():
    cases = [("Zeros", {}, [2, 3, 4]), ("Ones", {}, [3, 2]), ("Constant", {"value": 2.5}, [2, 2, 3]),
             ("Constant", {"value": -3}, [4]), ("Constant", {}, [2, 2]), ("Identity", {}, [3, 5]),
             ("Identity", {"gain": 0.5}, [4, 2]), ("Identity", {"gain": -2.0}, [3, 3])]
    out = []
    for name, kwargs, shape in cases:
        for dtype in ("float32", "float64"):
            values = getattr(keras.initializers, name)(**kwargs)(tuple(shape), dtype=dtype)
            array = ops.convert_to_numpy(values)
            assert str(array.dtype) == dtype
            out.append({"class": name, "kwargs": kwargs, "shape": shape, "dtype": dtype, "expected": array.tolist()})
    return out


names = {key: cls.__name__ for key, cls in initializers_module.ALL_OBJECTS_DICT.items()
         if cls.__name__ not in ("STFT", "Initializer")}
reference = {
    "signatures": {name: signature(getattr(keras.initializers, name)) for name in CLASSES},
    "config_keys": {name: sorted(getattr(keras.initializers, name)().get_config()) for name in CLASSES},
    "names": names,
    "fans": [{"shape": shape, "fans": list(random_initializers.compute_fans(tuple(shape)))} for shape in SHAPES]
    + [{"shape": [3, 4, 5, 6], "input_axes": [0, 2], "output_axes": [1, 3],
        "fans": list(random_initializers.compute_fans((3, 4, 5, 6), input_axes=[0, 2], output_axes=[1, 3]))}],
    "parameters": parameters(),
    "orthogonal": orthogonal(),
    "deterministic": deterministic(),
    "keras_version": keras.__version__,
    "backend": keras.backend.backend(),
}
Path(__file__).with_name("initializer_reference.json").write_text(json.dumps(reference))
print(f"{len(reference['parameters'])} parameter cases, {len(names)} names, Keras {keras.__version__}")
