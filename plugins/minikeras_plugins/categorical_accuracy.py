"""Categorical accuracy."""

import numpy as np

from minikeras_core import Metric


class CategoricalAccuracy(Metric):
    """Per sample ``1`` when ``argmax p`` is the true class, else ``0``.

    Targets may be one-hot rows (the class is their argmax) or integer class ids, so this also
    serves as Keras's ``sparse_categorical_accuracy``.
    """

    direction = "up"

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        predicted = np.argmax(y_pred, axis=-1)
        return (predicted == self.class_ids(y_pred, y_true, type(self).__name__)).astype(np.float64)
