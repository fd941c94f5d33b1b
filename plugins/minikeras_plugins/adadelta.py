"""Adadelta: steps sized by a running RMS of past steps over a running RMS of gradients."""

from __future__ import annotations

import numpy as np

from minikeras_core import Optimizer, ScratchBuffers
from minikeras_core.arguments import fraction, positive_number


class Adadelta(Optimizer):
    """Keras's Adadelta rule, per weight ``w`` with gradient ``g`` and rate ``lr``.

    ``a = rho a + (1 - rho) g^2``, ``d = -sqrt(s + eps) / sqrt(a + eps) * g``,
    ``s = rho s + (1 - rho) d^2``, ``w = w + lr * d`` (``a`` and ``s`` zeros at the start).

    Keras keeps the original paper's unit-free step ``d`` and multiplies it by ``lr`` (the paper
    has no rate: ``lr = 1.0``); with the default 0.001 the first steps are tiny (``d`` starts
    about ``sqrt(eps)`` long). Unlike Keras, ``rho`` must be in [0, 1) and ``epsilon`` positive.
    The arguments after ``epsilon`` are Keras's common ones: see ``minikeras_core.Optimizer``.
    """

    elementwise = True

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name, **kwargs)
        self.rho = fraction(rho, "rho", type(self).__name__)
        self.epsilon = positive_number(epsilon, "epsilon", type(self).__name__)
        self._scratch, self._second = ScratchBuffers(), ScratchBuffers()  # the step needs two temporaries

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        # The step's scale is sqrt(s + eps), which grows only as fast as past steps: the paper's rate
        # 1.0 and a larger epsilon reach a quadratic's minimum in hundreds of steps, the defaults not.
        # (With a short memory, rho 0.8 or 0.9 at rate 1.0, steps can outgrow a stiff quadratic's.)
        return [{"learning_rate": 1.0, "epsilon": 1e-3}, {"learning_rate": 0.5, "rho": 0.9, "epsilon": 1e-3}]

    def create_state(self, param: np.ndarray) -> dict:
        return {"accumulated_grad": np.zeros_like(param), "accumulated_delta": np.zeros_like(param)}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        rho, eps = self.rho, self.epsilon
        grads2, deltas2 = state["accumulated_grad"], state["accumulated_delta"]
        step, scratch = self._scratch(param), self._second(param)
        np.square(grad, out=scratch)
        scratch *= 1.0 - rho
        grads2 *= rho
        grads2 += scratch
        np.add(deltas2, eps, out=step)
        np.sqrt(step, out=step)
        step *= grad
        np.add(grads2, eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        step /= scratch  # -d
        np.square(step, out=scratch)
        scratch *= 1.0 - rho
        deltas2 *= rho
        deltas2 += scratch
        step *= self.learning_rate
        param -= step
