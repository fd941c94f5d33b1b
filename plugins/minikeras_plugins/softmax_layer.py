"""Keras's Softmax layer: softmax over any axis (or axes) of a sample."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer
from minikeras_core.arguments import axis_tuple, sample_axes


class Softmax(Layer):
    """``Y = exp(X - max X) / sum exp(X - max X)``, the max and sum over ``axis`` (an int or a
    tuple of ints, counted as Keras counts them: batch axis 0, ``-1`` the last).

    Subtracting the maximum leaves the value unchanged and keeps every exponent at most 0. The
    vector-Jacobian product is ``dX = Y * (G - sum(G * Y))``, the sum over ``axis``. The batch
    axis is refused: samples stay independent. Over the last axis (the default) the layer hands
    the work to the registered ``softmax`` activation, so that, last in a model with a
    cross-entropy loss, it gets the exact fused gradient ``p - y``.
    """

    def __init__(self, axis: int | tuple = -1, **kwargs: Any) -> None:
        owner = type(self).__name__
        if kwargs.get("activation") is not None:
            raise TypeError(f"{owner}: takes no activation (it is one), got activation={kwargs['activation']!r}")
        kwargs.pop("activation", None)
        self._axes = axis_tuple(axis, owner)
        super().__init__(activation="softmax" if self._axes == (-1,) else None, **kwargs)
        self.axis = axis
        self._Y_out: np.ndarray | None = None

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"input_size": (5,)},
            {"axis": 1, "input_size": (3, 4)},
            {"axis": (1, 3), "input_size": (2, 3, 2)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._sum_axes = sample_axes(self._label, self.axis, input_shape, "the batch axis 0 mixes samples")
        return input_shape

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        if self.activation is not None:  # the last axis: the registered softmax activation does it
            return X
        Y = X - X.max(axis=self._sum_axes, keepdims=True)
        np.exp(Y, out=Y)
        Y /= Y.sum(axis=self._sum_axes, keepdims=True)
        self._Y_out = Y if training else None
        return Y

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:
            return None
        if self.activation is not None:
            return grad
        Y = self._Y_out
        return Y * (grad - np.sum(grad * Y, axis=self._sum_axes, keepdims=True))
