"""Categorical accuracy."""

import numpy as np

from minikeras_core import Metric


class CategoricalAccuracy(Metric):
    """Per sample ``1`` when ``argmax p`` is the true class, else ``0``.

    Targets may be one-hot rows (the class is their argmax) or integer class ids, so this also
    serves as Keras's ``sparse_categorical_accuracy``.
    """

    direction = "up"

    @classmethod
    def hand_computed_case(cls):
        # argmaxes 0, 2, 1 against classes 0, 1, 1 -> 2 of 3
        return [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]], [[1, 0, 0], [0, 1, 0], [0, 1, 0]], 2 / 3

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        predicted = np.argmax(y_pred, axis=-1)
        return (predicted == self.class_ids(y_pred, y_true, type(self).__name__)).astype(np.float64)
