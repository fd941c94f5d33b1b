"""Binary accuracy."""

import numpy as np

from minikeras_core import Metric


class BinaryAccuracy(Metric):
    """Per sample ``mean_i (y_i == (p_i > threshold))`` over the last axis (Keras: threshold 0.5)."""

    direction = "up"

    def __init__(self, name: str | None = None, threshold: float = 0.5) -> None:
        super().__init__(name)
        self.threshold = float(threshold)

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        self.check_same_shape(y_pred, y_true, type(self).__name__)
        return np.mean(np.equal(y_true, y_pred > self.threshold), axis=-1)
