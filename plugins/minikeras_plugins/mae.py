"""Mean absolute error as a metric."""

import numpy as np

from minikeras_core import Metric


class MeanAbsoluteError(Metric):
    """Per sample ``mean_i |p_i - y_i|`` over the last axis."""

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        self.check_same_shape(y_pred, y_true, type(self).__name__)
        return np.mean(np.abs(y_pred - y_true), axis=-1)
