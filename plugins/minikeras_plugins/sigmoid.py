"""The logistic sigmoid activation."""

import numpy as np

from minikeras_core import ElementwiseActivation


class Sigmoid(ElementwiseActivation):
    """``sigmoid(x) = 1 / (1 + exp(-x))``, with derivative ``s * (1 - s)``.

    Computed from ``e = exp(-|x|)`` as ``1 / (1 + e)`` for ``x >= 0`` and ``e / (1 + e)`` otherwise,
    so no exponent is ever positive and +-1000 raises no overflow warning.
    """

    def eval(self, X: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(X))  # in (0, 1]
        # The numerator, 1 where x >= 0 and e elsewhere, is max(e, x >= 0) since e <= 1: the
        # same numbers as np.where(X >= 0, 1, e), in a fraction of its time.
        return np.maximum(e, X >= 0) / (1 + e)

    def eval_inplace(self, Z: np.ndarray) -> np.ndarray:
        nonnegative = Z >= 0
        e = np.abs(Z)
        np.negative(e, out=e)
        np.exp(e, out=e)
        np.maximum(e, nonnegative, out=Z)
        e += 1
        return np.divide(Z, e, out=Z)

    def derivative(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return Y * (1 - Y)

    def derivative_from_output(self, Y: np.ndarray) -> np.ndarray:
        return Y * (1 - Y)
