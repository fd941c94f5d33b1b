"""The leaky rectified linear unit."""

import numpy as np

from minikeras_core import ElementwiseActivation


class LeakyReLU(ElementwiseActivation):
    """``f(x) = x`` for ``x >= 0`` and ``negative_slope * x`` otherwise; ``f'(x)`` is 1 or ``negative_slope``.

    The default slope 0.3 is that of Keras 3's ``keras.layers.LeakyReLU(negative_slope=0.3)``
    (the function ``keras.activations.leaky_relu`` defaults to 0.2). At 0 the derivative is taken
    as ``negative_slope``.
    """

    def __init__(self, negative_slope: float = 0.3) -> None:
        negative_slope = float(negative_slope)
        if not np.isfinite(negative_slope) or negative_slope < 0:
            raise ValueError(f"LeakyReLU: negative_slope must be a number >= 0, got {negative_slope}")
        self.negative_slope = negative_slope

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [{}, {"negative_slope": 0.05}]

    def eval(self, X: np.ndarray) -> np.ndarray:
        # a Python float times a float32 array stays float32
        return np.where(X >= 0, X, self.negative_slope * X)

    def derivative(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return np.where(X > 0, 1.0, self.negative_slope).astype(X.dtype, copy=False)
