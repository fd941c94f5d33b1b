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
    row-major order (PyTorch's rule for ties, frequent after a ReLU). Windows that overlap
    (``stride < ksize``) add their gradients where they share an input. Training keeps a
    boolean mask of the winners over the windows (``windows == max``, then later ties
    cleared offset by offset); backward multiplies it by ``G`` and adds each kernel offset
    back onto the input. When windows tile the input (``stride == ksize``, no padding) the
    windows are a reshape ``(n, out_h, kh, out_w, kw, c)`` of the input and the masked
    gradient is already the input's gradient, with no loop.
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
        if self._tiled:
            windows = self._tiles(X)  # (n, oh, kh, ow, kw, c), a view when the input divides evenly
            Y = windows.max(axis=(2, 4))
            if training:
                hits = windows == Y[:, :, None, :, None, :]
                offsets = [hits[:, :, i, :, j, :] for i in range(self.ksize[0]) for j in range(self.ksize[1])]
        else:
            fill = -np.inf if self.padding == "same" else 0.0
            windows = _spatial.windows(_spatial.pad(X, self._pads, fill), self.ksize, self.stride, self._out)
            Y = windows.max(axis=(3, 4))  # (n, oh, ow, c)
            if training:
                hits = windows == Y[:, :, :, None, None, :]  # (n, oh, ow, kh, kw, c), a fresh array
                offsets = [hits[:, :, :, i, j, :] for i in range(self.ksize[0]) for j in range(self.ksize[1])]
        if training:
            # keep only the first maximum of each window, in row-major order of the offsets
            taken = offsets[0].copy()
            for hit in offsets[1:-1]:
                hit &= ~taken
                taken |= hit
            if len(offsets) > 1:
                offsets[-1] &= ~taken
            self._hits, self._input_shape_n = hits, X.shape
        return Y

    def call_backward(self, grad: np.ndarray) -> np.ndarray | None:
        if not getattr(self, "need_input_grad", True):  # the model's first layer: nobody uses dL/dX
            return None
        (kh, kw), (oh, ow) = self.ksize, self._out
        hits = self._hits
        n, h, w, c = self._input_shape_n
        if self._tiled:
            tiles = np.multiply(hits, grad[:, :, None, :, None, :], dtype=grad.dtype)  # (n, oh, kh, ow, kw, c)
            if (oh * kh, ow * kw) == (h, w):
                return tiles.reshape(n, h, w, c)
            dX = np.zeros((n, h, w, c), dtype=grad.dtype)
            dX[:, : oh * kh, : ow * kw, :] = tiles.reshape(n, oh * kh, ow * kw, c)
            return dX
        top, bottom, left, right = self._pads
        dXp = np.zeros((n, h + top + bottom, w + left + right, c), dtype=grad.dtype)
        for i in range(kh):  # overlapping windows add up where they share an input
            for j in range(kw):
                dXp[_spatial.offset_slice(i, j, self.stride, self._out)] += hits[:, :, :, i, j, :] * grad
        return _spatial.crop(dXp, self._pads)
