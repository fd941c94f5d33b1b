"""Keras's Softmax layer: softmax over any axis (or axes) of a sample."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer


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
        axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        if not axes or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
            raise ValueError(f"{owner}: axis must be an int or a tuple of ints, got {axis!r}")
        last = axes == (-1,)
        super().__init__(activation="softmax" if last else None, **kwargs)
        self.axis = axis
        self._axes = tuple(int(a) for a in axes)
        self._Y_out: np.ndarray | None = None

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"input_size": (5,)},
            {"axis": 1, "input_size": (3, 4)},
            {"axis": (1, 3), "input_size": (2, 3, 2)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        rank = len(input_shape) + 1
        axes = {a + rank if a < 0 else a for a in self._axes}
        if any(not 0 < a < rank for a in axes):
            raise ValueError(f"{self._label}: axis {self.axis!r} must name axes 1..{rank - 1} (or -{rank - 1}..-1) of inputs of "
                             f"shape (batch, {', '.join(map(str, input_shape))}); the batch axis 0 mixes samples")
        self._sum_axes = tuple(sorted(axes))
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
