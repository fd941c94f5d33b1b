"""Flatten every axis but the batch axis."""

import numpy as np

from minikeras_core import Layer


class Flatten(Layer):
    """``(n, d1, d2, ...) -> (n, d1 * d2 * ...)`` in C order (height, then width, then channels), as Keras."""

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (int(np.prod(input_shape)),)

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        return X.reshape(len(X), -1)

    def call_backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape((len(grad),) + self.input_shape)
