"""Binary accuracy."""

import numpy as np

from minikeras_core import Metric


class BinaryAccuracy(Metric):
    """Per sample ``mean_i (y_i == (p_i > threshold))`` over the last axis (Keras: threshold 0.5)."""

    direction = "up"

    def __init__(self, name: str | None = None, threshold: float = 0.5) -> None:
        super().__init__(name)
        self.threshold = float(threshold)

    @classmethod
    def hand_computed_case(cls):
        # sample 0: both entries right (1.0); sample 1: one of two right (0.5) -> mean 0.75
        return [[0.9, 0.2], [0.7, 0.4]], [[1.0, 0.0], [0.0, 0.0]], 0.75

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        return np.mean(np.equal(y_true, y_pred > self.threshold), axis=-1)
