"""Gradient descent, with optional momentum and Nesterov momentum."""

from __future__ import annotations

import numpy as np

from minikeras_core import Optimizer, ScratchBuffers
from minikeras_core.arguments import fraction


class GradientDescentOptimizer(Optimizer):
    """Keras's SGD rule, per weight ``w`` with gradient ``g`` and rate ``lr``.

    Without momentum: ``w = w - lr * g``. With momentum ``m``: ``v = m * v - lr * g``, then
    ``w = w + v``, or with Nesterov ``w = w + m * v - lr * g``. As in Keras, the velocity ``v``
    (zeros at the start) exists only when ``momentum`` is not 0.
    """

    elementwise = True  # each entry's update is its own: the model may update one flat buffer

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(learning_rate)
        self.momentum = fraction(momentum, "momentum", type(self).__name__, include_one=True)
        self.nesterov = bool(nesterov)
        self._scratch = ScratchBuffers()

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        # The default rate 0.01 needs many hundreds of steps on a quadratic of unit curvature.
        return [{"learning_rate": 0.1}, {"learning_rate": 0.05, "momentum": 0.9}, {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}]

    def create_state(self, param: np.ndarray) -> dict:
        return {"velocity": np.zeros_like(param)} if self.momentum else {}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        step = self._scratch(param)
        np.multiply(grad, self.learning_rate, out=step)  # lr * g
        if not self.momentum:
            param -= step
            return
        velocity = state["velocity"]
        velocity *= self.momentum
        velocity -= step
        if self.nesterov:
            param -= step
            np.multiply(velocity, self.momentum, out=step)
            param += step
        else:
            param += velocity


class NesterovGradientDescentOptimizer(GradientDescentOptimizer):
    """Gradient descent with Nesterov momentum 0.9 by default: the original README's "with Nesterov"."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9, nesterov: bool = True) -> None:
        super().__init__(learning_rate, momentum, nesterov)
