"""RMSprop: gradient steps divided by a running root mean square of the gradient."""

from __future__ import annotations

import numpy as np

from minikeras_core import Optimizer, ScratchBuffers
from minikeras_core.arguments import fraction, positive_number


class RMSpropOptimizer(Optimizer):
    """Keras's RMSprop rule, per weight ``w`` with gradient ``g`` and rate ``lr``.

    ``v = rho v + (1 - rho) g^2`` (zeros at the start), ``inc = lr * g / sqrt(v + eps)``; with
    momentum ``m = momentum * m + inc`` (zeros at the start) and ``w = w - m``, without it
    ``w = w - inc``. As in Keras, ``m`` exists only when ``momentum`` is above 0. ``centered``
    also keeps the running mean ``a = rho a + (1 - rho) g`` and divides by
    ``sqrt(v - a^2 + eps)``, an estimate of the gradient's variance rather than its second moment.

    Keras does not check ``rho`` and ``momentum``; here both must be in [0, 1) and ``epsilon``
    positive. The arguments after ``centered`` are Keras's common ones: see ``minikeras_core.Optimizer``.
    """

    elementwise = True

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name, **kwargs)
        self.rho = fraction(rho, "rho", type(self).__name__)
        self.momentum = fraction(momentum, "momentum", type(self).__name__)
        self.epsilon = positive_number(epsilon, "epsilon", type(self).__name__)
        self.centered = bool(centered)
        self._scratch = ScratchBuffers()

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        # Steps stay about lr long (g / sqrt(v) does not shrink near the minimum), so the default 0.001
        # needs over a thousand steps to cross a unit distance, and a large rate hovers ~lr/2 away.
        # The rho=0.99 case is slower but ends within 1e-4 of a quadratic's minimum in 500 steps.
        return [{"learning_rate": 0.01, "momentum": 0.5}, {"learning_rate": 0.01, "rho": 0.99},
                {"learning_rate": 0.01, "centered": True}]

    def create_state(self, param: np.ndarray) -> dict:
        state = {"v": np.zeros_like(param)}
        if self.momentum > 0:
            state["m"] = np.zeros_like(param)
        if self.centered:
            state["mean"] = np.zeros_like(param)
        return state

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        v, scratch = state["v"], self._scratch(param)
        np.square(grad, out=scratch)
        scratch *= 1.0 - self.rho
        v *= self.rho
        v += scratch
        if self.centered:
            mean = state["mean"]
            mean *= self.rho
            np.multiply(grad, 1.0 - self.rho, out=scratch)
            mean += scratch
            np.square(mean, out=scratch)
            np.subtract(v, scratch, out=scratch)
            scratch += self.epsilon
        else:
            np.add(v, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(grad, scratch, out=scratch)
        scratch *= self.learning_rate  # inc
        if "m" in state:
            m = state["m"]
            m *= self.momentum
            m += scratch
            param -= m
        else:
            param -= scratch
