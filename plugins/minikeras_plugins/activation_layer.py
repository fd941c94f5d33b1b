"""Keras's Activation layer: an activation function as a layer of its own."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer


class Activation(Layer):
    """``Y = activation(X)`` for any registered activation, given by name, class or instance.

    The layer itself is the identity; the base ``Layer`` applies its ``activation`` and that
    activation's vector-Jacobian product, as for any layer, so ``Activation("softmax")`` last
    with a cross-entropy loss gets the exact fused gradient ``p - y``. ``None`` is the identity
    (Keras's linear).
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(activation=activation, **kwargs)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"activation": "tanh", "input_size": (4,)},
            {"activation": "softmax", "input_size": (2, 3)},
            {"activation": "relu", "input_size": (3, 2, 2)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        return X

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return grad if need_input_grad else None
