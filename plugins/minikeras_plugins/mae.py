"""Mean absolute error as a metric."""

import numpy as np

from minikeras_core import Metric


class MeanAbsoluteError(Metric):
    """Per sample ``mean_i |p_i - y_i|`` over the last axis."""

    @classmethod
    def hand_computed_case(cls):
        # sample 0: (0.5 + 0.5) / 2 = 0.5; sample 1: (1 + 0) / 2 = 0.5; sample 2: (0.25 + 0.75) / 2 = 0.5
        return [[0.5, 0.5], [1.0, 0.0], [0.75, 0.25]], [[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]], 0.5

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        return np.mean(np.abs(y_pred - y_true), axis=-1)
