"""The 2-D convolution layer (cross-correlation, as Keras and PyTorch compute it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minikeras_core import Layer, patches, spatial
from minikeras_core.arguments import positive_int


class Conv2D(Layer):
    """``Z[b, y, x, f] = bias[f] + sum_{i, j, c} Xp[b, y*sh + i, x*sw + j, c] * kernel[i, j, c, f]``.

    ``Xp`` is the input padded as ``padding`` says: an int ``p`` (or a ``(ph, pw)`` pair) puts
    that many zeros on every side; ``"valid"`` none; ``"same"`` as Keras, so that
    ``out = ceil(size / stride)``, with any odd padding at the bottom/right. The kernel has
    Keras's layout ``(kh, kw, in_channels, filters)`` (Glorot uniform), the bias ``(filters,)`` (zeros).

    Gradients, with ``G = dL/dZ``::

        dkernel[i, j, c, f] = sum_{b, y, x} Xp[b, y*sh + i, x*sw + j, c] * G[b, y, x, f]
        dbias[f]            = sum_{b, y, x} G[b, y, x, f]
        dXp[b, y*sh + i, x*sw + j, c] += sum_f G[b, y, x, f] * kernel[i, j, c, f]   (every i, j)

    and ``dL/dX`` is ``dXp`` without its padding.

    Method: with the patch matrix ``P`` (``minikeras_core.patches``: a row per output position,
    a column per window cell) and ``W`` the kernel as ``(kh * kw * c, filters)``, ``Z = P W + bias``,
    ``dW = P^T G`` and ``dbias = 1^T G``; ``dXp`` gets ``G kernel[i, j]^T`` added onto the inputs
    offset ``(i, j)`` meets, one offset at a time. ``P`` is ``kh * kw`` times larger than the
    input, so it is gathered a block of samples at a time into one buffer (``patches.blocks``);
    training keeps ``Xp`` and regathers the blocks for ``dW = sum_b P_b^T G_b``. Narrow layers
    (fewer than 8 input channels) have a small ``P``: training gathers it once and keeps it,
    and the bias rides in the product, ``Z = [P 1] [W; bias]`` (a pass over ``Z`` adding it
    costs as much as such a product). ``backward`` releases what forward kept, so a model's
    backward pass frees it before earlier layers run; a second one needs another forward.
    """

    def __init__(
        self,
        ksize: Any,
        stride: Any = 1,
        padding: Any = 0,
        activation: Any = None,
        filters: int = 1,
        input_size: tuple | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(activation=activation, input_size=input_size, name=name, dtype=dtype)
        owner = type(self).__name__
        self.ksize = spatial.as_pair(ksize, "ksize", owner)
        self.stride = spatial.as_pair(stride, "stride", owner)
        self.padding = spatial.as_padding(padding, owner)
        self.filters = positive_int(filters, "filters", owner)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"ksize": 3, "filters": 2, "input_size": (5, 6, 2)},
            {"ksize": (2, 3), "stride": 2, "padding": "same", "filters": 3, "activation": "tanh", "input_size": (5, 6, 2)},
            {"ksize": 2, "stride": (1, 2), "padding": 1, "filters": 2, "input_size": (4, 5, 1)},
            {"ksize": 3, "stride": 2, "padding": "valid", "filters": 1, "use_bias": False, "input_size": (6, 5, 3)},
        ]

    #: Samples per block of ``P`` (see ``patches.BLOCK_SAMPLES``).
    block_samples = patches.BLOCK_SAMPLES

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._pads, self._out = spatial.plan(self._label, input_shape, self.ksize, self.stride, self.padding)
        self._narrow = patches.is_narrow(input_shape[-1])
        self._folds_bias = self.use_bias and self._narrow
        return self._out + (self.filters,)

    def create_weights(self, input_shape: tuple) -> None:
        self.add_weight("kernel", self.ksize + (input_shape[-1], self.filters), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def _weights(self) -> np.ndarray:
        """``W`` as ``(kh * kw * c, filters)``, with the bias as a last row when folding it."""
        W = self.params["kernel"].reshape(-1, self.filters)
        return np.vstack([W, self.params["bias"]]) if self._folds_bias else W

    def _blocks(self, X: np.ndarray, pads: tuple) -> Iterator[tuple[slice, np.ndarray]]:
        return patches.blocks(X, self.ksize, self.stride, self._out, pads=pads, ones=self._folds_bias, block=self.block_samples)

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        W, f = self._weights(), self.filters
        if training and self._narrow:  # P is small: gather it once, keep it for dW
            self._kept = patches.gather(spatial.pad(X, self._pads), self.ksize, self.stride, self._out, ones=self._folds_bias)
            return (self._kept @ W).reshape((len(X),) + self._out + (f,))
        Z = np.empty((len(X),) + self._out + (f,), dtype=W.dtype)
        # a block of samples at a time; training keeps Xp (kh * kw times smaller than P), prediction nothing
        Xp = spatial.pad(X, self._pads) if training else X
        for samples, P in self._blocks(Xp, (0,) * 4 if training else self._pads):
            Zb = Z[samples].reshape(-1, f)  # a view: Z is C-contiguous
            np.matmul(P, W, out=Zb)
            if self.use_bias and not self._folds_bias:
                Zb += self.params["bias"]  # while the block is in cache
        if training:
            self._kept = Xp
        return Z

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        kept, self._kept = getattr(self, "_kept", None), None  # freed on return: see the class docstring
        if kept is None:
            raise RuntimeError(f"{self._label}: backward() needs a forward(X, training=True) first (each backward uses up its forward)")
        G, kernel = grad.reshape(-1, self.filters), self.params["kernel"]
        cells = kernel.size // self.filters  # kh * kw * c: the rows of dW, before any bias row
        if self._narrow:
            dW = kept.T @ G
        else:  # dW = sum over blocks of P_b^T G_b
            dW = np.zeros((cells, self.filters), dtype=G.dtype)
            for samples, P in self._blocks(kept, (0,) * 4):
                dW += P.T @ grad[samples].reshape(-1, self.filters)
        self.grads["kernel"][...] = dW[:cells].reshape(kernel.shape)
        if self._folds_bias:
            self.grads["bias"][...] = dW[-1]
        elif self.use_bias:  # a matrix-vector product: BLAS sums rows far faster than a reduction over axis 0
            self.grads["bias"][...] = np.ones(len(G), dtype=G.dtype) @ G
        if not need_input_grad:  # the model's first layer: nobody uses dL/dX
            return None
        padded = spatial.padded_shape((len(grad),) + self.input_shape, self._pads)
        dXp = np.zeros(padded, dtype=grad.dtype)
        met = (len(grad),) + self._out + (padded[3],)  # the inputs one kernel offset meets
        for i, j, index in spatial.offsets(self.ksize, self.stride, self._out):  # overlaps add up
            dXp[index] += (G @ kernel[i, j].T).reshape(met)
        return spatial.crop(dXp, self._pads)
