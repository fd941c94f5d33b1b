"""Mean squared error as a loss, as Keras 3's ``MeanSquaredError``."""

from __future__ import annotations

import numpy as np

from ._keras_loss import KerasLoss


class MeanSquaredError(KerasLoss):
    """Per sample ``mean_i (p_i - y_i)^2`` over the last axis; its gradient is ``2 (p - y) / k``.

    Targets have the predictions' shape (or ``(batch,)`` for one output unit). The metric of the
    same name (``minikeras.metrics``) reports the same figure without being optimised.
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error", dtype=None) -> None:
        self._set_keras_options(reduction, name, dtype)

    @classmethod
    def hand_computed_case(cls):
        # sample 0: (0.25 + 0.25) / 2 = 0.25; sample 1: (4 + 0) / 2 = 2 -> mean 1.125
        return np.array([[0.5, 0.5], [3.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 0.0]]), 1.125

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        diff = y_pred - y_true
        return np.add.reduce(diff * diff, axis=-1) / y_pred.shape[-1]

    def per_sample_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        return (y_pred - y_true) * (2 / y_pred.shape[-1])
