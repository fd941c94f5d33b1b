"""AdamW: Adam with decoupled weight decay on by default."""

from __future__ import annotations

from minikeras_plugins.adam import AdamOptimizer


class AdamW(AdamOptimizer):
    """Keras's AdamW: the Adam rule after ``w = w * (1 - weight_decay * lr)`` at every step.

    Loshchilov and Hutter's decoupled weight decay, applied by the base ``Optimizer`` as for
    every optimizer given ``weight_decay``; here it defaults to 0.004 and must be a number
    (``None`` is refused, as in Keras). Arguments in Keras's order: ``weight_decay`` comes second.
    Keras's ``exclude_from_weight_decay`` is not available (the optimizer sees arrays, not names).
    """

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs) -> None:
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay: expected a number >= 0, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
                         gradient_accumulation_steps, name, **kwargs)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        # As Adam's, with the default decay 0.004: small against the check's curvatures (a * lr >= 0.05),
        # so the minimum moves towards 0 by under 1% of its distance from 0.
        return [{"learning_rate": 0.05}, {"learning_rate": 0.1, "beta_1": 0.5}]

    expected_failures = {
        "optimizer_zero_gradient_changes_nothing": "weight decay shrinks the weights at every step, zero gradients or not (as in Keras)",
    }
