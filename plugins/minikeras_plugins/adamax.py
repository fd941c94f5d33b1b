"""Adamax: Adam with the infinity norm of past gradients in place of their root mean square."""

from __future__ import annotations

import numpy as np

from minikeras_core import Optimizer, ScratchBuffers
from minikeras_core.arguments import fraction, positive_number


class Adamax(Optimizer):
    """Keras's Adamax rule, per weight ``w`` with gradient ``g``, rate ``lr``, at step ``t`` (from 1).

    ``m = b1 m + (1 - b1) g``, ``u = max(b2 u, |g|)`` (both zeros at the start),
    ``w = w - lr * m / ((1 - b1^t) (u + eps))``.

    Unlike Keras, ``beta_1`` and ``beta_2`` must be in [0, 1) and ``epsilon`` positive (so a zero
    gradient never gives 0/0). The arguments after ``epsilon`` are Keras's common ones: see
    ``minikeras_core.Optimizer``.
    """

    elementwise = True

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name, **kwargs)
        self.beta_1 = fraction(beta_1, "beta_1", type(self).__name__)
        self.beta_2 = fraction(beta_2, "beta_2", type(self).__name__)
        self.epsilon = positive_number(epsilon, "epsilon", type(self).__name__)
        self._scratch = ScratchBuffers()

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        # Steps are about lr long, so the default 0.001 needs thousands of steps to cross a unit distance.
        return [{"learning_rate": 0.05}, {"learning_rate": 0.1, "beta_1": 0.5}]

    def create_state(self, param: np.ndarray) -> dict:
        return {"m": np.zeros_like(param), "u": np.zeros_like(param)}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        b1 = self.beta_1
        m, u, scratch = state["m"], state["u"], self._scratch(param)
        np.multiply(grad, 1.0 - b1, out=scratch)
        m *= b1
        m += scratch
        u *= self.beta_2
        np.maximum(u, np.abs(grad, out=scratch), out=u)
        np.add(u, self.epsilon, out=scratch)
        scratch *= (1.0 - b1**self.iterations) / self.learning_rate
        np.divide(m, scratch, out=scratch)
        param -= scratch
