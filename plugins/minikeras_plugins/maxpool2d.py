"""2-D max pooling over height and width, channel by channel."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer, spatial


class MaxPool2D(Layer):
    """``Y[b, y, x, c] = max_{i < kh, j < kw} Xp[b, y*sh + i, x*sw + j, c]``.

    ``stride`` defaults to ``ksize`` (Keras's ``strides=None``). ``padding`` is ``"valid"``,
    ``"same"`` (Keras's: ``out = ceil(size / stride)``; padded cells never win, as if they
    were ``-inf``), or an int / ``(ph, pw)`` pair of zeros added on every side, as the original
    Mini-Keras padded.

    The gradient of each output goes to one input only: the first maximum of its window in
    row-major order of the offsets (PyTorch's rule for ties, frequent after a ReLU). Windows
    that overlap (``stride < ksize``) add their gradients where they share an input.

    Forward is a running maximum over the ``kh * kw`` kernel offsets: offset ``k = (i, j)``
    meets the strided grid ``S_k = Xp[:, i::sh, j::sw, :]`` of inputs (one per window), and
    ``M_k = max(M_{k-1}, S_k)`` with ``M_0 = S_0``, so ``Y = M_{K-1}``. Each step is one
    element-wise ``maximum`` over output-sized arrays with contiguous channel runs, several
    times faster than a reduction over the window axes of a strided view. Training keeps
    ``B_k = S_k > M_{k-1}`` (strictly: offset ``k`` beat every earlier one). The first
    maximum is then the *last* offset with ``B_k`` true (offset 0 if none), so backward walks
    the offsets from the last down, sending ``G`` to offset ``k`` where ``B_k`` and no later
    ``B`` holds. ``backward`` releases the ``B_k`` (a second ``backward`` needs another
    ``forward(X, training=True)``), so a model's backward pass frees them before it reaches
    the earlier layers. Prediction needs no masks and takes the maximum separably instead
    (rows, then columns; see ``_separable_max``).
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
        self.ksize = spatial.as_pair(ksize, "ksize", owner)
        self.stride = self.ksize if stride is None else spatial.as_pair(stride, "stride", owner)
        self.padding = spatial.as_padding(padding, owner)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"ksize": 2, "input_size": (4, 6, 2)},
            {"ksize": 2, "stride": 1, "input_size": (5, 6, 2)},
            {"ksize": (3, 2), "stride": 2, "padding": "same", "input_size": (5, 6, 3)},
            {"ksize": 3, "stride": (2, 1), "padding": 1, "input_size": (5, 5, 1)},
        ]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._pads, self._out = spatial.plan(self._label, input_shape, self.ksize, self.stride, self.padding)
        # windows that do not overlap send each input at most one gradient: backward assigns instead of adding
        self._disjoint = self.stride[0] >= self.ksize[0] and self.stride[1] >= self.ksize[1]
        return self._out + (input_shape[-1],)

    def _offsets(self) -> list[tuple]:
        """The index of ``S_k`` for every kernel offset, in row-major order."""
        kh, kw = self.ksize
        return [spatial.offset_slice(i, j, self.stride, self._out) for i in range(kh) for j in range(kw)]

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        Xp = spatial.pad(X, self._pads, -np.inf if self.padding == "same" else 0.0)
        if not training:
            return self._separable_max(Xp)
        first, *rest = self._offsets()
        Y = Xp[first].copy()  # M_0
        beats = []
        for index in rest:
            S = Xp[index]
            if training:
                beats.append(S > Y)  # B_k, before Y becomes M_k
            np.maximum(Y, S, out=Y)
        if training:
            self._beats, self._padded_shape = beats, Xp.shape
        return Y

    def _separable_max(self, Xp: np.ndarray) -> np.ndarray:
        """``Y`` without the masks: ``max`` over a window is the ``max`` over its columns of the ``max`` over its rows.

        The first pass combines whole rows (long contiguous runs), the second the columns of
        a ``kh`` times smaller array: measured about 1.5x faster than one pass per offset.
        """
        (kh, kw), (sh, sw), (oh, ow) = self.ksize, self.stride, self._out
        rows = _running_max([Xp[:, i : i + sh * (oh - 1) + 1 : sh] for i in range(kh)])  # (n, oh, wp, c)
        return _running_max([rows[:, :, j : j + sw * (ow - 1) + 1 : sw] for j in range(kw)])

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        beats = getattr(self, "_beats", None)
        if beats is None:
            raise RuntimeError(f"{self._label}: backward() needs a forward(X, training=True) first (each backward uses up its forward)")
        self._beats = None
        if not need_input_grad:  # the model's first layer: nobody uses dL/dX
            return None
        first, *rest = self._offsets()
        n, h, w, c = self._padded_shape
        (kh, kw), (sh, sw), (oh, ow) = self.ksize, self.stride, self._out
        covered = (sh * (oh - 1) + kh, sw * (ow - 1) + kw)
        if self.stride == self.ksize and covered == (h, w):
            dXp = np.empty(self._padded_shape, dtype=grad.dtype)  # windows tile the input: each input is written once below
        else:  # gaps between windows, inputs past the last window, or overlaps that add up
            dXp = np.zeros(self._padded_shape, dtype=grad.dtype)
        later = None  # where some later offset already took the gradient
        for index, beat in zip(reversed(rest), reversed(beats)):
            wins = beat if later is None else beat & ~later
            self._send(dXp, index, grad, wins)
            later = beat.copy() if later is None else np.logical_or(later, beat, out=later)
        self._send(dXp, first, grad, None if later is None else ~later)
        return spatial.crop(dXp, self._pads)

    def _send(self, dXp: np.ndarray, index: tuple, grad: np.ndarray, wins: np.ndarray | None) -> None:
        """Route ``grad`` where ``wins`` to the inputs of one offset (all of it when ``wins`` is None)."""
        if wins is None:
            contribution = grad
        elif self._disjoint:  # this offset's inputs receive nothing else: write the product in place
            np.multiply(grad, wins, out=dXp[index])
            return
        else:
            contribution = np.multiply(grad, wins, dtype=grad.dtype)
        if self._disjoint:
            dXp[index] = contribution
        else:
            dXp[index] += contribution


def _running_max(arrays: list[np.ndarray]) -> np.ndarray:
    """The element-wise maximum of ``arrays`` (of one shape) as a new array."""
    result = np.maximum(arrays[0], arrays[1]) if len(arrays) > 1 else arrays[0].copy()
    for array in arrays[2:]:
        np.maximum(result, array, out=result)
    return result
