"""Adam: gradient steps scaled by running estimates of the gradient's first two moments."""

from __future__ import annotations

import math

import numpy as np

from minikeras_core import Optimizer, ScratchBuffers
from minikeras_core.arguments import fraction, positive_number


class AdamOptimizer(Optimizer):
    """Keras's Adam rule, per weight ``w`` with gradient ``g``, rate ``lr``, at step ``t`` (from 1).

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2`` (both zeros at the start),
    ``a = lr * sqrt(1 - b2^t) / (1 - b1^t)``, ``w = w - a * m / (sqrt(v) + eps)``.

    The bias correction is folded into the rate ``a``, so ``eps`` is added to the uncorrected
    ``sqrt(v)`` (Keras's "epsilon hat"), not to ``sqrt(v_hat)`` as in the paper's Algorithm 1.
    Keras evaluates the moments as ``m += (g - m)(1 - b1)``, equal up to rounding. Keras's
    ``amsgrad`` variant is not provided (the issue asks for plain Adam only), and unlike Keras,
    ``epsilon`` must be positive so that a zero gradient never gives 0/0.
    """

    elementwise = True

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate)
        self.beta_1 = fraction(beta_1, "beta_1", type(self).__name__)
        self.beta_2 = fraction(beta_2, "beta_2", type(self).__name__)
        self.epsilon = positive_number(epsilon, "epsilon", type(self).__name__)
        self._scratch = ScratchBuffers()

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        # Steps are about lr long, so the default 0.001 needs thousands of steps to cross a unit distance.
        return [{"learning_rate": 0.05}, {"learning_rate": 0.1, "beta_1": 0.5}]

    def create_state(self, param: np.ndarray) -> dict:
        return {"m": np.zeros_like(param), "v": np.zeros_like(param)}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        t = self.iterations
        # Python floats (not numpy float64 scalars), so float32 arrays stay float32.
        alpha = self.learning_rate * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        m, v, scratch = state["m"], state["v"], self._scratch(param)
        np.multiply(grad, 1.0 - self.beta_1, out=scratch)
        m *= self.beta_1
        m += scratch
        np.square(grad, out=scratch)
        scratch *= 1.0 - self.beta_2
        v *= self.beta_2
        v += scratch
        np.sqrt(v, out=scratch)
        scratch += self.epsilon
        np.divide(m, scratch, out=scratch)
        scratch *= alpha
        param -= scratch

