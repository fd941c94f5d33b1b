"""The 2-D convolution layer (cross-correlation, as Keras and PyTorch compute it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minikeras_core import ElementwiseActivation, Layer, spatial
from minikeras_core.arguments import positive_int


class Conv2D(Layer):
    """``Z[b, y, x, f] = bias[f] + sum_{i, j, c} Xp[b, y*sh + i, x*sw + j, c] * kernel[i, j, c, f]``.

    ``Xp`` is the input padded as ``padding`` says: an int ``p`` (or a ``(ph, pw)`` pair) puts
    that many zeros on every side; ``"valid"`` none; ``"same"`` as Keras, so that
    ``out = ceil(size / stride)``, with any odd padding at the bottom/right. The kernel has
    Keras's layout ``(kh, kw, in_channels, filters)`` (Glorot uniform), the bias ``(filters,)`` (zeros).

    Forward is one matrix product: every window is gathered into a ``(n * out_h * out_w,
    kh * kw * c)`` patch matrix ``P`` (im2col) and ``Z = P W + bias`` with ``W`` the kernel
    flattened to ``(kh * kw * c, filters)``. Backward, with ``G = dL/dZ`` flattened the same
    way: ``dW = P^T G``, ``dbias = 1^T G``, and ``dX`` adds ``G kernel[i, j]^T`` onto the
    inputs that kernel offset ``(i, j)`` met, one offset at a time (``kh * kw`` small products
    and strided additions; measured faster than one ``G W^T`` into column space).

    ``P`` is ``kh * kw`` times larger than the input (the benchmark's largest array), so
    layers with 8 or more channels never hold it whole: forward gathers and multiplies a
    block of samples at a time (``Z_b = P_b W``) into one block-sized buffer, training keeps
    the padded input ``Xp``, and backward regathers the blocks for ``dW = sum_b P_b^T G_b``
    (a gather is cheap next to the product).

    Narrow patches (fewer than 8 input channels, such as a first layer on grey images): ``P``
    is small, and training keeps it, gathered once per step. A pass adding the bias over
    ``Z`` would cost about as much as the product itself, so the bias rides in the product:
    ``P`` gets a last column of ones and ``W`` the bias as a last row,
    ``Z = [P 1] [W; bias]``, and ``[dW; dbias] = [P 1]^T G``.

    ``backward`` releases what forward kept once it has used it: during a model's backward
    pass the earlier layers' gradients are computed while the later layers' caches are
    already freed, which lowers a training step's peak memory. A second ``backward`` needs
    another ``forward(X, training=True)``.

    Prediction (``training=False``) goes through a large batch a block of samples at a time
    (``forward``), so no batch-sized patch matrix is built and nothing is kept for backward.
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

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        self._pads, self._out = spatial.plan(self._label, input_shape, self.ksize, self.stride, self.padding)
        # few channels: the strided view's runs are too short to copy fast, and the bias pass too costly
        self._narrow = input_shape[-1] < 8
        return self._out + (self.filters,)

    def create_weights(self, input_shape: tuple) -> None:
        self.add_weight("kernel", self.ksize + (input_shape[-1], self.filters), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    @property
    def _folds_bias(self) -> bool:
        return self.use_bias and self._narrow

    def _patch_columns(self, channels: int) -> int:
        """Columns of ``P``: ``kh * kw * c``, plus the ones column when folding the bias."""
        return self.ksize[0] * self.ksize[1] * channels + (1 if self._folds_bias else 0)

    def _patch_buffer(self, samples: int) -> np.ndarray:
        """A flat buffer with room for the ``P`` of ``samples`` samples, reused block after block within one call."""
        rows = samples * self._out[0] * self._out[1]
        return np.empty(rows * self._patch_columns(self.input_shape[-1]), dtype=self.dtype)

    def _patches(self, Xp: np.ndarray, buffer: np.ndarray | None = None) -> np.ndarray:
        """``P`` ``(n * out_h * out_w, kh * kw * c)``, ``(kh, kw, c)`` fastest-varying as the kernel; plus the ones column when folding the bias.

        Written into the front of ``buffer`` (a ``_patch_buffer`` with room for ``Xp``) when one
        is given, else into a new array. A narrow layer's ``P`` is the transposed view of a
        C-contiguous ``P^T`` (see below).
        """
        (kh, kw), c = self.ksize, Xp.shape[3]
        n, rows, columns = len(Xp), len(Xp) * self._out[0] * self._out[1], self._patch_columns(Xp.shape[3])
        patches = np.empty(rows * columns, dtype=Xp.dtype) if buffer is None else buffer[: rows * columns]
        if not self._narrow:  # a copy of the strided view: contiguous runs of c values
            windows = spatial.windows(Xp, self.ksize, self.stride, self._out)
            patches.reshape(windows.shape)[...] = windows
            return patches.reshape(rows, columns)
        # Narrow: P is built transposed, one row of P^T per column of P, so each kernel offset
        # copies its strided slice of inputs into contiguous rows (writing every columns-th value
        # of P measured slower); P is then the transposed view, which BLAS takes as it is.
        transposed = patches.reshape((columns, n) + self._out)
        for i in range(kh):
            for j in range(kw):
                column = (i * kw + j) * c
                transposed[column : column + c] = Xp[spatial.offset_slice(i, j, self.stride, self._out)].transpose(3, 0, 1, 2)
        if self._folds_bias:
            transposed[-1] = 1
        return transposed.reshape(columns, rows).T

    def _weights(self) -> np.ndarray:
        """``W`` as ``(kh * kw * c, filters)``, with the bias as a last row when folding it."""
        W = self.params["kernel"].reshape(-1, self.filters)
        return np.vstack([W, self.params["bias"]]) if self._folds_bias else W

    #: Samples per block when predicting (see ``forward``), and per patch block of a wide
    #: layer (see the class docstring). About 200 KiB of temporaries per sample for the
    #: benchmark's layers, so a block's patches, product and activation stay in the CPU cache
    #: between steps (measured best from 8 to 32; 32 makes the fewest BLAS calls).
    block_samples = 32

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """As ``Layer.forward``; when not training, a large batch goes through in blocks of samples.

        Inference keeps nothing for backward, so each block's patch matrix is a temporary:
        memory is bounded by the block, not the batch, and the memory-bound steps (gather,
        bias, activation) work on data still in cache. Each block's product is written
        straight into its rows of the output, and the bias and an element-wise activation
        are applied there in place: no second output-sized array, no copy.
        """
        if training or not self.built:
            return super().forward(X, training)
        block = self.block_samples
        self.check_input(X)
        Y = np.empty((len(X),) + self.output_shape, dtype=self.dtype)
        W, buffer = self._weights(), self._patch_buffer(min(block, len(X)))
        for start in range(0, len(X), block):
            Xp = spatial.pad(X[start : start + block], self._pads)
            Z = Y[start : start + block].reshape(-1, self.filters)  # a view: Y is C-contiguous
            np.matmul(self._patches(Xp, buffer), W, out=Z)
            if self.use_bias and not self._folds_bias:
                Z += self.params["bias"]
            if isinstance(self.activation, ElementwiseActivation):
                self.activation.eval_inplace(Z)
            elif self.activation is not None:
                Z[...] = self.activation(Z.reshape((-1,) + self.output_shape)).reshape(Z.shape)
        return Y

    def call(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        Xp = spatial.pad(X, self._pads)
        W = self._weights()
        if self._narrow:
            patches = self._patches(Xp)
            Z = patches @ W
        else:  # P is not kept: gather and multiply a block of samples at a time, into one patch buffer
            block, rows = self.block_samples, self._out[0] * self._out[1]
            Z = np.empty((len(X) * rows, self.filters), dtype=W.dtype)
            buffer = self._patch_buffer(min(block, len(X)))
            for start in range(0, len(X), block):
                part = self._patches(Xp[start : start + block], buffer)
                np.matmul(part, W, out=Z[start * rows : start * rows + len(part)])
        if self.use_bias and not self._folds_bias:
            Z += self.params["bias"]
        if training:  # narrow: P for one dW product; wide: Xp, kh * kw times smaller than P
            self._kept, self._padded_shape = (patches if self._narrow else Xp), Xp.shape
        return Z.reshape((len(X),) + self._out + (self.filters,))

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        kept = getattr(self, "_kept", None)
        if kept is None:
            raise RuntimeError(f"{self._label}: backward() needs a forward(X, training=True) first (each backward uses up its forward)")
        self._kept = None  # freed when this method returns: see the class docstring
        (kh, kw), c = self.ksize, self._padded_shape[3]
        G = grad.reshape(-1, self.filters)
        kernel = self.params["kernel"]
        if self._narrow:
            dW = kept.T @ G
        else:  # dW = P^T G = sum over blocks of samples of P_b^T G_b, regathering P_b from Xp as forward did
            block, rows = self.block_samples, self._out[0] * self._out[1]
            dW = np.zeros((kh * kw * c, self.filters), dtype=G.dtype)
            buffer = self._patch_buffer(min(block, len(grad)))
            for start in range(0, len(grad), block):
                part = self._patches(kept[start : start + block], buffer)
                dW += part.T @ G[start * rows : start * rows + len(part)]
        self.grads["kernel"][...] = dW[: kh * kw * c].reshape(kernel.shape)
        if self._folds_bias:
            self.grads["bias"][...] = dW[-1]
        elif self.use_bias:
            # a matrix-vector product: BLAS sums the rows far faster than a reduction over axis 0
            self.grads["bias"][...] = np.ones(len(G), dtype=G.dtype) @ G
        if not need_input_grad:  # the model's first layer: nobody uses dL/dX
            return None
        inputs = (len(grad),) + self._out + (c,)  # the inputs one kernel offset met
        dXp = np.zeros(self._padded_shape, dtype=grad.dtype)
        for i in range(kh):  # each kernel offset reaches a strided grid of inputs; overlaps add up
            for j in range(kw):
                dXp[spatial.offset_slice(i, j, self.stride, self._out)] += (G @ kernel[i, j].T).reshape(inputs)
        return None if dXp is None else spatial.crop(dXp, self._pads)
