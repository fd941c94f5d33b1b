"""Gradient descent, with optional momentum and Nesterov momentum."""

from __future__ import annotations

import numpy as np

from minikeras_core import Optimizer, ScratchBuffers
from minikeras_core.arguments import fraction


class GradientDescentOptimizer(Optimizer):
    """Keras's SGD rule, per weight ``w`` with gradient ``g`` and rate ``lr``.

    Without momentum: ``w = w - lr * g``. With momentum ``m``: ``v = m * v - lr * g``, then
    ``w = w + v``, or with Nesterov ``w = w + m * v - lr * g``. As in Keras, the velocity ``v``
    (zeros at the start) exists only when ``momentum`` is not 0. The arguments after ``nesterov``
    are Keras's common ones (clipping, weight decay, ...): see ``minikeras_core.Optimizer``.
    """

    elementwise = True  # each entry's update is its own: the model may update one flat buffer

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name, **kwargs)
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

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9, nesterov: bool = True,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, momentum, nesterov, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
                         ema_momentum, ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name,
                         **kwargs)
