"""Mean squared error as a metric."""

import numpy as np

from minikeras_core import Metric


class MeanSquaredError(Metric):
    """Per sample ``mean_i (p_i - y_i)^2`` over the last axis."""

    @classmethod
    def hand_computed_case(cls):
        # sample 0: (0.25 + 0.25) / 2 = 0.25; sample 1: (1 + 0) / 2 = 0.5 -> mean 0.375
        return [[0.5, 0.5], [1.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]], 0.375

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        diff = y_pred - y_true
        return np.mean(diff * diff, axis=-1)
