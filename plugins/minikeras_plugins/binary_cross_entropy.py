"""Binary cross-entropy."""

import numpy as np

from minikeras_core import Loss
from minikeras_core.registry import is_registered_as


class BinaryCrossEntropy(Loss):
    """Per sample, averaged over the last axis: ``-mean(y log p + (1 - y) log(1 - p))``.

    As Keras, ``p`` is clipped to ``[eps, 1 - eps]`` with ``eps = 1e-7`` so ``log(0)`` never
    happens; the clip passes no gradient outside that range. After a sigmoid the gradient with
    respect to the sigmoid's input is simply ``(p - y) / (batch * k)``, which ``fused_grad`` returns.
    """

    epsilon = 1e-7
    target_range = (0.0, 1.0)

    @classmethod
    def hand_computed_case(cls):
        y_pred = np.array([[0.9, 0.2], [0.4, 0.7]])
        y_true = np.array([[1.0, 0.0], [0.0, 1.0]])
        # sample 0: -(log 0.9 + log 0.8) / 2; sample 1: -(log 0.6 + log 0.7) / 2; then the mean
        expected = (-(np.log(0.9) + np.log(0.8)) / 2 - (np.log(0.6) + np.log(0.7)) / 2) / 2
        return y_pred, y_true, expected

    def _clipped(self, y_pred: np.ndarray) -> np.ndarray:
        eps = y_pred.dtype.type(self.epsilon)
        return np.minimum(np.maximum(y_pred, eps), 1 - eps)  # np.clip's result, with less overhead on small arrays

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        p = self._clipped(y_pred)
        terms = y_true * np.log(p)
        terms += (1 - y_true) * np.log1p(-p)
        return np.add.reduce(terms, axis=-1) / -y_pred.shape[-1]

    def per_sample_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        p = self._clipped(y_pred)
        inside = p == y_pred
        return np.where(inside, (p - y_true) / (p * (1 - p)), 0) / y_pred.shape[-1]

    def fused_grad(self, activation, y_pred: np.ndarray, y_true: np.ndarray):
        if not is_registered_as(activation, "sigmoid"):
            return None
        y_true = self.prepare_targets(y_pred, y_true)
        return (y_pred - y_true) / y_pred.size

