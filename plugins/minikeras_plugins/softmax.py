"""The softmax activation over the last axis."""

import numpy as np

from minikeras_core import Activation


class Softmax(Activation):
    """``softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x)`` over the last axis.

    Subtracting the row maximum leaves the value unchanged and keeps every exponent at most 0.
    The Jacobian is ``diag(s) - s s^T``, so the vector-Jacobian product is ``s * (g - <g, s>)``.
    """

    def eval(self, X: np.ndarray) -> np.ndarray:
        e = np.exp(X - X.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def grad_input(self, X: np.ndarray) -> np.ndarray:
        s = self.eval(X)
        return s[..., :, None] * (np.eye(X.shape[-1], dtype=s.dtype) - s[..., None, :])

    def backward(self, X: np.ndarray, grad_out: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
        s = self.eval(X) if Y is None else Y
        return s * (grad_out - np.sum(grad_out * s, axis=-1, keepdims=True))
