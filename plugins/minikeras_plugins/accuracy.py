"""Accuracy that picks the binary or the categorical rule from the output's shape, as Keras's "accuracy"."""

import numpy as np

from minikeras_core import Metric


class Accuracy(Metric):
    """With one output unit: ``mean(y_true == (p > 0.5))`` (binary); with ``k > 1``: ``mean(argmax p == class)``.

    Keras resolves the string ``"accuracy"`` the same way from the model's last dimension. For
    ``k > 1`` targets may be one-hot rows or integer class ids.
    """

    direction = "up"

    @classmethod
    def hand_computed_case(cls):
        # one output unit: 0.8 > 0.5 is right, 0.4 is right for a 0, 0.6 is wrong for a 0 -> 2 of 3
        return [[0.8], [0.4], [0.6]], [[1.0], [0.0], [0.0]], 2 / 3

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        if y_pred.shape[-1] == 1:
            return np.mean(np.equal(y_true, y_pred > 0.5), axis=-1)
        predicted = np.argmax(y_pred, axis=-1)
        return (predicted == self.class_ids(y_pred, y_true, type(self).__name__)).astype(np.float64)
