"""2-D average pooling over height and width, channel by channel."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import Layer, spatial


class AveragePooling2D(Layer):
    """``Y[b, y, x, c] = sum_{i < kh, j < kw} Xp[b, y*sh + i, x*sw + j, c] / N[y, x]``.

    Keras 3's layer and signature; ``strides`` defaults to ``pool_size``. ``padding`` is
    ``"valid"`` (``N = kh kw``) or ``"same"`` (``out = ceil(size / stride)``, any odd padding at
    the bottom/right), where ``Xp`` is padded with zeros and ``N[y, x]`` counts only the window's
    cells inside the input, as Keras specifies it (TensorFlow and JAX compute it so; Keras on
    PyTorch counts edge copies instead where the padding is uneven and the window larger than 2).
    The count is separable, ``N[y, x] = rows[y] * cols[x]``. No weights.

    Gradient, with ``G = dL/dY``: every cell of a window gets its share, overlaps adding up::

        dXp[b, y*sh + i, x*sw + j, c] += G[b, y, x, c] / N[y, x]   (every i, j)

    Method: the window sums are separable, over the rows of each window and then over its
    columns; backward adds ``G / N`` onto the inputs each offset ``(i, j)`` meets, offset by
    offset. A layer of ``rank`` 1 (AveragePooling1D) pools sequences as images of height 1.
    """

    rank = 2
    data_format = "channels_last"  # the only one taken

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        owner = type(self).__name__
        self.pool_size = spatial.as_tuple(pool_size, self.rank, "pool_size", owner)
        self.strides = self.pool_size if strides is None else spatial.as_tuple(strides, self.rank, "strides", owner)
        self.padding = spatial.as_padding(padding, owner, self.rank, zeros=False)
        spatial.channels_last(data_format, owner)

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"pool_size": 2, "input_size": (4, 6, 2)},
            {"pool_size": (3, 2), "strides": 1, "input_size": (5, 6, 2)},
            {"pool_size": (3, 4), "strides": (2, 1), "padding": "same", "input_size": (6, 5, 3)},
        ]

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides), "padding": self.padding}

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        pads, out = spatial.plan(self._label, input_shape, self.pool_size, self.strides, self.padding)
        lift = 2 - self.rank  # a 1-D layer's sequences are images of height 1
        self._k, self._s = (1,) * lift + self.pool_size, (1,) * lift + self.strides
        self._pads, self._out, self._image = (0, 0) * lift + pads, (1,) * lift + out, (1,) * lift + input_shape
        counts = [spatial.cells_inside(self._image[a], self._k[a], self._s[a], self._pads[2 * a], self._out[a]) for a in (0, 1)]
        self._count = np.multiply.outer(*counts)[:, :, None]  # N[y, x], broadcast over the channels
        return out + (input_shape[-1],)

    def compute_mask(self, X: np.ndarray, mask: np.ndarray | None) -> None:
        return None  # Keras's pooling layers do not take masks: the mask stops here

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        Xp = spatial.pad(X.reshape((len(X),) + self._image), self._pads)
        (kh, kw), (sh, sw), (oh, ow) = self._k, self._s, self._out
        rows = _sum([Xp[:, i : i + sh * (oh - 1) + 1 : sh] for i in range(kh)])  # (n, oh, wp, c)
        Y = _sum([rows[:, :, j : j + sw * (ow - 1) + 1 : sw] for j in range(kw)])
        Y /= self._count.astype(Y.dtype)
        return Y.reshape((len(X),) + self.output_shape)

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:  # the model's first layer: nobody uses dL/dX
            return None
        share = grad.reshape((len(grad),) + self._out + grad.shape[-1:]) / self._count.astype(grad.dtype)
        dXp = np.zeros(spatial.padded_shape((len(grad),) + self._image, self._pads), dtype=grad.dtype)
        for _, _, index in spatial.offsets(self._k, self._s, self._out):  # overlaps add up
            dXp[index] += share
        return spatial.crop(dXp, self._pads).reshape((len(grad),) + self.input_shape)


def _sum(arrays: list[np.ndarray]) -> np.ndarray:
    """The element-wise sum of ``arrays`` (of one shape) as a new array."""
    result = arrays[0] + arrays[1] if len(arrays) > 1 else arrays[0].copy()
    for array in arrays[2:]:
        result += array
    return result
