"""Keras's Reshape layer: each sample to another shape of the same size, in C order."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minikeras_core import Layer


class Reshape(Layer):
    """``(n, *input_shape) -> (n, *target_shape)``, entries in C order (last axis fastest), as Keras.

    One entry of ``target_shape`` may be ``-1``: it takes the size left over. The gradient is
    reshaped back. Both directions are views: no copy.
    """

    def __init__(self, target_shape: tuple, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        entries = tuple(target_shape) if isinstance(target_shape, (tuple, list)) else (target_shape,)
        if any(isinstance(e, bool) or not isinstance(e, (int, np.integer)) or (e <= 0 and e != -1) for e in entries):
            raise ValueError(f"{owner}: target_shape must be a tuple of positive ints (one may be -1), got {target_shape!r}")
        if entries.count(-1) > 1:
            raise ValueError(f"{owner}: target_shape may have one -1 (the size left over), got {target_shape!r}")
        self.target_shape = tuple(int(e) for e in entries)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"target_shape": (3, 4), "input_size": (12,)},
            {"target_shape": (-1, 2), "input_size": (3, 2, 2)},
            {"target_shape": (6,), "input_size": (2, 3)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        size, known = math.prod(input_shape), math.prod(e for e in self.target_shape if e != -1)
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise ValueError(f"{self._label}: cannot reshape samples of shape {input_shape} ({size} entries) "
                             f"to target_shape {self.target_shape}")
        return tuple(size // known if e == -1 else e for e in self.target_shape)

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        return X.reshape((len(X),) + self.output_shape)

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return grad.reshape((len(grad),) + self.input_shape) if need_input_grad else None
