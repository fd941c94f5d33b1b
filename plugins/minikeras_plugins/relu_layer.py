"""Keras's ReLU layer: a rectifier with a ceiling, a threshold and a slope below it."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer


class ReLU(Layer):
    """Keras's formula, with ``t = threshold``, ``s = negative_slope``, ``m = max_value``::

        f(x) = min(x * [x > t], m) - s * max(t - x, 0)

    that is ``m`` for ``x >= m``, ``x`` for ``t < x < m``, ``s * (x - t)`` for ``x < t`` (and
    ``0`` at ``x = t``). The derivative is ``[t < x < m] + s * [x < t]``. All three are
    ``>= 0``; ``max_value=None`` is no ceiling.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        for argument, value in (("max_value", max_value), ("negative_slope", negative_slope), ("threshold", threshold)):
            if value is None and argument == "max_value":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value >= 0:
                raise ValueError(f"{owner}: {argument} must be a number >= 0, got {value!r}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"input_size": (6,)},
            {"max_value": 0.8, "negative_slope": 0.3, "input_size": (3, 4)},
            {"max_value": 1.2, "negative_slope": 0.1, "threshold": 0.4, "input_size": (2, 5)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        t, m, s = self.threshold, self.max_value, self.negative_slope
        Z = np.where(X > t, X, X.dtype.type(0))
        if m is not None:
            np.minimum(Z, X.dtype.type(m), out=Z)
        if s:
            Z -= s * np.maximum(t - X, 0)
        self._X = X if training else None
        return Z

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:
            return None
        X, t, m, s = self._X, self.threshold, self.max_value, self.negative_slope
        passing = X > t
        if m is not None:
            passing &= X < m
        dX = np.multiply(grad, passing, dtype=grad.dtype)
        if s:
            dX += s * np.multiply(grad, X < t, dtype=grad.dtype)
        return dX
