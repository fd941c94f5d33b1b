"""Inverted dropout, active only while training."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer
from minikeras_core.arguments import fraction, non_negative_int


class Dropout(Layer):
    """While training ``Y = X * m / (1 - rate)`` with ``m = (u >= rate)``, ``u`` uniform in ``[0, 1)``: each
    entry is kept with probability ``1 - rate``; otherwise (evaluate, predict) ``Y = X``.

    ``u`` comes from ``Layer.random_uniform`` with the layer's ``seed``: per step of ``fit``, the
    same however a batch is cut into parts. ``noise_shape`` is the mask's shape, batch axis
    first, as in Keras: ``None`` takes the input's size, ``1`` shares one mask entry along that
    axis (``(None, 1, features)``: one mask per sequence for all its steps). A batch entry of
    ``1`` shares one mask across the batch (the layer then trains the batch in one piece); any
    other batch entry means one mask per sample. The gradient is ``dX = G * m / (1 - rate)``.
    ``rate=1`` drops everything (``Y = 0``), as Keras.
    """

    def __init__(self, rate: float, noise_shape: tuple | None = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.rate = fraction(rate, "rate", owner, include_one=True)
        self.seed = None if seed is None else non_negative_int(seed, "seed", owner)
        self.noise_shape = None
        if noise_shape is not None:
            entries = tuple(noise_shape) if isinstance(noise_shape, (tuple, list)) else ()
            if not entries or any(e is not None and (isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e <= 0) for e in entries):
                raise ValueError(f"{owner}: noise_shape must be a tuple of positive ints or None (batch axis first), got {noise_shape!r}")
            self.noise_shape = tuple(None if e is None else int(e) for e in entries)
            if self.noise_shape[0] == 1:  # one mask row for the whole batch: parts of a batch would each draw their own
                self.parallel_training = False
        self._mask: np.ndarray | None = None

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"rate": 0.3, "input_size": (5,)},
            {"rate": 0.5, "noise_shape": (None, 1, 3), "seed": 4, "input_size": (4, 3)},
            {"rate": 0.2, "noise_shape": (1, 2, None), "input_size": (2, 3)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if self.noise_shape is not None:
            rank = len(input_shape) + 1
            ok = len(self.noise_shape) == rank and all(e in (None, 1, d) for e, d in zip(self.noise_shape[1:], input_shape))
            if not ok:
                raise ValueError(f"{self._label}: noise_shape {self.noise_shape} does not broadcast to inputs of shape "
                                 f"(batch, {', '.join(map(str, input_shape))}): expected {rank} entries, each None, 1 or the input's size")
        return input_shape

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        self._mask = None
        if not training or self.rate == 0.0:
            return X
        if self.rate == 1.0:
            self._mask = np.zeros((1,) * X.ndim, dtype=bool)
            return np.zeros_like(X)
        shape = X.shape if self.noise_shape is None else tuple(1 if e == 1 else n for e, n in zip(self.noise_shape, X.shape))
        self._mask = self.random_uniform(shape, self.seed) >= self.rate
        Z = X / (1.0 - self.rate)  # divided, then masked, as Keras
        Z *= self._mask
        return Z

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:  # no weights: nothing else to compute
            return None
        if self._mask is None:
            return grad
        if self.rate == 1.0:
            return np.zeros_like(grad)
        dX = grad / (1.0 - self.rate)
        dX *= self._mask
        return dX
