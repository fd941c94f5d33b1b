"""The Huber loss, as Keras 3's ``Huber``."""

from __future__ import annotations

import numpy as np

from ._keras_loss import KerasLoss, as_float


class Huber(KerasLoss):
    """Per sample the mean over the last axis of ``h(e)``, ``e = p - y``:

    ``h(e) = e^2 / 2`` where ``|e| <= delta``, else ``delta |e| - delta^2 / 2`` (quadratic near zero,
    linear beyond ``delta``, continuous with its derivative). ``h'(e) = clip(e, -delta, delta)``.
    """

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size", name: str = "huber_loss",
                 dtype=None) -> None:
        self.delta = as_float("Huber", "delta", delta)
        if not self.delta > 0:
            raise ValueError(f"Huber: delta must be positive, got {delta!r}")
        self._set_keras_options(reduction, name, dtype)

    @classmethod
    def conformance_cases(cls):
        return [{}, {"delta": 0.3}]

    @classmethod
    def hand_computed_case(cls):
        # errors 0.5 and 3 with delta 1: 0.125 and 3 - 0.5 = 2.5 -> sample 0: 1.3125; errors 0, -2: 0 and 1.5 -> 0.75
        return np.array([[1.5, 3.0], [0.0, -2.0]]), np.array([[1.0, 0.0], [0.0, 0.0]]), (1.3125 + 0.75) / 2

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        e = y_pred - y_true
        a = np.abs(e)
        d = y_pred.dtype.type(self.delta)
        h = np.where(a <= d, 0.5 * e * e, d * a - 0.5 * d * d)
        return np.add.reduce(h, axis=-1) / y_pred.shape[-1]

    def per_sample_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        d = y_pred.dtype.type(self.delta)
        return np.clip(y_pred - y_true, -d, d) / y_pred.shape[-1]
