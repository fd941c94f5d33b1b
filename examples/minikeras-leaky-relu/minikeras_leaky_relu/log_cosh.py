"""The logarithm of the hyperbolic cosine of the prediction error."""

import numpy as np

from minikeras_core import Loss


class LogCosh(Loss):
    """Per sample, averaged over the last axis as Keras's ``LogCosh``: ``mean(log(cosh(y_pred - y_true)))``.

    Computed as ``|x| + log1p(exp(-2|x|)) - log 2``, which never overflows; the derivative of
    ``log(cosh(x))`` is ``tanh(x)``. Close to ``x^2 / 2`` for small errors and ``|x| - log 2`` for large
    ones, it is a squared error that large errors do not dominate.
    """

    @classmethod
    def hand_computed_case(cls):
        y_pred = np.array([[1.0, 0.0], [0.5, 2.0]])
        y_true = np.array([[0.0, 0.0], [0.5, 0.0]])
        # errors (1, 0) and (0, 2); log cosh 0 = 0
        expected = (np.log(np.cosh(1.0)) / 2 + np.log(np.cosh(2.0)) / 2) / 2
        return y_pred, y_true, expected

    def per_sample(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        a = np.abs(y_pred - y_true)
        return np.mean(a + np.log1p(np.exp(-2 * a)) - np.log(2.0), axis=-1)

    def per_sample_grad(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        return np.tanh(y_pred - y_true) / y_pred.shape[-1]
