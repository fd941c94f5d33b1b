"""The identity activation."""

import numpy as np

from minikeras_core import ElementwiseActivation


class Linear(ElementwiseActivation):
    """``linear(x) = x``, with derivative 1."""

    def eval(self, X: np.ndarray) -> np.ndarray:
        return X

    def eval_inplace(self, Z: np.ndarray) -> np.ndarray:
        return Z

    def derivative(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return np.ones_like(Y)

    def derivative_from_output(self, Y: np.ndarray) -> np.ndarray:
        return np.ones_like(Y)

    def backward(self, X: np.ndarray | None, grad_out: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
        return grad_out
