"""The 2-D convolution layer (cross-correlation, as Keras and PyTorch compute it); Conv1D is its 1-D case."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minikeras_core import Layer, patches, spatial
from minikeras_core.arguments import positive_int, refuse_regularizers
from minikeras_core.windowed import OriginalForm, window_arguments


class Conv2D(OriginalForm, Layer):
    """``Z[b, y, x, f] = bias[f] + sum_{i, j, c} Xp[b, y*sh + i*dh, x*sw + j*dw, c] * kernel[i, j, c, f]``.

    Keras 3's layer and signature; ``Xp`` is the input padded as ``padding`` says (``"valid"``, ``"same"``, or the
    original form's zeros on every side: ``minikeras_core.windowed``). Weights ``kernel (kh, kw, in_channels,
    filters)``, ``bias (filters,)``. Gradients, with ``G = dL/dZ`` (``dL/dX`` is ``dXp`` without its padding)::

        dkernel[i, j, c, f] = sum_{b, y, x} Xp[b, y*sh + i*dh, x*sw + j*dw, c] * G[b, y, x, f]
        dbias[f]            = sum_{b, y, x} G[b, y, x, f]
        dXp[b, y*sh + i*dh, x*sw + j*dw, c] += sum_f G[b, y, x, f] * kernel[i, j, c, f]   (every i, j)

    Method: with the patch matrix ``P`` (``minikeras_core.patches``: a row per output position, a column per
    window cell) and ``W`` the kernel as ``(kh * kw * c, filters)``, ``Z = P W + bias`` and ``dW = P^T G``;
    ``dXp`` gets ``G kernel[i, j]^T`` on the inputs offset ``(i, j)`` meets. ``P`` is ``kh * kw`` times the
    input, so it is gathered a block of samples at a time and training keeps ``Xp``; a narrow layer (fewer
    than 8 channels) keeps its small ``P`` and folds the bias into the product, ``[P 1] [W; bias]``.
    ``backward`` releases what forward kept. Conv1D is the ``rank`` 1 case: sequences as images of height 1.
    """

    rank = 2
    padding_modes: tuple = ("valid", "same")
    data_format, groups = "channels_last", 1  # the only ones taken; class attributes (see _k below for why)
    original_keywords = {"ksize": "kernel_size", "stride": "strides"}  # see minikeras_core.windowed.OriginalForm
    window_config = ("filters", "kernel_size", "strides", "padding", "dilation_rate")
    forms = ("Keras's Conv2D(filters, kernel_size, strides=(1, 1), padding='valid', ...) or the original "
             "Conv2D(ksize=..., stride=1, filters=1, padding=0, ...) with keywords only")

    def __init__(self, filters: int | None = None, kernel_size: Any = None, strides: Any = (1, 1), padding: Any = "valid",
                 data_format: Any = None, dilation_rate: Any = (1, 1), groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        owner, original = type(self).__name__, self.original_arguments(kwargs)
        if original is not None:
            kernel_size, strides, filters = original.get("kernel_size"), original.get("strides", 1), 1 if filters is None else filters
        if filters is None or kernel_size is None:
            missing = "filters" if filters is None else "ksize" if original is not None else "kernel_size"
            raise TypeError(f"{owner}: no {missing} given; expected {self.forms}")
        super().__init__(activation=activation, **kwargs)
        refuse_regularizers(owner, locals(), "one group; no regularizers or constraints", groups=None if groups == 1 else groups)
        self.filters = positive_int(filters, "filters", owner)
        self.kernel_size, self.strides, self.padding, self.dilation_rate = window_arguments(
            owner, self.rank, "kernel_size", kernel_size, strides, padding, data_format, self.padding_modes, dilation_rate)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    @classmethod
    def conformance_cases(cls) -> list[dict]:
        return [
            {"filters": 2, "kernel_size": 3, "input_size": (5, 6, 2)},
            {"filters": 3, "kernel_size": (2, 3), "strides": 2, "padding": "same", "activation": "tanh", "input_size": (5, 6, 2)},
            {"filters": 2, "kernel_size": (2, 3), "dilation_rate": (2, 1), "padding": "same", "input_size": (6, 5, 3)},
            {"ksize": 2, "stride": (1, 2), "padding": 1, "filters": 2, "input_size": (4, 5, 1)},
            {"filters": 1, "kernel_size": 3, "strides": 2, "use_bias": False, "input_size": (6, 5, 9)},
        ]

    #: Samples per block of ``P`` (see ``patches.BLOCK_SAMPLES``).
    block_samples = patches.BLOCK_SAMPLES

    # The geometry as the 2-D computation sees it (Conv1D's are of height 1). Properties, not attributes: the base
    # layer looks through every attribute before each in-place activation, at a cost per attribute.
    _k = property(lambda self: self.kernel_size)
    _s = property(lambda self: self.strides)
    _d = property(lambda self: self.dilation_rate)
    _image = property(lambda self: self.input_shape)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        pads, out = spatial.plan(self._label, input_shape, self.kernel_size, self.strides, self.padding, self.dilation_rate)
        self._pads, self._out = (0, 0) * (2 - self.rank) + pads, (1,) * (2 - self.rank) + out
        self._narrow = patches.is_narrow(input_shape[-1])
        self._folds_bias = self.use_bias and self._narrow
        return out + (self.filters,)

    def compute_mask(self, X: np.ndarray, mask: np.ndarray | None) -> None:
        return None  # Keras's convolutions do not take masks: the mask stops here

    def create_weights(self, input_shape: tuple) -> None:
        self.add_weight("kernel", self.kernel_size + (input_shape[-1], self.filters), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def _weights(self) -> np.ndarray:
        """``W`` as ``(kh * kw * c, filters)``, with the bias as a last row when folding it."""
        W = self.params["kernel"].reshape(-1, self.filters)
        return np.vstack([W, self.params["bias"]]) if self._folds_bias else W

    def _blocks(self, X: np.ndarray, pads: tuple) -> Iterator[tuple[slice, np.ndarray]]:
        return patches.blocks(X, self._k, self._s, self._out, pads=pads, ones=self._folds_bias, block=self.block_samples,
                              dilation=self._d)

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        W, f = self._weights(), self.filters
        X = X if self.rank == 2 else X[:, None]  # a sequence as an image of height 1 (a view)
        if training and self._narrow:  # P is small: gather it once, keep it for dW
            self._kept = patches.gather(spatial.pad(X, self._pads), self._k, self._s, self._out, ones=self._folds_bias,
                                        dilation=self._d)
            Z = (self._kept @ W).reshape((len(X),) + self._out + (f,))
            return Z if self.rank == 2 else Z[:, 0]
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
        return Z if self.rank == 2 else Z[:, 0]

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        kept, self._kept = getattr(self, "_kept", None), None  # freed on return: see the class docstring
        if kept is None:
            raise RuntimeError(f"{self._label}: backward() needs a forward(X, training=True) first (each backward uses up its forward)")
        G, kernel = grad.reshape(-1, self.filters), self.params["kernel"] if self.rank == 2 else self.params["kernel"][None]
        cells = kernel.size // self.filters  # kh * kw * c: the rows of dW, before any bias row
        if self._narrow:
            dW = kept.T @ G
        else:  # dW = sum over blocks of P_b^T G_b
            dW = np.zeros((cells, self.filters), dtype=G.dtype)
            for samples, P in self._blocks(kept, (0,) * 4):
                dW += P.T @ grad[samples].reshape(-1, self.filters)
        self.grads["kernel"][...] = dW[:cells].reshape(self.params["kernel"].shape)
        if self._folds_bias:
            self.grads["bias"][...] = dW[-1]
        elif self.use_bias:  # a matrix-vector product: BLAS sums rows far faster than a reduction over axis 0
            self.grads["bias"][...] = np.ones(len(G), dtype=G.dtype) @ G
        if not need_input_grad:  # the model's first layer: nobody uses dL/dX
            return None
        padded = spatial.padded_shape((len(grad),) + self._image, self._pads)
        dXp = np.zeros(padded, dtype=grad.dtype)
        met = (len(grad),) + self._out + (padded[3],)  # the inputs one kernel offset meets
        for i, j, index in spatial.offsets(self._k, self._s, self._out, self._d):  # overlaps add up
            dXp[index] += (G @ kernel[i, j].T).reshape(met)
        dX = spatial.crop(dXp, self._pads)
        return dX if self.rank == 2 else dX[:, 0]
