"""Mean absolute error as a loss, as Keras 3's ``MeanAbsoluteError``."""

from __future__ import annotations

import numpy as np

from ._keras_loss import KerasLoss


class MeanAbsoluteError(KerasLoss):
    """Per sample ``mean_i |p_i - y_i|`` over the last axis; its gradient is ``sign(p - y) / k``.

    At ``p_i = y_i`` the gradient is 0 (the subgradient Keras's backends take). Targets have the
    predictions' shape (or ``(batch,)`` for one output unit).
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error", dtype=None) -> None:
        self._set_keras_options(reduction, name, dtype)

    @classmethod
    def hand_computed_case(cls):
        # sample 0: (0.5 + 0.5) / 2 = 0.5; sample 1: (2 + 0) / 2 = 1 -> mean 0.75
        return np.array([[0.5, 0.5], [3.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 0.0]]), 0.75

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        return np.add.reduce(np.abs(y_pred - y_true), axis=-1) / y_pred.shape[-1]

    def per_sample_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        return np.sign(y_pred - y_true) / y_pred.shape[-1]
