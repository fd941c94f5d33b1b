"""Nadam: Adam with Nesterov momentum, after Dozat (2016), as Keras 3 computes it."""

from __future__ import annotations

import math

import numpy as np

from minikeras_core import Optimizer, ScratchBuffers
from minikeras_core.arguments import fraction, positive_number


class Nadam(Optimizer):
    """Keras's Nadam rule, per weight ``w`` with gradient ``g``, rate ``lr``, at step ``t`` (from 1).

    A momentum schedule ``u_t = b1 (1 - 0.5 * 0.96^t)`` and its running product
    ``P_t = u_1 ... u_t``; ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2`` (zeros at the
    start), ``m_hat = u_{t+1} m / (1 - P_t u_{t+1}) + (1 - u_t) g / (1 - P_t)``,
    ``v_hat = v / (1 - b2^t)``, ``w = w - lr * m_hat / (sqrt(v_hat) + eps)``.

    ``P_t`` depends on ``t`` alone, so it is computed from the step count rather than kept as
    state (Keras keeps it as a variable). Unlike Keras, ``beta_1`` and ``beta_2`` must be in
    [0, 1) and ``epsilon`` positive. The arguments after ``epsilon`` are Keras's common ones: see
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
        self._scratch, self._step = ScratchBuffers(), ScratchBuffers()  # the step needs two temporaries
        self._product = (0, 1.0)  # (t, P_t): extended one factor a step, recomputed after set_state

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        # Steps are about lr long, so the default 0.001 needs thousands of steps to cross a unit distance.
        return [{"learning_rate": 0.05}, {"learning_rate": 0.1, "beta_1": 0.5}]

    def create_state(self, param: np.ndarray) -> dict:
        return {"m": np.zeros_like(param), "v": np.zeros_like(param)}

    def _momentum(self, t: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96**t)

    def _momentum_product(self, t: int) -> float:
        """``P_t = u_1 ... u_t``."""
        known, product = self._product
        if known > t:
            known, product = 0, 1.0
        for step in range(known + 1, t + 1):
            product *= self._momentum(step)
        self._product = (t, product)
        return product

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        t, b1, b2 = self.iterations, self.beta_1, self.beta_2
        u_t, u_next = self._momentum(t), self._momentum(t + 1)
        product = self._momentum_product(t)
        m, v, scratch, step = state["m"], state["v"], self._scratch(param), self._step(param)
        np.multiply(grad, 1.0 - b1, out=scratch)
        m *= b1
        m += scratch
        np.square(grad, out=scratch)
        scratch *= 1.0 - b2
        v *= b2
        v += scratch
        np.multiply(m, u_next / (1.0 - product * u_next), out=step)
        np.multiply(grad, (1.0 - u_t) / (1.0 - product), out=scratch)
        step += scratch  # m_hat
        np.sqrt(v, out=scratch)
        scratch *= 1.0 / math.sqrt(1.0 - b2**t)
        scratch += self.epsilon
        scratch *= 1.0 / self.learning_rate
        step /= scratch
        param -= step
