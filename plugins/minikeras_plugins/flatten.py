"""Flatten every axis but the batch axis."""

import numpy as np

from minikeras_core import Layer


class Flatten(Layer):
    """``(n, d1, d2, ...) -> (n, d1 * d2 * ...)`` in C order (height, then width, then channels), as Keras."""

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{"input_size": (3, 4)}, {"input_size": (2, 3, 2)}, {"input_size": (5,)}]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (int(np.prod(input_shape)),)

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        return X.reshape(len(X), -1)

    def call_backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape((len(grad),) + self.input_shape)
