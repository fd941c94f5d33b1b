"""Binary cross-entropy, as Keras 3's ``BinaryCrossentropy``."""

from __future__ import annotations

import numpy as np

from minikeras_core.registry import is_registered_as

from ._keras_loss import KerasLoss, check_flag, check_fraction, clipped, sigmoid


class BinaryCrossentropy(KerasLoss):
    """Per sample, averaged over the last axis: ``-mean_i (t_i log p_i + (1 - t_i) log(1 - p_i))``.

    - Label smoothing squeezes the targets towards 0.5: ``t = y (1 - s) + s / 2``.
    - Probabilities (``from_logits=False``): ``p`` is clipped to ``[eps, 1 - eps]``, ``eps = 1e-7``, so
      ``log(0)`` never happens; the clip passes no gradient outside that range.
    - Logits ``z`` (``from_logits=True``): each term is ``max(z, 0) - z t + log(1 + exp(-|z|))``, the
      same value without any clip, finite for any ``z``; its derivative is ``sigmoid(z) - t``.

    After a sigmoid (probabilities) the gradient with respect to the sigmoid's input is
    ``(p - t) / (batch * k)``, which ``fused_grad`` returns: exact even when the sigmoid saturates.
    Also registered as ``binary_cross_entropy`` (the original name) and ``bce``.
    """

    epsilon = 1e-7
    target_range = (0.0, 1.0)

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_crossentropy", dtype=None) -> None:
        self.from_logits = check_flag(type(self).__name__, "from_logits", from_logits)
        self.label_smoothing = check_fraction(type(self).__name__, "label_smoothing", label_smoothing)
        self._set_keras_options(reduction, name, dtype, axis)

    @classmethod
    def conformance_cases(cls):
        return [{}, {"from_logits": True}, {"label_smoothing": 0.2}, {"from_logits": True, "label_smoothing": 0.1}]

    @classmethod
    def hand_computed_case(cls):
        y_pred = np.array([[0.9, 0.2], [0.4, 0.7]])
        y_true = np.array([[1.0, 0.0], [0.0, 1.0]])
        # sample 0: -(log 0.9 + log 0.8) / 2; sample 1: -(log 0.6 + log 0.7) / 2; then the mean
        expected = (-(np.log(0.9) + np.log(0.8)) / 2 - (np.log(0.6) + np.log(0.7)) / 2) / 2
        return y_pred, y_true, expected

    def _smoothed(self, y_true: np.ndarray) -> np.ndarray:
        s = self.label_smoothing
        return y_true * (1 - s) + s / 2 if s else y_true

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        t = self._smoothed(y_true)
        if self.from_logits:
            terms = np.maximum(y_pred, 0) - y_pred * t
            terms += np.log1p(np.exp(-np.abs(y_pred)))
            return np.add.reduce(terms, axis=-1) / y_pred.shape[-1]
        p = clipped(y_pred, self.epsilon)
        terms = t * np.log(p)
        terms += (1 - t) * np.log1p(-p)
        return np.add.reduce(terms, axis=-1) / -y_pred.shape[-1]

    def per_sample_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        t = self._smoothed(y_true)
        if self.from_logits:
            return (sigmoid(y_pred) - t) / y_pred.shape[-1]
        p = clipped(y_pred, self.epsilon)
        inside = p == y_pred
        return np.where(inside, (p - t) / (p * (1 - p)), 0) / y_pred.shape[-1]

    def fused_grad(self, activation, y_pred: np.ndarray, y_true: np.ndarray):
        if self.from_logits or not is_registered_as(activation, "sigmoid"):
            return None
        t = self._smoothed(self.prepare_targets(y_pred, y_true))
        return (y_pred - t) / y_pred.size


BinaryCrossEntropy = BinaryCrossentropy  # the original class name, for code importing it from this module
