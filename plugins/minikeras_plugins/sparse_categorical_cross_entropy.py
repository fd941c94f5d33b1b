"""Categorical cross-entropy on integer class ids, as Keras 3's ``SparseCategoricalCrossentropy``."""

from __future__ import annotations

import numpy as np

from ._keras_loss import check_flag
from .categorical_cross_entropy import CategoricalCrossentropy


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Per sample ``-log q_c`` for the true class ``c``, with ``q`` as in categorical cross-entropy.

    Targets are integer class ids of shape ``(batch,)`` or ``(batch, 1)`` (``(batch, t)`` for
    sequences), as Keras takes them; one-hot rows are accepted too. Probabilities are rescaled to
    sum to one and clipped to ``[1e-7, 1 - 1e-7]``; with ``from_logits=True`` ``log q`` is the log-softmax
    of the logits. Keras's ``ignore_class`` (drop the positions of one class from the mean) is not
    supported: only ``None`` is accepted.
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None, reduction: str | None = "sum_over_batch_size",
                 axis: int = -1, name: str = "sparse_categorical_crossentropy", dtype=None) -> None:
        owner = type(self).__name__
        if ignore_class is not None:
            raise ValueError(f"{owner}: ignore_class={ignore_class!r} is not supported; expected None (every class counts)")
        self.from_logits = check_flag(owner, "from_logits", from_logits)
        self.ignore_class = None
        self.label_smoothing = 0.0
        self._set_keras_options(reduction, name, dtype, axis)

    @classmethod
    def conformance_cases(cls):
        return [{}, {"from_logits": True}]

    @classmethod
    def hand_computed_case(cls):
        # Keras's own example: classes 1 and 2; -(log 0.95 + log 0.1) / 2 (the rows already sum to one)
        y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
        y_true = np.array([1, 2])
        return y_pred, y_true, -(np.log(0.95) + np.log(0.1)) / 2
