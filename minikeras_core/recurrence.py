"""The frame Keras's recurrent layers (SimpleRNN, LSTM, GRU) share around their cells' steps.

A recurrent layer reads ``X`` of shape ``(n, timesteps, features)`` one step at a time. Here every
one works time-major, on ``Xt`` of shape ``(timesteps, n, features)`` in the order the steps are
read (last to first with ``go_backwards``), so that a step's rows are contiguous. :class:`Recurrent`
does everything that does not depend on the cell:

- the arguments every one takes, read from its constructor's ``locals()`` (see ``Recurrent.__init__``),
  and what a Sequential cannot do refused by name;
- dropout masks fixed per sequence, Keras's way: an input mask ``m`` (features) and a recurrent mask
  ``r`` (units) per sample, or one of each per gate when ``recurrent_dropout`` is set (Keras's
  ``implementation=1``), drawn with :meth:`Layer.random_uniform` and scaled by ``1 / (1 - rate)``;
- the input side, with the columns in whatever order the cell keeps them: every step's projection
  ``A_t = (x_t * m) W + b`` in one product, and back ``dW = sum_t (x_t * m)^T dA_t``, ``dX = (dA W^T) * m``;
- the recurrent product ``(h * r) U`` of a step, its transpose, and ``dU = sum_t (h_{t-1} * r)^T dZ_t``;
- a mask of steps ``(n, timesteps)`` from a previous layer (``Embedding(mask_zero=True)``), time-major
  for the cell: a masked step keeps every state (zeros before the first) and passes its gradient on
  unchanged, as Keras (the cell's loops do it with :mod:`minikeras_core.time_loop`, which also holds
  BLAS to one thread around them while the machine is busy);
- the output (every state, in reading order, with ``return_sequences``; else the last) and its gradient.

A cell implements ``_forward(Xt, M, m, r, training)``, returning the states ``H`` ``(timesteps, n,
units)`` (predicting without ``return_sequences``, the last alone may come: ``(1, n, units)``) and
keeping what its backward needs, and ``_backward(dH, dh, need_input_grad)``: ``dH`` is the
gradient reaching each step's output ``(timesteps, n, units)`` (or ``None``), ``dh`` the last state's
(zeros with ``return_sequences``; the cell's to change); it writes the weight gradients and returns
``dL/dXt`` (or ``None``). ``M`` is the mask
``(timesteps, n, 1)`` or ``None``; ``m`` and ``r`` are ``(count, n, features)`` / ``(count, n, units)`` or ``None``.
The products over all steps (``_project`` before the loop, ``_input_grads`` and ``_recurrent_grads``
after it) stay outside ``one_blas_thread()``, with all of BLAS's threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .arguments import fraction, non_negative_int, positive_int, refuse_regularizers
from .layer import Layer
from .registry import get
from .time_loop import over_steps

#: Time steps projected at once when predicting (see ``Recurrent._projected_chunks``).
INFERENCE_CHUNK = 16

#: The constructor arguments every recurrent layer has, as Keras names them (``Recurrent.__init__`` reads them).
_SHARED = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer", "dropout",
           "recurrent_dropout", "seed", "return_sequences", "return_state", "go_backwards", "stateful", "unroll", "kwargs")


class Recurrent(Layer):
    """The frame of a recurrent layer whose kernel has ``blocks`` blocks of ``units`` columns (its gates)."""

    #: How many blocks of ``units`` columns the kernels have: one per gate (SimpleRNN 1, LSTM 4, GRU 3).
    blocks = 1

    #: Masked steps output zeros in a returned sequence instead of the state they keep (Keras's
    #: ``zero_output_for_mask``, which Bidirectional sets on the layers it wraps).
    zero_output_for_mask = False

    def __init__(self, arguments: dict[str, Any]) -> None:
        """``arguments``: the layer's constructor's ``locals()``, Keras's signature. The frame takes the arguments every
        recurrent layer has (``units``, ``activation``, ``use_bias``, the three initializers, ``dropout``,
        ``recurrent_dropout``, ``seed``, ``return_sequences``, ``go_backwards``, ``unroll``, and ``recurrent_activation``
        and ``use_cudnn`` where the signature has them); the layer keeps its own."""
        a, owner = arguments, type(self).__name__
        missing = [name for name in _SHARED if name not in a]
        if missing:  # a cell's constructor written without part of Keras's signature
            raise TypeError(f"{owner}: Recurrent.__init__ takes the constructor's locals(), which lack {', '.join(missing)}; "
                            "give the constructor Keras's recurrent arguments (see SimpleRNN) and **kwargs")
        kwargs = dict(a["kwargs"])
        if kwargs.pop("implementation", 2) not in (1, 2):  # Keras's choice of products, the same numbers: accepted
            raise ValueError(f"{owner}: implementation: expected 1 or 2")
        super().__init__(**kwargs)  # no activation for the base: the recurrence applies its own
        refuse_regularizers(owner, a, "a Sequential layer has one output and no state between batches; there are no regularizers "
                            "or constraints", return_state=a["return_state"] or None, stateful=a["stateful"] or None)
        if a.get("use_cudnn", "auto") not in ("auto", True, False):
            raise ValueError(f"{owner}: use_cudnn: expected 'auto', True or False, got {a['use_cudnn']!r}")
        self.units = positive_int(a["units"], "units", owner)
        self.cell_activation = get("activation", "linear" if a["activation"] is None else a["activation"])  # not the base's
        if "recurrent_activation" in a:
            self.recurrent_activation = get("activation", "linear" if a["recurrent_activation"] is None else a["recurrent_activation"])
        self.use_bias = bool(a["use_bias"])
        self.kernel_initializer, self.recurrent_initializer = a["kernel_initializer"], a["recurrent_initializer"]
        self.bias_initializer = a["bias_initializer"]
        self.dropout = fraction(a["dropout"], "dropout", owner, include_one=True)
        self.recurrent_dropout = fraction(a["recurrent_dropout"], "recurrent_dropout", owner, include_one=True)
        self.seed = None if a["seed"] is None else non_negative_int(a["seed"], "seed", owner)
        self.return_sequences, self.go_backwards, self.unroll = bool(a["return_sequences"]), bool(a["go_backwards"]), bool(a["unroll"])

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 2:
            raise ValueError(f"{self._label}: expects sequences of shape (timesteps, features) per sample, got input shape {input_shape}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def compute_mask(self, X: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
        return mask if self.return_sequences else None

    def create_weights(self, input_shape: tuple) -> None:
        """Keras's weights, in its order: ``kernel (features, blocks units)``, ``recurrent_kernel (units, blocks units)``
        and with ``use_bias`` the bias that ``_bias`` describes."""
        width = self.blocks * self.units
        self.add_weight("kernel", (input_shape[1], width), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (self.units, width), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", *self._bias(width))

    def _bias(self, width: int) -> tuple:
        """The bias's shape and initializer: ``(blocks units,)`` and ``bias_initializer`` unless a cell says otherwise."""
        return (width,), self.bias_initializer

    # -- the frame ------------------------------------------------------------------------------
    def call(self, X: np.ndarray, training: bool = False, mask: np.ndarray | None = None) -> np.ndarray:
        Xt = (X[:, ::-1] if self.go_backwards else X).transpose(1, 0, 2)
        Xt = np.ascontiguousarray(Xt)  # time-major: each step's rows together
        M = None
        if mask is not None:
            if np.shape(mask) != X.shape[:2]:
                raise ValueError(f"{self._label}: mask must have shape (batch, timesteps) {X.shape[:2]}, got {np.shape(mask)}")
            mask = np.asarray(mask, dtype=bool)
            M = None if mask.all() else np.ascontiguousarray(mask[:, ::-1 if self.go_backwards else 1].T)[..., None]
        m, r = self._dropout_masks(X, training)
        H = self._forward(Xt, M, m, r, training)
        self._M = M if training else None
        if not self.return_sequences:
            return H[-1].copy()
        if self.zero_output_for_mask and M is not None:
            return (H * M).transpose(1, 0, 2).copy()
        return np.ascontiguousarray(H.transpose(1, 0, 2))

    def call_backward(self, grad: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        M, dH = self._M, None
        if self.return_sequences:
            dH = grad.transpose(1, 0, 2)
            if self.zero_output_for_mask and M is not None:
                dH = dH * M
            dh = np.zeros((len(grad), self.units), grad.dtype)
        else:
            dh = grad.copy()  # the cell's to change
        dXt = self._backward(dH, dh, need_input_grad)
        if dXt is None or not need_input_grad:  # the model's first layer: nobody uses dL/dX
            return None
        dX = dXt.transpose(1, 0, 2)
        return np.ascontiguousarray(dX[:, ::-1] if self.go_backwards else dX)

    def _dropout_masks(self, X: np.ndarray, training: bool) -> tuple:
        """The scaled input and recurrent masks, ``(count, n, features)`` and ``(count, n, units)``, or ``None`` each."""
        if not training or not (self.dropout or self.recurrent_dropout):
            return None, None
        n, features = len(X), X.shape[2]
        count = self.blocks if self.recurrent_dropout else 1  # one per gate only with recurrent dropout, as Keras
        u = self.random_uniform((n, count * (features + self.units)), self.seed)  # one draw per sample for all masks
        masks = []
        for rate, part, width in ((self.dropout, u[:, : count * features], features), (self.recurrent_dropout, u[:, count * features :], self.units)):
            scale = X.dtype.type(0 if rate == 1 else 1 / (1 - rate))
            masks.append(None if not rate else ((part >= rate) * scale).astype(X.dtype).reshape(n, count, width).transpose(1, 0, 2).copy())
        return tuple(masks)

    def _columns(self, total: int) -> list[slice]:
        """The blocks of ``units`` columns (one per gate) of a kernel with ``total`` columns."""
        u = self.units
        return [slice(j * u, (j + 1) * u) for j in range(total // u)]

    # -- the input side -------------------------------------------------------------------------
    def _project(self, Xt: np.ndarray, m: np.ndarray | None, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        """Every step's ``(x_t * m) W + b`` at once, ``(timesteps, n, columns)``; ``m`` per column block of ``W``."""
        if m is None or len(m) == 1:
            A = (Xt if m is None else Xt * m[0]) @ W
        else:
            A = np.empty(Xt.shape[:2] + W.shape[1:], dtype=Xt.dtype)
            for j, cols in enumerate(self._columns(W.shape[1])):
                np.matmul(Xt * m[j], W[:, cols], out=A[..., cols])
        if b is not None:
            A += b
        return A

    def _input_grads(self, Xt: np.ndarray, dA: np.ndarray, m: np.ndarray | None, W: np.ndarray, need_input_grad: bool) -> tuple:
        """``(dW, db, dXt)`` for ``A = (Xt * m) W + b``, each a product over all steps; ``dXt`` is ``None`` unless needed."""
        dW = np.empty_like(W)
        if m is None or len(m) == 1:
            dW[...] = over_steps(Xt if m is None else Xt * m[0]).T @ over_steps(dA)
        else:
            for j, cols in enumerate(self._columns(W.shape[1])):
                dW[:, cols] = over_steps(Xt * m[j]).T @ over_steps(dA[..., cols])
        db = over_steps(dA).sum(axis=0)
        if not need_input_grad:
            return dW, db, None
        if m is None or len(m) == 1:
            dXt = dA @ W.T
            if m is not None:
                dXt *= m[0]
        else:
            dXt = sum((dA[..., cols] @ W[:, cols].T) * m[j] for j, cols in enumerate(self._columns(W.shape[1])))
        return dW, db, dXt

    def _projected_chunks(self, Xt: np.ndarray, m: np.ndarray | None, W: np.ndarray, b: np.ndarray | None,
                          training: bool) -> Iterator[tuple[int, np.ndarray]]:
        """``(first step, its chunk of _project)``: all steps at once when training (backward needs every one), else
        ``INFERENCE_CHUNK`` steps at a time, so that prediction's memory does not grow with the sequence."""
        chunk = len(Xt) if training else INFERENCE_CHUNK
        for first in range(0, len(Xt), chunk):
            yield first, self._project(Xt[first : first + chunk], m, W, b)

    def _per_block(self, activation: Any, Z: np.ndarray) -> np.ndarray:
        """``activation`` applied to each block of ``units`` columns of ``Z`` on its own (a softmax gate is per gate)."""
        return np.concatenate([activation(Z[:, cols]) for cols in self._columns(Z.shape[1])], axis=1)

    def _per_block_backward(self, activation: Any, Z: np.ndarray, grad: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The gradient through ``_per_block(activation, Z)`` (``Y``), block by block."""
        return np.concatenate([activation.backward(Z[:, c], grad[:, c], Y=Y[:, c]) for c in self._columns(Z.shape[1])], axis=1)

    # -- the recurrent side ---------------------------------------------------------------------
    def _times_recurrent(self, h: np.ndarray, U: np.ndarray, r: np.ndarray | None, out: np.ndarray) -> np.ndarray:
        """``out = (h * r) U``, with each gate's own mask when there is one per gate."""
        if r is None or len(r) == 1:
            return np.matmul(h if r is None else h * r[0], U, out=out)
        for j, cols in enumerate(self._columns(U.shape[1])):
            np.matmul(h * r[j], U[:, cols], out=out[:, cols])
        return out

    def _times_recurrent_transposed(self, dZ: np.ndarray, U: np.ndarray, r: np.ndarray | None, out: np.ndarray) -> np.ndarray:
        """``out = dL/dh`` for ``Z = (h * r) U``, given ``dZ``."""
        if r is None or len(r) == 1:
            np.matmul(dZ, U.T, out=out)
            return out if r is None else np.multiply(out, r[0], out=out)
        out[...] = sum((dZ[:, cols] @ U[:, cols].T) * r[j] for j, cols in enumerate(self._columns(U.shape[1])))
        return out

    def _recurrent_grads(self, H: np.ndarray, dZ: np.ndarray, r: np.ndarray | None) -> np.ndarray:
        """``sum_t (h_{t-1} * r)^T dZ_t`` over the steps after the first (``h_0 = 0``), ``(units, columns)``."""
        if r is None or len(r) == 1:
            return over_steps(H[:-1] if r is None else H[:-1] * r[0]).T @ over_steps(dZ[1:])
        dU = np.empty((H.shape[2], dZ.shape[2]), dtype=dZ.dtype)
        for j, cols in enumerate(self._columns(dZ.shape[2])):
            dU[:, cols] = over_steps(H[:-1] * r[j]).T @ over_steps(dZ[1:, :, cols])
        return dU

