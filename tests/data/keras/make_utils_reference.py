"""Reference outputs of keras.utils.to_categorical and keras.utils.pad_sequences (Keras 3), stored as JSON.

Run with a Python that has Keras 3 (any backend; the numpy code paths are used):
    KERAS_BACKEND=torch python tests/data/keras/make_utils_reference.py
"""

import json
from pathlib import Path

import keras
import numpy as np

SEQUENCES = [[1, 2, 3], [4, 5], [], [6, 7, 8, 9, 10], [11]]
PAD_CASES = [
    {},
    {"maxlen": 4},
    {"maxlen": 4, "padding": "post"},
    {"maxlen": 4, "truncating": "post"},
    {"maxlen": 3, "padding": "post", "truncating": "post", "value": -1},
    {"maxlen": 6, "dtype": "float32", "value": 0.5},
]
CATEGORICAL_CASES = [
    {"x": [0, 2, 1, 3]},
    {"x": [[1], [0], [2]]},
    {"x": [[0, 1], [2, 0]], "num_classes": 4},
]

reference = {
    "pad_sequences": [
        {"kwargs": kwargs, "expected": keras.utils.pad_sequences(SEQUENCES, **kwargs).tolist()} for kwargs in PAD_CASES
    ],
    "pad_sequences_steps": {  # sequences whose steps are vectors
        "sequences": [[[1, 2], [3, 4]], [[5, 6]]],
        "expected": keras.utils.pad_sequences([[[1, 2], [3, 4]], [[5, 6]]], maxlen=3).tolist(),
    },
    "to_categorical": [
        {**case, "expected": np.asarray(keras.utils.to_categorical(**case)).tolist()} for case in CATEGORICAL_CASES
    ],
    "sequences": SEQUENCES,
    "keras_version": keras.__version__,
}
Path(__file__).with_name("utils_reference.json").write_text(json.dumps(reference))
