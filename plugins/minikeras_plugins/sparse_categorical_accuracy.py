"""Accuracy on integer class ids, as Keras 3's ``SparseCategoricalAccuracy``."""

from __future__ import annotations

import numpy as np

from minikeras_core import Metric


class SparseCategoricalAccuracy(Metric):
    """Per sample ``1`` when ``argmax p`` is the true class, else ``0``.

    Targets are integer class ids of shape ``(batch,)`` or ``(batch, 1)``, as Keras takes them;
    one-hot rows are accepted too. On a tie ``argmax`` picks the first of the largest entries, as
    Keras's backends do, so a tie counts only when the true class comes first. ``dtype`` is
    accepted for Keras's signature; the figure is a float64 mean whatever it is.
    """

    direction = "up"

    def __init__(self, name: str | None = None, dtype=None) -> None:
        super().__init__(name)
        self.dtype = dtype

    @classmethod
    def hand_computed_case(cls):
        # Keras's example: argmaxes 1 and 1 against classes 2 and 1 -> 1 of 2; the third row ties
        # classes 0 and 2, argmax takes 0, the class is 2 -> 1 of 3
        y_pred = [[0.1, 0.6, 0.3], [0.05, 0.95, 0.0], [0.4, 0.2, 0.4]]
        return y_pred, [[2], [1], [2]], 1 / 3

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        predicted = np.argmax(y_pred, axis=-1)
        return (predicted == self.class_ids(y_pred, y_true, type(self).__name__)).astype(np.float64)
