"""Gradient descent, with optional momentum and Nesterov momentum."""

import numpy as np

from minikeras_core import Optimizer


class GradientDescentOptimizer(Optimizer):
    """Keras's SGD rule, per weight ``w`` with gradient ``g`` and rate ``lr``.

    Without momentum: ``w = w - lr * g``. With momentum ``m``: ``v = m * v - lr * g``, then
    ``w = w + v``, or with Nesterov ``w = w + m * v - lr * g``.
    """

    elementwise = True  # each entry's update is its own: the model may update one flat buffer

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(learning_rate)
        momentum = float(momentum)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1], got {momentum}")
        self.momentum = momentum
        self.nesterov = bool(nesterov)

    def create_state(self, param: np.ndarray) -> dict:
        return {"velocity": np.zeros_like(param)} if self.momentum else {}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        lr = self.learning_rate
        if not self.momentum:
            param -= lr * grad
            return
        velocity = state["velocity"]
        velocity *= self.momentum
        velocity -= lr * grad
        if self.nesterov:
            param += self.momentum * velocity - lr * grad
        else:
            param += velocity


class NesterovGradientDescentOptimizer(GradientDescentOptimizer):
    """Gradient descent with Nesterov momentum 0.9 by default: the original README's "with Nesterov"."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9, nesterov: bool = True) -> None:
        super().__init__(learning_rate, momentum, nesterov)
