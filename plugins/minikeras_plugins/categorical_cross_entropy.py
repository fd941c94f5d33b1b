"""Categorical cross-entropy over the last (class) axis, as Keras 3's ``CategoricalCrossentropy``."""

from __future__ import annotations

import numpy as np

from minikeras_core.registry import is_registered_as

from ._keras_loss import KerasLoss, check_flag, check_fraction, clipped, log_softmax


class CategoricalCrossentropy(KerasLoss):
    """Per sample: ``-sum_i t_i log q_i``.

    - Label smoothing spreads ``s`` over the ``k`` classes: ``t = y (1 - s) + s / k``.
    - Probabilities (``from_logits=False``): ``q = clip(p / sum(p), eps, 1 - eps)``, ``eps = 1e-7``, as
      Keras: rescaled to sum to one, then clipped so ``log(0)`` never happens.
    - Logits ``z`` (``from_logits=True``): ``log q = log_softmax(z)``, computed with the row maximum
      subtracted, finite for any ``z``; the gradient is ``softmax(z) sum(t) - t``.

    Targets may be one-hot rows (or any rows of weights) or integer class ids. After a softmax
    (probabilities) the gradient with respect to the softmax's input is ``(p sum(t) - t) / batch``
    (``p - t`` for rows summing to one), which ``fused_grad`` returns: it stays exact when the
    softmax saturates. Also registered as ``categorical_cross_entropy`` (the original name).
    """

    epsilon = 1e-7
    target_range = (0.0, 1.0)
    accepts_class_ids = True

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "categorical_crossentropy", dtype=None) -> None:
        self.from_logits = check_flag(type(self).__name__, "from_logits", from_logits)
        self.label_smoothing = check_fraction(type(self).__name__, "label_smoothing", label_smoothing)
        self._set_keras_options(reduction, name, dtype, axis)

    @classmethod
    def conformance_cases(cls):
        return [{}, {"from_logits": True}, {"label_smoothing": 0.2}, {"from_logits": True, "label_smoothing": 0.1}]

    @classmethod
    def hand_computed_case(cls):
        y_pred = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
        y_true = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        expected = -(np.log(0.7) + np.log(0.6)) / 2
        return y_pred, y_true, expected

    def _smoothed(self, y_true: np.ndarray) -> np.ndarray:
        s = self.label_smoothing
        return y_true * (1 - s) + s / y_true.shape[-1] if s else y_true

    def _normalized(self, y_pred: np.ndarray):
        total = np.maximum(y_pred.sum(axis=-1, keepdims=True), np.finfo(y_pred.dtype).tiny)
        q = y_pred / total
        return total, q, clipped(q, self.epsilon)

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        t = self._smoothed(y_true)
        log_q = log_softmax(y_pred) if self.from_logits else np.log(self._normalized(y_pred)[2])
        return -np.add.reduce(t * log_q, axis=-1)

    def per_sample_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        t = self._smoothed(y_true)
        if self.from_logits:
            return np.exp(log_softmax(y_pred)) * t.sum(axis=-1, keepdims=True) - t
        # L = -sum_i t_i log clip(q_i), q = p / S: dL/dp_j = (a_j - sum_i a_i q_i) / S, a_i = dL/dq_i
        total, q, clip_q = self._normalized(y_pred)
        a = np.where(clip_q == q, -t / clip_q, 0)
        return (a - np.sum(a * q, axis=-1, keepdims=True)) / total

    def fused_grad(self, activation, y_pred: np.ndarray, y_true: np.ndarray):
        if self.from_logits or not is_registered_as(activation, "softmax"):
            return None
        t = self._smoothed(self.prepare_targets(y_pred, y_true))
        count = y_pred.size // y_pred.shape[-1]
        return (y_pred * t.sum(axis=-1, keepdims=True) - t) / count


CategoricalCrossEntropy = CategoricalCrossentropy  # the original class name, for code importing it from this module
