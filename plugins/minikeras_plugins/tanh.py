"""The hyperbolic tangent activation."""

import numpy as np

from minikeras_core import ElementwiseActivation


class Tanh(ElementwiseActivation):
    """``tanh(x)``, with derivative ``1 - tanh(x)^2``."""

    def eval(self, X: np.ndarray) -> np.ndarray:
        return np.tanh(X)

    def eval_inplace(self, Z: np.ndarray) -> np.ndarray:
        return np.tanh(Z, out=Z)

    def derivative(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return 1 - Y * Y

    def derivative_from_output(self, Y: np.ndarray) -> np.ndarray:
        return 1 - Y * Y
