"""2-D max pooling over height and width, channel by channel."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer

from . import _spatial


class MaxPool2D(Layer):
    """``Y[b, y, x, c] = max_{i < kh, j < kw} Xp[b, y*sh + i, x*sw + j, c]``.

    ``stride`` defaults to ``ksize`` (Keras's ``strides=None``). ``padding`` is ``"valid"``,
    ``"same"`` (Keras's: ``out = ceil(size / stride)``; padded cells never win, as if they
    were ``-inf``), or an int / ``(ph, pw)`` pair of zeros added on every side, as the original
    Mini-Keras padded.

    The gradient of each output goes to one input only: the first maximum of its window in
    row-major order (PyTorch's rule for ties). Windows that overlap (``stride < ksize``) add
    their gradients where they share an input. Forward keeps the winner's offset per output,
    found with ``kh * kw`` strided comparisons; backward adds ``G`` back at the winners, one
    offset at a time. When windows tile the input (``stride == ksize``, no padding) a
    reshape to ``(n, out_h, kh, out_w, kw, c)`` does both without a loop.
    """

    def __init__(
        self,
        ksize: Any = 2,
        stride: Any = None,
        padding: Any = 0,
        input_size: tuple | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size=input_size, name=name, dtype=dtype)
        owner = type(self).__name__
        self.ksize = _spatial.as_pair(ksize, "ksize", owner)
        self.stride = self.ksize if stride is None else _spatial.as_pair(stride, "stride", owner)
        self.padding = _spatial.as_padding(padding, owner)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"ksize": 2, "input_size": (4, 6, 2)},
            {"ksize": 2, "stride": 1, "input_size": (5, 6, 2)},
            {"ksize": (3, 2), "stride": 2, "padding": "same", "input_size": (5, 6, 3)},
            {"ksize": 3, "stride": (2, 1), "padding": 1, "input_size": (5, 5, 1)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._pads, self._out = _spatial.plan(self._label, input_shape, self.ksize, self.stride, self.padding)
        # windows tile the top-left of the input exactly: reshape instead of strided gathers
        self._tiled = self.stride == self.ksize and not any(self._pads)
        return self._out + (input_shape[-1],)

    def _tiles(self, X: np.ndarray) -> np.ndarray:
        (kh, kw), (oh, ow) = self.ksize, self._out
        return X[:, : oh * kh, : ow * kw, :].reshape(len(X), oh, kh, ow, kw, X.shape[3])

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        kh, kw = self.ksize
        if self._tiled:
            tiles = self._tiles(X)
            if not training:
                return tiles.max(axis=(2, 4))
            candidates = [tiles[:, :, i, :, j, :] for i in range(kh) for j in range(kw)]
        else:
            fill = -np.inf if self.padding == "same" else 0.0
            view = _spatial.windows(_spatial.pad(X, self._pads, fill), self.ksize, self.stride, self._out)
            candidates = [view[:, :, :, i, j, :] for i in range(kh) for j in range(kw)]
        Y = candidates[0].copy()
        if not training:
            for candidate in candidates[1:]:
                np.maximum(Y, candidate, out=Y)
            return Y
        winner = np.zeros(Y.shape, dtype=np.uint8 if kh * kw < 256 else np.int32)
        for code, candidate in enumerate(candidates[1:], start=1):
            better = candidate > Y  # strict: on a tie the earlier offset (row-major) keeps the win
            np.putmask(winner, better, code)
            np.putmask(Y, better, candidate)
        self._winner, self._input_shape_n = winner, X.shape
        return Y

    def call_backward(self, grad: np.ndarray) -> np.ndarray:
        (kh, kw), (oh, ow) = self.ksize, self._out
        winner = self._winner
        n, h, w, c = self._input_shape_n
        if self._tiled:
            codes = np.arange(kh * kw, dtype=winner.dtype).reshape(kh, 1, kw, 1)
            hit = winner[:, :, None, :, None, :] == codes  # (n, oh, kh, ow, kw, c)
            tiles = np.where(hit, grad[:, :, None, :, None, :], np.zeros((), dtype=grad.dtype))
            if (oh * kh, ow * kw) == (h, w):
                return tiles.reshape(n, h, w, c)
            dX = np.zeros((n, h, w, c), dtype=grad.dtype)
            dX[:, : oh * kh, : ow * kw, :] = tiles.reshape(n, oh * kh, ow * kw, c)
            return dX
        top, bottom, left, right = self._pads
        dXp = np.zeros((n, h + top + bottom, w + left + right, c), dtype=grad.dtype)
        zero = np.zeros((), dtype=grad.dtype)
        for i in range(kh):
            for j in range(kw):
                dXp[_spatial.offset_slice(i, j, self.stride, self._out)] += np.where(winner == i * kw + j, grad, zero)
        return _spatial.crop(dXp, self._pads)
