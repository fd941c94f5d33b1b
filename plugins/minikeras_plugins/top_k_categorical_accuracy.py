"""Top-k accuracy, as Keras 3's ``TopKCategoricalAccuracy``."""

from __future__ import annotations

import numpy as np

from minikeras_core import Metric


class TopKCategoricalAccuracy(Metric):
    """Per sample ``1`` when the true class's score is among the ``k`` largest, else ``0``.

    As Keras's ``in_top_k``: the class is in the top ``k`` when fewer than ``k`` scores are strictly
    larger than its own, so scores tied at the boundary all count as in (with ``k >= classes``
    every sample counts); a NaN score of the true class never does. Targets are one-hot rows (the
    class is their argmax) or integer class ids. ``dtype`` is accepted for Keras's signature.
    """

    direction = "up"

    def __init__(self, k: int = 5, name: str | None = None, dtype=None) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"TopKCategoricalAccuracy: k must be a positive integer, got {k!r}")
        super().__init__(name)
        self.k = int(k)
        self.dtype = dtype

    @classmethod
    def conformance_cases(cls):
        return [{"k": 2}, {}, {"k": 1}]

    @classmethod
    def hand_computed_case(cls):
        # k = 2 (the first case). Row 0: class 2's 0.3 has one larger score (0.6) -> in. Row 1:
        # class 0's 0.05 has two larger -> out. Row 2: class 1's 0.3 ties 0.3 for second place,
        # one score (0.4) is larger -> in. 2 of 3.
        y_pred = [[0.1, 0.6, 0.3], [0.05, 0.95, 0.5], [0.4, 0.3, 0.3]]
        return y_pred, [[0, 0, 1], [1, 0, 0], [0, 1, 0]], 2 / 3

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        ids = self.class_ids(y_pred, y_true, type(self).__name__)
        own = np.take_along_axis(y_pred, ids[..., None], axis=-1)
        larger = np.count_nonzero(y_pred > own, axis=-1)
        return ((larger < self.k) & ~np.isnan(own[..., 0])).astype(np.float64)
