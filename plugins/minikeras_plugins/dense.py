"""The fully connected layer."""

import numpy as np

from minikeras_core import Layer
from minikeras_core.arguments import positive_int


class Dense(Layer):
    """``Y = activation(X @ kernel + bias)`` over the last axis of ``X``.

    ``kernel`` has shape ``(in, units)`` (Glorot uniform) and ``bias`` ``(units,)`` (zeros), as in
    Keras. Leading axes other than the features, such as time steps, are kept. Gradients:
    ``dkernel = X^T G``, ``dbias = sum of G over samples``, ``dX = G kernel^T``.
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs) -> None:
        super().__init__(activation=activation, **kwargs)
        self.units = positive_int(units, "units", "Dense")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"units": 3, "input_size": (4,)},
            {"units": 2, "activation": "tanh", "input_size": (3, 5)},
            {"units": 2, "use_bias": False, "input_size": (3,)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape[:-1] + (self.units,)

    def create_weights(self, input_shape: tuple) -> None:
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            self._X = X
        Z = X @ self.params["kernel"]
        if self.use_bias:
            Z += self.params["bias"]
        return Z

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        X = self._X.reshape(-1, self._X.shape[-1])
        G = grad.reshape(-1, self.units)
        np.matmul(X.T, G, out=self.grads["kernel"])
        if self.use_bias:
            np.add.reduce(G, axis=0, out=self.grads["bias"])
        if not need_input_grad:  # the first layer of a model: dL/dX would be a third matrix product, unused
            return None
        return grad @ self.params["kernel"].T
