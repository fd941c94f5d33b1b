"""AdaGrad: each weight's rate shrinks with the sum of its squared gradients."""

from __future__ import annotations

import math

import numpy as np

from minikeras_core import Optimizer, ScratchBuffers
from minikeras_core.arguments import positive_number


class AdaGradOptimizer(Optimizer):
    """Keras's Adagrad rule, per weight ``w`` with gradient ``g`` and rate ``lr``.

    ``acc = acc + g^2`` (``acc`` starts at ``initial_accumulator_value``), then
    ``w = w - lr * g / sqrt(acc + eps)``.

    As in Keras, ``initial_accumulator_value`` must be >= 0; unlike Keras, ``epsilon`` must be
    positive, so that a zero gradient with a zero accumulator never gives 0/0. The arguments after
    ``epsilon`` are Keras's common ones (clipping, weight decay, ...): see ``minikeras_core.Optimizer``.
    """

    elementwise = True

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name, **kwargs)
        initial_accumulator_value = float(initial_accumulator_value)
        if not (math.isfinite(initial_accumulator_value) and initial_accumulator_value >= 0.0):
            raise ValueError(f"{type(self).__name__}: initial_accumulator_value must be a number >= 0, got {initial_accumulator_value}")
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = positive_number(epsilon, "epsilon", type(self).__name__)
        self._scratch = ScratchBuffers()

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        # With the default rate 0.001 the steps shrink like 0.001/sqrt(t): a quadratic is never reached.
        return [{"learning_rate": 0.5}, {"learning_rate": 1.0, "initial_accumulator_value": 0.0}]

    def create_state(self, param: np.ndarray) -> dict:
        return {"accumulator": np.full_like(param, self.initial_accumulator_value)}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        accumulator, scratch = state["accumulator"], self._scratch(param)
        np.square(grad, out=scratch)
        accumulator += scratch
        np.add(accumulator, self.epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.divide(grad, scratch, out=scratch)
        scratch *= self.learning_rate
        param -= scratch
